"""2PL item parameters from human responses: marginal maximum likelihood by EM (Bock & Aitkin 1981).

The model is ``P_j(theta) = 1 / (1 + exp(-a_j (theta - b_j)))`` on the logistic metric
(D = 1), with ability standard normal in the calibration sample: that is what fixes
the scale (its origin and unit), so a theta estimated later on these parameters is
read against this sample, and ``Phi(theta)`` is a percentile in it.

The E step takes each respondent's posterior over a fixed quadrature grid
(:data:`QUADRATURE`, 61 points on [-6, 6], weights of the standard normal); the M
step fits, for each item, the logistic regression of the expected counts of right
answers on the grid points (Newton steps on the slope-intercept form ``a theta +
d``, ``b = -d / a``). Responses may be fractional credits in [0, 1] (the fractional
Bernoulli likelihood, as in :mod:`eitest.stats.irt`) and missing (NaN: the item
is left out of that respondent's likelihood).

Standard errors of the parameters are those of the cross-product (XPD) estimate
of the information matrix (each respondent's score vector at the estimates);
they are approximate and are given for reading, not for testing.

Below :data:`MIN_CALIBRATION_N` respondents nothing is estimated: 2PL parameters
from a few hundred people already carry sizeable sampling error, and the minimum is
a rule chosen here, not a published threshold. The test suite checks recovery by
simulation (N = 1000, 20 items).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

MIN_CALIBRATION_N = 200
QUADRATURE = np.linspace(-6.0, 6.0, 61)
CALIBRATION_COLUMNS = ["item", "a", "b", "a_se", "b_se", "n", "p", "flag"]


@dataclass
class Calibration:
    """The outcome of :func:`calibrate_2pl`.

    ``items`` has :data:`CALIBRATION_COLUMNS`: item id, ``a`` and ``b`` (logistic
    metric, D = 1) with their approximate SEs, ``n`` (respondents who answered),
    ``p`` (mean credit), ``flag`` (why an item's parameters should not be used, or
    None). ``log_likelihood`` is the marginal log likelihood at the estimates.
    """

    items: pd.DataFrame
    n: int
    iterations: int
    converged: bool
    log_likelihood: float
    notes: list[str] = field(default_factory=list)


def _log_terms(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p), np.log1p(-p)


def _posterior(x: np.ndarray, seen: np.ndarray, a: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, float]:
    """Each respondent's posterior over the grid (rows) and the marginal log likelihood."""
    log_p, log_q = _log_terms(special.expit(np.outer(QUADRATURE, a) + d))  # grid x items
    log_like = x @ log_p.T + (seen - x) @ log_q.T  # respondents x grid
    log_joint = log_like + stats.norm.logpdf(QUADRATURE) + math.log(QUADRATURE[1] - QUADRATURE[0])
    marginal = special.logsumexp(log_joint, axis=1)
    return np.exp(log_joint - marginal[:, None]), float(marginal.sum())


