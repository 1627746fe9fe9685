"""Store.trials reads the repeated text columns packed (one JSON array per row): the frame is a plain read's."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from store.test_store import record, trial

from eitest.store import Store, trial_columns
from eitest.store.trial import JSON_COLUMNS


@pytest.fixture(autouse=True)
def _every_store_read_by_the_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    """The driver reads stores of 20,000 trials and more; these tests' small stores too."""
    monkeypatch.setattr(trial_columns, "ARROW_MIN_ROWS", 0)


ODD = ['quote " and \\ backslash', "line\nbreak\ttab\x01\x7f", "é ü 中文 🙂", "\u2028 separator", "", "null", "1"]


def _plain(s: Store, sql: str, params: tuple[str, ...] = ()) -> pd.DataFrame:
    """The independent reading: one pandas.read_sql_query, JSON columns decoded by json.loads per row."""
    import json

    df = pd.read_sql_query(sql, s.conn, params=params)
    for col in JSON_COLUMNS:
        if col in df.columns:
            df[col] = [json.loads(v) if isinstance(v, str) else None for v in df[col]]
    return df


def _store(path: Path) -> Store:
    s = Store(path)
    s.ensure_run(record("r1"))
    s.ensure_run(record("r2"))
    for i in range(40):
        odd = ODD[i % len(ODD)]
        s.save_trial(
            trial(
                run_id="r1" if i < 25 else "r2",
                model=f"m{i % 3}",
                item_id=odd if i % 4 == 0 else f"x{i % 5}",
                repetition=i,
                shown_order=["a", "b"] if i % 2 else ["b", "a"],
                model_returned=None if i < 12 else odd,  # NULL in the first chunks only
                finish_reason=None if i % 3 else "stop",
                parse_rule=odd,
                status="answered" if i % 6 else "unparseable",
                chosen_option=None if i % 6 == 0 else "a",
                chosen_position=None if i % 6 == 0 else 0,
                score=None if i % 6 == 0 else i / 7,
            )
        )
    return s


@pytest.mark.parametrize("chunk", [7, 1000])
def test_packed_reading_gives_the_plain_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int):
    monkeypatch.setattr(trial_columns, "CHUNK_ROWS", chunk)
    monkeypatch.setattr(trial_columns.read_frame, "__defaults__", ((), chunk))
    with _store(tmp_path / "s.db") as s:
        got = s.trials()
        pd.testing.assert_frame_equal(got, _plain(s, "SELECT * FROM trials ORDER BY id"))
        assert got["model_returned"].iloc[20] == ODD[20 % len(ODD)] and pd.isna(got["model_returned"].iloc[0])
        assert str(got["text_repaired"].dtype) == "object" and got["text_repaired"].isna().all()  # NULL everywhere
        columns = ["status", "shown_order", "model", "score", "parse_rule", "item_id"]
        pd.testing.assert_frame_equal(
            s.trials(columns=columns), _plain(s, f"SELECT id, {','.join(columns)} FROM trials ORDER BY id")
        )
        pd.testing.assert_frame_equal(
            s.trials("r2", columns=columns),
            _plain(s, f"SELECT id, {','.join(columns)} FROM trials WHERE run_id = ? ORDER BY id", ("r2",)),
        )
        one = s.trials(columns=["model", "score"])  # a single repeated column: read plainly
        pd.testing.assert_frame_equal(one, _plain(s, "SELECT id, model, score FROM trials ORDER BY id"))
        assert s.trials("nobody", columns=columns).empty


def test_a_value_json_cannot_hold_is_read_plainly(tmp_path: Path):
    with _store(tmp_path / "s.db") as s:
        s.conn.execute("UPDATE trials SET finish_reason = x'00ff' WHERE id = 3")  # a BLOB: json_array refuses it
        got = s.trials(columns=["model", "finish_reason", "status"])
        pd.testing.assert_frame_equal(got, _plain(s, "SELECT id, model, finish_reason, status FROM trials ORDER BY id"))
        assert got["finish_reason"].iloc[2] == b"\x00\xff"


def _without_arrow(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trial_columns, "arrow_frame", lambda *a, **k: None)


