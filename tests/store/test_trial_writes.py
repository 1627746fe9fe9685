"""The store's per-trial write: text repaired only where UTF-8 cannot hold it, the statement built once, groups committed together."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_store import record, trial

from eitest.store import Store, StoreError
from eitest.store.trial_writes import GroupCommit, _statements, trial_row, upsert_sql


@pytest.mark.parametrize(
    "fields, repaired",
    [
        ({"raw_reply": "B"}, None),  # ASCII: taken as it is
        ({"raw_reply": "B, weil Ärger 😀 nützt"}, None),  # non-ASCII but valid: unchanged, not noted
        ({"prompt": [{"role": "user", "content": "Situation: café"}]}, None),
        ({"prompt": [{"role": "user", "content": "item \udc00"}]}, "prompt"),  # deep inside a JSON column
        ({"shown_order": ["a", "b\ud800"], "finish_reason": "stop\udfff"}, "shown_order,finish_reason"),
        # the two halves of a pair in neighbouring columns: joined, still no text UTF-8 can hold
        ({"raw_reply": "B \ud83d", "model_returned": "\ude00 m"}, "raw_reply,model_returned"),
    ],
)
def test_a_row_is_repaired_exactly_when_its_text_needs_it(fields, repaired):
    t = trial(**fields)
    row = trial_row(t)
    assert row == t.storable().to_row()  # the same row as the full repair, whichever path made it
    assert row["text_repaired"] == repaired
    assert all(not isinstance(v, str) or v.encode("utf-8") for v in row.values())


def test_rows_round_trip_and_a_retry_replaces_its_row(tmp_path: Path):
    with Store(tmp_path / "s.db") as s:
        s.ensure_run(record())
        s.save_trial(trial(status="error", raw_reply=None, score=None, error="Timeout"))
        s.save_trial(trial(item_id="y", raw_reply="C \ud800"))
        s.save_trial(trial())  # the retried trial of key x: replaces the failed row
        back = {t.item_id: t for t in s.trial_records("r1")}
    assert back["x"] == trial() and back["x"].error is None
    assert back["y"].raw_reply == "C \\ud800" and back["y"].text_repaired == "raw_reply"
    assert list(back) == ["x", "y"]  # one row per key


def test_the_statement_is_built_once_per_set_of_columns():
    columns = tuple(trial_row(trial()))
    sql = upsert_sql(columns)
    assert upsert_sql(tuple(columns)) is sql
    assert sql.startswith(f"INSERT INTO trials ({','.join(columns)}) VALUES (" + ",".join("?" * len(columns)))
    assert "ON CONFLICT (run_id,model,instrument,item_id,repetition) DO UPDATE SET" in sql
    assert "run_id=excluded.run_id" not in sql and "raw_reply=excluded.raw_reply" in sql


def test_a_group_is_seen_by_readers_only_once_committed(tmp_path: Path):
    path = tmp_path / "g.db"
    with Store(path) as s:
        s.ensure_run(record())
        writes = GroupCommit(s)
        assert not writes.pending
        writes.save(trial(item_id="a"))
        writes.save(trial(item_id="b"))
        reader = sqlite3.connect(path)
        assert writes.pending and reader.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 0
        writes.commit()
        assert not writes.pending and reader.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 2
        writes.commit()  # nothing pending: nothing to do
        s.save_trial(trial(item_id="c"))  # the store's own save still commits at once
        assert reader.execute("SELECT COUNT(*) FROM trials").fetchone()[0] == 3
        reader.close()


def test_a_commit_on_a_full_disk_is_a_clear_error_and_keeps_what_was_committed(tmp_path: Path):
    path = tmp_path / "full.db"
    with Store(path) as s:
        s.ensure_run(record())
        writes = GroupCommit(s)
        writes.save(trial(item_id="kept"))
        writes.commit()
        pages = s.conn.execute("PRAGMA page_count").fetchone()[0]
        s.conn.execute(f"PRAGMA max_page_count = {pages + 1}")
        with pytest.raises(StoreError, match="is full .* every trial committed before this is kept"):
            for i in range(50):
                writes.save(trial(item_id=f"i{i}", raw_reply="x" * 3000))
            writes.commit()
        assert not writes.pending  # the failed group is not left open
    with Store(path, create=False) as s:
        assert [t.item_id for t in s.trial_records("r1")] == ["kept"]


def test_a_group_is_one_statement_between_begin_and_commit(tmp_path: Path):
    # Each statement lets go of the GIL; one per trial kept a busy event loop waiting on litellm's threads.
    with Store(tmp_path / "one.db") as s:
        s.ensure_run(record())
        writes = GroupCommit(s)
        for i in range(5):
            writes.save(trial(item_id=f"i{i}", raw_reply=f"reply {i}"))
        seen: list[str] = []
        s.conn.set_trace_callback(seen.append)
        writes.commit()
        s.conn.set_trace_callback(None)
        assert [q.split()[0] for q in seen] == ["BEGIN", "INSERT", "COMMIT"]
        assert seen[1].count("),(") == 4  # five rows in the one statement
        stored = {t.item_id: t.raw_reply for t in s.trial_records("r1")}
        assert stored == {f"i{i}": f"reply {i}" for i in range(5)}


def test_a_key_saved_twice_in_a_group_ends_as_its_last_row_and_the_rows_keep_their_order(tmp_path: Path):
    with Store(tmp_path / "twice.db") as s:
        s.ensure_run(record())
        writes = GroupCommit(s)
        writes.save(trial(item_id="a", raw_reply="first"))
        writes.save(trial(item_id="b", raw_reply="other"))
        writes.save(trial(item_id="a", raw_reply="second"))
        writes.commit()
        assert [(t.item_id, t.raw_reply) for t in s.trial_records("r1")] == [("a", "second"), ("b", "other")]


def test_a_group_past_sqlites_limit_on_bound_values_is_split_into_statements_in_order():
    rows = [{"x": i, "y": -i} for i in range(5)] + [{"x": 9}]
    assert _statements(rows, max_values=4) == [
        (("x", "y"), [0, 0, 1, -1]),
        (("x", "y"), [2, -2, 3, -3]),
        (("x", "y"), [4, -4]),
        (("x",), [9]),  # other columns: a statement of their own
    ]
    assert upsert_sql(("run_id", "raw_reply"), 3).count("(?,?)") == 3
