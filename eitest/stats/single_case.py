"""A single case against a normative sample: Crawford & Howell (1998), Crawford & Garthwaite (2002), z_CC and Hedges' g.

A model's repetitions are repeated measures of one respondent, not a sample of
respondents: a model is compared with a norm sample as a single case, never by a
two-sample t-test with n = repetitions.
"""

from __future__ import annotations

import math
from typing import Any

from scipy import optimize, special, stats

from eitest.stats.validation import _finite, _level


def _nct_cdf(t: float, df: float, delta: float) -> float:
    """``P(T_df(delta) <= t)``, robust in the far tails where scipy's ``nct.cdf`` returns NaN.

    Uses the reflection ``P(T(delta) <= t) = P(T(-delta) >= -t)`` and, when both
    forms underflow, the limit (0 far below the centre, 1 far above).
    """
    value = float(stats.nct.cdf(t, df, delta))
    if math.isfinite(value):
        return value
    value = float(stats.nct.sf(-t, df, -delta))
    if math.isfinite(value):
        return value
    return 0.0 if t < delta else 1.0


def noncentral_t_ci(t_obs: float, df: float, ci: float = 0.95) -> tuple[float, float]:
    """Confidence interval for the noncentrality parameter of a t statistic.

    Finds ``delta_low`` and ``delta_high`` with

        P(T_df(delta_low) <= t_obs) = (1 + ci) / 2,
        P(T_df(delta_high) <= t_obs) = (1 - ci) / 2,

    where ``T_df(delta)`` is noncentral t (scipy ``nct``). The cdf falls as delta
    rises, so ``delta_low < delta_high``. Dividing by sqrt(n) turns the interval
    into one for a standardized effect (Cumming & Finch, 2001).

    Parameters
    ----------
    t_obs : float
        Observed t statistic.
    df : float
        Degrees of freedom (> 0).
    ci : float
        Confidence level, in (0, 1).

    Returns
    -------
    tuple of float
        ``(delta_low, delta_high)``.

    References
    ----------
    Cumming, G., & Finch, S. (2001). A primer on the understanding, use, and
    calculation of confidence intervals that are based on central and noncentral
    distributions. *Educational and Psychological Measurement, 61*, 532-574.
    """
    t_obs = _finite("t_obs", t_obs)
    df = _finite("df", df)
    if df <= 0:
        raise ValueError(f"df must be > 0, got {df}")
    ci = _level("ci", ci)

    def solve(q: float) -> float:
        def f(delta: float) -> float:
            return _nct_cdf(t_obs, df, delta) - q

        step = 2.0 + abs(t_obs)
        lo, hi = t_obs - step, t_obs + step
        while f(lo) < 0:
            lo -= step
            step *= 2
        step = 2.0 + abs(t_obs)
        while f(hi) > 0:
            hi += step
            step *= 2
        return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-14, maxiter=500))

    return solve((1 + ci) / 2), solve((1 - ci) / 2)


def hedges_j(df: float) -> tuple[float, str | None]:
    """Hedges' (1981) exact small-sample correction factor and, when it is undefined, why.

        J(df) = Gamma(df / 2) / (sqrt(df / 2) Gamma((df - 1) / 2)),

    computed on the log scale (``scipy.special.gammaln``) so that large df do
    not overflow. The usual approximation ``1 - 3 / (4 df - 1)`` is within
    4e-4 of it at df = 10 (0.92308 vs 0.92275). At df = 1 (an SD from two
    values) ``Gamma(0)`` is infinite, J is 0 and g would be 0 whatever the
    effect, so J is NaN with a reason instead.

    Parameters
    ----------
    df : float
        Degrees of freedom of the SD that standardizes the effect (> 0).

    Returns
    -------
    tuple
        ``(J, reason)``: ``reason`` is None, or why J is NaN (df <= 1).

    References
    ----------
    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect
    size and related estimators. *Journal of Educational Statistics, 6*, 107-128.
    """
    df = _finite("df", df)
    if df <= 0:
        raise ValueError(f"df must be > 0, got {df}")
    if df <= 1:
        return math.nan, f"Hedges' J needs more than 1 degree of freedom (got {df:g}; a norm sample of n >= 3)"
    log_j = special.gammaln(df / 2) - special.gammaln((df - 1) / 2) - 0.5 * math.log(df / 2)
    return float(math.exp(log_j)), None


# --------------------------------------------------------------------------- single case


