"""From stored trials to the tables a psychologist puts in a paper.

``analyze(path)`` reads a store and returns an :class:`Analysis`: DataFrames with
stable, documented columns (below), the instruments each run used, and ``notes``
that say what was skipped and why. Nothing here calls a model.

An analysis is a few DataFrame-in/DataFrame-out steps, each in its own module:

1. :mod:`~eitest.scoring.selection`: the trials to analyse and, from the store, the
   instruments exactly as each run used them (never today's catalogue);
2. :mod:`~eitest.scoring.score_table`: the scores with their intervals;
3. :mod:`~eitest.scoring.against_norms`: the scores on the human scale;
4. :mod:`~eitest.scoring.measurement_checks`: agreement, position bias, items vs ``human_p``;
5. :mod:`~eitest.scoring.summary`: the mean over tests, LLMs beside humans.

:func:`analyze_trials` composes them over trials already in hand, given the
instruments their runs used (``{run_id: Store.run_instruments(run_id)}``).

``scores`` (one row per model x instrument)
    model, instrument, run_id, option_order, scoring (the run's instrument's);
    score (THE test's score, mean over repetitions: the share correct for a keyed
    test; for an expert-weighted test the proportion of the maximum attainable,
    mean credit / max_credit, so the oracle reads 1), score_scale ("proportion
    correct" or "proportion of maximum"), accuracy (share of trials choosing the
    keyed or top-weighted option, the paper's % correct), weighted_score (mean
    expert credit; NaN for keyed tests), max_credit (mean top credit of the items;
    NaN for keyed), sd_reps (SD of the per-repetition score), rep_ci_low,
    rep_ci_high, rep_ci_reason (interval for "this model on this test": from the
    repetitions), item_ci_low, item_ci_high, item_ci_method, item_ci_reason
    (interval for "new items like these": items resampled, or exact
    Clopper-Pearson bounds over items at 0 or 1), wilson_ci_low, wilson_ci_high
    (Wilson over items; keyed tests), n_items, n_reps, n_trials, parse_rate,
    failure_rate, prompt_tokens, completion_tokens, cost, latency_s;
    norm_source, norm_scale (the scale of the norm and so of the comparison:
    proportion_correct, mean_credit or proportion_of_max), compared_score (the
    first administration on the norm's scale), compared_basis, compared_mean (the
    mean over repetitions on it), single_min, single_max (range of the single
    administrations), norm_mean, norm_sd, norm_n, diff (compared_score -
    norm_mean), z, T_score, percentile, percentile_ci_low, percentile_ci_high
    (Crawford & Garthwaite 2002), t, df, p (Crawford & Howell 1998, two-sided),
    p_adj (corrected across the tests of this analysis), d, d_ci_low, d_ci_high
    (z_CC: Cohen's d against the norm SD, Crawford et al. 2010), g, g_ci_low,
    g_ci_high (Hedges' g), warning.
``norm_comparison`` (one row per model x instrument with a usable norm x basis)
    model, instrument, basis ("first administration", the row in ``scores``; or
    "mean of R repetitions", secondary: the mean's spread is narrower than a
    single sitting's), score, norm_scale, norm_mean, norm_sd, norm_n, z, T_score,
    percentile, percentile_ci_low, percentile_ci_high, t, df, p, d, d_ci_low,
    d_ci_high, g, g_ci_low, g_ci_high.
``summary``
    The mean over tests (:func:`eitest.stats.paper_summary`): row, name,
    n_tests, mean, sd, ci_low, ci_high, instruments; each test on its
    comparison scale (:mod:`~eitest.scoring.summary`).
``agreement``
    model, instrument, modal_rate, fleiss_kappa, n_items, n_items_left_out,
    n_failed, n_reps, reason (failed calls are not counted as agreement).
``position_bias``
    model, instrument, option_order, n, chi2, df, p (randomization test of
    "choice depends on content, not position"), p_asymptotic, n_perm,
    top_position, top_share, top_expected_share, flag, method, reason (why no
    test was run: the original order confounds position and content).
``items``
    model, instrument, item_id, accuracy, n_reps, human_p (the run's item's; NaN
    when it has none).
``item_correlation``
    model, instrument, rho, p, n, reason.
``norms``
    The norms used, one row each (:meth:`eitest.instruments.norms.HumanNorm.row`).
``runs``
    Every run in the store (:class:`eitest.store.RunRecord` fields).
``irt``, ``irt_administrations``
    Ability theta on the human IRT scale, per model x instrument and per
    administration, where the run's items carry IRT parameters (empty otherwise):
    the columns are in :mod:`~eitest.scoring.irt_ability`.
``completeness``
    Each analysed run's planned trials against those it holds, one row per run x
    model x instrument (:mod:`~eitest.scoring.completeness`): an interrupted,
    stopped or still running run is analysed over the trials it has, and ``notes``
    say what is missing.
``distributions``, ``distribution_summary``, ``distribution_agreement``
    What the ``logprobs`` protocol's answer distributions give, per item, per test, and
    against the same model's sampled answers (:mod:`~eitest.scoring.distributions`);
    empty when no run used that protocol. ``to_dict`` gives them as ``distributions``
    (per model x instrument, its summary with its items) and ``distribution_agreement``.

``memorisation`` (a list, not a table; only from :func:`analyze`, which reads the store)
    One finding per model x instrument probed with ``eitest probe memorisation``
    (:func:`eitest.probes.findings.memorisation_finding`): model, instrument, run_id,
    n_items, n_flagged, share_flagged, n_controls, controls_from, control_max, margin, baseline_bound,
    false_flag_rate_if_exchangeable, baseline_assumption, statistic, items (per item its similarities and flag), flagged
    (per flagged item the evidence: the text shown, the true rest, the model's reply).
    Probe runs never enter the tables above.

Besides the tables, ``instruments`` ({run id: {instrument id: Instrument}}, or
``Analysis.instrument(id, run_id)``) holds the instruments the analysis used, as
stored with each run: names, scoring, keys, weights and ``human_p`` come from
there, and ``trials`` the trials analysed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eitest.scoring import against_norms as norms_step
from eitest.scoring import completeness as completeness_step
from eitest.scoring import distributions as distributions_step
from eitest.scoring import irt_ability as irt_step
from eitest.scoring import measurement_checks as checks
from eitest.scoring import score_table as scores_step
from eitest.scoring import summary as summary_step
from eitest.scoring.grouped import grouped
from eitest.scoring.selection import (
    AnalysisError,
    OnlyProbes,
    RunInstrumentMap,
    check_instruments,
    read_store,
    select_trials,
)
from eitest.vocabulary import ProtocolName

if TYPE_CHECKING:
    from eitest.instruments import Instrument

__all__ = [
    "SCORE_COLUMNS",
    "Analysis",
    "AnalysisError",
    "AnalysisOptions",
    "analyze",
    "analyze_trials",
    "select_trials",
]

SCORE_COLUMNS = [
    "model", "instrument", "run_id", "option_order", "scoring", "score", "score_scale", "accuracy",
    "weighted_score", "max_credit", "sd_reps", *scores_step.INTERVAL_COLUMNS, "n_items", "n_reps", "n_trials",
    "parse_rate", "failure_rate", "prompt_tokens", "completion_tokens", "cost", "latency_s",
    *norms_step.NORM_TEXT_COLUMNS[:2], "compared_score", "compared_basis", *norms_step.NORM_NUMBER_COLUMNS[1:],
    "p_adj", "warning",
]  # fmt: skip


@dataclass(frozen=True)
class AnalysisOptions:
    """How to analyse: the norm files to prefer, unanswered trials, the correction, the bootstrap."""

    norm_files: tuple[str | Path, ...] = ()
    exclude_unanswered: bool = False
    correction: str = "holm"
    n_boot: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        from eitest.vocabulary import Correction, choose

        try:
            choose(Correction, self.correction, "correction")
        except ValueError as exc:
            raise AnalysisError(str(exc)) from None

    def settings(self) -> dict[str, Any]:
        return {
            "exclude_unanswered": self.exclude_unanswered,
            "correction": self.correction,
            "n_boot": self.n_boot,
            "seed": self.seed,
        }


@dataclass
class Analysis:
    scores: pd.DataFrame
    norm_comparison: pd.DataFrame
    summary: pd.DataFrame
    agreement: pd.DataFrame
    position_bias: pd.DataFrame
    items: pd.DataFrame
    item_correlation: pd.DataFrame
    norms: pd.DataFrame
    runs: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    # run id -> instrument id -> the instrument as that run used it (from the store)
    instruments: dict[str, dict[str, Instrument]] = field(default_factory=dict)
    trials: pd.DataFrame = field(default_factory=pd.DataFrame)  # the trials analysed
    completeness: pd.DataFrame = field(default_factory=pd.DataFrame)  # planned vs stored trials, per run
    # The memorisation probe's findings, one per model x instrument probed (eitest.scoring.memorisation).
    memorisation: list[dict[str, Any]] = field(default_factory=list)
    irt: pd.DataFrame = field(default_factory=pd.DataFrame)  # theta per model x instrument (irt_ability)
    irt_administrations: pd.DataFrame = field(default_factory=pd.DataFrame)  # theta per repetition
    # the logprobs protocol's answer distributions (eitest.scoring.distributions); empty without such a run
    distributions: pd.DataFrame = field(default_factory=pd.DataFrame)
    distribution_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    distribution_agreement: pd.DataFrame = field(default_factory=pd.DataFrame)

    TABLES = (
        "scores", "norm_comparison", "summary", "agreement", "position_bias", "item_correlation", "norms",
        "completeness", "irt", "irt_administrations",
    )  # fmt: skip

    @property
    def complete(self) -> bool:
        """True when every analysed run holds every trial it planned, none of them failed."""
        return bool(self.completeness.empty or self.completeness["complete"].all())

    def instrument(self, instrument_id: str, run_id: str | None = None) -> Instrument:
        """The instrument ``instrument_id`` as run ``run_id`` used it; without a run, as the first score row's run did."""
        if run_id is None:
            rows = self.scores.loc[self.scores["instrument"] == instrument_id, "run_id"]
            run_id = next((r for r in [*rows, *self.instruments] if instrument_id in self.instruments.get(r, {})), "")
        used = self.instruments.get(run_id, {})
        if instrument_id not in used:
            raise KeyError(f"{instrument_id} is not among the instruments of this analysis")
        return used[instrument_id]

    def to_dict(self) -> dict[str, Any]:
        """Every table as JSON-ready records (NaN -> None), with notes and settings."""
        out: dict[str, Any] = {name: _records(getattr(self, name)) for name in self.TABLES}
        out["distributions"] = distributions_step.distribution_records(self.distributions, self.distribution_summary)
        out["distribution_agreement"] = _records(self.distribution_agreement)
        out["notes"] = self.notes
        out["memorisation"] = self.memorisation
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
    """Analyse the store at ``path``; see the module docstring for the tables and columns.

    Each run is analysed with the instruments it used, as stored with it. A run whose
    items are not known is left out with a note, or refused when picked with ``run``.
    """
    options = AnalysisOptions(tuple(norms or ()), exclude_unanswered, correction, n_boot, seed)
    from eitest.scoring.memorisation import memorisation_findings

    try:
        data = read_store(path, run)
    except OnlyProbes as exc:
        return _probes_only(memorisation_findings(path, run), str(exc), options)
    result = analyze_trials(data.trials, data.instruments, options, runs=data.runs, notes=data.notes)
    result.memorisation = memorisation_findings(path, run)
    if ProtocolName.LOGPROBS.value in data.protocols:
        result.distribution_agreement = distributions_step.agreement_from_store(path, result.scores)
    else:  # no pair has a distribution to agree with: the store is not read again
        result.distribution_agreement = pd.DataFrame([], columns=distributions_step.AGREEMENT_COLUMNS)
    return result


