"""Item generation (Study 2): a model drafts new items in an instrument's style, and eitest checks them.

One generation is a bounded loop of calls. Each call sends a fresh conversation
(protocol :data:`GENERATE_PROTOCOL_VERSION`) with the construct, the scoring rule,
the option count and ``examples`` items of the source instrument, and asks for a
JSON object ``{"items": [...]}``. Each reply is parsed (```json fences and text
around the object are tolerated), each item is validated by the instrument rules
(:func:`eitest.instruments.parse_instrument`, so the messages are the ones
``eitest instruments validate`` prints) plus the source's option count, and each
valid item is checked for near-duplicates of the source items and of the items
already accepted (string similarity, and embedding similarity when the local model
is installed; see :mod:`eitest.generate.novelty`).

A flagged item is reported and marked (``meta.near_duplicate_of``,
``meta.similarity``) and, unless ``keep_duplicates``, left out. Every rejected
reply or item is reported with its reason; a rejected reply costs one attempt, and
the next attempt tells the model what was wrong. The result is a valid
instrument whose items carry their provenance in ``meta``.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eitest.client.event_loop import run_coroutine
from eitest.errors import EitestError
from eitest.files import write_checked
from eitest.generate.novelty import (
    DEFAULT_EMBEDDING_THRESHOLD,
    DEFAULT_SIMILARITY_THRESHOLD,
    SIMILARITY_METHOD,
    DuplicateChecker,
)
from eitest.instruments import Instrument, InstrumentError, Item, dump_yaml, get, load_yaml, parse_instrument

GENERATE_PROTOCOL_VERSION = "1"
DEFAULT_LICENSE = "Unspecified: set by the user who generated the items (eitest generate --license)"


class GenerateError(EitestError):
    """Generation cannot start or produced nothing usable."""


@dataclass(frozen=True)
class GenerateConfig:
    """What to generate and how; one object instead of a long argument list."""

    instrument: str
    model: str
    n: int
    api_base: str | None = None
    examples: int = 3
    seed: int = 0
    max_attempts: int = 5
    similarity_threshold: float = DEFAULT_SIMILARITY_THRESHOLD
    embedding_threshold: float = DEFAULT_EMBEDDING_THRESHOLD
    keep_duplicates: bool = False
    embeddings: bool = True  # use the local embedding model when it is installed
    temperature: float | None = 0.7
    license: str = DEFAULT_LICENSE
    out_id: str | None = None
    timeout_s: float = 120.0
    max_retries: int = 4
    backoff_s: float = 1.0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.examples < 0:
            raise ValueError(f"examples must be >= 0, got {self.examples}")
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if not 0 < self.similarity_threshold <= 100:
            raise ValueError(f"similarity_threshold is on rapidfuzz's 0-100 scale, got {self.similarity_threshold}")


@dataclass(frozen=True)
class Rejection:
    """A reply or an item that was not accepted, and why."""

    attempt: int
    item: str  # "(call)", "(reply)", or "#k" (the k-th item of that reply)
    reason: str


@dataclass(frozen=True)
class DuplicateFlag:
    """A generated item that resembles a source item or an earlier generated item."""

    attempt: int
    item: str  # the generated item's id when kept, else "#k" of that attempt
    stem: str
    near_duplicate_of: str
    similarity: float | None  # rapidfuzz score, 0-100
    embedding_similarity: float | None  # cosine, when embeddings were used
    kept: bool


@dataclass
class GenerateResult:
    instrument: Instrument | None
    source_id: str
    source_hash: str
    model: str
    model_returned: str | None
    attempts: int
    rejected: list[Rejection] = field(default_factory=list)
    duplicates: list[DuplicateFlag] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n_items(self) -> int:
        return self.instrument.n_items if self.instrument else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.instrument.id if self.instrument else None,
            "n_items": self.n_items,
            "source": self.source_id,
            "source_content_hash": self.source_hash,
            "model": self.model,
            "model_returned": self.model_returned,
            "protocol_version": GENERATE_PROTOCOL_VERSION,
            "attempts": self.attempts,
            "rejected": [asdict(r) for r in self.rejected],
            "duplicates": [asdict(d) for d in self.duplicates],
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- the prompt


def option_counts(source: Instrument) -> list[int]:
    """Option counts of the source's items, most common first."""
    return [k for k, _ in Counter(len(it.options) for it in source.items).most_common()]


