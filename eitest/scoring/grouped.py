"""Every model x instrument at once: per-repetition and per-item credit from one grouped pass over the trials.

The score, norm and item steps need, for each model x instrument, its score in each
repetition (on one of three scales) and each item's mean credit. Computed pair by
pair, a store of 50 models x 5 tests spends most of its time in pandas' per-group
overhead; here the trials are reduced to integer codes and numbers once, and each
table is one groupby over all pairs. The values are those of
:func:`eitest.scoring.scores.trial_credit` and
:func:`eitest.scoring.score_table.rep_scores`, group by group (``tests/scoring`` pins
them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from eitest.scoring.scores import KEYS, keyed_credit
from eitest.scoring.selection import RunInstrumentMap

if TYPE_CHECKING:
    from pandas.core.groupby import DataFrameGroupBy

    from eitest.instruments import Instrument


@dataclass(frozen=True)
class Grouped:
    """The trials' credit grouped by model x instrument (``pairs``), x repetition (``reps``) and x item (``items``).

    ``pairs``: one row per model x instrument, in sorted order, with ``run_id`` and
    ``option_order`` (its first trial's) and the counts and sums of
    :func:`eitest.scoring.instrument_scores`. ``reps``: indexed by pair code and
    repetition: ``acc`` and ``weighted`` (mean credit, NaN when no trial of it was
    scored), ``w_sum``/``top_sum``/``w_n`` (weighted credit, the items' top credit and
    the trials over the scored trials). ``items``: indexed by pair code and item id
    (sorted), ``acc``, ``weighted`` (mean over scored repetitions), ``acc_n``, ``w_n``
    (scored repetitions), ``n_reps`` (repetitions with a trial), ``top``.
    """

    pairs: pd.DataFrame
    reps: pd.DataFrame
    items: pd.DataFrame
    instruments: list[Instrument]  # per pair code

    def rep_scores(self, pair: int, scale: str) -> pd.Series:
        """Pair ``pair``'s score in each repetition on ``scale``, as :func:`~eitest.scoring.score_table.rep_scores`."""
        inst = self.instruments[pair]
        r = self.reps.loc[pair]
        if scale == "proportion_of_max" and inst.scoring == "weighted":
            r = r[r["w_n"] > 0]
            return (r["w_sum"] / r["top_sum"]).clip(upper=1.0)
        kind = "acc" if scale == "proportion_correct" or inst.scoring == "keyed" else "weighted"
        return r[kind].astype(float)

    def item_credit(self, pair: int, kind: str) -> pd.DataFrame:
        """Pair ``pair``'s items with a scored trial: ``credit`` (mean over repetitions, of ``kind``) and ``top``."""
        column, count = ("weighted", "w_n") if kind == "weighted" else ("acc", "acc_n")
        i = self.items.loc[pair]
        i = i[i[count] > 0]
        return pd.DataFrame({"credit": i[column], "top": i["top"]})


def grouped(trials: pd.DataFrame, instruments: RunInstrumentMap, *, exclude_unanswered: bool = False) -> Grouped:
    """The credit of ``trials`` (one run per model x instrument) grouped once; see :class:`Grouped`."""
    by_pair = trials.groupby(KEYS, sort=True)
    pair = by_pair.ngroup().to_numpy()
    first = by_pair[["run_id", "option_order"]].first()
    insts = [instruments[str(run)][str(inst)] for (_m, inst), run in zip(first.index, first["run_id"], strict=True)]
    item_code, item_names = pd.factorize(trials["item_id"], sort=True)
    answered = (trials["status"] == "answered").to_numpy()
    fill = np.nan if exclude_unanswered else 0.0
    # the same expression as trial_credit, so that missing positions compare the same way
    acc = np.where(answered, keyed_credit(trials), fill)
    weighted = np.where(answered, trials["score"].astype(float), fill)
    frame = pd.DataFrame({"pair": pair, "item": item_code, "rep": trials["repetition"].to_numpy(), "acc": acc,
                          "weighted": weighted})  # fmt: skip
    names = np.asarray(item_names, dtype=object)
    by_item = frame.groupby(["pair", "item"], sort=True)
    items = _items(by_item, insts, names)
    top = items["top"].to_numpy()[by_item.ngroup().to_numpy()]
    scored = ~np.isnan(weighted)
    frame = frame.assign(w_sum=np.where(scored, weighted, 0.0), top_sum=np.where(scored, top, 0.0), w_n=scored)
    reps = frame.groupby(["pair", "rep"], sort=True).agg(
        acc=("acc", "mean"), weighted=("weighted", "mean"), w_sum=("w_sum", "sum"), top_sum=("top_sum", "sum"),
        w_n=("w_n", "sum"),
    )  # fmt: skip
    codes = items.index.get_level_values(1).to_numpy()
    items.index = pd.MultiIndex.from_arrays([items.index.get_level_values(0), names[codes]], names=["pair", "item_id"])
    return Grouped(_pairs(trials, pair, item_code, first, reps), reps, items, insts)


def _items(g: DataFrameGroupBy, insts: list[Instrument], names: np.ndarray) -> pd.DataFrame:
    items = g.agg(
        acc=("acc", "mean"), weighted=("weighted", "mean"), acc_n=("acc", "count"), w_n=("weighted", "count"),
        n_reps=("rep", "nunique"),
    )  # fmt: skip
    tops: dict[int, dict[str, float]] = {}
    for p, inst in enumerate(insts):
        tops[p] = {it.id: it.credit(it.best_option) for it in inst.items}
    pairs, codes = items.index.get_level_values(0), items.index.get_level_values(1)
    return items.assign(top=[tops[p].get(names[c], np.nan) for p, c in zip(pairs, codes, strict=True)])


def _pairs(
    trials: pd.DataFrame, pair: np.ndarray, item_code: np.ndarray, first: pd.DataFrame, reps: pd.DataFrame
) -> pd.DataFrame:
    """Per pair: the counts, rates, tokens and cost of :func:`eitest.scoring.instrument_scores`."""
    status = trials["status"]
    frame = pd.DataFrame(
        {
            "pair": pair,
            "item": item_code,
            "rep": trials["repetition"].to_numpy(),
            "answered": (status == "answered").to_numpy(),
            "returned": (status != "error").to_numpy(),
            "prompt_tokens": trials["prompt_tokens"].fillna(0).to_numpy(),
            "completion_tokens": trials["completion_tokens"].fillna(0).to_numpy(),
            "cost": trials["cost"].to_numpy(dtype=float),
            "cost_known": trials["cost"].notna().to_numpy(),
            "latency_s": trials["latency_s"].to_numpy(dtype=float),
        }
    )
    g = frame.groupby("pair", sort=True)
    out = g.agg(
        n_items=("item", "nunique"), n_reps=("rep", "nunique"), n_trials=("rep", "size"),
        answered=("answered", "sum"), returned=("returned", "sum"), prompt_tokens=("prompt_tokens", "sum"),
        completion_tokens=("completion_tokens", "sum"), cost=("cost", "sum"), cost_known=("cost_known", "all"),
        latency_s=("latency_s", "mean"),
    )  # fmt: skip
    model, inst = first.index.get_level_values(0), first.index.get_level_values(1)
    returned, n = out["returned"].to_numpy(), out["n_trials"].to_numpy()
    return pd.DataFrame(
        {
            "model": np.asarray(model, dtype=object),
            "instrument": np.asarray(inst, dtype=object),
            "run_id": first["run_id"].to_numpy(dtype=object),
            "option_order": first["option_order"].to_numpy(dtype=object),
            "accuracy": reps["acc"].groupby(level="pair").mean().to_numpy(),
            "n_items": out["n_items"].to_numpy(),
            "n_reps": out["n_reps"].to_numpy(),
            "n_trials": out["n_trials"].to_numpy(),
            "parse_rate": np.where(returned > 0, out["answered"] / np.where(returned > 0, returned, 1), np.nan),
            "failure_rate": (n - returned) / n,
            "prompt_tokens": out["prompt_tokens"].to_numpy().astype(np.int64),
            "completion_tokens": out["completion_tokens"].to_numpy().astype(np.int64),
            "cost": np.where(out["cost_known"], out["cost"], np.nan),
            "latency_s": out["latency_s"].to_numpy(),
        }
    )
