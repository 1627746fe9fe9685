"""The Trial record: one item put to one model once, in a fresh conversation.

This is the one definition of a trial's fields. The SQL schema of the ``trials``
table, the runner's writes, the store's reader and the export codebook are all
derived from :class:`Trial`. The values its fields take are the enumerations of
:mod:`eitest.vocabulary`.

A field's ``since`` is the schema version that added its column: migration 1
creates the columns of version 1, and a later field becomes an ``ALTER TABLE``
of its own migration, so that stores written by older versions keep opening.
"""

from __future__ import annotations

import dataclasses
import json
import operator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from eitest.vocabulary import FINISHED_STATUSES, OptionOrder, ProtocolName, Status

__all__ = [
    "COLUMNS",
    "FIELDS",
    "FINISHED_STATUSES",
    "KEY_COLUMNS",
    "Trial",
    "add_columns_sql",
    "create_table_sql",
    "storable_text",
    "storable_value",
]


_NOT_ANSWERED = "not answered (status other than answered)"
_ALWAYS = "never missing"


def column(
    sql: str,
    label: str,
    values: str,
    missing: str = _ALWAYS,
    *,
    key: bool = False,
    as_json: bool = False,
    categories: type[StrEnum] | None = None,
    since: int = 1,
    default: Any = None,
) -> Any:
    """A field of :class:`Trial` with what the schema and the codebook need to know of it.

    ``label`` is the one-line doc (it becomes the SPSS variable label), ``values`` what
    the values mean, ``missing`` what a missing value means. ``key`` fields identify the
    trial (unique together); ``as_json`` fields are stored as JSON text.
    """
    meta = {
        "sql": sql,
        "label": label,
        "values": values,
        "missing": missing,
        "key": key,
        "as_json": as_json,
        "categories": categories,
        "since": since,
    }
    if key or "NOT NULL" in sql:
        return field(metadata=meta)
    return field(default=default, metadata=meta)


