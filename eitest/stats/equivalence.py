"""Equivalence of two forms taken by the same people: TOST with bounds in d_z units."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from statsmodels.stats.weightstats import ttost_paired

from eitest.stats.single_case import noncentral_t_ci
from eitest.stats.validation import _finite


def tost_paired(x: Any, y: Any, bound_d: float = 0.25, alpha: float = 0.05) -> dict[str, Any]:
    """Equivalence of two paired score vectors (TOST) with bounds in d_z units.

    With ``D = x - y``, ``d_z = mean(D) / sd(D)`` (ddof=1). As in Lakens (2017)
    the bounds are set in d_z units and turned into raw units with the observed
    SD of the differences: ``low = -bound_d * sd(D)``, ``upp = +bound_d *
    sd(D)``. The two one-sided tests (Schuirmann, 1987), computed by
    ``statsmodels.stats.weightstats.ttost_paired``, are

        t_lower = (mean(D) - low) / (sd(D) / sqrt(n)),  p_lower = P(T_{n-1} >= t_lower)
        t_upper = (mean(D) - upp) / (sd(D) / sqrt(n)),  p_upper = P(T_{n-1} <= t_upper)

    and ``p_tost = max(p_lower, p_upper)``; the forms are declared equivalent
    when ``p_tost < alpha``. The interval for d_z is *exact* (noncentral t,
    Cumming & Finch, 2001): ``d_z sqrt(n)`` is noncentral t on ``n - 1`` df,
    and the interval is at the ``1 - 2 alpha`` level (90 % for alpha = .05),
    the level that matches the TOST decision (Lakens, 2017).

    Parameters
    ----------
    x, y : array-like
        Paired scores (e.g. original and generated form), same length; pairs
        with a missing value are dropped.
    bound_d : float
        Equivalence bound in d_z units (> 0); default 0.25 as in Schlegel et al.
        (2025).
    alpha : float
        Level of each one-sided test.

    Returns
    -------
    dict
        ``n``, ``df``, ``mean_diff``, ``sd_diff``, ``bound_low``, ``bound_high``
        (raw units), ``t_lower``, ``p_lower``, ``t_upper``, ``p_upper``,
        ``p_tost``, ``equivalent`` (bool), ``d`` (d_z), ``d_ci_low``,
        ``d_ci_high``, ``ci_level`` (= 1 - 2 alpha).

    References
    ----------
    Lakens, D. (2017). Equivalence tests: A practical primer for t tests,
    correlations, and meta-analyses. *Social Psychological and Personality
    Science, 8*, 355-362.

    Schuirmann, D. J. (1987). A comparison of the two one-sided tests procedure
    and the power approach for assessing the equivalence of average
    bioavailability. *Journal of Pharmacokinetics and Biopharmaceutics, 15*,
    657-680.

    Cumming, G., & Finch, S. (2001). A primer on the understanding, use, and
    calculation of confidence intervals that are based on central and noncentral
    distributions. *Educational and Psychological Measurement, 61*, 532-574.
    """
    a = np.asarray(x, dtype=float).ravel()
    b = np.asarray(y, dtype=float).ravel()
    if a.size != b.size:
        raise ValueError(f"x and y must be paired (same length), got {a.size} and {b.size}")
    bound_d = _finite("bound_d", bound_d)
    if bound_d <= 0:
        raise ValueError(f"bound_d must be > 0, got {bound_d}")
    alpha = _finite("alpha", alpha)
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha}")
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    n = int(a.size)
    if n < 2:
        raise ValueError(f"need at least 2 complete pairs, got {n}")
    diff = a - b
    sd = float(diff.std(ddof=1))
    if sd == 0:
        raise ValueError("the paired differences have zero SD, so d_z and the bounds are undefined")
    mean = float(diff.mean())
    low, upp = -bound_d * sd, bound_d * sd
    p_tost, (t1, p1, _), (t2, p2, _) = ttost_paired(a, b, low, upp)
    d = mean / sd
    ci_level = 1 - 2 * alpha
    d_lo, d_hi = (v / math.sqrt(n) for v in noncentral_t_ci(d * math.sqrt(n), n - 1, ci_level))
    return {
        "n": n,
        "df": n - 1,
        "mean_diff": mean,
        "sd_diff": sd,
        "bound_low": low,
        "bound_high": upp,
        "t_lower": float(t1),
        "p_lower": float(p1),
        "t_upper": float(t2),
        "p_upper": float(p2),
        "p_tost": float(p_tost),
        "equivalent": bool(p_tost < alpha),
        "d": d,
        "d_ci_low": d_lo,
        "d_ci_high": d_hi,
        "ci_level": ci_level,
    }
