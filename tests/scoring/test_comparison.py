"""eitest compare-runs: runs of one design on two model versions, checked against an independent computation."""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import run_cli
from openai_server import OPTION_LINE, Action, ScriptedServer, prompt_of
from scipy import stats
from scoring.appraisal_items import ALL_IDS, item_of, items, keyed_text, write_instrument, wrong_text
from statsmodels.stats.contingency_tables import cochrans_q, mcnemar

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.cli import cli
from eitest.scoring.comparison import compare_runs
from eitest.store import Store

# What each scripted model version gets right. v1 knows the first 12 items; v2 loses two of them
# (ap-03, ap-07) and gains four (ap-13..ap-16); v2 answers ap-01 right only on its first call of it.
V1_RIGHT = set(ALL_IDS[:12])
V2_RIGHT = (V1_RIGHT - {"ap-03", "ap-07"}) | {"ap-13", "ap-14", "ap-15", "ap-16"}
SEED, N_BOOT = 7, 400


def _script():
    calls: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()

    def script(body) -> Action:
        prompt, model = prompt_of(body), str(body.get("model"))
        item = item_of(prompt)
        with lock:
            calls[(model, item or "")] += 1
            nth = calls[(model, item or "")]
        right = {"ei-v1": V1_RIGHT, "ei-v2": V2_RIGHT}.get(model, set())
        correct = item in right and not (model == "ei-v2" and item == "ap-01" and nth > 1)
        text = keyed_text(item) if correct else wrong_text(item)
        letter = next(letter for letter, shown in OPTION_LINE.findall(prompt) if shown.strip() == text)
        return Action(reply=letter)

    return script


def _run(srv: ScriptedServer, db: Path, inst: Path, model: str, reps: int = 2, **fields) -> str:
    study = Study(models=[model], instruments=[str(inst)], api_base=srv.url, reps=reps, concurrency=8, **fields)
    out = run_study(study, db)
    assert out.failed == 0
    return out.run_id


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("compare")
    inst = write_instrument(folder / "appraisal.json", "appraisal-test", items())
    fewer = write_instrument(folder / "appraisal-17.json", "appraisal-test", items(ids=ALL_IDS[:17]))
    db = folder / "c.db"
    with ScriptedServer(_script()) as srv:
        v1 = _run(srv, db, inst, "openai/ei-v1")
        v2 = _run(srv, db, inst, "openai/ei-v2")
        again = _run(srv, db, inst, "openai/ei-v1", reps=1, label="2027-01")  # the same model string, a later run
        other = _run(srv, db, fewer, "openai/ei-v2", reps=1, seed=2)  # the same id, a different item set
    return {"db": db, "v1": v1, "v2": v2, "again": again, "other": other}


def _item_answers(db: Path, run_id: str) -> pd.DataFrame:
    """Straight from the store: per item, mean right over repetitions and right on repetition 0."""
    with Store(db, create=False) as store:
        t = store.trials(run_id)
    key = {it["id"]: it["key"] for it in items()}
    t["right"] = [float(c == key[i]) for c, i in zip(t["chosen_option"], t["item_id"], strict=True)]
    mean = t.groupby("item_id")["right"].mean()
    first = t[t["repetition"] == 0].set_index("item_id")["right"]
    return pd.DataFrame({"mean": mean, "first": first}).sort_index()


@pytest.fixture(scope="module")
def v1_v2(versions):
    return compare_runs(versions["db"], runs=[versions["v1"], versions["v2"]], n_boot=N_BOOT, seed=SEED)


def _boot_bounds(d: np.ndarray, n_boot: int, seed: int) -> tuple[float, float]:
    """The documented resampling redone by hand: one (n_boot, n) matrix of item indices from default_rng(seed)."""
    draws = np.random.default_rng(seed).integers(0, len(d), size=(n_boot, len(d)))
    boot = np.array([np.mean([d[i] for i in draw]) for draw in draws])
    return float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))


def _rows(result, basis_prefix: str) -> list[dict]:
    return [r for r in result.differences.to_dict("records") if r["basis"].startswith(basis_prefix)]