# fmt: off
@dataclass(frozen=True, kw_only=True)
class Trial:
    """One trial as stored: what was asked, what came back, how it was read and scored."""

    run_id: str = column("TEXT NOT NULL REFERENCES runs(id)", "Run id", "the id of the run in the store", key=True)
    model: str = column("TEXT NOT NULL", "Model (litellm model string)", "as called, e.g. openai/gpt-4o", key=True)
    instrument: str = column("TEXT NOT NULL", "Instrument id", "the id of the instrument the run used", key=True)
    item_id: str = column("TEXT NOT NULL", "Item id within the instrument", "the item's id in the instrument file", key=True)
    repetition: int = column("INTEGER NOT NULL", "Repetition of the item (0-based)", "0, 1, ... (each repetition is a fresh conversation)", key=True)
    protocol: str = column("TEXT NOT NULL", "Prompt protocol", "standard: letter only; reasoning: think, then 'ANSWER: <letter>'; json: {\"answer\": ...}; "
                           "logprobs: one token, its probabilities over the letters; "
                           "probe-memorisation: continue an item's text word for word (eitest probe memorisation, a run of kind probe)",
                           categories=ProtocolName)
    protocol_version: str = column("TEXT NOT NULL", "Version of the protocol's wording", "a new wording is a new version")
    option_order: str = column("TEXT NOT NULL", "Order of the options shown", "original: as listed; shuffled: seeded permutation; rotated: shifted by the repetition",
                               categories=OptionOrder)
    shown_order: list[str] = column("TEXT NOT NULL", "Option ids in the order shown (first = A)", "option ids as shown; exports join them with commas, e.g. c,a,b,e,d",
                                    as_json=True)
    keyed_position: int | None = column("INTEGER", "Position of the keyed/top-weighted option (0 = A)", "0 to number of options - 1", "not recorded")
    prompt: list[dict[str, Any]] = column("TEXT NOT NULL", "Chat messages sent (JSON)", "the list of chat messages; exports give its user message as prompt_text",
                                          as_json=True)
    raw_reply: str | None = column("TEXT", "The model's reply, verbatim", "free text", "no reply (the call failed)")
    model_returned: str | None = column("TEXT", "Model name the provider reported", "free text", "not reported")
    finish_reason: str | None = column("TEXT", "Provider's finish reason", "e.g. stop, length", "not reported")
    status: str = column("TEXT NOT NULL", "Outcome of the trial",
                         "answered: one option read from the reply; unparseable: a reply, but not one clean answer (see parse_rule); "
                         "refused: the model declined; empty: an empty reply; error: the call failed after its retries",
                         categories=Status)
    parse_rule: str | None = column("TEXT", "Parser rule that decided (or why unparseable)", "e.g. lone_letter, answer_line, top_logprobs; unparseable: multiple (several options), hedged (a choice left between options), no_answer, "
                                    "low_coverage (logprobs protocol: under half the first token's probability on the shown letters); "
                                    "probe trials: what was asked (opening, options, control-opening, control-options)",
                                    "no rule applied (the call failed)")
    chosen_position: int | None = column("INTEGER", "Position of the chosen option (0 = A)", "0 to number of options - 1", _NOT_ANSWERED)
    chosen_option: str | None = column("TEXT", "Id of the chosen option", "an option id of the item", _NOT_ANSWERED)
    score: float | None = column("REAL", "Credit of the chosen option", "keyed instruments: 1 or 0; weighted instruments: the option's weight, 0 to 1; "
                                 "logprobs protocol: the expected credit, sum of probability x credit (0 to 1); "
                                 "probe trials: the similarity of the reply to the true text, 0 to 1 (not a credit)",
                                 _NOT_ANSWERED)
    prompt_tokens: int | None = column("INTEGER", "Prompt tokens", "0 or more, as the provider reported", "not reported")
    completion_tokens: int | None = column("INTEGER", "Completion tokens", "0 or more, as the provider reported", "not reported")
    cost: float | None = column("REAL", "Cost of the call in USD", "litellm's price of the reply; 0 for the offline eitest/ responders", "price unknown")
    latency_s: float | None = column("REAL", "Seconds the (last) call took", "0 or more", "no call made, or answered in a batch (no time of its own)")
    attempts: int | None = column("INTEGER", "Calls made for the trial (1 = no retry)", "1 or more", "no call made")
    error: str | None = column("TEXT", "Error message of the failed call or of earlier failed attempts", "free text", "no error")
    started_at: str | None = column("TEXT", "When the trial started (UTC)", "ISO 8601 timestamp", "not recorded")
    finished_at: str | None = column("TEXT", "When the trial finished (UTC)", "ISO 8601 timestamp", "not recorded")
    text_repaired: str | None = column("TEXT", "Text changed to be storable",
                                       "the fields (comma-separated, e.g. raw_reply) whose text held code points UTF-8 cannot store "
                                       "(lone surrogates, from broken unicode); each such code point is written out as \\uXXXX, e.g. \\ud800",
                                       "no text changed", since=3)
    reasoning: str | None = column("TEXT", "The model's reasoning, as the provider returned it apart from the answer",
                                   "free text: the provider's reasoning_content or thinking blocks, or the <think> block inline "
                                   "before the answer (raw_reply keeps that block verbatim); never read as the answer",
                                   "no reasoning returned apart from the answer", since=4)
    reasoning_tokens: int | None = column("INTEGER", "Reasoning tokens (part of completion_tokens)",
                                          "0 or more, from the provider's usage.completion_tokens_details.reasoning_tokens",
                                          "not reported", since=4)
    option_probs: dict[str, float] | None = column("TEXT", "Probability of each option, by option id (logprobs protocol)",
                                                   "JSON object option id -> probability, 0 to 1, summing to 1: the first token's probabilities "
                                                   "over the shown letters, renormalised over them; score is the expected credit, chosen_option the most probable "
                                                   "(a tie broken by the sampled token, else the first shown), the share-correct credit the keyed option's probability",
                                                   "not the logprobs protocol, or no shown letter among the returned tokens", as_json=True, since=6)
    coverage: float | None = column("REAL", "Share of the first token's probability on the shown letters (logprobs protocol)",
                                    "0 to 1; below 0.5 the trial is unparseable (parse_rule low_coverage)",
                                    "not the logprobs protocol, or no token probabilities returned", since=6)
    token_logprobs: list[list[Any]] | None = column("TEXT", "The first token's alternatives as returned (logprobs protocol)",
                                                    "JSON list of [token, log probability] pairs, verbatim from the provider",
                                                    "not the logprobs protocol, or none returned", as_json=True, since=6)
