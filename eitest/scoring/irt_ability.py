"""The IRT step: each model's ability theta on the human calibration's scale, where items carry IRT parameters.

Only items with ``irt`` parameters (as the run's instrument has them) enter; a
model x instrument whose instrument has none gets no row. Each administration (one
repetition: every item once) is one response pattern of one respondent, and gets its
own theta (:func:`eitest.stats.irt.estimate_theta`). The 2PL and 3PL are dichotomous
models, calibrated on right/wrong answers, so the response to an item is right or
wrong on its best option: 1/0 for choosing the keyed (on a weighted test, the
top-weighted) option, never the option's expert weight; under the logprobs protocol
the probability given to that option (:func:`eitest.scoring.scores.keyed_credit`, the
share-correct scale). An unanswered trial counts 0 like in the scores, or is left out
with ``exclude_unanswered``.

Parameters from different calibrations are on different scales unless someone linked
them, so one theta never mixes sources: theta comes from the items of the source that
covers the most of them (ties: the first by name), and ``reason`` names the items left
out. Parameters that were linked onto one scale say so by carrying one ``source``.

The repetitions are repeated measures of one respondent, never a sample: "this model
on this test" is the mean of the administrations' EAP thetas, with ``theta_se`` the
root mean square of their posterior SDs (the measurement error of one sitting, on
which the percentile interval rests) and ``theta_sd_reps`` their spread. When every
administration is at the ceiling (floor), ``bound`` is ``"lower"`` (``"upper"``): the
EAP is still the theta, but the true ability may lie further out, and the
percentile interval has no upper (lower) end (:mod:`eitest.stats.irt`).

``irt`` (one row per model x instrument with parameters)
    model, instrument, run_id, theta, theta_se, theta_method ("EAP"),
    bound ("lower" at the ceiling, "upper" at the floor, or None), percentile, percentile_ci_low,
    percentile_ci_high (Phi(theta), Phi(theta -+ 1.96 SE): the calibration
    population's share below, if its ability is standard normal), information (test
    information at theta), ml, ml_se (mean of the administrations' ML thetas and
    root mean square of their SEs 1/sqrt(I); NaN when any has none), theta_sd_reps,
    theta_min, theta_max, n_reps, n_bound_reps, n_items_irt (those theta rests on), n_items, irt_models,
    sources (the one source used), reason.
``irt_administrations`` (one row per model x instrument x repetition)
    model, instrument, run_id, repetition, then :data:`eitest.stats.irt.THETA_COLUMNS`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eitest.scoring.scores import KEYS, trial_credit
from eitest.scoring.selection import RunInstrumentMap
from eitest.stats.irt import THETA_COLUMNS, estimate_theta, information_at, percentile_interval

if TYPE_CHECKING:
    from eitest.instruments import Instrument

# Fewer items than this say too little about a respondent for a theta worth printing (a rule chosen here).
MIN_IRT_ITEMS = 5
IRT_COLUMNS = [
    "model", "instrument", "run_id", "theta", "theta_se", "theta_method", "bound", "percentile",
    "percentile_ci_low", "percentile_ci_high", "information", "ml", "ml_se", "theta_sd_reps", "theta_min", "theta_max",
    "n_reps", "n_bound_reps", "n_items_irt", "n_items", "irt_models", "sources", "reason",
]  # fmt: skip
ADMINISTRATION_COLUMNS = ["model", "instrument", "run_id", "repetition", *THETA_COLUMNS]


def item_parameters(inst: Instrument) -> pd.DataFrame:
    """The instrument's IRT parameters, one row per item that has them: ``a, b, c, D, model, source`` by item id."""
    rows = {
        it.id: {
            "a": it.irt.a,
            "b": it.irt.b,
            "c": it.irt.c,
            "D": it.irt.D,
            "model": it.irt.model,
            "source": it.irt.source,
        }
        for it in inst.items
        if it.irt is not None
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["a", "b", "c", "D", "model", "source"])


