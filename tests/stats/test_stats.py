"""Tests for eitest.stats.

Reference values come from published examples where one was available and
verifiable (Fleiss, 1971, as reproduced with its intermediate values in the
Wikipedia article "Fleiss' kappa"; the singcar R package's test suite for the
Crawford-Howell t) and otherwise from computations written independently of the
implementation here: the noncentral t cdf by numerical integration over the
chi-square distribution (not scipy's ``nct``), Fleiss' kappa from its defining
sums, the multiple-testing adjustments by their step-down/step-up definitions,
and Monte Carlo coverage checks with known truth.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa
from statsmodels.stats.proportion import proportion_confint

from eitest.stats import (
    adjust_pvalues,
    binomial_ci,
    bootstrap_accuracy,
    hedges_j,
    noncentral_t_ci,
    paper_summary,
    pearson_ci,
    single_case,
)
from eitest.stats.measurement import agreement, item_correlation

# --------------------------------------------------------------------------- independent references


def nct_cdf_by_integration(x: float, df: int, delta: float) -> float:
    """P(T_df(delta) <= x) = E_V[Phi(x sqrt(V/df) - delta)], V ~ chi2(df).

    Written from the definition T = (Z + delta) / sqrt(V / df), not with scipy.stats.nct.
    """

    def integrand(v: float) -> float:
        return stats.norm.cdf(x * math.sqrt(v / df) - delta) * stats.chi2.pdf(v, df)

    # the chi-square mass outside [ppf(1e-15), isf(1e-15)] is negligible; a finite range keeps quad exact
    lo, hi = stats.chi2.ppf(1e-15, df), stats.chi2.isf(1e-15, df)
    value, _ = integrate.quad(integrand, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200)
    return value


def ncp_by_integration(x: float, df: int, q: float) -> float:
    return optimize.brentq(lambda d: nct_cdf_by_integration(x, df, d) - q, x - 15, x + 15, xtol=1e-12)


# --------------------------------------------------------------------------- single_case


def test_single_case_crawford_howell_t_matches_singcar_suite():
    # singcar (Rittmo & McIntosh) test-TD.R: TD(-2, controls = 0, sd = 1, n = 15) gives t = -1.936.
    res = single_case(-2, 0, 1, 15)
    assert round(res["t"], 3) == -1.936
    assert res["df"] == 14
    assert single_case(2, 0, 1, 15)["t"] == pytest.approx(1.936, abs=5e-4)


@pytest.mark.parametrize(
    ("score", "mean", "sd", "n"),
    [(130.0, 100.0, 15.0, 20), (0.62, 0.56, 0.11, 207), (71.0, 80.0, 6.0, 8), (0.81, 0.56, 0.12, 5)],
)
def test_single_case_against_independent_computation(score, mean, sd, n):
    res = single_case(score, mean, sd, n)
    c = (score - mean) / sd
    t = (score - mean) / (sd * math.sqrt((n + 1) / n))
    assert res["t"] == pytest.approx(t, rel=1e-12)
    assert res["df"] == n - 1
    assert res["z"] == pytest.approx(c, rel=1e-12)
    assert res["T_score"] == pytest.approx(50 + 10 * c, rel=1e-12)
    assert res["p_two_sided"] == pytest.approx(2 * stats.t.sf(abs(t), n - 1), rel=1e-10)
    assert res["p_one_sided"] == pytest.approx(stats.t.sf(abs(t), n - 1), rel=1e-10)
    assert res["percentile"] == pytest.approx(100 * stats.t.cdf(t, n - 1), rel=1e-10)

    # Crawford & Garthwaite (2002): deltas with P(T(delta) <= c sqrt(n)) = .975 and .025.
    d_lo = ncp_by_integration(c * math.sqrt(n), n - 1, 0.975)
    d_hi = ncp_by_integration(c * math.sqrt(n), n - 1, 0.025)
    assert res["z_cc"] == pytest.approx(c, rel=1e-12)
    assert res["z_cc_ci_low"] == pytest.approx(d_lo / math.sqrt(n), abs=1e-6)
    assert res["z_cc_ci_high"] == pytest.approx(d_hi / math.sqrt(n), abs=1e-6)
    assert res["percentile_ci_low"] == pytest.approx(100 * stats.norm.cdf(d_lo / math.sqrt(n)), abs=1e-6)
    assert res["percentile_ci_high"] == pytest.approx(100 * stats.norm.cdf(d_hi / math.sqrt(n)), abs=1e-6)
    df = n - 1
    j = math.gamma(df / 2) / (math.sqrt(df / 2) * math.gamma((df - 1) / 2))  # Hedges (1981), exact
    assert res["hedges_g"] == pytest.approx(c * j, rel=1e-12)
    assert res["hedges_g_reason"] is None
    assert res["hedges_g_ci_low"] == pytest.approx(j * d_lo / math.sqrt(n), abs=1e-6)
    assert res["hedges_g_ci_high"] == pytest.approx(j * d_hi / math.sqrt(n), abs=1e-6)
    assert res["z_cc_ci_low"] < c < res["z_cc_ci_high"]


def test_hedges_j_exact_against_gamma_formula_and_the_approximation():
    for df in (2, 3, 10, 29, 119, 206):
        j, reason = hedges_j(df)
        assert reason is None
        assert j == pytest.approx(math.gamma(df / 2) / (math.sqrt(df / 2) * math.gamma((df - 1) / 2)), rel=1e-13)
    # df = 10: exact 24 / (sqrt(5) Gamma(4.5)) = 0.922746 against the approximation 1 - 3/39 = 0.923077
    j10, _ = hedges_j(10)
    assert round(j10, 6) == 0.922746 and round(1 - 3 / (4 * 10 - 1), 6) == 0.923077
    assert 3e-4 < (1 - 3 / 39) - j10 < 4e-4
    # the approximation converges to the exact factor for large df (the error is O(df^-2))
    big, _ = hedges_j(5000)
    assert big == pytest.approx(1 - 3 / (4 * 5000 - 1), abs=1e-8) and big != 1 - 3 / (4 * 5000 - 1)


def test_hedges_g_is_nan_with_a_reason_for_a_norm_of_two():
    j, reason = hedges_j(1)
    assert math.isnan(j) and "more than 1 degree of freedom" in reason
    res = single_case(0.9, 0.5, 0.1, 2)  # the approximation gave J = 1 - 3/3 = 0, so g = 0 whatever the score
    assert math.isnan(res["hedges_g"]) and math.isnan(res["hedges_g_ci_low"]) and math.isnan(res["hedges_g_ci_high"])
    assert "degree of freedom" in res["hedges_g_reason"]
    assert res["z_cc"] == pytest.approx(4.0) and math.isfinite(res["t"])
    with pytest.raises(ValueError, match="df must be > 0"):
        hedges_j(0)


def test_single_case_percentile_below_mean_is_one_sided_p():
    # Crawford & Garthwaite (2002): the point estimate of abnormality is the one-tailed p of the t-test.
    res = single_case(85, 100, 10, 12)
    assert res["percentile"] == pytest.approx(100 * res["p_one_sided"], rel=1e-12)


def test_single_case_alpha_changes_interval_level():
    wide = single_case(1.0, 0.0, 1.0, 30, alpha=0.01)
    narrow = single_case(1.0, 0.0, 1.0, 30, alpha=0.10)
    assert wide["z_cc_ci_low"] < narrow["z_cc_ci_low"] < narrow["z_cc_ci_high"] < wide["z_cc_ci_high"]
    assert wide["ci_level"] == pytest.approx(0.99)
    d_lo = ncp_by_integration(math.sqrt(30), 29, 0.995)
    assert wide["z_cc_ci_low"] == pytest.approx(d_lo / math.sqrt(30), abs=1e-6)


def test_single_case_zcc_interval_coverage_monte_carlo():
    # The Crawford-Garthwaite-Porter interval is exact: simulate norm samples with known z of the case.
    rng = np.random.default_rng(2024)
    n, true_z, sims = 10, 1.5, 600
    covered = 0
    for _ in range(sims):
        sample = rng.standard_normal(n)
        res = single_case(true_z, sample.mean(), sample.std(ddof=1), n)
        covered += res["z_cc_ci_low"] <= true_z <= res["z_cc_ci_high"]
    assert 0.92 <= covered / sims <= 0.98


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sd": 0.0}, "sd must be > 0"),
        ({"sd": -1.0}, "sd must be > 0"),
        ({"n": 1}, "n must be a whole number >= 2"),
        ({"n": 10.5}, "n must be a whole number >= 2"),
        ({"score": math.nan}, "score must be a finite number"),
        ({"mean": "x"}, "mean must be a number"),
        ({"alpha": 1.0}, "alpha must lie strictly between 0 and 1"),
    ],
)
def test_single_case_rejects_bad_input(kwargs, message):
    args = {"score": 1.0, "mean": 0.0, "sd": 1.0, "n": 20} | kwargs
    with pytest.raises(ValueError, match=message):
        single_case(**args)


def test_noncentral_t_ci_against_integration_for_large_t():
    lo, hi = noncentral_t_ci(8.0, 40, 0.9)
    assert lo == pytest.approx(ncp_by_integration(8.0, 40, 0.95), abs=1e-6)
    assert hi == pytest.approx(ncp_by_integration(8.0, 40, 0.05), abs=1e-6)


# --------------------------------------------------------------------------- bootstrap_accuracy


def grid_frame(scores: np.ndarray) -> pd.DataFrame:
    items, reps = scores.shape
    return pd.DataFrame(
        {
            "item_id": np.repeat([f"i{k:02d}" for k in range(items)], reps),
            "repetition": np.tile(np.arange(reps), items),
            "score": scores.ravel(),
        }
    )


def test_bootstrap_accuracy_point_values():
    rng = np.random.default_rng(7)
    scores = (rng.random((45, 10)) < 0.8).astype(float)
    res = bootstrap_accuracy(grid_frame(scores))
    assert res["mean"] == pytest.approx(scores.mean(), rel=1e-12)
    assert res["sd_reps"] == pytest.approx(scores.mean(axis=0).std(ddof=1), rel=1e-12)
    assert (res["n_items"], res["n_reps"], res["n_trials"], res["n_boot"]) == (45, 10, 450, 2000)
    assert res["ci_low"] < res["mean"] < res["ci_high"]
    # reproducible with a seed
    assert bootstrap_accuracy(grid_frame(scores)) == res


def test_bootstrap_accuracy_matches_explicit_resampling():
    # Reference: the obvious loop that resamples item rows and repetition columns and averages the grid.
    rng = np.random.default_rng(11)
    p = rng.beta(2, 1, size=30)
    scores = (rng.random((30, 6)) < p[:, None]).astype(float)
    ref_rng = np.random.default_rng(99)
    means = []
    for _ in range(4000):
        rows = ref_rng.integers(0, 30, 30)
        cols = ref_rng.integers(0, 6, 6)
        means.append(scores[np.ix_(rows, cols)].mean())
    ref_lo, ref_hi = np.quantile(means, [0.025, 0.975])
    res = bootstrap_accuracy(grid_frame(scores), n_boot=4000, seed=5)
    # two Monte Carlo estimates of the same quantiles: agree within simulation error
    assert res["ci_low"] == pytest.approx(ref_lo, abs=0.015)
    assert res["ci_high"] == pytest.approx(ref_hi, abs=0.015)


def test_bootstrap_accuracy_coverage_with_known_truth():
    # Items drawn from Beta(1.4, 0.6) (true mean .70; LLM-like: many items nearly always right),
    # 10 independent repetitions each. The two-way bootstrap counts the within-item noise twice,
    # so it errs on the conservative side; it must still be close to nominal.
    rng = np.random.default_rng(20250101)
    truth, sims, covered = 1.4 / 2.0, 200, 0
    for s in range(sims):
        p = rng.beta(1.4, 0.6, size=45)
        scores = (rng.random((45, 10)) < p[:, None]).astype(float)
        res = bootstrap_accuracy(grid_frame(scores), seed=s)
        covered += res["ci_low"] <= truth <= res["ci_high"]
    assert 0.90 <= covered / sims <= 0.99


def test_bootstrap_accuracy_degenerate_and_incomplete_grids():
    same = bootstrap_accuracy(grid_frame(np.full((5, 3), 0.5)))
    assert (same["ci_low"], same["mean"], same["ci_high"]) == (0.5, 0.5, 0.5)

    one_rep = bootstrap_accuracy(grid_frame(np.array([[1.0], [0.0], [1.0]])))
    assert math.isnan(one_rep["sd_reps"])
    assert one_rep["n_reps"] == 1

    frame = grid_frame(np.array([[1.0, 0.0], [1.0, 1.0]])).iloc[:3]  # i01 lacks repetition 1
    res = bootstrap_accuracy(frame)
    assert res["n_trials"] == 3
    assert res["mean"] == pytest.approx(2 / 3)
    assert res["sd_reps"] == pytest.approx(np.std([1.0, 0.0], ddof=1))


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"item_id": [1], "score": [1.0]}), "lacks column"),
        (pd.DataFrame({"item_id": [1], "repetition": [0], "score": [1.5]}), r"in \[0, 1\]"),
        (pd.DataFrame({"item_id": [1], "repetition": [0], "score": [math.nan]}), "missing"),
        (pd.DataFrame({"item_id": [1, 1], "repetition": [0, 0], "score": [1.0, 0.0]}), "more than one row"),
        (pd.DataFrame({"item_id": [], "repetition": [], "score": []}), "empty"),
    ],
)
def test_bootstrap_accuracy_rejects_bad_input(frame, message):
    with pytest.raises(ValueError, match=message):
        bootstrap_accuracy(frame)


@pytest.mark.parametrize("n_boot", [2.5, 0, -3, True, "many", math.nan])
def test_bootstrap_accuracy_rejects_a_count_that_is_not_whole(n_boot):
    frame = grid_frame(np.array([[1.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="n_boot must be"):
        bootstrap_accuracy(frame, n_boot=n_boot)


def test_bootstrap_accuracy_takes_a_whole_float_count():
    frame = grid_frame(np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))
    assert bootstrap_accuracy(frame, n_boot=300.0) == bootstrap_accuracy(frame, n_boot=300)


# --------------------------------------------------------------------------- pearson_ci


@pytest.mark.parametrize("ci", [1.5, 1.0, 0.0, -0.2, math.nan])
def test_pearson_ci_rejects_a_level_outside_zero_one(ci):
    with pytest.raises(ValueError, match="ci must"):
        pearson_ci([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], ci=ci)


def test_pearson_ci_level_matches_scipy():
    x, y = [1, 2, 3, 4, 5, 6, 7], [2, 1, 4, 3, 7, 5, 6]
    ref = stats.pearsonr(x, y).confidence_interval(0.80)
    res = pearson_ci(x, y, ci=0.80)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((ref.low, ref.high), abs=1e-12)


# --------------------------------------------------------------------------- binomial_ci


def test_binomial_ci_wilson_by_formula_and_statsmodels():
    k, n = 34, 42
    res = binomial_ci(k, n)
    p, z = k / n, stats.norm.ppf(0.975)
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert res["ci_low"] == pytest.approx(centre - half, abs=1e-12)
    assert res["ci_high"] == pytest.approx(centre + half, abs=1e-12)
    assert res["proportion"] == pytest.approx(p)


def test_binomial_ci_other_methods():
    res = binomial_ci(0, 20, method="beta", alpha=0.10)
    assert res["ci_low"] == 0.0
    # Clopper-Pearson upper bound for k = 0: 1 - (alpha/2)^(1/n)
    assert res["ci_high"] == pytest.approx(1 - 0.05 ** (1 / 20), abs=1e-10)
    assert res["ci_high"] == pytest.approx(proportion_confint(0, 20, alpha=0.10, method="beta")[1])


@pytest.mark.parametrize(("k", "n"), [(5, 4), (-1, 4), (1, 0), (1.5, 4)])
def test_binomial_ci_rejects_bad_counts(k, n):
    with pytest.raises(ValueError):
        binomial_ci(k, n)


# --------------------------------------------------------------------------- agreement


def choices_frame(rows: list[list[object]]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"item_id": f"q{i}", "repetition": r, "choice": choice}
            for i, row in enumerate(rows)
            for r, choice in enumerate(row)
        ]
    )


FLEISS_TABLE = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)


def test_agreement_fleiss_published_example():
    # Fleiss (1971) style example of the Wikipedia article: 10 subjects, 14 raters, 5 categories,
    # P_bar = 0.378, P_e = 0.213, kappa = 0.210. Expand the count table into raw ratings.
    rows = [[cat for cat, count in enumerate(counts) for _ in range(count)] for counts in FLEISS_TABLE]
    res = agreement(choices_frame(rows))
    assert round(res["fleiss_kappa"], 3) == 0.210
    # full precision against the defining sums
    n = 14
    p_bar = (((FLEISS_TABLE**2).sum(axis=1) - n) / (n * (n - 1))).mean()
    p_e = ((FLEISS_TABLE.sum(axis=0) / FLEISS_TABLE.sum()) ** 2).sum()
    assert round(p_bar, 3) == 0.378 and round(p_e, 3) == 0.213
    assert res["fleiss_kappa"] == pytest.approx((p_bar - p_e) / (1 - p_e), abs=1e-12)
    assert res["modal_rate"] == pytest.approx(0.1)  # only the first subject is unanimous
    assert (res["n_items"], res["n_reps"], res["n_categories"]) == (10, 14, 5)


def test_agreement_none_is_its_own_category_and_matches_statsmodels():
    rows = [["A", "A", "A"], ["B", "B", None], [None, None, None], ["C", "A", "B"], ["D", "D", "D"]]
    res = agreement(choices_frame(rows))
    raw = np.array([[str(c) if c is not None else "<none>" for c in row] for row in rows])
    table, cats = aggregate_raters(raw)
    assert "<none>" in cats
    assert res["fleiss_kappa"] == pytest.approx(fleiss_kappa(table), abs=1e-12)
    assert res["modal_rate"] == pytest.approx(3 / 5)
    assert res["n_categories"] == 5
    assert res["reason"] is None


def test_agreement_undefined_cases():
    one_rep = agreement(choices_frame([["A"], ["B"]]))
    assert math.isnan(one_rep["modal_rate"]) and math.isnan(one_rep["fleiss_kappa"])
    assert "two repetitions" in one_rep["reason"]

    unanimous = agreement(choices_frame([["A", "A"], ["A", "A"]]))
    assert unanimous["modal_rate"] == 1.0
    assert math.isnan(unanimous["fleiss_kappa"])
    assert "one category" in unanimous["reason"]


def test_agreement_leaves_failed_calls_out():
    # Item q0: two failed calls; before, "<none>" == "<none>" counted as agreeing.
    rows = [[None, None, "A"], ["B", "B", "B"], ["C", "A", "C"], [None, None, None], ["D", "D", "D"]]
    status = [["error", "error", "answered"], ["answered"] * 3, ["answered"] * 3, ["unparseable"] * 3, ["answered"] * 3]
    frame = choices_frame(rows).assign(status=[s for row in status for s in row])
    res = agreement(frame)
    assert (res["n_items"], res["n_items_left_out"], res["n_failed"], res["n_reps"]) == (4, 1, 2, 3)
    # over the four complete items: unparseable replies stay a category of their own
    used = np.array([[str(c) if c is not None else "<none>" for c in row] for row in rows[1:]])
    table, _ = aggregate_raters(used)
    assert res["fleiss_kappa"] == pytest.approx(fleiss_kappa(table), abs=1e-12)
    assert res["modal_rate"] == pytest.approx(3 / 4)
    assert "1 of 5 items left out" in res["reason"] and "4 items" in res["reason"]
    # without the status column every row is a reply, as before: all five items, q0 disagreeing
    plain = agreement(choices_frame(rows))
    assert (plain["n_items"], plain["n_failed"], plain["reason"]) == (5, 0, None)
    assert plain["modal_rate"] == pytest.approx(3 / 5)


def test_agreement_two_failed_calls_do_not_agree():
    rows = [[None, None], ["A", "B"]]
    frame = choices_frame(rows).assign(status=["error", "error", "answered", "answered"])
    res = agreement(frame)
    assert res["n_items"] == 1 and res["modal_rate"] == 0.0
    assert agreement(choices_frame(rows))["modal_rate"] == 0.5  # counted as agreement when failures are a category


def test_agreement_incomplete_items_are_left_out_not_an_error():
    frame = choices_frame([["A", "A"], ["B", "B"], ["A", "C"]]).iloc[[0, 1, 2, 4, 5]]  # q1 lacks repetition 1
    frame.index = [0, 0, 1, 1, 1]  # a repeated index must not matter
    res = agreement(frame)
    assert (res["n_items"], res["n_items_left_out"], res["n_failed"]) == (2, 1, 0)
    assert res["modal_rate"] == pytest.approx(0.5)
    assert "1 of 3 items left out" in res["reason"]


def test_agreement_with_no_complete_item_is_nan_with_a_reason():
    frame = choices_frame([["A", "A"], ["B", "B"]]).assign(status=["error", "answered", "answered", "error"])
    res = agreement(frame)
    assert res["n_items"] == 0 and res["n_failed"] == 2
    assert math.isnan(res["modal_rate"]) and math.isnan(res["fleiss_kappa"])
    assert "no item was answered in every repetition" in res["reason"]


# --------------------------------------------------------------------------- item_correlation


def test_item_correlation_against_rank_pearson():
    acc = np.array([0.9, 0.8, 1.0, 0.3, 0.5, 0.5, 0.7])
    human = np.array([0.7, 0.6, 0.8, 0.2, 0.5, 0.3, 0.65])
    res = item_correlation(acc, human)
    r = np.corrcoef(stats.rankdata(acc), stats.rankdata(human))[0, 1]
    t = r * math.sqrt((7 - 2) / (1 - r**2))
    assert res["rho"] == pytest.approx(r, abs=1e-12)
    assert res["p"] == pytest.approx(2 * stats.t.sf(abs(t), 5), abs=1e-10)
    assert res["n"] == 7 and res["reason"] is None


def test_item_correlation_aligns_series_and_drops_missing():
    acc = pd.Series({"a": 1.0, "b": 0.5, "c": 0.2, "d": 0.9, "e": np.nan})
    human = pd.Series({"d": 0.8, "c": 0.1, "b": 0.4, "a": 0.9, "e": 0.5, "z": 0.3})
    res = item_correlation(acc, human)
    assert res["n"] == 4
    assert res["rho"] == pytest.approx(1.0)


def test_item_correlation_undefined_cases():
    few = item_correlation([1.0, 0.5], [0.2, 0.4])
    assert math.isnan(few["rho"]) and "at least 3" in few["reason"]
    flat = item_correlation([1.0, 1.0, 1.0, 1.0], [0.2, 0.4, 0.5, 0.9])
    assert math.isnan(flat["rho"]) and "constant" in flat["reason"]
    with pytest.raises(ValueError, match="values"):
        item_correlation([1.0, 0.5, 0.2], [0.2, 0.4])


# --------------------------------------------------------------------------- adjust_pvalues


def holm_by_hand(p: list[float]) -> np.ndarray:
    m = len(p)
    order = np.argsort(p)
    adjusted = np.empty(m)
    running = 0.0
    for rank, idx in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[idx]))
        adjusted[idx] = running
    return adjusted


def bh_by_hand(p: list[float]) -> np.ndarray:
    m = len(p)
    order = np.argsort(p)[::-1]
    adjusted = np.empty(m)
    running = 1.0
    for position, idx in enumerate(order):
        rank = m - position
        running = min(running, p[idx] * m / rank)
        adjusted[idx] = running
    return adjusted


P_FAMILY = [0.01, 0.04, 0.03, 0.005, 0.20]


def test_adjust_pvalues_holm_and_bh_by_definition():
    np.testing.assert_allclose(adjust_pvalues(P_FAMILY, "holm"), holm_by_hand(P_FAMILY), atol=1e-12)
    np.testing.assert_allclose(adjust_pvalues(P_FAMILY, "fdr_bh"), bh_by_hand(P_FAMILY), atol=1e-12)
    # hand check of Holm: sorted .005*5, .01*4, .03*3, max(.04*2, .09), .2
    np.testing.assert_allclose(adjust_pvalues(P_FAMILY, "holm"), [0.04, 0.09, 0.09, 0.025, 0.20], atol=1e-12)


def test_adjust_pvalues_passes_nan_through_and_keeps_series_index():
    p = pd.Series([0.01, np.nan, 0.04, 0.03], index=["steu", "stem", "geco", "gemok"])
    out = adjust_pvalues(p, "holm")
    assert isinstance(out, pd.Series) and list(out.index) == list(p.index)
    assert math.isnan(out["stem"])
    np.testing.assert_allclose(out.drop("stem").to_numpy(), holm_by_hand([0.01, 0.04, 0.03]), atol=1e-12)
    assert np.isnan(adjust_pvalues([np.nan, np.nan])).all()


def test_adjust_pvalues_rejects_bad_input():
    with pytest.raises(ValueError, match="method"):
        adjust_pvalues([0.1], "bogus")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        adjust_pvalues([1.5])


# --------------------------------------------------------------------------- paper_summary


def test_paper_summary_means_and_t_intervals():
    scores = pd.DataFrame(
        {
            "model": ["m1"] * 3 + ["m2"] * 3 + ["m3"],
            "instrument": ["steu", "stem", "geco", "steu", "stem", "geco", "steu"],
            "accuracy": [0.80, 0.70, 0.90, 0.60, 0.65, 0.85, 0.75],
        }
    )
    norms = pd.DataFrame({"instrument": ["steu", "stem", "geco", "gemok"], "mean": [0.60, 0.52, 0.55, 0.50]})
    out = paper_summary(scores, norms).set_index("name")
    assert list(out.columns) == ["row", "n_tests", "mean", "sd", "ci_low", "ci_high", "instruments"]

    m1 = np.array([0.80, 0.70, 0.90])
    half = stats.t.ppf(0.975, 2) * m1.std(ddof=1) / math.sqrt(3)
    assert out.loc["m1", "mean"] == pytest.approx(0.8)
    assert out.loc["m1", "ci_low"] == pytest.approx(0.8 - half, abs=1e-12)
    assert out.loc["m1", "ci_high"] == pytest.approx(0.8 + half, abs=1e-12)
    assert out.loc["m3", "n_tests"] == 1 and math.isnan(out.loc["m3", "ci_low"])

    # per test, mean over the models that took it; norms over the same (scored) instruments only
    llm = np.array([(0.90 + 0.85) / 2, (0.70 + 0.65) / 2, (0.80 + 0.60 + 0.75) / 3])  # geco, stem, steu
    human = np.array([0.55, 0.52, 0.60])
    for name, values in (("All LLMs", llm), ("Humans (norms)", human)):
        half = stats.t.ppf(0.975, 2) * values.std(ddof=1) / math.sqrt(3)
        assert out.loc[name, "mean"] == pytest.approx(values.mean(), abs=1e-12)
        assert out.loc[name, "ci_low"] == pytest.approx(values.mean() - half, abs=1e-12)
        assert out.loc[name, "instruments"] == "geco,stem,steu"
    assert out.loc["All LLMs", "row"] == "llm_mean" and out.loc["Humans (norms)", "row"] == "human_mean"


def test_paper_summary_rejects_percentages_and_duplicates():
    norms = pd.DataFrame({"instrument": ["steu"], "mean": [0.6]})
    with pytest.raises(ValueError, match="proportion"):
        paper_summary(pd.DataFrame({"model": ["m"], "instrument": ["steu"], "accuracy": [81.0]}), norms)
    dup = pd.DataFrame({"model": ["m", "m"], "instrument": ["steu", "steu"], "accuracy": [0.8, 0.7]})
    with pytest.raises(ValueError, match="more than one"):
        paper_summary(dup, norms)


def test_single_case_far_below_the_norm_is_mirror_of_far_above():
    # scipy's nct.cdf gives NaN this far in the tail; the interval must still exist
    # and mirror the case as far above the mean.
    below = single_case(0.2, 0.58, 0.12, 120)
    above = single_case(0.96, 0.58, 0.12, 120)
    assert below["z_cc_ci_low"] == pytest.approx(-above["z_cc_ci_high"], abs=1e-8)
    assert below["z_cc_ci_high"] == pytest.approx(-above["z_cc_ci_low"], abs=1e-8)
    assert below["percentile_ci_low"] == pytest.approx(100 - above["percentile_ci_high"], abs=1e-8)
