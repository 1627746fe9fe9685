"""The scores step: one row per model x instrument, each test's one reported score with two labelled intervals.

The reported ``score`` is the test's own: the share correct for a keyed test; for an
expert-weighted test the proportion of the maximum attainable (mean credit divided by
the mean top credit of its items), beside the mean credit itself (``weighted_score``)
and that maximum (``max_credit``). Whether a test is weighted is the run's
instrument's own ``scoring``, never the catalogue's.

A model is one respondent and its repetitions are repeated measures, so two
intervals answer two questions and neither pools trials as independent:

- ``rep_ci_*``, "this model on this test": the run-to-run spread of the
  per-repetition scores (:func:`eitest.stats.rep_interval`), cut at 0 and 1;
- ``item_ci_*``, "new items like these": items resampled, each item's score its mean
  over repetitions (:func:`eitest.stats.item_interval`; exact Clopper-Pearson bounds
  when a keyed test scores 0 or 1 on every item); ``wilson_ci_*`` is Wilson's interval
  over the items (keyed tests; not under the logprobs protocol, whose item scores are
  expected credits rather than counts of right answers, ``wilson_ci_reason`` says so).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eitest.scoring.grouped import Grouped, grouped
from eitest.scoring.scores import logprobs_pairs, repetition_scores, trial_credit
from eitest.scoring.selection import RunInstrumentMap

if TYPE_CHECKING:
    from eitest.instruments import Instrument

WARN_BELOW = 0.95
SCALES = {"keyed": "proportion correct", "weighted": "proportion of maximum"}
INTERVAL_COLUMNS = [
    "rep_ci_low", "rep_ci_high", "rep_ci_reason", "item_ci_low", "item_ci_high", "item_ci_method",
    "item_ci_reason", "wilson_ci_low", "wilson_ci_high", "wilson_ci_reason",
]  # fmt: skip
NO_WILSON_LOGPROBS = (
    "no Wilson interval under the logprobs protocol: its item scores are expected credits (probabilities), "
    "not counts of right answers, so a binomial variance does not describe them; the item bootstrap does"
)


def score_table(
    trials: pd.DataFrame,
    instruments: RunInstrumentMap,
    *,
    exclude_unanswered: bool = False,
    n_boot: int = 2000,
    seed: int = 0,
    by_pair: Grouped | None = None,
) -> pd.DataFrame:
    """The scores of each model on each instrument, one run per model x instrument.

    Columns: ``model, instrument, run_id, option_order, scoring, score, score_scale,
    accuracy, weighted_score, max_credit, sd_reps``, the intervals
    (:data:`INTERVAL_COLUMNS`), and the counts and rates of
    :func:`eitest.scoring.instrument_scores`. ``by_pair`` is the trials already grouped
    (:func:`eitest.scoring.grouped.grouped`, with the same ``exclude_unanswered``).
    """
    by_pair = by_pair or grouped(trials, instruments, exclude_unanswered=exclude_unanswered)
    logprobs = logprobs_pairs(trials)
    rows = []
    for pair, base in enumerate(by_pair.pairs.to_dict("records")):
        expected = (base["model"], base["instrument"]) in logprobs
        reported = _reported(by_pair, pair, n_boot=n_boot, seed=seed, expected=expected)
        run_id, option_order = base.pop("run_id"), base.pop("option_order")
        rows.append({"run_id": run_id, "option_order": option_order, **base, **reported})
    return pd.DataFrame(rows)


def max_credit(inst: Instrument, item_ids: Any) -> float:
    """The most mean credit the items ``item_ids`` allow: the mean of their top weights (1 when keyed)."""
    return float(np.mean([_top(inst, i) for i in item_ids]))


def rep_scores(trials: pd.DataFrame, inst: Instrument, scale: str, *, exclude_unanswered: bool = False) -> pd.Series:
    """One model's score on one instrument in each repetition, on ``scale``, indexed by repetition.

    ``scale`` is ``proportion_correct`` (share choosing the keyed / top option),
    ``mean_credit`` (mean expert credit) or ``proportion_of_max`` (mean credit over the
    items' maximum; the share correct for a keyed test).
    """
    if scale == "proportion_of_max" and inst.scoring == "weighted":
        # Per repetition, the credit won over the credit its scored items allow (both over the same items,
        # so leaving unanswered trials out cannot push it past 1); the clip only removes rounding.
        t = trial_credit(trials, kind="weighted", exclude_unanswered=exclude_unanswered).dropna(subset=["credit"])
        tops = t["item_id"].map({i: _top(inst, i) for i in t["item_id"].unique()})
        return (t["credit"].groupby(t["repetition"]).sum() / tops.groupby(t["repetition"]).sum()).clip(upper=1.0)
    kind = "accuracy" if scale == "proportion_correct" or inst.scoring == "keyed" else "weighted"
    reps = repetition_scores(trials, kind=kind, exclude_unanswered=exclude_unanswered).set_index("repetition")
    return reps["accuracy"].astype(float)


def _top(inst: Instrument, item_id: str) -> float:
    item = inst.item(item_id)
    return item.credit(item.best_option)


def _reported(by_pair: Grouped, pair: int, *, n_boot: int, seed: int, expected: bool = False) -> dict[str, Any]:
    """``scoring, score, score_scale, weighted_score, max_credit, sd_reps`` and the two intervals."""
    from eitest.stats.intervals import item_interval, rep_interval, wilson_over_items

    inst = by_pair.instruments[pair]
    weighted = inst.scoring == "weighted"
    per_rep = by_pair.rep_scores(pair, "proportion_of_max")
    per_item = by_pair.item_credit(pair, "weighted" if weighted else "accuracy")
    top = float(np.mean(per_item["top"].to_numpy())) if weighted else 1.0
    out: dict[str, Any] = {
        "scoring": inst.scoring,
        "score": float(per_rep.mean()),
        "score_scale": SCALES[inst.scoring],
        # the mean expert credit of the chosen options, mean over repetitions
        "weighted_score": float(by_pair.reps.loc[pair, "weighted"].mean()) if weighted else math.nan,
        "max_credit": top if weighted else math.nan,
        **dict.fromkeys(INTERVAL_COLUMNS, math.nan),
    }
    out["rep_ci_reason"] = out["item_ci_method"] = out["item_ci_reason"] = out["wilson_ci_reason"] = None
    if per_item.empty:  # every trial unanswered and left out
        out.update(sd_reps=math.nan, rep_ci_reason="no scored trial", item_ci_reason="no scored trial")
        return out
    rep = rep_interval(per_rep.dropna().to_numpy())
    # A t interval from a few repetitions can pass the ends of a proportion; the scale stops at 0 and 1.
    low, high = (min(max(x, 0.0), 1.0) if x == x else x for x in (rep["ci_low"], rep["ci_high"]))
    out.update(sd_reps=rep["sd_reps"], rep_ci_low=low, rep_ci_high=high, rep_ci_reason=rep["reason"])
    credit = per_item["credit"].to_numpy()
    maxima = list(per_item["top"]) if weighted else None
    item = item_interval(credit, n_boot=n_boot, seed=seed, binary=not weighted, maxima=maxima)
    out.update(
        item_ci_low=item["ci_low"],
        item_ci_high=item["ci_high"],
        item_ci_method=item["method"],
        item_ci_reason=item["reason"],
    )
    if not weighted and expected:
        out["wilson_ci_reason"] = NO_WILSON_LOGPROBS
    elif not weighted:
        w = wilson_over_items(credit)
        out.update(wilson_ci_low=w["ci_low"], wilson_ci_high=w["ci_high"])
    return out


def with_warnings(scores: pd.DataFrame) -> pd.DataFrame:
    """Add ``warning``: the parse rate below 95 % or the failure rate above 5 %, else None."""
    warnings = []
    for row in scores.itertuples():
        parts = []
        if not math.isnan(row.parse_rate) and row.parse_rate < WARN_BELOW:
            parts.append(f"parse rate {row.parse_rate:.1%} < 95%")
        if row.failure_rate > 1 - WARN_BELOW:
            parts.append(f"failure rate {row.failure_rate:.1%} > 5%")
        warnings.append("; ".join(parts) or None)
    return scores.assign(warning=np.array(warnings, dtype=object))


def warning_notes(scores: pd.DataFrame, *, exclude_unanswered: bool = False) -> list[str]:
    """A note for each score with a ``warning``, saying how its unanswered trials were counted."""
    counted = "missing" if exclude_unanswered else "wrong"
    return [
        f"{r.model} on {r.instrument}: {r.warning} (scores count these trials as {counted})"
        for r in scores.itertuples()
        if isinstance(r.warning, str) and r.warning  # pandas keeps a missing warning as NaN, which is truthy
    ]
