from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import pytest
import yaml
from conftest import run_cli
from scipy.stats import binomtest

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.scoring.analysis import SCORE_COLUMNS, AnalysisError, analyze
from eitest.stats import single_case
from eitest.store import Store


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("analysis") / "demo.db"
    study = Study(
        models=["eitest/oracle", "eitest/chance", "eitest/first"],
        instruments=["open-steu", "open-stem"],
        reps=4,
        option_order="shuffled",
        seed=3,
    )
    out = run_study(study, db)
    assert out.failed == 0
    return db


@pytest.fixture()
def steu_norm(tmp_path: Path) -> Path:
    path = tmp_path / "steu-norm.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "source": {
                    "id": "test-sample",
                    "citation": "A test sample written for this test (2026)",
                    "checked": "made up for the test",
                },
                "norms": [
                    {
                        "instrument": "open-steu",
                        "sample": "synthetic",
                        "n": {"value": 120, "where": "test"},
                        "mean": {"value": 0.58, "where": "test"},
                        "sd": {"value": 0.12, "where": "test"},
                    },
                    {"instrument": "open-stem", "sample": "no sd", "mean": {"value": 0.5, "where": "test"}},
                ],
            }
        )
    )
    return path


def row(a, model, inst):
    r = a.scores[(a.scores["model"] == model) & (a.scores["instrument"] == inst)]
    assert len(r) == 1
    return r.iloc[0]


def test_done_when(demo_db: Path, steu_norm: Path):
    a = analyze(demo_db, norms=[steu_norm])
    assert list(a.scores.columns) == SCORE_COLUMNS
    for inst in ("open-steu", "open-stem"):
        assert row(a, "eitest/oracle", inst)["accuracy"] == 1.0
    chance_steu = row(a, "eitest/chance", "open-steu")
    assert chance_steu["item_ci_low"] <= 0.2 <= chance_steu["item_ci_high"]
    chance_stem = row(a, "eitest/chance", "open-stem")
    hits = round(chance_stem["accuracy"] * chance_stem["n_trials"])  # 0.36 of 128 with this seed: p = .01
    assert binomtest(hits, int(chance_stem["n_trials"]), 0.25).pvalue > 0.001
    bias = a.position_bias.set_index(["model", "instrument"])
    assert bias.loc[("eitest/first", "open-steu"), "flag"] and bias.loc[("eitest/first", "open-stem"), "flag"]
    assert not bias.loc[("eitest/oracle", "open-steu"), "flag"] and not bias.loc[("eitest/chance", "open-steu"), "flag"]
    # single-case statistics against the norm on file for open-steu, computed independently
    oracle = row(a, "eitest/oracle", "open-steu")
    assert oracle["compared_score"] == 1.0 and oracle["compared_basis"].startswith("first administration")
    ref = single_case(1.0, 0.58, 0.12, 120)
    assert oracle["t"] == pytest.approx((1.0 - 0.58) / (0.12 * math.sqrt(121 / 120)), abs=1e-9)
    assert oracle["df"] == 119
    assert oracle["percentile"] == pytest.approx(ref["percentile"], abs=1e-9)
    assert oracle["d"] == pytest.approx(3.5, abs=1e-9)
    assert oracle["percentile_ci_low"] < oracle["percentile"] <= oracle["percentile_ci_high"]
    assert oracle["T_score"] == pytest.approx(85.0)
    # Holm across the three open-steu tests
    ps = a.scores.dropna(subset=["p"]).sort_values("p")["p"].to_numpy()
    adj = a.scores.dropna(subset=["p"]).sort_values("p")["p_adj"].to_numpy()
    assert len(ps) == 3 and adj[0] == pytest.approx(min(1, 3 * ps[0]))
    # open-stem's norm has no SD or n: the skip is said, and nothing is computed
    stem = row(a, "eitest/oracle", "open-stem")
    assert math.isnan(stem["t"]) and stem["norm_mean"] == 0.5
    assert any("open-stem" in n and "no sd, n on file" in n and "--norms FILE" in n for n in a.notes)


def test_agreement_and_items(demo_db: Path):
    a = analyze(demo_db)
    ag = a.agreement.set_index(["model", "instrument"])
    assert ag.loc[("eitest/oracle", "open-steu"), "modal_rate"] == 1.0
    assert ag.loc[("eitest/oracle", "open-steu"), "fleiss_kappa"] == 1.0
    assert ag.loc[("eitest/chance", "open-steu"), "fleiss_kappa"] < 0.3
    assert len(a.items) == 3 * (45 + 32)
    assert any("no human norm on file" in n for n in a.notes)
    summary = a.summary.set_index("name")
    assert summary.loc["eitest/oracle", "mean"] == 1.0
    assert summary.loc["eitest/oracle", "n_tests"] == 2


