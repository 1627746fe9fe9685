"""Scores from stored trials: per trial, per repetition, per model x instrument.

Pure functions over the trials DataFrame (``Store.trials()``). A trial that was
not answered (unparseable, refused, empty, failed) counts as incorrect by default,
as for a person who leaves an item blank; ``exclude_unanswered=True`` drops it
instead. Either way, parse and failure rates are reported beside the score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["model", "instrument"]


def trial_credit(trials: pd.DataFrame, *, exclude_unanswered: bool = False) -> pd.DataFrame:
    """Add ``credit``: the chosen option's credit when answered; 0 (or NaN when excluded) otherwise.

    Keyed items give 1 or 0; weighted items give the chosen option's weight.
    """
    out = trials.copy()
    answered = out["status"] == "answered"
    fill = np.nan if exclude_unanswered else 0.0
    out["credit"] = np.where(answered, out["score"].astype(float), fill)
    return out


def repetition_scores(trials: pd.DataFrame, *, exclude_unanswered: bool = False) -> pd.DataFrame:
    """One row per model x instrument x repetition.

    Columns: ``model, instrument, repetition, accuracy`` (mean credit over items, a
    proportion), ``n_items``, ``n_answered``.
    """
    t = trial_credit(trials, exclude_unanswered=exclude_unanswered)
    g = t.groupby([*KEYS, "repetition"], sort=True)
    return g.agg(
        accuracy=("credit", "mean"),
        n_items=("item_id", "nunique"),
        n_answered=("status", lambda s: int((s == "answered").sum())),
    ).reset_index()


def item_scores(trials: pd.DataFrame, *, exclude_unanswered: bool = False) -> pd.DataFrame:
    """One row per model x instrument x item: ``accuracy`` (mean credit over repetitions), ``n_reps``."""
    t = trial_credit(trials, exclude_unanswered=exclude_unanswered)
    return (
        t.groupby([*KEYS, "item_id"], sort=True)
        .agg(accuracy=("credit", "mean"), n_reps=("repetition", "nunique"))
        .reset_index()
    )


def instrument_scores(
    trials: pd.DataFrame,
    *,
    exclude_unanswered: bool = False,
    n_boot: int = 2000,
    seed: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """One row per model x instrument: the score over repetitions with its uncertainty.

    Columns: ``model, instrument, accuracy`` (mean over repetitions of the per-repetition
    proportion correct), ``sd_reps`` (SD of the per-repetition scores, ddof 1; NaN for
    one repetition), ``ci_low, ci_high`` (bootstrap resampling items and repetitions,
    seeded; see :func:`eitest.stats.bootstrap_accuracy`), ``n_items, n_reps, n_trials``,
    ``parse_rate`` (answered / trials whose call came back), ``failure_rate`` (calls
    that failed after retries / trials), ``prompt_tokens, completion_tokens, cost``
    (cost NaN when any price is unknown), ``latency_s`` (mean).
    """
    from eitest.stats import bootstrap_accuracy

    t = trial_credit(trials, exclude_unanswered=exclude_unanswered)
    rows = []
    for (model, instrument), g in t.groupby(KEYS, sort=True):
        boot = bootstrap_accuracy(
            g[["item_id", "repetition"]].assign(score=g["credit"]).dropna(subset=["score"]),
            n_boot=n_boot,
            seed=seed,
            ci=ci,
        )
        reps = g.groupby("repetition")["credit"].mean()
        returned = g["status"] != "error"
        costs = g["cost"]
        rows.append(
            {
                "model": model,
                "instrument": instrument,
                "accuracy": float(reps.mean()),
                "sd_reps": float(reps.std(ddof=1)) if len(reps) > 1 else float("nan"),
                "ci_low": boot["ci_low"],
                "ci_high": boot["ci_high"],
                "n_items": int(g["item_id"].nunique()),
                "n_reps": int(g["repetition"].nunique()),
                "n_trials": len(g),
                "parse_rate": float((g["status"] == "answered").sum() / returned.sum()) if returned.any() else float("nan"),
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
