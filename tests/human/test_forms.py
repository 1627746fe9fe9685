"""`eitest compare-forms` on simulated paired data with a known effect, checked against scipy/statsmodels."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import instrument_data
from scipy import stats
from scipy.special import expit

from eitest.cli import cli
from eitest.human.forms import FormsError, compare_forms
from eitest.human.norm_building import ResponseError
from eitest.instruments import load_yaml
from eitest.outputs.forms_page import render_forms_page as report_html
from eitest.stats.correlation import pearson_ci, williams_test

K = 20


def form(tmp_path: Path, form_id: str, prefix: str, key: str) -> Path:
    items = [
        {
            "id": f"{prefix}{i:02d}",
            "stem": f"Situation {i}.",
            "question": "Feeling?",
            "options": [{"id": o, "text": o.upper()} for o in "abcd"],
            "key": key,
        }
        for i in range(1, K + 1)
    ]
    data = instrument_data(form_id, items)
    path = tmp_path / f"{form_id}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def simulate(tmp_path: Path, n: int, shift: float, seed: int) -> dict:
    """Both forms measure one ability (2PL, a = 1.5); the generated form is harder by ``shift`` logits.

    Shift 0.4 gives d_z near 0.5 with 20 items per form. Two external measures: one related to the ability,
    one unrelated noise.
    """
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    b = np.linspace(-1.5, 1.5, K)
    xa = (rng.random((n, K)) < expit(1.5 * theta[:, None] - b)).astype(float)
    xb = (rng.random((n, K)) < expit(1.5 * theta[:, None] - b - shift)).astype(float)
    vocab = 0.6 * theta + rng.normal(size=n)
    noise = rng.normal(size=n)
    path = tmp_path / f"paired-{shift}-{seed}.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["participant"]
            + [f"o{i:02d}" for i in range(1, K + 1)]
            + [f"g{i:02d}" for i in range(1, K + 1)]
            + ["vocab", "noise"]
        )
        for p in range(n):
            # the key is "a" on the original form and "b" on the generated one; wrong answers pick another option
            row_a = ["a" if xa[p, i] else rng.choice(["b", "c", "d"]) for i in range(K)]
            row_b = ["b" if xb[p, i] else rng.choice(["a", "c", "d"]) for i in range(K)]
            w.writerow([f"P{p:03d}", *row_a, *row_b, f"{vocab[p]:.6f}", f"{noise[p]:.6f}"])
    vocab = np.round(vocab, 6)
    noise = np.round(noise, 6)
    return {
        "path": path,
        "xa": xa,
        "xb": xb,
        "vocab": vocab,
        "noise": noise,
        "original": load_yaml(form(tmp_path, "orig", "o", "a")),
        "generated": load_yaml(form(tmp_path, "gen", "g", "b")),
    }


def kr20(x: np.ndarray) -> float:
    k = x.shape[1]
    p = x.mean(axis=0)
    return k / (k - 1) * (1 - (p * (1 - p)).sum() / x.sum(axis=1).var(ddof=0))


def exact_tost_p(a: np.ndarray, b: np.ndarray, bound: float = 0.25) -> float:
    """TOST on d_z with noncentral t (scipy's nct): max(P(T(-b sqrt n) >= t), P(T(+b sqrt n) <= t))."""
    diff = a - b
    n = diff.size
    t, ncp = diff.mean() / diff.std(ddof=1) * math.sqrt(n), bound * math.sqrt(n)
    return max(stats.nct.sf(t, n - 1, -ncp), stats.nct.cdf(t, n - 1, ncp))


def williams_by_hand(r12: float, r13: float, r23: float, n: int) -> float:
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    rbar = (r12 + r13) / 2
    return (r12 - r13) * math.sqrt((n - 1) * (1 + r23) / (2 * (n - 1) / (n - 3) * det + rbar**2 * (1 - r23) ** 3))


@pytest.fixture(scope="module")
def no_effect(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("forms0"), n=400, shift=0.0, seed=11)


@pytest.fixture(scope="module")
def half_sd(tmp_path_factory):
    return simulate(tmp_path_factory.mktemp("forms5"), n=400, shift=0.4, seed=11)


def test_no_effect_is_equivalent_and_matches_direct_computation(no_effect):
    sim = no_effect
    res = compare_forms(sim["original"], sim["generated"], sim["path"], external=["vocab", "noise"])
    a, b = sim["xa"].mean(axis=1), sim["xb"].mean(axis=1)
    assert res.n == 400
    assert res.scores["original"].to_numpy() == pytest.approx(a) and res.scores[
        "generated"
    ].to_numpy() == pytest.approx(b)

    # difficulty: TOST at +-0.25 d_z, exact (noncentral t), computed directly
    diff = a - b
    sd = diff.std(ddof=1)
    p_direct = exact_tost_p(a, b)
    d = res.difficulty
    assert d["d"] == pytest.approx(diff.mean() / sd) and abs(d["d"]) < 0.1
    assert d["p_tost"] == pytest.approx(p_direct)
    assert d["p_tost"] < 1e-4 and d["equivalent"] and d["equivalent_adjusted"]
    assert d["d_ci_low"] > -0.25 and d["d_ci_high"] < 0.25 and d["ci_level"] == pytest.approx(0.90)
    assert d["p_diff"] == pytest.approx(stats.ttest_rel(a, b).pvalue)

    # correlation between the forms, Fisher-z interval as scipy gives it
    pr = stats.pearsonr(a, b)
    ci = pr.confidence_interval(0.95)
    assert res.correlation["r"] == pytest.approx(pr.statistic) and res.correlation["p"] == pytest.approx(pr.pvalue)
    assert (res.correlation["ci_low"], res.correlation["ci_high"]) == pytest.approx((ci.low, ci.high))

    # reliability: KR-20 of each form, Feldt's dependent test with r between forms
    a1, a2 = kr20(sim["xa"]), kr20(sim["xb"])
    assert res.reliability["original"]["alpha"] == pytest.approx(a1) and res.reliability["generated"][
        "alpha"
    ] == pytest.approx(a2)
    t_feldt = (a1 - a2) * math.sqrt(400 - 2) / math.sqrt(4 * (1 - a1) * (1 - a2) * (1 - pr.statistic**2))
    assert res.reliability["feldt"]["t"] == pytest.approx(t_feldt)
    assert res.reliability["feldt"]["p"] == pytest.approx(2 * stats.t.sf(abs(t_feldt), 398))

    # validity: Williams' test for each external measure
    for ext in res.external:
        e = sim[ext["column"]]
        r12, r13 = np.corrcoef(e, a)[0, 1], np.corrcoef(e, b)[0, 1]
        assert (ext["r_original"], ext["r_generated"], ext["r_forms"]) == pytest.approx((r12, r13, pr.statistic))
        t = williams_by_hand(r12, r13, pr.statistic, 400)
        assert (
            ext["t"] == pytest.approx(t) and ext["df"] == 397 and ext["p"] == pytest.approx(2 * stats.t.sf(abs(t), 397))
        )
    vocab = next(e for e in res.external if e["column"] == "vocab")
    assert 0.25 < vocab["r_original"] < 0.6  # the related measure relates

    # Holm across the family (TOST, Feldt, Williams x 2), by hand
    family = res.table[res.table["comparison"] != "forms correlation"]
    p = family["p"].to_numpy()
    order = np.argsort(p)
    holm = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, p[i] * (len(p) - rank)))
        holm[i] = running
    assert family["p_adj"].to_numpy() == pytest.approx(holm)
    assert list(res.table["comparison"]) == [
        "difficulty",
        "forms correlation",
        "reliability",
        "external: vocab",
        "external: noise",
    ]
    row = res.table.iloc[0]
    assert row["conclusion"] == "equivalent within ±0.25 d" and "TOST t(399)" in row["apa"] and "d_z = " in row["apa"]


