"""The IRT step: each model's ability theta on the human calibration's scale, where items carry IRT parameters.

Only items with ``irt`` parameters (as the run's instrument has them) enter; a
model x instrument whose instrument has none gets no row. Each administration (one
repetition: every item once) is one response pattern of one respondent, and gets its
own theta (:func:`eitest.stats.irt.estimate_theta`); the response to an item is the
trial's credit (1/0 on a keyed test, the option's weight on a weighted one, the
expected credit under the logprobs protocol), and an unanswered trial counts 0 like
in the scores, or is left out with ``exclude_unanswered``.

The repetitions are repeated measures of one respondent, never a sample: "this model
on this test" is the mean of the administrations' EAP thetas, with ``theta_se`` the
root mean square of their posterior SDs (the measurement error of one sitting, on
which the percentile interval rests) and ``theta_sd_reps`` their spread. When every
administration answered every item right (wrong), the row is a lower (upper) bound.

``irt`` (one row per model x instrument with parameters)
    model, instrument, run_id, theta, theta_se, theta_method ("EAP" or "bound"),
    bound ("lower", "upper" or None), percentile, percentile_ci_low,
    percentile_ci_high (Phi(theta), Phi(theta -+ 1.96 SE): the calibration
    population's share below, if its ability is standard normal), information (test
    information at theta), ml, ml_se (mean of the administrations' ML thetas and
    root mean square of their SEs 1/sqrt(I); NaN when any has none), theta_sd_reps,
    theta_min, theta_max, n_reps, n_bound_reps, n_items_irt, n_items, irt_models, sources, reason.
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
    credit = trial_credit(trials, kind="weighted", exclude_unanswered=exclude_unanswered)
    for (model, inst_id), g in credit.groupby(KEYS, sort=True):
        run_id = str(g["run_id"].iloc[0])
        inst = instruments.get(run_id, {}).get(str(inst_id))
        params = item_parameters(inst) if inst is not None else pd.DataFrame()
        if params.empty:
            continue
        head = {"model": model, "instrument": inst_id, "run_id": run_id}
        given = g[g["item_id"].isin(params.index)]
        n_items = int(g["item_id"].nunique())
        n_irt = int(given["item_id"].nunique())
        if n_irt < MIN_IRT_ITEMS:
            reason = f"only {n_irt} of the items given have IRT parameters; theta needs at least {MIN_IRT_ITEMS}"
            rows.append({**head, "n_items_irt": n_irt, "n_items": n_items, "reason": reason})
            continue
        pattern = given.pivot_table(
            index="repetition", columns="item_id", values="credit", aggfunc="mean", dropna=False
        )
        per_rep = estimate_theta(pattern, params)
        reps.append(per_rep.reset_index().assign(**head)[ADMINISTRATION_COLUMNS])
        rows.append({**head, **_over_repetitions(per_rep, params.loc[pattern.columns]), "n_items": n_items})
        rows[-1]["reason"] = _reason(rows[-1], n_items)
    table = pd.DataFrame(rows, columns=IRT_COLUMNS)
    administrations = pd.concat(reps, ignore_index=True) if reps else pd.DataFrame(columns=ADMINISTRATION_COLUMNS)
    return table, administrations


def _has_parameters(inst: Instrument) -> bool:
    return any(it.irt is not None for it in inst.items)


def _over_repetitions(per_rep: pd.DataFrame, params: pd.DataFrame) -> dict[str, Any]:
    """This model on this test: the administrations' EAPs averaged (or their common bound), never pooled."""
    bounds = per_rep["bound"].dropna()
    if len(bounds) == len(per_rep) and bounds.nunique() == 1:
        theta, se, method, bound = float(per_rep["theta"].iloc[0]), math.nan, "bound", str(bounds.iloc[0])
    else:
        theta = float(per_rep["eap"].mean())
        se, method, bound = float(np.sqrt((per_rep["eap_se"] ** 2).mean())), "EAP", None
    pct, low, high = percentile_interval(theta, se)
    eaps = per_rep["eap"]
    return {
        "theta": theta,
        "theta_se": se,
        "theta_method": method,
        "bound": bound,
        "percentile": pct,
        "percentile_ci_low": low,
        "percentile_ci_high": high,
        "information": float(information_at(theta, params)[0]),
        "ml": float(per_rep["ml"].mean()) if per_rep["ml"].notna().all() else math.nan,
        "ml_se": float(np.sqrt((per_rep["ml_se"] ** 2).mean())) if per_rep["ml"].notna().all() else math.nan,
        "theta_sd_reps": float(eaps.std(ddof=1)) if len(eaps) > 1 else math.nan,
        "theta_min": float(eaps.min()),
        "theta_max": float(eaps.max()),
        "n_reps": len(per_rep),
        "n_bound_reps": len(bounds),
        "n_items_irt": int(params.shape[0]),
        "irt_models": ", ".join(sorted(set(params["model"]))),
        "sources": "; ".join(sorted(set(params["source"]))),
    }


def _reason(row: dict[str, Any], n_items: int) -> str | None:
    """What a reader must know about this row's theta, or None."""
    said = []
    if row["bound"] == "lower":
        said.append(
            "every item answered right in every administration: ability is above the hardest item's b, "
            "by how much this test cannot say (a lower bound, not an estimate)"
        )
    elif row["bound"] == "upper":
        said.append("every item answered wrong in every administration: an upper bound at the easiest item's b")
    elif row["n_bound_reps"]:
        said.append(
            f"{row['n_bound_reps']} of {row['n_reps']} administrations answered every item the same way "
            "(no ML there); theta averages the EAPs of all"
        )
    if ";" in str(row["sources"]):
        said.append("the parameters come from more than one source: one scale only if those calibrations were linked")
    if row["n_items_irt"] < n_items:
        said.append(f"theta from the {row['n_items_irt']} of {n_items} items that have IRT parameters")
    return "; ".join(said) or None


def irt_notes(irt: pd.DataFrame) -> list[str]:
    """One note when any theta was estimated: how repetitions are combined and what the percentile assumes."""
    if irt.empty or irt["theta"].isna().all():
        return []
    return [
        "irt: theta is on each item source's calibration scale (EAP, standard-normal prior; Bock & Mislevy 1982); "
        "each administration has its own theta, and 'this model on this test' is their mean with one sitting's SE; "
        "the percentile is Phi(theta), the calibration population's share below, if its ability is standard normal"
    ]
