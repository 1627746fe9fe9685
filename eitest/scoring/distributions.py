"""The answer-distribution step: what the ``logprobs`` protocol's per-trial distributions add up to.

Only trials of the ``logprobs`` protocol that were answered (coverage at least
:data:`eitest.administer.letter_probs.MIN_COVERAGE`) count; a store without them gives
empty tables.

``distributions`` (one row per model x instrument x item)
    model, instrument, run_id, item_id, n_reps (answered repetitions), distribution
    (option id -> probability, the mean over repetitions), coverage (mean share of the
    first token's probability on the letters), expected_credit (mean over repetitions
    of the expected credit), top_option (the most probable option of the mean; None on a tie),
    expert_profile (a weighted item's weights scaled to sum 1, the share of experts
    choosing each option; None for a keyed item), jsd (Jensen-Shannon distance, base 2,
    between distribution and expert_profile, Lin 1991; NaN without a profile).
``distribution_summary`` (one row per model x instrument)
    model, instrument, run_id, scoring, n_items, expected_score (the mean expected
    credit over items; for a weighted test divided by the mean top weight, the
    proportion of the maximum, as the ``scores`` table's score), expected_ci_low,
    expected_ci_high, expected_ci_method, expected_ci_question ("new items like
    these": items resampled, :func:`eitest.stats.item_interval`), expected_ci_reason
    (why there is no interval, e.g. every item scored alike), mean_coverage,
    n_low_coverage (trials left unanswered for low coverage), jsd_mean (mean over the
    items with an expert profile), n_items_jsd.
``distribution_agreement`` (one row per model x instrument with both kinds of run in the store)
    model, instrument, logprobs_run, sampled_run, sampled_protocol, n_items,
    mean_p_sampled, argmax_modal_share, n_items_modal
    (:func:`eitest.stats.distributions.sampled_vs_distribution`), question.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from eitest.scoring.selection import RunInstrumentMap
from eitest.stats.distributions import js_distance, mean_distribution, normalised, sampled_vs_distribution
from eitest.vocabulary import ProtocolName

if TYPE_CHECKING:
    from eitest.instruments import Item

ITEM_COLUMNS = [
    "model", "instrument", "run_id", "item_id", "n_reps", "distribution", "coverage", "expected_credit",
    "top_option", "expert_profile", "jsd",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "model", "instrument", "run_id", "scoring", "n_items", "expected_score", "expected_ci_low", "expected_ci_high",
    "expected_ci_method", "expected_ci_question", "expected_ci_reason", "mean_coverage", "n_low_coverage", "jsd_mean", "n_items_jsd",
]  # fmt: skip
AGREEMENT_COLUMNS = [
    "model", "instrument", "logprobs_run", "sampled_run", "sampled_protocol", "n_items", "mean_p_sampled",
    "argmax_modal_share", "n_items_modal", "question",
]  # fmt: skip
AGREEMENT_QUESTION = (
    "do the model's answers, sampled under another protocol, fall where its answer distribution puts its probability?"
)


def logprob_trials(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials of the logprobs protocol (all statuses)."""
    if trials.empty or "option_probs" not in trials.columns:
        return trials.iloc[0:0]
    return trials[trials["protocol"] == ProtocolName.LOGPROBS.value]


def expert_profile(item: Item) -> dict[str, float] | None:
    """A weighted item's expert weights as a distribution over its options; None for a keyed item."""
    return normalised(item.weights, item.option_ids) if item.weights is not None else None


def distribution_items(trials: pd.DataFrame, instruments: RunInstrumentMap) -> pd.DataFrame:
    """One row per model x instrument x item of the answered logprobs trials (columns :data:`ITEM_COLUMNS`)."""
    lp = logprob_trials(trials)
    answered = lp[lp["status"] == "answered"]
    rows = []
    for (model, inst_id, item_id), g in answered.groupby(["model", "instrument", "item_id"], sort=True):
        run_id = str(g["run_id"].iloc[0])
        item = instruments[run_id][inst_id].item(item_id)
        dist = mean_distribution(g["option_probs"], item.option_ids)
        profile = expert_profile(item)
        rows.append(
            {
                "model": model,
                "instrument": inst_id,
                "run_id": run_id,
                "item_id": item_id,
                "n_reps": len(g),
                "distribution": dist,
                "coverage": float(g["coverage"].mean()),
                "expected_credit": float(g["score"].mean()),
                "top_option": _top_option(dist),
                "expert_profile": profile,
                "jsd": js_distance(dist, profile) if profile is not None else math.nan,
            }
        )
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)


def _top_option(dist: dict[str, float]) -> str | None:
    """The most probable option, or None when several share the top probability."""
    top = max(dist.values())
    most = [o for o, p in dist.items() if p == top]
    return most[0] if len(most) == 1 else None


