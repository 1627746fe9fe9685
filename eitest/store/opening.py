"""Opening a store file as users have it: missing, read-only, damaged, not a store, or on a full disk.

A store opened to write (``eitest run``) must be writable and, before a run adds
trials, intact. A store opened to read (analyze, report, export, runs) may be
read-only: it is then opened read-only, and a store of an older schema is migrated
in a copy in memory, never on disk. Every SQLite failure that a user can meet
becomes a :class:`StoreError` that names the file and the way out.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from eitest.errors import EitestError

F = TypeVar("F", bound=Callable[..., Any])

# Seconds a statement waits for another process's write lock before failing.
BUSY_TIMEOUT_S = 30


class StoreError(EitestError):
    pass


def recover_hint(path: Path) -> str:
    return (
        f"copy it away (keep the copy), then recover what it holds with "
        f"'sqlite3 {path} .recover | sqlite3 recovered.db' and give recovered.db as --db, or restore it from a backup"
    )


def read_only_error(path: Path, why: str) -> StoreError:
    return StoreError(
        f"the store {path} is read-only: {why}. A run writes to it: make it writable (chmod u+w), or copy it to a "
        "folder you can write and give the copy as --db. Reading commands (analyze, report, export, runs) work on "
        "it as it is"
    )


def translate(path: Path, exc: sqlite3.DatabaseError) -> Exception:
    """The StoreError a user should see for ``exc``; ``exc`` itself when it is a bug, not the file's state."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    text = str(exc)
    if name == "SQLITE_FULL" or "disk is full" in text:
        return StoreError(
            f"the disk holding the store {path} is full (SQLite: {text}); every trial committed before this is "
            "kept. Free some space (or give a --db on another disk) and run the same command again: it resumes "
            "where it stopped"
        )
    if name.startswith("SQLITE_READONLY") or "readonly database" in text:
        return read_only_error(path, "it cannot be written")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        return StoreError(
            f"the store {path} stayed locked by another process for {BUSY_TIMEOUT_S} s; wait for it to finish, "
            "then run the command again"
        )
    if name == "SQLITE_NOTADB" or "not a database" in text:
        return StoreError(
            f"{path} is not an SQLite database, so not an eitest store (a damaged file, or another kind of file); "
            "give the store's path as --db, or restore the store from a backup"
        )
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_IOERR", "SQLITE_CANTOPEN")) or "malformed" in text:
        return StoreError(f"the store {path} is damaged or cannot be read (SQLite: {text}): {recover_hint(path)}")
    if type(exc) in (sqlite3.OperationalError, sqlite3.DatabaseError):  # e.g. "no such column": not our schema
        return StoreError(
            f"{path} is not a store this eitest can read (SQLite: {text}): it was altered, or made by another "
            "program; give the store's path as --db, or restore it from a backup"
        )
    return exc  # IntegrityError, ProgrammingError, ...: a fault in eitest, not in the file


def store_errors(method: F) -> F:
    """Run a :class:`~eitest.store.Store` method, turning SQLite's failures into :class:`StoreError`."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise translate(self.path, exc) from None
        except Exception as exc:
            # pandas wraps the sqlite3 error of read_sql_query in its own DatabaseError.
            if isinstance(exc.__cause__, sqlite3.DatabaseError) and not isinstance(exc, EitestError):
                raise translate(self.path, exc.__cause__) from None
            raise

    return wrapper  # type: ignore[return-value]


def check_path(path: Path, *, write: bool) -> None:
    """Refuse, with the fix, a store path that cannot be opened as asked (before SQLite is asked)."""
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a store file; give a file in it as --db, e.g. {path / 'eitest.db'}")
    if not write:
        if not path.exists():
            raise StoreError(f"no database at {path}; run 'eitest run ...' or 'eitest demo' first")
        return
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"cannot create the store {path}: {folder} is a file, not a folder; give another --db")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(
            f"cannot create the folder {folder} for the store {path}: {exc.strerror}; give a --db in a folder you can write"
        ) from None
    if path.exists():
        if not os.access(path, os.W_OK):
            raise read_only_error(path, "you may not write the file")
        if not _writable_folder(folder):
            raise read_only_error(path, f"its folder {folder} is read-only, and SQLite writes its journal beside it")
    elif not _writable_folder(folder):
        raise StoreError(
            f"cannot create the store {path}: the folder {folder} is not writable; give a --db you can write"
        )


def connect(path: Path, *, write: bool) -> tuple[sqlite3.Connection, bool]:
    """A connection to the store at ``path`` and whether it is read-only (only ever when not ``write``)."""
    read_only = not write and not (os.access(path, os.W_OK) and _writable_folder(path.parent))
    if not read_only:
        conn = _open(str(path), uri=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise translate(path, exc) from None
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn, False
    conn = _open(file_uri(path, "mode=ro"), uri=True)
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        return conn, True
    except sqlite3.OperationalError:
        conn.close()  # a WAL store in a read-only folder: SQLite cannot make its shared-memory file there
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise translate(path, exc) from None
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise StoreError(
            f"the store {path} and its folder are read-only, and its last writes are still in {wal.name}: copy "
            f"{path.name} and {wal.name} together to a folder you can write and read the copy"
        )
    # Nothing can change a read-only file in a read-only folder, so SQLite may read it as immutable.
    return _open(file_uri(path, "mode=ro&immutable=1"), uri=True), True


def memory_copy(conn: sqlite3.Connection) -> sqlite3.Connection:
    """A copy of the database in memory (to migrate a read-only store without writing it)."""
    copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.backup(copy)
    conn.close()
    copy.row_factory = sqlite3.Row
    return copy


def quick_check(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged store: SQLite's ``PRAGMA quick_check`` finds it (a run must not add to it)."""
    try:
        problems = [r[0] for r in conn.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        problems = [str(exc)]
    if problems != ["ok"]:
        raise StoreError(
            f"the store {path} is damaged (SQLite quick_check: {'; '.join(problems)}); eitest will not add trials "
            f"to it: {recover_hint(path)}"
        )


def _open(target: str, *, uri: bool) -> sqlite3.Connection:
    # check_same_thread off: a notebook's run writes from one worker thread while the caller waits.
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False, uri=uri)
    conn.row_factory = sqlite3.Row
    return conn


def file_uri(path: Path, query: str) -> str:
    """SQLite's URI of the file ``path`` with ``query`` (e.g. ``mode=ro``)."""
    from urllib.parse import quote

    return f"file:{quote(str(path.resolve()))}?{query}"


def _writable_folder(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)
