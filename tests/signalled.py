"""The installed command in a process of its own, sent a signal once some trials are stored."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def stored_count(db: Path) -> int:
    """Trials in the store at ``db`` now (0 before it has a trials table)."""
    try:
        return sqlite3.connect(db).execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def signalled(
    args: list[str], db: Path, cwd: Path, sig: int = signal.SIGTERM, *, after: int = 6
) -> tuple[int, str, str]:
    """Run ``eitest ARGS``, send ``sig`` once ``after`` trials are in ``db``; (exit status, stdout, stderr)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "eitest", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd
    )
    deadline = time.time() + 60
    while stored_count(db) < after and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, out, err
