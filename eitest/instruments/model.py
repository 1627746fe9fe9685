"""The instrument format: items and instruments as types, their validation, and the content hash.

Every loader (:mod:`eitest.instruments.loaders`) ends in :func:`parse_instrument`,
which checks a whole file and reports every problem at once (file, item id,
field) as an :class:`InstrumentError`.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass
from typing import Any, Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eitest.errors import EitestError
from eitest.instruments.irt_params import IrtParams, irt_problems
from eitest.reading import ReadError

RESPONSE_FORMATS = ("single_choice",)
SCORINGS = ("keyed", "weighted")
# A prompt letters an item's options A to Z (and the reply parser reads those letters back).
MAX_OPTIONS = 26


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an instrument file."""

    source: str
    item: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.source
        if self.item is not None:
            where += f": item {self.item}"
        return f"{where}: {self.field}: {self.message}"


class InstrumentError(EitestError, ValueError):
    """An instrument file (or import) is invalid; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

    @classmethod
    def from_read_error(cls, exc: ReadError) -> Self:
        """The same problems, as this reader's error (so the caller's ``except`` and exit status hold)."""
        return cls([Problem(exc.source, None, where, message) for where, message in exc.problems])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Strict):
    id: str
    text: str


class Item(_Strict):
    id: str
    stem: str
    question: str
    options: tuple[Option, ...]
    key: str | None = None
    weights: dict[str, float] | None = None
    facets: tuple[str, ...] = ()
    human_p: float | None = Field(default=None, ge=0.0, le=1.0)
    appraisal: str | None = None
    rationale: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    irt: IrtParams | None = None  # IRT parameters with their source (eitest.instruments.irt_params)

    @property
    def option_ids(self) -> list[str]:
        return [o.id for o in self.options]

    def option(self, option_id: str) -> Option:
        for o in self.options:
            if o.id == option_id:
                return o
        raise KeyError(option_id)

    def credit(self, option_id: str | None) -> float:
        """Credit for choosing ``option_id``: 1/0 when keyed, the option's weight when weighted."""
        if option_id is None:
            return 0.0
        if self.weights is not None:
            return float(self.weights.get(option_id, 0.0))
        return 1.0 if option_id == self.key else 0.0

    @property
    def best_option(self) -> str:
        """The keyed option, or the option with the top weight."""
        if self.key is not None:
            return self.key
        weights = self.weights or {}  # validation guarantees weights when there is no key
        return max(self.option_ids, key=lambda o: weights.get(o, 0.0))


class Published(_Strict):
    """Structure of a published test whose items are not shipped."""

    n_items: int | None = None
    n_options: int | None = None
    scoring: tuple[Literal["keyed", "weighted"], ...] = ()
    items_owner: str
    obtain: str
    notes: str | None = None


