"""`eitest run` and the readers on stores as users have them: broken unicode, two processes, a new port,
an old store, credentials in the URL, read-only, damaged and full stores."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli
from old_stores import schema_1_copy
from openai_server import Action, ScriptedServer, keyed_script

from eitest.administer.plan import make_plan
from eitest.administer.runner import run_study
from eitest.administer.study import Study, run_id_of
from eitest.instruments import catalogue
from eitest.store import Store

SECRET = "sk-url-DO-NOT-STORE-77aa31"
NS_USER = ["unshare", "--map-user=1000", "--map-group=1000"]  # root in a user namespace, without root's rights


@pytest.fixture(scope="module")
def steu_keyed():
    inst = catalogue()["open-steu"]
    return keyed_script({it.stem.strip(): it.option(it.best_option).text for it in inst.items})


@pytest.fixture
def oracle_store(tmp_path: Path) -> Path:
    """A finished offline run of open-stem (32 trials), in a folder of its own."""
    db = tmp_path / "store" / "s.db"
    run_study(Study(models=["eitest/oracle"], instruments=["open-stem"]), db)
    return db


def eitest(*args: str) -> list[str]:
    return [sys.executable, "-m", "eitest", *args]


def run_args(db: Path, url: str, *extra: str) -> list[str]:
    return ["run", "-m", "openai/store-test", "-i", "open-steu", "--api-base", url, "--yes", "--db", str(db), *extra]


def as_unprivileged(args: list[str], **kw) -> subprocess.CompletedProcess:
    """Run ``args`` as a user without root's power to write read-only files (a user namespace when root)."""
    if os.geteuid() == 0:
        if shutil.which("unshare") is None or subprocess.run([*NS_USER, "true"]).returncode != 0:
            pytest.skip("root without user namespaces: a read-only file cannot be made here")
        args = [*NS_USER, *args]
    return subprocess.run(args, capture_output=True, text=True, timeout=300, **kw)


def stored(db: Path):
    with Store(db, create=False) as s:
        return s.trials()


def count_trials(db: Path) -> int:
    """Trials stored so far by a run that may be creating the store right now."""
    try:
        return sqlite3.connect(db).execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    except sqlite3.Error:
        return 0


def test_a_reply_in_broken_unicode_is_stored_scored_reported_and_exported(tmp_path: Path, steu_keyed):
    db = tmp_path / "u.db"
    # the server's JSON carries "\ud800" escaped, which the client decodes to a lone surrogate
    with ScriptedServer(lambda body: Action(reply=steu_keyed(body).reply + " \ud800")) as srv:
        res = run_cli(*run_args(db, srv.url), env={"OPENAI_API_KEY": "sk-test"})
        again = run_study(Study(models=["openai/store-test"], instruments=["open-steu"], api_base=srv.url), db)
        assert srv.requests == 45  # stored the first time: the resume calls nothing
    assert res.returncode == 0, res.stderr
    assert (again.skipped, again.called) == (45, 0)
    df = stored(db)
    assert len(df) == 45 and (df["status"] == "answered").all() and (df["score"] == 1.0).all()
    assert df["raw_reply"].str.endswith(" \\ud800").all() and (df["text_repaired"] == "raw_reply").all()
    report = run_cli("report", "--db", str(db), "--out", str(tmp_path / "r.html"))
    assert report.returncode == 0, report.stderr
    export = run_cli("export", "--db", str(db), "--format", "csv", "--out", str(tmp_path / "ex"))
    assert export.returncode == 0, export.stderr
    trials_csv = (tmp_path / "ex" / "trials.csv").read_text(encoding="utf-8")
    assert trials_csv.count("\\ud800") == 45 and trials_csv.count(",raw_reply") >= 45
    assert "| `text_repaired` | Text changed to be storable |" in (tmp_path / "ex" / "codebook.md").read_text()


