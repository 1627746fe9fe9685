"""Writing output files so that a bad path or a full disk is a clear error and nothing else is lost.

Every file eitest writes for a user (reports, exports, forms pages, generated
instruments) goes through here or through :func:`eitest.files.write_checked`: the
content goes to a temporary file beside the target and replaces it only when
complete, so a failed write leaves the earlier file as it was. An ``OSError`` on
the way becomes an :class:`OutputError` that names the path, what is wrong in
words (a directory, permission denied, the disk is full) and what to do.
:func:`check_output_file` and :func:`check_output_folder` check a path before the work
that fills it (an analysis, paid model calls), so that the work is not lost at the end.

Standard library only: the command line imports this without paying for anything heavy.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from eitest.errors import EitestError
from eitest.files import write_atomically, write_checked


class OutputError(EitestError):
    """An output file or folder cannot be written."""


_REASONS = {
    errno.EISDIR: ("it is a directory", "give a file name"),
    errno.EACCES: ("permission denied", "choose a path you can write to"),
    errno.EPERM: ("permission denied", "choose a path you can write to"),
    errno.EROFS: ("the file system is read-only", "choose a path on a writable disk"),
    errno.ENOSPC: ("the disk is full", "free some space, or choose another disk, and run the command again"),
    errno.EDQUOT: ("the disk quota is used up", "free some space, or choose another disk, and run the command again"),
    errno.ENOTDIR: ("a part of the path is a file, not a folder", "check the path"),
    errno.ENOENT: ("its folder does not exist and cannot be created", "check the path"),
    errno.ENAMETOOLONG: ("the name is too long", "choose a shorter path"),
}


def output_error(path: str | Path, exc: OSError) -> OutputError:
    """The clear error for ``exc``, raised while writing ``path``."""
    reason, fix = _REASONS.get(exc.errno or 0, (exc.strerror or str(exc), "choose another path"))
    return OutputError(f"cannot write {path}: {reason}; {fix} (nothing was written there)")


@contextlib.contextmanager
def output_errors(path: str | Path) -> Iterator[None]:
    """Turn an ``OSError`` raised inside the block, which writes ``path``, into an :class:`OutputError`."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        raise output_error(path, exc) from None


def check_output_file(path: str | Path) -> Path:
    """Check that the file ``path`` could be written (its folder made if missing), without writing it."""
    path = Path(path)
    if path.is_dir():
        raise output_error(path, IsADirectoryError(errno.EISDIR, "is a directory"))
    check_output_folder(path.parent)
    if path.exists() and not os.access(path, os.W_OK):
        raise output_error(path, PermissionError(errno.EACCES, "permission denied"))
    return path


def check_output_folder(path: str | Path) -> Path:
    """Check that the folder ``path`` could be made (or is there) and written into, without making it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"cannot write into {path}: it is a file, not a folder; give a folder (created if missing)")
    there = next(p for p in (path, *path.parents) if p.exists())  # the root always is
    if not there.is_dir():
        raise OutputError(f"cannot write into {path}: {there} is a file, not a folder; check the path")
    if not os.access(there, os.W_OK | os.X_OK):
        raise output_error(path, PermissionError(errno.EACCES, "permission denied"))
    return path


def output_folder(path: str | Path) -> Path:
    """The folder ``path``, created when missing, checked to be a writable folder; returns it."""
    path = check_output_folder(path)
    with output_errors(path):
        path.mkdir(parents=True, exist_ok=True)
    if not os.access(path, os.W_OK | os.X_OK):
        raise output_error(path, PermissionError(errno.EACCES, "permission denied"))
    return path


def write_text(path: str | Path, text: str, check: Callable[[Path], Any] | None = None) -> Path:
    """:func:`eitest.files.write_checked` (all at once, after ``check``), with a clear error for a bad path."""
    path = check_output_file(path)
    output_folder(path.parent)
    with output_errors(path):
        return write_checked(path, text, check)


def write_binary(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Have ``write(tmp)`` write a file beside ``path``, then put it in place of ``path`` in one step.

    For files a library writes itself (a PDF, a Parquet or SPSS file): a failed write,
    a full disk included, leaves an earlier ``path`` as it was and no temporary file.
    """
    path = check_output_file(path)
    output_folder(path.parent)
    with output_errors(path):
        write_atomically(path, write)
    return path
