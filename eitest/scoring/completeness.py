"""What an analysis is missing: each run's planned trials against the trials it holds.

A run stops before its plan is done after Ctrl-C, a kill, a ``--max-cost`` stop, or
simply because it is still running; its trials are analysed all the same, and this
step says what is missing so that nobody reads an incomplete run as a complete one.
The plan is in the store: the run's config names its models, instruments and
repetitions, and the instruments it used (its snapshots) hold its items, so the
planned trials are models x instruments x items x repetitions.

``completeness_table`` (one row per run x model x instrument of the plan)
    run_id, model, instrument, n_items, n_reps (planned), planned, stored (trials in
    the store), finished (trials whose call came back, any status but ``error``),
    failed (calls that failed after their retries), not_run (planned - stored),
    lacking (item id -> the planned repetitions it has no trial in), complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eitest.store.trial_columns import distinct_objects
from eitest.vocabulary import Status

if TYPE_CHECKING:
    from eitest.scoring.selection import RunInstrumentMap

COMPLETENESS_COLUMNS = [
    "run_id", "model", "instrument", "n_items", "n_reps", "planned", "stored", "finished", "failed", "not_run",
    "lacking", "complete",
]  # fmt: skip
MAX_ITEMS_NAMED = 8  # a note names this many items lacking a repetition, then counts the rest


def planned_pairs(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The model x instrument pairs a run's config planned, in its order."""
    return [(str(m), str(i)) for m in config.get("models", []) for i in config.get("instruments", [])]


def completeness_table(trials: pd.DataFrame, runs: pd.DataFrame | None, instruments: RunInstrumentMap) -> pd.DataFrame:
    """One row per model x instrument that the analysed runs planned, and did not get from another run.

    ``trials`` are the trials analysed (one run per model x instrument); ``runs`` the runs
    of the store (columns ``id`` and ``config``, as :meth:`eitest.store.Store.runs` gives
    them). Without a run's config, its plan is what its trials show: the items of its
    instruments in the repetitions that have a trial.
    """
    configs = _configs(runs)
    # numpy arrays, not pandas columns: taking a pair's rows of a pyarrow string column is slow
    items = distinct_objects(trials["item_id"])
    repetition = trials["repetition"].to_numpy()
    failed = (trials["status"] == Status.ERROR).to_numpy()
    analysed = set(trials.groupby(["model", "instrument"], sort=False).size().index)
    rows = []
    keys = trials[["run_id", "model", "instrument"]]
    for run_id, of_run in keys.groupby("run_id", sort=False).indices.items():
        mine = keys.iloc[of_run]
        config = configs.get(str(run_id))
        pairs = planned_pairs(config) if config else []
        groups = mine.groupby(["model", "instrument"], sort=False).indices
        present = list(groups)  # in order of first appearance
        pairs = [*pairs, *(p for p in present if p not in pairs)]
        for model, inst_id in pairs:
            if (model, inst_id) not in groups and (model, inst_id) in analysed:
                continue  # analysed from another run; selection notes which
            inst = instruments.get(str(run_id), {}).get(inst_id)
            at = of_run[groups.get((model, inst_id), np.zeros(0, dtype=np.intp))]
            g = _PairTrials(items[at], repetition[at], failed[at])
            reps = int(config["reps"]) if config and "reps" in config else int(g.repetition.max()) + 1
            rows.append(_row(str(run_id), model, inst_id, inst, reps, g))
    return pd.DataFrame(rows, columns=COMPLETENESS_COLUMNS)


def _configs(runs: pd.DataFrame | None) -> dict[str, dict[str, Any]]:
    if runs is None or runs.empty or "config" not in runs.columns:
        return {}
    return {str(r): c for r, c in zip(runs["id"], runs["config"], strict=True) if isinstance(c, dict)}


@dataclass(frozen=True)
class _PairTrials:
    """One model x instrument's trials: item id, repetition and whether the call failed, per trial."""

    items: np.ndarray
    repetition: np.ndarray
    failed: np.ndarray


def _row(run_id: str, model: str, inst_id: str, inst: Any, reps: int, g: _PairTrials) -> dict[str, Any]:
    item_ids = [it.id for it in inst.items] if inst is not None else list(pd.unique(g.items))
    # have[i, r]: item i has a trial in repetition r (trials of other items or repetitions are not planned)
    code = pd.Index(item_ids).get_indexer(g.items)
    rep = g.repetition
    known = (code >= 0) & (rep >= 0) & (rep < reps)
    have = np.zeros((len(item_ids), reps), dtype=bool)
    have[code[known], rep[known].astype(np.int64)] = True
    lacking = {item_ids[i]: np.flatnonzero(~have[i]).tolist() for i in np.flatnonzero(~have.all(axis=1))}
    failed = int(g.failed.sum())
    planned = len(item_ids) * reps
    return {
        "run_id": run_id,
        "model": model,
        "instrument": inst_id,
        "n_items": len(item_ids),
        "n_reps": reps,
        "planned": planned,
        "stored": len(rep),
        "finished": len(rep) - failed,
        "failed": failed,
        "not_run": max(planned - len(rep), 0),
        "lacking": lacking,
        "complete": not lacking and failed == 0,
    }


