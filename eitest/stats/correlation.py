"""Correlations between measures: Pearson r with its Fisher-z interval, and Williams' test.

Used to compare an original and a generated form (:mod:`eitest.human.forms`): how
strongly the forms agree, and whether they correlate equally with an external
measure.
"""

from __future__ import annotations

import math
from typing import Any

from eitest.stats.validation import _level

__all__ = ["pearson_ci", "williams_test"]


def pearson_ci(x: Any, y: Any, ci: float = 0.95) -> dict[str, float]:
    """Pearson r with its two-sided p (scipy) and the Fisher-z interval.

    ``z = atanh(r)``, ``se = 1 / sqrt(n - 3)``, interval ``tanh(z +- z_{(1+ci)/2} se)``
    (Fisher, 1921).

    Parameters
    ----------
    x, y : array-like
        Paired values, same length (at least 4 pairs).
    ci : float
        Confidence level, strictly between 0 and 1.

    Returns
    -------
    dict
        ``r``, ``p``, ``ci_low``, ``ci_high``, ``n``.

    References
    ----------
    Fisher, R. A. (1921). On the "probable error" of a coefficient of
    correlation deduced from a small sample. *Metron, 1*, 3-32.
    """
    import numpy as np
    from scipy import stats

    ci = _level("ci", ci)
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = a.size
    if n < 4:
        raise ValueError(f"need at least 4 pairs for a correlation with an interval, got {n}")
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        raise ValueError("one of the variables is constant, so the correlation is undefined")
    res = stats.pearsonr(a, b)
    r = float(res.statistic)
    half = stats.norm.ppf((1 + ci) / 2) / math.sqrt(n - 3)
    z = math.atanh(min(max(r, -1 + 1e-15), 1 - 1e-15))
    return {"r": r, "p": float(res.pvalue), "ci_low": math.tanh(z - half), "ci_high": math.tanh(z + half), "n": n}


def williams_test(r12: float, r13: float, r23: float, n: int) -> dict[str, float]:
    """Williams' test of two dependent correlations that share variable 1: H0 rho12 = rho13.

    Williams' (1959) t, in the form Steiger (1980, eq. 7) recommends:

        t = (r12 - r13) sqrt( (n - 1)(1 + r23) / (2 ((n - 1)/(n - 3)) |R| + rbar^2 (1 - r23)^3) ),

    with ``|R| = 1 - r12^2 - r13^2 - r23^2 + 2 r12 r13 r23`` (the determinant of
    the 3 x 3 correlation matrix), ``rbar = (r12 + r13) / 2`` and ``df = n - 3``;
    two-sided p from Student's t. Here variable 1 is the external measure and
    variables 2 and 3 are the two forms. Worked example (the case of psych's
    ``r.test(103, .4, .5, .1)``): r12 = .4, r13 = .5, r23 = .1, n = 103 give
    ``|R| = .62`` and t(100) = -0.89, p = .37.

    Parameters
    ----------
    r12, r13 : float
        The two correlations compared (variable 1 with 2, and with 3).
    r23 : float
        The correlation between variables 2 and 3.
    n : int
        Sample size (>= 4).

    Returns
    -------
    dict
        ``t``, ``df``, ``p`` (two-sided), ``det_r``.

    References
    ----------
    Williams, E. J. (1959). The comparison of regression variables. *Journal of
    the Royal Statistical Society B, 21*, 396-399.

    Steiger, J. H. (1980). Tests for comparing elements of a correlation matrix.
    *Psychological Bulletin, 87*, 245-251.
    """
    from scipy import stats

    for name, r in (("r12", r12), ("r13", r13), ("r23", r23)):
        if not -1 < float(r) < 1:
            raise ValueError(f"{name} must lie strictly between -1 and 1, got {r}")
    if n < 4 or int(n) != n:
        raise ValueError(f"n must be a whole number >= 4, got {n}")
    det = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    rbar = (r12 + r13) / 2
    denom = 2 * ((n - 1) / (n - 3)) * det + rbar**2 * (1 - r23) ** 3
    if denom <= 0:
        raise ValueError("the three correlations do not form a valid correlation matrix")
    t = (r12 - r13) * math.sqrt((n - 1) * (1 + r23) / denom)
    df = int(n) - 3
    return {"t": t, "df": df, "p": float(2 * stats.t.sf(abs(t), df)), "det_r": det}