@pytest.mark.parametrize("readers", [1, 4])
def test_the_arrow_reading_gives_the_plain_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, readers: int):
    """Read by ADBC, in id ranges when there are several readers: a column NULL in a whole range is typed by the rest."""
    monkeypatch.setattr(trial_columns, "PARALLEL_ROWS", 5)
    monkeypatch.setattr(trial_columns, "MAX_READERS", readers)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)  # four ranges of ten ids: the first has no model_returned
    (tmp_path / "files").mkdir()
    monkeypatch.setattr(trial_columns, "READER_FOLDER", str(tmp_path / "files"))
    read: list[pd.DataFrame | None] = []
    real = trial_columns.arrow_frame
    monkeypatch.setattr(trial_columns, "arrow_frame", lambda *a, **k: read.append(real(*a, **k)) or read[-1])
    with _store(tmp_path / "s.db") as s:
        got = s.trials()
        assert read and all(r is not None for r in read)  # read by the driver, not by the fallback
        pd.testing.assert_frame_equal(got, _plain(s, "SELECT * FROM trials ORDER BY id"))
        columns = ["status", "shown_order", "model", "score", "model_returned"]
        pd.testing.assert_frame_equal(
            s.trials("r2", columns=columns),
            _plain(s, f"SELECT id, {','.join(columns)} FROM trials WHERE run_id = ? ORDER BY id", ("r2",)),
        )
        assert len(read) == 2 and all(r is not None for r in read)
    direct = real(f"file:{tmp_path / 's.db'}?mode=ro", ["id", "model_returned", "score"], low=1, high=40)
    assert direct is not None and pd.isna(direct["model_returned"].iloc[0])
    assert direct["model_returned"].iloc[20] == ODD[20 % len(ODD)]
    assert not list((tmp_path / "files").iterdir())  # each reader's file deleted once mapped


def test_without_arrow_the_packed_reading_gives_the_same_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    with _store(tmp_path / "s.db") as s:
        fast = s.trials()
        _without_arrow(monkeypatch)
        pd.testing.assert_frame_equal(s.trials(), fast)


def test_a_value_the_arrow_reading_would_retype_is_read_as_a_plain_read_types_it(tmp_path: Path):
    """Text in a number column: the driver would give the column as text; the plain read keeps each value's type."""
    with _store(tmp_path / "s.db") as s:
        s.conn.execute("UPDATE trials SET repetition = 'two' WHERE id = 30")
        s.conn.execute("UPDATE trials SET score = 'n/a' WHERE id = 31")
        got = s.trials(columns=["model", "repetition", "score"])
        pd.testing.assert_frame_equal(got, _plain(s, "SELECT id, model, repetition, score FROM trials ORDER BY id"))
        assert got["repetition"].iloc[29] == "two" and got["repetition"].iloc[0] == 0


def test_rows_not_yet_committed_are_read_by_the_connection_that_wrote_them(tmp_path: Path):
    """Inside a transaction the file lacks this connection's rows: the store reads them through its own connection."""
    with _store(tmp_path / "s.db") as s:
        s.conn.execute("BEGIN")
        s.conn.execute("UPDATE trials SET status = 'error' WHERE id = 1")
        assert s.trials(columns=["status", "model"])["status"].iloc[0] == "error"
        s.conn.execute("ROLLBACK")