with warnings.catch_warnings():
    # "construct" is the psychometric term; it shadows only pydantic's deprecated BaseModel.construct().
    warnings.filterwarnings("ignore", message='Field name "construct"')

    class Instrument(_Strict):
        id: str
        name: str
        construct: str  # type: ignore[assignment]  # the field, not BaseModel.construct()
        version: str
        language: str = "en"
        citation: str
        license: str
        instructions: str
        response_format: Literal["single_choice"] = "single_choice"
        scoring: Literal["keyed", "weighted"]
        weights_source: str | None = None
        url: str | None = None
        published: Published | None = None
        items: tuple[Item, ...] = ()

        @property
        def n_items(self) -> int:
            return len(self.items)

        @property
        def is_metadata_only(self) -> bool:
            return not self.items

        def item(self, item_id: str) -> Item:
            for it in self.items:
                if it.id == item_id:
                    return it
            raise KeyError(item_id)

        def normalized(self) -> dict[str, Any]:
            """The instrument as plain data with defaults filled in and empty fields dropped."""
            return self.model_dump(mode="json", exclude_none=True)

        @property
        def content_hash(self) -> str:
            """SHA-256 of the normalized instrument, as canonical JSON (sorted keys, no whitespace)."""
            canonical = json.dumps(self.normalized(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

        def summary(self) -> dict[str, Any]:
            pub = self.published
            return {
                "id": self.id,
                "name": self.name,
                "construct": self.construct,
                "scoring": self.scoring,
                "n_items": self.n_items,
                "n_items_published": pub.n_items if pub else self.n_items,
                "license": self.license,
                "version": self.version,
            }


# --------------------------------------------------------------------------- parsing


def _loc_field(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(file)"


def _item_label(raw: Any, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), (str, int)) and str(raw["id"]).strip():
        return str(raw["id"])
    return f"#{index + 1}"


def _check_text(value: str, field: str, source: str, item: str | None) -> list[Problem]:
    if not value.strip():
        return [Problem(source, item, field, "is empty")]
    return []


def check_item(item: Item, scoring: str, source: str) -> list[Problem]:
    """Semantic checks of one structurally valid item."""
    problems: list[Problem] = []
    label = item.id

    def add(field: str, message: str) -> None:
        problems.append(Problem(source, label, field, message))

    problems += _check_text(item.id, "id", source, label)
    problems += _check_text(item.stem, "stem", source, label)
    problems += _check_text(item.question, "question", source, label)
    if len(item.options) < 2:
        add("options", f"has {len(item.options)} option(s); at least 2 are needed")
    elif len(item.options) > MAX_OPTIONS:
        add(
            "options",
            f"has {len(item.options)} options; eitest letters options A to Z, so {MAX_OPTIONS} at most: "
            "split the item or drop options",
        )
    ids = item.option_ids
    seen: set[str] = set()
    for i, opt in enumerate(item.options):
        if not opt.id.strip():
            add(f"options.{i}.id", "is empty")
        elif opt.id in seen:
            add(f"options.{i}.id", f"duplicate option id {opt.id!r}")
        seen.add(opt.id)
        problems += _check_text(opt.text, f"options.{i}.text", source, label)
    if scoring == "keyed":
        if item.key is None:
            add("key", "missing: keyed scoring needs the id of the correct option")
        elif item.key not in ids:
            add("key", f"{item.key!r} is not among the option ids {ids}")
        if item.weights is not None:
            add("weights", "given, but the instrument's scoring is 'keyed'; use scoring: weighted")
    elif scoring == "weighted":
        if item.weights is None:
            add("weights", "missing: weighted scoring needs a credit in [0, 1] for each option")
        else:
            for oid, w in item.weights.items():
                if oid not in ids:
                    add(f"weights.{oid}", f"{oid!r} is not among the option ids {ids}")
                if not 0.0 <= w <= 1.0:
                    add(f"weights.{oid}", f"{w} is outside [0, 1]")
            values = [item.weights.get(o, 0.0) for o in ids]
            top = max(values) if values else 0.0
            if top <= 0.0:
                add("weights", "no option has a positive weight")
            elif values.count(top) > 1:
                add("weights", f"{values.count(top)} options share the top weight {top}; one must be best")
            if item.key is not None and values and item.key in ids and item.weights.get(item.key, 0.0) != top:
                add("key", f"{item.key!r} is not the option with the top weight")
    if item.irt is not None:
        for field, message in irt_problems(item.irt):
            add(field, message)
    return problems


def parse_instrument(data: Any, source: str = "<data>") -> Instrument:
    """Validate raw data (from YAML, JSON, CSV or a dataset) into an :class:`Instrument`.

    Every problem is collected before raising, so one run of ``eitest instruments
    validate`` shows them all.
    """
    if not isinstance(data, dict):
        raise InstrumentError([Problem(source, None, "(file)", "expected a mapping with instrument fields and items")])
    problems: list[Problem] = []
    raw_items = data.get("items", [])
    if raw_items is None:
        raw_items = []
    if not isinstance(raw_items, list):
        problems.append(Problem(source, None, "items", "must be a list of items"))
        raw_items = []
    meta = {k: v for k, v in data.items() if k != "items"}
    instrument: Instrument | None = None
    try:
        instrument = Instrument.model_validate(meta)
    except ValidationError as exc:
        for err in exc.errors():
            msg = err["msg"]
            if err["type"] == "literal_error" and err["loc"] and err["loc"][0] == "scoring":
                msg = f"unknown scoring {err.get('input')!r}; use one of {', '.join(SCORINGS)}"
            elif err["type"] == "extra_forbidden":
                msg = "unknown field"
            problems.append(Problem(source, None, _loc_field(err["loc"]), msg))
    scoring = data.get("scoring") if data.get("scoring") in SCORINGS else None

    items: list[Item] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_items):
        label = _item_label(raw, index)
        if isinstance(raw, dict) and "id" in raw and isinstance(raw["id"], int):
            raw = {**raw, "id": str(raw["id"])}
        try:
            item = Item.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
                problems.append(Problem(source, label, _loc_field(err["loc"]), msg))
            continue
        if item.id in seen:
            problems.append(Problem(source, item.id, "id", f"duplicate item id (also item #{seen[item.id] + 1})"))
        else:
            seen[item.id] = index
        if scoring:
            problems += check_item(item, scoring, source)
        items.append(item)

    if instrument is not None and not raw_items and instrument.published is None:
        problems.append(
            Problem(source, None, "items", "no items, and no 'published' block saying where they come from")
        )
    if problems or instrument is None:
        raise InstrumentError(problems)
    return instrument.model_copy(update={"items": tuple(items)})


def dump_yaml(instrument: Instrument) -> str:
    return yaml.safe_dump(instrument.normalized(), sort_keys=False, allow_unicode=True, width=100)
