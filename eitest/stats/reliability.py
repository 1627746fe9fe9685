"""Reliability of human response data (Study 2): Cronbach's alpha with Feldt's interval, KR-20,
item analysis, and Feldt's tests for the difference between two alphas.

Score matrices are wide: one row per participant, one column per item.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from eitest.stats.validation import _finite


def _whole(name: str, value: Any, minimum: int = 2) -> int:
    v = _finite(name, value)
    if v < minimum or v != int(v):
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(v)


def _reliability(name: str, value: Any) -> float:
    x = _finite(name, value)
    if x >= 1:
        raise ValueError(f"{name} must be < 1 (1 - {name} is a divisor), got {value!r}")
    return x


def _matrix(scores: pd.DataFrame, min_items: int = 2) -> np.ndarray:
    """Numeric participants x items array after listwise deletion."""
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"scores must be a pandas DataFrame (participants x items), got {type(scores).__name__}")
    numeric = scores.apply(pd.to_numeric, errors="coerce")
    bad = [c for c in scores.columns if numeric[c].isna().sum() > scores[c].isna().sum()]
    if bad:
        raise ValueError(f"scores has non-numeric values in column(s) {bad[:5]}")
    x = numeric.dropna(axis=0, how="any").to_numpy(dtype=float)
    if x.shape[1] < min_items:
        raise ValueError(f"need at least {min_items} items (columns), got {x.shape[1]}")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 participants with complete data, got {x.shape[0]}")
    return x


def _alpha(x: np.ndarray) -> float:
    k = x.shape[1]
    total_var = x.sum(axis=1).var(ddof=1)
    if total_var == 0:
        raise ValueError("the total score has zero variance, so alpha is undefined")
    return k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total_var)


def _check_ci(ci: float) -> float:
    ci = _finite("ci", ci)
    if not 0 < ci < 1:
        raise ValueError(f"ci must lie strictly between 0 and 1, got {ci}")
    return ci


def feldt_ci(alpha: float, n: int, k: int, ci: float = 0.95) -> dict[str, float]:
    """Feldt's confidence interval for a (published) alpha or KR-20.

    ``(1 - alpha_pop) / (1 - alpha_hat) ~ F(n - 1, (n - 1)(k - 1))`` (Feldt,
    1965), hence

        [1 - (1 - alpha_hat) F_{(1+ci)/2},  1 - (1 - alpha_hat) F_{(1-ci)/2}]

    (Feldt, Woodruff & Salih, 1987, eqs. 6-7; their example: alpha = .790,
    n = 41, k = 26 gives the 90 % interval [.704, .861] with F values rounded to
    two decimals, [.705, .862] exactly).

    Parameters
    ----------
    alpha : float
        The coefficient (< 1).
    n : int
        Number of participants (>= 2).
    k : int
        Number of items (>= 2).
    ci : float
        Confidence level.

    Returns
    -------
    dict
        ``ci_low``, ``ci_high``, ``df1`` (n - 1), ``df2`` ((n - 1)(k - 1)),
        ``ci_level``.

    References
    ----------
    Feldt, L. S. (1965). The approximate sampling distribution of
    Kuder-Richardson reliability coefficient twenty. *Psychometrika, 30*,
    357-370.

    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference
    for coefficient alpha. *Applied Psychological Measurement, 11*, 93-103.
    """
    a = _reliability("alpha", alpha)
    ci = _check_ci(ci)
    n, k = _whole("n", n), _whole("k", k)
    df1, df2 = n - 1, (n - 1) * (k - 1)
    return {
        "ci_low": float(1 - (1 - a) * stats.f.ppf((1 + ci) / 2, df1, df2)),
        "ci_high": float(1 - (1 - a) * stats.f.ppf((1 - ci) / 2, df1, df2)),
        "df1": df1,
        "df2": df2,
        "ci_level": ci,
    }


def cronbach_alpha(scores: pd.DataFrame, ci: float = 0.95) -> dict[str, Any]:
    """Cronbach's alpha with Feldt's F-based confidence interval.

    ``alpha = k / (k - 1) * (1 - sum_i var(X_i) / var(sum_i X_i))`` (variances
    with ddof=1; the ratio does not depend on the choice). Under the usual
    model, ``(1 - alpha_pop) / (1 - alpha_hat)`` follows
    ``F(n - 1, (n - 1)(k - 1))`` (Feldt, 1965), so the interval is

        [1 - (1 - alpha_hat) F_{(1+ci)/2},  1 - (1 - alpha_hat) F_{(1-ci)/2}]

    (Feldt, Woodruff & Salih, 1987, eqs. 6-7; see :func:`feldt_ci`). Rows with any missing value are
    dropped (listwise deletion). For 0/1 items alpha equals KR-20.

    Parameters
    ----------
    scores : DataFrame
        Participants in rows, items in columns, numeric.
    ci : float
        Confidence level.

    Returns
    -------
    dict
        ``alpha``, ``ci_low``, ``ci_high``, ``n`` (participants used), ``k``
        (items), ``ci_level``.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of
    tests. *Psychometrika, 16*, 297-334.

    Feldt, L. S. (1965). The approximate sampling distribution of
    Kuder-Richardson reliability coefficient twenty. *Psychometrika, 30*,
    357-370.

    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference
    for coefficient alpha. *Applied Psychological Measurement, 11*, 93-103.
    """
    ci = _check_ci(ci)
    x = _matrix(scores)
    n, k = x.shape
    a = _alpha(x)
    interval = feldt_ci(a, n, k, ci)
    return {
        "alpha": float(a),
        "ci_low": interval["ci_low"],
        "ci_high": interval["ci_high"],
        "n": n,
        "k": k,
        "ci_level": ci,
    }


def kr20(scores: pd.DataFrame, ci: float = 0.95) -> dict[str, Any]:
    """Kuder-Richardson formula 20 for dichotomous (0/1) items.

    ``KR-20 = k / (k - 1) * (1 - sum_i p_i q_i / var(X))`` with ``p_i`` the
    proportion correct, ``q_i = 1 - p_i`` and ``var(X)`` the variance of the
    total score (ddof=0, to match ``p q``); it is Cronbach's alpha for 0/1 items.
    The interval is Feldt's (see :func:`feldt_ci`).

    Parameters
    ----------
    scores : DataFrame
        Participants in rows, 0/1 items in columns.
    ci : float
        Confidence level.

    Returns
    -------
    dict
        ``kr20``, ``ci_low``, ``ci_high``, ``n``, ``k``, ``ci_level``.

    References
    ----------
    Kuder, G. F., & Richardson, M. W. (1937). The theory of the estimation of
    test reliability. *Psychometrika, 2*, 151-160.
    """
    ci = _check_ci(ci)
    x = _matrix(scores)
    if not np.isin(x, (0.0, 1.0)).all():
        raise ValueError("KR-20 needs items scored 0/1; use cronbach_alpha for other scores")
    n, k = x.shape
    p = x.mean(axis=0)
    total_var = x.sum(axis=1).var(ddof=0)
    if total_var == 0:
        raise ValueError("the total score has zero variance, so KR-20 is undefined")
    value = k / (k - 1) * (1 - (p * (1 - p)).sum() / total_var)
    interval = feldt_ci(value, n, k, ci)
    return {
        "kr20": float(value),
        "ci_low": interval["ci_low"],
        "ci_high": interval["ci_high"],
        "n": n,
        "k": k,
        "ci_level": ci,
    }


def item_total(scores: pd.DataFrame) -> pd.DataFrame:
    """Classical item analysis.

    For each item ``i``: ``p`` is its mean (proportion correct for 0/1 items);
    ``r_corrected`` is the Pearson correlation of the item with the total of the
    *other* items (corrected item-total correlation, Nunnally & Bernstein,
    1994); ``alpha_if_deleted`` is Cronbach's alpha of the remaining ``k - 1``
    items (NaN when fewer than two would remain). Listwise deletion as in
    :func:`cronbach_alpha`.

    Parameters
    ----------
    scores : DataFrame
        Participants in rows, items in columns, numeric.

    Returns
    -------
    DataFrame
        Columns ``item`` (column name), ``p``, ``r_corrected`` (NaN for a
        constant item), ``alpha_if_deleted``; one row per item, in column order.

    References
    ----------
    Nunnally, J. C., & Bernstein, I. H. (1994). *Psychometric theory* (3rd ed.).
    McGraw-Hill.
    """
    x = _matrix(scores)
    k = x.shape[1]
    total = x.sum(axis=1)
    rows = []
    for i, name in enumerate(scores.columns):
        rest = total - x[:, i]
        if np.ptp(x[:, i]) == 0 or np.ptp(rest) == 0:
            r = math.nan
        else:
            r = float(stats.pearsonr(x[:, i], rest).statistic)
        others = np.delete(x, i, axis=1)
        if k - 1 >= 2 and others.sum(axis=1).var(ddof=1) > 0:
            a_del = float(_alpha(others))
        else:
            a_del = math.nan
        rows.append({"item": name, "p": float(x[:, i].mean()), "r_corrected": r, "alpha_if_deleted": a_del})
    return pd.DataFrame(rows, columns=["item", "p", "r_corrected", "alpha_if_deleted"])


def feldt_dependent(alpha1: float, alpha2: float, n: int, r: float) -> dict[str, float]:
    """Test whether two alphas from the same sample differ (Feldt, 1980).

        t = (a1 - a2) sqrt(n - 2) / sqrt(4 (1 - a1)(1 - a2)(1 - r^2)),  df = n - 2,

    two-sided p from Student's t. ``r`` is the correlation between the two
    forms' total scores (Charter & Feldt, 1996).

    Parameters
    ----------
    alpha1, alpha2 : float
        The two alphas (< 1).
    n : int
        Number of participants who took both forms (>= 3).
    r : float
        Correlation of the two total scores, in (-1, 1).

    Returns
    -------
    dict
        ``t``, ``df``, ``p`` (two-sided).

    References
    ----------
    Feldt, L. S. (1980). A test of the hypothesis that Cronbach's alpha
    reliability coefficient is the same for two tests administered to the same
    sample. *Psychometrika, 45*, 99-105.

    Charter, R. A., & Feldt, L. S. (1996). Testing the equality of two alpha
    coefficients. *Perceptual and Motor Skills, 82*, 763-768.
    """
    a1, a2 = _reliability("alpha1", alpha1), _reliability("alpha2", alpha2)
    n = _whole("n", n, minimum=3)
    r = _finite("r", r)
    if not -1 < r < 1:
        raise ValueError(f"r must lie strictly between -1 and 1, got {r}")
    df = n - 2
    t = (a1 - a2) * math.sqrt(df) / math.sqrt(4 * (1 - a1) * (1 - a2) * (1 - r**2))
    return {"t": t, "df": df, "p": float(2 * stats.t.sf(abs(t), df))}


def feldt_independent(alpha1: float, n1: int, alpha2: float, n2: int) -> dict[str, float]:
    """Test whether two alphas from independent samples differ (Feldt, 1969).

        W = (1 - a1) / (1 - a2) ~ F(n2 - 1, n1 - 1) under H0,

    with the two-sided p ``2 min(P(F <= W), P(F >= W))``. The numerator df
    belongs to the sample whose ``1 - alpha`` is in the *denominator*: ``1 -
    alpha_hat`` behaves like ``(1 - alpha) (n - 1) / chi2_{n-1}``, so the ratio is
    ``[chi2_2 / (n2 - 1)] / [chi2_1 / (n1 - 1)]`` (Feldt, 1969; Charter &
    Feldt, 1996, who give ``W = 1.318`` for alphas .71 (n = 151) and .78
    (n = 41), df 40 and 150, one-sided p = .121).

    Parameters
    ----------
    alpha1, alpha2 : float
        The two alphas (< 1).
    n1, n2 : int
        Sample sizes (>= 2).

    Returns
    -------
    dict
        ``W``, ``df1`` (= n2 - 1), ``df2`` (= n1 - 1), ``p`` (two-sided).

    References
    ----------
    Feldt, L. S. (1969). A test of the hypothesis that Cronbach's alpha or
    Kuder-Richardson coefficient twenty is the same for two tests.
    *Psychometrika, 34*, 363-373.

    Charter, R. A., & Feldt, L. S. (1996). Testing the equality of two alpha
    coefficients. *Perceptual and Motor Skills, 82*, 763-768.
    """
    a1, a2 = _reliability("alpha1", alpha1), _reliability("alpha2", alpha2)
    df1, df2 = _whole("n2", n2) - 1, _whole("n1", n1) - 1
    w = (1 - a1) / (1 - a2)
    p = 2 * min(stats.f.cdf(w, df1, df2), stats.f.sf(w, df1, df2))
    return {"W": w, "df1": df1, "df2": df2, "p": float(min(1.0, p))}