def test_half_sd_effect_is_not_equivalent(half_sd):
    sim = half_sd
    res = compare_forms(
        sim["original"], sim["generated"], sim["path"], external=["vocab"], ignore=["noise"], correction="fdr_bh"
    )
    a, b = sim["xa"].mean(axis=1), sim["xb"].mean(axis=1)
    diff = a - b
    sd = diff.std(ddof=1)
    d = res.difficulty
    assert 0.4 < d["d"] < 0.6 and d["d"] == pytest.approx(diff.mean() / sd)
    assert d["p_tost"] == pytest.approx(exact_tost_p(a, b))
    assert d["p_tost"] > 0.5 and not d["equivalent"] and not d["equivalent_adjusted"]
    assert d["d_ci_low"] > 0.25  # the whole 90% interval lies beyond the bound
    assert d["p_diff"] < 1e-10  # and the forms plainly differ in difficulty
    family = res.table[res.table["comparison"] != "forms correlation"]
    p = family["p"].to_numpy()
    m = len(p)
    order = np.argsort(p)[::-1]
    bh = np.empty_like(p)
    running = 1.0
    for rank, i in enumerate(order):
        running = min(running, p[i] * m / (m - rank))
        bh[i] = running
    assert family["p_adj"].to_numpy() == pytest.approx(bh)
    assert res.table.iloc[0]["conclusion"] == "not shown equivalent within ±0.25 d"


