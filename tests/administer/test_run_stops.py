"""A run stopped by a signal or a closed stdout: what finished is stored, the rest resumes, no traceback."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
from openai_server import ScriptedServer, keyed_script, prompt_key
from signalled import signalled

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.client import litellm_module
from eitest.instruments import catalogue
from eitest.store import Store


@pytest.fixture(scope="module")
def keyed():
    steu = catalogue()["open-steu"]
    return keyed_script({it.stem.strip(): it.option(it.best_option).text for it in steu.items})


@pytest.mark.parametrize("sig, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_run_in_one_line_and_the_rerun_repeats_no_stored_trial(tmp_path, keyed, sig, status):
    db = tmp_path / "s.db"

    def slow(body):
        action = keyed(body)
        action.delay_s = 0.1
        return action

    with ScriptedServer(slow) as srv:
        args = ["run", "-m", "openai/slow", "-i", "open-steu", "--api-base", srv.url, "--concurrency", "2", "--yes"]
        returncode, out, err = signalled([*args, "--db", str(db)], db, tmp_path, sig)
        assert returncode == status, err
        assert "Traceback" not in err and out == ""  # the table is for a finished run
        last = err.strip().splitlines()[-1]
        found = re.fullmatch(
            r"stopped by (\w+): (\d+) of 45 trials stored \(run ([0-9a-f]{12})\); resume with: (.+)", last
        )
        assert found, last
        assert found[1] == sig.name and found[4] == " ".join(["eitest", *args, "--db", str(db)])
        n = int(found[2])
        with Store(db) as store:
            before = store.trials()
        assert 6 <= n < 45 and len(before) == n and (before["status"] == "answered").all()
        assert srv.requests == n  # the calls in flight finished within the grace period and were stored
        again = run_study(Study(models=["openai/slow"], instruments=["open-steu"], api_base=srv.url), db)
        assert again.run_id == found[3] and again.skipped == n and again.called == 45 - n
        assert srv.requests == 45 and set(srv.calls.values()) == {1}  # no stored trial was called twice
    assert not [key for key in map(lambda p: prompt_key({"messages": p}), before["prompt"]) if srv.calls[key] != 1]


def test_calls_in_flight_finish_after_a_first_signal(tmp_path, keyed):
    def slowish(body):
        action = keyed(body)
        action.delay_s = 0.3
        return action

    seen: list[str] = []

    def on_trial(trial):
        seen.append(trial.item_id)
        if len(seen) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # the run routes it: no KeyboardInterrupt here

    notes: list[tuple[str, int]] = []
    with ScriptedServer(slowish) as srv:
        out = run_study(
            Study(models=["openai/x"], instruments=["open-steu"], api_base=srv.url, concurrency=4),
            tmp_path / "g.db",
            on_trial=on_trial,
            on_note=lambda note: notes.append((note, len(seen))),
        )
        requests = srv.requests
    ((note, stored_then),) = notes
    in_flight = int(
        re.fullmatch(
            r"SIGINT: no new calls; waiting up to 5 s for the (\d) in flight "
            r"\(press Ctrl-C again to abandon them\)",
            note,
        )[1]
    )
    assert out.signal == "SIGINT" and out.stopped == "by SIGINT" and 1 <= in_flight <= 4
    # those in flight when the signal came finished and were stored; none began after it
    assert out.called == out.stored == requests == stored_then + in_flight < 45


def test_a_second_signal_abandons_the_calls_in_flight(tmp_path, keyed):
    first = catalogue()["open-steu"].items[0].stem.strip()

    def script(body):
        action = keyed(body)
        action.delay_s = 0.0 if first in "\n".join(m["content"] for m in body["messages"]) else 30.0
        return action

    def on_trial(trial):
        os.kill(os.getpid(), signal.SIGINT)

    litellm_module()  # its first import is no part of what is timed
    start = time.perf_counter()
    with ScriptedServer(script) as srv:
        out = run_study(
            Study(models=["openai/x"], instruments=["open-steu"], api_base=srv.url, concurrency=4),
            tmp_path / "a.db",
            on_trial=on_trial,
            on_note=lambda note: os.kill(os.getpid(), signal.SIGINT),
        )
        elapsed = time.perf_counter() - start
    assert out.signal == "SIGINT" and out.called == 1 and out.stored == 1
    assert elapsed < 15  # the three 30-second calls were abandoned, not waited for (with a loaded machine's margin)
    with Store(tmp_path / "a.db") as store:
        assert list(store.trials()["item_id"]) == [catalogue()["open-steu"].items[0].id]


def test_a_closed_stdout_loses_no_trial(tmp_path, keyed):
    db = tmp_path / "p.db"
    with ScriptedServer(keyed) as srv:
        # As `eitest run ... 2>&1 | head -1`: the reader takes the first line and goes.
        proc = subprocess.Popen(
            [sys.executable, "-m", "eitest", "run", "-m", "openai/x", "-i", "open-steu", "--reps", "3", "--yes"]
            + ["--api-base", srv.url, "--db", str(db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        first = proc.stdout.readline()
        proc.stdout.close()
        assert proc.wait(timeout=120) == 0
        assert srv.requests == 135  # every trial called once, over HTTP, after the reader left
    assert first.startswith(b"run ") and b"135 trials" in first
    with Store(db) as store:
        df = store.trials()
    assert len(df) == 135 and (df["score"] == 1.0).all()
