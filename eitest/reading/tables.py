"""CSV files as Excel, LibreOffice and editors write them: one header row, then rows with their line in the file.

Read as a CSV reader reads a file (never ``str.splitlines``, which also breaks
lines at U+2028, form feeds and other characters a cell may hold), with the
separator sniffed from the header line among comma, semicolon and tab.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from eitest.reading.text import ReadError, read_text

MAX_CELL_CHARS = 10 * 1024 * 1024
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_SNIFF_CHARS = 1024 * 1024  # the header is within this, or it is not a header
_SNIFF_ROWS = 20  # data rows tried when the header alone cannot tell the separator
_LINE_BREAK_IN_CELL = re.compile(r"\r\n?")


@dataclass(frozen=True)
class CsvRow:
    """One data row: the file line it starts on, and one cell per header column (short rows padded with "")."""

    line: int
    cells: tuple[str, ...]


@dataclass(frozen=True)
class CsvTable:
    """A CSV file's header (names stripped) and its non-blank data rows."""

    source: str
    header: tuple[str, ...]
    rows: tuple[CsvRow, ...]
    separator: str = ","

    def records(self) -> list[dict[str, str]]:
        """Each row as ``{column: cell}``."""
        return [dict(zip(self.header, row.cells, strict=True)) for row in self.rows]


def _header_counts(text: str) -> dict[str, int]:
    """How often each separator stands outside quotes in the first line that holds anything."""
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    started = False
    for ch in text[:_SNIFF_CHARS]:
        if ch == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "\r\n":
            if started:
                break
        elif ch in counts:
            counts[ch] += 1
        elif not ch.isspace():
            started = True
    return {sep: n for sep, n in counts.items() if n}


def _records(text: str, separator: str, source: str) -> Iterator[tuple[int, list[str]]]:
    """Every record with the line it starts on; a quoting error or an oversized cell names its line."""
    if csv.field_size_limit() < MAX_CELL_CHARS:
        csv.field_size_limit(MAX_CELL_CHARS)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise ReadError.one(
                    source,
                    f"line {start}",
                    f"a cell is longer than {MAX_CELL_CHARS:,} characters; is it the right file?",
                ) from None
            raise ReadError.one(
                source,
                f"line {start}",
                f"badly quoted cell ({exc}): a cell that starts with a quote must end with one,"
                ' and a quote inside it is written twice ("")',
            ) from None
        yield start, cells
        start = reader.line_num + 1


def _blank(cells: list[str]) -> bool:
    return not any(c.strip() for c in cells)


def _consistent(text: str, separator: str, source: str) -> bool:
    """Whether the first rows all have the header's number of cells when split at ``separator``."""
    widths = []
    try:
        for _, cells in _records(text, separator, source):
            if not _blank(cells):
                widths.append(len(cells))
            if len(widths) > _SNIFF_ROWS:
                break
    except ReadError:
        return False
    return len(widths) > 1 and len(set(widths)) == 1


def sniff_separator(text: str, source: str) -> str:
    """The separator of ``text``: the only one of comma, semicolon and tab in its header line.

    When the header holds several, the one that splits the first rows into as many
    cells as the header wins; if none or several do, a :class:`ReadError` names them.
    """
    counts = _header_counts(text)
    if len(counts) <= 1:
        return next(iter(counts), ",")
    fits = [sep for sep in counts if _consistent(text, sep, source)]
    if len(fits) == 1:
        return fits[0]
    found = " and ".join(f"{SEPARATORS[sep]}s ({n})" for sep, n in counts.items())
    raise ReadError.one(
        source,
        "line 1",
        f"the header holds {found}, so the separator is unclear; save the file with one separator"
        " (comma, semicolon or tab), quoting any cell that contains another",
    )


def _named_columns(header: list[str], header_line: int, rows: list[tuple[int, list[str]]], source: str) -> list[int]:
    """The positions of the columns to keep; duplicate names and nameless columns holding data are errors."""
    problems: list[tuple[str, str]] = []
    keep: list[int] = []
    first: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            used = next(((line, cells[i]) for line, cells in rows if i < len(cells) and cells[i].strip()), None)
            if used is not None:
                problems.append(
                    (
                        f"line {header_line}, column {i + 1}",
                        f"empty column name, but line {used[0]} has {used[1]!r} in it; name it",
                    )
                )
            continue  # a nameless, empty column: what spreadsheets leave after the last one
        if name in first:
            problems.append(
                (
                    f"line {header_line}, column {name}",
                    f"the column appears twice (columns {first[name] + 1} and {i + 1}); rename or delete one",
                )
            )
        first.setdefault(name, i)
        keep.append(i)
    if problems:
        raise ReadError(source, problems)
    return keep


def parse_csv(text: str, source: str) -> CsvTable:
    """A CSV text as header and rows, each row with the line of the file it starts on.

    Blank rows (Excel writes ``,,,,`` below the data) are left out; line breaks in a
    quoted cell are kept (as ``\\n``); cells beyond the header's columns must be
    empty. An empty text gives an empty header and no rows.
    """
    text = text.removeprefix("\ufeff")  # a BOM left by a caller that decoded the file itself
    separator = sniff_separator(text, source)
    records = [(line, cells) for line, cells in _records(text, separator, source) if not _blank(cells)]
    if not records:
        return CsvTable(source, (), (), separator)
    (header_line, raw_header), body = records[0], records[1:]
    header = [name.strip() for name in raw_header]
    keep = _named_columns(header, header_line, body, source)
    width = len(header)
    problems = [
        (f"line {line}", f"{len(cells)} cells but the header has {width} columns")
        for line, cells in body
        if len(cells) > width and not _blank(cells[width:])
    ]
    if problems:
        raise ReadError(source, problems)
    rows = []
    for line, cells in body:
        full = cells[:width] + [""] * (width - len(cells))
        rows.append(CsvRow(line, tuple(_LINE_BREAK_IN_CELL.sub("\n", full[i]) for i in keep)))
    return CsvTable(source, tuple(header[i] for i in keep), tuple(rows), separator)


def read_csv(path: str | Path, what: str) -> CsvTable:
    return parse_csv(read_text(path, what), str(path))