def test_exclude_unanswered_and_parse_warning(tmp_path: Path, demo_db: Path):
    db = tmp_path / "copy.db"
    src = sqlite3.connect(demo_db)
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    # make half of the oracle's open-steu replies unreadable
    dst.execute(
        "UPDATE trials SET status='unparseable', chosen_position=NULL, chosen_option=NULL, score=NULL "
        "WHERE model='eitest/oracle' AND instrument='open-steu' AND repetition < 2"
    )
    dst.commit()
    dst.close()
    counted = row(analyze(db), "eitest/oracle", "open-steu")
    excluded = row(analyze(db, exclude_unanswered=True), "eitest/oracle", "open-steu")
    assert counted["accuracy"] == pytest.approx(0.5) and excluded["accuracy"] == 1.0
    assert counted["parse_rate"] == pytest.approx(0.5)
    assert "parse rate 50.0% < 95%" in counted["warning"]


def test_item_correlation_with_human_p(tmp_path: Path, eitest_home: Path):
    # an imported test whose items carry human_p: the model's item accuracy is correlated with it
    items = []
    for i in range(19):
        items.append(
            {
                "id": f"b{i}",
                "stem": f"Situation {i}.",
                "question": "Feeling?",
                "human_p": round(0.3 + i * 0.03, 2),
                "options": [{"id": c, "text": f"Emotion {c}{i}"} for c in "abcde"],
                "key": "abcde"[i % 5],
            }
        )
    path = tmp_path / "steu-b.yaml"
    path.write_text(yaml.safe_dump({"items": items}))
    run_cli("instruments", "import", "steu-b", str(path), env={"EITEST_HOME": str(eitest_home)})
    db = tmp_path / "b.db"
    run_study(Study(models=["eitest/chance"], instruments=["steu-b"], reps=5), db)
    a = analyze(db)
    (ic,) = a.item_correlation.to_dict("records")
    assert ic["n"] == 19 and -1 <= ic["rho"] <= 1
    import numpy as np
    from scipy.stats import spearmanr

    acc = a.items.set_index("item_id")["accuracy"]
    hp = a.items.set_index("item_id")["human_p"]
    assert ic["rho"] == pytest.approx(spearmanr(acc.to_numpy(), hp.to_numpy()).statistic)
    assert np.isfinite(ic["p"])


def test_bad_databases(tmp_path: Path):
    with Store(tmp_path / "empty.db"):
        pass
    with pytest.raises(AnalysisError, match="holds no trials"):
        analyze(tmp_path / "empty.db")
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE x (y)").connection.commit()
    res = run_cli("analyze", "--db", str(foreign))
    assert res.returncode == 2 and "not an eitest store" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("analyze", "--db", str(tmp_path / "missing.db"))
    assert res.returncode == 2 and "no database" in res.stderr


def test_cli_json_and_table(demo_db: Path, steu_norm: Path):
    res = run_cli("analyze", "--db", str(demo_db), "--norms", str(steu_norm), "--json", "--boot", "500")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out) >= {"scores", "summary", "agreement", "position_bias", "item_correlation", "notes"}
    rows = {(r["model"], r["instrument"]): r for r in out["scores"]}
    assert rows[("eitest/oracle", "open-steu")]["accuracy"] == 1.0
    assert rows[("eitest/oracle", "open-steu")]["df"] == 119
    assert rows[("eitest/oracle", "open-stem")]["t"] is None  # skipped, not NaN
    assert "NaN" not in res.stdout
    table = run_cli("analyze", "--db", str(demo_db), "--norms", str(steu_norm))
    assert table.returncode == 0 and "t(119)" in table.stdout and "nan" not in table.stdout.lower()
    assert "position bias" in table.stderr


def test_an_analysis_reads_no_prompt_reply_or_other_text_of_a_trial(demo_db, monkeypatch):
    texts = {"prompt", "raw_reply", "error", "reasoning", "token_logprobs"}  # written out: not the code's own list
    asked: list[object] = []
    trials = Store.trials

    def recorded(self, run_id=None, *, columns=None):
        asked.append(columns)
        return trials(self, run_id, columns=columns)

    monkeypatch.setattr(Store, "trials", recorded)
    analysis = analyze(demo_db, n_boot=200)
    assert len(analysis.scores) and asked  # it read the store, through this door only
    assert all(cols is not None and not set(cols) & texts for cols in asked), asked
