"""eitest panel: a simulated panel whose accuracy tracks a known human_p, and panels that cannot calibrate.

Every human_p here is SYNTHETIC, made up for these tests (see scoring/appraisal_items.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from openai_server import OPTION_LINE, Action, ScriptedServer, prompt_of
from scipy import stats
from scoring.appraisal_items import ALL_IDS, item_of, items, keyed_text, write_instrument, wrong_text

from eitest.cli import cli

# Synthetic difficulty of each item: the calibration items carry it as human_p; the new items hide it.
DIFFICULTY = dict(zip(ALL_IDS, np.linspace(0.12, 0.93, len(ALL_IDS)).round(3).tolist(), strict=True))
NEW = ["ap-03", "ap-08", "ap-12", "ap-17"]  # spread over the range
CALIBRATION = [i for i in ALL_IDS if i not in NEW]
# Panel member k gets an item right when its difficulty (as a share right) passes the member's bar.
BARS = {"panel-1": 0.2, "panel-2": 0.35, "panel-3": 0.5, "panel-4": 0.65, "panel-5": 0.8}


def _script(body) -> Action:
    prompt = prompt_of(body)
    item = item_of(prompt)
    right = DIFFICULTY[item] > BARS[str(body.get("model"))]
    text = keyed_text(item) if right else wrong_text(item)
    return Action(reply=next(letter for letter, shown in OPTION_LINE.findall(prompt) if shown.strip() == text))


def _panel(args: list[str]):
    res = CliRunner().invoke(cli, ["panel", *args, "--yes", "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout), res


def test_a_panel_that_tracks_human_p_is_checked_on_the_calibration_items_before_it_predicts(tmp_path: Path):
    new = write_instrument(tmp_path / "new.json", "appraisal-new", items(ids=NEW))
    known = {i: DIFFICULTY[i] for i in CALIBRATION}
    cal = write_instrument(tmp_path / "cal.json", "appraisal-cal", items(human_p=known, ids=CALIBRATION))
    models = [f"openai/{m}" for m in BARS]
    with ScriptedServer(_script) as srv:
        args = ["--models", *models, "--instrument", str(new), "--calibration", str(cal), "--api-base", srv.url]
        data, _ = _panel([*args, "--db", str(tmp_path / "p.db")])
    assert data["calibrated"] and data["usable"] and data["reason"] is None
    cal_rows = sorted((r for r in data["items"] if r["role"] == "calibration"), key=lambda r: r["item_id"])
    assert [r["item_id"] for r in cal_rows] == CALIBRATION
    # The panel's accuracy per item, from the script's rule.
    acc = np.array([np.mean([DIFFICULTY[i] > bar for bar in BARS.values()]) for i in CALIBRATION])
    assert [r["panel_accuracy"] for r in cal_rows] == pytest.approx(acc.tolist(), abs=1e-12)
    p = np.array([known[i] for i in CALIBRATION])
    # Leave-one-out by hand: each item predicted by scipy's regression of logit(p) on the others.
    loo = []
    for k in range(len(p)):
        keep = np.arange(len(p)) != k
        fit = stats.linregress(acc[keep], np.log(p[keep] / (1 - p[keep])))
        loo.append(1 / (1 + math.exp(-(fit.intercept + fit.slope * acc[k]))))
    loo = np.array(loo)
    c = data["calibration"]
    assert c["n_items"] == 14 and c["cross_validation"] == "leave-one-out"
    assert [r["predicted_cv"] for r in cal_rows] == pytest.approx(loo.tolist(), abs=1e-10)
    assert c["rho"] == pytest.approx(stats.spearmanr(loo, p).statistic, abs=1e-12)
    assert c["rho_panel_accuracy"] == pytest.approx(stats.spearmanr(acc, p).statistic, abs=1e-12)
    assert c["mae_cv"] == pytest.approx(np.abs(loo - p).mean(), abs=1e-12)
    assert c["rho"] > 0.9 and c["rho_ci_low"] > 0 and c["mae_cv"] < c["mae_without_panel"]
    assert "Fisher z" in c["rho_ci_method"]
    preds = {r["item_id"]: r["predicted_human_p"] for r in data["predictions"]}
    assert sorted(preds) == NEW
    fit = stats.linregress(acc, np.log(p / (1 - p)))
    for item_id, value in preds.items():
        x = np.mean([DIFFICULTY[item_id] > bar for bar in BARS.values()])
        assert value == pytest.approx(1 / (1 + math.exp(-(fit.intercept + fit.slope * x))), abs=1e-10)
    ordered = [preds[i] for i in sorted(NEW, key=DIFFICULTY.__getitem__)]
    assert ordered == sorted(ordered)  # harder items (lower human p) are predicted harder


def test_a_panel_on_items_without_human_p_is_refused_before_any_call_unless_asked_to_run_uncalibrated(tmp_path: Path):
    inst = write_instrument(tmp_path / "plain.json", "appraisal-plain", items(ids=ALL_IDS[:6]))
    db = tmp_path / "d.db"
    with ScriptedServer(_script) as srv:
        args = ["panel", "--models", "openai/panel-1", "openai/panel-3", "--instrument", str(inst), "--db", str(db)]
        res = CliRunner().invoke(cli, [*args, "--api-base", srv.url, "--yes", "--json"])
        assert res.exit_code == 2, res.output
        assert srv.requests == 0 and not db.exists()  # nothing paid for, nothing stored
        assert res.output.startswith("Error: cannot calibrate: no item of appraisal-plain has a known human_p")
        assert "--calibration" in res.output and "No model was called" in res.output
        assert "--uncalibrated" in res.output and "Traceback" not in res.output
        data, res = _panel([*args[1:], "--api-base", srv.url, "--uncalibrated"])
        assert srv.requests == 12  # 2 models x 6 items, stored for a later calibration
    assert data["calibrated"] is False and data["usable"] is False and data["predictions"] == []
    assert data["reason"].startswith("cannot calibrate: no item of appraisal-plain has a known human_p")
    assert "note: cannot calibrate" in res.stderr
    expected = {i: np.mean([DIFFICULTY[i] > BARS[m] for m in ("panel-1", "panel-3")]) for i in ALL_IDS[:6]}
    assert {r["item_id"]: r["panel_accuracy"] for r in data["items"]} == pytest.approx(expected, abs=1e-12)


def test_three_items_of_known_human_p_are_too_few_to_run_for(tmp_path: Path):
    some = {i: DIFFICULTY[i] for i in ALL_IDS[:3]}
    inst = write_instrument(tmp_path / "three.json", "appraisal-three", items(human_p=some, ids=ALL_IDS[:6]))
    res = CliRunner().invoke(
        cli, ["panel", "--models", "eitest/oracle", "eitest/first", "--instrument", str(inst), "--db",
              str(tmp_path / "t.db"), "--yes"]
    )  # fmt: skip
    assert res.exit_code == 2 and "Error: cannot calibrate: only 3 item(s) of appraisal-three have" in res.output
    assert not (tmp_path / "t.db").exists()


def test_a_panel_that_ranks_items_but_predicts_worse_than_ignoring_it_is_not_usable():
    from eitest.scoring.panel import calibrate_panel

    # SYNTHETIC: human_p spread evenly over .40-.60; the panel ranks the items perfectly but puts one far out, so the
    # logistic mapping, fitted without it, overshoots it, and fitted with it, flattens the others.
    human_p = np.linspace(0.40, 0.60, 14).round(3)
    accuracy = np.r_[np.arange(13) * 0.01, 1.0]
    table = pd.DataFrame({"instrument": "cal", "item_id": [f"c{k:02d}" for k in range(14)],
                          "panel_accuracy": accuracy, "n_models": 5, "human_p": human_p})  # fmt: skip
    table = pd.concat([table, pd.DataFrame([{"instrument": "cal", "item_id": "new", "panel_accuracy": 0.05,
                                             "n_models": 5, "human_p": np.nan}])], ignore_index=True)  # fmt: skip
    result = calibrate_panel(table, "cal", ["m1", "m2"])
    c = result.calibration
    # The leave-one-out errors by hand, each item predicted by scipy's regression of logit(p) on the others.
    logit = np.log(human_p / (1 - human_p))
    loo = []
    for k in range(14):
        keep = np.arange(14) != k
        fit = stats.linregress(accuracy[keep], logit[keep])
        loo.append(1 / (1 + math.exp(-(fit.intercept + fit.slope * accuracy[k]))))
    others = (human_p.sum() - human_p) / 13
    assert c["mae_cv"] == pytest.approx(np.abs(np.array(loo) - human_p).mean(), abs=1e-12)
    assert c["mae_without_panel"] == pytest.approx(np.abs(others - human_p).mean(), abs=1e-12)
    # Every other condition holds: enough items, and a rho interval wholly above 0.
    assert c["n_items"] == 14 and c["rho_ci_low"] > 0.5 and c["mae_cv"] > c["mae_without_panel"]
    assert result.calibrated and not result.usable and result.predictions.empty
    assert result.reason == (
        f"too weak to use: the panel's leave-one-out predictions miss human_p by {c['mae_cv']:.3f} on average, no "
        f"better than ignoring the panel (the mean human_p of the other items misses by {c['mae_without_panel']:.3f}); "
        "no prediction is given"
    )


def test_too_few_calibration_items_give_the_check_but_no_prediction(tmp_path: Path):
    some = {i: DIFFICULTY[i] for i in ALL_IDS[:6]}
    inst = write_instrument(tmp_path / "few.json", "appraisal-few", items(human_p=some, ids=ALL_IDS[:9]))
    data, _ = _panel(
        ["--models", "eitest/oracle", "eitest/first", "--instrument", str(inst), "--db", str(tmp_path / "f.db")]
    )
    assert data["calibrated"] is True and data["usable"] is False
    assert data["calibration"]["n_items"] == 6 and data["predictions"] == []
    assert "only 6 calibration items (fewer than 10)" in data["reason"]


def test_a_panel_of_one_model_is_refused(tmp_path: Path):
    res = CliRunner().invoke(
        cli, ["panel", "--models", "eitest/oracle", "--instrument", "open-steu", "--db", str(tmp_path / "o.db")]
    )
    assert res.exit_code == 2 and "Error: a panel needs at least two models" in res.output
