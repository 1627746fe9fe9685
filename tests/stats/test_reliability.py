"""Tests for eitest.stats.

Published examples: Feldt, Woodruff & Salih (1987, p. 95) for the alpha interval;
Charter & Feldt (1996) for the dependent and independent alpha comparisons (the
same examples the cocron R package tests). Everything else is checked against
computations written independently here: alpha as Hoyt's (1941) ANOVA
reliability, KR-20 from p q, item-total correlations with numpy, TOST against
statsmodels and against the one-sided t formulas, the d_z interval against a
noncentral t cdf obtained by numerical integration, and Monte Carlo checks with
known population values.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats
from statsmodels.stats.weightstats import ttost_paired

from eitest.stats import (
    cronbach_alpha,
    feldt_ci,
    feldt_dependent,
    feldt_independent,
    item_total,
    kr20,
    tost_paired,
)


def hoyt_reliability(x: np.ndarray) -> float:
    """Hoyt (1941): 1 - MS_residual / MS_persons from a persons x items two-way ANOVA."""
    n, k = x.shape
    grand = x.mean()
    ss_persons = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_items = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_resid = ((x - grand) ** 2).sum() - ss_persons - ss_items
    return 1 - (ss_resid / ((n - 1) * (k - 1))) / (ss_persons / (n - 1))


def congeneric_scores(rng: np.random.Generator, n: int, k: int, loading: float = 0.6) -> np.ndarray:
    return loading * rng.standard_normal((n, 1)) + math.sqrt(1 - loading**2) * rng.standard_normal((n, k))


# --------------------------------------------------------------------------- alpha, KR-20


def test_feldt_ci_published_example():
    # Feldt, Woodruff & Salih (1987, p. 95): alpha = .790, n = 41, k = 26, 90% CI reported as [.704, .861]
    # with F values rounded to two decimals; exact F values give [.705, .862] (also cocron's test).
    res = feldt_ci(0.790, 41, 26, ci=0.90)
    assert round(res["ci_low"], 3) == 0.705
    assert round(res["ci_high"], 3) == 0.862
    assert abs(res["ci_low"] - 0.704) < 0.0015 and abs(res["ci_high"] - 0.861) < 0.0015
    assert (res["df1"], res["df2"]) == (40, 1000)


def test_cronbach_alpha_equals_hoyt_anova_and_feldt_interval():
    rng = np.random.default_rng(1)
    x = congeneric_scores(rng, 60, 8)
    res = cronbach_alpha(pd.DataFrame(x, columns=[f"i{j}" for j in range(8)]))
    assert res["alpha"] == pytest.approx(hoyt_reliability(x), abs=1e-12)
    # Feldt interval written out from the F quantiles
    a, df1, df2 = res["alpha"], 59, 59 * 7
    assert res["ci_low"] == pytest.approx(1 - (1 - a) * stats.f.ppf(0.975, df1, df2), abs=1e-12)
    assert res["ci_high"] == pytest.approx(1 - (1 - a) * stats.f.ppf(0.025, df1, df2), abs=1e-12)
    assert res["ci_low"] < a < res["ci_high"]
    assert (res["n"], res["k"]) == (60, 8)


def test_cronbach_alpha_small_example_by_hand():
    # 4 people x 3 items. Item variances (ddof=1): 5/3, 2.75/3, 2.75/3 -> sum 3.5; totals 3, 6, 9, 8 ->
    # variance 21/3 = 7; alpha = 3/2 * (1 - 3.5/7) = 0.75 exactly.
    x = pd.DataFrame({"a": [1, 2, 4, 3], "b": [1, 3, 3, 2], "c": [1, 1, 2, 3]})
    assert cronbach_alpha(x)["alpha"] == pytest.approx(0.75, abs=1e-12)
    assert hoyt_reliability(x.to_numpy(float)) == pytest.approx(0.75, abs=1e-12)


def test_kr20_equals_alpha_for_binary_items_and_formula():
    rng = np.random.default_rng(2)
    ability = rng.standard_normal((120, 1))
    difficulty = np.linspace(-1, 1, 10)
    x = (ability + 0.8 * rng.standard_normal((120, 10)) > difficulty).astype(int)
    frame = pd.DataFrame(x)
    res = kr20(frame)
    p = x.mean(axis=0)
    by_hand = 10 / 9 * (1 - (p * (1 - p)).sum() / x.sum(axis=1).var(ddof=0))
    assert res["kr20"] == pytest.approx(by_hand, abs=1e-12)
    assert res["kr20"] == pytest.approx(cronbach_alpha(frame)["alpha"], abs=1e-12)
    assert res["ci_low"] == pytest.approx(cronbach_alpha(frame)["ci_low"], abs=1e-12)
    with pytest.raises(ValueError, match="0/1"):
        kr20(frame * 2)


def test_cronbach_alpha_listwise_deletion():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(congeneric_scores(rng, 30, 5))
    with_missing = x.copy()
    with_missing.iloc[[2, 7], [1, 3]] = np.nan
    res = cronbach_alpha(with_missing)
    assert res["n"] == 28
    assert res["alpha"] == pytest.approx(cronbach_alpha(x.drop(index=[2, 7]))["alpha"], abs=1e-12)


def test_feldt_interval_coverage_monte_carlo():
    # Parallel items with loading l: population alpha = k l^2 / (1 + (k - 1) l^2).
    rng = np.random.default_rng(4)
    n, k, loading, sims = 40, 6, 0.6, 400
    rho = loading**2
    truth = k * rho / (1 + (k - 1) * rho)
    covered = 0
    for _ in range(sims):
        res = cronbach_alpha(pd.DataFrame(congeneric_scores(rng, n, k, loading)))
        covered += res["ci_low"] <= truth <= res["ci_high"]
    assert 0.92 <= covered / sims <= 0.98


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        (pd.DataFrame({"a": [1, 2, 3]}), ValueError, "at least 2 items"),
        (pd.DataFrame({"a": [1], "b": [2]}), ValueError, "at least 2 participants"),
        (pd.DataFrame({"a": [1, 2], "b": ["x", 1]}), ValueError, "non-numeric"),
        (pd.DataFrame({"a": [1, 1], "b": [2, 2]}), ValueError, "zero variance"),
        ([[1, 2], [3, 4]], TypeError, "DataFrame"),
    ],
)
def test_cronbach_alpha_rejects_bad_input(frame, error, message):
    with pytest.raises(error, match=message):
        cronbach_alpha(frame)


def test_feldt_ci_rejects_bad_input():
    with pytest.raises(ValueError, match="alpha must be < 1"):
        feldt_ci(1.0, 40, 10)
    with pytest.raises(ValueError, match="n must be a whole number >= 2"):
        feldt_ci(0.8, 1, 10)


# --------------------------------------------------------------------------- item analysis


def test_item_total_against_numpy():
    rng = np.random.default_rng(5)
    x = (congeneric_scores(rng, 80, 6) > 0).astype(float)
    x[:, 5] = 1.0  # a constant item: r is undefined
    frame = pd.DataFrame(x, columns=list("abcdef"))
    out = item_total(frame)
    assert list(out.columns) == ["item", "p", "r_corrected", "alpha_if_deleted"]
    assert list(out["item"]) == list("abcdef")
    for j in range(5):
        rest = np.delete(x, j, axis=1).sum(axis=1)
        assert out.loc[j, "p"] == pytest.approx(x[:, j].mean())
        assert out.loc[j, "r_corrected"] == pytest.approx(np.corrcoef(x[:, j], rest)[0, 1], abs=1e-12)
        assert out.loc[j, "alpha_if_deleted"] == pytest.approx(hoyt_reliability(np.delete(x, j, axis=1)), abs=1e-12)
    assert math.isnan(out.loc[5, "r_corrected"])
    assert out.loc[5, "p"] == 1.0


def test_item_total_two_items_has_no_alpha_if_deleted():
    out = item_total(pd.DataFrame({"a": [1, 0, 1, 1], "b": [1, 0, 0, 1]}))
    assert out["alpha_if_deleted"].isna().all()
    assert out.loc[0, "r_corrected"] == pytest.approx(np.corrcoef([1, 0, 1, 1], [1, 0, 0, 1])[0, 1])


# --------------------------------------------------------------------------- TOST


def nct_cdf_by_integration(x: float, df: int, delta: float) -> float:
    """P(T_df(delta) <= x) from T = (Z + delta) / sqrt(V / df), V ~ chi2(df); no scipy.stats.nct."""
    lo, hi = stats.chi2.ppf(1e-15, df), stats.chi2.isf(1e-15, df)
    value, _ = integrate.quad(
        lambda v: stats.norm.cdf(x * math.sqrt(v / df) - delta) * stats.chi2.pdf(v, df),
        lo,
        hi,
        epsabs=1e-13,
        epsrel=1e-12,
        limit=200,
    )
    return value


def paired_sample(seed: int, n: int = 60, shift: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(0.56, 0.12, n)
    y = x + rng.normal(shift, 0.10, n)
    return x, y


def test_tost_paired_is_exact_noncentral_t_on_d_z():
    x, y = paired_sample(6)
    res = tost_paired(x, y, bound_d=0.25)
    diff = x - y
    n, mean, sd = diff.size, diff.mean(), diff.std(ddof=1)
    d_z, ncp = mean / sd, 0.25 * math.sqrt(n)
    t = d_z * math.sqrt(n)
    # the two one-sided p values: scipy's nct (sf with -ncp, not the implementation's reflected cdf) ...
    p_lower = stats.nct.sf(t, n - 1, -ncp)
    p_upper = stats.nct.cdf(t, n - 1, ncp)
    assert res["p_lower"] == pytest.approx(p_lower, rel=1e-10)
    assert res["p_upper"] == pytest.approx(p_upper, rel=1e-10)
    assert res["p_tost"] == pytest.approx(max(p_lower, p_upper), rel=1e-10)
    # ... and the noncentral t written from its definition, by integration
    assert res["p_upper"] == pytest.approx(nct_cdf_by_integration(t, n - 1, ncp), abs=1e-10)
    assert res["p_lower"] == pytest.approx(1 - nct_cdf_by_integration(t, n - 1, -ncp), abs=1e-10)
    # t_lower / t_upper: the distance of the observed t from each bound, the familiar TOST t (as statsmodels)
    low, upp = -0.25 * sd, 0.25 * sd
    _, (t1, _, df1), (t2, _, _) = ttost_paired(x, y, low, upp)
    assert res["t_lower"] == pytest.approx(t1, rel=1e-12) and res["t_upper"] == pytest.approx(t2, rel=1e-12)
    assert res["t_lower"] == pytest.approx((d_z + 0.25) * math.sqrt(n), rel=1e-12)
    assert res["df"] == df1 == n - 1
    assert res["mean_diff"] == pytest.approx(mean) and res["sd_diff"] == pytest.approx(sd)
    assert (res["bound_low"], res["bound_high"]) == pytest.approx((low, upp))
    assert res["equivalent"] is (res["p_tost"] < 0.05)
    assert res["d"] == pytest.approx(d_z, rel=1e-12)

    # exact 90% interval for d_z (noncentral t), against the integrated cdf
    d_lo = optimize.brentq(lambda d: nct_cdf_by_integration(t, n - 1, d) - 0.95, t - 10, t + 10)
    d_hi = optimize.brentq(lambda d: nct_cdf_by_integration(t, n - 1, d) - 0.05, t - 10, t + 10)
    assert res["ci_level"] == pytest.approx(0.90)
    assert res["d_ci_low"] == pytest.approx(d_lo / math.sqrt(n), abs=1e-6)
    assert res["d_ci_high"] == pytest.approx(d_hi / math.sqrt(n), abs=1e-6)


def paired_with_d_z(n: int, d_z: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Paired scores whose differences have exactly the standardized mean d_z."""
    z = np.random.default_rng(seed).normal(size=n)
    diff = (z - z.mean()) / z.std(ddof=1) + d_z
    y = np.random.default_rng(seed + 1).normal(0.56, 0.12, n)
    return y + diff * 0.1, y