# fmt: on

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.model, self.instrument, self.item_id, self.repetition)

    def storable(self) -> Trial:
        """This trial with every text made storable as UTF-8, and the fields changed named in ``text_repaired``.

        A lone surrogate (a reply in broken unicode) cannot be encoded, so SQLite cannot
        store it; it is written out as its escape (``\\ud800``), which keeps the code point
        while making the text valid. Nothing else changes.
        """
        changed: dict[str, Any] = {}
        for f in FIELDS:
            if f.name == "text_repaired":
                continue
            value = getattr(self, f.name)
            repaired = storable_value(value)
            if repaired is not value:
                changed[f.name] = repaired
        if not changed:
            return self
        noted = [*(self.text_repaired.split(",") if self.text_repaired else []), *changed]
        return dataclasses.replace(self, **changed, text_repaired=",".join(dict.fromkeys(noted)))

    def to_row(self) -> dict[str, Any]:
        """The trial as the values of its SQL columns (JSON fields encoded)."""
        # Once per trial a run stores: the values in one attrgetter call, then only the JSON columns looked at.
        row = dict(zip(COLUMNS, [v.value if isinstance(v, StrEnum) else v for v in _values_of(self)], strict=True))
        for name in JSON_COLUMNS:
            value = row[name]
            if value is not None and not isinstance(value, str):  # NULL stays NULL
                row[name] = json.dumps(value, ensure_ascii=False)
        return row

    @classmethod
    def from_row(cls, row: Any) -> Trial:
        """A trial from a row of the ``trials`` table (a mapping by column name)."""
        values = {}
        for f in FIELDS:
            value = row[f.name]
            if f.metadata["as_json"] and isinstance(value, str):
                value = json.loads(value)
            values[f.name] = value
        return cls(**values)


FIELDS: tuple[dataclasses.Field[Any], ...] = dataclasses.fields(Trial)
COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS)
KEY_COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.metadata["key"])
JSON_COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.metadata["as_json"])
_values_of = operator.attrgetter(*COLUMNS)  # a trial's field values, in the order of COLUMNS


def storable_text(text: str) -> str:
    """``text`` with each code point UTF-8 cannot encode (a lone surrogate) written out as ``\\uXXXX``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def storable_value(value: Any) -> Any:
    """``value`` (text, or JSON-like lists and dicts of it) made storable; the same object when nothing changed."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, list):
        items = [storable_value(v) for v in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, dict):
        pairs = [(storable_value(k), storable_value(v)) for k, v in value.items()]
        return value if all(a is k and b is v for (a, b), (k, v) in zip(pairs, value.items(), strict=True)) else dict(pairs)
    return value


def create_table_sql(version: int = 1) -> str:
    """``CREATE TABLE trials`` with the columns of schema ``version`` (the first migration)."""
    cols = [f"    {f.name} {f.metadata['sql']}" for f in FIELDS if f.metadata["since"] <= version]
    lines = ["    id INTEGER PRIMARY KEY", *cols, f"    UNIQUE ({', '.join(KEY_COLUMNS)})"]
    return "CREATE TABLE trials (\n" + ",\n".join(lines) + "\n);"


def add_columns_sql(version: int) -> str:
    """The ``ALTER TABLE`` statements for the fields that schema ``version`` added (empty if none)."""
    return "\n".join(
        f"ALTER TABLE trials ADD COLUMN {f.name} {f.metadata['sql']};" for f in FIELDS if f.metadata["since"] == version
    )
