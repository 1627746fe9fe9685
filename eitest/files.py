"""Atomic writes: a file is replaced in one step, and only by content that was written whole (and checked)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_atomically(
    path: str | Path, write: Callable[[Path], Any], check: Callable[[Path], Any] | None = None
) -> Path:
    """Have ``write(tmp)`` write ``PATH.tmp``, ``check(tmp)`` read it back, then put it in place of ``path``.

    For text eitest writes and for files a library writes itself (a PDF, a Parquet or
    SPSS file). A failed write (a full disk included) or a failed check (a loader that
    raises on bad content) leaves ``path`` as it was and no temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        if check is not None:
            check(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_checked(path: str | Path, text: str, check: Callable[[Path], Any] | None = None) -> Path:
    """Write ``text`` (UTF-8, line ends as they are) to ``path`` all at once, after ``check`` has read it back."""
    return write_atomically(path, lambda tmp: tmp.write_bytes(text.encode("utf-8")), check)
