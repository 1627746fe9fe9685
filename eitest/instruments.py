"""Instruments and items: the format, the loaders, validation and the content hash.

An instrument file (YAML or JSON) holds metadata and an ordered list of items; the
format is documented in ``docs/instrument-format.md``. Every loader ends in
:func:`parse_instrument`, which checks the whole file and reports every problem at
once (file, item id, field) as an :class:`InstrumentError`.

Published tests whose items belong to their authors ship as metadata only: the
``published`` block says how many items and options the real test has, and a
user's import of the licensed items is checked against it (:func:`check_import`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from eitest.errors import EitestError
from eitest.paths import package_instrument_dir, user_instrument_dir

RESPONSE_FORMATS = ("single_choice",)
# libyaml's loader when present: the catalogue loads ~20x faster.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SCORINGS = ("keyed", "weighted")


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
        assert self.weights is not None  # guaranteed by validation
        return max(self.option_ids, key=lambda o: self.weights.get(o, 0.0))


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
        construct: str
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


# --------------------------------------------------------------------------- loaders


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InstrumentError([Problem(str(path), None, "(file)", "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise InstrumentError([Problem(str(path), None, "(file)", f"not UTF-8 text ({exc.reason})")]) from None


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(_read_text(path), Loader=_YamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise InstrumentError(
            [Problem(str(path), None, where, f"not valid YAML: {getattr(exc, 'problem', exc)}")]
        ) from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise InstrumentError([Problem(str(path), None, f"line {exc.lineno}", f"not valid JSON: {exc.msg}")]) from None


def _with_metadata(data: Any, metadata: dict[str, Any] | None) -> Any:
    """Items from a user's file under the catalogue's metadata (a bare list of items is allowed)."""
    if metadata is None:
        return data
    items = data if isinstance(data, list) else (data or {}).get("items") if isinstance(data, dict) else data
    return {**metadata, "items": items}


def load_yaml(path: str | Path, metadata: dict[str, Any] | None = None) -> Instrument:
    path = Path(path)
    return parse_instrument(_with_metadata(_read_yaml(path), metadata), str(path))


def load_json(path: str | Path, metadata: dict[str, Any] | None = None) -> Instrument:
    path = Path(path)
    return parse_instrument(_with_metadata(_read_json(path), metadata), str(path))


CSV_REQUIRED = ("item_id", "stem", "question")


def rows_to_items(rows: list[dict[str, Any]], source: str) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Turn flat rows (CSV layout, one row per item) into item dicts.

    Columns: ``item_id, stem, question, option_<id>...`` (option columns in display
    order; the part after ``option_`` is the option id), then ``key`` or
    ``weight_<id>...``, optional ``facets`` (separated by ``;``), ``human_p``,
    ``rationale``, ``appraisal``. Empty option cells are skipped, so items may have
    different numbers of options.
    """
    problems: list[Problem] = []
    items: list[dict[str, Any]] = []
    if not rows:
        return items, [Problem(source, None, "(file)", "no rows")]
    columns = list(rows[0].keys())
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if missing:
        problems.append(Problem(source, None, "(header)", f"missing column(s) {', '.join(missing)}"))
        return items, problems
    option_cols = [c for c in columns if c.startswith("option_")]
    weight_cols = [c for c in columns if c.startswith("weight_")]
    if not option_cols:
        problems.append(Problem(source, None, "(header)", "no option_<id> columns"))
        return items, problems
    for n, row in enumerate(rows, start=2):
        label = str(row.get("item_id") or f"row {n}")

        def cell(name: str, row: dict[str, Any] = row) -> str:
            v = row.get(name)
            return "" if v is None else str(v).strip()

        item: dict[str, Any] = {
            "id": cell("item_id"),
            "stem": cell("stem"),
            "question": cell("question"),
            "options": [{"id": c[len("option_") :], "text": cell(c)} for c in option_cols if cell(c)],
        }
        if cell("key"):
            item["key"] = cell("key")
        weights = {c[len("weight_") :]: cell(c) for c in weight_cols if cell(c)}
        if weights:
            try:
                item["weights"] = {k: float(v) for k, v in weights.items()}
            except ValueError:
                problems.append(Problem(source, label, "weight_*", f"not a number: {weights}"))
        if cell("facets"):
            item["facets"] = [f.strip() for f in cell("facets").split(";") if f.strip()]
        if cell("human_p"):
            try:
                item["human_p"] = float(cell("human_p"))
            except ValueError:
                problems.append(Problem(source, label, "human_p", f"not a number: {cell('human_p')!r}"))
        for extra in ("rationale", "appraisal"):
            if cell(extra):
                item[extra] = cell(extra)
        items.append(item)
    return items, problems


