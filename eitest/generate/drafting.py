"""Item generation (Study 2): a model drafts new items in an instrument's style, and eitest checks them.

One generation is a bounded loop of calls. Each call sends a fresh conversation
(:func:`eitest.generate.prompt.build_messages`, protocol
:data:`~eitest.generate.prompt.GENERATE_PROTOCOL_VERSION`) with the construct, the
scoring rule, the option count and ``examples`` items of the source instrument, and
asks for a JSON object ``{"items": [...]}``. Each reply is read and each item checked
by :mod:`eitest.generate.reply`, and each valid item is checked for near-duplicates
of the source items and of the items already accepted (string similarity, and
embedding similarity when the local model is installed; see
:mod:`eitest.generate.novelty`).

A flagged item is reported and marked (``meta.near_duplicate_of``,
``meta.similarity``) and, unless ``keep_duplicates``, left out. Every rejected
reply or item is reported with its reason; a rejected reply costs one attempt, and
the next attempt tells the model what was wrong. The result is a valid
instrument whose items carry their provenance in ``meta``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eitest.client.event_loop import run_coroutine
from eitest.errors import EitestError
from eitest.files import write_checked
from eitest.generate.novelty import (
    DEFAULT_EMBEDDING_THRESHOLD,
    DEFAULT_SIMILARITY_THRESHOLD,
    SIMILARITY_METHOD,
    DuplicateChecker,
)
from eitest.generate.prompt import GENERATE_PROTOCOL_VERSION, build_messages, pick_examples
from eitest.generate.reply import ReplyError, check_candidate, parse_reply
from eitest.instruments import Instrument, Item, dump_yaml, get, load_yaml, parse_instrument

if TYPE_CHECKING:
    from eitest.client import CallResult

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
    api_key_env: str | None = None  # with api_base: the variable whose value is sent as the key
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


@dataclass
class _Drafting:
    """One generation under way: the items kept so far, and what the next prompt must tell the model."""

    cfg: GenerateConfig
    source: Instrument
    checker: DuplicateChecker
    result: GenerateResult
    kept: list[Item] = field(default_factory=list)
    feedback: list[str] = field(default_factory=list)

    @property
    def out_id(self) -> str:
        return self.cfg.out_id or f"{self.source.id}-gen"

    def read(self, reply: CallResult, attempt: int) -> list[Any]:
        """The raw items of one reply; a failed call or an unusable reply is recorded and gives none."""
        if reply.error:
            self.result.rejected.append(Rejection(attempt, "(call)", f"the call failed: {reply.error}"))
            return []
        self.result.model_returned = reply.model_returned or self.result.model_returned
        try:
            raws = parse_reply(reply.text)
        except ReplyError as exc:
            self.result.rejected.append(Rejection(attempt, "(reply)", str(exc)))
            self.feedback.append(f"{exc}; reply with one JSON object only")
            return []
        if not raws:
            self.result.rejected.append(Rejection(attempt, "(reply)", 'the "items" list is empty'))
            self.feedback.append('the "items" list was empty')
        return raws

    def take(self, raws: list[Any], attempt: int) -> None:
        """Check each raw item in turn and keep the valid, novel ones, up to the number asked for."""
        for index, raw in enumerate(raws, start=1):
            if len(self.kept) >= self.cfg.n:
                self.result.notes.append(
                    f"attempt {attempt}: {len(raws) - index + 1} item(s) beyond the {self.cfg.n} asked for were not used"
                )
                return
            self._take_one(raw, index, attempt)

    def _take_one(self, raw: Any, index: int, attempt: int) -> None:
        item_id = f"{self.out_id}-{len(self.kept) + 1:03d}"
        item, reasons = check_candidate(raw, self.source, item_id)
        if item is None:
            reason = "; ".join(reasons)
            self.result.rejected.append(Rejection(attempt, f"#{index}", reason))
            self.feedback.append(f"item #{index}: {reason}")
            return
        provenance = self._provenance(attempt)
        match, score, emb = self.checker.check(item)
        if match is not None:
            keep = self.cfg.keep_duplicates
            flag = DuplicateFlag(attempt, item_id if keep else f"#{index}", item.stem, match, score, emb, keep)
            self.result.duplicates.append(flag)
            self.feedback.append(
                f"item #{index} was too close to an existing item ({match}); write situations of your own"
            )
            if not keep:
                return
            provenance.update(_duplicate_meta(flag))
        item = item.model_copy(update={"meta": {**item.meta, **provenance}})
        self.checker.add(item)
        self.kept.append(item)

    def _provenance(self, attempt: int) -> dict[str, Any]:
        return {
            "generator_model": self.result.model_returned or self.cfg.model,
            "generator_model_requested": self.cfg.model,
            "protocol_version": GENERATE_PROTOCOL_VERSION,
            "generated_at": _now(),
            "source_instrument": self.source.id,
            "source_content_hash": self.source.content_hash,
            "attempt": attempt,
        }

    def finish(self) -> GenerateResult:
        """The result: the instrument of the kept items, and notes on a shortfall and on the key positions."""
        cfg, kept, result = self.cfg, self.kept, self.result
        if len(kept) < cfg.n:
            result.notes.append(
                f"only {len(kept)} of the {cfg.n} items asked for passed the checks after {result.attempts} attempt(s); "
                "raise --max-attempts or run again for more"
            )
        if kept:
            result.instrument = _assemble(cfg, self.source, kept, result.model_returned, self.out_id)
            positions = Counter(it.option_ids.index(it.best_option) for it in kept)
            result.notes.append(
                "position of the best option: "
                + ", ".join(f"{i + 1}: {positions.get(i, 0)}" for i in range(max(len(it.options) for it in kept)))
            )
        return result


def _duplicate_meta(flag: DuplicateFlag) -> dict[str, Any]:
    """What a kept near-duplicate records in its meta."""
    meta: dict[str, Any] = {
        "near_duplicate_of": flag.near_duplicate_of,
        "similarity": round(flag.similarity, 2) if flag.similarity is not None else None,
        "similarity_method": SIMILARITY_METHOD,
    }
    if flag.embedding_similarity is not None:
        meta["embedding_similarity"] = round(flag.embedding_similarity, 4)
    return meta


async def _generate(cfg: GenerateConfig, source: Instrument) -> GenerateResult:
    from eitest import client

    settings = client.CallSettings(
        temperature=cfg.temperature,
        api_base=cfg.api_base,
        api_key_env=cfg.api_key_env,
        timeout_s=cfg.timeout_s,
        max_retries=cfg.max_retries,
        backoff_s=cfg.backoff_s,
    )
    response_format = {"type": "json_object"} if client.supports_json_mode(cfg.model, cfg.api_base) else None
    examples = pick_examples(source, cfg.examples, cfg.seed)
    checker = DuplicateChecker(source, cfg.similarity_threshold, cfg.embedding_threshold, cfg.embeddings)
    drafting = _Drafting(cfg, source, checker, GenerateResult(None, source.id, source.content_hash, cfg.model, None, 0))
    drafting.result.notes += checker.notes
    for attempt in range(1, cfg.max_attempts + 1):
        need = cfg.n - len(drafting.kept)
        if need <= 0:
            break
        drafting.result.attempts = attempt
        messages = build_messages(source, examples, need, drafting.feedback)
        reply = await client.complete(cfg.model, messages, settings, response_format=response_format)
        # This attempt's feedback was sent; the next prompt says only what goes wrong with this reply.
        drafting.feedback = []
        drafting.take(drafting.read(reply, attempt), attempt)
    return drafting.finish()


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
    client.check_model(cfg.model, cfg.api_base, api_key_env=cfg.api_key_env)
    return run_coroutine(_generate(cfg, source))


def write_instrument(instrument: Instrument, path: str | Path) -> Path:
    """Write a generated instrument as YAML, then read it back through the loader as a check."""
    header = "# Generated by eitest generate; every item's provenance is in its meta block.\n"
    return write_checked(path, header + dump_yaml(instrument), load_yaml)
