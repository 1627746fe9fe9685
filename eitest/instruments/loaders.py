"""Reading instruments from files: YAML, JSON, a CSV with one row per item, Hugging Face datasets.

The formats are documented in ``docs/instrument-format.md``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml

from eitest.instruments.model import Instrument, InstrumentError, Problem, _YamlLoader, parse_instrument


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
    if path.is_dir() and ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
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
