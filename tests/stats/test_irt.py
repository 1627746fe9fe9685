"""Theta on an IRT scale, checked against an independent quadrature and by simulation.

Every item parameter here is SYNTHETIC: drawn by these tests, describing no published test.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats

from eitest.stats import irt


def synthetic_3pl(n_items: int, seed: int) -> pd.DataFrame:
    """Synthetic 3PL items (not any published test's): a ~ U(0.7, 2.2), b ~ N(0, 1), c ~ U(0.1, 0.25), D = 1.702."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "a": rng.uniform(0.7, 2.2, n_items),
            "b": rng.normal(0.0, 1.0, n_items),
            "c": rng.uniform(0.1, 0.25, n_items),
            "D": 1.702,
        },
        index=[f"s{j + 1}" for j in range(n_items)],
    )


def p3(theta: float, a: float, b: float, c: float, d: float) -> float:
    """The 3PL response function written out once more, scalar by scalar, for the references below."""
    return c + (1 - c) / (1 + math.exp(-d * a * (theta - b)))


def quad_posterior(x: np.ndarray, params: pd.DataFrame) -> tuple[float, float]:
    """Posterior mean and SD under N(0, 1) by scipy.integrate.quad: the independent reference of the EAP."""
    rows = list(params.itertuples())

    def like(t: float) -> float:
        out = stats.norm.pdf(t)
        for xi, r in zip(x, rows, strict=True):
            if not math.isnan(xi):
                p = p3(t, r.a, r.b, r.c, r.D)
                out *= p**xi * (1 - p) ** (1 - xi)
        return out

    opts = {"points": [-2, 0, 2], "limit": 200, "epsabs": 1e-14}
    z = integrate.quad(like, -12, 12, **opts)[0]
    mean = integrate.quad(lambda t: t * like(t), -12, 12, **opts)[0] / z
    var = integrate.quad(lambda t: (t - mean) ** 2 * like(t), -12, 12, **opts)[0] / z
    return mean, math.sqrt(var)


@pytest.mark.parametrize(
    "pattern",
    [
        [1, 0, 1, 1, 0, 0, 1, 0, 1, 1],
        [0, 0, 0, 1, 0, 0, 0, 0, 0, 1],
        [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],  # all right: the EAP still exists
        [0.7, 0.2, 0.95, 0.5, 0.1, 0.4, 0.85, 0.3, 0.6, 0.75],  # expected credits (logprobs protocol)
        [1, np.nan, 0, 1, np.nan, 1, 0, 0, 1, 1],  # missing responses leave their items out
    ],
)
def test_eap_matches_an_independent_quadrature(pattern: list[float]):
    params = synthetic_3pl(10, seed=3)
    x = np.array(pattern, dtype=float)
    mean, sd = quad_posterior(x, params)
    got_mean, got_sd = irt.eap(x, params)
    assert got_mean == pytest.approx(mean, abs=1e-4)
    assert got_sd == pytest.approx(sd, abs=1e-4)


def test_ml_and_its_se_match_a_direct_maximisation_and_the_information_formula():
    params = synthetic_3pl(12, seed=5)
    x = np.array([1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 1, 0], dtype=float)
    rows = list(params.itertuples())

    def neg_ll(t: float) -> float:
        return -sum(
            xi * math.log(p3(t, r.a, r.b, r.c, r.D)) + (1 - xi) * math.log(1 - p3(t, r.a, r.b, r.c, r.D))
            for xi, r in zip(x, rows, strict=True)
        )

    ref = optimize.minimize_scalar(neg_ll, bounds=(-6, 6), method="bounded", options={"xatol": 1e-10}).x
    theta, se, reason = irt.ml(x, params)
    assert reason is None and theta == pytest.approx(ref, abs=1e-6)
    # The information by its numerical definition for one 3PL item: (P')^2 / (P Q).
    info = 0.0
    for r in rows:
        p = p3(ref, r.a, r.b, r.c, r.D)
        dp = (p3(ref + 1e-6, r.a, r.b, r.c, r.D) - p3(ref - 1e-6, r.a, r.b, r.c, r.D)) / 2e-6
        info += dp**2 / (p * (1 - p))
    assert se == pytest.approx(1 / math.sqrt(info), rel=1e-6)
    assert irt.information_at(ref, params)[0] == pytest.approx(info, rel=1e-6)


def test_an_all_right_pattern_keeps_its_eap_flagged_at_the_ceiling():
    params = synthetic_3pl(8, seed=2)
    row = irt.theta_row(np.ones(8), params)
    mean, sd = quad_posterior(np.ones(8), params)  # the EAP exists: the posterior is proper under the prior
    assert row["bound"] == "lower" and row["theta_method"] == "EAP"
    assert row["theta"] == row["eap"] and row["theta"] == pytest.approx(mean, abs=1e-4)
    assert row["theta_se"] == pytest.approx(sd, abs=1e-4)
    assert math.isnan(row["ml"]) and "answered right" in row["ml_reason"]
    # Above the hardest items only the prior speaks: the interval keeps its lower end and has no upper one.
    assert row["percentile"] == pytest.approx(stats.norm.cdf(mean), abs=1e-4)
    assert row["percentile_ci_low"] == pytest.approx(stats.norm.cdf(mean - 1.959963984540054 * sd), abs=1e-4)
    assert math.isnan(row["percentile_ci_high"])
    low = irt.theta_row(np.zeros(8), params)
    assert low["bound"] == "upper" and low["theta"] == pytest.approx(quad_posterior(np.zeros(8), params)[0], abs=1e-4)
    assert math.isnan(low["percentile_ci_low"]) and low["percentile_ci_high"] > low["percentile"]
    empty = irt.theta_row(np.full(8, np.nan), params)
    assert empty["n_items"] == 0 and math.isnan(empty["theta"]) and empty["ml_reason"] == "no response"
    mixed = irt.theta_row(np.array([1, 1, 1, 0, 1, 1, 1, 1.0]), params)
    assert mixed["bound"] is None and mixed["theta_method"] == "EAP" and mixed["theta"] == mixed["eap"]


