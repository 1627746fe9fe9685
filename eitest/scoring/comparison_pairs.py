"""One pair of respondents on one test, item by item: a row per basis, each with its interval and test.

The primary row's basis is the *first administration* (repetition 0 of each item),
the answer a human norm is compared with. When a respondent answered each item more
than once, a second row, labelled ``mean of R repetitions``, pairs each item's mean
credit over its repetitions. Within each row the score, the difference, the paired
bootstrap interval, the test and the counts of items gained and lost are all computed
from the same per-item credits: the exact McNemar test when those credits are right
or wrong (a keyed test's first administration, as chosen), else the Wilcoxon
signed-rank test of the per-item differences (an expert-weighted test's credits, the
logprobs protocol's probabilities, means over repetitions). The flipped items are the
first administration's right/wrong as chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eitest.scoring.scores import trial_credit

if TYPE_CHECKING:
    from eitest.instruments import Instrument
    from eitest.scoring.analysis import AnalysisOptions
    from eitest.scoring.comparison_design import Respondent

__all__ = ["CI_QUESTION", "FIRST", "item_table", "pair_rows", "wide"]

CI_QUESTION = "on new items like these"
FIRST = "first administration"  # the primary basis, the one a human norm is compared with


def _mine(trials: pd.DataFrame, r: Respondent) -> pd.DataFrame:
    return trials[(trials["run_id"] == r.run_id) & (trials["model"] == r.model)]


def item_table(
    trials: pd.DataFrame, inst: Instrument, respondents: Sequence[Respondent]
) -> tuple[pd.DataFrame, list[str]]:
    """Per item x respondent: ``first_credit`` (repetition 0), ``credit`` (mean over repetitions), ``n_reps``,
    ``first`` (0/1: right as chosen, repetition 0), ``choice``.

    Only the items every respondent has, with a first administration, are kept; the others are returned by id.
    """
    kind = "weighted" if inst.scoring == "weighted" else "accuracy"
    parts = []
    for r in respondents:
        t = _mine(trials, r)
        t = trial_credit(t[t["instrument"] == inst.id], kind=kind)
        by_item = t.groupby("item_id")
        first = t[t["repetition"] == 0].set_index("item_id")
        # Right or wrong as chosen (under the logprobs protocol: its most probable option), never a probability.
        right = ((first["chosen_position"] == first["keyed_position"]) & (first["status"] == "answered")).astype(float)
        columns = {"first_credit": first["credit"], "credit": by_item["credit"].mean(),
                   "n_reps": by_item["repetition"].nunique(), "first": right, "choice": first["chosen_option"]}  # fmt: skip
        parts.append(pd.DataFrame(columns).assign(label=r.label))
    table = pd.concat(parts).rename_axis("item_id").reset_index()
    complete = table.dropna(subset=["credit", "first"]).groupby("item_id")["label"].nunique() == len(respondents)
    keep = sorted(complete[complete].index)
    left_out = sorted(set(table["item_id"]) - set(keep))
    return table[table["item_id"].isin(keep)], left_out


def wide(items: pd.DataFrame, column: str, labels: Sequence[str]) -> pd.DataFrame:
    return items.pivot(index="item_id", columns="label", values=column)[list(labels)]


def _top(inst: Instrument, item_ids: Sequence[str]) -> np.ndarray:
    if inst.scoring != "weighted":
        return np.ones(len(item_ids))
    return np.array([inst.item(i).credit(inst.item(i).best_option) for i in item_ids])


def _no_interval(differences: pd.Series, boot: dict[str, float]) -> str | None:
    """Why the bootstrap gives no interval (and ``boot``'s bounds are blanked), or None when it does.

    ``differences`` are per item, each over the item's top credit: when they are all one value, every
    resample of the items has that difference, and the interval would be a point.
    """
    if float(differences.max() - differences.min()) > 1e-12:
        return None
    boot["ci_low"] = boot["ci_high"] = float("nan")
    return (
        f"every item differs by the same share of its credit ({differences.iloc[0]:+.3f}): resampling the items cannot show "
        "how the difference would vary on new items, so no interval is given"
    )


def _bases(items: pd.DataFrame, a: Respondent, b: Respondent) -> list[tuple[str, str]]:
    """(basis, column of ``items``) of each row of a pair: the first administration, then the mean when repeated."""
    reps = wide(items, "n_reps", [a.label, b.label]).max()
    ra, rb = int(reps[a.label]), int(reps[b.label])
    if max(ra, rb) < 2:
        return [(FIRST, "first_credit")]
    mean = f"mean of {ra} repetitions" if ra == rb else f"mean of repetitions ({ra} in a, {rb} in b)"
    return [(FIRST, "first_credit"), (mean, "credit")]


def pair_rows(
    items: pd.DataFrame, inst: Instrument, a: Respondent, b: Respondent, options: AnalysisOptions
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of one pair, one per basis (the test and the interval of each on its own credits), and its flips."""
    pair = {"instrument": inst.id, "scoring": inst.scoring, "a": a.label, "b": b.label,
            "a_run": a.run_id, "a_model": a.model, "b_run": b.run_id, "b_model": b.model}  # fmt: skip
    rows = []
    for basis, column in _bases(items, a, b):
        credit = wide(items, column, [a.label, b.label])
        rows.append({**pair, "basis": basis, **_difference(credit[a.label], credit[b.label], inst, basis, options)})
    return rows, _flips(items, inst, a, b)


def _difference(
    credit_a: pd.Series, credit_b: pd.Series, inst: Instrument, basis: str, options: AnalysisOptions
) -> dict[str, Any]:
    """Score, difference, its bootstrap interval and its paired test, all on these per-item credits."""
    from eitest.stats.paired import paired_bootstrap

    top = _top(inst, list(credit_a.index))
    boot = paired_bootstrap(credit_a, credit_b, top, n_boot=options.n_boot, seed=options.seed)
    d = credit_b - credit_a
    reason = _no_interval(d / top, boot)  # before the bounds are read: it blanks them
    p, method = _paired_test(credit_a, credit_b, inst, basis)
    return {
        "score_a": float(credit_a.sum() / top.sum()),
        "score_b": float(credit_b.sum() / top.sum()),
        "difference": boot["difference"],
        "ci_low": boot["ci_low"],
        "ci_high": boot["ci_high"],
        "ci_level": 0.95,
        "ci_method": f"paired percentile bootstrap over items ({options.n_boot} resamples, seed {options.seed})",
        "ci_question": CI_QUESTION,
        "ci_reason": reason,
        "n_items": len(d),
        "p": p,
        "p_method": method,
        "n_gained": int((d > 0).sum()),
        "n_lost": int((d < 0).sum()),
    }


def _paired_test(credit_a: pd.Series, credit_b: pd.Series, inst: Instrument, basis: str) -> tuple[float, str]:
    """The p value of the same credits the interval resamples: exact McNemar on right/wrong, else Wilcoxon."""
    from scipy import stats

    from eitest.stats.paired import mcnemar_exact

    binary = bool(np.isin(credit_a, (0.0, 1.0)).all() and np.isin(credit_b, (0.0, 1.0)).all())
    if inst.scoring != "weighted" and binary:
        return mcnemar_exact(credit_a, credit_b)["p"], f"exact McNemar test of the right/wrong ({basis})"
    d = credit_b - credit_a
    p = float(stats.wilcoxon(d).pvalue) if (d != 0).any() else 1.0
    return p, f"Wilcoxon signed-rank test of the item credits ({basis})"


def _flips(items: pd.DataFrame, inst: Instrument, a: Respondent, b: Respondent) -> list[dict[str, Any]]:
    """The items right as chosen by one of ``a``, ``b`` and not the other, on the first administration."""
    first = wide(items, "first", [a.label, b.label])
    choice = wide(items, "choice", [a.label, b.label])
    flips = []
    for item_id in first.index:
        before, after = first.at[item_id, a.label], first.at[item_id, b.label]
        if before != after:
            flips.append(
                {
                    "instrument": inst.id,
                    "a": a.label,
                    "b": b.label,
                    "item_id": item_id,
                    "direction": "gained" if after > before else "lost",
                    "choice_a": choice.at[item_id, a.label],
                    "choice_b": choice.at[item_id, b.label],
                }
            )
    return flips