def irt_tables(
    trials: pd.DataFrame, instruments: RunInstrumentMap, *, exclude_unanswered: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(irt, irt_administrations)``, as the module docstring describes."""
    rows: list[dict[str, Any]] = []
    reps: list[pd.DataFrame] = []
    if trials.empty:
        return pd.DataFrame(columns=IRT_COLUMNS), pd.DataFrame(columns=ADMINISTRATION_COLUMNS)
    # Only the tests whose items carry parameters (in some run) are read: most stores have none, and a million
    # trials' credit is a copy of the frame. Each pair's rows, and so its theta, are the same either way.
    with_params = {i for used in instruments.values() for i, inst in used.items() if _has_parameters(inst)}
    keep = trials["instrument"].isin(with_params)
    if not keep.any():
        return pd.DataFrame(rows, columns=IRT_COLUMNS), pd.DataFrame(columns=ADMINISTRATION_COLUMNS)
    trials = trials if keep.all() else trials[keep]
    # Right or wrong on the best option (its probability under logprobs): the 2PL/3PL are dichotomous models.
    credit = trial_credit(trials, kind="accuracy", exclude_unanswered=exclude_unanswered)
    for (model, inst_id), g in credit.groupby(KEYS, sort=True):
        run_id = str(g["run_id"].iloc[0])
        inst = instruments.get(run_id, {}).get(str(inst_id))
        params = item_parameters(inst) if inst is not None else pd.DataFrame()
        if params.empty:
            continue
        head = {"model": model, "instrument": inst_id, "run_id": run_id}
        params, left_out = one_source(params[params.index.isin(g["item_id"])])
        given = g[g["item_id"].isin(params.index)]
        n_items = int(g["item_id"].nunique())
        n_irt = int(given["item_id"].nunique())
        if n_irt < MIN_IRT_ITEMS:
            one = " from one source" if left_out else ""
            reason = f"only {n_irt} of the items given have IRT parameters{one}; theta needs at least {MIN_IRT_ITEMS}"
            reason += f"; {_left_out_words(left_out)}" if left_out else ""
            rows.append({**head, "n_items_irt": n_irt, "n_items": n_items, "reason": reason})
            continue
        pattern = given.pivot_table(
            index="repetition", columns="item_id", values="credit", aggfunc="mean", dropna=False
        )
        per_rep = estimate_theta(pattern, params)
        reps.append(per_rep.reset_index().assign(**head)[ADMINISTRATION_COLUMNS])
        rows.append({**head, **_over_repetitions(per_rep, params.loc[pattern.columns]), "n_items": n_items})
        rows[-1]["reason"] = _reason(rows[-1], n_items, left_out)
    table = pd.DataFrame(rows, columns=IRT_COLUMNS)
    administrations = pd.concat(reps, ignore_index=True) if reps else pd.DataFrame(columns=ADMINISTRATION_COLUMNS)
    return table, administrations


def one_source(params: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The parameters of the source that covers the most items (ties: the first by name), and the rest by source.

    Calibrations from different samples or software sit on different scales until they
    are linked (Kolen & Brennan 2014, *Test equating, scaling, and linking*), so a theta
    from a mix of them places a respondent on no scale at all.
    """
    if params.empty or params["source"].nunique() < 2:
        return params, {}
    counts = params["source"].value_counts()
    chosen = sorted(counts[counts == counts.max()].index)[0]
    rest = params[params["source"] != chosen]
    left_out = {str(src): sorted(map(str, g.index)) for src, g in rest.groupby("source", sort=True)}
    return params[params["source"] == chosen], left_out


def _left_out_words(left_out: dict[str, list[str]]) -> str:
    parts = [f"{', '.join(ids)} ({src})" for src, ids in left_out.items()]
    return (
        "left out, as calibrated on another scale: " + "; ".join(parts) + " (parameters linked onto one scale "
        "enter together when they carry one source)"
    )


def _has_parameters(inst: Instrument) -> bool:
    return any(it.irt is not None for it in inst.items)


def _over_repetitions(per_rep: pd.DataFrame, params: pd.DataFrame) -> dict[str, Any]:
    """This model on this test: the administrations' EAPs averaged, never pooled; a bound when all share it."""
    bounds = per_rep["bound"].dropna()
    bound = str(bounds.iloc[0]) if len(bounds) == len(per_rep) and bounds.nunique() == 1 else None
    eaps = per_rep["eap"]
    theta, se = float(eaps.mean()), float(np.sqrt((per_rep["eap_se"] ** 2).mean()))
    pct, low, high = percentile_interval(theta, se, bound)
    has_ml = bool(per_rep["ml"].notna().all())
    return {
        "theta": theta,
        "theta_se": se,
        "theta_method": "EAP",
        "bound": bound,
        "percentile": pct,
        "percentile_ci_low": low,
        "percentile_ci_high": high,
        "information": float(information_at(theta, params)[0]),
        "ml": float(per_rep["ml"].mean()) if has_ml else math.nan,
        "ml_se": float(np.sqrt((per_rep["ml_se"] ** 2).mean())) if has_ml else math.nan,
        "theta_sd_reps": float(eaps.std(ddof=1)) if len(eaps) > 1 else math.nan,
        "theta_min": float(eaps.min()),
        "theta_max": float(eaps.max()),
        "n_reps": len(per_rep),
        "n_bound_reps": len(bounds),
        "n_items_irt": int(params.shape[0]),
        "irt_models": ", ".join(sorted(set(params["model"]))),
        "sources": "; ".join(sorted(set(params["source"]))),
    }


def _reason(row: dict[str, Any], n_items: int, left_out: dict[str, list[str]]) -> str | None:
    """What a reader must know about this row's theta, or None."""
    said = []
    if row["bound"] == "lower":
        said.append(
            "at the ceiling: every item answered right (credit >= 0.99) in every administration; the EAP is pulled towards the "
            "prior mean and the true ability may be higher (read theta and its percentile as lower limits)"
        )
    elif row["bound"] == "upper":
        said.append(
            "at the floor: every item answered wrong (credit <= 0.01) in every administration; the EAP is pulled towards the "
            "prior mean and the true ability may be lower (read theta and its percentile as upper limits)"
        )
    elif row["n_bound_reps"]:
        said.append(
            f"{row['n_bound_reps']} of {row['n_reps']} administrations were at the ceiling or floor "
            "(no ML there); theta averages the EAPs of all"
        )
    if left_out:
        said.append(_left_out_words(left_out))
    if row["n_items_irt"] < n_items:
        k = row["n_items_irt"]
        said.append(
            f"theta from {k} of the {n_items} items given"
            if left_out
            else f"theta from the {k} of {n_items} items that have IRT parameters"
        )
    return "; ".join(said) or None


def irt_notes(irt: pd.DataFrame) -> list[str]:
    """One note when any theta was estimated: how repetitions are combined and what the percentile assumes."""
    if irt.empty or irt["theta"].isna().all():
        return []
    return [
        "irt: theta is on each item source's calibration scale (EAP, standard-normal prior; Bock & Mislevy 1982); "
        "each administration has its own theta, and 'this model on this test' is their mean with one sitting's SE; "
        "the percentile is Phi(theta), the calibration population's share below, if its ability is standard normal; "
        "the response to an item is right or wrong on its best option (its probability under logprobs), as the "
        "dichotomous 2PL/3PL are calibrated, not an expert weight"
    ]
