"""Checked atomic writes: a file is replaced only by content that reads back without error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def write_checked(path: str | Path, text: str, check: Callable[[Path], Any] | None = None) -> Path:
    """Write ``text`` to ``path`` all at once, after ``check`` has read it back without error.

    The text goes to ``PATH.tmp`` first; ``check`` (a loader that raises on bad
    content) reads that file, and only then does it replace ``path``. A failed
    check leaves ``path`` as it was and removes the temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")  # inside: a full disk must not leave a partial PATH.tmp
        if check is not None:
            check(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path