def _load_rows(rows: list[dict[str, Any]], metadata: dict[str, Any], source: str) -> Instrument:
    items, problems = rows_to_items(rows, source)
    try:
        instrument = parse_instrument({**metadata, "items": items}, source)
    except InstrumentError as exc:
        raise InstrumentError(problems + exc.problems) from None
    if problems:
        raise InstrumentError(problems)
    return instrument


def load_csv(path: str | Path, metadata: dict[str, Any] | None = None) -> Instrument:
    """Load items from a CSV file (one row per item) with metadata from ``metadata``.

    Without ``metadata``, a sidecar ``<name>.meta.yaml`` next to the CSV is read.
    """
    path = Path(path)
    if metadata is None:
        sidecar = path.with_suffix(".meta.yaml")
        if not sidecar.exists():
            raise InstrumentError(
                [
                    Problem(
                        str(path),
                        None,
                        "(metadata)",
                        f"no metadata: write {sidecar.name} or pass the instrument id to import",
                    )
                ]
            )
        metadata = _read_yaml(sidecar) or {}
    text = _read_text(path)
    rows = list(csv.DictReader(text.splitlines()))
    return _load_rows(rows, metadata, str(path))


def load_dataset(source: str, metadata: dict[str, Any], split: str = "train") -> Instrument:
    """Load items from a Hugging Face ``datasets`` source in the CSV layout's columns.

    ``source`` is a directory written by ``Dataset.save_to_disk``, a data file
    (``.parquet``, ``.json``/``.jsonl``, ``.csv``), or a hub id (needs the network).
    Columns may also be nested (``options`` as a list of ``{id, text}``).
    """
    import datasets  # heavy: imported only when used

    path = Path(source)
    if path.is_dir() and (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists():
        ds = datasets.load_from_disk(str(path))
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[split]
    elif path.is_file():
        kind = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv"}.get(path.suffix)
        if kind is None:
            raise InstrumentError([Problem(source, None, "(file)", f"unknown data file type {path.suffix!r}")])
        ds = datasets.load_dataset(kind, data_files=str(path), split=split)
    else:
        ds = datasets.load_dataset(source, split=split)
    rows = [dict(r) for r in ds]
    if rows and "options" in rows[0]:
        items = []
        for r in rows:
            item = {k: v for k, v in r.items() if v is not None}
            if "item_id" in item:
                item["id"] = str(item.pop("item_id"))
            items.append(item)
        return parse_instrument({**metadata, "items": items}, source)
    return _load_rows(rows, metadata, source)


def load(path: str | Path, metadata: dict[str, Any] | None = None) -> Instrument:
    """Load an instrument file by its extension (.yaml/.yml, .json, .csv, .parquet, .jsonl, dataset dir)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        inst = load_yaml(p, metadata)
    elif suffix == ".json":
        inst = load_json(p, metadata)
    elif suffix == ".csv":
        inst = load_csv(p, metadata)
    elif p.is_dir() or suffix in (".parquet", ".jsonl"):
        if metadata is None:
            raise InstrumentError(
                [
                    Problem(
                        str(p),
                        None,
                        "(metadata)",
                        "a dataset needs metadata: import it with 'eitest instruments import ID PATH'",
                    )
                ]
            )
        inst = load_dataset(str(p), metadata)
    else:
        raise InstrumentError(
            [
                Problem(
                    str(p),
                    None,
                    "(file)",
                    "unknown file type; use .yaml, .json, .csv, .parquet, .jsonl or a dataset directory",
                )
            ]
        )
    return inst


# --------------------------------------------------------------------------- catalogue


_cache: dict[Path, tuple[float, int, Instrument]] = {}


def _load_cached(path: Path) -> Instrument:
    # Instruments are immutable, so a file unchanged since it was last read is not parsed again.
    stat = path.stat()
    hit = _cache.get(path)
    if hit and hit[0] == stat.st_mtime and hit[1] == stat.st_size:
        return hit[2]
    inst = load_yaml(path)
    _cache[path] = (stat.st_mtime, stat.st_size, inst)
    return inst


def _load_dir(directory: Path) -> dict[str, Instrument]:
    found: dict[str, Instrument] = {}
    for f in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        inst = _load_cached(f)
        found[inst.id] = inst
    return found


def shipped() -> dict[str, Instrument]:
    """Instruments shipped with eitest: open item sets and metadata of published tests."""
    return _load_dir(package_instrument_dir())


def catalogue() -> dict[str, Instrument]:
    """Every instrument known: shipped ones, with the user's imports in place of metadata-only entries."""
    found = shipped()
    for inst_id, inst in _load_dir(user_instrument_dir()).items():
        if inst_id not in found or found[inst_id].is_metadata_only:
            found[inst_id] = inst
    return dict(sorted(found.items()))


class UnknownInstrument(EitestError, KeyError):
    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = known
        super().__init__(f"unknown instrument {name!r}; known: {', '.join(known)}")

    def __str__(self) -> str:
        return self.args[0]


def get(id_or_path: str) -> Instrument:
    """An instrument by catalogue id, or loaded from a file path."""
    cat = catalogue()
    if id_or_path in cat:
        return cat[id_or_path]
    p = Path(id_or_path)
    if p.exists():
        return load(p)
    raise UnknownInstrument(id_or_path, sorted(cat))


def check_import(meta: Instrument, imported: Instrument) -> list[Problem]:
    """Where ``imported`` differs from the published structure recorded in ``meta``."""
    pub = meta.published
    src = f"import of {meta.id}"
    problems: list[Problem] = []
    if pub is None:
        return [Problem(src, None, "id", f"{meta.id} ships its own items; it is not a published test to import")]
    if pub.n_items is not None and imported.n_items != pub.n_items:
        problems.append(Problem(src, None, "items", f"{imported.n_items} items, but {meta.id} has {pub.n_items}"))
    if pub.n_options is not None:
        for it in imported.items:
            if len(it.options) != pub.n_options:
                problems.append(
                    Problem(
                        src, it.id, "options", f"{len(it.options)} options, but {meta.id} items have {pub.n_options}"
                    )
                )
    if pub.scoring and imported.scoring not in pub.scoring:
        problems.append(
            Problem(src, None, "scoring", f"{imported.scoring!r}, but {meta.id} is scored {' or '.join(pub.scoring)}")
        )
    return problems


def import_instrument(instrument_id: str, path: str | Path, scoring: str | None = None) -> Path:
    """Import a user's licensed item file for a published test into the user data directory."""
    known = shipped()
    if instrument_id not in known:
        raise UnknownInstrument(instrument_id, sorted(known))
    entry = known[instrument_id]
    metadata = entry.normalized()
    metadata.pop("items", None)
    if scoring:
        metadata["scoring"] = scoring
    imported = load(path, metadata)
    problems = check_import(entry, imported)
    if problems:
        raise InstrumentError(problems)
    from eitest.util import write_checked

    return write_checked(user_instrument_dir() / f"{instrument_id}.yaml", dump_yaml(imported), load_yaml)


def dump_yaml(instrument: Instrument) -> str:
    return yaml.safe_dump(instrument.normalized(), sort_keys=False, allow_unicode=True, width=100)
