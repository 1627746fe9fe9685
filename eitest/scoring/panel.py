"""Will these new items be hard for people? A panel of models' answers, calibrated on items of known difficulty.

Each item's *panel accuracy* is the mean over the panel's models of the model's share
of right answers over its repetitions (the keyed option; for an expert-weighted test,
the top-weighted one, as ``human_p`` counts it). Items with a known ``human_p`` (the
proportion of a norm sample who chose that option) calibrate a logistic mapping
(:mod:`eitest.stats.calibration`): ``logit(human_p) = a + b * panel_accuracy``.

The check comes first: on the calibration items, leave-one-out predictions (each
item predicted by the mapping fitted on the others) against ``human_p``: Spearman's
rho with its Fisher-z interval, and the mean absolute error, beside the error of a
prediction that ignores the panel (the mean ``human_p`` of the other items). The
evidence is *usable* only with at least :data:`MIN_ITEMS` calibration items, an
interval of rho wholly above 0, and a mean absolute error below the one without the
panel (a panel that ranks the items but predicts worse than ignoring it is no use);
otherwise no prediction is given, and ``reason`` says why. With fewer than
:data:`MIN_CHECK` items of known ``human_p`` the panel cannot be calibrated at all
(:func:`count_known` lets a caller find that out before any model is called).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eitest.scoring.analysis import _records
from eitest.scoring.scores import trial_credit

if TYPE_CHECKING:
    from eitest.instruments import Instrument

__all__ = ["MIN_CHECK", "MIN_ITEMS", "PanelResult", "calibrate_panel", "cannot_calibrate", "count_known", "panel_items"]

MIN_ITEMS = 10  # fewer calibration items than this give no usable evidence, whatever rho says
MIN_CHECK = 4  # fewer than this, and a leave-one-out check of the mapping cannot be made
MAPPING = "logistic: logit(human_p) = a + b * panel_accuracy (least squares on the logit scale)"
CROSS_VALIDATION = "leave-one-out"
RHO_CI = "Fisher z of Spearman's rho, se = sqrt(1.06 / (n - 3)) (Fieller, Hartley & Pearson, 1957)"


@dataclass
class PanelResult:
    """The panel's estimate of each new item's human proportion correct, and the evidence for it.

    ``items``: instrument, item_id, panel_accuracy, n_models, human_p (NaN: unknown), role
    ("calibration" or "new"), predicted_cv (calibration items: the leave-one-out
    prediction). ``predictions``: instrument, item_id, panel_accuracy, predicted_human_p,
    for the new items, only when the evidence is usable (else empty).
    """

    models: list[str]
    instrument: str
    calibration_instruments: list[str]
    calibrated: bool
    usable: bool
    reason: str | None
    calibration: dict[str, Any]
    items: pd.DataFrame
    predictions: pd.DataFrame
    run_id: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        clean = _records(pd.DataFrame([self.calibration]))[0] if self.calibration else {}
        return {
            "run_id": self.run_id,
            "models": self.models,
            "instrument": self.instrument,
            "calibration_instruments": self.calibration_instruments,
            "calibrated": self.calibrated,
            "usable": self.usable,
            "reason": self.reason,
            "calibration": clean,
            "items": _records(self.items),
            "predictions": _records(self.predictions),
            "notes": self.notes,
        }


def panel_items(trials: pd.DataFrame, instruments: Mapping[str, Instrument]) -> pd.DataFrame:
    """Per instrument x item: ``panel_accuracy`` (mean over models of each one's share right), ``n_models``, ``human_p``.

    An unanswered trial counts as wrong, as in the analysis.
    """
    credit = trial_credit(trials)
    per_model = credit.groupby(["instrument", "item_id", "model"])["credit"].mean().reset_index()
    table = (
        per_model.groupby(["instrument", "item_id"])
        .agg(panel_accuracy=("credit", "mean"), n_models=("model", "nunique"))
        .reset_index()
    )
    table["human_p"] = [
        _human_p(instruments[inst].item(item_id))
        for inst, item_id in zip(table["instrument"], table["item_id"], strict=True)
    ]
    return table


def _human_p(item: Any) -> float:
    return float("nan") if item.human_p is None else float(item.human_p)


def count_known(instruments: Sequence[Instrument]) -> int:
    """How many items of ``instruments`` carry a known ``human_p``: the items a panel can calibrate on."""
    return sum(item.human_p is not None for inst in instruments for item in inst.items)


def cannot_calibrate(n: int, instrument_ids: Sequence[str]) -> str | None:
    """Why ``n`` items of known ``human_p`` in ``instrument_ids`` cannot calibrate a panel, or None when they can."""
    if n >= MIN_CHECK:
        return None
    where = " or ".join(sorted(set(instrument_ids)))
    return (
        f"cannot calibrate: {'no item' if n == 0 else f'only {n} item(s)'} of {where} "
        f"{'has' if n <= 1 else 'have'} a known human_p (at least {MIN_CHECK} are needed to check a calibration, "
        f"{MIN_ITEMS} to use one); give --calibration with an instrument whose items carry human_p, "
        "e.g. one written by 'eitest norms build --items-out'"
    )


def calibrate_panel(
    items: pd.DataFrame, instrument: str, models: Sequence[str], calibration_instruments: Sequence[str] = ()
) -> PanelResult:
    """The calibration check on the items with ``human_p`` and, when it holds, predictions for ``instrument``'s others."""
    from eitest.stats.calibration import logit_fit, loo_predictions, predict, spearman_ci

    pool = {instrument, *calibration_instruments}
    table = items[items["instrument"].isin(list(pool))].copy()
    known = table["human_p"].notna()
    table["role"] = np.where(known, "calibration", "new")
    table["predicted_cv"] = np.nan
    new = table[~known & (table["instrument"] == instrument)]
    empty = pd.DataFrame(columns=["instrument", "item_id", "panel_accuracy", "predicted_human_p"])
    n = int(known.sum())
    reason = cannot_calibrate(n, sorted(pool))
    if reason is not None:
        return PanelResult(list(models), instrument, list(calibration_instruments), calibrated=False, usable=False,
                           reason=reason, calibration={"n_items": n}, items=table, predictions=empty)  # fmt: skip
    cal = table[known]
    x, p = cal["panel_accuracy"].to_numpy(), cal["human_p"].to_numpy()
    cv = loo_predictions(x, p)
    table.loc[known, "predicted_cv"] = cv
    rho = spearman_ci(cv, p)
    raw = spearman_ci(x, p)
    others = (p.sum() - p) / (n - 1)  # each item's mean human_p of the others: a prediction without the panel
    a, b = logit_fit(x, p)
    mae_cv, mae_without = float(np.mean(np.abs(cv - p))), float(np.mean(np.abs(others - p)))
    calibration = {
        "n_items": n,
        "mapping": MAPPING,
        "a": a,
        "b": b,
        "cross_validation": CROSS_VALIDATION,
        "rho": rho["rho"],
        "rho_ci_low": rho["ci_low"],
        "rho_ci_high": rho["ci_high"],
        "rho_p": rho["p"],
        "rho_ci_method": RHO_CI,
        "rho_ci_question": "over calibration items like these",
        "rho_panel_accuracy": raw["rho"],
        "mae_cv": mae_cv,
        "mae_without_panel": mae_without,
        "min_items": MIN_ITEMS,
    }
    weak = _weakness(n, rho, mae_cv, mae_without)
    usable = weak is None
    predictions = empty
    if usable and not new.empty:
        predictions = new[["instrument", "item_id", "panel_accuracy"]].assign(
            predicted_human_p=predict(new["panel_accuracy"].to_numpy(), a, b)
        )
    return PanelResult(list(models), instrument, list(calibration_instruments), calibrated=True, usable=usable,
                       reason=weak, calibration=calibration, items=table,
                       predictions=predictions.reset_index(drop=True))  # fmt: skip


def _weakness(n: int, rho: Mapping[str, float], mae_cv: float, mae_without: float) -> str | None:
    """Why the calibration is too weak to use, or None when it is not."""
    if n < MIN_ITEMS:
        return (
            f"too weak to use: only {n} calibration items (fewer than {MIN_ITEMS}); no prediction is given. "
            "Calibrate on more items with a known human_p (--calibration)"
        )
    if rho["rho"] != rho["rho"]:
        return "too weak to use: the panel's accuracy does not vary over the calibration items, so it ranks nothing"
    if rho["ci_low"] <= 0:
        return (
            f"too weak to use: the 95% CI of Spearman's rho [{rho['ci_low']:.2f}, {rho['ci_high']:.2f}] includes 0, "
            "so the panel's predictions are not shown to track human difficulty; no prediction is given"
        )
    if not mae_cv < mae_without:
        return (
            f"too weak to use: the panel's leave-one-out predictions miss human_p by {mae_cv:.3f} on average, "
            f"no better than ignoring the panel (the mean human_p of the other items misses by {mae_without:.3f}); "
            "no prediction is given"
        )
    return None
