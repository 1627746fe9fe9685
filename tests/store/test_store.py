from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from eitest.store import MIGRATIONS, RunRecord, Store, StoreError, open_results


def record(run_id: str = "r1") -> RunRecord:
    return RunRecord(
        run_id, {"models": ["m"], "instruments": ["i"]}, {"i": "h"}, "0", None, None, None, "cmd", "t", None, None
    )


def trial(**over) -> dict:
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
    return base


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
