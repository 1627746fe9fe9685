"""From stored trials to the tables a psychologist puts in a paper.

``analyze(path)`` reads a store and returns an :class:`Analysis`: DataFrames with
stable, documented columns (below) and ``notes`` that say what was skipped and
why. Nothing here calls a model. Pure functions from :mod:`eitest.scoring` and
:mod:`eitest.stats` do the arithmetic.

``scores`` (one row per model x instrument)
    model, instrument, run_id, option_order, accuracy (share of trials choosing
    the keyed or top-weighted option, mean over repetitions), sd_reps, ci_low,
    ci_high (bootstrap over items and repetitions), binom_ci_low, binom_ci_high
    (Wilson, all trials as one binomial sample), weighted_score,
    weighted_ci_low, weighted_ci_high (mean credit by the instrument's weights;
    NaN for keyed instruments), n_items, n_reps, n_trials, parse_rate,
    failure_rate, prompt_tokens, completion_tokens, cost, latency_s,
    norm_source, norm_scoring (which score the norm is on: keyed -> accuracy,
    weighted -> weighted_score), norm_mean, norm_sd, norm_n (the norm used,
    proportion scale), diff (score - norm_mean), z, T_score, percentile, percentile_ci_low,
    percentile_ci_high (Crawford & Garthwaite 2002), t, df, p (Crawford & Howell
    1998, two-sided), p_adj (corrected across the tests of this analysis), d,
    d_ci_low, d_ci_high (z_CC: Cohen's d against the norm SD, Crawford et al.
    2010), g, g_ci_low, g_ci_high (Hedges' g), warning.
``summary``
    The paper's aggregate (:func:`eitest.stats.paper_summary`): row, name,
    n_tests, mean, sd, ci_low, ci_high, instruments; plus, when on file, the
    published aggregate human mean as row ``published_human_mean``.
``agreement``
    model, instrument, modal_rate, fleiss_kappa, n_items, n_reps, reason.
``position_bias``
    model, instrument, option_order, n, chi2, df, p, top_position, top_share,
    top_expected_share, flag, reason.
``items``
    model, instrument, item_id, accuracy, n_reps, human_p.
``item_correlation``
    model, instrument, rho, p, n, reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from eitest.errors import EitestError

SCORE_COLUMNS = [
    "model", "instrument", "run_id", "option_order", "accuracy", "sd_reps", "ci_low", "ci_high",
    "binom_ci_low", "binom_ci_high", "weighted_score", "weighted_ci_low", "weighted_ci_high", "n_items",
    "n_reps", "n_trials", "parse_rate", "failure_rate", "prompt_tokens", "completion_tokens", "cost",
    "latency_s", "norm_source", "norm_scoring", "norm_mean", "norm_sd",
    "norm_n", "diff", "z", "T_score", "percentile", "percentile_ci_low", "percentile_ci_high", "t",
    "df", "p", "p_adj", "d", "d_ci_low", "d_ci_high", "g", "g_ci_low", "g_ci_high", "warning",
]  # fmt: skip
WARN_BELOW = 0.95


class AnalysisError(EitestError):
    pass


@dataclass
class Analysis:
    scores: pd.DataFrame
    summary: pd.DataFrame
    agreement: pd.DataFrame
    position_bias: pd.DataFrame
    items: pd.DataFrame
    item_correlation: pd.DataFrame
    norms: pd.DataFrame
    runs: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    TABLES = ("scores", "summary", "agreement", "position_bias", "item_correlation", "norms")

    def to_dict(self) -> dict[str, Any]:
        """Every table as JSON-ready records (NaN -> None), with notes and settings."""
        out: dict[str, Any] = {name: _records(getattr(self, name)) for name in self.TABLES}
        out["notes"] = self.notes
        out["settings"] = self.settings
        return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    def clean(v: Any) -> Any:
        if isinstance(v, (np.floating, float)):
            return None if math.isnan(float(v)) or math.isinf(float(v)) else float(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, (list, tuple, np.ndarray)):
            return [clean(x) for x in v]
        return v

    return [{k: clean(v) for k, v in row.items()} for row in df.to_dict("records")]


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
    last = trials.groupby(["model", "instrument"])["finished_at"].transform("max")
    latest_run = trials.loc[trials["finished_at"] == last].groupby(["model", "instrument"])["run_id"].first()
    keep = trials.set_index(["model", "instrument"]).index.map(latest_run.to_dict()) == trials["run_id"]
    dropped = trials.loc[~keep, ["model", "instrument", "run_id"]].drop_duplicates()
    for row in dropped.itertuples():
        notes.append(
            f"{row.model} on {row.instrument}: older run {row.run_id} left out (the latest run is analysed; use --run to pick one)"
        )
    return trials.loc[keep], notes


def analyze(
    path: str | Path,
    *,
    norms: list[str | Path] | None = None,
    run: str | None = None,
    exclude_unanswered: bool = False,
    correction: str = "holm",
    n_boot: int = 2000,
    seed: int = 0,
) -> Analysis:
    """Analyse the store at ``path``; see the module docstring for the tables and columns."""
    from eitest.store import Store
    from eitest.vocabulary import Correction, choose

    try:
        choose(Correction, correction, "correction")
    except ValueError as exc:
        raise AnalysisError(str(exc)) from None
    with Store(path, create=False) as store:
        all_trials = store.trials()
        runs = pd.DataFrame([r.__dict__ for r in store.runs()])
    if all_trials.empty:
        raise AnalysisError(f"{path} holds no trials yet; run 'eitest run ...' first")
    trials, notes = select_trials(all_trials, run)
    return analyze_trials(
        trials,
        runs=runs,
        norm_files=norms,
        exclude_unanswered=exclude_unanswered,
        correction=correction,
        n_boot=n_boot,
        seed=seed,
        notes=notes,
    )


def analyze_trials(
    trials: pd.DataFrame,
    *,
    runs: pd.DataFrame | None = None,
    norm_files: list[str | Path] | None = None,
    exclude_unanswered: bool = False,
    correction: str = "holm",
    n_boot: int = 2000,
    seed: int = 0,
    notes: list[str] | None = None,
) -> Analysis:
    """The same as :func:`analyze`, on a trials DataFrame already in hand."""
    from eitest import scoring, stats
    from eitest.instruments import catalogue
    from eitest.instruments.norms import all_norms, norm_for
    from eitest.stats import measurement as trust
    from eitest.vocabulary import Correction

    notes = list(notes or [])
    cat = catalogue()
    weighted = {i for i, inst in cat.items() if inst.scoring == "weighted"}
    scores = scoring.instrument_scores(
        trials, weighted_instruments=weighted, exclude_unanswered=exclude_unanswered, n_boot=n_boot, seed=seed
    )
    meta = (
        trials.groupby(["model", "instrument"])
        .agg(run_id=("run_id", "first"), option_order=("option_order", "first"))
        .reset_index()
    )
    scores = scores.merge(meta, on=["model", "instrument"])

    # Binomial CI of the share correct, all trials taken as one binomial sample.
    scored = scoring.trial_credit(trials, exclude_unanswered=exclude_unanswered).dropna(subset=["credit"])
    binom = {}
    for (model, inst), g in scored.groupby(["model", "instrument"]):
        ci = stats.binomial_ci(int(g["credit"].sum()), len(g))
        binom[(model, inst)] = (ci["ci_low"], ci["ci_high"])
    scores["binom_ci_low"] = [
        binom.get((m, i), (np.nan, np.nan))[0] for m, i in zip(scores["model"], scores["instrument"], strict=True)
    ]
    scores["binom_ci_high"] = [
        binom.get((m, i), (np.nan, np.nan))[1] for m, i in zip(scores["model"], scores["instrument"], strict=True)
    ]

    # Against human norms.
    norm_rows = []
    for col in ["norm_source", "norm_scoring", "norm_mean", "norm_sd", "norm_n", "diff", "z", "T_score", "percentile", "percentile_ci_low",
                "percentile_ci_high", "t", "df", "p", "d", "d_ci_low", "d_ci_high", "g", "g_ci_low", "g_ci_high"]:  # fmt: skip
        scores[col] = np.nan if col not in ("norm_source", "norm_scoring") else None
    for inst_id in sorted(scores["instrument"].unique()):
        norm = norm_for(inst_id, extra=[Path(p) for p in norm_files or []])
        if norm is None:
            notes.append(
                f"{inst_id}: no human norm on file, so the single-case statistics (z, percentile, t, d) are skipped; "
                "pass --norms FILE (format: docs/norm-format.md) or build one from human data with 'eitest norms build'"
            )
            continue
        norm_rows.append(norm.row())
        mean, sd, n = norm.as_proportion("mean"), norm.as_proportion("sd"), norm.value("n")
        rows = scores["instrument"] == inst_id
        compared = "weighted_score" if norm.scoring == "weighted" else "accuracy"
        scores.loc[rows, "norm_scoring"] = norm.scoring
        scores.loc[rows, "norm_source"] = norm.source.id if norm.source else None
        scores.loc[rows, "norm_mean"] = mean if mean is not None else np.nan
        scores.loc[rows, "norm_sd"] = sd if sd is not None else np.nan
        scores.loc[rows, "norm_n"] = n if n is not None else np.nan
        if mean is not None:
            scores.loc[rows, "diff"] = scores.loc[rows, compared] - mean
        missing = norm.missing()
        if missing:
            notes.append(
                f"{inst_id}: the norm from {norm.source.id if norm.source else '?'} has no {', '.join(missing)} on file, "
                "so z, percentile, the Crawford-Howell t and d are skipped"
                + ("; only the difference from the norm mean is shown" if mean is not None else "")
            )
            continue
        for idx in scores.index[rows]:
            sc = stats.single_case(float(scores.at[idx, compared]), mean, sd, int(n))
            for ours, theirs in [("z", "z"), ("T_score", "T_score"), ("percentile", "percentile"), ("percentile_ci_low", "percentile_ci_low"),
                                 ("percentile_ci_high", "percentile_ci_high"), ("t", "t"), ("df", "df"), ("p", "p_two_sided"),
                                 ("d", "z_cc"), ("d_ci_low", "z_cc_ci_low"), ("d_ci_high", "z_cc_ci_high"), ("g", "hedges_g"),
                                 ("g_ci_low", "hedges_g_ci_low"), ("g_ci_high", "hedges_g_ci_high")]:  # fmt: skip
                scores.at[idx, ours] = sc[theirs]
    scores["p_adj"] = stats.adjust_pvalues(scores["p"].to_numpy(dtype=float), method=correction)
    if scores["p"].notna().sum() > 1:
        notes.append(
            f"p_adj: {Correction(correction).label} correction across {int(scores['p'].notna().sum())} single-case tests"
        )

    # Trust: parse and failure rates.
    warnings = []
    for row in scores.itertuples():
        parts = []
        if not math.isnan(row.parse_rate) and row.parse_rate < WARN_BELOW:
            parts.append(f"parse rate {row.parse_rate:.1%} < 95%")
        if row.failure_rate > 1 - WARN_BELOW:
            parts.append(f"failure rate {row.failure_rate:.1%} > 5%")
        warnings.append("; ".join(parts) or None)
        if parts:
            notes.append(
                f"{row.model} on {row.instrument}: {'; '.join(parts)} (scores count these trials as {'missing' if exclude_unanswered else 'wrong'})"
            )
    scores["warning"] = warnings
    scores = scores[SCORE_COLUMNS]

    # The paper's aggregate.
    with_norm = scores.dropna(subset=["norm_mean"])[["instrument", "norm_mean"]].drop_duplicates("instrument")
    summary = stats.paper_summary(
        scores[["model", "instrument", "accuracy"]],
        with_norm.rename(columns={"norm_mean": "mean"}),
    )
    aggregate = [n for n in all_norms(norm_files) if n.instrument == "all" and n.value("mean") is not None]
    if aggregate:
        agg = aggregate[0]
        summary = pd.concat(
            [
                summary,
                pd.DataFrame(
                    [
                        {
                            "row": "published_human_mean",
                            "name": f"Humans, published aggregate ({agg.source.id if agg.source else '?'})",
                            "n_tests": np.nan,
                            "mean": agg.as_proportion("mean"),
                            "sd": np.nan,
                            "ci_low": np.nan,
                            "ci_high": np.nan,
                            "instruments": "the source's tests",
                        }
                    ]  # fmt: skip
                ),
            ],
            ignore_index=True,
        )
    if with_norm.empty:
        notes.append(
            "summary: no instrument analysed has a human norm mean on file, so the LLM-vs-human comparison has no human row from these tests"
        )

    agreement_rows, bias_rows, corr_rows = [], [], []
    items = scoring.item_scores(trials, exclude_unanswered=exclude_unanswered)
    items["human_p"] = [
        cat[i].item(it).human_p if i in cat and _has_item(cat[i], it) else np.nan
        for i, it in zip(items["instrument"], items["item_id"], strict=True)
    ]
    for (model, inst), g in trials.groupby(["model", "instrument"], sort=True):
        ag = trust.agreement(
            g[["item_id", "repetition"]].assign(choice=g["chosen_option"].where(g["chosen_option"].notna(), None))
        )
        agreement_rows.append(
            {
                "model": model,
                "instrument": inst,
                **{k: ag[k] for k in ("modal_rate", "fleiss_kappa", "n_items", "n_reps", "reason")},
            }
        )
        pb_in = g.assign(n_options=g["shown_order"].map(len))[["chosen_position", "keyed_position", "n_options"]]
        pb = trust.position_bias(pb_in)
        bias_rows.append(
            {
                "model": model,
                "instrument": inst,
                "option_order": g["option_order"].iloc[0],
                **{
                    k: pb[k]
                    for k in (
                        "n",
                        "chi2",
                        "df",
                        "p",
                        "top_position",
                        "top_share",
                        "top_expected_share",
                        "flag",
                        "reason",
                    )
                },
            }  # fmt: skip
        )
        if pb.get("flag"):
            notes.append(
                f"{model} on {inst}: position bias - chose position {_letter(pb['top_position'])} in {pb['top_share']:.0%} of answers "
                f"where the keys predict {pb['top_expected_share']:.0%} (chi-square p {'< .001' if pb['p'] < 0.001 else '= ' + format(pb['p'], '.3f')})"
            )
        mine = items[(items["model"] == model) & (items["instrument"] == inst)].set_index("item_id")
        if mine["human_p"].notna().any():
            ic = trust.item_correlation(mine["accuracy"], mine["human_p"])
            corr_rows.append({"model": model, "instrument": inst, **ic})
    agreement = pd.DataFrame(agreement_rows)
    position_bias = pd.DataFrame(bias_rows)
    item_correlation = pd.DataFrame(corr_rows, columns=["model", "instrument", "rho", "p", "n", "reason"])
    return Analysis(
        scores=scores.reset_index(drop=True),
        summary=summary,
        agreement=agreement,
        position_bias=position_bias,
        items=items,
        item_correlation=item_correlation,
        norms=pd.DataFrame(norm_rows),
        runs=runs if runs is not None else pd.DataFrame(),
        notes=notes,
        settings={"exclude_unanswered": exclude_unanswered, "correction": correction, "n_boot": n_boot, "seed": seed},
    )


def _has_item(inst: Any, item_id: str) -> bool:
    try:
        inst.item(item_id)
    except KeyError:
        return False
    return True


def _letter(position: Any) -> str:
    from eitest.administer.prompts import LETTERS

    try:
        return LETTERS[int(position)]
    except (TypeError, ValueError, IndexError):
        return str(position)