def _example(item: Item) -> dict[str, Any]:
    ex: dict[str, Any] = {
        "stem": " ".join(item.stem.split()),
        "question": item.question.strip(),
        "options": [{"id": o.id, "text": o.text} for o in item.options],
    }
    if item.weights is not None:
        ex["weights"] = dict(item.weights)
    else:
        ex["key"] = item.key
    if item.rationale:
        ex["rationale"] = item.rationale
    return ex


def pick_examples(source: Instrument, k: int, seed: int) -> list[Item]:
    """``k`` source items drawn without replacement, reproducibly from ``seed``, in source order."""
    k = min(k, source.n_items)
    chosen = set(random.Random(seed).sample(range(source.n_items), k))
    return [it for i, it in enumerate(source.items) if i in chosen]


def _scoring_rule(source: Instrument) -> str:
    if source.scoring == "keyed":
        return (
            'Each item has exactly one correct option. Give its option id as "key". '
            "The key must be defensible by a careful expert, and the distractors must be plausible but wrong."
        )
    sums = {round(sum(it.weights.values()), 6) for it in source.items if it.weights}
    rule = (
        'Each option earns a credit between 0 and 1, given as "weights" (an object from option id to credit). '
        "Exactly one option must have the highest credit."
    )
    if sums == {1.0}:
        rule += " As in the examples, the credits of an item sum to 1 (they stand for the share of experts who would choose each option)."
    if source.weights_source:
        rule += f" In the source test the weights were set as follows: {source.weights_source}"
    return rule


def build_messages(
    source: Instrument, examples: list[Item], n: int, feedback: list[str] | None = None
) -> list[dict[str, str]]:
    """The chat messages of one generation call (protocol :data:`GENERATE_PROTOCOL_VERSION`)."""
    counts = option_counts(source)
    n_opt = counts[0]
    ids = [o.id for o in next(it for it in source.items if len(it.options) == n_opt).options]
    key_field = (
        '"weights": {' + ", ".join(f'"{i}": 0.0' for i in ids) + "}"
        if source.scoring == "weighted"
        else f'"key": "{ids[0]}"'
    )
    schema = (
        '{"items": [{"stem": "...", "question": "...", "options": ['
        + ", ".join(f'{{"id": "{i}", "text": "..."}}' for i in ids)
        + f"], {key_field}, "
        + '"rationale": "..."}]}'
    )
    lines = [
        f'Write {n} new item{"s" if n != 1 else ""} for the test "{source.name}", which measures {source.construct}.',
        "",
        "What a test taker reads before the items:",
        source.instructions.strip(),
        "",
        f'Every item has a situation ("stem"), a question, and exactly {n_opt} options with the ids {", ".join(ids)}.',
        f"Scoring: {_scoring_rule(source)}",
        'Give each item a one-line "rationale" saying why the best option is best.',
        "",
        "Rules:",
        "- Write new situations with new people, names and contexts (work, family, friendship, health, study, money).",
        "- Never copy, translate or paraphrase the examples below or items of any published test.",
        "- One best answer a careful reader can defend; no trick questions and no giveaways: the best option is not longer or more specific than the others.",
        "- Spread the position of the best option evenly over the option ids.",
        "- Plain language, no regional idioms.",
    ]
    if examples:
        lines += [
            "",
            f"{len(examples)} example item{'s' if len(examples) != 1 else ''} of the test, to show the style and the structure only:",
        ]
        lines.append(json.dumps({"items": [_example(it) for it in examples]}, indent=2, ensure_ascii=False))
    if feedback:
        lines += ["", "Your previous reply was not accepted, for these reasons; avoid them this time:"]
        lines += [f"- {f}" for f in feedback[:8]]
    lines += ["", "Reply with a JSON object only, no other text, in this form:", schema]
    system = "You are an experienced psychometrician who writes items for ability tests of emotional intelligence."
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(lines)}]


# --------------------------------------------------------------------------- the reply


class ReplyError(ValueError):
    """A reply that holds no usable list of items."""


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)


