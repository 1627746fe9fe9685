"""The codebook of an export: what every exported variable means, as data and as Markdown.

:data:`TRIAL_VARIABLES` describes the long trials table column by column;
:func:`score_variables` describes the wide scores table, whose instrument columns
depend on the export. :func:`build` gives the codebook as JSON-ready data (the file
``codebook.json``), :func:`markdown` renders it (``codebook.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from eitest.outputs.export import ExportTables


@dataclass(frozen=True)
class Variable:
    """One column of an exported table, as the codebook describes it."""

    name: str
    label: str  # short: it becomes the SPSS variable label
    type: str  # string | integer | number
    values: str
    missing: str
    categories: tuple[str, ...] = ()  # stored as 1, 2, ... with these value labels in .sav
    value_labels: tuple[tuple[int, str], ...] = ()
    instrument: str | None = None  # for the score columns: the instrument id

    def sav_labels(self) -> dict[int, str]:
        if self.categories:
            return {i: c for i, c in enumerate(self.categories, start=1)}
        return dict(self.value_labels)


# How each format writes the tables; the first lines of the codebook's notes.
FORMAT_NOTES = {
    "csv": ["CSV: UTF-8, comma-separated, one header row; a missing value is an empty field"],
    "parquet": ["Parquet: a missing value is null"],
    "sav": [
        "SPSS .sav: status, protocol and option_order are numeric codes with value labels (see each variable's "
        "values); correct has value labels; a missing number is system-missing",
        "SPSS .sav: strings have no missing value in SPSS, so a missing string is empty; a string longer than "
        "SPSS's 32,767 bytes is cut there (any cut is listed below; the csv, parquet and hf exports keep the full text)",
    ],
    "hf": [
        "Hugging Face datasets: datasets.load_from_disk(folder) gives a DatasetDict with splits 'trials' and "
        "'scores'; a missing value is None"
    ],
}
COMMON_NOTES = [
    "The full prompt (the JSON list of chat messages) stays in the store; prompt_text holds its user message",
    "scores: an unanswered trial counts as wrong (credit 0), as in 'eitest analyze' by default; "
    "the trials table keeps correct and credit missing for it so that other rules can be applied",
]

_NOT_ANSWERED = "not answered (status other than answered)"
_ALWAYS = "never missing"

# fmt: off
TRIAL_VARIABLES: tuple[Variable, ...] = (
    Variable("run_id", "Run id", "string", "the id of the run in the store", _ALWAYS),
    Variable("model", "Model (litellm model string)", "string", "as called, e.g. openai/gpt-4o", _ALWAYS),
    Variable("instrument", "Instrument id", "string", "an id from 'eitest instruments list'", _ALWAYS),
    Variable("item_id", "Item id within the instrument", "string", "the item's id in the instrument file", _ALWAYS),
    Variable("repetition", "Repetition of the item (0-based)", "integer", "0, 1, ... (each repetition is a fresh conversation)", _ALWAYS),
    Variable("protocol", "Prompt protocol", "string", "standard: letter only; reasoning: think, then 'ANSWER: <letter>'; json: {\"answer\": ...}", _ALWAYS,
             categories=("standard", "reasoning", "json")),
    Variable("protocol_version", "Version of the protocol's wording", "string", "a new wording is a new version", _ALWAYS),
    Variable("option_order", "Order of the options shown", "string", "original: as listed; shuffled: seeded permutation; rotated: shifted by the repetition", _ALWAYS,
             categories=("original", "shuffled", "rotated")),
    Variable("shown_order", "Option ids in the order shown (first = A)", "string", "option ids joined by commas, e.g. c,a,b,e,d", _ALWAYS),
    Variable("keyed_position", "Position of the keyed/top-weighted option (0 = A)", "integer", "0 to number of options - 1", "not recorded"),
    Variable("chosen_position", "Position of the chosen option (0 = A)", "integer", "0 to number of options - 1", _NOT_ANSWERED),
    Variable("chosen_option", "Id of the chosen option", "string", "an option id of the item", _NOT_ANSWERED),
    Variable("status", "Outcome of the trial", "string",
             "answered: one option read from the reply; unparseable: a reply, but not one clean answer (see parse_rule); "
             "refused: the model declined; empty: an empty reply; error: the call failed after its retries", _ALWAYS,
             categories=("answered", "unparseable", "refused", "empty", "error")),
    Variable("parse_rule", "Parser rule that decided (or why unparseable)", "string", "e.g. lone_letter, answer_line, multiple, no_answer", "no rule applied (the call failed)"),
    Variable("correct", "Chose the keyed (top-weighted) option", "integer", "1 = the keyed option (for weighted instruments the top-weighted one), 0 = another option",
             _NOT_ANSWERED, value_labels=((0, "another option"), (1, "keyed / top-weighted option"))),
    Variable("credit", "Credit of the chosen option", "number", "keyed instruments: 1 or 0; weighted instruments: the option's weight, 0 to 1", _NOT_ANSWERED),
    Variable("raw_reply", "The model's reply, verbatim", "string", "free text", "no reply (the call failed)"),
    Variable("model_returned", "Model name the provider reported", "string", "free text", "not reported"),
    Variable("finish_reason", "Provider's finish reason", "string", "e.g. stop, length", "not reported"),
    Variable("prompt_tokens", "Prompt tokens", "integer", "0 or more, as the provider reported", "not reported"),
    Variable("completion_tokens", "Completion tokens", "integer", "0 or more, as the provider reported", "not reported"),
    Variable("cost", "Cost of the call in USD", "number", "litellm's price of the reply; 0 for the offline eitest/ responders", "price unknown"),
    Variable("latency_s", "Seconds the (last) call took", "number", "0 or more", "no call made"),
    Variable("attempts", "Calls made for the trial (1 = no retry)", "integer", "1 or more", "no call made"),
    Variable("error", "Error message of the failed call or of earlier failed attempts", "string", "free text", "no error"),
    Variable("started_at", "When the trial started (UTC)", "string", "ISO 8601 timestamp", "not recorded"),
    Variable("finished_at", "When the trial finished (UTC)", "string", "ISO 8601 timestamp", "not recorded"),
    Variable("prompt_text", "The prompt (user message) shown to the model", "string", "free text", "no user message"),
)
# fmt: on


@dataclass(frozen=True)
class InstrumentColumns:
    """Where an instrument's scores sit in the wide table."""

    instrument: str
    accuracy: str
    weighted: str | None