def distribution_summary(
    items: pd.DataFrame, trials: pd.DataFrame, instruments: RunInstrumentMap, *, n_boot: int = 2000, seed: int = 0
) -> pd.DataFrame:
    """One row per model x instrument of :func:`distribution_items` (columns :data:`SUMMARY_COLUMNS`)."""
    from eitest.stats.intervals import item_interval

    lp = logprob_trials(trials)
    rows = []
    for (model, inst_id), g in items.groupby(["model", "instrument"], sort=True):
        run_id = str(g["run_id"].iloc[0])
        inst = instruments[run_id][inst_id]
        weighted = inst.scoring == "weighted"
        credits = g["expected_credit"].to_numpy(dtype=float)
        maxima = [inst.item(i).credit(inst.item(i).best_option) for i in g["item_id"]] if weighted else None
        interval = item_interval(credits, n_boot=n_boot, seed=seed, maxima=maxima)
        mine = lp[(lp["model"] == model) & (lp["instrument"] == inst_id)]
        jsd = g["jsd"].dropna()
        rows.append(
            {
                "model": model,
                "instrument": inst_id,
                "run_id": run_id,
                "scoring": inst.scoring,
                "n_items": len(g),
                "expected_score": float(interval["mean"]),  # sum of credits over sum of maxima (1 each when keyed)
                "expected_ci_low": interval["ci_low"],
                "expected_ci_high": interval["ci_high"],
                "expected_ci_method": interval["method"],
                "expected_ci_question": interval["question"],
                "expected_ci_reason": interval["reason"],
                "mean_coverage": float(mine["coverage"].mean()),
                "n_low_coverage": int((mine["parse_rule"] == "low_coverage").sum()),
                "jsd_mean": float(jsd.mean()) if len(jsd) else math.nan,
                "n_items_jsd": len(jsd),
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def agreement_from_store(path: str | Path, pairs: pd.DataFrame) -> pd.DataFrame:
    """For each model x instrument of ``pairs``: its latest logprobs run against its latest sampled run in the store.

    A sampled run is one under a protocol that reads the reply's text (standard, reasoning or
    json). Both are looked up in the store whichever run the analysis picked, since an
    analysis reads one run per model x instrument. Columns :data:`AGREEMENT_COLUMNS`.
    """
    from eitest.store import Store

    columns = ["run_id", "model", "instrument", "item_id", "repetition", "protocol", "status", "chosen_option",
               "score", "option_probs", "coverage", "finished_at"]  # fmt: skip
    wanted = set(zip(pairs["model"], pairs["instrument"], strict=True)) if not pairs.empty else set()
    with Store(path, create=False) as store:
        # Most stores hold no logprobs trial: one scan inside SQLite says so, where reading every trial again
        # took as long as the analysis' own read (the answer is the same: no pair has a distribution)
        lp_trial = "SELECT 1 FROM trials WHERE protocol = ? LIMIT 1"
        if store.conn.execute(lp_trial, (ProtocolName.LOGPROBS.value,)).fetchone() is None:
            return pd.DataFrame([], columns=AGREEMENT_COLUMNS)
        stored = store.trials(columns=columns)
        stored = stored[[(m, i) in wanted for m, i in zip(stored["model"], stored["instrument"], strict=True)]]
        lp = _latest_runs(logprob_trials(stored))
        instruments = {r: store.run_instruments(r) for r in lp["run_id"].unique()}
    items = distribution_items(lp, instruments)
    sampled = stored[(stored["protocol"] != ProtocolName.LOGPROBS.value) & (stored["status"] == "answered")]
    return sampled_agreement(items, sampled)


def _latest_runs(trials: pd.DataFrame) -> pd.DataFrame:
    """The trials of each model x instrument's most recently finished run."""
    if trials.empty:
        return trials
    last = trials.groupby(["model", "instrument", "run_id"])["finished_at"].max().reset_index()
    keep = last.sort_values("finished_at").groupby(["model", "instrument"])["run_id"].last()
    return trials[trials["run_id"].isin(set(keep))]


def sampled_agreement(items: pd.DataFrame, sampled: pd.DataFrame) -> pd.DataFrame:
    """:func:`agreement_from_store` on sampled trials in hand (columns :data:`AGREEMENT_COLUMNS`)."""
    rows: list[dict[str, Any]] = []
    for (model, inst_id), g in items.groupby(["model", "instrument"], sort=True):
        mine = sampled[(sampled["model"] == model) & (sampled["instrument"] == inst_id)]
        if mine.empty:
            continue
        latest = mine.groupby("run_id")["finished_at"].max().sort_values().index[-1]
        answers = mine[mine["run_id"] == latest]
        got = sampled_vs_distribution(g, answers)
        if not got["n_items"]:
            continue
        rows.append(
            {
                "model": model,
                "instrument": inst_id,
                "logprobs_run": str(g["run_id"].iloc[0]),
                "sampled_run": str(latest),
                "sampled_protocol": str(answers["protocol"].iloc[0]),
                **got,
                "question": AGREEMENT_QUESTION,
            }
        )
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def distribution_records(items: pd.DataFrame, summary: pd.DataFrame) -> list[dict[str, Any]]:
    """For ``--json``: per model x instrument its summary and its items' distributions."""

    def number(v: Any) -> Any:
        return None if isinstance(v, float) and (math.isnan(v) or math.isinf(v)) else v

    out = []
    for row in summary.to_dict("records"):
        mine = items[(items["model"] == row["model"]) & (items["instrument"] == row["instrument"])]
        listed = [
            {
                "item_id": r.item_id,
                "distribution": r.distribution,
                "coverage": r.coverage,
                "expected_credit": r.expected_credit,
                "expert_profile": r.expert_profile,
                "jsd": number(float(r.jsd)),
                "n_reps": int(r.n_reps),
            }
            for r in mine.itertuples()
        ]
        out.append({**{k: number(v) for k, v in row.items()}, "items": listed})
    return out
