"""Checks of the measurement itself: agreement across repetitions, position bias, item-level validity.

Pure functions in the manner of :mod:`eitest.stats`: tidy inputs, dict results
with documented keys, and a ``reason`` wherever a value is undefined.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from eitest.stats.validation import _finite, _require_columns

__all__ = ["NO_ANSWER", "agreement", "item_correlation", "position_bias"]

NO_ANSWER = "<none>"


def agreement(choices: pd.DataFrame) -> dict[str, Any]:
    """Agreement of one model with itself across repetitions.

    ``modal_rate`` is the share of items answered identically in every
    repetition. Fleiss' kappa treats repetitions as raters and options as
    categories, "no answer" (``None``/NaN) being a category of its own
    (``"<none>"``):

        kappa = (P_bar - P_e) / (1 - P_e),

    where ``P_bar`` is the mean pairwise agreement per item and ``P_e`` the sum
    of squared category shares (Fleiss, 1971), computed by statsmodels
    (``aggregate_raters`` + ``fleiss_kappa``).

    Parameters
    ----------
    choices : DataFrame
        Columns ``item_id``, ``repetition``, ``choice`` (option id, or None when
        the reply gave no answer). Every item must have the same repetitions.

    Returns
    -------
    dict
        ``modal_rate``, ``fleiss_kappa``, ``n_items``, ``n_reps``,
        ``n_categories`` (categories used, ``"<none>"`` included), ``reason``:
        None, or why a value is NaN (fewer than two repetitions; kappa is
        undefined when every answer falls in one category).

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    *Psychological Bulletin, 76*, 378-382.
    """
    _require_columns(choices, ["item_id", "repetition", "choice"], "choices")
    if len(choices) == 0:
        raise ValueError("choices is empty")
    if choices[["item_id", "repetition"]].isna().any().any():
        raise ValueError("choices.item_id and choices.repetition must not be missing")
    if choices.duplicated(["item_id", "repetition"]).any():
        raise ValueError("choices has more than one row for some (item_id, repetition)")
    labels = choices["choice"].astype(object).where(choices["choice"].notna(), NO_ANSWER).astype(str)
    wide = choices.assign(choice=labels).pivot(index="item_id", columns="repetition", values="choice")
    incomplete = wide.index[wide.isna().any(axis=1)].tolist()
    if incomplete:
        raise ValueError(
            f"items {incomplete[:5]} lack some repetitions; Fleiss' kappa needs every item rated in every "
            "repetition (keep failed replies as choice=None, or drop the incomplete items)"
        )
    n_items, n_reps = wide.shape
    data = wide.to_numpy(dtype=str)
    n_categories = int(np.unique(data).size)
    result: dict[str, Any] = {
        "modal_rate": math.nan,
        "fleiss_kappa": math.nan,
        "n_items": int(n_items),
        "n_reps": int(n_reps),
        "n_categories": n_categories,
        "reason": None,
    }
    if n_reps < 2:
        result["reason"] = "agreement needs at least two repetitions"
        return result
    result["modal_rate"] = float((data == data[:, :1]).all(axis=1).mean())
    if n_categories < 2:
        result["reason"] = "every answer fell in one category, so chance agreement is 1 and kappa is undefined"
        return result
    table, _ = aggregate_raters(data)
    result["fleiss_kappa"] = float(fleiss_kappa(table, method="fleiss"))
    return result


def position_bias(df: pd.DataFrame, min_excess: float = 0.10) -> dict[str, Any]:
    """Does the model favour a screen position, whatever the key?

    With options shown in varied order, the keyed answer sits in different
    positions; a responder that follows content chooses positions as often as
    the keys put the answer there. The observed counts of chosen positions
    (answered trials only) are compared with expected counts ``E_j = N *
    share of trials keyed at position j`` by Pearson's chi-square
    (``scipy.stats.chisquare``), ``chi2 = sum (O_j - E_j)^2 / E_j``, ``df =
    (positions with E_j > 0) - 1``. Positions neither keyed nor chosen are left
    out. If the model chose a position that is never keyed, chi2 is infinite and
    p is 0. A bias is flagged when ``p < .05`` and the most chosen position's
    share exceeds its expected share by at least ``min_excess``.

    Parameters
    ----------
    df : DataFrame
        Columns ``chosen_position`` (NaN when no answer), ``keyed_position``,
        ``n_options``; all 0-based; only trials whose options were shuffled.
    min_excess : float
        How far (as a share) the top position must exceed its expectation to be
        flagged; default 0.10.

    Returns
    -------
    dict
        ``n`` (answered trials), ``chi2``, ``df``, ``p``, ``observed`` and
        ``expected`` (arrays indexed by position 0..max(n_options)-1),
        ``top_position``, ``top_share``, ``top_expected_share``, ``flag``
        (bool), ``reason`` (None, or why the test could not be run).

    References
    ----------
    Pearson, K. (1900). On the criterion that a given system of deviations from
    the probable in the case of a correlated system of variables is such that it
    can be reasonably supposed to have arisen from random sampling.
    *Philosophical Magazine, 50*, 157-175.
    """
    _require_columns(df, ["chosen_position", "keyed_position", "n_options"], "df")
    if len(df) == 0:
        raise ValueError("df is empty: no trials with shuffled options")
    min_excess = _finite("min_excess", min_excess)
    keyed = pd.to_numeric(df["keyed_position"], errors="coerce")
    n_opt = pd.to_numeric(df["n_options"], errors="coerce")
    chosen = pd.to_numeric(df["chosen_position"], errors="coerce")
    if keyed.isna().any() or n_opt.isna().any():
        raise ValueError("keyed_position and n_options must be present in every row")
    if (n_opt < 2).any():
        raise ValueError("n_options must be >= 2")
    for name, col in (("keyed_position", keyed), ("chosen_position", chosen.dropna())):
        bad = (col < 0) | (col >= n_opt.loc[col.index]) | (col != np.floor(col))
        if bad.any():
            raise ValueError(f"{name} must be a whole number in [0, n_options); bad rows: {list(col.index[bad][:5])}")

    n_pos = int(n_opt.max())
    answered = chosen.dropna().astype(int)
    n = int(answered.size)
    observed = np.bincount(answered, minlength=n_pos).astype(float)
    key_share = np.bincount(keyed.astype(int), minlength=n_pos) / len(keyed)
    expected = key_share * n
    result: dict[str, Any] = {
        "n": n,
        "chi2": math.nan,
        "df": math.nan,
        "p": math.nan,
        "observed": observed,
        "expected": expected,
        "top_position": None,
        "top_share": math.nan,
        "top_expected_share": math.nan,
        "flag": False,
        "reason": None,
    }
    if n == 0:
        result["reason"] = "no answered trials"
        return result
    top = int(np.argmax(observed))
    result.update(top_position=top, top_share=float(observed[top] / n), top_expected_share=float(key_share[top]))
    keyed_somewhere = expected > 0
    if keyed_somewhere.sum() < 2:
        result["reason"] = "the keys sit in a single position, so there is nothing to compare against"
        return result
    dof = int(keyed_somewhere.sum()) - 1
    if (observed[~keyed_somewhere] > 0).any():
        chi2, p = math.inf, 0.0
    else:
        res = stats.chisquare(observed[keyed_somewhere], expected[keyed_somewhere])
        chi2, p = float(res.statistic), float(res.pvalue)
    result.update(chi2=chi2, df=dof, p=p)
    result["flag"] = bool(p < 0.05 and result["top_share"] - result["top_expected_share"] >= min_excess)
    return result


def item_correlation(model_item_acc: Any, human_p: Any) -> dict[str, Any]:
    """Spearman correlation of model item accuracy with human item difficulty.

    ``rho`` is Pearson's r of the ranks (average ranks for ties), with the
    t-based p of ``scipy.stats.spearmanr``. Pairs with a missing value are
    dropped. Two pandas Series are aligned on their index (item ids) first.

    Parameters
    ----------
    model_item_acc, human_p : array-like or Series
        Per-item model accuracy and human proportion correct.

    Returns
    -------
    dict
        ``rho``, ``p``, ``n`` (pairs used), ``reason`` (None, or why rho is NaN:
        fewer than 3 pairs, or a constant input).

    References
    ----------
    Spearman, C. (1904). The proof and measurement of association between two
    things. *American Journal of Psychology, 15*, 72-101.
    """
    if isinstance(model_item_acc, pd.Series) and isinstance(human_p, pd.Series):
        a, b = model_item_acc.align(human_p, join="inner")
        x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
    else:
        x = np.asarray(model_item_acc, dtype=float).ravel()
        y = np.asarray(human_p, dtype=float).ravel()
        if x.size != y.size:
            raise ValueError(f"model_item_acc has {x.size} values but human_p has {y.size}")
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    n = int(x.size)
    result: dict[str, Any] = {"rho": math.nan, "p": math.nan, "n": n, "reason": None}
    if n < 3:
        result["reason"] = f"a correlation needs at least 3 items with both values, got {n}"
    elif np.ptp(x) == 0 or np.ptp(y) == 0:
        which = "model_item_acc" if np.ptp(x) == 0 else "human_p"
        result["reason"] = f"{which} is constant, so the correlation is undefined"
    else:
        res = stats.spearmanr(x, y)
        result.update(rho=float(res.statistic), p=float(res.pvalue))
    return result
