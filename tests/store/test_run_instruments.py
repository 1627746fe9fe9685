"""A run's instruments come from its snapshot in the store; older stores fall back to a catalogue of the same hash."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from old_stores import keyed_items, schema_1_copy

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.instruments import get, import_instrument
from eitest.store import Store, StoreError, UnresolvedInstrument


@pytest.fixture(scope="module")
def steu_store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("run-instruments") / "steu.db"
    assert run_study(Study(models=["eitest/oracle"], instruments=["open-steu", "open-stem"]), db).failed == 0
    return db


def only_run(db: Path) -> str:
    with Store(db, create=False) as s:
        (run,) = s.runs()
    return run.id


def test_the_snapshot_wins_over_the_catalogue(steu_store: Path):
    steu, stem = get("open-steu"), get("open-stem")
    changed = steu.model_copy(update={"name": "Another STEU", "scoring": "keyed", "items": steu.items[:3]})
    with Store(steu_store, create=False) as s:
        used = s.run_instruments(only_run(steu_store), catalogue={"open-steu": changed})
    assert used == {"open-steu": steu, "open-stem": stem}
    assert used["open-steu"].name == steu.name and used["open-steu"].n_items == steu.n_items


def test_a_store_before_snapshots_takes_the_catalogue_instrument_of_the_same_hash(steu_store: Path, tmp_path: Path):
    old = schema_1_copy(steu_store, tmp_path / "old.db")
    steu = get("open-steu")
    with Store(old, create=False) as s:
        assert s.snapshot(steu.content_hash) is None
        used = s.run_instruments(only_run(old))
        assert used["open-steu"] == steu
        # kept from now on: the run no longer depends on the file
        assert s.snapshot(steu.content_hash) == steu
        again = s.run_instruments(only_run(old), catalogue={})
    assert again == used


def test_a_store_before_snapshots_whose_file_changed_is_refused(steu_store: Path, tmp_path: Path):
    old = schema_1_copy(steu_store, tmp_path / "old.db")
    steu = get("open-steu")
    first = steu.items[0]
    other_key = next(o for o in first.option_ids if o != first.key)
    changed = steu.model_copy(update={"items": (first.model_copy(update={"key": other_key}), *steu.items[1:])})
    assert changed.content_hash != steu.content_hash
    run_id = only_run(old)
    with Store(old, create=False) as s:
        with pytest.raises(UnresolvedInstrument) as exc:
            s.run_instruments(run_id, catalogue={"open-steu": changed, "open-stem": get("open-stem")})
        message = str(exc.value)
        for needle in (run_id, "open-steu", steu.content_hash[:12], changed.content_hash[:12]):
            assert needle in message
        assert "eitest instruments import open-steu FILE" in message
        assert "items it did not use" in message
        with pytest.raises(UnresolvedInstrument, match="the catalogue has no open-steu"):
            s.run_instruments(run_id, catalogue={"open-stem": get("open-stem")})
        # nothing was kept for the instrument that could not be resolved
        assert s.snapshot(steu.content_hash) is None


def test_several_runs_leave_out_the_one_whose_items_are_unknown(tmp_path: Path):
    items = tmp_path / "steu-b.yaml"
    items.write_text(yaml.safe_dump({"items": keyed_items(19)}))
    import_instrument("steu-b", items)
    new = tmp_path / "new.db"
    run_study(Study(models=["eitest/oracle"], instruments=["open-steu"]), new)
    run_study(Study(models=["eitest/oracle"], instruments=["steu-b"]), new)
    old = schema_1_copy(new, tmp_path / "old.db")
    changed = keyed_items(19)
    changed[3]["key"] = "a"
    items.write_text(yaml.safe_dump({"items": changed}))
    import_instrument("steu-b", items)
    with Store(old, create=False) as s:
        runs = {r.config["instruments"][0]: r.id for r in s.runs()}
        used = s.instruments_of_runs(runs.values())
        assert list(used.by_run) == [runs["open-steu"]]
        assert list(used.left_out) == [runs["steu-b"]] and "steu-b" in used.left_out[runs["steu-b"]]
        with pytest.raises(UnresolvedInstrument, match=runs["steu-b"]):
            s.instruments_of_runs([runs["steu-b"]], picked=True)
        with pytest.raises(UnresolvedInstrument, match=runs["steu-b"]):
            s.instruments_of_runs([runs["steu-b"]])  # nothing would be left


def test_a_snapshot_altered_into_nonsense_is_refused(steu_store: Path, tmp_path: Path):
    import shutil

    db = tmp_path / "altered.db"
    shutil.copy(steu_store, db)
    steu = get("open-steu")
    with Store(db, create=False) as s:
        s.conn.execute("UPDATE instrument_snapshots SET content = '{not json' WHERE instrument_id = 'open-steu'")
        with pytest.raises(StoreError, match="has been altered"):
            s.run_instruments(only_run(db))
        s.conn.execute(
            "UPDATE instrument_snapshots SET content = '{\"id\": \"open-steu\"}' WHERE instrument_id = 'open-steu'"
        )
        with pytest.raises(StoreError, match=f"no longer matches its hash {steu.content_hash[:12]}"):
            s.snapshot(steu.content_hash)
