"""Did the model change? Runs of one design compared item by item (``eitest compare-runs``).

``compare_runs(path, runs=..., models=...)`` sets side by side every *respondent*
(one model in one run; :mod:`~eitest.scoring.comparison_design`) of runs that gave the
same items the same way, and returns a :class:`Comparison`:

``respondents``
    run_id, model, label, created_at, model_returned (the names the provider reported).
``differences`` (one row per instrument x pair of respondents, a before b)
    instrument, scoring, a, b (labels), a_run, a_model, b_run, b_model, score_a,
    score_b (the test's score on its scale: share correct, or proportion of the
    maximum credit, each item first averaged over its repetitions), difference
    (score_b - score_a), ci_low, ci_high (empty, with ci_reason, when every item
    differs by the same amount), ci_level, ci_method, ci_question (the
    question the interval answers: "on new items like these", items resampled, the
    same items for both), n_items, p, p_method, p_adj (``correction`` across every
    row), n_gained, n_lost (items wrong then right, right then wrong, on the first
    administration), then for each check of the measurement its value for a, for b
    and the change b - a: parse_rate, failure_rate, modal_rate, fleiss_kappa, and
    position_p, position_flag (the position-bias test; not run with the original
    order).
``omnibus`` (one row per instrument, with three or more respondents)
    instrument, k, n_items, statistic, df, p, method: Cochran's Q on the first
    administration's right/wrong for keyed tests, Friedman's chi-square on the item
    credits for weighted ones.
``flipped`` (one row per instrument x pair x item answered rightly by one and not the other)
    instrument, a, b, item_id, direction ("gained": wrong in a, right in b; "lost"),
    choice_a, choice_b (option ids chosen on the first administration).
``checks``
    The analysis tables (:func:`~eitest.scoring.analysis.analyze_trials`) per
    respondent x instrument: model, run_id, instrument, score, parse_rate,
    failure_rate, modal_rate, fleiss_kappa, position_p, position_flag.

Which answer counts for an item. The score and its interval use each item's mean
credit over the repetitions (every repetition of a respondent is used; items, not
repetitions, are resampled). The McNemar test and the flipped items need one
right-or-wrong answer per item: the first administration's (repetition 0), the same
answer a human norm is compared with, defined for any number of repetitions (a
majority has ties at even counts). An unanswered trial counts as wrong, as in the
analysis. For a weighted test the p value is the Wilcoxon signed-rank test of the
item credits (McNemar needs right/wrong).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eitest.scoring.analysis import AnalysisOptions, _records, analyze_trials
from eitest.scoring.comparison_design import (
    ComparisonError,
    Respondent,
    check_design,
    pick_respondents,
    version_notes,
)
from eitest.scoring.scores import trial_credit

if TYPE_CHECKING:
    from eitest.instruments import Instrument

__all__ = ["Comparison", "ComparisonError", "compare_runs", "compare_trials"]

CI_QUESTION = "on new items like these"
CHECKS = ("parse_rate", "failure_rate", "modal_rate", "fleiss_kappa", "position_p", "position_flag")


@dataclass
class Comparison:
    respondents: pd.DataFrame
    differences: pd.DataFrame
    omnibus: pd.DataFrame
    flipped: pd.DataFrame
    checks: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    TABLES = ("respondents", "differences", "omnibus", "flipped", "checks")

    def to_dict(self) -> dict[str, Any]:
        """Every table as JSON-ready records (NaN -> None), with notes and settings."""
        out: dict[str, Any] = {name: _records(getattr(self, name)) for name in self.TABLES}
        out["notes"] = self.notes
        out["settings"] = self.settings
        return out


def compare_runs(
    path: str | Path,
    *,
    runs: Sequence[str] = (),
    models: Sequence[str] = (),
    n_boot: int = 2000,
    seed: int = 0,
    correction: str = "holm",
) -> Comparison:
    """Compare the runs ``runs`` (ids or unique prefixes) of the store at ``path``.

    Without ``runs``, every run with trials (of ``models``, when given) is compared.
    """
    from eitest.scoring.selection import analysis_columns
    from eitest.store import Store

    with Store(path, create=False) as store:
        records = [store.run(r) for r in dict.fromkeys(runs)] if runs else store.runs()
        trials = store.trials(columns=analysis_columns())
        if models and not runs and not trials.empty:  # by default, the runs in which these models took part
            having = set(trials.loc[trials["model"].isin(list(models)), "run_id"])
            records = [r for r in records if r.id in having] or records
        trials = trials[trials["run_id"].isin([r.id for r in records])] if not trials.empty else trials
        if trials.empty:
            raise ComparisonError(f"{path}: the runs compared hold no trials; run 'eitest run ...' first")
        empty = [r.id for r in records if r.id not in set(trials["run_id"])]
        records = [r for r in records if r.id not in empty]
        common, notes = check_design(records)
        instruments = store.instruments_of_runs([r.id for r in records], picked=True).by_run
    notes += [f"run {rid} left out: it holds no trials yet" for rid in empty]
    respondents = pick_respondents(trials, {r.id: r for r in records}, models)
    trials = trials[trials["instrument"].isin(common)]
    options = AnalysisOptions(n_boot=n_boot, seed=seed, correction=correction)
    return compare_trials(trials, instruments, respondents, options, notes=notes)


def compare_trials(
    trials: pd.DataFrame,
    instruments: dict[str, dict[str, Instrument]],
    respondents: Sequence[Respondent],
    options: AnalysisOptions,
    *,
    notes: Sequence[str] = (),
) -> Comparison:
    """The comparison of ``respondents`` over ``trials``, given each run's instruments (``{run: {id: Instrument}}``)."""
    from eitest.stats import adjust_pvalues

    notes = [*notes, *version_notes(respondents)]
    checks = _checks(trials, instruments, respondents, options)
    diffs, flipped, omnibus = [], [], []
    for inst_id in sorted(trials["instrument"].unique()):
        inst = instruments[respondents[0].run_id][inst_id]
        items, left_out = _item_table(trials, inst, respondents)
        if left_out:
            notes.append(f"{inst_id}: items {', '.join(left_out[:5])} left out: not answered by every respondent")
        for a, b in itertools.combinations(respondents, 2):
            row, flips = _pair(items, inst, a, b, options)
            diffs.append({**row, **_check_changes(checks, inst_id, a, b)})
            flipped += flips
        if len(respondents) > 2:
            omnibus.append(_omnibus(items, inst, respondents))
    differences = pd.DataFrame(diffs)
    differences["p_adj"] = adjust_pvalues(differences["p"].astype(float), options.correction)
    return Comparison(
        respondents=pd.DataFrame(
            [
                {
                    "run_id": r.run_id,
                    "model": r.model,
                    "label": r.label,
                    "created_at": r.created_at,
                    "model_returned": ", ".join(r.model_returned),
                }
                for r in respondents
            ]
        ),
        differences=differences,
        omnibus=pd.DataFrame(omnibus, columns=["instrument", "k", "n_items", "statistic", "df", "p", "method"]),
        flipped=pd.DataFrame(flipped, columns=["instrument", "a", "b", "item_id", "direction", "choice_a", "choice_b"]),
        checks=checks,
        notes=notes,
        settings={"n_boot": options.n_boot, "seed": options.seed, "correction": options.correction},
    )