def test_tost_paired_issue_example_n50_dz015_is_equivalent():
    # The case that made the raw-unit TOST contradict its own interval: n = 50, d_z = .015.
    x, y = paired_with_d_z(50, 0.015, seed=3)
    res = tost_paired(x, y, bound_d=0.25)
    assert res["d"] == pytest.approx(0.015, abs=1e-12)
    # the raw-unit TOST (observed SD taken as known) says "not equivalent" ...
    sd = (x - y).std(ddof=1)
    assert ttost_paired(x, y, -0.25 * sd, 0.25 * sd)[0] == pytest.approx(0.05148, abs=5e-5)
    # ... while the 90% interval lies inside +-.25; the exact test agrees with the interval
    assert (round(res["d_ci_low"], 3), round(res["d_ci_high"], 3)) == (-0.218, 0.248)
    t, ncp = 0.015 * math.sqrt(50), 0.25 * math.sqrt(50)
    assert res["p_tost"] == pytest.approx(stats.nct.cdf(t, 49, ncp), rel=1e-10)
    assert res["p_tost"] == pytest.approx(0.048242, abs=1e-6)
    assert res["p_upper"] > res["p_lower"] and res["equivalent"] is True


def test_tost_paired_decision_agrees_with_the_interval_over_a_grid():
    cases = 0
    for n in (8, 20, 50, 150, 400):
        for true_d in (0.0, 0.1, 0.2, 0.3):
            for seed in range(3):
                rng = np.random.default_rng(1000 * n + 10 * int(true_d * 10) + seed)
                diff = rng.normal(true_d, 1.0, n)
                y = rng.normal(0.0, 1.0, n)
                for bound in (0.1, 0.25, 0.5):
                    res = tost_paired(y + diff, y, bound_d=bound)
                    inside = -bound < res["d_ci_low"] and res["d_ci_high"] < bound
                    assert res["equivalent"] is inside, (n, true_d, seed, bound, res)
                    cases += inside
    assert 10 < cases < 150  # the grid holds both decisions (180 cases in all)