def test_williams_worked_example():
    # r12 = .4, r13 = .5, r23 = .1, n = 103 (the example of psych::r.test): |R| = 1 - .16 - .25 - .01 + .04 = .62,
    # rbar^2 (1 - r23)^3 = .2025 * .729 = .1476225, so t = -.1 * sqrt(102 * 1.1 / (2 * 1.02 * .62 + .1476225)).
    t_hand = -0.1 * math.sqrt(102 * 1.1 / (2 * 1.02 * 0.62 + 0.1476225))
    res = williams_test(0.4, 0.5, 0.1, 103)
    assert res["det_r"] == pytest.approx(0.62)
    assert res["t"] == pytest.approx(t_hand) and round(res["t"], 2) == -0.89
    assert res["df"] == 100 and round(res["p"], 2) == 0.37
    assert williams_test(0.5, 0.4, 0.1, 103)["t"] == pytest.approx(-t_hand)
    assert williams_test(0.3, 0.3, 0.5, 50)["t"] == 0
    with pytest.raises(ValueError):
        williams_test(1.0, 0.3, 0.2, 50)


def test_pearson_ci_fisher_z():
    x = np.arange(20.0)
    y = x + np.sin(x) * 4
    res = pearson_ci(x, y)
    z, se = math.atanh(res["r"]), 1 / math.sqrt(17)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx(
        (math.tanh(z - 1.959963984540054 * se), math.tanh(z + 1.959963984540054 * se))
    )


def test_report_and_cli(tmp_path: Path, no_effect):
    sim = no_effect
    orig, gen = tmp_path / "orig.yaml", tmp_path / "gen.yaml"
    orig.write_text(yaml.safe_dump(sim["original"].normalized()))
    gen.write_text(yaml.safe_dump(sim["generated"].normalized()))
    report = tmp_path / "forms.html"
    res = CliRunner().invoke(
        cli,
        [
            "compare-forms",
            "--original",
            str(orig),
            "--generated",
            str(gen),
            "--responses",
            str(sim["path"]),
            "--external",
            "vocab",
            "--ignore",
            "noise",
            "--json",
            "--report",
            str(report),
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["n"] == 400 and out["difficulty"]["equivalent"] is True and out["table"][0]["comparison"] == "difficulty"
    page = report.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<table>" in page and "equivalent within ±0.25 d" in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page) and "http" not in page
    plain = CliRunner().invoke(
        cli,
        [
            "compare-forms",
            "--original",
            str(orig),
            "--generated",
            str(gen),
            "--responses",
            str(sim["path"]),
            "--ignore",
            "vocab",
            "--ignore",
            "noise",
        ],
    )
    assert plain.exit_code == 0 and "difficulty:" in plain.output and "Feldt t(398)" in plain.output


def test_report_escapes_text(no_effect):
    sim = no_effect
    res = compare_forms(sim["original"], sim["generated"], sim["path"], ignore=["vocab", "noise"])
    res.notes.append("<script>alert(1)</script>")
    page = report_html(res)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_bad_input(tmp_path: Path, no_effect):
    sim = no_effect
    with pytest.raises(FormsError, match="share item id"):
        compare_forms(sim["original"], sim["original"], sim["path"])
    with pytest.raises(ResponseError, match="column vocab: not an item of orig or gen"):
        compare_forms(sim["original"], sim["generated"], sim["path"], external=["noise"])
    with pytest.raises(ResponseError, match="no column 'iq'"):
        compare_forms(sim["original"], sim["generated"], sim["path"], external=["vocab", "noise", "iq"])
    bad = tmp_path / "bad.csv"
    lines = sim["path"].read_text().splitlines()
    cells = lines[3].split(",")
    cells[-1] = "n/a?"
    bad.write_text("\n".join([lines[0], lines[1], lines[2], ",".join(cells)]) + "\n")
    with pytest.raises(ResponseError, match=r"line 4, column noise: 'n/a\?' is not a number"):
        compare_forms(sim["original"], sim["generated"], bad, external=["vocab", "noise"])