def _mine(trials: pd.DataFrame, r: Respondent) -> pd.DataFrame:
    return trials[(trials["run_id"] == r.run_id) & (trials["model"] == r.model)]


def _item_table(
    trials: pd.DataFrame, inst: Instrument, respondents: Sequence[Respondent]
) -> tuple[pd.DataFrame, list[str]]:
    """Per item x respondent: ``credit`` (mean over repetitions), ``first`` (0/1, repetition 0), ``choice``.

    Only the items every respondent has, with a first administration, are kept; the others are returned by id.
    """
    kind = "weighted" if inst.scoring == "weighted" else "accuracy"
    parts = []
    for r in respondents:
        t = _mine(trials, r)
        t = t[t["instrument"] == inst.id]
        credit = trial_credit(t, kind=kind).groupby("item_id")["credit"].mean()
        first = t[t["repetition"] == 0].set_index("item_id")
        # Right or wrong as chosen (under the logprobs protocol: its most probable option), never a probability.
        right = ((first["chosen_position"] == first["keyed_position"]) & (first["status"] == "answered")).astype(float)
        parts.append(
            pd.DataFrame({"credit": credit, "first": right, "choice": first["chosen_option"]}).assign(label=r.label)
        )
    table = pd.concat(parts).rename_axis("item_id").reset_index()
    complete = table.dropna(subset=["credit", "first"]).groupby("item_id")["label"].nunique() == len(respondents)
    keep = sorted(complete[complete].index)
    left_out = sorted(set(table["item_id"]) - set(keep))
    return table[table["item_id"].isin(keep)], left_out


def _wide(items: pd.DataFrame, column: str, labels: Sequence[str]) -> pd.DataFrame:
    return items.pivot(index="item_id", columns="label", values=column)[list(labels)]


def _top(inst: Instrument, item_ids: Sequence[str]) -> np.ndarray:
    if inst.scoring != "weighted":
        return np.ones(len(item_ids))
    return np.array([inst.item(i).credit(inst.item(i).best_option) for i in item_ids])


def _no_interval(differences: pd.Series, boot: dict[str, float]) -> str | None:
    """Why the bootstrap gives no interval (and ``boot``'s bounds are blanked), or None when it does.

    ``differences`` are per item, each over the item's top credit: when they are all one value, every
    resample of the items has that difference, and the interval would be a point.
    """
    if float(differences.max() - differences.min()) > 1e-12:
        return None
    boot["ci_low"] = boot["ci_high"] = float("nan")
    return (
        f"every item differs by the same share of its credit ({differences.iloc[0]:+.3f}): resampling the items cannot show "
        "how the difference would vary on new items, so no interval is given"
    )


