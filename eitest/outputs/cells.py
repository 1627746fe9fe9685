"""Text cells made safe for the files eitest writes: spreadsheets' formulas, NUL, invalid unicode.

- A CSV cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
  is run as a formula by Excel and LibreOffice (OWASP, "CSV Injection"). Model
  replies do begin so ("=SUM(...)", "- B", "@A"), and a formula can fetch a URL or
  run a command. :func:`spreadsheet_safe` writes such a *text* cell with a leading
  ``'``, which spreadsheets take as "this is text" and do not show; numbers, and
  text that is a plain number such as ``-0.5``, stay as they are.
- UTF-8 cannot hold a lone surrogate (``\\ud800``, which broken providers emit):
  every format would fail on it, so it is written as U+FFFD, and counted.
- SPSS ends a string at a NUL character, silently dropping the rest: for ``.sav``
  a NUL is written as U+FFFD, and counted.

Standard library only at import: the command line's ``--csv`` listings use
:func:`spreadsheet_safe` too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
REPLACEMENT = "\ufffd"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_SURROGATE = re.compile("[\ud800-\udfff]")

FORMULA_NOTE = (
    "CSV: text cells that begin with = + - @, a tab or a carriage return are written with a leading ' so that "
    "spreadsheets show them as text instead of running them as formulas (a text that is a plain number, such as "
    "-0.5, is left as it is); the SQLite store and the Parquet, SPSS and Hugging Face exports keep the text as it came"
)


def spreadsheet_safe(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula; else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def valid_unicode(text: str) -> str:
    """``text`` with each lone surrogate as U+FFFD (a surrogate pair becomes the character it encodes)."""
    if not _SURROGATE.search(text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _text_columns(df: pd.DataFrame) -> list[str]:
    import pandas as pd

    return [c for c in df.columns if pd.api.types.is_string_dtype(df[c]) or df[c].dtype == object]


def map_text(df: pd.DataFrame, fix: Any) -> tuple[pd.DataFrame, dict[str, int]]:
    """``df`` with ``fix`` applied to every text cell, and per column the number of cells it changed."""
    out = df.copy()
    changed: dict[str, int] = {}
    for col in _text_columns(df):
        before = df[col]
        after = before.map(lambda v: fix(v) if isinstance(v, str) else v)
        n = int(sum(isinstance(a, str) and a != b for a, b in zip(after, before, strict=True)))
        if n:
            out[col] = after.astype(before.dtype)
            changed[col] = n
    return out, changed


def safe_for_spreadsheets(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """:func:`spreadsheet_safe` over the text cells of ``df``; with the count per column."""
    return map_text(df, spreadsheet_safe)


def without_surrogates(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """:func:`valid_unicode` over the text cells of ``df``; with the count per column."""
    return map_text(df, valid_unicode)


def surrogates_noted(df: pd.DataFrame, name: str) -> tuple[pd.DataFrame, list[str]]:
    """:func:`without_surrogates`, with a note for the table ``name`` when a cell was changed."""
    fixed, counts = without_surrogates(df)
    if not counts:
        return df, []
    return fixed, [
        f"{name}: {sum(counts.values())} cell(s) held invalid unicode (lone surrogates), written as U+FFFD "
        f"({counts_text(counts)}); the store keeps them as they were stored"
    ]


def without_nul(df: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """NUL characters in the text cells of ``df`` as U+FFFD; with the count per column."""
    return map_text(df, lambda s: s.replace("\x00", REPLACEMENT))


def counts_text(counts: dict[str, int]) -> str:
    """``raw_reply: 12, error: 1`` (the columns in the order given)."""
    return ", ".join(f"{col}: {n}" for col, n in counts.items())
