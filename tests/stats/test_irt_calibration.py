"""2PL calibration by EM: recovery of known parameters, and agreement with a direct maximisation.

Every parameter here is SYNTHETIC, drawn by these tests.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special

from eitest.stats.irt_calibration import MIN_CALIBRATION_N, calibrate_2pl


def simulate(n: int, a: np.ndarray, b: np.ndarray, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n)
    p = special.expit(a * (theta[:, None] - b))
    return pd.DataFrame((rng.random(p.shape) < p).astype(float), columns=[f"h{j + 1}" for j in range(len(a))])


def test_em_recovers_known_2pl_parameters():
    """N = 1000 simulated respondents x 20 synthetic items: a and b correlate > .9 with the truth."""
    rng = np.random.default_rng(21)
    a, b = rng.uniform(0.6, 2.0, 20), rng.normal(0.0, 1.0, 20)
    cal = calibrate_2pl(simulate(1000, a, b, seed=22), tol=1e-4)
    est = cal.items
    assert cal.converged and cal.n == 1000 and est["flag"].isna().all()
    r_a, r_b = np.corrcoef(est["a"], a)[0, 1], np.corrcoef(est["b"], b)[0, 1]
    rmse_a, rmse_b = math.sqrt(np.mean((est["a"] - a) ** 2)), math.sqrt(np.mean((est["b"] - b) ** 2))
    assert r_a > 0.9 and r_b > 0.97, (r_a, r_b)
    assert rmse_a < 0.2 and rmse_b < 0.15, (rmse_a, rmse_b)
    # The approximate SEs are of the size of the actual errors (their RMS within a factor of 2).
    assert 0.5 < math.sqrt(np.mean(est["b_se"] ** 2)) / rmse_b < 2.0


def test_em_reaches_the_maximum_a_direct_optimiser_finds_with_gauss_hermite_quadrature():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.8, 1.8, 5), rng.normal(0.0, 0.8, 5)
    x = simulate(MIN_CALIBRATION_N + 100, a, b, seed=4).to_numpy()
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)  # probabilists' Hermite: weight exp(-t^2/2)
    weights = weights / weights.sum()

    def neg_marginal(v: np.ndarray) -> float:
        aa, bb = v[:5], v[5:]
        p = np.clip(special.expit(aa * (nodes[:, None] - bb)), 1e-12, 1 - 1e-12)  # nodes x items
        like = np.exp(x @ np.log(p).T + (1 - x) @ np.log1p(-p).T)  # people x nodes
        return -float(np.log(like @ weights).sum())

    bounds = [(0.1, 5.0)] * 5 + [(-5.0, 5.0)] * 5
    found = optimize.minimize(neg_marginal, np.r_[np.ones(5), np.zeros(5)], method="L-BFGS-B", bounds=bounds,
                              options={"ftol": 1e-14, "gtol": 1e-9})  # fmt: skip
    assert found.success, found.message
    ref = found.x
    est = calibrate_2pl(pd.DataFrame(x), tol=1e-8).items
    assert est["a"].to_numpy() == pytest.approx(ref[:5], abs=2e-3)
    assert est["b"].to_numpy() == pytest.approx(ref[5:], abs=2e-3)


def test_small_samples_are_refused_and_constant_items_flagged():
    with pytest.raises(ValueError, match="199 respondents; 2PL parameters are estimated from 200 or more"):
        calibrate_2pl(pd.DataFrame(np.ones((199, 3))))
    with pytest.raises(ValueError, match=r"credits in \[0, 1\]"):
        calibrate_2pl(pd.DataFrame(np.full((250, 3), 2.0)))
    rng = np.random.default_rng(8)
    data = simulate(300, np.array([1.0, 1.5, 1.2]), np.array([0.0, 0.5, -0.5]), seed=9).assign(same=1.0)
    data.iloc[::7, 0] = np.nan  # missing answers leave their item out
    est = calibrate_2pl(data).items.set_index("item")
    assert est.loc["same", "flag"].startswith("everyone answered it alike") and math.isnan(est.loc["same", "a"])
    assert est.loc["h1", "n"] == 300 - len(range(0, 300, 7)) and est["a"].iloc[:3].gt(0.3).all()
    assert rng is not None
