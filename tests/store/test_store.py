from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from eitest.instruments import get
from eitest.store import MIGRATIONS, RunRecord, Store, StoreError, open_results
from eitest.store.trial import COLUMNS, FIELDS, Trial


def record(run_id: str = "r1") -> RunRecord:
    return RunRecord(
        run_id, {"models": ["m"], "instruments": ["i"]}, {"i": "h"}, "0", None, None, None, "cmd", "t", None, None
    )


def trial(**over) -> Trial:
    base = dict(
        run_id="r1",
        model="m",
        instrument="i",
        item_id="x",
        repetition=0,
        protocol="standard",
        protocol_version="1",
        option_order="original",
        shown_order=["a", "b"],
        keyed_position=0,
        prompt=[{"role": "user", "content": "hi"}],
        raw_reply="A",
        status="answered",
        chosen_position=0,
        chosen_option="a",
        score=1.0,
    )
    base.update(over)
    return Trial(**base)


def test_schema_version_and_wal(tmp_path: Path):
    with Store(tmp_path / "s.db") as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_failed_trial_is_replaced_and_finished_keys(tmp_path: Path):
    with Store(tmp_path / "s.db") as s:
        assert s.ensure_run(record()) is False
        assert s.ensure_run(record()) is True
        s.save_trial(
            trial(status="error", raw_reply=None, score=None, chosen_option=None, chosen_position=None, error="boom")
        )
        s.save_trial(trial(item_id="y"))
        assert s.finished_keys("r1") == {("m", "i", "y", 0)}
        s.save_trial(trial())  # the retry replaces the failed row
        df = s.trials("r1")
        assert len(df) == 2 and set(df["status"]) == {"answered"}
        assert df.loc[0, "shown_order"] == ["a", "b"]
    res = open_results(tmp_path / "s.db")
    assert len(res.trials) == 2 and list(res.runs["id"]) == ["r1"]


def test_foreign_and_missing_databases(tmp_path: Path):
    with pytest.raises(StoreError, match="no database"):
        Store(tmp_path / "none.db", create=False)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not an eitest store"):
        Store(other)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError, match="not an SQLite database"):
        Store(junk)


# The trials table as eitest 0.1 created it (schema 1, written out by hand then). The
# schema derived from Trial must give existing stores exactly these columns.
SCHEMA_1_TRIALS = """
CREATE TABLE trials (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    model TEXT NOT NULL, instrument TEXT NOT NULL, item_id TEXT NOT NULL, repetition INTEGER NOT NULL,
    protocol TEXT NOT NULL, protocol_version TEXT NOT NULL, option_order TEXT NOT NULL, shown_order TEXT NOT NULL,
    keyed_position INTEGER, prompt TEXT NOT NULL, raw_reply TEXT, model_returned TEXT, finish_reason TEXT,
    status TEXT NOT NULL, parse_rule TEXT, chosen_position INTEGER, chosen_option TEXT, score REAL,
    prompt_tokens INTEGER, completion_tokens INTEGER, cost REAL, latency_s REAL, attempts INTEGER, error TEXT,
    started_at TEXT, finished_at TEXT,
    UNIQUE (run_id, model, instrument, item_id, repetition)
);
"""


def _columns(conn: sqlite3.Connection) -> list[tuple]:
    return [(r[1], r[2], r[3], r[5]) for r in conn.execute("PRAGMA table_info(trials)")]


def test_schema_derived_from_the_trial_record_matches_schema_1(tmp_path: Path):
    old = sqlite3.connect(tmp_path / "old.db")
    old.executescript(SCHEMA_1_TRIALS)
    schema_1 = _columns(old)
    with Store(tmp_path / "new.db") as s:
        # a new store has schema 1's columns, in its order, then those later migrations added
        assert _columns(s.conn)[: len(schema_1)] == schema_1
        assert _columns(s.conn)[len(schema_1) :] == [
            ("text_repaired", "TEXT", 0, 0),  # migration 3
            ("reasoning", "TEXT", 0, 0),  # migration 4
            ("reasoning_tokens", "INTEGER", 0, 0),
            ("option_probs", "TEXT", 0, 0),  # migration 5
            ("coverage", "REAL", 0, 0),
            ("token_logprobs", "TEXT", 0, 0),
        ]
        unique = [r for r in s.conn.execute("PRAGMA index_list(trials)") if r[2]]
        cols = [c[2] for c in s.conn.execute(f"PRAGMA index_info({unique[0][1]!r})")]
        assert cols == ["run_id", "model", "instrument", "item_id", "repetition"]
    assert [c[0] for c in schema_1][1:] == [f.name for f in FIELDS if f.metadata["since"] == 1]
    assert list(COLUMNS) == [c[0] for c in schema_1][1:] + [
        "text_repaired", "reasoning", "reasoning_tokens", "option_probs", "coverage", "token_logprobs",
    ]  # fmt: skip


def test_trial_round_trips_through_the_store(tmp_path: Path):
    t = trial(raw_reply="B — «ü»", cost=0.25, attempts=2)
    with Store(tmp_path / "s.db") as s:
        s.ensure_run(record())
        s.save_trial(t)
        assert s.trial_records("r1") == [t]


def test_a_store_of_schema_1_opens_and_gains_the_snapshot_table(tmp_path: Path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.close()
    with Store(path) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        inst = get("open-stem")
        assert s.snapshot(inst.content_hash) is None
        s.save_instruments([inst, inst])
        back = s.snapshot(inst.content_hash)
        assert back == inst and back.content_hash == inst.content_hash


def test_an_altered_snapshot_is_refused(tmp_path: Path):
    inst = get("open-steu")
    with Store(tmp_path / "s.db") as s:
        s.save_instruments([inst])
        s.conn.execute('UPDATE instrument_snapshots SET content = replace(content, \'"key": "a"\', \'"key": "b"\')')
        with pytest.raises(StoreError, match="no longer matches"):
            s.snapshot(inst.content_hash)
