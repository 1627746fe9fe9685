"""Any Python text can be stored: lone surrogates are written out and noted; older stores gain the note column."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_store import record, trial

from eitest.store import MIGRATIONS, Store, StoreError
from eitest.store.trial import FIELDS, storable_text, storable_value


def test_storable_text_writes_out_only_what_utf8_cannot_hold():
    assert storable_text("B \ud800 and \udfff") == "B \\ud800 and \\udfff"
    assert storable_text("a pair 😀 stays, ü stays") == "a pair 😀 stays, ü stays"
    same = "plain"
    assert storable_text(same) is same
    nested = [{"role": "user", "content": "x\udc80"}, {"role": "system", "content": "ok"}]
    assert storable_value(nested) == [{"role": "user", "content": "x\\udc80"}, {"role": "system", "content": "ok"}]
    clean = [{"role": "user", "content": "ok"}, 3]
    assert storable_value(clean) is clean


def test_a_reply_with_lone_surrogates_is_stored_and_noted(tmp_path: Path):
    broken = trial(
        raw_reply="B\ud800",
        model_returned="served-\udfff",
        error="earlier attempt: bad byte \ud83d",
        prompt=[{"role": "user", "content": "item \udc00"}],
    )
    with Store(tmp_path / "s.db") as s:
        s.ensure_run(record())
        s.save_trial(broken)
        s.save_trial(trial(item_id="y"))
        back = {t.item_id: t for t in s.trial_records("r1")}
    assert back["x"].raw_reply == "B\\ud800"
    assert back["x"].model_returned == "served-\\udfff"
    assert back["x"].error == "earlier attempt: bad byte \\ud83d"
    assert back["x"].prompt == [{"role": "user", "content": "item \\udc00"}]
    assert back["x"].text_repaired == "prompt,raw_reply,model_returned,error"  # in field order
    assert back["x"].score == 1.0 and back["x"].status == "answered"
    assert back["y"].text_repaired is None and back["y"] == trial(item_id="y")


def test_a_command_line_in_broken_unicode_is_stored(tmp_path: Path):
    # sys.argv holds undecodable bytes as lone surrogates (surrogateescape)
    rec = record()
    with Store(tmp_path / "s.db") as s:
        s.ensure_run(type(rec)(**{**rec.__dict__, "command": "eitest run -i caf\udce9.yaml"}))
        assert s.run("r1").command == "eitest run -i caf\\udce9.yaml"


@pytest.mark.parametrize("schema", [1, 2])
def test_older_stores_migrate_to_the_note_column(tmp_path: Path, schema: int):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(";\n".join(MIGRATIONS[:schema]) + f";\nPRAGMA user_version = {schema};")
    conn.close()
    with Store(path) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert "text_repaired" in {r[1] for r in s.conn.execute("PRAGMA table_info(trials)")}
        s.ensure_run(record())
        s.save_trial(trial(raw_reply="\ud800"))
        assert s.trial_records("r1")[0].text_repaired == "raw_reply"


def test_a_full_disk_is_a_clear_error_and_keeps_what_was_committed(tmp_path: Path):
    path = tmp_path / "s.db"
    with Store(path) as s:
        s.ensure_run(record())
        pages = s.conn.execute("PRAGMA page_count").fetchone()[0]
        s.conn.execute(f"PRAGMA max_page_count = {pages + 2}")  # the disk has room for a few trials more
        saved = 0
        with pytest.raises(StoreError) as caught:
            for i in range(200):
                s.save_trial(trial(item_id=f"i{i}", raw_reply="x" * 2000))
                saved += 1
    assert 0 < saved < 200
    assert str(caught.value) == (
        f"the disk holding the store {path} is full (SQLite: database or disk is full); every trial committed "
        "before this is kept. Free some space (or give a --db on another disk) and run the same command again: "
        "it resumes where it stopped"
    )
    with Store(path, create=False) as s:
        assert len(s.trial_records("r1")) == saved


def test_a_schema_3_store_gains_the_reasoning_columns_and_keeps_its_trials(tmp_path: Path):
    path = tmp_path / "v3.db"
    with Store(path) as s:  # written now, then taken back to schema 3 as an older eitest left it
        s.ensure_run(record())
        s.save_trial(trial(raw_reply="B"))
    conn = sqlite3.connect(path)
    later = [f.name for f in FIELDS if f.metadata["since"] > 3]  # reasoning, reasoning_tokens and what came after
    assert {"reasoning", "reasoning_tokens"} <= set(later)
    conn.executescript(
        "".join(f"ALTER TABLE trials DROP COLUMN {name}; " for name in later)
        + "DROP TABLE batches; PRAGMA user_version = 3;"
    )
    conn.close()
    with Store(path) as s:
        assert s.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        [old] = s.trial_records("r1")
        assert (old.raw_reply, old.reasoning, old.reasoning_tokens) == ("B", None, None)
        s.save_trial(trial(item_id="new", reasoning="weighing A against B", reasoning_tokens=40))
        new = {t.item_id: t for t in s.trial_records("r1")}["new"]
        assert (new.reasoning, new.reasoning_tokens) == ("weighing A against B", 40)