def _probes_only(memorisation: list[dict[str, Any]], note: str, options: AnalysisOptions) -> Analysis:
    """An analysis of probe runs alone: every table empty, the probes' findings, and the note that says why."""
    empty = pd.DataFrame
    return Analysis(
        scores=empty(columns=SCORE_COLUMNS),
        norm_comparison=empty(),
        summary=empty(),
        agreement=empty(),
        position_bias=empty(),
        items=empty(),
        item_correlation=empty(),
        norms=empty(),
        runs=empty(),
        notes=[note],
        settings=options.settings(),
        memorisation=memorisation,
    )


def analyze_trials(
    trials: pd.DataFrame,
    instruments: RunInstrumentMap,
    options: AnalysisOptions | None = None,
    *,
    runs: pd.DataFrame | None = None,
    notes: list[str] | tuple[str, ...] = (),
) -> Analysis:
    """The steps of :func:`analyze`, on trials in hand (one run per model x instrument).

    ``instruments`` maps each run id of ``trials`` to the instruments it used, by id:
    ``{run_id: store.run_instruments(run_id)}``. Every weighted or keyed decision,
    ``human_p`` and name comes from there.
    """
    options = options or AnalysisOptions()
    notes = [*notes, *check_instruments(trials, instruments)]
    completeness = completeness_step.completeness_table(trials, runs, instruments)
    notes += completeness_step.completeness_notes(completeness, exclude_unanswered=options.exclude_unanswered)
    # the trials grouped once by model x instrument, for the scores, the norms and the items
    by_pair = grouped(trials, instruments, exclude_unanswered=options.exclude_unanswered)
    scores = scores_step.score_table(
        trials,
        instruments,
        exclude_unanswered=options.exclude_unanswered,
        n_boot=options.n_boot,
        seed=options.seed,
        by_pair=by_pair,
    )
    norms = norms_step.find_norms(scores["instrument"], options.norm_files)
    scores, comparison, skipped = norms_step.against_norms(
        scores,
        trials,
        instruments,
        norms,
        correction=options.correction,
        exclude_unanswered=options.exclude_unanswered,
        by_pair=by_pair,
    )
    notes += norms_step.unmatched_norm_notes(scores["instrument"], options.norm_files)
    notes += skipped + norms_step.norm_notes(scores, norms, correction=options.correction)
    scores = scores_step.with_warnings(scores)[SCORE_COLUMNS]
    notes += scores_step.warning_notes(scores, exclude_unanswered=options.exclude_unanswered)
    summary = summary_step.summary_table(scores)
    notes += summary_step.summary_notes(scores)
    items = checks.item_table(trials, instruments, exclude_unanswered=options.exclude_unanswered, by_pair=by_pair)
    position_bias = checks.position_bias_table(trials, seed=options.seed)
    distributions = distributions_step.distribution_items(trials, instruments)
    distribution_summary = distributions_step.distribution_summary(
        distributions, trials, instruments, n_boot=options.n_boot, seed=options.seed
    )
    notes += checks.position_bias_notes(position_bias)
    irt, irt_administrations = irt_step.irt_tables(trials, instruments, exclude_unanswered=options.exclude_unanswered)
    notes += irt_step.irt_notes(irt)
    return Analysis(
        scores=scores,
        norm_comparison=comparison,
        summary=summary,
        agreement=checks.agreement_table(trials),
        position_bias=position_bias,
        items=items,
        item_correlation=checks.item_correlation_table(items),
        norms=norms_step.norm_table(norms),
        runs=runs if runs is not None else pd.DataFrame(),
        notes=notes,
        settings=options.settings(),
        instruments={r: dict(instruments[r]) for r in trials["run_id"].unique()},
        trials=trials,
        completeness=completeness,
        irt=irt,
        irt_administrations=irt_administrations,
        distributions=distributions,
        distribution_summary=distribution_summary,
    )