def test_tost_paired_decisions():
    rng = np.random.default_rng(8)
    x = rng.normal(0, 1, 400)
    same = tost_paired(x, x + rng.normal(0, 0.5, 400))
    assert same["equivalent"] is True and same["p_tost"] < 0.05
    different = tost_paired(x, x + rng.normal(0.5, 0.5, 400))
    assert different["equivalent"] is False and different["d"] < -0.25
    small = tost_paired(x[:10], x[:10] + rng.normal(0, 0.5, 10))
    assert small["equivalent"] is False  # too few pairs to show equivalence within +-0.25 d


def test_tost_paired_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        tost_paired([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="zero SD"):
        tost_paired([1, 2, 3], [0, 1, 2])
    with pytest.raises(ValueError, match="at least 2"):
        tost_paired([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="bound_d"):
        tost_paired([1, 2, 3], [1, 3, 2], bound_d=0)


# --------------------------------------------------------------------------- Feldt tests for two alphas


def test_feldt_dependent_published_example():
    # Charter & Feldt (1996): alphas .82 and .89 from the same 27 people, r = .74 -> t(25) = 1.849 (in absolute value).
    res = feldt_dependent(0.82, 0.89, 27, 0.74)
    assert res["df"] == 25
    assert round(abs(res["t"]), 3) == 1.849
    assert res["t"] < 0
    assert res["p"] == pytest.approx(2 * stats.t.sf(abs(res["t"]), 25), rel=1e-12)


def test_feldt_dependent_by_hand():
    # a1 = .85, a2 = .75, n = 102, r = .6: t = .10 * 10 / sqrt(4 * .15 * .25 * .64) = 1 / sqrt(.096)
    res = feldt_dependent(0.85, 0.75, 102, 0.6)
    assert res["t"] == pytest.approx(1 / math.sqrt(0.096), rel=1e-12)
    assert res["t"] == pytest.approx(3.227486121839514, abs=1e-12)
    assert res["p"] == pytest.approx(2 * stats.t.sf(3.227486121839514, 100), rel=1e-10)
    with pytest.raises(ValueError, match="r must lie"):
        feldt_dependent(0.8, 0.7, 50, 1.0)
    with pytest.raises(ValueError, match="n must be"):
        feldt_dependent(0.8, 0.7, 2, 0.5)


def test_feldt_independent_published_example():
    # Charter & Feldt (1996): .71 (n = 151) vs .78 (n = 41): W = .29/.22 = 1.318 on df (40, 150),
    # one-sided p = .121 (reported two-sided .242 = 2 x .121).
    res = feldt_independent(0.71, 151, 0.78, 41)
    assert round(res["W"], 3) == 1.318
    assert (res["df1"], res["df2"]) == (40, 150)
    assert round(res["p"] / 2, 3) == 0.121
    assert res["p"] == pytest.approx(2 * stats.f.sf(0.29 / 0.22, 40, 150), rel=1e-10)
    # symmetric: swapping the samples inverts W and keeps p
    swapped = feldt_independent(0.78, 41, 0.71, 151)
    assert swapped["W"] == pytest.approx(1 / res["W"]) and swapped["p"] == pytest.approx(res["p"], rel=1e-10)


def test_feldt_independent_degrees_of_freedom_by_simulation():
    # Under H0, W = (1 - a1)/(1 - a2) follows F(n2 - 1, n1 - 1): the small sample's df goes second.
    rng = np.random.default_rng(9)
    n1, n2, k, sims = 15, 120, 30, 3000

    def alphas(n: int) -> np.ndarray:
        x = 0.6 * rng.standard_normal((sims, n, 1)) + 0.8 * rng.standard_normal((sims, n, k))
        return k / (k - 1) * (1 - x.var(axis=1, ddof=1).sum(axis=1) / x.sum(axis=2).var(axis=1, ddof=1))

    w = (1 - alphas(n1)) / (1 - alphas(n2))
    right = stats.f(n2 - 1, n1 - 1)
    wrong = stats.f(n1 - 1, n2 - 1)
    for q in (0.05, 0.95):
        empirical = np.quantile(w, q)
        assert abs(empirical - right.ppf(q)) < abs(empirical - wrong.ppf(q))
    res = feldt_independent(0.8, n1, 0.8, n2)
    assert res["W"] == pytest.approx(1.0) and (res["df1"], res["df2"]) == (n2 - 1, n1 - 1)


def test_feldt_independent_rejects_bad_input():
    with pytest.raises(ValueError, match="alpha2 must be < 1"):
        feldt_independent(0.8, 50, 1.0, 50)
    with pytest.raises(ValueError, match="n1 must be"):
        feldt_independent(0.8, 1, 0.7, 50)
    with pytest.raises(ValueError, match="finite"):
        feldt_independent(math.nan, 50, 0.7, 50)