def _pair(
    items: pd.DataFrame, inst: Instrument, a: Respondent, b: Respondent, options: AnalysisOptions
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    from scipy import stats

    from eitest.stats.paired import mcnemar_exact, paired_bootstrap

    credit = _wide(items, "credit", [a.label, b.label])
    first = _wide(items, "first", [a.label, b.label])
    choice = _wide(items, "choice", [a.label, b.label])
    ids = list(credit.index)
    top = _top(inst, ids)
    boot = paired_bootstrap(credit[a.label], credit[b.label], top, n_boot=options.n_boot, seed=options.seed)
    ci_reason = _no_interval((credit[b.label] - credit[a.label]) / top, boot)
    mc = mcnemar_exact(first[a.label], first[b.label])
    if inst.scoring == "weighted":
        d = credit[b.label] - credit[a.label]
        p = float(stats.wilcoxon(d).pvalue) if (d != 0).any() else 1.0
        method = "Wilcoxon signed-rank test of the item credits (mean over repetitions)"
    else:
        p, method = mc["p"], "exact McNemar test on the first administration's right/wrong"
    row = {
        "instrument": inst.id,
        "scoring": inst.scoring,
        "a": a.label,
        "b": b.label,
        "a_run": a.run_id,
        "a_model": a.model,
        "b_run": b.run_id,
        "b_model": b.model,
        "score_a": float(credit[a.label].sum() / top.sum()),
        "score_b": float(credit[b.label].sum() / top.sum()),
        "difference": boot["difference"],
        "ci_low": boot["ci_low"],
        "ci_high": boot["ci_high"],
        "ci_level": 0.95,
        "ci_method": f"paired percentile bootstrap over items ({options.n_boot} resamples, seed {options.seed})",
        "ci_question": CI_QUESTION,
        "ci_reason": ci_reason,
        "n_items": len(ids),
        "p": p,
        "p_method": method,
        "n_gained": mc["n_gained"],
        "n_lost": mc["n_lost"],
    }
    flips = []
    for item_id in ids:
        before, after = first.at[item_id, a.label], first.at[item_id, b.label]
        if before != after:
            flips.append(
                {
                    "instrument": inst.id,
                    "a": a.label,
                    "b": b.label,
                    "item_id": item_id,
                    "direction": "gained" if after > before else "lost",
                    "choice_a": choice.at[item_id, a.label],
                    "choice_b": choice.at[item_id, b.label],
                }
            )
    return row, flips


def _omnibus(items: pd.DataFrame, inst: Instrument, respondents: Sequence[Respondent]) -> dict[str, Any]:
    from scipy import stats

    from eitest.stats.paired import cochran_q

    labels = [r.label for r in respondents]
    if inst.scoring == "weighted":
        credit = _wide(items, "credit", labels).to_numpy()
        if np.ptp(credit, axis=1).any():
            res = stats.friedmanchisquare(*credit.T)
            statistic, p = float(res.statistic), float(res.pvalue)
        else:
            statistic, p = 0.0, 1.0
        method, df = "Friedman test of the item credits", len(labels) - 1
    else:
        q = cochran_q(_wide(items, "first", labels).to_numpy())
        statistic, df, p = q["q"], int(q["df"]), q["p"]
        method = "Cochran's Q on the first administration's right/wrong"
    n = int(items["item_id"].nunique())
    return {
        "instrument": inst.id,
        "k": len(labels),
        "n_items": n,
        "statistic": statistic,
        "df": df,
        "p": p,
        "method": method,
    }


def _checks(
    trials: pd.DataFrame,
    instruments: dict[str, dict[str, Instrument]],
    respondents: Sequence[Respondent],
    options: AnalysisOptions,
) -> pd.DataFrame:
    """The analysis's score, parse rate, agreement and position bias, per respondent x instrument (one run at a time)."""
    wanted = {(r.run_id, r.model) for r in respondents}
    rows = []
    for run_id in dict.fromkeys(r.run_id for r in respondents):
        t = trials[(trials["run_id"] == run_id) & trials["model"].isin([m for rid, m in wanted if rid == run_id])]
        result = analyze_trials(t, {run_id: instruments[run_id]}, options)
        table = result.scores[["model", "instrument", "score", "parse_rate", "failure_rate"]]
        table = table.merge(result.agreement[["model", "instrument", "modal_rate", "fleiss_kappa"]], how="left")
        bias = result.position_bias[["model", "instrument", "p", "flag"]]
        table = table.merge(bias.rename(columns={"p": "position_p", "flag": "position_flag"}), how="left")
        rows.append(table.assign(run_id=run_id))
    out = pd.concat(rows, ignore_index=True)
    return out[["model", "run_id", "instrument", "score", *CHECKS]]


def _check_changes(checks: pd.DataFrame, inst_id: str, a: Respondent, b: Respondent) -> dict[str, Any]:
    def value(r: Respondent, name: str) -> Any:
        row = checks[(checks["run_id"] == r.run_id) & (checks["model"] == r.model) & (checks["instrument"] == inst_id)]
        return row[name].iloc[0] if len(row) else math.nan

    out: dict[str, Any] = {}
    for name in CHECKS:
        va, vb = value(a, name), value(b, name)
        out[f"{name}_a"], out[f"{name}_b"] = va, vb
        if name != "position_flag":
            out[f"{name}_change"] = float(vb) - float(va) if va is not None and vb is not None else math.nan
    return out
