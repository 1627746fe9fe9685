"""Checks of the measurement itself: agreement across repetitions, position bias, item-level validity.

Pure functions in the manner of :mod:`eitest.stats`: tidy inputs, dict results
with documented keys, and a ``reason`` wherever a value is undefined. The
position-bias test lives in :mod:`eitest.stats.position` and is re-exported here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from eitest.stats.agreement_groups import NO_ANSWER, agreement_reason, choice_labels
from eitest.stats.position import position_bias
from eitest.stats.validation import _require_columns
from eitest.vocabulary import Status

__all__ = ["NO_ANSWER", "agreement", "item_correlation", "position_bias"]


def agreement(choices: pd.DataFrame) -> dict[str, Any]:
    """Agreement of one model with itself across repetitions.

    A failed call (``status == "error"``: the call failed after its retries)
    is not an answer the model gave, so it is left out: two failed calls on one
    item must not count as agreeing. A reply that gave no answer (unparseable,
    refused, empty) is something the model did, and stays a category of its own
    (``"<none>"``). Both statistics need every item rated in every repetition,
    so they are computed over the *complete* items: those with a row, not
    failed, in every repetition present in ``choices``. The others are left out
    and counted in ``n_items_left_out``; ``reason`` says so.

    ``modal_rate`` is the share of complete items answered identically in every
    repetition. Fleiss' kappa treats repetitions as raters and options as
    categories:

        kappa = (P_bar - P_e) / (1 - P_e),

    where ``P_bar`` is the mean pairwise agreement per item and ``P_e`` the sum
    of squared category shares (Fleiss, 1971), computed by statsmodels
    (``aggregate_raters`` + ``fleiss_kappa``).

    Parameters
    ----------
    choices : DataFrame
        Columns ``item_id``, ``repetition``, ``choice`` (option id, or None when
        the reply gave no answer) and, optionally, ``status`` (the trial's
        status; rows with ``"error"`` are left out). Without ``status`` every
        row counts as a reply: leave failed calls out before calling, or pass
        the status. The index is ignored.

    Returns
    -------
    dict
        ``modal_rate``, ``fleiss_kappa``, ``n_items`` (complete items used),
        ``n_reps`` (repetitions present), ``n_categories`` (categories used,
        ``"<none>"`` included), ``n_items_left_out`` (items lacking a usable
        answer in some repetition), ``n_failed`` (rows left out as failed
        calls), ``reason``: None when every item was used and both values are
        defined; otherwise which items were left out and why a value is NaN
        (fewer than two repetitions; no complete item; kappa is undefined when
        every answer falls in one category).

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
    *Psychological Bulletin, 76*, 378-382.
    """
    _require_columns(choices, ["item_id", "repetition", "choice"], "choices")
    if len(choices) == 0:
        raise ValueError("choices is empty")
    frame = choices.reset_index(drop=True)
    if frame[["item_id", "repetition"]].isna().any().any():
        raise ValueError("choices.item_id and choices.repetition must not be missing")
    if frame.duplicated(["item_id", "repetition"]).any():
        raise ValueError("choices has more than one row for some (item_id, repetition)")
    failed = (
        frame["status"].astype(str).eq(Status.ERROR.value)
        if "status" in frame.columns
        else pd.Series(False, index=frame.index)
    )
    labels = choice_labels(frame["choice"])
    wide = (
        frame.assign(choice=labels)[~failed]
        .pivot(index="item_id", columns="repetition", values="choice")
        .reindex(index=pd.unique(frame["item_id"]), columns=sorted(pd.unique(frame["repetition"])))
    )
    complete = wide.notna().all(axis=1).to_numpy()
    data = wide[complete].to_numpy(dtype=str)
    n_reps = int(wide.shape[1])
    left_out = int((~complete).sum())
    result: dict[str, Any] = {
        "modal_rate": math.nan,
        "fleiss_kappa": math.nan,
        "n_items": int(complete.sum()),
        "n_reps": n_reps,
        "n_categories": int(np.unique(data).size),
        "n_items_left_out": left_out,
        "n_failed": int(failed.sum()),
        "reason": None,
    }
    if n_reps >= 2 and result["n_items"] > 0:
        result["modal_rate"] = float((data == data[:, :1]).all(axis=1).mean())
        if result["n_categories"] >= 2:
            table, _ = aggregate_raters(data)
            result["fleiss_kappa"] = float(fleiss_kappa(table, method="fleiss"))
    result["reason"] = agreement_reason(left_out, wide.shape[0], result["n_items"], n_reps, result["n_categories"])
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
