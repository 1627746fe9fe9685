"""One process per run and store: a lock that dies with the process that holds it.

Two processes running the same study on the same store would call every trial
twice. :func:`run_lock` takes an exclusive POSIX record lock (``fcntl.lockf``) on
one byte of a sidecar file beside the store (``STORE.lock``), at an offset made from
the run id, and holds it for the life of the run. The kernel drops the lock when the
process ends, however it ends (a SIGKILL, a crash), so nothing stale is left behind.
Other studies (other run ids) lock other bytes: they may share the store, which
SQLite's own locking keeps consistent.

POSIX locks belong to a process, not to a file handle: a second lock of the same
byte from the same process would succeed, and closing any handle on the file would
drop every lock the process holds on it. So the file is opened once per process
and each run's byte is tracked here. Windows has no ``fcntl``: there the run goes
on without a lock, after a one-line warning.
"""

from __future__ import annotations

import hashlib
import os
import struct
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eitest.store.opening import StoreError

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]


class StoreBusy(StoreError):
    """Another process is running the same study on the same store."""


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


def lock_offset(run_id: str) -> int:
    """The byte that stands for ``run_id``: 48 bits of its hash, well inside a file offset, the same in every process."""
    return int(hashlib.sha256(run_id.encode()).hexdigest()[:12], 16)


class _LockFile:
    """The process's one open handle on a lock file, and the bytes it holds on it."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self.held: set[int] = set()


_files: dict[str, _LockFile] = {}
_guard = threading.Lock()


@contextmanager
def run_lock(store: Path, run_id: str) -> Iterator[None]:
    """Hold the lock of run ``run_id`` on ``store``; :class:`StoreBusy` at once when another process holds it."""
    if fcntl is None:
        print(f"warning: no run lock on {sys.platform}: do not run the same study twice at once", file=sys.stderr)
        yield
        return
    path = lock_path(store)
    key = str(path.resolve())
    offset = lock_offset(run_id)
    with _guard:
        lf = _files.get(key)
        if lf is None:
            try:
                lf = _files[key] = _LockFile(path)
            except OSError as exc:
                raise StoreError(f"cannot create the lock file {path} beside the store: {exc.strerror}") from None
        if offset in lf.held:
            raise StoreBusy(f"this process is already running this study on {store}; a run is taken once at a time")
        try:
            fcntl.lockf(lf.fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset, os.SEEK_SET)
        except OSError:
            raise _busy(store, _holder(lf.fd, offset)) from None
        lf.held.add(offset)
    try:
        yield
    finally:
        with _guard:
            lf.held.discard(offset)
            fcntl.lockf(lf.fd, fcntl.LOCK_UN, 1, offset, os.SEEK_SET)


def _busy(store: Path, pid: int | None) -> StoreBusy:
    who = f"another eitest process (pid {pid})" if pid else "another eitest process"
    return StoreBusy(f"{who} is running this study on {store}; wait for it or stop it")


# struct flock as the kernel lays it out: Linux puts the type first, the BSDs (macOS) the offsets.
_FLOCK = {"linux": ("hhqqi", (0, 1, 2, 3, 4)), "darwin": ("qqihh", (2, 3, 4, 0, 1))}


def _holder(fd: int, offset: int) -> int | None:
    """The pid of the process that holds the byte at ``offset`` (F_GETLK), or None where that is not known."""
    layout = _FLOCK.get("linux" if sys.platform.startswith("linux") else sys.platform)
    if layout is None:
        return None
    fmt, order = layout
    fields = (fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0)  # type, whence, start, len, pid
    packed = struct.pack(fmt, *(fields[i] for i in order))
    try:
        answer = struct.unpack(fmt, fcntl.fcntl(fd, fcntl.F_GETLK, packed))
    except OSError:
        return None
    pid = answer[order.index(4)]
    return pid if pid > 0 else None
