"""Scores from stored trials: per trial, per repetition, per model x instrument.

Two scores, as the tests themselves are scored:

- ``accuracy``: the share of trials in which the keyed option (for weighted
  instruments, the top-weighted option) was chosen: percent correct, as in
  Schlegel et al. (2025). The oracle scores 1.0 on every instrument.
- ``weighted``: the mean credit of the chosen options by the instrument's weights
  (expert-weighted scoring, e.g. the STEM's proportion of experts); keyed
  instruments have no weighted score.

Under the ``logprobs`` protocol a trial holds a distribution over the options, and
both scores are expectations under it: ``accuracy`` is the probability it gives the
keyed (top-weighted) option, ``weighted`` its expected credit (the stored ``score``).
On a keyed test the two are the same number. :func:`keyed_credit` is the one
definition of a trial's share-correct credit, which the analysis, the scores table and
the export's ``p_keyed`` use; :func:`chose_keyed` is the different question "was the
chosen (most probable) option the keyed one", the export's 0/1 ``correct``, which a
distribution with several options tied at the top does not answer.

Pure functions over the trials DataFrame (``Store.trials()``). A trial that was
not answered (unparseable, refused, empty, failed) counts as incorrect by default,
as for a person who leaves an item blank; ``exclude_unanswered=True`` drops it
instead. Either way, parse and failure rates are reported beside the score.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

KEYS = ["model", "instrument"]


SCORES = ("accuracy", "weighted")


def trial_credit(trials: pd.DataFrame, *, kind: str = "accuracy", exclude_unanswered: bool = False) -> pd.DataFrame:
    """Add ``credit`` per trial: 1/0 for the best option (``accuracy``) or its weight (``weighted``).

    Unanswered trials get 0, or NaN when ``exclude_unanswered``.
    """
    if kind not in SCORES:
        raise ValueError(f"kind must be one of {SCORES}, got {kind!r}")
    out = trials.copy()
    answered = out["status"] == "answered"
    fill = np.nan if exclude_unanswered else 0.0
    if kind == "accuracy":
        value = keyed_credit(out)
    else:
        value = out["score"].astype(float)
    out["credit"] = np.where(answered, value, fill)
    return out


def keyed_credit(trials: pd.DataFrame) -> pd.Series:
    """Per trial, its credit on the share-correct scale, whether answered or not: 1/0 for choosing the keyed
    (top-weighted) option; under the logprobs protocol the probability its distribution gives that option."""
    value = (trials["chosen_position"] == trials["keyed_position"]).astype(float)
    if "option_probs" in trials.columns:
        logprobs = (trials["protocol"] == "logprobs").to_numpy()
        if logprobs.any():  # read per trial: only the few rows that hold a distribution
            value[logprobs] = _keyed_probability(trials[logprobs]).to_numpy()
    return value


def logprobs_pairs(trials: pd.DataFrame) -> set[tuple[str, str]]:
    """The model x instrument pairs whose scores are expectations over answer distributions (logprobs protocol)."""
    if "protocol" not in trials.columns:
        return set()
    t = trials.loc[trials["protocol"] == "logprobs", KEYS].drop_duplicates()
    return {(str(m), str(i)) for m, i in t.itertuples(index=False)}


def chose_keyed(trials: pd.DataFrame) -> pd.Series:
    """Per trial, 1/0 for whether the chosen option is the keyed (top-weighted) one; NaN when not answered.

    Under the logprobs protocol the chosen option is the most probable, so this is NaN
    where several options share the highest probability (to floating-point rounding,
    :data:`eitest.stats.intervals.NO_SPREAD`): the stored choice there is only the
    tie-break's, and a 0/1 from it would be arbitrary (a flat distribution would be
    "right" on about one item in k). The share-correct credit is :func:`keyed_credit`.
    """
    value = (trials["chosen_position"] == trials["keyed_position"]).astype(float)
    value[(trials["status"] != "answered").to_numpy()] = np.nan
    if "option_probs" in trials.columns:
        logprobs = (trials["protocol"] == "logprobs").to_numpy()
        if logprobs.any():
            tied = np.zeros(len(trials), dtype=bool)
            tied[logprobs] = [_top_is_tied(p) for p in trials.loc[logprobs, "option_probs"]]
            value[tied] = np.nan
    return value


def _top_is_tied(probs: Any) -> bool:
    from eitest.stats.intervals import NO_SPREAD

    if not isinstance(probs, dict) or not probs:
        return False
    ranked = sorted((float(p) for p in probs.values()), reverse=True)
    return len(ranked) > 1 and ranked[0] - ranked[1] <= NO_SPREAD


def _keyed_probability(trials: pd.DataFrame) -> pd.Series:
    """Per trial, the probability its option distribution gives the keyed option (NaN without one)."""

    def one(probs: Any, shown: Any, keyed: Any) -> float:
        if not isinstance(probs, dict) or not isinstance(shown, list) or keyed is None or keyed != keyed:
            return float("nan")
        return float(probs.get(shown[int(keyed)], 0.0))

    values = [
        one(*r) for r in zip(trials["option_probs"], trials["shown_order"], trials["keyed_position"], strict=True)
    ]
    return pd.Series(values, index=trials.index, dtype=float)


def repetition_scores(
    trials: pd.DataFrame, *, kind: str = "accuracy", exclude_unanswered: bool = False
) -> pd.DataFrame:
    """One row per model x instrument x repetition.

    Columns: ``model, instrument, repetition, accuracy`` (mean credit over items, a
    proportion; the weighted score when ``kind='weighted'``), ``n_items``, ``n_answered``.
    """
    t = trial_credit(trials, kind=kind, exclude_unanswered=exclude_unanswered)
    g = t.groupby([*KEYS, "repetition"], sort=True)
    return g.agg(
        accuracy=("credit", "mean"),
        n_items=("item_id", "nunique"),
        n_answered=("status", lambda s: int((s == "answered").sum())),
    ).reset_index()


def item_scores(trials: pd.DataFrame, *, exclude_unanswered: bool = False) -> pd.DataFrame:
    """One row per model x instrument x item: ``accuracy`` (share correct over repetitions), ``n_reps``."""
    t = trial_credit(trials, exclude_unanswered=exclude_unanswered)
    return (
        t.groupby([*KEYS, "item_id"], sort=True)
        .agg(accuracy=("credit", "mean"), n_reps=("repetition", "nunique"))
        .reset_index()
    )


def instrument_scores(trials: pd.DataFrame, *, exclude_unanswered: bool = False) -> pd.DataFrame:
    """One row per model x instrument: the share correct and what the trials cost and how they went.

    Columns: ``model, instrument, accuracy`` (mean over repetitions of the
    per-repetition share choosing the keyed or top-weighted option), ``n_items,
    n_reps, n_trials``, ``parse_rate`` (answered / trials whose call came back),
    ``failure_rate`` (calls that failed after retries / trials), ``prompt_tokens,
    completion_tokens, cost`` (cost NaN when any price is unknown), ``latency_s``
    (mean). The test's reported score and its intervals are
    :func:`eitest.scoring.score_table.score_table`'s.
    """
    acc = trial_credit(trials, exclude_unanswered=exclude_unanswered)
    rows = []
    for (model, instrument), g in acc.groupby(KEYS, sort=True):
        returned = g["status"] != "error"
        costs = g["cost"]
        rows.append(
            {
                "model": model,
                "instrument": instrument,
                "accuracy": float(g.groupby("repetition")["credit"].mean().mean()),
                "n_items": int(g["item_id"].nunique()),
                "n_reps": int(g["repetition"].nunique()),
                "n_trials": len(g),
                "parse_rate": float((g["status"] == "answered").sum() / returned.sum())
                if returned.any()
                else float("nan"),
                "failure_rate": float((~returned).mean()),
                "prompt_tokens": int(g["prompt_tokens"].fillna(0).sum()),
                "completion_tokens": int(g["completion_tokens"].fillna(0).sum()),
                "cost": float(costs.sum()) if costs.notna().all() else float("nan"),
                "latency_s": float(g["latency_s"].mean()),
            }
        )
    return pd.DataFrame(rows)


def run_table(trials: pd.DataFrame) -> pd.DataFrame:
    """The quick table printed after a run (no bootstrap): accuracy, parse rate, failures, tokens, cost."""
    t = trial_credit(trials)
    g = t.groupby(KEYS, sort=True)
    out = g.agg(
        trials=("item_id", "size"),
        accuracy=("credit", "mean"),
        answered=("status", lambda s: int((s == "answered").sum())),
        failed=("status", lambda s: int((s == "error").sum())),
        tokens=("completion_tokens", lambda s: int(s.fillna(0).sum())),
        prompt_tokens=("prompt_tokens", lambda s: int(s.fillna(0).sum())),
        cost=("cost", lambda s: float(s.sum()) if s.notna().all() else float("nan")),
    ).reset_index()
    returned = out["trials"] - out["failed"]
    out["parse_rate"] = np.where(returned > 0, out["answered"] / returned.where(returned > 0, 1), np.nan)
    out["tokens"] = out["tokens"] + out.pop("prompt_tokens")
    return out[["model", "instrument", "trials", "accuracy", "parse_rate", "failed", "tokens", "cost"]]
