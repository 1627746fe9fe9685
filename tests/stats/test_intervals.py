"""The two labelled intervals ("this model on this test", "new items like these") and Wilson over items.

References: scipy's t distribution, statsmodels' ``proportion_confint`` (methods
``beta`` = Clopper-Pearson and ``wilson``), Wilson's formula written out, and a
plain resampling loop for the cluster bootstrap.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from eitest.stats import item_interval, rep_interval, wilson_over_items

# --------------------------------------------------------------------------- rep_interval


@pytest.mark.parametrize("ci", [0.95, 0.90, 0.99])
def test_rep_interval_is_a_t_interval_on_r_minus_1_df(ci):
    reps = np.array([0.81, 0.78, 0.84, 0.80, 0.79])
    res = rep_interval(reps, ci)
    sd = reps.std(ddof=1)
    lo, hi = stats.t.interval(ci, df=4, loc=reps.mean(), scale=sd / math.sqrt(5))
    assert res["ci_low"] == pytest.approx(lo, abs=1e-13) and res["ci_high"] == pytest.approx(hi, abs=1e-13)
    assert res["mean"] == pytest.approx(reps.mean(), abs=1e-15)
    assert res["sd_reps"] == pytest.approx(sd, rel=1e-13)
    assert (res["n_reps"], res["df"], res["ci_level"], res["reason"]) == (5, 4, ci, None)
    assert res["question"] == "this model on this test"


def test_rep_interval_two_repetitions_by_hand():
    res = rep_interval([0.70, 0.80])
    half = stats.t.ppf(0.975, 1) * math.sqrt(0.005) / math.sqrt(2)  # sd of (.7, .8) is sqrt(.005)
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((0.75 - half, 0.75 + half), abs=1e-12)
    assert half == pytest.approx(0.6353102, abs=1e-7)  # 12.706 * 0.05: wide, as two runs should be


def test_rep_interval_one_repetition_and_no_variation_give_reasons():
    one = rep_interval([0.8, math.nan])
    assert one["n_reps"] == 1 and math.isnan(one["ci_low"]) and math.isnan(one["sd_reps"])
    assert "one repetition" in one["reason"]
    flat = rep_interval([1.0, 1.0, 1.0])
    assert flat["sd_reps"] == 0.0 and math.isnan(flat["ci_low"]) and math.isnan(flat["ci_high"])
    assert "all 3 repetitions scored 1" in flat["reason"]
    with pytest.raises(ValueError, match="no scores"):
        rep_interval([math.nan])


def test_scores_apart_only_by_rounding_give_no_interval_but_a_real_difference_does():
    # Expected credits of identical answer distributions, summed in different orders (logprobs protocol).
    noisy = [0.19999999999999996, 0.20000000000000004, 0.2]
    assert np.std(noisy, ddof=1) > 0  # the old exact test let these through as [20.0 %, 20.0 %]
    rep = rep_interval(noisy)
    assert math.isnan(rep["ci_low"]) and math.isnan(rep["ci_high"]) and rep["sd_reps"] == 0.0
    assert "all 3 repetitions scored 0.2" in rep["reason"]
    items = item_interval([0.2, 0.19999999999999996, 0.20000000000000004] * 5, n_boot=100)
    assert math.isnan(items["ci_low"]) and "every item scored 0.2" in items["reason"]
    weighted = item_interval([0.6, 0.6000000000000001], maxima=[0.6, 0.6], n_boot=100)
    assert math.isnan(weighted["ci_low"]) and "every item scored its maximum" in weighted["reason"]
    # keyed items all but exactly right: the exact bounds of all right, not a missing interval
    almost = item_interval([1.0, 0.9999999999999998, 1.0] * 6, n_boot=100, binary=True)
    lo, hi = proportion_confint(18, 18, alpha=0.05, method="beta")
    assert (almost["ci_low"], almost["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
    assert almost["method"] == "Clopper-Pearson over items"
    # a spread far above rounding is still an interval (t over 3 repetitions, checked by hand)
    apart = rep_interval([0.2, 0.2 + 1e-9, 0.2 + 2e-9])
    half = stats.t.ppf(0.975, 2) * 1e-9 / math.sqrt(3)
    assert (apart["ci_low"], apart["ci_high"]) == pytest.approx((0.2 + 1e-9 - half, 0.2 + 1e-9 + half), abs=1e-15)
    with pytest.raises(ValueError, match="ci must"):
        rep_interval([0.1, 0.2], ci=1.5)


# --------------------------------------------------------------------------- item_interval


def test_oracle_on_a_19_item_keyed_test_has_an_exact_lower_bound_below_one():
    res = item_interval(np.ones(19), binary=True)
    assert res["ci_low"] == pytest.approx(0.025 ** (1 / 19), abs=1e-12)
    assert round(res["ci_low"], 4) == 0.8235 and res["ci_high"] == 1.0
    lo, hi = proportion_confint(19, 19, alpha=0.05, method="beta")
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
    assert res["method"] == "Clopper-Pearson over items" and res["question"] == "new items like these"
    assert res["mean"] == 1.0 and res["n_items"] == 19


def test_all_wrong_keyed_test_has_an_exact_upper_bound_above_zero():
    res = item_interval(np.zeros(30), ci=0.90, binary=True)
    assert res["ci_low"] == 0.0
    assert res["ci_high"] == pytest.approx(1 - 0.05 ** (1 / 30), abs=1e-12)
    assert res["ci_high"] == pytest.approx(proportion_confint(0, 30, alpha=0.10, method="beta")[1], abs=1e-12)


def test_item_interval_bootstrap_matches_a_plain_resampling_loop():
    rng = np.random.default_rng(4)
    items = np.round(rng.beta(3, 1, 45) * 10) / 10  # per-item means over 10 repetitions
    res = item_interval(items, n_boot=4000, seed=2, binary=True)
    ref_rng = np.random.default_rng(77)
    means = [items[ref_rng.integers(0, 45, 45)].mean() for _ in range(4000)]
    ref_lo, ref_hi = np.quantile(means, [0.025, 0.975])
    assert res["method"] == "cluster bootstrap over items" and res["reason"] is None
    assert res["mean"] == pytest.approx(items.mean(), abs=1e-15)
    # two Monte Carlo estimates of the same quantiles: agree within simulation error
    assert res["ci_low"] == pytest.approx(ref_lo, abs=0.01) and res["ci_high"] == pytest.approx(ref_hi, abs=0.01)
    # and with scipy's percentile bootstrap
    sp = stats.bootstrap((items,), np.mean, n_resamples=4000, method="percentile", rng=np.random.default_rng(5))
    assert res["ci_low"] == pytest.approx(sp.confidence_interval.low, abs=0.01)
    assert item_interval(items, n_boot=4000, seed=2, binary=True) == res  # reproducible


def test_item_interval_covers_the_mean_of_the_item_population():
    rng = np.random.default_rng(31)
    truth, sims, covered = 0.7, 300, 0
    for s in range(sims):
        p = rng.beta(1.4, 0.6, 45)  # an item population with mean .7
        item_means = (rng.random((45, 5)) < p[:, None]).mean(axis=1)
        res = item_interval(item_means, n_boot=1000, seed=s, binary=True)
        covered += res["ci_low"] <= truth <= res["ci_high"]
    assert 0.91 <= covered / sims <= 0.98


def test_item_interval_without_spread_gives_a_reason_unless_keyed_at_0_or_1():
    flat = item_interval(np.full(10, 0.6), binary=False)
    assert math.isnan(flat["ci_low"]) and "every item scored 0.6" in flat["reason"] and flat["method"] is None
    weighted_top = item_interval(np.ones(10), binary=False)  # weighted scores: no binomial model to lean on
    assert math.isnan(weighted_top["ci_low"]) and weighted_top["reason"]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        item_interval([0.5, 1.2])
    with pytest.raises(ValueError, match="missing"):
        item_interval([0.5, math.nan])
    with pytest.raises(ValueError, match="n_boot must be a whole number"):
        item_interval([0.5, 0.7], n_boot=2.5)


# --------------------------------------------------------------------------- wilson_over_items


def test_wilson_over_items_not_over_pooled_trials():
    # 45 items x 10 repetitions, 360 correct: pooled, Wilson says [.761, .834]; over the items, [.662, .891]
    items = np.r_[np.ones(30), np.full(15, 0.4)]  # item means over the 10 repetitions; they sum to 36
    res = wilson_over_items(items)
    assert (res["k"], res["n"]) == (pytest.approx(36.0), 45)
    assert (round(res["ci_low"], 3), round(res["ci_high"], 3)) == (0.662, 0.891)
    lo, hi = proportion_confint(36, 45, alpha=0.05, method="wilson")
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
    pooled = proportion_confint(360, 450, alpha=0.05, method="wilson")
    assert (round(pooled[0], 3), round(pooled[1], 3)) == (0.761, 0.834)
    assert res["method"] == "Wilson over items"


def test_wilson_over_items_with_a_fractional_count_by_formula():
    items = np.array([1, 1, 0.5, 0, 1, 0.75, 1, 0.25, 1, 1] * 4, dtype=float)
    res = wilson_over_items(items, ci=0.90)
    k, n, z = items.sum(), items.size, stats.norm.ppf(0.95)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert res["ci_low"] == pytest.approx(centre - half, abs=1e-12)
    assert res["ci_high"] == pytest.approx(centre + half, abs=1e-12)
    lo, hi = proportion_confint(k, n, alpha=0.10, method="wilson")
    assert (res["ci_low"], res["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
    assert res["proportion"] == pytest.approx(0.75) and res["ci_level"] == 0.90


def test_the_kept_bootstrap_draws_are_those_a_fresh_generator_makes():
    from eitest.stats.intervals import _bootstrap_weights, item_interval

    fresh = np.random.default_rng(11).multinomial(7, np.full(7, 1 / 7), size=300)
    assert np.array_equal(_bootstrap_weights(7, 300, 11), fresh)
    assert _bootstrap_weights(7, 300, 11) is _bootstrap_weights(7, 300, 11)
    scores = np.array([0.2, 0.4, 1.0, 0.0, 0.6, 0.8, 0.5])
    lo, hi = np.quantile((fresh @ scores) / (fresh @ np.ones(7)), [(1 - 0.95) / 2, (1 + 0.95) / 2])
    first = item_interval(scores, n_boot=300, seed=11)
    assert (
        (first["ci_low"], first["ci_high"])
        == (lo, hi)
        == (
            item_interval(scores, n_boot=300, seed=11)["ci_low"],
            item_interval(scores, n_boot=300, seed=11)["ci_high"],
        )
    )
