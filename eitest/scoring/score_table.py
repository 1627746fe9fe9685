"""The scores step: one row per model x instrument, the scores with their intervals and trust rates.

Whether an instrument gets a weighted score is the run's instrument's own
``scoring``, never the catalogue's.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from eitest.scoring.scores import KEYS, instrument_scores, trial_credit
from eitest.scoring.selection import RunInstrumentMap

WARN_BELOW = 0.95


def score_table(
    trials: pd.DataFrame,
    instruments: RunInstrumentMap,
    *,
    exclude_unanswered: bool = False,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """The scores of each model on each instrument, one run per model x instrument.

    Columns: those of :func:`eitest.scoring.instrument_scores`, then ``run_id``,
    ``option_order``, ``binom_ci_low, binom_ci_high`` (Wilson interval of the share
    correct, all trials taken as one binomial sample).
    """
    parts = []
    for run_id, g in trials.groupby("run_id", sort=False):
        weighted = {i for i, inst in instruments[run_id].items() if inst.scoring == "weighted"}
        parts.append(
            instrument_scores(
                g, weighted_instruments=weighted, exclude_unanswered=exclude_unanswered, n_boot=n_boot, seed=seed
            )
        )
    scores = pd.concat(parts, ignore_index=True).sort_values(KEYS, ignore_index=True)
    meta = trials.groupby(KEYS).agg(run_id=("run_id", "first"), option_order=("option_order", "first")).reset_index()
    scores = scores.merge(meta, on=KEYS)
    return scores.merge(binomial_table(trials, exclude_unanswered=exclude_unanswered), on=KEYS, how="left")


def binomial_table(trials: pd.DataFrame, *, exclude_unanswered: bool = False) -> pd.DataFrame:
    """``model, instrument, binom_ci_low, binom_ci_high``: the Wilson interval of the share correct."""
    from eitest.stats import binomial_ci

    scored = trial_credit(trials, exclude_unanswered=exclude_unanswered).dropna(subset=["credit"])
    rows = []
    for (model, inst), g in scored.groupby(KEYS, sort=True):
        ci = binomial_ci(int(g["credit"].sum()), len(g))
        rows.append({"model": model, "instrument": inst, "binom_ci_low": ci["ci_low"], "binom_ci_high": ci["ci_high"]})
    return pd.DataFrame(rows, columns=[*KEYS, "binom_ci_low", "binom_ci_high"])


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
        if r.warning
    ]
