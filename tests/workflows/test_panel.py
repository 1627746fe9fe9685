"""eitest panel: a simulated panel whose accuracy tracks a known human_p, and panels that cannot calibrate.

Every human_p here is SYNTHETIC, made up for these tests (see scoring/appraisal_items.py).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
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


def test_a_panel_on_items_without_human_p_says_it_cannot_calibrate(tmp_path: Path):
    inst = write_instrument(tmp_path / "plain.json", "appraisal-plain", items(ids=ALL_IDS[:6]))
    data, res = _panel(
        ["--models", "eitest/oracle", "eitest/chance", "--instrument", str(inst), "--db", str(tmp_path / "d.db")]
    )
    assert data["calibrated"] is False and data["usable"] is False and data["predictions"] == []
    assert data["reason"].startswith("cannot calibrate: no item of appraisal-plain has a known human_p")
    assert "--calibration" in data["reason"]
    assert "note: cannot calibrate" in res.stderr
    assert {r["panel_accuracy"] for r in data["items"]} <= {0.0, 0.5, 1.0}  # the panel's answers are still there


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
