"""Agreement across repetitions for many respondents at once: :func:`eitest.stats.agreement`, group by group.

The same statistics as :func:`~eitest.stats.measurement.agreement` (modal rate and
Fleiss' kappa over the items answered, not failed, in every repetition; Fleiss,
1971), computed for every group (a model on a test) in a few grouped passes over
integer codes instead of one pivot per group. Fleiss' kappa is written out,

    P_i = (sum_j n_ij^2 - n) / (n (n - 1)),   p_j = sum_i n_ij / (N n),
    kappa = (mean_i P_i - sum_j p_j^2) / (1 - sum_j p_j^2),

with n_ij the repetitions of item i in category j, n the repetitions and N the
items, as statsmodels' ``fleiss_kappa(method="fleiss")`` computes it; the tests
check one against the other.

References
----------
Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
*Psychological Bulletin, 76*, 378-382.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from eitest.vocabulary import Status

NO_ANSWER = "<none>"
RESULT_KEYS = ("modal_rate", "fleiss_kappa", "n_items", "n_reps", "n_categories", "n_items_left_out", "n_failed",
               "reason")  # fmt: skip


def agreement_reason(left_out: int, n_total: int, n_items: int, n_reps: int, n_categories: int) -> str | None:
    """Why agreement leaves items out or is undefined (None when every item was used and both values exist)."""
    reasons = []
    if left_out:
        reasons.append(
            f"{left_out} of {n_total} items left out (a failed call or no row in some repetition); "
            f"agreement is over the {n_items} items answered in all {n_reps} repetitions"
        )
    if n_reps < 2:
        reasons.append("agreement needs at least two repetitions")
    elif n_items == 0:
        reasons.append("no item was answered in every repetition, so agreement is undefined")
    elif n_categories < 2:
        reasons.append("every answer fell in one category, so chance agreement is 1 and kappa is undefined")
    return "; ".join(reasons) or None


def choice_labels(choice: pd.Series) -> pd.Series:
    """Each row's category: the option chosen, or ``"<none>"`` when the reply gave no answer."""
    if isinstance(choice.dtype, pd.StringDtype):  # text (a store's): filled as it is, no object per row
        return choice.fillna(NO_ANSWER).astype(str)
    return choice.astype(object).where(choice.notna(), NO_ANSWER).astype(str)


def agreement_by_group(choices: pd.DataFrame, group: Any) -> list[dict[str, Any]]:
    """:func:`eitest.stats.agreement` of each group of ``choices``, in the order of the group codes.

    ``choices`` has the columns of :func:`~eitest.stats.agreement` (``item_id``,
    ``repetition``, ``choice``, optionally ``status``); ``group`` gives each row's group
    as an integer code 0..G-1, every code present. Returns one dict per group with the
    keys of :func:`~eitest.stats.agreement`.
    """
    codes = np.asarray(group, dtype=np.int64)
    if len(choices) == 0:
        raise ValueError("choices is empty")
    if choices[["item_id", "repetition"]].isna().any().any():
        raise ValueError("choices.item_id and choices.repetition must not be missing")
    failed = (
        choices["status"].astype(str).eq(Status.ERROR.value).to_numpy()
        if "status" in choices.columns
        else np.zeros(len(choices), dtype=bool)
    )
    cells = pd.DataFrame(
        {
            "g": codes,
            "item": pd.factorize(choices["item_id"])[0],
            "rep": pd.factorize(choices["repetition"])[0],
            "label": pd.factorize(choice_labels(choices["choice"]))[0],
        }
    )
    if cells.duplicated(["g", "item", "rep"]).any():
        raise ValueError("choices has more than one row for some (item_id, repetition)")
    by_group = cells.groupby("g", sort=True)
    n_reps = by_group["rep"].nunique()
    n_total = by_group["item"].nunique()
    n_failed = pd.Series(failed).groupby(codes).sum()
    ok = cells[~failed]
    per_item = ok.groupby(["g", "item"], sort=True)["label"].agg(["size", "nunique"])
    item_group = per_item.index.get_level_values("g").to_numpy()
    complete = per_item["size"].to_numpy() == n_reps.to_numpy()[item_group]
    used = ok[ok.set_index(["g", "item"]).index.isin(per_item.index[complete])]
    kappa = _fleiss(used, n_reps)
    n_cats = used.groupby("g")["label"].nunique()
    modal = pd.Series(per_item["nunique"].to_numpy()[complete] == 1).groupby(item_group[complete]).mean()
    n_complete = pd.Series(complete).groupby(item_group).sum()
    out = []
    for g in range(len(n_reps)):
        reps, n_items = int(n_reps.iloc[g]), int(n_complete.get(g, 0))
        categories, total = int(n_cats.get(g, 0)), int(n_total.iloc[g])
        defined = reps >= 2 and n_items > 0
        result: dict[str, Any] = {
            "modal_rate": float(modal[g]) if defined else math.nan,
            "fleiss_kappa": float(kappa[g]) if defined and categories >= 2 else math.nan,
            "n_items": n_items,
            "n_reps": reps,
            "n_categories": categories,
            "n_items_left_out": total - n_items,
            "n_failed": int(n_failed.get(g, 0)),
        }
        result["reason"] = agreement_reason(total - n_items, total, n_items, reps, categories)
        out.append(result)
    return out


def _fleiss(used: pd.DataFrame, n_reps: pd.Series) -> dict[int, float]:
    """Fleiss' kappa per group over its complete items (``used``: their cells); groups without items absent."""
    if used.empty:
        return {}
    raters = n_reps.to_numpy(dtype=float)  # per group: every complete item has one label per repetition
    counts = used.groupby(["g", "item", "label"], sort=True).size().astype(float)
    squares = (counts**2).groupby(level=["g", "item"]).sum()
    n = raters[squares.index.get_level_values("g").to_numpy()]
    p_mean = ((squares - n) / (n * (n - 1.0))).groupby(level="g").mean()
    n_items = squares.groupby(level="g").size()
    by_category = counts.groupby(level=["g", "label"]).sum()
    g_of = by_category.index.get_level_values("g").to_numpy()
    p_cat = by_category.to_numpy() / (n_items.reindex(g_of).to_numpy() * raters[g_of])
    p_exp = pd.Series(p_cat**2).groupby(g_of).sum()
    # one category only: chance agreement is 1 and kappa undefined (the caller says so)
    return {int(g): float((p_mean[g] - p_exp[g]) / (1 - p_exp[g])) if p_exp[g] < 1 else math.nan for g in p_mean.index}