def single_case(score: float, mean: float, sd: float, n: int, alpha: float = 0.05) -> dict[str, Any]:
    """Compare one respondent (a model) with a normative sample.

    Crawford & Howell's (1998) modified t-test treats the norm mean and SD as
    estimates from a sample of ``n``:

        t = (x - m) / (s * sqrt((n + 1) / n)),  df = n - 1.

    The standard score is ``z = (x - m) / s`` and the T score ``50 + 10 z``.
    Following Crawford & Garthwaite (2002), the point estimate of the percentage
    of the population scoring below the case is ``100 * P(T_{n-1} < t)`` (not
    ``100 * Phi(z)``), and its interval comes from the noncentral t: with
    ``c = (x - m) / s``, ``c * sqrt(n)`` is noncentral t on ``n - 1`` df with
    noncentrality ``delta = z_true * sqrt(n)``; ``delta_L`` and ``delta_U``
    solve ``P(T_{n-1}(delta) <= c sqrt(n)) = 1 - alpha/2`` and ``alpha/2``, and
    the interval is ``100 * Phi(delta / sqrt(n))``. The effect size
    ``z_CC = (x - m) / s`` (Cohen's d against the norm SD) has the interval
    ``delta / sqrt(n)`` (Crawford, Garthwaite & Porter, 2010). Hedges' g is
    ``z_CC * J`` with Hedges' exact small-sample factor ``J`` (:func:`hedges_j`)
    on the norm SD's ``n - 1`` df, and its interval is the z_CC interval times
    J; with n = 2 J is undefined and g is NaN.

    Parameters
    ----------
    score : float
        The case's score (x), on the norm's scale.
    mean, sd : float
        Mean (m) and standard deviation (s, > 0) of the normative sample.
    n : int
        Size of the normative sample (>= 2).
    alpha : float
        1 - confidence level of the intervals (default 0.05 -> 95 %).

    Returns
    -------
    dict
        ``t``, ``df``: modified t and its degrees of freedom;
        ``p_two_sided``; ``p_one_sided`` (in the direction of the observed
        difference, = ``p_two_sided / 2``);
        ``z`` (standard score) and ``T_score``;
        ``percentile``, ``percentile_ci_low``, ``percentile_ci_high``: estimated
        percentage of the population below the case, with its interval;
        ``z_cc``, ``z_cc_ci_low``, ``z_cc_ci_high``;
        ``hedges_g``, ``hedges_g_ci_low``, ``hedges_g_ci_high``;
        ``hedges_g_reason`` (None, or why g is NaN);
        ``n``; ``ci_level`` (= 1 - alpha).

    References
    ----------
    Crawford, J. R., & Howell, D. C. (1998). Comparing an individual's test score
    against norms derived from small samples. *The Clinical Neuropsychologist,
    12*, 482-486.

    Crawford, J. R., & Garthwaite, P. H. (2002). Investigation of the single case
    in neuropsychology: Confidence limits on the abnormality of test scores and
    test score differences. *Neuropsychologia, 40*, 1196-1208.

    Crawford, J. R., Garthwaite, P. H., & Porter, S. (2010). Point and interval
    estimates of effect sizes for the case-controls design in neuropsychology.
    *Cortex, 46*, 1166-1178.

    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect
    size and related estimators. *Journal of Educational Statistics, 6*, 107-128.
    """
    x = _finite("score", score)
    m = _finite("mean", mean)
    s = _finite("sd", sd)
    if s <= 0:
        raise ValueError(f"sd must be > 0, got {sd!r}")
    n_f = _finite("n", n)
    if n_f < 2 or n_f != int(n_f):
        raise ValueError(f"n must be a whole number >= 2 (the norm sample size), got {n!r}")
    n = int(n_f)
    alpha = _level("alpha", alpha)

    df = n - 1
    c = (x - m) / s
    t = c / math.sqrt((n + 1) / n)
    p_two = float(2 * stats.t.sf(abs(t), df))
    delta_low, delta_high = noncentral_t_ci(c * math.sqrt(n), df, 1 - alpha)
    zcc_low, zcc_high = delta_low / math.sqrt(n), delta_high / math.sqrt(n)
    j, j_reason = hedges_j(df)
    return {
        "t": t,
        "df": df,
        "p_two_sided": p_two,
        "p_one_sided": p_two / 2,
        "z": c,
        "T_score": 50 + 10 * c,
        "percentile": float(100 * stats.t.cdf(t, df)),
        "percentile_ci_low": float(100 * stats.norm.cdf(zcc_low)),
        "percentile_ci_high": float(100 * stats.norm.cdf(zcc_high)),
        "z_cc": c,
        "z_cc_ci_low": zcc_low,
        "z_cc_ci_high": zcc_high,
        "hedges_g": c * j,
        "hedges_g_ci_low": zcc_low * j,
        "hedges_g_ci_high": zcc_high * j,
        "hedges_g_reason": j_reason,
        "n": n,
        "ci_level": 1 - alpha,
    }
