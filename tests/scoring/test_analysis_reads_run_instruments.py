"""The analysis uses each run's own instruments, read from the store, never today's catalogue."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli
from old_stores import keyed_items, schema_1_copy

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.instruments import get, import_instrument
from eitest.scoring.analysis import AnalysisError, analyze, analyze_trials
from eitest.store import Store


def scores_of(res) -> dict[tuple[str, str], dict]:
    assert res.returncode == 0, res.stderr
    return {(r["model"], r["instrument"]): r for r in json.loads(res.stdout)["scores"]}


def test_weighted_instrument_from_a_path_scores_as_by_catalogue_id(tmp_path: Path, eitest_home: Path):
    data = yaml.safe_load((REPO / "instruments" / "open-stem.yaml").read_text(encoding="utf-8"))
    data["id"] = "my-stem"
    path = tmp_path / "elsewhere" / "my-stem.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    env = {"EITEST_HOME": str(eitest_home)}
    models = ["--model", "eitest/oracle", "--model", "eitest/first"]
    by_path, by_id = tmp_path / "path.db", tmp_path / "id.db"
    res = run_cli("run", *models, "--instrument", str(path), "--reps", "2", "--db", str(by_path), "--yes", env=env)
    assert res.returncode == 0, res.stderr
    from_path = scores_of(run_cli("analyze", "--db", str(by_path), "--json", "--boot", "200", env=env))
    # the same file in the catalogue, run by its id
    (eitest_home / "instruments").mkdir(parents=True, exist_ok=True)
    (eitest_home / "instruments" / "my-stem.yaml").write_text(path.read_text())
    res = run_cli("run", *models, "--instrument", "my-stem", "--reps", "2", "--db", str(by_id), "--yes", env=env)
    assert res.returncode == 0, res.stderr
    from_id = scores_of(run_cli("analyze", "--db", str(by_id), "--json", "--boot", "200", env=env))
    assert set(from_path) == set(from_id) == {("eitest/oracle", "my-stem"), ("eitest/first", "my-stem")}
    for key in from_id:
        for col in ("weighted_score", "score", "max_credit", "accuracy"):
            assert from_path[key][col] is not None
            assert from_path[key][col] == pytest.approx(from_id[key][col], abs=1e-12)
    # the oracle chooses the top-weighted option: its weighted score is the mean top weight of the file
    top = [max(it["weights"].values()) for it in data["items"]]
    assert from_path[("eitest/oracle", "my-stem")]["weighted_score"] == pytest.approx(sum(top) / len(top), abs=1e-12)


def test_a_file_reusing_a_shipped_id_is_analysed_as_the_file(tmp_path: Path):
    steu = yaml.safe_load((REPO / "instruments" / "open-steu.yaml").read_text(encoding="utf-8"))
    steu["name"] = "My own STEU"
    for i, item in enumerate(steu["items"]):
        item["human_p"] = round(0.2 + 0.6 * ((i * 7) % 45) / 45, 3)
    stem = yaml.safe_load((REPO / "instruments" / "open-stem.yaml").read_text(encoding="utf-8"))
    stem["scoring"] = "keyed"
    stem.pop("weights_source", None)
    for item in stem["items"]:
        weights = item.pop("weights")
        item["key"] = max(weights, key=weights.get)
    files = []
    for data in (steu, stem):
        files.append(tmp_path / f"{data['id']}.yaml")
        files[-1].write_text(yaml.safe_dump(data, sort_keys=False))
    db = tmp_path / "own.db"
    run_study(Study(models=["eitest/chance"], instruments=[str(f) for f in files], reps=3), db)
    a = analyze(db, n_boot=200)
    assert a.instrument("open-steu").name == "My own STEU" and a.instrument("open-stem").scoring == "keyed"
    # keyed by the file, so no weighted score, although the shipped open-stem is weighted
    stem_row = a.scores[a.scores["instrument"] == "open-stem"].iloc[0]
    assert math.isnan(stem_row["weighted_score"])
    # human_p is the file's: the item correlation exists and uses those values
    items = a.items[a.items["instrument"] == "open-steu"].set_index("item_id")
    assert items["human_p"].to_dict() == {it["id"]: it["human_p"] for it in steu["items"]}
    (ic,) = a.item_correlation.to_dict("records")
    from scipy.stats import spearmanr

    assert ic["instrument"] == "open-steu" and ic["n"] == 45
    assert ic["rho"] == pytest.approx(spearmanr(items["accuracy"], items["human_p"]).statistic, abs=1e-12)
    # and the note says the catalogue's open-steu is not the one this run used
    (run_id,) = a.instruments
    changed = [n for n in a.notes if "catalogue's current version" in n]
    assert len(changed) == 2 and all(run_id in n for n in changed)
    assert any(get("open-steu").content_hash[:12] in n for n in changed)


def test_old_store_matching_the_catalogue_analyses_as_a_new_one(tmp_path: Path):
    new = tmp_path / "new.db"
    run_study(Study(models=["eitest/oracle", "eitest/chance"], instruments=["open-steu"], reps=2), new)
    old = schema_1_copy(new, tmp_path / "old.db")
    before = run_cli("analyze", "--db", str(new), "--json", "--boot", "200")
    after = run_cli("analyze", "--db", str(old), "--json", "--boot", "200")
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout) == json.loads(before.stdout)
    with Store(old, create=False) as s:
        assert s.snapshot(get("open-steu").content_hash) == get("open-steu")


@pytest.fixture()
def old_store_of_a_changed_import(tmp_path: Path) -> tuple[Path, str, str, str]:
    """A schema-1 store of a run on an imported steu-b and on open-steu; steu-b re-imported since, one key changed."""
    items = tmp_path / "steu-b.yaml"
    items.write_text(yaml.safe_dump({"items": keyed_items(19)}))
    import_instrument("steu-b", items)
    used_hash = get("steu-b").content_hash
    new = tmp_path / "new.db"
    run_study(Study(models=["eitest/chance"], instruments=["open-steu"], reps=2), new)
    run_study(Study(models=["eitest/chance"], instruments=["steu-b"], reps=2), new)
    with Store(new, create=False) as s:
        (steu_b_run,) = [r.id for r in s.runs() if r.config["instruments"] == ["steu-b"]]
    old = schema_1_copy(new, tmp_path / "old.db")
    changed = keyed_items(19)
    changed[3]["key"] = "a"
    items.write_text(yaml.safe_dump({"items": changed}))
    import_instrument("steu-b", items)
    return old, steu_b_run, used_hash, get("steu-b").content_hash


def test_old_store_whose_catalogue_instrument_changed_is_refused(old_store_of_a_changed_import, eitest_home: Path):
    old, run_id, used, now = old_store_of_a_changed_import
    env = {"EITEST_HOME": str(eitest_home)}
    for command in (
        ("analyze", "--db", str(old), "--run", run_id),
        ("report", "--db", str(old), "--run", run_id, "--out", str(old.parent / "r.html")),
        ("export", "--db", str(old), "--run", run_id, "--format", "csv", "--out", str(old.parent / "x")),
    ):
        res = run_cli(*command, env=env)
        assert res.returncode == 2, (command, res.stderr)
        assert "Traceback" not in res.stderr
        for needle in (run_id, "steu-b", used[:12], now[:12], "eitest instruments import steu-b FILE"):
            assert needle in res.stderr, (command, needle)
    assert not (old.parent / "r.html").exists()


def test_the_run_whose_items_are_unknown_is_left_out_of_the_others(old_store_of_a_changed_import, eitest_home):
    old, run_id, used, now = old_store_of_a_changed_import
    res = run_cli("analyze", "--db", str(old), "--json", "--boot", "200", env={"EITEST_HOME": str(eitest_home)})
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert [(r["model"], r["instrument"]) for r in out["scores"]] == [("eitest/chance", "open-steu")]
    (note,) = [n for n in out["notes"] if n.startswith(f"run {run_id} left out")]
    assert used[:12] in note and now[:12] in note
    assert f"note: run {run_id} left out" in res.stderr


def test_a_tampered_snapshot_is_a_clear_error(tmp_path: Path):
    db = tmp_path / "t.db"
    run_study(Study(models=["eitest/oracle"], instruments=["open-steu"]), db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE instrument_snapshots SET content = replace(content, 'open-steu', 'open-stem')")
    res = run_cli("analyze", "--db", str(db))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "snapshot of open-steu no longer matches its hash" in res.stderr and "altered" in res.stderr


def test_analyze_trials_needs_the_runs_instruments(tmp_path: Path):
    db = tmp_path / "a.db"
    run_study(Study(models=["eitest/oracle"], instruments=["open-steu"]), db)
    with Store(db, create=False) as s:
        trials = s.trials()
        (run_id,) = trials["run_id"].unique()
        used = s.run_instruments(run_id)
    with pytest.raises(AnalysisError, match=f"no instrument given for open-steu of run {run_id}"):
        analyze_trials(trials, {})
    steu = used["open-steu"]
    fewer = {run_id: {"open-steu": steu.model_copy(update={"items": steu.items[1:]})}}
    with pytest.raises(AnalysisError, match=f"{steu.items[0].id} are not in the open-steu"):
        analyze_trials(trials, fewer)
    a = analyze_trials(trials, {run_id: used})
    assert a.instruments == {run_id: used} and a.scores["accuracy"].tolist() == [1.0]
    assert a.instrument("open-steu", run_id) == used["open-steu"]
    with pytest.raises(KeyError, match="open-stem is not among"):
        a.instrument("open-stem")


def test_runs_on_two_versions_of_one_id_are_each_scored_with_their_own(tmp_path: Path):
    from eitest.outputs.report import render_html

    path = tmp_path / "steu-b.yaml"
    items = keyed_items(19)
    path.write_text(yaml.safe_dump({"items": items}))
    import_instrument("steu-b", path)
    first = get("steu-b")
    db = tmp_path / "two.db"
    run_study(Study(models=["eitest/oracle"], instruments=["steu-b"]), db)
    items[0]["human_p"] = 0.99
    path.write_text(yaml.safe_dump({"items": items}))
    import_instrument("steu-b", path)
    second = get("steu-b")
    run_study(Study(models=["eitest/chance"], instruments=["steu-b"], reps=2), db)
    a = analyze(db, n_boot=200)
    runs = dict(zip(a.scores["model"], a.scores["run_id"], strict=True))
    assert a.instrument("steu-b", runs["eitest/oracle"]) == first
    assert a.instrument("steu-b", runs["eitest/chance"]) == second
    human_p = a.items[a.items["item_id"] == "b00"].set_index("model")["human_p"]
    assert human_p.to_dict() == {"eitest/chance": 0.99, "eitest/oracle": 0.3}
    (note,) = [n for n in a.notes if "different versions" in n]
    assert first.content_hash[:12] in note and second.content_hash[:12] in note
    html = render_html(db, analysis=a)
    assert f"content hashes {first.content_hash[:12]}, {second.content_hash[:12]}" in html
