"""Paired statistics and the panel's calibration, against scipy and statsmodels to many decimals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import cochrans_q, mcnemar

from eitest.stats.calibration import CLIP, logit_fit, loo_predictions, predict, spearman_ci
from eitest.stats.paired import cochran_q, mcnemar_exact, paired_bootstrap


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_cochrans_q_matches_statsmodels(seed: int):
    rng = np.random.default_rng(seed)
    x = (rng.random((30, 4)) < np.array([0.3, 0.5, 0.6, 0.8])).astype(int)
    ours, ref = cochran_q(x), cochrans_q(x)
    assert ours["q"] == pytest.approx(ref.statistic, rel=1e-12)
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert ours["df"] == 3 and ours["n_items"] == 30


def test_cochrans_q_of_identical_answers_is_zero():
    x = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 1]])
    assert cochran_q(x) == {"q": 0.0, "df": 2, "p": 1.0, "n_items": 3, "k": 3}


@pytest.mark.parametrize(("lost", "gained", "same"), [(3, 9, 10), (0, 5, 4), (7, 7, 1), (1, 12, 0)])
def test_mcnemar_exact_matches_statsmodels_and_the_binomial_formula(lost: int, gained: int, same: int):
    a = [1] * lost + [0] * gained + [1] * same
    b = [0] * lost + [1] * gained + [1] * same
    ours = mcnemar_exact(a, b)
    ref = mcnemar([[same, lost], [gained, 0]], exact=True).pvalue
    hand = min(1.0, 2 * stats.binom.cdf(min(lost, gained), lost + gained, 0.5))
    assert ours["p"] == pytest.approx(ref, abs=1e-13) and ours["p"] == pytest.approx(hand, abs=1e-13)
    assert (ours["n_lost"], ours["n_gained"]) == (lost, gained)


def test_mcnemar_without_discordant_items_is_one_and_refuses_non_binary():
    assert mcnemar_exact([1, 0, 1], [1, 0, 1])["p"] == 1.0
    with pytest.raises(ValueError, match="only 0 and 1"):
        mcnemar_exact([0.5, 1], [1, 1])


def test_paired_bootstrap_is_the_documented_resampling():
    rng = np.random.default_rng(11)
    a, b = rng.random(25), rng.random(25)
    top = rng.uniform(0.5, 1, 25)
    res = paired_bootstrap(a, b, top, n_boot=500, seed=5, ci=0.9)
    draws = np.random.default_rng(5).integers(0, 25, size=(500, 25))
    boot = np.array([sum(b[i] - a[i] for i in row) / sum(top[i] for i in row) for row in draws])
    assert res["difference"] == pytest.approx((b - a).sum() / top.sum(), abs=1e-14)
    assert res["ci_low"] == pytest.approx(np.quantile(boot, 0.05), abs=1e-13)
    assert res["ci_high"] == pytest.approx(np.quantile(boot, 0.95), abs=1e-13)
    assert res["se"] == pytest.approx(boot.std(ddof=1), abs=1e-13)


def test_paired_bootstrap_covers_a_known_difference_about_as_often_as_it_says():
    # Items of known difficulty; b is truly 0.1 better on every item. Small: 200 studies of 40 items.
    rng = np.random.default_rng(0)
    hits = 0
    for k in range(200):
        p = rng.uniform(0.2, 0.7, 40)
        a, b = (rng.random(40) < p).astype(float), (rng.random(40) < p + 0.1).astype(float)
        res = paired_bootstrap(a, b, n_boot=300, seed=k)
        hits += res["ci_low"] <= 0.1 <= res["ci_high"]
    assert 0.88 <= hits / 200 <= 0.99


def test_paired_bootstrap_refuses_missing_or_unequal_items():
    with pytest.raises(ValueError, match="one length"):
        paired_bootstrap([1, 0], [1, 0, 1])
    with pytest.raises(ValueError, match="missing"):
        paired_bootstrap([1, math.nan], [1, 0])


def test_spearman_ci_is_scipys_rho_with_fieller_fisher_z():
    rng = np.random.default_rng(4)
    x = rng.random(20)
    y = x + rng.normal(0, 0.3, 20)
    res = spearman_ci(x, y)
    ref = stats.spearmanr(x, y)
    half = stats.norm.ppf(0.975) * math.sqrt(1.06 / 17)
    assert res["rho"] == pytest.approx(ref.statistic, abs=1e-14) and res["p"] == pytest.approx(ref.pvalue)
    assert res["ci_low"] == pytest.approx(math.tanh(math.atanh(ref.statistic) - half), abs=1e-12)
    assert res["ci_high"] == pytest.approx(math.tanh(math.atanh(ref.statistic) + half), abs=1e-12)
    assert math.isnan(spearman_ci([1, 2, 3], [1, 2, 3])["rho"])


def test_logit_fit_and_leave_one_out_match_scipys_regression():
    rng = np.random.default_rng(8)
    x = rng.random(12)
    p = np.clip(1 / (1 + np.exp(-(-1 + 3 * x))) + rng.normal(0, 0.03, 12), 0.01, 0.99)
    a, b = logit_fit(x, p)
    ref = stats.linregress(x, np.log(p / (1 - p)))
    assert (a, b) == pytest.approx((ref.intercept, ref.slope), abs=1e-10)
    loo = loo_predictions(x, p)
    for i in (0, 5, 11):
        keep = np.arange(12) != i
        r = stats.linregress(x[keep], np.log(p[keep] / (1 - p[keep])))
        assert loo[i] == pytest.approx(1 / (1 + math.exp(-(r.intercept + r.slope * x[i]))), abs=1e-10)
    assert predict([0.0], a, b)[0] == pytest.approx(1 / (1 + math.exp(-a)), abs=1e-14)
    assert logit_fit([0.2, 0.2, 0.2], [0.0, 0.5, 1.0])[1] == 0.0  # one distinct x: a constant
    assert CLIP < 0.01