def parse_reply(text: str | None) -> list[Any]:
    """The list of raw items in a reply: ``{"items": [...]}`` or a bare list, fenced or not."""
    if text is None or not text.strip():
        raise ReplyError("the reply is empty")
    body = text.strip()
    fenced = _FENCE.search(body)
    if fenced:
        body = fenced.group(1).strip()
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        data = None
        # Text around the object ("Here are the items: {...}"): try the outermost braces.
        start, end = body.find("{"), body.rfind("}")
        if 0 <= start < end:
            try:
                data = json.loads(body[start : end + 1])
            except json.JSONDecodeError:
                data = None
        if data is None:
            raise ReplyError(
                f"the reply is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
            ) from None
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    if not isinstance(data, list):
        raise ReplyError('the reply is JSON but not an object with an "items" list')
    return data


def check_candidate(raw: Any, source: Instrument, item_id: str) -> tuple[Item | None, list[str]]:
    """Validate one raw item from a reply by the source's rules; the item, or the reasons it fails."""
    if not isinstance(raw, dict):
        return None, [f"an item must be a JSON object, got {type(raw).__name__}"]
    # Human data (human_p) and provenance (meta) are eitest's to record, never the model's.
    reserved = sorted(k for k in ("human_p", "meta") if k in raw)
    if reserved:
        return None, [f"{k}: not a field the model may set" for k in reserved]
    data = {k: v for k, v in raw.items() if k != "id"}
    data["id"] = item_id
    if isinstance(data.get("options"), list):
        # Models sometimes number the option ids; the loader wants strings.
        data["options"] = [
            {**o, "id": str(o["id"])} if isinstance(o, dict) and isinstance(o.get("id"), int) else o
            for o in data["options"]
        ]
    meta = {
        "id": source.id,
        "name": source.name,
        "construct": source.construct,
        "version": source.version,
        "citation": source.citation,
        "license": source.license,
        "instructions": source.instructions,
        "scoring": source.scoring,
    }
    try:
        inst = parse_instrument({**meta, "items": [data]}, source="reply")
    except InstrumentError as exc:
        return None, [f"{p.field}: {p.message}" for p in exc.problems]
    item = inst.items[0]
    allowed = option_counts(source)
    if len(item.options) not in allowed:
        want = " or ".join(str(k) for k in sorted(allowed))
        return None, [f"options: {len(item.options)} options, but {source.id} items have {want}"]
    return item, []


# --------------------------------------------------------------------------- the loop


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def load_source(instrument: str) -> Instrument:
    source = get(instrument)
    if source.is_metadata_only:
        raise GenerateError(
            f"{source.id} ships without items, so there is nothing to show the model; "
            f"import your licensed copy first ('eitest instruments import {source.id} FILE') or use an open instrument"
        )
    return source


