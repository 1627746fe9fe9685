"""Batch mode killed between two steps with the provider: the re-run finds what the provider has, nothing paid twice.

Each kill is a step raising KeyboardInterrupt at a scripted point, as a process killed
there leaves the store: the records committed before that step, nothing after.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import test_batch
from batch_server import BatchServer
from openai_server import keyed_script
from test_batch import INSTRUMENT, N, records

from eitest.administer.runner import RunOutcome, run_study
from eitest.administer.study import Study
from eitest.client import batches as door
from eitest.store import MIGRATIONS, Store
from eitest.store import batches as kept

# test_batch's fixtures: the instrument file of 12 items (autouse), and the key in the environment.
steu, steu_file, key_env = test_batch.steu, test_batch.steu_file, test_batch.key_env

PRICED = "openai/gpt-4o"  # a model the price list prices, so that a cost paid twice would show


def keyed(inst):
    return keyed_script({it.stem.strip(): it.option(it.best_option).text for it in inst.items})


def study_for(srv: BatchServer, key: str, model: str = PRICED, **more: Any) -> Study:
    fields = {"batch": True, "batch_poll_s": 0.01, **more}
    return Study(models=[model], instruments=[INSTRUMENT], api_base=srv.url, api_key_env=key, **fields)


def killed_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
    """``owner.name`` raises KeyboardInterrupt the first time it is called, before it does anything."""
    calls = []

    def dies(*args: Any, **kwargs: Any) -> Any:
        if not calls:
            calls.append(args)
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    real: Callable[..., Any] = getattr(owner, name)
    monkeypatch.setattr(owner, name, dies)


def stored_once(db: Path) -> int:
    """The trials of the store, after checking that none is stored twice."""
    conn = sqlite3.connect(db)
    keys = "model, instrument, item_id, repetition"
    [(rows,)] = conn.execute("SELECT COUNT(*) FROM trials")
    [(distinct,)] = conn.execute(f"SELECT COUNT(*) FROM (SELECT DISTINCT {keys} FROM trials)")
    conn.close()
    assert rows == distinct
    return int(rows)


def our_batches(srv: BatchServer, file_id: str) -> list[dict[str, Any]]:
    return [b for b in srv.batches.values() if b["input_file_id"] == file_id]


def rerun(study: Study, db: Path) -> tuple[RunOutcome, list[str]]:
    notes: list[str] = []
    return run_study(study, db, on_batch=notes.append), notes


def test_killed_once_the_provider_accepted_the_batch_the_rerun_finds_it_and_pays_once(
    tmp_path: Path, steu, key_env: str, monkeypatch: pytest.MonkeyPatch
):
    db = tmp_path / "b.db"
    with BatchServer(keyed(steu)) as srv:
        study = study_for(srv, key_env)
        killed_once(monkeypatch, kept, "mark_submitted")  # the batch id never reaches the store
        with pytest.raises(KeyboardInterrupt):
            run_study(study, db)
        assert (srv.uploads, srv.creations) == (1, 1)
        with Store(db) as store:
            run_id = store.runs()[0].id
            [intent] = kept.run_intents(store, run_id)
            assert (intent.status, intent.input_file_id, intent.part) == ("uploaded", "file-1", f"{PRICED}#1")
            assert kept.run_batches(store, run_id) == [] and store.trials().empty
        # The batch names its run and part, as the provider shows it.
        assert srv.batches["batch_1"]["metadata"] == {"eitest_run": run_id, "eitest_part": f"{PRICED}#1"}

        # Newer batches of the same account, one of them tagged alike (the same study run into another store):
        # the search pages past them (2 a page) to the one made of this run's file.
        srv.files["file-other"] = b""
        for _ in range(5):
            srv.create(
                {"input_file_id": "file-other", "endpoint": "/v1/chat/completions", "metadata": {**intent_tags(run_id)}}
            )
        monkeypatch.setattr(door, "LIST_PAGE", 2)
        out, notes = rerun(study, db)
        assert srv.listings == 3 and srv.uploads == 1 and len(our_batches(srv, "file-1")) == 1
        assert srv.creations == 6  # the 5 others and this run's one
        assert any("batch batch_1: found at the provider, made of input file file-1" in n for n in notes)
    trials = records(db).values()
    assert stored_once(db) == N == len(trials) and out.called == N and out.failed == 0
    assert out.cost == pytest.approx(sum(t.cost for t in trials), rel=1e-12) and out.cost > 0
    # The trials started when the provider accepted the batch, as its listing says, not when the re-run found it.
    accepted = datetime.fromtimestamp(srv.batches["batch_1"]["created_at"], UTC).isoformat(timespec="milliseconds")
    assert {t.started_at for t in trials} == {accepted}
    with Store(db) as store:
        [record] = kept.run_batches(store, run_id)
        assert (record.id, record.input_file_id, record.collected_at is not None) == ("batch_1", "file-1", True)
        assert kept.run_intents(store, run_id) == []


def intent_tags(run_id: str) -> dict[str, str]:
    return {"eitest_run": run_id, "eitest_part": f"{PRICED}#1"}


def test_killed_after_the_upload_the_rerun_starts_the_batch_of_the_uploaded_file(
    tmp_path: Path, steu, key_env: str, monkeypatch: pytest.MonkeyPatch
):
    db = tmp_path / "b.db"
    with BatchServer(keyed(steu)) as srv:
        study = study_for(srv, key_env)
        srv.files["file-other"] = b""
        for _ in range(3):  # the account's batches of two hours before: the search stops at the first of them
            _, old = srv.create({"input_file_id": "file-other", "endpoint": "/v1/chat/completions"})
            srv.batches[old["id"]]["created_at"] -= 7200
        killed_once(monkeypatch, door, "create")  # uploaded and recorded; the batch never asked for
        with pytest.raises(KeyboardInterrupt):
            run_study(study, db)
        assert (srv.uploads, srv.creations) == (1, 3)
        monkeypatch.setattr(door, "LIST_PAGE", 1)
        out, notes = rerun(study, db)
        assert (srv.uploads, srv.creations, srv.listings) == (1, 4, 1)  # looked for, none found, made of file-1
        [batch] = our_batches(srv, "file-1")
        assert len(batch["_lines"]) == N
    assert stored_once(db) == N and out.called == N and out.failed == 0
    assert any(f"{N} trial(s) of {PRICED} submitted (input file file-1)" in n for n in notes)


@pytest.mark.parametrize(
    ("owner", "step", "uploads"),
    [(door, "upload", 1), (kept, "mark_uploaded", 2)],
    ids=["before-the-upload", "before-the-upload-was-recorded"],
)
def test_an_intent_without_a_recorded_upload_is_simply_sent(
    tmp_path: Path, steu, key_env: str, monkeypatch: pytest.MonkeyPatch, owner: Any, step: str, uploads: int
):
    db = tmp_path / "b.db"
    with BatchServer(keyed(steu)) as srv:
        study = study_for(srv, key_env)
        killed_once(monkeypatch, owner, step)
        with pytest.raises(KeyboardInterrupt):
            run_study(study, db)
        assert (srv.uploads, srv.creations) == (uploads - 1, 0)
        out, _notes = rerun(study, db)
        # No batch can have been made of a file whose id was never kept: nothing to look for, one batch sent.
        assert (srv.uploads, srv.creations, srv.listings) == (uploads, 1, 0)
    assert stored_once(db) == N and out.called == N
    with Store(db) as store:
        rows = store.conn.execute("SELECT part, id, status FROM batches ORDER BY rowid").fetchall()
        assert [tuple(r) for r in rows] == [(f"{PRICED}#1", None, "dropped"), (f"{PRICED}#2", "batch_1", "completed")]


def test_a_live_run_leaves_an_uploaded_intent_alone_and_the_batch_run_sends_it_once(
    tmp_path: Path, steu, key_env: str, monkeypatch: pytest.MonkeyPatch
):
    db = tmp_path / "b.db"
    with BatchServer(keyed(steu)) as srv:
        study = study_for(srv, key_env)
        killed_once(monkeypatch, door, "create")
        with pytest.raises(KeyboardInterrupt):
            run_study(study, db)
        notes: list[str] = []
        live = run_study(study.model_copy(update={"batch": False}), db, on_note=notes.append)
        # The provider may have made a batch of the uploaded file: calling its trials live could pay twice.
        assert live.called == 0 and srv.live_calls == 0
        assert any("not called live (that would pay for them twice)" in n for n in notes)
        out, _notes = rerun(study, db)
        assert (srv.uploads, srv.creations, out.called) == (1, 1, N)
    assert stored_once(db) == N


def test_a_schema_6_store_keeps_its_batches_and_names_their_parts(tmp_path: Path):
    path = tmp_path / "v6.db"
    conn = sqlite3.connect(path)
    conn.executescript("".join(MIGRATIONS[:6]) + "\nPRAGMA user_version = 6;")
    conn.execute(
        "INSERT INTO runs (id, created_at, config, instrument_hashes, eitest_version) VALUES ('r1', 't', '{}', '{}', '0')"
    )
    for n, model in enumerate(["openai/a", "openai/b", "openai/a"], 1):
        conn.execute(
            "INSERT INTO batches (id, run_id, model, input_file_id, custom_ids, submitted_at, status, collected_at)"
            " VALUES (?, 'r1', ?, ?, '[\"x\"]', ?, 'completed', ?)",
            (f"batch_{n}", model, f"file-{n}", f"2026-01-0{n}", None if n == 3 else "done"),
        )
    conn.commit()
    conn.close()
    with Store(path) as store:
        got = kept.run_batches(store, "r1")
        assert [(b.id, b.part, b.input_file_id, b.collected_at) for b in got] == [
            ("batch_1", "openai/a#1", "file-1", "done"),
            ("batch_2", "openai/b#2", "file-2", "done"),
            ("batch_3", "openai/a#3", "file-3", None),
        ]
        assert [b.id for b in kept.run_batches(store, "r1", open_only=True)] == ["batch_3"]
        # A new intent of the run takes the next part, after the old batches'.
        assert kept.record_intent(store, "r1", "openai/a", ["y"], "2026-01-04").part == "openai/a#4"
        assert [i.part for i in kept.run_intents(store, "r1")] == ["openai/a#4"]
