"""The steps of a forms comparison one by one, its options object, and its HTML page with hostile names."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import instrument_data
from scipy import stats
from scipy.special import expit
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.weightstats import ttost_paired

from eitest.human.forms import (
    TABLE_COLUMNS,
    FormsError,
    FormsOptions,
    compare_difficulty,
    compare_forms,
    correlate_forms,
    external_validity,
    read_paired_responses,
    score_forms,
)
from eitest.human.forms_table import adjust
from eitest.instruments import parse_instrument
from eitest.outputs.forms_page import render_forms_page, write_forms_page
from eitest.stats.correlation import williams_test
from eitest.vocabulary import Correction

K = 8
N = 60


def instrument(form_id: str, prefix: str, key: str):
    items = [
        {
            "id": f"{prefix}{i}",
            "stem": f"Situation {i}.",
            "question": "Feeling?",
            "options": [{"id": o, "text": o.upper()} for o in "abc"],
            "key": key,
        }
        for i in range(1, K + 1)
    ]
    return parse_instrument(instrument_data(form_id, items), source=f"{form_id}.yaml")


def write_responses(path: Path, blanks: dict[int, list[str]] | None = None, external: str = "vocab") -> dict:
    """N participants, both forms (2PL, one ability); ``blanks`` maps a row to the item columns left empty."""
    rng = np.random.default_rng(7)
    theta = rng.normal(size=N)
    b = np.linspace(-1, 1, K)
    xa = rng.random((N, K)) < expit(1.4 * theta[:, None] - b)
    xb = rng.random((N, K)) < expit(1.4 * theta[:, None] - b - 0.3)
    vocab = np.round(0.5 * theta + rng.normal(size=N), 5)
    header = ["participant", *(f"o{i}" for i in range(1, K + 1)), *(f"g{i}" for i in range(1, K + 1)), external, "few"]
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for p in range(N):
            row = [f"P{p:02d}", *("a" if x else "b" for x in xa[p]), *("b" if x else "c" for x in xb[p])]
            row += [f"{vocab[p]:.5f}", "1.5" if p < 3 else ""]
            for col in (blanks or {}).get(p, []):
                row[header.index(col)] = ""
            w.writerow(row)
    return {"path": path, "xa": xa.astype(float), "xb": xb.astype(float), "vocab": vocab}


@pytest.fixture()
def forms():
    return instrument("orig", "o", "a"), instrument("gen", "g", "b")


@pytest.fixture()
def data(tmp_path: Path) -> dict:
    return write_responses(tmp_path / "both.csv")


def test_keyword_call_and_options_object_agree(forms, data):
    by_keywords = compare_forms(*forms, data["path"], external=["vocab"], ignore=["few"], correction="fdr_bh")
    options = FormsOptions(external=("vocab",), ignore=("few",), correction="fdr_bh")
    by_options = compare_forms(*forms, data["path"], options)
    pd.testing.assert_frame_equal(by_keywords.table, by_options.table)
    assert by_keywords.correction is Correction.FDR_BH and by_keywords.notes == by_options.notes
    # keywords override the options object: Holm over the same family
    holm = compare_forms(*forms, data["path"], options, correction="holm")
    family = holm.table[holm.table["comparison"] != "forms correlation"]
    assert holm.correction is Correction.HOLM
    assert family["p_adj"].to_numpy() == pytest.approx(multipletests(family["p"].to_numpy(), method="holm")[1])
    assert list(holm.table.columns) == TABLE_COLUMNS
    assert list(holm.table["comparison"]) == ["difficulty", "forms correlation", "reliability", "external: vocab"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"correction": "bonferroni"}, "unknown correction 'bonferroni'; use one of holm, fdr_bh"),
        ({"missing": "skip"}, "unknown missing policy 'skip'; use one of wrong, drop"),
        ({"bound": 0}, "equivalence bound must be above 0"),
        ({"alpha": 0.5}, "alpha must lie between 0 and 0.5, got 0.5"),
        ({"ci": 95}, r"interval level must lie between 0 and 1 \(e.g. 0.95\), got 95"),
    ],
)
def test_options_are_checked(fields: dict, message: str):
    with pytest.raises(FormsError, match=message):
        FormsOptions(**fields)


def test_options_take_lists_and_strings():
    opts = FormsOptions(external=["vocab"], ignore=["age", "sex"], correction="holm")
    assert opts.external == ("vocab",) and opts.ignore == ("age", "sex") and opts.correction is Correction.HOLM
    assert dataclasses.replace(opts, correction="fdr_bh").correction is Correction.FDR_BH


def test_scoring_lines_up_external_measures(forms, data):
    table, externals = read_paired_responses(*forms, data["path"], FormsOptions(external=("vocab",), ignore=("few",)))
    assert list(externals) == ["vocab"] and externals["vocab"] == pytest.approx(data["vocab"])
    paired = score_forms(table, externals, *forms, "wrong")
    assert paired.n == N and paired.notes == []
    assert paired.x == pytest.approx(data["xa"].mean(axis=1)) and paired.y == pytest.approx(data["xb"].mean(axis=1))
    assert list(paired.scores.columns) == ["participant", "original", "generated", "vocab"]
    assert paired.scores["vocab"].to_numpy() == pytest.approx(data["vocab"])
    assert paired.binary_original and paired.binary_generated


def test_missing_answers_wrong_or_dropped(forms, tmp_path: Path):
    sim = write_responses(tmp_path / "gaps.csv", blanks={4: ["o1", "o2"], 9: ["g3"]})
    opts = FormsOptions(ignore=("vocab", "few"))
    table, externals = read_paired_responses(*forms, sim["path"], opts)
    wrong = score_forms(table, externals, *forms, "wrong")
    assert wrong.n == N and wrong.notes == ["3 unanswered item response(s) scored as wrong"]
    xa = sim["xa"].copy()
    xa[4, :2] = 0  # blank = no credit
    assert wrong.x == pytest.approx(xa.mean(axis=1))
    dropped = score_forms(table, externals, *forms, "drop")
    assert dropped.n == N - 2 and dropped.notes == ["2 participant(s) with an unanswered item left out (listwise)"]
    assert "P04" not in set(dropped.scores["participant"]) and "P09" not in set(dropped.scores["participant"])
    res = compare_forms(*forms, sim["path"], opts, missing="drop")
    assert res.n == N - 2 and res.reliability["feldt"]["df"] == N - 4


def test_too_few_participants(forms, tmp_path: Path):
    sim = write_responses(tmp_path / "all.csv")
    lines = sim["path"].read_text().splitlines()
    small = tmp_path / "three.csv"
    small.write_text("\n".join(lines[:4]) + "\n")
    with pytest.raises(FormsError, match=r"3 participant\(s\) took both forms; the comparison needs at least 4"):
        compare_forms(*forms, small, ignore=["vocab", "few"])


def test_difficulty_and_correlation_steps_match_statsmodels_and_scipy(data):
    x, y = data["xa"].mean(axis=1), data["xb"].mean(axis=1)
    d = compare_difficulty(x, y, FormsOptions(bound=0.3, alpha=0.05))
    sd = (x - y).std(ddof=1)
    _, lower, upper = ttost_paired(x, y, -0.3 * sd, 0.3 * sd)  # the t statistics; p is exact on d_z
    t, n = (x - y).mean() / sd * np.sqrt(len(x)), len(x)
    exact = max(stats.nct.sf(t, n - 1, -0.3 * np.sqrt(n)), stats.nct.cdf(t, n - 1, 0.3 * np.sqrt(n)))
    assert d["p_tost"] == pytest.approx(exact, rel=1e-9) and d["t_lower"] == pytest.approx(lower[0])
    assert d["t_upper"] == pytest.approx(upper[0]) and d["d"] == pytest.approx((x - y).mean() / sd)
    paired = stats.ttest_rel(x, y)
    assert (d["t_diff"], d["p_diff"]) == pytest.approx((paired.statistic, paired.pvalue))
    assert (d["mean_original"], d["sd_generated"]) == pytest.approx((x.mean(), y.std(ddof=1)))
    r = correlate_forms(x, y, 0.9)
    ci = stats.pearsonr(x, y).confidence_interval(0.9)
    assert r["r"] == pytest.approx(stats.pearsonr(x, y).statistic) and r["n"] == N
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high))


def test_external_step_and_too_few_values(data):
    x, y = data["xa"].mean(axis=1), data["xb"].mean(axis=1)
    few = np.full(N, np.nan)
    few[:3] = [1.0, 2.0, 3.0]
    scores = pd.DataFrame({"original": x, "generated": y, "vocab": data["vocab"], "few": few})
    vocab, sparse = external_validity(scores, ("vocab", "few"), 0.95)
    r12, r13, r23 = np.corrcoef(data["vocab"], x)[0, 1], np.corrcoef(data["vocab"], y)[0, 1], np.corrcoef(x, y)[0, 1]
    assert (vocab["r_original"], vocab["r_generated"], vocab["r_forms"]) == pytest.approx((r12, r13, r23))
    assert vocab["t"] == pytest.approx(williams_test(r12, r13, r23, N)["t"]) and vocab["df"] == N - 3
    assert sparse["column"] == "few" and sparse["n"] == 3
    assert all(math.isnan(sparse[k]) for k in ("r_original", "r_generated", "r_forms", "t", "df", "p"))


def test_sparse_external_is_reported_but_not_tested(forms, data):
    res = compare_forms(*forms, data["path"], external=["vocab", "few"])
    assert "external few: 3 value(s), too few for the correlations" in res.notes
    row = res.table.set_index("comparison").loc["external: few"]
    assert row["reject_h0"] is None and math.isnan(row["p_adj"]) and row["conclusion"] == "not tested"
    assert "Williams n/a" in row["apa"]


def test_adjust_words_each_conclusion():
    opts = FormsOptions(bound=0.25, alpha=0.05)
    family = [
        {"comparison": "difficulty", "p": 0.001},
        {"comparison": "reliability", "p": 0.04},
        {"comparison": "external: a", "p": 0.5},
        {"comparison": "external: b", "p": math.nan},
    ]
    rows = adjust(family, opts)
    holm = [0.003, 0.08, 0.5]  # three p values: .001 x 3, .04 x 2, .5 x 1 (monotone)
    assert [r["p_adj"] for r in rows[:3]] == pytest.approx(holm) and math.isnan(rows[3]["p_adj"])
    assert [r["reject_h0"] for r in rows] == [True, False, False, None]
    assert [r["conclusion"] for r in rows] == [
        "equivalent within ±0.25 d",
        "no significant difference",
        "no significant difference",
        "not tested",
    ]
    rows = adjust([{"comparison": "difficulty", "p": 0.2}, {"comparison": "reliability", "p": 0.001}], opts)
    assert [r["conclusion"] for r in rows] == ["not shown equivalent within ±0.25 d", "differ"]


HOSTILE_ID = '<script>alert("orig")</script>'
HOSTILE_GEN = "<img src=x onerror=alert(2)>"
HOSTILE_COLUMN = "<b onmouseover=alert(3)>vocab</b>"


def test_forms_page_escapes_hostile_ids_and_column_names(tmp_path: Path):
    original, generated = instrument(HOSTILE_ID, "o", "a"), instrument(HOSTILE_GEN, "g", "b")
    sim = write_responses(tmp_path / "hostile.csv", external=HOSTILE_COLUMN)
    res = compare_forms(original, generated, sim["path"], external=[HOSTILE_COLUMN], ignore=["few"])
    assert res.original == HOSTILE_ID and f"external: {HOSTILE_COLUMN}" in set(res.table["comparison"])
    page = write_forms_page(res, tmp_path / "out" / "forms.html").read_text(encoding="utf-8")
    assert page == render_forms_page(res)
    for raw in ("<script", "<img", "<b onmouseover"):
        assert raw not in page
    assert "&lt;script&gt;alert(&#34;orig&#34;)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "external: &lt;b onmouseover=alert(3)&gt;vocab&lt;/b&gt;" in page
    # numbers as the page has always shown them: three decimals, p without the "p" (its column says so)
    first = res.table.iloc[0]
    assert f"{first['estimate']:.3f} [{first['ci_low']:.3f}, {first['ci_high']:.3f}]" in page
    assert f'<td class="num">{first["original"]:.3f}</td>' in page
    p_text = "&lt; .001" if first["p"] < 0.001 else "= " + f"{first['p']:.3f}".removeprefix("0")
    assert f'<td class="num">{p_text}</td>' in page
    assert page.endswith("</html>\n")
