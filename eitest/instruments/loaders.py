"""Reading instruments from files: YAML, JSON, a CSV with one row per item, Hugging Face datasets.

The formats are documented in ``docs/instrument-format.md``.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eitest.instruments.irt_params import CSV_IRT_COLUMNS, irt_from_cells
from eitest.instruments.model import Instrument, InstrumentError, Problem, parse_instrument
from eitest.reading import CsvTable, ReadError, read_csv, read_json, read_yaml

WHAT = "an instrument file"


def _reading(read: Callable[[Path, str], Any], path: Path, what: str = WHAT) -> Any:
    try:
        return read(path, what)
    except ReadError as exc:
        raise InstrumentError.from_read_error(exc) from None


def _read_yaml(path: Path, what: str = WHAT) -> Any:
    return _reading(read_yaml, path, what)


def _read_json(path: Path) -> Any:
    return _reading(read_json, path)


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
# Besides option_<id> and weight_<id>; any other column is a typo, which would otherwise lose its data unseen.
CSV_COLUMNS = (*CSV_REQUIRED, "key", "facets", "human_p", "rationale", "appraisal", *CSV_IRT_COLUMNS)


def rows_to_items(
    rows: list[dict[str, Any]], source: str, columns: list[str] | None = None
) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Turn flat rows (CSV layout, one row per item) into item dicts.

    Columns: ``item_id, stem, question, option_<id>...`` (option columns in display
    order; the part after ``option_`` is the option id), then ``key`` or
    ``weight_<id>...``, optional ``facets`` (separated by ``;``), ``human_p``,
    ``rationale``, ``appraisal``, and the IRT parameters ``irt_model, irt_a, irt_b,
    irt_c, irt_D, irt_source, irt_where`` (:mod:`eitest.instruments.irt_params`;
    all empty for an item without them). Empty option cells are skipped, so items may have
    different numbers of options. ``columns`` (a file's header) is checked even when
    there are no rows; without it, the first row's keys are the columns.
    """
    problems: list[Problem] = []
    items: list[dict[str, Any]] = []
    from_header = columns is not None  # a file's header is the user's own; a dataset may carry extra columns
    if columns is None:
        columns = list(rows[0].keys()) if rows else []
    if not rows and not columns:
        return items, [Problem(source, None, "(file)", "no rows")]
    missing = [c for c in CSV_REQUIRED if c not in columns]
    if missing:
        has = (
            f"it has one column, {columns[0]!r}: separate the columns with commas, semicolons or tabs"
            if len(columns) == 1
            else f"it has {', '.join(columns)}"
        )
        problems.append(Problem(source, None, "(header)", f"missing column(s) {', '.join(missing)}; {has}"))
        return items, problems
    option_cols = [c for c in columns if c.startswith("option_")]
    weight_cols = [c for c in columns if c.startswith("weight_")]
    if not option_cols:
        problems.append(Problem(source, None, "(header)", "no option_<id> columns"))
        return items, problems
    unknown = [c for c in columns if c not in CSV_COLUMNS and not c.startswith(("option_", "weight_"))]
    if unknown and from_header:
        for name in unknown:
            close = difflib.get_close_matches(name, CSV_COLUMNS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the columns are {', '.join(CSV_COLUMNS)}"
            problems.append(Problem(source, None, "(header)", f"unknown column {name!r}; {hint}"))
        return items, problems
    if not rows:
        return items, [Problem(source, None, "(file)", "no rows")]
    for index, row in enumerate(rows):
        label = str(row.get("item_id") or "").strip() or f"#{index + 1}"  # as parse_instrument labels items

        def cell(name: str, row: dict[str, Any] = row) -> str:
            v = row.get(name)
            return "" if v is None else str(v).strip()

        if not cell("item_id"):
            problems.append(Problem(source, label, "item_id", "is empty; every row with an item needs its id"))
            continue

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
        irt, irt_cell_problems = irt_from_cells(cell)
        problems += [Problem(source, label, column, message) for column, message in irt_cell_problems]
        if irt is not None and not irt_cell_problems:
            item["irt"] = irt
        items.append(item)
    return items, problems


def _on_lines(problems: list[Problem], rows: list[dict[str, Any]], lines: list[int]) -> list[Problem]:
    """Each problem about an item with the file line(s) of that item's row: ``x.csv: line 7: item s3: ...``."""
    at: dict[str, list[int]] = {}
    for index, (row, line) in enumerate(zip(rows, lines, strict=True)):
        at.setdefault(str(row.get("item_id") or "").strip() or f"#{index + 1}", []).append(line)
    out = []
    for p in problems:
        found = at.get(p.item) if p.item is not None else None
        if found:
            where = f"line {found[0]}" if len(found) == 1 else "lines " + ", ".join(map(str, found))
            p = Problem(f"{p.source}: {where}", p.item, p.field, p.message)
        out.append(p)
    return out


def _load_rows(
    rows: list[dict[str, Any]], metadata: dict[str, Any], source: str, table: CsvTable | None = None
) -> Instrument:
    """The instrument from flat rows; ``table``, when they come from a CSV file, gives its header and lines."""
    items, problems = rows_to_items(rows, source, list(table.header) if table else None)
    lines = [row.line for row in table.rows] if table else None
    instrument = None
    try:
        instrument = parse_instrument({**metadata, "items": items}, source)
    except InstrumentError as exc:
        problems += exc.problems
    if problems or instrument is None:
        raise InstrumentError(_on_lines(problems, rows, lines) if lines else problems)
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
        metadata = _read_yaml(sidecar, "an instrument's metadata file") or {}
        if not isinstance(metadata, dict):
            raise InstrumentError(
                [Problem(str(sidecar), None, "(file)", "expected a mapping of instrument fields (id, name, ...)")]
            )
    table = _reading(read_csv, path)
    return _load_rows(table.records(), metadata, str(path), table)


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