_WRITE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("UPDATE trials SET model = ? WHERE id = ?", (sys.argv[2], int(sys.argv[3])))
conn.close()
"""


def test_reading_through_the_driver_leaves_this_process_locks_alone(tmp_path: Path):
    """The driver's own SQLite reads in a child process: in this one it would drop our connection's file locks.

    Once dropped, another process's writer, closing last, deletes the WAL this store still
    writes to, and a later commit of the other process is lost when this store closes.
    """
    import subprocess
    import sys

    path = tmp_path / "s.db"
    _store(path).close()
    with Store(path) as s:
        s.trials(columns=["model", "status"])
        subprocess.run([sys.executable, "-c", _WRITE, str(path), "from-other-1", "1"], check=True)
        assert Path(f"{path}-wal").exists() and Path(f"{path}-shm").exists()
        s.conn.execute("UPDATE trials SET model = 'from-this-one' WHERE id = 2")
        subprocess.run([sys.executable, "-c", _WRITE, str(path), "from-other-3", "3"], check=True)
    with Store(path, create=False) as s:
        rows = s.conn.execute("SELECT model FROM trials WHERE id <= 3 ORDER BY id").fetchall()
        assert [r[0] for r in rows] == ["from-other-1", "from-this-one", "from-other-3"]


def test_text_that_is_not_utf8_is_still_named_as_damage(tmp_path: Path):
    from eitest.store import StoreError

    with _store(tmp_path / "s.db") as s:
        s.conn.execute("UPDATE trials SET model = CAST(x'6d80ff' AS TEXT) WHERE id = 3")
        with pytest.raises(StoreError, match="Could not decode to UTF-8"):
            s.trials(columns=["model", "status"])


def test_a_column_added_by_hand_and_a_later_chdir_change_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    _store(Path("b.db")).close()
    with Store(tmp_path / "b" / "b.db") as other:  # another store of the same name, in another folder
        other.ensure_run(record("r1"))
        other.save_trial(trial(model="OTHER STORE"))
    with Store(Path("b.db")) as s:
        s.conn.execute("ALTER TABLE trials ADD COLUMN my_note TEXT")
        s.conn.execute("UPDATE trials SET my_note = 'mine' WHERE id = 1")
        monkeypatch.chdir(tmp_path / "b")
        got = s.trials()
        pd.testing.assert_frame_equal(got, _plain(s, "SELECT * FROM trials ORDER BY id"))
        assert set(got["model"]) == {"m0", "m1", "m2"} and got["my_note"].iloc[0] == "mine"


def test_a_killed_analysiss_reader_files_are_deleted_by_the_next_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import subprocess
    import sys
    import time

    files = tmp_path / "files"
    files.mkdir()
    monkeypatch.setattr(trial_columns, "READER_FOLDER", str(files))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(gone.stdout)  # a process that has ended, as a SIGKILLed analysis has
    old = time.time() - 2 * trial_columns.ORPHAN_AGE_S
    names = {
        f"eitest-trials-{dead}-0a.arrow": old,  # an orphan: deleted
        f"eitest-trials-{dead}-0a.arrow.text": old,  # deleted
        f"eitest-trials-{dead}-1b.arrow": time.time(),  # written just now: perhaps another namespace's, kept
        f"eitest-trials-{os.getpid()}-2c.arrow": old,  # its process is alive: kept
        "eitest-trials-notes.arrow": old,  # not a reader's name: kept
    }
    for name, when in names.items():
        (files / name).write_bytes(b"x" * 10)
        os.utime(files / name, (when, when))
    with _store(tmp_path / "s.db") as s:
        assert len(s.trials()) == 40
    assert sorted(p.name for p in files.iterdir()) == sorted(list(names)[2:])


@pytest.mark.parametrize("busy_ms", [0, 5_000])
def test_a_reader_waits_its_busy_timeout_for_a_writers_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, busy_ms: int
):
    """A writer's lock held for a second: the reader waits it out, or (no timeout) gives up for the plain read to wait."""
    import sqlite3
    import threading
    import time

    path = (
        tmp_path / "locked.db"
    )  # a rollback-journal file: its writer's exclusive lock keeps readers out, as WAL's does not
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE trials (id INTEGER PRIMARY KEY, model TEXT)")
        conn.executemany("INSERT INTO trials (model) VALUES (?)", [(f"m{i}",) for i in range(10)])
    conn.close()
    monkeypatch.setattr(trial_columns, "_READER_BUSY_MS", busy_ms)
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(1.0, writer.execute, ("COMMIT",))
    release.start()
    start = time.monotonic()
    try:
        frame = trial_columns.arrow_frame(f"file:{path}?mode=ro", ["id", "model"], low=1, high=10)
    finally:
        release.join()
        writer.close()
    if busy_ms:
        assert frame is not None and frame["model"].tolist() == [f"m{i}" for i in range(10)]
        assert time.monotonic() - start >= 0.9  # it waited for the commit
    else:
        assert frame is None
