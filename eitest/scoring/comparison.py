"""Did the model change? Runs of one design compared item by item (``eitest compare-runs``).

``compare_runs(path, runs=..., models=...)`` sets side by side every *respondent*
(one model in one run; :mod:`~eitest.scoring.comparison_design`) of runs that gave the
same items the same way, and returns a :class:`Comparison`:

``respondents``
    run_id, model, label, created_at, model_returned (the names the provider reported).
``differences`` (one row per instrument x pair of respondents x basis, a before b)
    instrument, scoring, a, b (labels), a_run, a_model, b_run, b_model, basis ("first
    administration", then, when an item was given more than once, "mean of R
    repetitions"), score_a, score_b (the test's score on its scale on that basis: share
    correct, or proportion of the maximum credit), difference (score_b - score_a),
    ci_low, ci_high (empty, with ci_reason, when every item differs by the same
    amount), ci_level, ci_method, ci_question (the question the interval answers: "on
    new items like these", items resampled, the same items for both), n_items, p,
    p_method, p_adj (``correction`` across the rows of one basis: the first
    administration's rows are one family, the means' another), n_gained, n_lost (items
    with more credit in b than in a, and with less, on that basis: on right/wrong,
    wrong then right and right then wrong), then for each check of the measurement its
    value for a, for b and the change b - a: parse_rate, failure_rate, modal_rate,
    fleiss_kappa, and position_p, position_flag (the position-bias test; not run with
    the original order).
``omnibus`` (one row per instrument, with three or more respondents)
    instrument, k, n_items, statistic, df, p, method: on the first administration,
    Cochran's Q on right/wrong for keyed tests, Friedman's chi-square on the item
    credits otherwise.
``flipped`` (one row per instrument x pair x item answered rightly by one and not the other)
    instrument, a, b, item_id, direction ("gained": wrong in a, right in b; "lost"),
    choice_a, choice_b (option ids chosen on the first administration).
``checks``
    The analysis tables (:func:`~eitest.scoring.analysis.analyze_trials`) per
    respondent x instrument: model, run_id, instrument, score, parse_rate,
    failure_rate, modal_rate, fleiss_kappa, position_p, position_flag.

Which answers a row uses (:mod:`~eitest.scoring.comparison_pairs`). The test, the
interval and the counts of a row are computed from the same answers. The primary row
is the first administration (repetition 0), the same answer a human norm is compared
with, defined for any number of repetitions: on a keyed test its right/wrong, tested
with the exact McNemar test, and the difference is (gained - lost) / items. The
secondary row, when a respondent answered each item more than once, pairs each item's
mean credit over its repetitions (items, not repetitions, are resampled), tested with
the Wilcoxon signed-rank test of the per-item differences, as are an expert-weighted
test's credits and the logprobs protocol's probabilities. An unanswered trial counts
as wrong, as in the analysis. Probe runs are never compared.
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
from eitest.scoring.comparison_pairs import FIRST, item_table, pair_rows, wide

if TYPE_CHECKING:
    from eitest.instruments import Instrument
    from eitest.store import RunRecord

__all__ = ["Comparison", "ComparisonError", "compare_runs", "compare_trials"]

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

    Without ``runs``, every study run with trials (of ``models``, when given) is compared.
    Probe runs (``eitest probe ...``) measure nothing and are never compared: left out
    silently, and refused when picked with ``runs``.
    """
    from eitest.scoring.selection import analysis_columns
    from eitest.store import Store

    with Store(path, create=False) as store:
        records = _study_records(path, [store.run(r) for r in dict.fromkeys(runs)] if runs else store.runs(), runs)
        trials = store.trials(columns=analysis_columns())
        trials = trials[trials["run_id"].isin([r.id for r in records])] if not trials.empty else trials
        if models and not runs:  # by default, the runs in which these models took part; a model in none is named
            records = _runs_of_models(path, records, trials, models)
            trials = trials[trials["run_id"].isin([r.id for r in records])]
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


def _study_records(path: str | Path, records: list[RunRecord], picked: Sequence[str]) -> list[RunRecord]:
    """The study runs of ``records``; a probe run picked by id is refused, and so is a store of probes only."""
    from eitest.scoring.selection import study_runs

    studies, probes = study_runs(records)
    if picked and probes:
        raise ComparisonError(
            f"run {sorted(probes)[0]} is a probe run: it checks the model and measures nothing, so it is not "
            "compared; 'eitest runs list' shows the study runs"
        )
    if probes and not studies:
        raise ComparisonError(f"{path} holds probe runs only: there is no test to compare ('eitest run ...' gives one)")
    return studies


def _runs_of_models(
    path: str | Path, records: list[RunRecord], trials: pd.DataFrame, models: Sequence[str]
) -> list[RunRecord]:
    """The runs with trials of ``models``; a model with no trial in any of them is an error that names it."""
    found = set(trials["model"]) if not trials.empty else set()
    unknown = [m for m in models if m not in found]
    if unknown:
        there = ", ".join(sorted(found)) or "none"
        raise ComparisonError(f"no trials of {', '.join(unknown)} in {path}; the models there are {there}")
    having = set(trials.loc[trials["model"].isin(list(models)), "run_id"])
    return [r for r in records if r.id in having]


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
        items, left_out = item_table(trials, inst, respondents)
        if left_out:
            notes.append(f"{inst_id}: items {', '.join(left_out[:5])} left out: not answered by every respondent")
        for a, b in itertools.combinations(respondents, 2):
            rows, flips = pair_rows(items, inst, a, b, options)
            diffs += [{**row, **_check_changes(checks, inst_id, a, b)} for row in rows]
            flipped += flips
        if len(respondents) > 2:
            omnibus.append(_omnibus(items, inst, respondents))
    differences = pd.DataFrame(diffs)
    differences["p_adj"] = np.nan
    first = differences["basis"] == FIRST
    for family in (first, ~first):  # the primary rows are one family; the means over repetitions another
        if family.any():
            differences.loc[family, "p_adj"] = adjust_pvalues(
                differences.loc[family, "p"].astype(float), options.correction
            )
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


def _omnibus(items: pd.DataFrame, inst: Instrument, respondents: Sequence[Respondent]) -> dict[str, Any]:
    """All respondents at once on the first administration's credits: Cochran's Q on right/wrong, else Friedman."""
    from scipy import stats

    from eitest.stats.paired import cochran_q

    labels = [r.label for r in respondents]
    credit = wide(items, "first_credit", labels).to_numpy()
    if inst.scoring != "weighted" and np.isin(credit, (0.0, 1.0)).all():
        q = cochran_q(credit)
        statistic, df, p = q["q"], int(q["df"]), q["p"]
        method = f"Cochran's Q on the right/wrong ({FIRST})"
    else:
        if np.ptp(credit, axis=1).any():
            res = stats.friedmanchisquare(*credit.T)
            statistic, p = float(res.statistic), float(res.pvalue)
        else:
            statistic, p = 0.0, 1.0
        method, df = f"Friedman test of the item credits ({FIRST})", len(labels) - 1
    return {
        "instrument": inst.id,
        "k": len(labels),
        "n_items": int(items["item_id"].nunique()),
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