def completeness_notes(table: pd.DataFrame, *, exclude_unanswered: bool = False) -> list[str]:
    """One note per incomplete run: how many planned trials finished, what is missing, and where."""
    notes = []
    for run_id, g in table.groupby("run_id", sort=False):
        if g["complete"].all():
            continue
        planned, finished = int(g["planned"].sum()), int(g["finished"].sum())
        not_run, failed = int(g["not_run"].sum()), int(g["failed"].sum())
        counts = [f"{not_run} not yet run"] if not_run else []
        if failed:
            counted = "left out of the scores" if exclude_unanswered else "which the scores count as wrong"
            counts.append(f"{failed} failed call{'s' if failed != 1 else ''}, {counted}")
        parts = [f"run {run_id}: {finished} of {planned} planned trials finished ({'; '.join(counts)})"]
        several = len(g) > 1
        for r in g.itertuples():
            where = f"{r.model} on {r.instrument}: " if several else f"{r.instrument}: "
            if r.stored == 0:
                parts.append(f"{where}no trial yet (0 of {r.planned})")
            elif r.lacking:
                parts.append(where + lacking_text(r.lacking, r.n_items))
        counted = " (repetitions count from 0)" if any(bool(x) for x in g["lacking"]) else ""
        parts.append(f"statistics use the finished trials{counted}; re-run the run's command to finish it")
        notes.append("; ".join(parts))
    return notes


def lacking_text(lacking: Mapping[str, list[int]], n_items: int) -> str:
    """``items X, Y lack repetition 2``, a repetition no item has named once, at most a few items named."""
    whole = [r for r in sorted({r for reps in lacking.values() for r in reps}) if _all_lack(lacking, r, n_items)]
    parts = []
    if whole:
        parts.append(f"{_reps(whole)} {'has' if len(whole) == 1 else 'have'} no trial")
    rest: dict[tuple[int, ...], list[str]] = {}
    for item_id, reps in lacking.items():
        left = tuple(r for r in reps if r not in whole)
        if left:
            rest.setdefault(left, []).append(item_id)
    for missing_reps, items in rest.items():
        named = ", ".join(items[:MAX_ITEMS_NAMED]) + (
            f" and {len(items) - MAX_ITEMS_NAMED} more" if len(items) > MAX_ITEMS_NAMED else ""
        )
        verb = "lacks" if len(items) == 1 else "lack"
        parts.append(f"item{'s' if len(items) > 1 else ''} {named} {verb} {_reps(list(missing_reps))}")
    return ", ".join(parts)


def _all_lack(lacking: Mapping[str, list[int]], rep: int, n_items: int) -> bool:
    return len(lacking) == n_items and all(rep in reps for reps in lacking.values())


def _reps(reps: Iterable[int]) -> str:
    reps = list(reps)
    if len(reps) == 1:
        return f"repetition {reps[0]}"
    return "repetitions " + ", ".join(str(r) for r in reps[:-1]) + f" and {reps[-1]}"


def completeness_sentence(table: pd.DataFrame) -> str:
    """The methods' sentence on missing trials ('' when every run analysed is complete)."""
    if table.empty or table["complete"].all():
        return ""
    planned, finished = int(table["planned"].sum()), int(table["finished"].sum())
    not_run, failed = int(table["not_run"].sum()), int(table["failed"].sum())
    runs = table.loc[~table["complete"], "run_id"].unique()
    missing = [f"{not_run} not yet run"] if not_run else []
    missing += [f"{failed} failed after retries"] if failed else []
    return (
        f"The data are incomplete: {finished} of the {planned} planned trials had finished when this analysis was "
        f"made ({', '.join(missing)}; run{'s' if len(runs) > 1 else ''} {', '.join(runs)}). Every statistic uses the "
        "finished trials, so a repetition's score is over the items it reached; the notes name the items that lack "
        "a repetition."
    )


def planned_count(config: Mapping[str, Any], instruments: Mapping[str, Any]) -> int | None:
    """How many trials a run planned (None when an instrument of its plan is not known)."""
    try:
        return sum(len(instruments[i].items) * int(config.get("reps", 1)) for _m, i in planned_pairs(config))
    except KeyError:
        return None


def unstarted_notes(runs: Iterable[tuple[str, int | None]], done: str = "analysed") -> list[str]:
    """A note for each run that holds no trial at all: ``(run id, planned trials or None when unknown)``.

    ``done`` is what is not done with such a run here ("analysed", "exported").
    """
    return [
        f"run {run_id}: 0 of {planned if planned is not None else 'its'} planned trials finished (none run yet), "
        f"so nothing of it is {done}; re-run the run's command to start it"
        for run_id, planned in runs
    ]
