"""One scale per comparison, labelled intervals, like with like: the analysis side of the numbers issue."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import run_cli

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.instruments import get
from eitest.scoring.analysis import analyze
from eitest.stats import single_case
from eitest.store import Store


def _norm_file(path: Path, *norms: dict) -> Path:
    source = {"id": "made-up-sample", "citation": "A made-up sample for this test (2026)", "checked": "made up"}
    path.write_text(yaml.safe_dump({"source": source, "norms": list(norms)}), encoding="utf-8")
    return path


def _norm(instrument: str, mean: float, sd: float, n: float, **extra) -> dict:
    return {
        "instrument": instrument,
        "sample": "synthetic",
        "n": {"value": n, "where": "test"},
        "mean": {"value": mean, "where": "test"},
        "sd": {"value": sd, "where": "test"},
        **extra,
    }


@pytest.fixture(scope="module")
def weighted_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("scales") / "w.db"
    study = Study(models=["eitest/oracle", "eitest/chance"], instruments=["open-stem", "open-steu"], reps=3, seed=11)
    run_study(study, db)
    return db


def _row(a, model: str, inst: str):
    rows = a.scores[(a.scores["model"] == model) & (a.scores["instrument"] == inst)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_a_weighted_test_is_reported_as_proportion_of_maximum_with_its_mean_credit(weighted_db: Path):
    a = analyze(weighted_db, n_boot=300)
    stem = get("open-stem")
    top = float(np.mean([max(it.weights.values()) for it in stem.items]))
    oracle = _row(a, "eitest/oracle", "open-stem")
    assert oracle["scoring"] == "weighted" and oracle["score_scale"] == "proportion of maximum"
    assert oracle["score"] == 1.0 and oracle["accuracy"] == 1.0
    assert oracle["weighted_score"] == pytest.approx(top, abs=1e-12) and oracle["max_credit"] == pytest.approx(top)
    chance = _row(a, "eitest/chance", "open-stem")
    assert chance["score"] == pytest.approx(chance["weighted_score"] / top, abs=1e-12)
    keyed = _row(a, "eitest/chance", "open-steu")
    assert keyed["score"] == keyed["accuracy"] and math.isnan(keyed["max_credit"])


@pytest.mark.parametrize(("scale", "mean", "sd"), [("mean_credit", 0.45, 0.05), ("proportion_of_max", 0.7, 0.1)])
def test_a_weighted_norm_is_compared_on_its_own_scale(weighted_db: Path, tmp_path: Path, scale, mean, sd):
    norms = _norm_file(tmp_path / "n.yaml", _norm("open-stem", mean, sd, 150, scoring="weighted", score=scale))
    a = analyze(weighted_db, norms=[norms], n_boot=200)
    trials = Store(weighted_db).trials()
    top = float(np.mean([max(it.weights.values()) for it in get("open-stem").items]))
    for model in ("eitest/oracle", "eitest/chance"):
        r = _row(a, model, "open-stem")
        first = trials[(trials["model"] == model) & (trials["instrument"] == "open-stem") & (trials["repetition"] == 0)]
        expected = first["score"].fillna(0).mean() / (top if scale == "proportion_of_max" else 1.0)
        assert r["norm_scale"] == scale
        assert r["compared_score"] == pytest.approx(expected, abs=1e-12)
        assert r["t"] == pytest.approx(single_case(expected, mean, sd, 150)["t"], abs=1e-10)
    oracle = _row(a, "eitest/oracle", "open-stem")["compared_score"]
    assert oracle == pytest.approx(1.0 if scale == "proportion_of_max" else top, abs=1e-12)


def test_like_with_like_first_administration_and_a_labelled_mean_row(weighted_db: Path, tmp_path: Path):
    norms = _norm_file(tmp_path / "n.yaml", _norm("open-steu", 0.58, 0.12, 120))
    a = analyze(weighted_db, norms=[norms], n_boot=200)
    trials = Store(weighted_db).trials()
    g = trials[(trials["model"] == "eitest/chance") & (trials["instrument"] == "open-steu")]
    per_rep = g.assign(c=g["chosen_position"] == g["keyed_position"]).groupby("repetition")["c"].mean()
    r = _row(a, "eitest/chance", "open-steu")
    assert r["compared_score"] == pytest.approx(per_rep.loc[0]) and r["compared_basis"].startswith(
        "first administration"
    )
    assert (r["single_min"], r["single_max"]) == pytest.approx((per_rep.min(), per_rep.max()))
    rows = a.norm_comparison[(a.norm_comparison["model"] == "eitest/chance")].set_index("basis")
    assert list(rows.index) == ["first administration", "mean of 3 repetitions"]
    assert rows.loc["mean of 3 repetitions", "score"] == pytest.approx(per_rep.mean())
    assert rows.loc["first administration", "t"] == pytest.approx(r["t"])


def test_two_intervals_with_exact_bounds_instead_of_a_degenerate_one(tmp_path: Path, eitest_home: Path):
    # a 19-item keyed test the oracle answers perfectly in every repetition
    items = [
        {
            "id": f"b{i}",
            "stem": f"Situation {i}.",
            "question": "What does the person feel?",
            "options": [{"id": c, "text": f"Emotion {c} {i}"} for c in "abcde"],
            "key": "abcde"[i % 5],
        }
        for i in range(19)
    ]
    path = tmp_path / "steu-b.yaml"
    path.write_text(yaml.safe_dump({"items": items}), encoding="utf-8")
    assert run_cli("instruments", "import", "steu-b", str(path), env={"EITEST_HOME": str(eitest_home)}).returncode == 0
    db = tmp_path / "b.db"
    run_study(Study(models=["eitest/oracle"], instruments=["steu-b"], reps=2), db)
    r = _row(analyze(db), "eitest/oracle", "steu-b")
    assert r["score"] == 1.0 and r["item_ci_method"] == "Clopper-Pearson over items"
    assert r["item_ci_low"] == pytest.approx(0.025 ** (1 / 19), abs=1e-9) and r["item_ci_low"] < 1
    assert r["wilson_ci_low"] < 1 and r["item_ci_high"] == 1.0
    assert math.isnan(r["rep_ci_low"]) and "no run-to-run variation" in r["rep_ci_reason"]
    assert r["sd_reps"] == 0.0


def test_norms_that_cannot_be_used_give_a_note_not_a_traceback(weighted_db: Path, tmp_path: Path):
    norms = _norm_file(
        tmp_path / "bad.yaml",
        _norm("open-steu", 0.5, 0.1, 1),  # n = 1
        _norm("open-stem", 0.4, 0.1, 50, scoring="weighted"),  # fine: a weighted norm on the weighted test
    )
    keyed_credit = _norm_file(tmp_path / "credit.yaml", _norm("open-steu", 0.4, 0.1, 50, scoring="weighted"))
    a = analyze(weighted_db, norms=[norms], n_boot=100)
    steu = _row(a, "eitest/oracle", "open-steu")
    assert math.isnan(steu["t"]) and any("n = 1" in n and "at least 2" in n for n in a.notes)
    assert not math.isnan(_row(a, "eitest/oracle", "open-stem")["t"])
    b = analyze(weighted_db, norms=[keyed_credit], n_boot=100)
    assert math.isnan(_row(b, "eitest/oracle", "open-steu")["t"])
    assert any("expert-weighted scale" in n and "is keyed" in n for n in b.notes)
    for f in (norms, keyed_credit):
        res = run_cli("analyze", "--db", str(weighted_db), "--norms", str(f), "--json", "--boot", "100")
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
        assert json.loads(res.stdout)["notes"]


def test_summary_compares_llms_and_humans_over_the_same_tests_and_leaves_the_bern_aggregate_out(
    weighted_db: Path, tmp_path: Path
):
    norms = _norm_file(tmp_path / "n.yaml", _norm("open-steu", 0.58, 0.12, 120))
    a = analyze(weighted_db, norms=[norms], n_boot=100)
    summary = a.summary.set_index("row")
    assert summary.loc["llm_mean", "instruments"] == summary.loc["human_mean", "instruments"] == "open-steu"
    steu = a.scores[a.scores["instrument"] == "open-steu"]
    assert summary.loc["llm_mean", "mean"] == pytest.approx(steu["compared_mean"].mean())
    assert "published_human_mean" not in set(a.summary["row"])


def test_position_bias_is_not_run_on_the_original_order(weighted_db: Path):
    a = analyze(weighted_db, n_boot=100)
    assert a.position_bias["p"].isna().all()
    assert a.position_bias["reason"].str.contains("confounded").all()
    assert any("position bias not tested" in n for n in a.notes)


def test_the_run_to_run_interval_stays_on_the_proportion_scale(tmp_path: Path):
    from scipy import stats

    db = tmp_path / "two.db"
    run_study(Study(models=["eitest/chance"], instruments=["open-steu"], reps=2, option_order="shuffled", seed=1), db)
    r = _row(analyze(db, n_boot=100), "eitest/chance", "open-steu")
    trials = Store(db).trials()
    per_rep = (trials["chosen_position"] == trials["keyed_position"]).groupby(trials["repetition"]).mean()
    half = stats.t.ppf(0.975, 1) * per_rep.std(ddof=1) / np.sqrt(2)
    assert per_rep.mean() - half < 0  # t on one df passes 0 here: the interval is cut there
    assert r["rep_ci_low"] == 0.0 and r["rep_ci_high"] == pytest.approx(per_rep.mean() + half)


def test_leaving_unanswered_trials_out_keeps_the_proportion_of_maximum_honest(weighted_db: Path, tmp_path: Path):
    import sqlite3

    db = tmp_path / "copy.db"
    with sqlite3.connect(weighted_db) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    tops = {it.id: max(it.weights.values()) for it in get("open-stem").items}
    low = sorted(tops, key=tops.get)[:8]  # the items that allow the least credit go unanswered
    with sqlite3.connect(db) as conn:
        conn.execute(
            "UPDATE trials SET status='unparseable', chosen_position=NULL, chosen_option=NULL, score=NULL "
            f"WHERE instrument='open-stem' AND item_id IN ({','.join('?' * len(low))})",
            low,
        )
    a = analyze(db, exclude_unanswered=True, n_boot=100)
    trials = Store(db).trials()
    for model in ("eitest/oracle", "eitest/chance"):
        g = trials[(trials["model"] == model) & (trials["instrument"] == "open-stem") & trials["score"].notna()]
        won = g.groupby("repetition")["score"].sum() / g["item_id"].map(tops).groupby(g["repetition"]).sum()
        r = _row(a, model, "open-stem")
        assert r["score"] == pytest.approx(won.mean(), abs=1e-12)  # credit won over credit allowed, same items
        assert r["weighted_score"] == pytest.approx(g.groupby("repetition")["score"].mean().mean(), abs=1e-12)
    assert _row(a, "eitest/oracle", "open-stem")["score"] == pytest.approx(1.0, abs=1e-12)