def test_a_perfect_pattern_ranks_above_every_near_perfect_one():
    """45 synthetic 3PL items: all right > 0.999 expected credit on each > 44 of 45 right, in theta and percentile."""
    params = synthetic_3pl(45, seed=8)
    hardest = int(np.argmax(params["b"]))
    one_wrong = np.ones(45)
    one_wrong[hardest] = 0.0
    rows = irt.estimate_theta(pd.DataFrame([np.ones(45), np.full(45, 0.999), one_wrong], columns=params.index), params)
    assert rows["theta"].is_monotonic_decreasing and rows["theta"].is_unique
    assert rows["percentile"].is_monotonic_decreasing
    assert rows["theta"].iloc[0] > params["b"].max()  # not the hardest item's b, as a bound was before
    # The fractional near-ceiling pattern is flagged as well, and gets no ML out where no item measures.
    assert list(rows["bound"].iloc[:2]) == ["lower", "lower"] and pd.isna(rows["bound"].iloc[2])
    assert rows["ml"].iloc[:2].isna().all() and "ceiling" in rows["ml_reason"].iloc[1]
    assert math.isfinite(rows["ml"].iloc[2]) and math.isfinite(rows["percentile_ci_high"].iloc[2])
    assert irt.pattern_bound(np.full(3, 0.99)) == "lower" and irt.pattern_bound(np.array([0.99, 0.98])) is None
    assert irt.pattern_bound(np.full(3, 0.01)) == "upper" and irt.pattern_bound(np.array([0.0, 0.02])) is None


def test_percentile_is_phi_of_theta_with_the_se_interval():
    pct, low, high = irt.percentile_interval(0.5, 0.3)
    assert pct == pytest.approx(0.691462461274013, abs=1e-12)
    assert low == pytest.approx(stats.norm.cdf(0.5 - 1.959963984540054 * 0.3), abs=1e-12)
    assert high == pytest.approx(0.5 * (1 + math.erf((0.5 + 1.959963984540054 * 0.3) / math.sqrt(2))), abs=1e-12)


def test_theta_covers_the_truth_for_simulated_3pl_respondents():
    """200 respondents of known ability x 40 synthetic 3PL items: theta +- 2 SE holds the truth >= 90 % of runs."""
    params = synthetic_3pl(40, seed=11)
    rng = np.random.default_rng(12)
    truth = rng.normal(0.0, 1.0, 200)
    p = irt.probability(truth, params)
    x = pd.DataFrame((rng.random(p.shape) < p).astype(float), columns=params.index)
    est = irt.estimate_theta(x, params)
    numeric = est["bound"].isna()
    assert numeric.sum() >= 195  # an all-right pattern is rare with 40 items and c > 0
    eap_cover = (abs(est["eap"] - truth) <= 2 * est["eap_se"])[numeric].mean()
    ml_ok = numeric & est["ml"].notna()
    ml_cover = (abs(est["ml"] - truth) <= 2 * est["ml_se"])[ml_ok].mean()
    assert eap_cover >= 0.90 and ml_cover >= 0.90, (eap_cover, ml_cover)
    assert np.corrcoef(est["eap"][numeric], truth[numeric])[0, 1] > 0.9
    ml_est = irt.estimate_theta(x, params, method="ML")
    assert (ml_est["theta_method"][ml_ok] == "ML").all() and np.allclose(ml_est["theta"][ml_ok], est["ml"][ml_ok])


def test_estimate_theta_refuses_items_without_parameters_and_credits_outside_0_1():
    params = synthetic_3pl(3, seed=1)
    with pytest.raises(ValueError, match="no IRT parameters for item"):
        irt.estimate_theta(pd.DataFrame({"s1": [1.0], "zz": [0.0]}), params)
    with pytest.raises(ValueError, match=r"credits in \[0, 1\]"):
        irt.estimate_theta(pd.DataFrame({"s1": [2.0]}), params)
    with pytest.raises(ValueError, match="method"):
        irt.theta_row(np.ones(3), params, method="MAP")


def test_information_curve_is_the_sum_of_item_information():
    params = synthetic_3pl(5, seed=4).assign(c=0.0)  # a 2PL: I_j = D^2 a^2 P Q
    curve = irt.information_curve(params, np.array([-1.0, 0.0, 2.0]))
    for t, info, se in curve.itertuples(index=False):
        ref = sum(
            (r.D * r.a) ** 2 * p3(t, r.a, r.b, 0, r.D) * (1 - p3(t, r.a, r.b, 0, r.D)) for r in params.itertuples()
        )
        assert info == pytest.approx(ref, rel=1e-12) and se == pytest.approx(1 / math.sqrt(ref), rel=1e-12)
