"""What an analysis reads: which trials, and the instruments exactly as each run used them.

An analysis never takes an instrument from today's catalogue: the run's own
snapshot in the store says which items, keys, weights, scoring and ``human_p``
it used (:meth:`eitest.store.Store.run_instruments`). The catalogue is read only
to say when its current version of an id differs from the one a run used.

When several runs are analysed and the items of one are not known (a store
written before snapshots were kept, whose file has changed since), that run is
left out with a note; it is an error when it was picked with ``--run``, or when
no run is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from eitest.errors import EitestError
from eitest.scoring.completeness import planned_count, unstarted_notes

if TYPE_CHECKING:
    from eitest.instruments import Instrument
    from eitest.store import RunRecord, Store

# run id -> instrument id -> the instrument as that run used it
RunInstrumentMap = Mapping[str, Mapping[str, "Instrument"]]


class AnalysisError(EitestError):
    pass


class OnlyProbes(AnalysisError):
    """What was asked for holds probe runs only: nothing to score (the probes' findings are read apart)."""


# What an analysis reads of each trial: everything but the texts (prompt, reply, error, a reasoning model's
# reasoning, the logprobs protocol's raw token alternatives), which are most of a store's bytes and no
# statistic's input; a report reads the few replies it shows by trial id. Nor the call's bookkeeping that
# no analysis, report or comparison uses (how the call ended, its attempts, reasoning tokens, repaired text):
# a million trials hold 40 MB of them. ``Store.trials()`` and the export keep every column.
TEXT_COLUMNS = ("prompt", "raw_reply", "error", "reasoning", "token_logprobs")
CALL_COLUMNS = ("finish_reason", "attempts", "reasoning_tokens", "text_repaired")


def analysis_columns() -> list[str]:
    from eitest.store.trial import COLUMNS

    return [c for c in COLUMNS if c not in TEXT_COLUMNS + CALL_COLUMNS]


@dataclass(frozen=True)
class StoreInput:
    """The trials an analysis reads from a store, with their runs' instruments and what was left out."""

    trials: pd.DataFrame
    runs: pd.DataFrame
    instruments: dict[str, dict[str, Instrument]]
    notes: list[str] = field(default_factory=list)
    protocols: frozenset[str] = frozenset()  # the protocols of every trial in the store, probes' included


def select_trials(trials: pd.DataFrame, run: str | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The trials to analyse: one run, or for each model x instrument its most recent run."""
    notes: list[str] = []
    if run is not None:
        chosen = trials[trials["run_id"].str.startswith(run)]
        if chosen.empty:
            raise AnalysisError(f"no trials for run {run!r}; 'eitest runs list' shows the runs")
        if chosen["run_id"].nunique() > 1:
            raise AnalysisError(f"{run!r} matches more than one run; give more of the id")
        return chosen, notes
    # Each pair's latest run: the run of its first trial (in id order) that finished last. Through integer codes,
    # so that no copy of the frame and no Python object per trial is made.
    import numpy as np

    pair = trials.groupby(["model", "instrument"]).ngroup().to_numpy()
    finished = trials["finished_at"]
    at_last = np.flatnonzero((finished == finished.groupby(pair).transform("max")).to_numpy(dtype=bool))
    run_code, _runs = pd.factorize(trials["run_id"])
    with_last, first = np.unique(pair[at_last], return_index=True)
    latest = np.full(pair.max() + 1 if len(pair) else 0, -2)  # -2: no run of the pair finished (none kept)
    latest[with_last] = run_code[at_last[first]]
    keep = pd.Series(run_code == latest[pair], index=trials.index)
    dropped = trials.loc[~keep, ["model", "instrument", "run_id"]].drop_duplicates()
    for row in dropped.itertuples():
        notes.append(
            f"{row.model} on {row.instrument}: older run {row.run_id} left out (the latest run is analysed; use --run to pick one)"
        )
    # all kept (the usual case): the frame itself, not a copy of a million rows
    return (trials if keep.all() else trials.loc[keep]), notes


def read_store(path: str | Path, run: str | None = None) -> StoreInput:
    """The trials of the store at ``path`` to analyse (see :func:`select_trials`) and their runs' instruments."""
    from eitest.store import Store

    with Store(path, create=False) as store:
        all_trials = store.trials(columns=analysis_columns())
        protocols = frozenset(str(p) for p in all_trials["protocol"].unique())
        # A probe's trials are no test's answers (eitest.scoring.memorisation reads them): left out, silently.
        records, probes = study_runs(store.runs())
        all_trials = all_trials[~all_trials["run_id"].isin(probes)] if probes else all_trials
        _check_not_only_probes(path, run, probes, all_trials, records)
        runs = pd.DataFrame([r.__dict__ for r in records])
        empty = runs_without_trials(store, records, all_trials, run)
        if all_trials.empty or (run is not None and empty and not all_trials["run_id"].str.startswith(run).any()):
            raise AnalysisError(_nothing_yet(path, empty))
        trials, notes = select_trials(all_trials, run)
        del all_trials  # a million trials: one frame at a time
        used = store.instruments_of_runs(trials["run_id"].unique(), picked=run is not None)
    notes += unstarted_notes(empty)
    for run_id, why in used.left_out.items():
        notes.append(f"run {run_id} left out: {why}")
    known = trials["run_id"].isin(list(used.by_run))
    trials = trials if known.all() else trials[known]
    notes += catalogue_notes(used.by_run)
    return StoreInput(trials, runs, used.by_run, notes, protocols)


def study_runs(records: list[RunRecord]) -> tuple[list[RunRecord], set[str]]:
    """The runs that are studies, and the ids of the probe runs (config ``kind: probe``)."""
    from eitest.vocabulary import RunKind

    probes = {r.id for r in records if RunKind.of(r.config) is RunKind.PROBE}
    return [r for r in records if r.id not in probes], probes


def _check_not_only_probes(
    path: str | Path, run: str | None, probes: set[str], trials: pd.DataFrame, studies: list[RunRecord]
) -> None:
    picked = [p for p in probes if run is not None and p.startswith(run)]
    if picked or (probes and trials.empty and not studies):
        what = f"run {picked[0]} is a probe run" if picked else f"{path} holds probe runs only"
        raise OnlyProbes(f"{what}: there is no test to score ('eitest run ...' administers one)")


def runs_without_trials(
    store: Store, records: list[RunRecord], trials: pd.DataFrame, run: str | None
) -> list[tuple[str, int | None]]:
    """The runs (the one picked with ``run``, or all) that hold no trial, each with its planned count."""
    with_trials = set(trials["run_id"].unique()) if not trials.empty else set()
    out = []
    for r in records:
        if r.id in with_trials or (run is not None and not r.id.startswith(run)):
            continue
        try:
            planned = planned_count(r.config, store.run_instruments(r.id))
        except EitestError:  # its items are not known: the count is
            planned = None
        out.append((r.id, planned))
    return out


def _nothing_yet(path: str | Path, empty: list[tuple[str, int | None]]) -> str:
    if not empty:
        return f"{path} holds no trials yet; run 'eitest run ...' first"
    said = "; ".join(unstarted_notes(empty))
    return f"{path}: nothing to analyse yet: {said}"


def catalogue_notes(instruments: RunInstrumentMap) -> list[str]:
    """A note for each run whose instrument differs from the catalogue's current version of its id."""
    from eitest.instruments import catalogue

    try:
        current = catalogue()
    except EitestError as exc:  # a broken file in the catalogue must not stop an analysis that does not read it
        return [f"the catalogue could not be read to compare with the runs' instruments: {exc}"]
    notes = []
    for run_id, used in instruments.items():
        for inst_id, inst in sorted(used.items()):
            now = current.get(inst_id)
            if now is not None and now.content_hash != inst.content_hash:
                notes.append(
                    f"{inst_id}: the catalogue's current version (content hash {now.content_hash[:12]}) differs from "
                    f"the one run {run_id} used ({inst.content_hash[:12]}); the analysis uses the run's items, as "
                    "stored with the run"
                )
    return notes


def check_instruments(trials: pd.DataFrame, instruments: RunInstrumentMap) -> list[str]:
    """Check that ``instruments`` holds every run's instrument and item; notes where runs used different versions.

    Raises :class:`AnalysisError` when an instrument or an item of the trials is missing, or
    when a model x instrument has trials of more than one run (:func:`select_trials` picks one).
    """
    pairs = trials[["run_id", "instrument"]].drop_duplicates()
    missing = [
        f"{r.instrument} of run {r.run_id}"
        for r in pairs.itertuples()
        if r.instrument not in instruments.get(r.run_id, {})
    ]
    if missing:
        raise AnalysisError(
            f"no instrument given for {', '.join(missing)}; pass the instruments each run used, "
            "e.g. {run_id: store.run_instruments(run_id)} from eitest.store.Store"
        )
    # each distinct run x instrument x item once: a million trials hold a few thousand
    used = trials[["run_id", "instrument", "item_id"]].drop_duplicates()
    for (run_id, inst_id), g in used.groupby(["run_id", "instrument"], sort=True):
        known = {it.id for it in instruments[run_id][inst_id].items}
        unknown = sorted(set(g["item_id"]) - known)
        if unknown:
            raise AnalysisError(
                f"run {run_id}: items {', '.join(unknown[:5])} are not in the {inst_id} given for it; "
                "pass the instrument the run used (Store.run_instruments)"
            )
    several = trials.groupby(["model", "instrument"])["run_id"].nunique()
    if (several > 1).any():
        model, inst_id = several[several > 1].index[0]
        raise AnalysisError(
            f"{model} on {inst_id} has trials of several runs; analyse one run per model x instrument "
            "(select_trials picks the latest)"
        )
    notes = []
    for inst_id, g in pairs.groupby("instrument", sort=True):
        versions = {r: instruments[r][inst_id].content_hash for r in g["run_id"]}
        if len(set(versions.values())) > 1:
            listed = ", ".join(f"run {r}: {h[:12]}" for r, h in versions.items())
            notes.append(
                f"{inst_id}: the runs analysed used different versions of it ({listed}); each run is scored "
                "with its own items, but their scores are not strictly comparable"
            )
    return notes
