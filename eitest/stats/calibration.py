"""Predicting an item's human proportion correct from a panel of models, and checking the prediction.

The mapping is a logistic calibration: ``logit(human_p) = a + b * panel_accuracy``,
fitted by least squares on the logit scale over the items whose ``human_p`` is known,
and read back as ``expit(a + b * x)``. Its accuracy is judged on predictions the
items did not help to fit (leave-one-out), never on the fit itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from eitest.stats.validation import _level

__all__ = ["CLIP", "logit_fit", "loo_predictions", "predict", "spearman_ci"]

# human_p of 0 or 1 has no logit: such an item is held just inside (half an item in 200 people).
CLIP = 0.0025


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, CLIP, 1 - CLIP)
    return np.log(q / (1 - q))


def logit_fit(x: Any, human_p: Any) -> tuple[float, float]:
    """Intercept ``a`` and slope ``b`` of ``logit(human_p) = a + b x`` by ordinary least squares.

    ``human_p`` is held within ``[CLIP, 1 - CLIP]`` before its logit is taken. With
    one distinct ``x`` the slope is 0 and ``a`` the mean logit (the best constant).
    """
    xs, ps = np.asarray(x, dtype=float), np.asarray(human_p, dtype=float)
    if xs.shape != ps.shape or xs.size < 2:
        raise ValueError(f"need at least 2 items with both values, got {xs.size}")
    y = _logit(ps)
    if np.ptp(xs) == 0:
        return float(y.mean()), 0.0
    b, a = np.polyfit(xs, y, 1)
    return float(a), float(b)


def predict(x: Any, a: float, b: float) -> np.ndarray:
    """``expit(a + b x)``: the predicted proportion correct."""
    z = a + b * np.asarray(x, dtype=float)
    return 1.0 / (1.0 + np.exp(-z))


def loo_predictions(x: Any, human_p: Any) -> np.ndarray:
    """Each item's prediction from the mapping fitted on the other items (leave-one-out)."""
    xs, ps = np.asarray(x, dtype=float), np.asarray(human_p, dtype=float)
    n = xs.size
    if n < 3:
        raise ValueError(f"leave-one-out needs at least 3 items, got {n}")
    out = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        a, b = logit_fit(xs[keep], ps[keep])
        out[i] = predict(xs[i], a, b)
    return out


def spearman_ci(x: Any, y: Any, ci: float = 0.95) -> dict[str, float]:
    """Spearman's rho with its two-sided p (scipy) and a Fisher-z interval.

    ``z = atanh(rho)``, ``se = sqrt(1.06 / (n - 3))`` (Fieller, Hartley & Pearson,
    1957, the variance of z for Spearman's rho), interval ``tanh(z +- z_{(1+ci)/2} se)``.
    It answers "over items like these": the items are the sample.

    Returns
    -------
    dict
        ``rho``, ``p``, ``ci_low``, ``ci_high``, ``n`` (NaN where rho is undefined:
        fewer than 4 items, or a constant variable).

    References
    ----------
    Fieller, E. C., Hartley, H. O., & Pearson, E. S. (1957). Tests for rank correlation
    coefficients. I. *Biometrika, 44*, 470-481.
    """
    from scipy import stats

    ci = _level("ci", ci)
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = int(a.size)
    nan = float("nan")
    if n < 4 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return {"rho": nan, "p": nan, "ci_low": nan, "ci_high": nan, "n": n}
    res = stats.spearmanr(a, b)
    rho = float(res.statistic)
    z = math.atanh(min(max(rho, -1 + 1e-15), 1 - 1e-15))
    half = float(stats.norm.ppf((1 + ci) / 2)) * math.sqrt(1.06 / (n - 3))
    return {"rho": rho, "p": float(res.pvalue), "ci_low": math.tanh(z - half), "ci_high": math.tanh(z + half), "n": n}