async def _generate(cfg: GenerateConfig, source: Instrument) -> GenerateResult:
    from eitest import client

    settings = client.CallSettings(
        temperature=cfg.temperature,
        api_base=cfg.api_base,
        timeout_s=cfg.timeout_s,
        max_retries=cfg.max_retries,
        backoff_s=cfg.backoff_s,
    )
    response_format = {"type": "json_object"} if client.supports_json_mode(cfg.model, cfg.api_base) else None
    examples = pick_examples(source, cfg.examples, cfg.seed)
    checker = DuplicateChecker(source, cfg.similarity_threshold, cfg.embedding_threshold, cfg.embeddings)
    result = GenerateResult(None, source.id, source.content_hash, cfg.model, None, 0)
    result.notes += checker.notes
    out_id = cfg.out_id or f"{source.id}-gen"
    kept: list[Item] = []
    feedback: list[str] = []
    for attempt in range(1, cfg.max_attempts + 1):
        need = cfg.n - len(kept)
        if need <= 0:
            break
        result.attempts = attempt
        reply = await client.complete(
            cfg.model, build_messages(source, examples, need, feedback), settings, response_format=response_format
        )
        feedback = []
        if reply.error:
            result.rejected.append(Rejection(attempt, "(call)", f"the call failed: {reply.error}"))
            continue
        result.model_returned = reply.model_returned or result.model_returned
        try:
            raws = parse_reply(reply.text)
        except ReplyError as exc:
            result.rejected.append(Rejection(attempt, "(reply)", str(exc)))
            feedback.append(f"{exc}; reply with one JSON object only")
            continue
        if not raws:
            result.rejected.append(Rejection(attempt, "(reply)", 'the "items" list is empty'))
            feedback.append('the "items" list was empty')
            continue
        for index, raw in enumerate(raws, start=1):
            if len(kept) >= cfg.n:
                result.notes.append(
                    f"attempt {attempt}: {len(raws) - index + 1} item(s) beyond the {cfg.n} asked for were not used"
                )
                break
            item_id = f"{out_id}-{len(kept) + 1:03d}"
            item, reasons = check_candidate(raw, source, item_id)
            if item is None:
                reason = "; ".join(reasons)
                result.rejected.append(Rejection(attempt, f"#{index}", reason))
                feedback.append(f"item #{index}: {reason}")
                continue
            match, score, emb = checker.check(item)
            provenance: dict[str, Any] = {
                "generator_model": result.model_returned or cfg.model,
                "generator_model_requested": cfg.model,
                "protocol_version": GENERATE_PROTOCOL_VERSION,
                "generated_at": _now(),
                "source_instrument": source.id,
                "source_content_hash": source.content_hash,
                "attempt": attempt,
            }
            if match is not None:
                result.duplicates.append(
                    DuplicateFlag(
                        attempt,
                        item_id if cfg.keep_duplicates else f"#{index}",
                        item.stem,
                        match,
                        score,
                        emb,
                        cfg.keep_duplicates,
                    )
                )
                feedback.append(
                    f"item #{index} was too close to an existing item ({match}); write situations of your own"
                )
                if not cfg.keep_duplicates:
                    continue
                provenance["near_duplicate_of"] = match
                provenance["similarity"] = round(score, 2) if score is not None else None
                provenance["similarity_method"] = SIMILARITY_METHOD
                if emb is not None:
                    provenance["embedding_similarity"] = round(emb, 4)
            item = item.model_copy(update={"meta": {**item.meta, **provenance}})
            checker.add(item)
            kept.append(item)
    if len(kept) < cfg.n:
        result.notes.append(
            f"only {len(kept)} of the {cfg.n} items asked for passed the checks after {result.attempts} attempt(s); "
            "raise --max-attempts or run again for more"
        )
    if kept:
        result.instrument = _assemble(cfg, source, kept, result.model_returned, out_id)
        positions = Counter(it.option_ids.index(it.best_option) for it in kept)
        result.notes.append(
            "position of the best option: "
            + ", ".join(f"{i + 1}: {positions.get(i, 0)}" for i in range(max(len(it.options) for it in kept)))
        )
    return result


def _assemble(
    cfg: GenerateConfig, source: Instrument, items: list[Item], returned: str | None, out_id: str
) -> Instrument:
    model = returned or cfg.model
    date = _now()[:10]
    data: dict[str, Any] = {
        "id": out_id,
        "name": f"{source.name}: items generated by {model}",
        "construct": source.construct,
        "version": "1.0",
        "language": source.language,
        "citation": (
            f"Items generated by the model {model} (requested as {cfg.model}) with eitest generate, "
            f"prompt protocol {GENERATE_PROTOCOL_VERSION}, from {source.id} (content hash {source.content_hash[:12]}), on {date}."
        ),
        "license": cfg.license,
        "instructions": source.instructions,
        "response_format": source.response_format,
        "scoring": source.scoring,
        "items": [it.model_dump(mode="json", exclude_none=True) for it in items],
    }
    if source.scoring == "weighted":
        data["weights_source"] = f"Written by the generating model {model}; not an expert panel."
    return parse_instrument(data, source=f"generated from {source.id}")


def generate(cfg: GenerateConfig) -> GenerateResult:
    """Ask ``cfg.model`` for ``cfg.n`` new items in the style of ``cfg.instrument``; see the module docstring."""
    from eitest import client

    source = load_source(cfg.instrument)
    client.check_model(cfg.model, cfg.api_base)
    return run_coroutine(_generate(cfg, source))


def write_instrument(instrument: Instrument, path: str | Path) -> Path:
    """Write a generated instrument as YAML, then read it back through the loader as a check."""
    header = "# Generated by eitest generate; every item's provenance is in its meta block.\n"
    return write_checked(path, header + dump_yaml(instrument), load_yaml)