def score_variables(columns: Sequence[InstrumentColumns]) -> list[Variable]:
    """The variables of the wide scores table: the keys, then each instrument's score columns."""
    absent = "the model did not take this instrument in this run and repetition"
    out = [
        Variable("run_id", "Run id", "string", "the id of the run in the store", _ALWAYS),
        Variable("model", "Model (litellm model string)", "string", "as called, e.g. openai/gpt-4o", _ALWAYS),
        Variable("repetition", "Repetition (0-based)", "integer", "0, 1, ...", _ALWAYS),
    ]
    for c in columns:
        out.append(
            Variable(
                c.accuracy,
                f"{c.instrument}: share correct",
                "number",
                "0 to 1: share of the instrument's items answered with the keyed (top-weighted) option; "
                "unanswered items count as wrong",
                absent,
                instrument=c.instrument,
            )
        )
        if c.weighted:
            out.append(
                Variable(
                    c.weighted,
                    f"{c.instrument}: weighted score",
                    "number",
                    "0 to 1: mean credit (option weight) of the chosen options; unanswered items count 0",
                    absent,
                    instrument=c.instrument,
                )
            )
    return out


def build(tables: ExportTables, fmt: str, db: str | Path, files: Sequence[Path] = ()) -> dict[str, Any]:
    """The codebook of an export as JSON-ready data."""
    from eitest import __version__

    def variables(vs: Sequence[Variable], df: pd.DataFrame) -> list[dict[str, Any]]:
        rows = []
        for v in vs:
            row = {
                k: val for k, val in asdict(v).items() if k not in ("categories", "value_labels") and val is not None
            }
            if fmt == "sav" and v.categories:
                row["type"] = "integer code"
            if v.categories:
                observed = set(df[v.name].dropna())
                row["values"] = (
                    v.values + " (in this export: " + ", ".join(c for c in v.categories if c in observed) + ")"
                )
            if v.sav_labels() and (fmt == "sav" or not v.categories):
                row["value_labels"] = {str(k): lab for k, lab in v.sav_labels().items()}
            rows.append(row)
        return rows

    return {
        "title": "eitest export",
        "eitest_version": __version__,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": str(db),
        "runs": tables.runs,
        "format": fmt,
        "files": [p.name for p in files],
        "notes": [*FORMAT_NOTES.get(fmt, []), *COMMON_NOTES, *tables.notes],
        "instrument_columns": [asdict(c) for c in tables.columns],
        "tables": {
            "trials": {
                "description": "one row per trial (long format)",
                "rows": len(tables.trials),
                "variables": variables(tables.trial_variables, tables.trials),
            },
            "scores": {
                "description": "one row per run x model x repetition (wide format), one column per instrument score",
                "rows": len(tables.scores),
                "variables": variables(tables.score_variables, tables.scores),
            },
        },
    }


def markdown(book: dict[str, Any]) -> str:
    """The codebook as Markdown: notes, a table of variables per exported table, the instrument columns."""

    def cell(v: Any) -> str:
        if isinstance(v, dict):
            v = "; ".join(f"{k} = {lab}" for k, lab in v.items())
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = [
        "# Codebook: eitest export",
        "",
        f"Exported by eitest {book['eitest_version']} on {book['exported_at']} from `{book['source']}`, "
        f"format `{book['format']}`; runs: {', '.join(book['runs'])}.",
        "",
        "Files: " + ", ".join(f"`{f}`" for f in book["files"]) + ".",
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in book["notes"]],
    ]
    for name, table in book["tables"].items():
        lines += ["", f"## {name}: {table['description']}", "", f"{table['rows']} rows.", ""]
        lines += ["| variable | label | type | values | missing means |", "|---|---|---|---|---|"]
        for v in table["variables"]:
            values = v["values"] + ("; codes: " + cell(v["value_labels"]) if "value_labels" in v else "")
            lines.append(
                f"| `{v['name']}` | {cell(v['label'])} | {v['type']} | {cell(values)} | {cell(v['missing'])} |"
            )
    lines += [
        "",
        "## Instrument columns of the scores table",
        "",
        "| instrument | share correct | weighted score |",
        "|---|---|---|",
    ]
    for c in book["instrument_columns"]:
        lines.append(
            f"| {c['instrument']} | `{c['accuracy']}` | {'`' + c['weighted'] + '`' if c['weighted'] else '(keyed: none)'} |"
        )
    return "\n".join(lines) + "\n"
