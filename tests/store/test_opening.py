"""Stores as users have them: a folder, a damaged file, another database, a newer schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_store import record, trial

from eitest.store import MIGRATIONS, Store, StoreError
from eitest.version import __version__


@pytest.fixture
def store_file(tmp_path: Path) -> Path:
    """A real store of 60 trials, checkpointed into its one file."""
    path = tmp_path / "real.db"
    with Store(path) as s:
        s.ensure_run(record())
        for i in range(60):
            s.save_trial(trial(item_id=f"i{i:02d}", raw_reply="reply " * 50))
        s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _recovery(path: Path) -> str:
    return (
        f"copy it away (keep the copy), then recover what it holds with 'sqlite3 {path} .recover | sqlite3 "
        "recovered.db' and give recovered.db as --db, or restore it from a backup"
    )


@pytest.mark.parametrize("create", [True, False])
def test_a_folder_given_as_the_store(tmp_path: Path, create: bool):
    with pytest.raises(StoreError) as caught:
        Store(tmp_path, create=create)
    assert str(caught.value) == (
        f"{tmp_path} is a folder, not a store file; give a file in it as --db, e.g. {tmp_path / 'eitest.db'}"
    )


def test_a_store_under_a_file_cannot_be_created(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(StoreError) as caught:
        Store(tmp_path / "notes.txt" / "s.db")
    assert str(caught.value) == (
        f"cannot create the store {tmp_path / 'notes.txt' / 's.db'}: {tmp_path / 'notes.txt'} is a file, not a "
        "folder; give another --db"
    )


@pytest.mark.parametrize("create", [True, False])
def test_random_bytes(tmp_path: Path, create: bool):
    junk = tmp_path / "junk.db"
    junk.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(StoreError) as caught:
        Store(junk, create=create)
    assert str(caught.value) == (
        f"{junk} is not an SQLite database, so not an eitest store (a damaged file, or another kind of file); "
        "give the store's path as --db, or restore the store from a backup"
    )
    assert junk.read_bytes() == bytes(range(256)) * 64  # untouched


@pytest.mark.parametrize("create", [True, False])
def test_a_truncated_store_is_damaged_for_readers_and_for_a_run(store_file: Path, create: bool):
    cut = store_file.with_name("cut.db")
    cut.write_bytes(store_file.read_bytes()[: store_file.stat().st_size // 2])
    with pytest.raises(StoreError) as caught:
        with Store(cut, create=create) as s:
            s.check_intact() if create else s.trials()
    message = str(caught.value)
    assert message.startswith(f"the store {cut} is damaged") and message.endswith(_recovery(cut))


def test_a_damaged_index_opens_but_a_run_refuses_it(store_file: Path):
    conn = sqlite3.connect(store_file)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'trials_run'").fetchone()[0]
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(store_file, "r+b") as f:
        f.seek((root - 1) * page + 8)
        f.write(b"\xff" * 64)
    with Store(store_file, create=False) as s:
        assert len(s.runs()) == 1  # the runs table is intact: reading it still works
    before = store_file.read_bytes()
    with Store(store_file) as s, pytest.raises(StoreError) as caught:
        s.check_intact()
    message = str(caught.value)
    assert message.startswith(f"the store {store_file} is damaged (SQLite quick_check: ")
    assert message.endswith(f"); eitest will not add trials to it: {_recovery(store_file)}")
    assert store_file.read_bytes() == before


def test_an_intact_store_passes_the_check(store_file: Path):
    with Store(store_file) as s:
        s.check_intact()
        assert len(s.trial_records("r1")) == 60


def test_a_store_made_by_a_newer_eitest(tmp_path: Path):
    path = tmp_path / "new.db"
    with Store(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 4}")
    conn.close()
    for create in (True, False):
        with pytest.raises(StoreError) as caught:
            Store(path, create=create)
        assert str(caught.value) == (
            f"{path} was made by a newer eitest (schema {len(MIGRATIONS) + 4}; this eitest {__version__} knows "
            f"schemas up to {len(MIGRATIONS)}); upgrade eitest (pip install -U eitest) to use it"
        )


def test_a_sqlite_file_with_other_columns_is_not_read_as_a_store(tmp_path: Path):
    path = tmp_path / "odd.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        MIGRATIONS[0].replace("started_at TEXT,\n    finished_at TEXT,\n    config", "config")
        + f"\nPRAGMA user_version = {len(MIGRATIONS)};"
    )
    conn.close()
    with Store(path, create=False) as s, pytest.raises(StoreError) as caught:
        s.run_summary()
    assert str(caught.value) == (
        f"{path} is not a store this eitest can read (SQLite: no such column: r.finished_at): it was altered, or "
        "made by another program; give the store's path as --db, or restore it from a backup"
    )