def _m_step(
    r: np.ndarray, n: np.ndarray, a: np.ndarray, d: np.ndarray, steps: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """Newton steps for every item at once on the expected counts ``r`` (right) of ``n`` (grid x items)."""
    t = QUADRATURE[:, None]
    for _ in range(steps):
        p = special.expit(t * a + d)
        resid = r - n * p
        w = n * p * (1 - p)
        g_a, g_d = (resid * t).sum(0), resid.sum(0)
        h_aa, h_ad, h_dd = (w * t * t).sum(0), (w * t).sum(0), w.sum(0)
        det = h_aa * h_dd - h_ad**2
        safe = det > 1e-12
        step_a = np.where(safe, (h_dd * g_a - h_ad * g_d) / np.where(safe, det, 1.0), 0.0)
        step_d = np.where(safe, (h_aa * g_d - h_ad * g_a) / np.where(safe, det, 1.0), 0.0)
        a = a + np.clip(step_a, -1.0, 1.0)  # bounded steps: an item near a Heywood case must not jump away
        d = d + np.clip(step_d, -1.0, 1.0)
    return a, d


def _xpd_se(
    x: np.ndarray, seen: np.ndarray, post: np.ndarray, a: np.ndarray, d: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """SEs of a and b from the cross-product of the respondents' score vectors (delta method for b)."""
    p = special.expit(np.outer(QUADRATURE, a) + d)  # grid x items
    # d log L_i / d(a_j, d_j) = sum_q post_iq (x_ij - p_qj) seen_ij * (theta_q, 1)
    expect_p = post @ p  # respondents x items
    expect_tp = post @ (p * QUADRATURE[:, None])
    expect_t = post @ QUADRATURE
    g_d = seen * x - seen * expect_p
    g_a = seen * x * expect_t[:, None] - seen * expect_tp
    scores = np.concatenate([g_a, g_d], axis=1)
    k = len(a)
    try:
        cov = np.linalg.inv(scores.T @ scores)
    except np.linalg.LinAlgError:
        return np.full(k, math.nan), np.full(k, math.nan)
    var_a, var_d, cov_ad = np.diag(cov)[:k], np.diag(cov)[k:], np.diag(cov[:k, k:])
    # b = -d / a: gradient (d / a^2, -1 / a)
    var_b = (d / a**2) ** 2 * var_a + (1 / a) ** 2 * var_d - 2 * (d / a**2) * (1 / a) * cov_ad
    return np.sqrt(np.maximum(var_a, 0)), np.sqrt(np.maximum(var_b, 0))


def calibrate_2pl(responses: pd.DataFrame, *, max_iter: int = 500, tol: float = 1e-5) -> Calibration:
    """2PL parameters of each item (column of ``responses``; rows are respondents, credit in [0, 1], NaN = missing).

    Raises ``ValueError`` below :data:`MIN_CALIBRATION_N` respondents, or for credits
    outside [0, 1]. An item everyone answered alike (p = 0 or 1) cannot be
    calibrated: it is flagged and its parameters are NaN; so is one whose
    discrimination comes out at or below 0.05 (it does not measure what the rest do).
    """
    n_resp = len(responses)
    if n_resp < MIN_CALIBRATION_N:
        raise ValueError(
            f"{n_resp} respondents; 2PL parameters are estimated from {MIN_CALIBRATION_N} or more "
            "(with fewer their sampling error is too large to place anyone on the scale)"
        )
    raw = responses.to_numpy(dtype=float)
    if np.any((raw < 0) | (raw > 1)):
        raise ValueError("responses must be credits in [0, 1] (or NaN for a missing response)")
    seen = (~np.isnan(raw)).astype(float)
    x = np.nan_to_num(raw)
    n_item = seen.sum(0)
    p_item = np.divide(x.sum(0), n_item, out=np.full(raw.shape[1], math.nan), where=n_item > 0)
    usable = (p_item > 0) & (p_item < 1)
    xu, su = x[:, usable], seen[:, usable]
    a = np.ones(int(usable.sum()))
    d = special.logit(np.clip(p_item[usable], 0.01, 0.99)) * 1.4  # a rough start; EM moves it
    converged, iteration, log_lik = False, 0, math.nan
    for iteration in range(1, max_iter + 1):  # noqa: B007  (the count is reported)
        post, log_lik = _posterior(xu, su, a, d)
        r, n = post.T @ xu, post.T @ su  # grid x items
        new_a, new_d = _m_step(r, n, a, d)
        change = max(np.abs(new_a - a).max(initial=0.0), np.abs(new_d - d).max(initial=0.0))
        a, d = new_a, new_d
        if change < tol:
            converged = True
            break
    post, log_lik = _posterior(xu, su, a, d)
    a_se, b_se = _xpd_se(xu, su, post, a, d)
    table = pd.DataFrame({"item": list(responses.columns), "n": n_item.astype(int), "p": p_item})
    for name, values in (("a", a), ("b", -d / a), ("a_se", a_se), ("b_se", b_se)):
        column = np.full(raw.shape[1], math.nan)
        column[usable] = values
        table[name] = column
    weak = usable & ~(table["a"].to_numpy() > 0.05)
    flags: list[str | None] = [
        "everyone answered it alike: no discrimination to estimate"
        if not u
        else "discrimination at or below 0.05: the item does not measure what the others do"
        if w
        else None
        for u, w in zip(usable, weak, strict=True)
    ]
    table.loc[weak, ["a", "b", "a_se", "b_se"]] = math.nan
    table["flag"] = pd.Series(flags, dtype=object)
    notes = [] if converged else [f"EM stopped after {max_iter} iterations without converging (change {change:.2g})"]
    return Calibration(table[CALIBRATION_COLUMNS], n_resp, iteration, converged, log_lik, notes)
