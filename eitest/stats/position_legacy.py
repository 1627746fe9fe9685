"""Transitional: the position-bias check that compares chosen positions with where the keys fell.

Its null is wrong (it flags position-blind responders 25-29 % of the time); it is
kept only so that :mod:`eitest.scoring.analysis` keeps working until it passes
the trials to :func:`eitest.stats.position.position_bias`. Delete with that change.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from eitest.stats.validation import _finite, _require_columns


def position_bias_against_keys(df: pd.DataFrame, min_excess: float = 0.10) -> dict[str, Any]:
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
