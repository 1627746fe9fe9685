"""The run lock: one process per run and store, gone when its process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from eitest.store.lock import StoreBusy, lock_path, run_lock

HOLD = """
import sys, time
from pathlib import Path
from eitest.store.lock import run_lock
with run_lock(Path(sys.argv[1]), sys.argv[2]):
    print("held", flush=True)
    time.sleep(300)
"""


def hold(store: Path, run_id: str) -> subprocess.Popen:
    """A second process that holds the lock of ``run_id`` on ``store`` until it is killed."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(store), run_id], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n", proc.stderr.read() if proc.stderr else ""
    return proc


def busy(store: Path, pid: int) -> str:
    return f"another eitest process (pid {pid}) is running this study on {store}; wait for it or stop it"


def test_a_second_process_is_refused_until_the_holder_is_killed(tmp_path: Path):
    store = tmp_path / "s.db"
    holder = hold(store, "0123456789ab")
    try:
        with pytest.raises(StoreBusy) as caught:
            with run_lock(store, "0123456789ab"):
                pass
        assert str(caught.value) == busy(store, holder.pid)
        with run_lock(store, "ba9876543210"):  # another study on the same store is not held up
            pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert holder.returncode == -signal.SIGKILL
    with run_lock(store, "0123456789ab"):  # the kernel dropped the dead process's lock
        assert lock_path(store).exists()


def test_the_same_process_cannot_take_a_run_twice_and_keeps_its_other_locks(tmp_path: Path):
    store = tmp_path / "s.db"
    with run_lock(store, "aaaaaaaaaaaa"):
        with run_lock(store, "bbbbbbbbbbbb"):
            with pytest.raises(StoreBusy) as caught:
                with run_lock(store, "aaaaaaaaaaaa"):
                    pass
            assert str(caught.value) == (
                f"this process is already running this study on {store}; a run is taken once at a time"
            )
        # releasing bbbb left aaaa held: another process still finds it taken
        probe = subprocess.run(
            [
                sys.executable,
                "-c",
                HOLD.replace('print("held", flush=True)\n    time.sleep(300)', "pass"),
                str(store),
                "aaaaaaaaaaaa",
            ],
            capture_output=True,
            text=True,
        )
        assert probe.returncode == 1 and busy(store, os.getpid()) in probe.stderr
    with run_lock(store, "aaaaaaaaaaaa"):
        pass


def test_without_fcntl_the_run_goes_on_with_a_warning(tmp_path: Path):
    code = (
        "import sys; sys.modules['fcntl'] = None\n"  # as on Windows: importing fcntl fails
        "from pathlib import Path\n"
        "from eitest.store.lock import run_lock\n"
        f"with run_lock(Path({str(tmp_path / 's.db')!r}), 'aaaaaaaaaaaa'):\n"
        "    print('ran')\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout == "ran\n"
    assert res.stderr == f"warning: no run lock on {sys.platform}: do not run the same study twice at once\n"
    assert not lock_path(tmp_path / "s.db").exists()