def test_two_model_versions_paired_interval_and_mcnemar_match_an_independent_computation(versions, v1_v2):
    db, v1, v2 = versions["db"], versions["v1"], versions["v2"]
    result = v1_v2
    assert list(result.differences["basis"]) == ["first administration", "mean of 2 repetitions"]
    (row,) = _rows(result, "first administration")
    a, b = _item_answers(db, v1), _item_answers(db, v2)
    d = (b["first"] - a["first"]).to_numpy()
    assert row["instrument"] == "appraisal-test" and row["n_items"] == 18
    lost = int(((a["first"] == 1) & (b["first"] == 0)).sum())
    gained = int(((a["first"] == 0) & (b["first"] == 1)).sum())
    assert (gained, lost) == (row["n_gained"], row["n_lost"]) and gained == 4 and lost in (2, 3)
    # The interval, the p value and gained/lost describe the same answers: the first administration's.
    assert row["difference"] == pytest.approx((gained - lost) / 18, abs=1e-12)
    assert row["score_a"] == pytest.approx(a["first"].mean(), abs=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(_boot_bounds(d, N_BOOT, SEED), abs=1e-12)
    assert row["ci_question"] == "on new items like these"
    assert row["p"] == pytest.approx(stats.binomtest(gained, gained + lost, 0.5).pvalue, abs=1e-12)
    table = [[int(((a["first"] == i) & (b["first"] == j)).sum()) for j in (1, 0)] for i in (1, 0)]
    assert row["p"] == pytest.approx(mcnemar(table, exact=True).pvalue, abs=1e-12)
    assert row["p_method"] == "exact McNemar test of the right/wrong (first administration)"
    flipped = result.flipped
    assert set(flipped.loc[flipped["direction"] == "gained", "item_id"]) == {"ap-13", "ap-14", "ap-15", "ap-16"}
    assert {"ap-03", "ap-07"} <= set(flipped.loc[flipped["direction"] == "lost", "item_id"])
    assert len(flipped) == gained + lost
    assert row["parse_rate_a"] == 1.0 and row["parse_rate_change"] == 0.0
    assert row["modal_rate_a"] == 1.0 and row["modal_rate_b"] < 1.0  # v2 answered ap-01 two ways
    assert list(result.respondents["model_returned"]) == ["served-ei-v1", "served-ei-v2"]


def test_the_mean_over_repetitions_is_a_labelled_second_row_tested_on_the_same_means(versions, v1_v2):
    a, b = _item_answers(versions["db"], versions["v1"]), _item_answers(versions["db"], versions["v2"])
    (row,) = _rows(v1_v2, "mean of 2 repetitions")
    d = (b["mean"] - a["mean"]).to_numpy()
    assert row["difference"] == pytest.approx(d.mean(), abs=1e-12)
    assert row["difference"] == pytest.approx((12 - 2 + 4 - 0.5) / 18 - 12 / 18, abs=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(_boot_bounds(d, N_BOOT, SEED), abs=1e-12)
    assert row["p"] == pytest.approx(stats.wilcoxon(d).pvalue, abs=1e-12)
    assert row["p_method"] == "Wilcoxon signed-rank test of the item credits (mean of 2 repetitions)"
    assert (row["n_gained"], row["n_lost"]) == (int((d > 0).sum()), int((d < 0).sum())) == (4, 3)
    # Each basis is its own family of p values: one row each here, so adjusting changes nothing.
    assert v1_v2.differences["p_adj"].tolist() == pytest.approx(v1_v2.differences["p"].tolist(), abs=1e-15)


def test_three_respondents_get_cochrans_q_and_the_same_name_is_said_to_be_no_proof_of_a_new_version(versions):
    db = versions["db"]
    runs = [versions["v1"], versions["v2"], versions["again"]]
    result = compare_runs(db, runs=runs, n_boot=200, seed=0)
    assert list(result.differences["basis"]) == [
        "first administration", "mean of 2 repetitions",  # v1 - v2
        "first administration", "mean of repetitions (2 in a, 1 in b)",  # v1 - v1 later, once
        "first administration", "mean of repetitions (2 in a, 1 in b)",  # v2 - v1 later
    ]  # fmt: skip
    (omni,) = result.omnibus.to_dict("records")
    matrix = np.column_stack([_item_answers(db, r)["first"].to_numpy() for r in runs])
    ref = cochrans_q(matrix)
    assert omni["statistic"] == pytest.approx(ref.statistic, abs=1e-12)
    assert omni["p"] == pytest.approx(ref.pvalue, abs=1e-12) and omni["df"] == 2 and omni["k"] == 3
    same = [n for n in result.notes if n.startswith("openai/ei-v1:")]
    assert same and "same model name" in same[0] and "not shown to be a new version" in same[0]
    assert any("differ in reps" in n for n in result.notes)
    assert "openai/ei-v1 [2027-01] (run " in " ".join(result.respondents["label"])
    for basis in ("first administration", "mean of"):  # Holm by hand, within each basis
        rows = result.differences[result.differences["basis"].str.startswith(basis)]
        p = rows["p"].to_numpy()
        assert np.allclose(
            rows["p_adj"], np.minimum(1, np.maximum.accumulate(np.sort(p) * [3, 2, 1]))[np.argsort(np.argsort(p))]
        )


def test_a_run_of_a_different_item_set_is_refused_naming_the_runs(versions):
    runner = CliRunner()
    res = runner.invoke(
        cli,
        ["compare-runs", "--db", str(versions["db"]), "--run", versions["v1"], "--run", versions["other"], "--json"],
    )
    assert res.exit_code == 2, res.output
    assert "Error: appraisal-test: the runs gave different item sets" in res.output
    assert versions["v1"] in res.output and versions["other"] in res.output
    assert "Traceback" not in res.output


def test_cli_json_and_report(versions, tmp_path: Path):
    html, pdf = tmp_path / "cmp.html", tmp_path / "cmp.pdf"
    args = ["compare-runs", "--db", str(versions["db"]), "--run", versions["v1"], "--run", versions["v2"]]
    res = CliRunner().invoke(cli, [*args, "--boot", "200", "--json", "--html", str(html), "--pdf", str(pdf)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    row, mean = data["differences"]
    assert {"instrument", "basis", "difference", "ci_low", "ci_high", "p", "p_method", "ci_question"} <= set(row)
    assert (row["basis"], mean["basis"]) == ("first administration", "mean of 2 repetitions")
    assert row["ci_low"] <= row["difference"] <= row["ci_high"]
    page = html.read_text(encoding="utf-8")
    assert "appraisal-test" in page and "ap-13" in page and "on new items like these" in page
    assert "first administration" in page and "mean of 2 repetitions" in page
    assert pdf.read_bytes().startswith(b"%PDF")


def test_one_run_is_not_a_comparison(versions):
    res = CliRunner().invoke(cli, ["compare-runs", "--db", str(versions["db"]), "--run", versions["v1"]])
    assert res.exit_code == 2
    assert "needs two respondents" in res.output


@pytest.fixture(scope="module")
def weighted_run(tmp_path_factory) -> Path:
    """Three offline responders on the expert-weighted open-stem, in one run."""
    db = tmp_path_factory.mktemp("weighted") / "w.db"
    models = ["eitest/oracle", "eitest/chance", "eitest/first"]
    run_study(Study(models=models, instruments=["open-stem"], reps=2, option_order="shuffled"), db)
    return db


def test_weighted_tests_compare_credit_on_the_proportion_of_maximum_with_wilcoxon_and_friedman(weighted_run: Path):
    from eitest.instruments import get

    result = compare_runs(weighted_run, n_boot=300, seed=3)
    with Store(weighted_run, create=False) as store:
        t = store.trials()
    stem = get("open-stem")
    top = np.array([max(it.weights.values()) for it in sorted(stem.items, key=lambda i: i.id)])
    credit = {m: g.groupby("item_id")["score"].mean().sort_index().to_numpy() for m, g in t.groupby("model")}
    first = t[t["repetition"] == 0]
    once = {m: g.set_index("item_id")["score"].sort_index().to_numpy() for m, g in first.groupby("model")}
    by_basis = result.differences.set_index(["a_model", "b_model", "basis"])
    for basis, used in (("first administration", once), ("mean of 2 repetitions", credit)):
        row = by_basis.loc[("eitest/oracle", "eitest/chance", basis)]
        d = used["eitest/chance"] - used["eitest/oracle"]
        assert row["difference"] == pytest.approx(d.sum() / top.sum(), abs=1e-12)
        assert row["score_a"] == pytest.approx(1.0, abs=1e-12)  # the oracle: all of the maximum
        assert row["p"] == pytest.approx(stats.wilcoxon(d).pvalue, abs=1e-12)
        assert row["p_method"] == f"Wilcoxon signed-rank test of the item credits ({basis})"
        draws = np.random.default_rng(3).integers(0, len(d), size=(300, len(d)))
        boot = [d[i].sum() / top[i].sum() for i in draws]
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(tuple(np.quantile(boot, [0.025, 0.975])), abs=1e-12)
    (omni,) = result.omnibus.to_dict("records")
    ref = stats.friedmanchisquare(*(once[m] for m in ["eitest/oracle", "eitest/chance", "eitest/first"]))
    assert omni["statistic"] == pytest.approx(ref.statistic, abs=1e-10) and omni["p"] == pytest.approx(ref.pvalue)
    assert omni["method"] == "Friedman test of the item credits (first administration)"
    checks = result.checks.set_index("model")
    assert checks.loc["eitest/first", "position_flag"]  # shuffled orders: the first-position responder is caught
    assert row["position_p_a"] == row["position_p_a"]  # the test ran (not NaN)


def test_the_model_filter_compares_one_model_across_runs_and_names_an_unknown_one(versions):
    db = versions["db"]
    result = compare_runs(
        db, runs=[versions["v1"], versions["v2"], versions["again"]], models=["openai/ei-v1"], n_boot=100
    )
    assert list(result.respondents["run_id"]) == [versions["v1"], versions["again"]]
    assert len(result.differences) == 2  # the first administration, and the means over repetitions
    for row in result.differences.to_dict("records"):
        assert row["a_model"] == row["b_model"] == "openai/ei-v1" and row["difference"] == 0.0
        assert row["p"] == 1.0
    assert result.flipped.empty
    res = CliRunner().invoke(
        cli, ["compare-runs", "--db", str(db), "--run", versions["v1"], "--model", "openai/nobody"]
    )
    assert res.exit_code == 2 and "no trials of openai/nobody" in res.output
    # Without --run, the runs of the model picked: the run of another item set (of ei-v2) is not among them.
    res = CliRunner().invoke(
        cli, ["compare-runs", "--db", str(db), "--model", "openai/ei-v1", "--boot", "100", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert {r["run_id"] for r in json.loads(res.stdout)["respondents"]} == {versions["v1"], versions["again"]}


def test_the_page_escapes_what_the_provider_reported(v1_v2):
    import dataclasses

    from eitest.outputs.comparison_page import render_comparison_page

    respondents = v1_v2.respondents.copy()
    respondents.loc[0, "model_returned"] = "<script>alert(1)</script>"
    notes = [*v1_v2.notes, "<img src=x onerror=alert(2)>"]
    result = dataclasses.replace(v1_v2, respondents=respondents, notes=notes)
    page = render_comparison_page(result)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page


def _record(run_id: str, hashes: dict[str, str], **config):
    from eitest.store import RunRecord

    base = {"protocol": "standard", "protocol_version": "1", "option_order": "original", "reps": 1, "seed": 0}
    return RunRecord(run_id, {**base, **config}, hashes, "0", None, None, None, None, "2026-01-01", None, None)


def test_the_design_check_refuses_another_protocol_or_no_shared_test_and_notes_what_it_leaves_out():
    from eitest.scoring.comparison_design import ComparisonError, check_design

    a = _record("run-a", {"x": "h1", "y": "h2"})
    with pytest.raises(ComparisonError, match=r"differ in protocol \(run run-a: standard, run run-b: json\)"):
        check_design([a, _record("run-b", {"x": "h1"}, protocol="json")])
    with pytest.raises(ComparisonError, match="differ in option_order"):
        check_design([a, _record("run-b", {"x": "h1"}, option_order="shuffled")])
    with pytest.raises(ComparisonError, match="no instrument in common"):
        check_design([a, _record("run-b", {"z": "h3"})])
    common, notes = check_design([a, _record("run-b", {"x": "h1"}, reps=3)])
    assert common == ["x"]
    assert any(n.startswith("y left out") for n in notes) and any("differ in reps" in n for n in notes)


def test_items_that_all_differ_alike_get_no_interval_but_a_reason(tmp_path: Path, v1_v2):
    # Under the logprobs protocol the chance responder gives each of five options 0.2, on every item alike.
    db = str(tmp_path / "lp.db")
    res = run_cli("run", "-m", "eitest/oracle", "-m", "eitest/chance", "-i", "open-steu", "--protocol", "logprobs",
                  "--yes", "--db", db)  # fmt: skip
    assert res.returncode == 0, res.stderr
    (row,) = compare_runs(db, n_boot=200).differences.to_dict("records")
    assert row["difference"] == pytest.approx(-0.8, abs=1e-12) and row["p"] < 1e-9
    # The test is on the probabilities the difference is made of, not on the choices.
    assert row["p"] == pytest.approx(stats.wilcoxon(np.full(45, -0.8)).pvalue, rel=1e-9)
    assert row["p_method"] == "Wilcoxon signed-rank test of the item credits (first administration)"
    assert np.isnan(row["ci_low"]) and np.isnan(row["ci_high"])
    assert row["ci_reason"].startswith("every item differs by the same share of its credit (-0.800)")
    assert v1_v2.differences["ci_reason"].isna().all()  # items that differ unalike keep their interval


@pytest.fixture(scope="module")
def probed(tmp_path_factory) -> dict:
    """A store with a probe run beside a study run of two models, and a store of a probe run only."""
    folder = tmp_path_factory.mktemp("probed")
    inst = write_instrument(folder / "small.json", "appraisal-small", items(ids=ALL_IDS[:6]))
    db, only = folder / "both.db", folder / "only.db"
    with ScriptedServer(lambda body: Action(reply="Nothing here that I recognise.")) as srv:
        for store in (db, only):
            args = ["probe", "memorisation", "-m", "openai/prober", "-i", str(inst), "--db", str(store)]
            res = CliRunner().invoke(cli, [*args, "--api-base", srv.url, "--yes"])
            assert res.exit_code == 0, res.output
    study = run_study(Study(models=["eitest/oracle", "eitest/chance"], instruments=[str(inst)], seed=1), db)
    with Store(only, create=False) as store:
        (probe_run,) = [r.id for r in store.runs()]
    return {"db": db, "only": only, "study": study.run_id, "probe": probe_run}


def test_probe_runs_are_not_compared_and_a_probe_picked_by_id_is_refused(probed):
    result = compare_runs(probed["db"], n_boot=50)
    assert list(result.respondents["model"]) == ["eitest/oracle", "eitest/chance"]
    assert set(result.respondents["run_id"]) == {probed["study"]}
    assert list(result.differences["instrument"]) == ["appraisal-small"]
    with Store(probed["db"], create=False) as store:
        probe_run = next(r.id for r in store.runs() if r.id != probed["study"])
    res = CliRunner().invoke(
        cli, ["compare-runs", "--db", str(probed["db"]), "--run", probe_run, "--run", probed["study"]]
    )
    assert res.exit_code == 2 and f"Error: run {probe_run} is a probe run" in res.output, res.output
    res = CliRunner().invoke(cli, ["compare-runs", "--db", str(probed["only"])])
    assert res.exit_code == 2 and f"Error: {probed['only']} holds probe runs only" in res.output, res.output
    assert "Traceback" not in res.output


def test_a_model_that_is_in_no_run_is_named_not_replaced_by_every_run(versions, probed):
    for db in (versions["db"], probed["db"]):
        res = CliRunner().invoke(cli, ["compare-runs", "--db", str(db), "--model", "openai/typo"])
        assert res.exit_code == 2, res.output
        assert f"Error: no trials of openai/typo in {db}; the models there are " in res.output
    assert "the models there are eitest/chance, eitest/oracle" in res.output  # not the probe's model


def test_runs_at_different_temperatures_are_refused_naming_them():
    from eitest.scoring.comparison_design import ComparisonError, check_design

    a = _record("run-a", {"x": "h1"}, temperature=0.0)
    with pytest.raises(
        ComparisonError, match=r"differ in temperature \(run run-a: 0.0, run run-b: 1.0\): a difference"
    ):
        check_design([a, _record("run-b", {"x": "h1"}, temperature=1.0)])
    with pytest.raises(ComparisonError, match="sampling noise"):
        check_design([a, _record("run-b", {"x": "h1"}, temperature=None)])  # the provider's default is not 0
    assert check_design([a, _record("run-b", {"x": "h1"}, temperature=0)]) == (["x"], [])  # 0 is 0.0