def test_a_second_process_on_the_same_study_is_refused_and_a_killed_one_leaves_no_lock(tmp_path: Path, steu_keyed):
    db = tmp_path / "two.db"
    env = {**os.environ, "OPENAI_API_KEY": "sk-test"}
    answered, release = [], threading.Event()

    def script(body):
        answered.append(1)
        if len(answered) > 3:  # the first process stays in the middle of its run until released
            release.wait(120)
        return steu_keyed(body)

    with ScriptedServer(script) as srv:
        args = run_args(db, srv.url, "--concurrency", "2")
        first = subprocess.Popen(eitest(*args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 120
            while time.time() < deadline and count_trials(db) < 3:
                time.sleep(0.1)
            second = run_cli(*args, env={"OPENAI_API_KEY": "sk-test"})
            assert second.returncode == 2, second.stderr
            assert (
                f"Error: another eitest process (pid {first.pid}) is running this study on {db}; wait for it or "
                "stop it\n" in second.stderr
            )
            assert "call(s) made" not in second.stderr and "Traceback" not in second.stderr
            assert srv.requests == 5  # the second process called nothing: 3 answered, 2 held in flight
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
            release.set()
        assert count_trials(db) == 3
        third = run_cli(*args, env={"OPENAI_API_KEY": "sk-test"})
        assert third.returncode == 0, third.stderr
        assert "3 already done, 42 to call" in third.stderr
        assert srv.requests == 5 + 42  # each trial called once, but the 2 the killed process had in flight
    assert len(stored(db)) == 45 and (stored(db)["score"] == 1.0).all()


def test_a_server_on_a_new_port_resumes_the_run_with_a_note(tmp_path: Path, steu_keyed):
    db = tmp_path / "port.db"
    failing = {it.stem.strip() for it in catalogue()["open-steu"].items[:3]}

    def first_script(body):
        prompt = "\n".join(m["content"] for m in body["messages"])
        return Action(status=500) if any(s in prompt for s in failing) else steu_keyed(body)

    with ScriptedServer(first_script) as first:
        study = Study(models=["openai/store-test"], instruments=["open-steu"], api_base=first.url, max_retries=0)
        assert run_study(study, db).failed == 3
        first_url = first.url
    with ScriptedServer(steu_keyed) as second:
        again = run_cli(*run_args(db, second.url), env={"OPENAI_API_KEY": "sk-test"})
        assert second.requests == 3
    assert again.returncode == 0, again.stderr
    assert f"note: this run was made against {first_url}; now calling {second.url}\n" in again.stderr
    assert "42 already done, 3 to call" in again.stderr
    runs = json.loads(run_cli("runs", "list", "--db", str(db), "--json").stdout)
    assert len(runs) == 1 and runs[0]["trials"] == 45 and runs[0]["failed"] == 0


def test_a_run_in_a_store_made_the_old_way_resumes_by_its_old_id(tmp_path: Path, oracle_store: Path):
    study = Study(models=["eitest/oracle"], instruments=["open-stem"])
    hashes = {"open-stem": catalogue()["open-stem"].content_hash}
    new_id, legacy_id = run_id_of(study.identity(hashes)), run_id_of(study.legacy_identity(hashes))
    assert new_id != legacy_id and "api_base" not in study.identity(hashes)
    assert make_plan(study, estimate=False).run_id == new_id  # the plan names runs as run_id_of does
    with_base = study.model_copy(update={"api_base": "http://127.0.0.1:9/v1"})
    assert run_id_of(with_base.identity(hashes)) == new_id != run_id_of(with_base.legacy_identity(hashes))
    # eitest 0.1 named the run by an identity holding api_base, in a store of schema 1
    old = schema_1_copy(oracle_store, tmp_path / "old.db")
    conn = sqlite3.connect(old)
    config = {**study.legacy_identity(hashes), "concurrency": 8, "max_cost": None}
    conn.execute("UPDATE runs SET id = ?, config = ?", (legacy_id, json.dumps(config)))
    conn.execute("UPDATE trials SET run_id = ?", (legacy_id,))
    conn.execute("DELETE FROM trials WHERE id IN (SELECT id FROM trials ORDER BY id LIMIT 5)")
    conn.commit()
    conn.close()
    notes: list[str] = []
    outcome = run_study(study, old, on_note=notes.append)
    assert (outcome.run_id, outcome.skipped, outcome.called, outcome.failed) == (legacy_id, 27, 5, 0)
    assert notes == [] and outcome.notes == []  # the same (no) base URL: nothing to say
    with Store(old) as s:
        assert [r.id for r in s.runs()] == [legacy_id] and len(s.trial_records(legacy_id)) == 32


def test_credentials_in_the_base_url_are_not_stored_or_shown(tmp_path: Path):
    db = tmp_path / "cred.db"
    with ScriptedServer(lambda body: Action(reply="A")) as srv:
        url = srv.url.replace("http://", f"http://me:{SECRET}@")
        res = run_cli(*run_args(db, url, "--retries", "0"), env={"OPENAI_API_KEY": "sk-test"})
    assert res.returncode == 0, res.stderr
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("cred.db*"))
    assert SECRET.encode() not in blob and b"DO-NOT-STORE" not in blob
    shown = run_cli("runs", "show", "", "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    assert f'"api_base": "http://***@127.0.0.1:{srv.port}/v1"' in shown.stdout
    assert f"--api-base http://***@127.0.0.1:{srv.port}/v1 " in shown.stdout and SECRET not in shown.stdout


def test_credentials_an_older_store_holds_are_not_shown(tmp_path: Path, oracle_store: Path):
    conn = sqlite3.connect(oracle_store)
    (config,) = conn.execute("SELECT config FROM runs").fetchone()
    leaky = f"http://me:{SECRET}@host:8000/v1?api-key={SECRET}"
    conn.execute(
        "UPDATE runs SET config = ?, command = ?",
        (json.dumps({**json.loads(config), "api_base": leaky}), f"eitest run --api-base {leaky} -m x"),
    )
    conn.commit()
    conn.close()
    shown = run_cli("runs", "show", "", "--db", str(oracle_store))
    assert shown.returncode == 0, shown.stderr
    assert SECRET not in shown.stdout
    assert "command: eitest run --api-base http://***@host:8000/v1?api-key=*** -m x\n" in shown.stdout
    assert '"api_base": "http://***@host:8000/v1?api-key=***"' in shown.stdout


@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_a_read_only_store_is_read_but_never_run_into(tmp_path: Path, oracle_store: Path, read_only: str):
    target = oracle_store if read_only == "file" else oracle_store.parent
    before = oracle_store.read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    target.chmod(stat.S_IREAD | (stat.S_IEXEC if read_only == "folder" else 0))
    try:
        run = as_unprivileged(
            eitest("run", "-m", "eitest/oracle", "-i", "open-stem", "--yes", "--db", str(oracle_store))
        )
        reads = {
            "runs": as_unprivileged(eitest("runs", "list", "--db", str(oracle_store), "--json")),
            "analyze": as_unprivileged(eitest("analyze", "--db", str(oracle_store))),
            "report": as_unprivileged(eitest("report", "--db", str(oracle_store), "--out", str(out / "r.html"))),
            "export": as_unprivileged(
                eitest("export", "--db", str(oracle_store), "--format", "csv", "--out", str(out / "x"))
            ),
        }
    finally:
        target.chmod(0o755 if read_only == "folder" else 0o644)
    why = (
        "you may not write the file"
        if read_only == "file"
        else (f"its folder {oracle_store.parent} is read-only, and SQLite writes its journal beside it")
    )
    assert run.returncode == 2 and run.stderr == (
        f"Error: the store {oracle_store} is read-only: {why}. A run writes to it: make it writable (chmod u+w), "
        "or copy it to a folder you can write and give the copy as --db. Reading commands (analyze, report, "
        "export, runs) work on it as it is\n"
    )
    for name, res in reads.items():
        assert res.returncode == 0, (name, res.stderr)
    assert json.loads(reads["runs"].stdout)[0]["trials"] == 32
    assert (out / "r.html").stat().st_size > 0 and len(pd.read_csv(out / "x" / "trials.csv")) == 32
    assert oracle_store.read_bytes() == before


def test_a_store_in_a_folder_that_cannot_be_written(tmp_path: Path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        here = as_unprivileged(
            eitest("run", "-m", "eitest/oracle", "-i", "open-stem", "--yes", "--db", str(locked / "s.db"))
        )
        below = as_unprivileged(
            eitest("run", "-m", "eitest/oracle", "-i", "open-stem", "--yes", "--db", str(locked / "a" / "s.db"))
        )
    finally:
        locked.chmod(0o755)
    assert here.returncode == 2 and here.stderr == (
        f"Error: cannot create the store {locked / 's.db'}: the folder {locked} is not writable; give a --db you can write\n"
    )
    assert below.returncode == 2 and below.stderr == (
        f"Error: cannot create the folder {locked / 'a'} for the store {locked / 'a' / 's.db'}: Permission denied; "
        "give a --db in a folder you can write\n"
    )
    assert list(locked.iterdir()) == []


def test_a_read_only_store_of_an_older_schema_is_migrated_in_memory_only(tmp_path: Path, oracle_store: Path):
    folder = tmp_path / "old"
    folder.mkdir()
    old = schema_1_copy(oracle_store, folder / "old.db")
    before = old.read_bytes()
    old.chmod(0o444)
    folder.chmod(0o555)
    try:
        res = as_unprivileged(eitest("analyze", "--db", str(old)))
    finally:
        folder.chmod(0o755)
    assert res.returncode == 0, res.stderr
    assert "eitest/oracle" in res.stdout
    assert old.read_bytes() == before and sorted(p.name for p in folder.iterdir()) == ["old.db"]


def test_a_damaged_store_gets_no_trials_and_readers_say_so(tmp_path: Path, oracle_store: Path):
    cut = tmp_path / "cut.db"
    cut.write_bytes(oracle_store.read_bytes()[: oracle_store.stat().st_size // 2])
    before = cut.read_bytes()
    run = run_cli("run", "-m", "eitest/oracle", "-i", "open-stem", "--yes", "--db", str(cut))
    assert run.returncode == 2 and run.stderr.startswith(f"Error: the store {cut} is damaged")
    assert f"'sqlite3 {cut} .recover | sqlite3 recovered.db'" in run.stderr
    for args in (
        ["runs", "list"],
        ["analyze"],
        ["report", "--out", str(tmp_path / "r.html")],
        ["export", "--format", "csv", "--out", str(tmp_path / "x")],
    ):
        res = run_cli(*args, "--db", str(cut))
        assert res.returncode == 2 and "Traceback" not in res.stderr, (args, res.stderr)
        assert res.stderr.startswith(f"Error: the store {cut} is damaged or cannot be read"), (args, res.stderr)
    assert cut.read_bytes() == before


def test_a_folder_named_as_the_store_in_a_study_file(tmp_path: Path):
    study = tmp_path / "study.yaml"
    study.write_text(f"models: [eitest/oracle]\ninstruments: [open-stem]\ndb: {tmp_path}\n")
    res = run_cli("run", str(study), "--yes")
    assert res.returncode == 2 and res.stderr == (
        f"Error: {tmp_path} is a folder, not a store file; give a file in it as --db, e.g. {tmp_path / 'eitest.db'}\n"
    )


FULL_DISK = """
set -u
mount -t tmpfs -o size=480k tmpfs "$DISK" || exit 99
"$PY" -m eitest "$@" --db "$DISK/s.db" 2> "$OUT/first.err"; echo $? > "$OUT/first.rc"
mkdir "$OUT/full" && cp "$DISK"/s.db* "$OUT/full/"
mount -o remount,size=64m "$DISK"
"$PY" -m eitest "$@" --db "$DISK/s.db" 2> "$OUT/second.err"; echo $? > "$OUT/second.rc"
cp "$DISK"/s.db "$OUT/"
"""


def test_a_full_disk_stops_the_run_with_a_clear_error_and_the_run_resumes(tmp_path: Path, steu_keyed):
    disk, out = tmp_path / "disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    if shutil.which("unshare") is None:
        pytest.skip("no unshare: no small disk to fill")
    env = {**os.environ, "DISK": str(disk), "OUT": str(out), "PY": sys.executable, "OPENAI_API_KEY": "sk-test"}
    padding = "x" * 16000  # each stored trial takes a few pages
    with ScriptedServer(lambda body: Action(reply=steu_keyed(body).reply + "\n" + padding)) as srv:
        args = run_args(Path("unused"), srv.url, "--concurrency", "1")[:-2]  # --db comes from the script
        res = subprocess.run(
            ["unshare", "-rm", "sh", "-c", FULL_DISK, "sh", *args], env=env, capture_output=True, text=True
        )
        if res.returncode == 99:
            pytest.skip(f"cannot mount a small disk here: {res.stderr}")
        assert res.returncode == 0, res.stderr
    first_err = (out / "first.err").read_text()
    assert (out / "first.rc").read_text() == "2\n", first_err
    assert (
        f"Error: the disk holding the store {disk / 's.db'} is full (SQLite: database or disk is full); every trial "
        "committed before this is kept. Free some space (or give a --db on another disk) and run the same command "
        "again: it resumes where it stopped\n"
    ) in first_err
    kept = stored(out / "full" / "s.db")
    assert 0 < len(kept) < 45 and (kept["status"] == "answered").all()
    second_err = (out / "second.err").read_text()
    assert (out / "second.rc").read_text() == "0\n", second_err
    assert f"{len(kept)} already done, {45 - len(kept)} to call" in second_err
    assert len(stored(out / "s.db")) == 45
