"""Theta on the human IRT scale from a store: per administration and per model x instrument, in --json.

Every IRT parameter here is SYNTHETIC, written by these tests onto the open STEU items;
no published parameters exist in the project.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, instrument_data

from eitest.cli import cli
from eitest.instruments import parse_instrument
from eitest.scoring.irt_ability import irt_tables
from eitest.stats import irt

SOURCE = "synthetic parameters written by tests/scoring/test_irt_ability.py"


def steu_with_irt(tmp_path: Path, n_with: int | None = None) -> tuple[Path, pd.DataFrame]:
    """open-steu as a new instrument whose first ``n_with`` items carry synthetic 3PL parameters."""
    data = yaml.safe_load((REPO / "instruments" / "open-steu.yaml").read_text())
    data["id"] = "steu-irt"
    rng = np.random.default_rng(5)
    rows = {}
    for j, item in enumerate(data["items"][: n_with or len(data["items"])]):
        a, b, c = round(float(rng.uniform(0.8, 2.0)), 3), round(float(rng.normal()), 3), 0.2
        item["irt"] = {"model": "3PL", "a": a, "b": b, "c": c, "D": 1.702, "source": SOURCE, "where": f"row {j}"}
        rows[item["id"]] = {"a": a, "b": b, "c": c, "D": 1.702}
    path = tmp_path / "steu-irt.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path, pd.DataFrame.from_dict(rows, orient="index")


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_analyze_json_has_theta_se_and_percentile_per_model_and_instrument(tmp_path: Path):
    inst, params = steu_with_irt(tmp_path)
    db = str(tmp_path / "s.db")
    res = invoke("run", "-m", "eitest/oracle", "-m", "eitest/chance", "-i", str(inst), "--reps", "2", "--db", db, "-y")
    assert res.exit_code == 0, res.output
    res = invoke("analyze", "--db", db, "--json", "--boot", "100")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    rows = {r["model"]: r for r in out["irt"]}
    assert set(rows) == {"eitest/oracle", "eitest/chance"}

    oracle = rows["eitest/oracle"]  # every item right, twice: its EAP, flagged at the ceiling
    top, top_sd = irt.eap(np.ones(len(params)), params)
    assert oracle["bound"] == "lower" and oracle["theta_method"] == "EAP" and oracle["n_bound_reps"] == 2
    assert oracle["theta"] == pytest.approx(top, abs=1e-12) and oracle["theta_se"] == pytest.approx(top_sd, abs=1e-12)
    assert oracle["ml"] is None and oracle["percentile_ci_high"] is None and oracle["percentile_ci_low"] > 0.5
    assert "at the ceiling" in oracle["reason"] and "may be higher" in oracle["reason"]

    chance = rows["eitest/chance"]
    assert chance["bound"] is None and chance["theta_method"] == "EAP" and chance["n_reps"] == 2
    assert oracle["theta"] > chance["theta"] and oracle["percentile"] > chance["percentile"]
    assert chance["n_items_irt"] == chance["n_items"] == len(params) and chance["sources"] == SOURCE
    reps = [r for r in out["irt_administrations"] if r["model"] == "eitest/chance"]
    assert len(reps) == 2 and len({r["repetition"] for r in reps}) == 2
    # Recomputed from the stored trials: each administration's EAP, their mean, one sitting's SE.
    from eitest.store import Store

    with Store(db, create=False) as store:
        trials = store.trials()
        # The parameters travel in the run's instrument snapshot: the analysis never rereads the file.
        [run] = store.runs()
        stored = store.run_instruments(run.id)["steu-irt"]
    assert {it.id: it.irt.b for it in stored.items if it.irt} == params["b"].to_dict()
    eaps, ses = [], []
    for r in reps:
        t = trials[(trials["model"] == "eitest/chance") & (trials["repetition"] == r["repetition"])]
        x = t.set_index("item_id")["score"].where(t.set_index("item_id")["status"] == "answered", 0.0)
        e, s = irt.eap(x.reindex(params.index).to_numpy(dtype=float), params)
        assert r["eap"] == pytest.approx(e, abs=1e-12) and r["eap_se"] == pytest.approx(s, abs=1e-12)
        eaps.append(r["eap"])
        ses.append(r["eap_se"])
    assert chance["theta"] == pytest.approx(np.mean(eaps)) and chance["theta_se"] == pytest.approx(
        math.sqrt(np.mean(np.square(ses)))
    )
    low = 0.5 * (1 + math.erf((chance["theta"] - 1.959963984540054 * chance["theta_se"]) / math.sqrt(2)))
    assert chance["percentile"] == pytest.approx(0.5 * (1 + math.erf(chance["theta"] / math.sqrt(2))))
    assert chance["percentile_ci_low"] == pytest.approx(low)
    assert chance["information"] == pytest.approx(irt.information_at(chance["theta"], params)[0])
    assert any(n.startswith("irt: theta is on each item source's calibration scale") for n in out["notes"])
    text = invoke("analyze", "--db", db, "--boot", "100")
    assert text.exit_code == 0 and "Ability on the human IRT scale" in text.stdout and "at the ceiling" in text.stdout


def test_no_parameters_no_rows_and_too_few_items_say_why(tmp_path: Path):
    db = str(tmp_path / "s.db")
    inst, _ = steu_with_irt(tmp_path, n_with=3)
    assert invoke("run", "-m", "eitest/chance", "-i", "open-steu", "-i", str(inst), "--db", db, "-y").exit_code == 0
    from eitest.scoring.analysis import analyze

    result = analyze(db, n_boot=20)
    assert list(result.irt["instrument"]) == ["steu-irt"]  # open-steu has no parameters: no row
    row = result.irt.iloc[0]
    assert math.isnan(row["theta"]) and row["n_items_irt"] == 3 and "at least 5" in row["reason"]
    assert result.irt_administrations.empty


def test_partial_parameters_use_those_items_and_say_so():
    items = pd.DataFrame({"a": [1.0] * 6, "b": np.linspace(-1, 1, 6), "c": 0.0, "D": 1.0}, index=list("pqrstu"))
    trials = pd.DataFrame(
        {
            "model": "m",
            "instrument": "x",
            "run_id": "r",
            "repetition": 0,
            "item_id": [*items.index, "v"],
            "status": "answered",
            "score": [1, 0, 1, 1, 0, 1, 1],
            "chosen_position": [0, 1, 0, 0, 1, 0, 0],  # right where the score is 1
            "keyed_position": 0,
        }
    )

    inst = parse_instrument(
        instrument_data(
            "x",
            [
                {
                    "id": i,
                    "stem": "S.",
                    "question": "Which?",
                    "options": [{"id": "a", "text": "Joy"}, {"id": "b", "text": "Fear"}],
                    "key": "a",
                    **({"irt": {"model": "2PL", "a": 1.0, "b": float(items.loc[i, "b"]), "source": "synthetic"}}
                       if i in items.index else {}),
                }
                for i in [*items.index, "v"]
            ],
        )
    )  # fmt: skip
    table, reps = irt_tables(trials, {"r": {"x": inst}})
    row = table.iloc[0]
    assert row["n_items_irt"] == 6 and row["n_items"] == 7 and "6 of 7 items" in row["reason"]
    e, s = irt.eap(np.array([1, 0, 1, 1, 0, 1.0]), items)
    assert row["theta"] == pytest.approx(e, abs=1e-12) and row["theta_se"] == pytest.approx(s, abs=1e-12)
    assert math.isnan(row["theta_sd_reps"]) and reps.iloc[0]["ml_reason"] is None
    m, m_se, _ = irt.ml(np.array([1, 0, 1, 1, 0, 1.0]), items)
    assert row["ml"] == pytest.approx(m, abs=1e-9) and row["ml_se"] == pytest.approx(m_se, abs=1e-9)


def test_report_section_shows_theta_bound_and_sources_only_with_parameters(tmp_path: Path):
    from eitest.outputs.report import render_html
    from eitest.outputs.report.irt_section import irt_context
    from eitest.outputs.templating import render
    from eitest.scoring.analysis import analyze

    inst, params = steu_with_irt(tmp_path)
    db = str(tmp_path / "s.db")
    assert invoke("run", "-m", "eitest/oracle", "-m", "eitest/chance", "-i", str(inst), "--db", db, "-y").exit_code == 0
    result = analyze(db, n_boot=100)
    html = render_html(db, analysis=result)
    section = html[html.index('<h2 id="irt">') : html.index('<h2 id="usage">')]
    assert "Ability on the human IRT scale" in section and "Bock &amp; Mislevy, 1982" in section
    assert "Birnbaum, A. (1968)" in section and "Lord, F. M. (1980)" in section and SOURCE in section
    by_model = result.irt.set_index("model")
    oracle, chance = by_model.loc["eitest/oracle"], by_model.loc["eitest/chance"]
    n = len(params)
    # Each row whole, as the reader sees it: the chance model's figures, its items counted, an empty note ...
    assert (
        f'<tr><td>eitest/chance</td><td>steu-irt</td><td class="num">{chance["theta"]:.2f}</td>'
        f'<td class="num">{chance["theta_se"]:.2f}</td><td class="num">'
    ) in section
    assert f"<td>1 repetition</td><td>{n} of {n}</td><td></td></tr>" in section
    assert "built-in method" not in section and ">nan<" not in section
    # ... and the oracle's EAP at the ceiling, with no upper percentile limit.
    low = f"{100 * oracle['percentile_ci_low']:.1f}"
    assert (
        f'<td class="num">{oracle["theta"]:.2f} (ceiling)</td><td class="num">{oracle["theta_se"]:.2f}</td>'
        f'<td class="num">{100 * oracle["percentile"]:.1f} [{low}, no upper limit]</td>'
    ) in section
    assert f"<td>{n} of {n}</td><td>at the ceiling: every item answered right" in section
    assert section.count('<img alt="Test information of steu-irt" src="data:image/svg+xml;base64,') == 1
    assert irt_context(result.__class__(**{**result.__dict__, "irt": result.irt.iloc[0:0]})) is None
    # A missing note is NaN once a table is rebuilt (concat, JSON): it is a blank cell, never "nan".
    rebuilt = irt_context(result.__class__(**{**result.__dict__, "irt": result.irt.assign(reason=np.nan)}))
    assert rebuilt is not None and [r["reason"] for r in rebuilt["rows"]] == ["", ""]
    assert "IRT" not in render("irt_section.html.j2", irt=None)


def weighted_form(n: int, sources: list[str] | None = None):
    """A weighted form whose items carry synthetic 2PL parameters: the best option ("a") is worth 0.6, not 1."""
    items = [
        {
            "id": f"w{j}",
            "stem": "S.",
            "question": "Which?",
            "options": [{"id": "a", "text": "Talk"}, {"id": "b", "text": "Wait"}, {"id": "c", "text": "Leave"}],
            "weights": {"a": 0.6, "b": 0.3, "c": 0.1},
            "irt": {"model": "2PL", "a": 1.2, "b": -1.0 + j / 4, "source": (sources or [SOURCE] * n)[j]},
        }
        for j in range(n)
    ]
    return parse_instrument(instrument_data("wf", items, scoring="weighted"))


def weighted_trials(n: int, **columns: object) -> pd.DataFrame:
    """One administration of ``weighted_form(n)``: the best option chosen every time (its weight is the score)."""
    return pd.DataFrame(
        {"model": "m", "instrument": "wf", "run_id": "r", "repetition": 0, "item_id": [f"w{j}" for j in range(n)],
         "status": "answered", "score": 0.6, "chosen_position": 0, "keyed_position": 0, **columns}
    )  # fmt: skip


def test_a_weighted_test_is_right_or_wrong_on_the_best_option_never_its_weight():
    """The 2PL/3PL are dichotomous: choosing the top-weighted option every time is every item right (a ceiling)."""
    inst = weighted_form(8)
    params = pd.DataFrame({"a": 1.2, "b": [-1.0 + j / 4 for j in range(8)], "c": 0.0, "D": 1.0})
    table, reps = irt_tables(weighted_trials(8), {"r": {"wf": inst}})
    row = table.iloc[0]
    top, top_sd = irt.eap(np.ones(8), params)
    assert row["theta"] == pytest.approx(top, abs=1e-12) and row["theta_se"] == pytest.approx(top_sd, abs=1e-12)
    assert row["bound"] == "lower" and reps.iloc[0]["credit"] == 8.0  # not 8 x 0.6
    assert row["theta"] > irt.eap(np.full(8, 0.6), params)[0] + 0.5  # what reading the weight as P(right) gave
    # Under logprobs: the probability of the best option, whatever the expected weighted credit.
    probs = [{"a": 0.8, "b": 0.15, "c": 0.05}] * 8
    logprobs = weighted_trials(8, protocol="logprobs", option_probs=probs, shown_order=[["a", "b", "c"]] * 8)
    table, reps = irt_tables(logprobs.assign(score=0.8 * 0.6 + 0.15 * 0.3 + 0.05 * 0.1), {"r": {"wf": inst}})
    assert reps.iloc[0]["credit"] == pytest.approx(6.4, abs=1e-12) and table.iloc[0]["bound"] is None
    assert table.iloc[0]["theta"] == pytest.approx(irt.eap(np.full(8, 0.8), params)[0], abs=1e-12)


def test_parameters_from_two_sources_give_theta_from_the_larger_one_and_name_the_rest():
    sources = ["calibration B"] * 6 + ["calibration A"] * 3
    inst = weighted_form(9, sources)
    right = [1, 0, 1, 1, 0, 1, 1, 1, 0]
    trials = weighted_trials(9, chosen_position=[0 if r else 1 for r in right])
    table, _ = irt_tables(trials, {"r": {"wf": inst}})
    row = table.iloc[0]
    six = pd.DataFrame({"a": 1.2, "b": [-1.0 + j / 4 for j in range(6)], "c": 0.0, "D": 1.0})
    assert row["theta"] == pytest.approx(irt.eap(np.array(right[:6], dtype=float), six)[0], abs=1e-12)
    assert row["sources"] == "calibration B" and row["n_items_irt"] == 6 and row["n_items"] == 9
    assert "left out, as calibrated on another scale: w6, w7, w8 (calibration A)" in row["reason"]
    # A tie goes to the first source by name; too few items of it is said, with what was left out.
    table, _ = irt_tables(trials.iloc[3:], {"r": {"wf": inst}})
    row = table.iloc[0]
    assert math.isnan(row["theta"]) and "only 3 of the items given have IRT parameters from one source" in row["reason"]
    assert "w3, w4, w5 (calibration B)" in row["reason"]
