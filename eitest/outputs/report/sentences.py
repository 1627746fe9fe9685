"""The report's results sentences, in APA style: each names the score it reports and the basis of a comparison."""

from __future__ import annotations

from typing import Any

import pandas as pd

from eitest.outputs.report import formats as fmt
from eitest.outputs.report.formats import missing
from eitest.outputs.report.tables import lacking
from eitest.stats import apa
from eitest.vocabulary import Correction

HOW_TO_SUPPLY = (
    "To supply a mean and SD, pass --norms FILE (format: docs/norm-format.md) or build a norm from your own "
    "human data with 'eitest norms build'."
)


def sentences(analysis: Any) -> list[str]:
    """Per test: one sentence per model (its score, intervals, and the norm comparison), then what is on file."""
    from eitest.outputs.report.plots import MANY_MODELS

    out = []
    scores = analysis.scores
    many = scores["model"].nunique() > MANY_MODELS
    for inst_id, rows in scores.groupby("instrument", sort=True):
        if many:  # fifty sentences per test say less than the ranked table: one sentence on the range
            out.append(range_sentence(str(inst_id), rows))
        for r in [] if many else rows.itertuples():
            text = score_sentence(r)
            if not missing(r.norm_mean):
                text += " " + norm_sentence(r, scores, analysis.settings)
            out.append(text)
        if missing(rows["norm_mean"].iloc[0]):
            out.append(no_norm_sentence(str(inst_id), analysis.norms))
    return out


def range_sentence(instrument: str, rows: pd.DataFrame) -> str:
    """The spread of many models' scores on one test: the lowest, the median and the highest."""
    scored = rows.dropna(subset=["score"]).sort_values(["score", "model"])
    if scored.empty:
        return f"No model has a score on {instrument}."
    lo = scored.iloc[0]
    hi = scored.sort_values(["score", "model"], ascending=[False, True]).iloc[0]  # ties named as the ranking does
    scale = str(lo["score_scale"])
    return (
        f"On {instrument} ({scale}, mean over repetitions), the {len(scored)} models scored from "
        f"{fmt.on_scale(lo['score'], scale)} ({lo['model']}) to {fmt.on_scale(hi['score'], scale)} ({hi['model']}), "
        f"median {fmt.on_scale(float(scored['score'].median()), scale)}; the ranked table and the scores table give "
        "each model's score and intervals."
    )


def score_sentence(r: Any) -> str:
    """The model's score on the test's own scale, named, with the two labelled intervals."""
    reps = fmt.reps_words(r.n_reps)
    if missing(r.max_credit):
        first = (
            f"{r.model} scored {apa.percent(r.score)} correct on {r.instrument} (proportion correct, mean over {reps})."
        )
    else:
        first = (
            f"{r.model} scored {apa.percent(r.score)} of the maximum attainable on {r.instrument} (proportion of "
            f"maximum, mean over {reps}: a mean expert credit of {apa.proportion(r.weighted_score)}, where the best "
            f"option on every item gives {apa.proportion(r.max_credit)}; it chose the top-weighted option on "
            f"{apa.percent(r.accuracy)} of trials)."
        )
    this_test = fmt.interval(r.rep_ci_low, r.rep_ci_high, r.score_scale)
    if this_test:
        first += f" 95% CI for {fmt.THIS_TEST} (run-to-run): {this_test}"
    else:
        first += f" No interval for {fmt.THIS_TEST}: {r.rep_ci_reason or 'not computed'}"
    if not missing(r.sd_reps):
        first += f"; SD over repetitions {fmt.on_scale(r.sd_reps, r.score_scale)}"
    new_items = fmt.interval(r.item_ci_low, r.item_ci_high, r.score_scale)
    if new_items:
        first += f". 95% CI for {fmt.NEW_ITEMS}: {new_items} ({r.item_ci_method})."
    else:
        first += f". No interval for {fmt.NEW_ITEMS}: {r.item_ci_reason or 'not computed'}."
    return first


def norm_sentence(r: Any, scores: pd.DataFrame, settings: dict[str, Any]) -> str:
    """The comparison with the norm: on the norm's scale, from the first administration, said so."""
    scale = r.norm_scale
    compared = fmt.on_scale(r.compared_score, scale)
    companion = fmt.credit_companion(r.compared_score, scale, r.max_credit)
    basis = r.compared_basis if isinstance(r.compared_basis, str) else "first administration"
    norm = f"M = {fmt.on_scale(r.norm_mean, scale)}"
    text = (
        f"Against the human norm ({r.norm_source}; {fmt.scale_words(scale)} scale: {norm}"
        + (f", SD = {fmt.on_scale(r.norm_sd, scale)}" if not missing(r.norm_sd) else "")
        + (f", n = {int(r.norm_n)}" if not missing(r.norm_n) else "")
        + f"), its {basis} scored {compared}"
        + (f" ({companion})" if companion else "")
    )
    if missing(r.t):
        absent = " or ".join(lacking(r)) or "scored first administration"
        return text + f". With no {absent} on file, no single-case test was run. " + HOW_TO_SUPPLY
    if int(r.n_reps) > 1:
        text += f"; the mean over {fmt.reps_words(r.n_reps)} is compared in the table below, labelled"
    corrected = ""
    if int(scores["p"].notna().sum()) > 1:
        label = Correction(settings.get("correction", "holm")).label
        corrected = f"; {label}-corrected across the tests, {apa.p_value(r.p_adj)}"
    return (
        text + f". The Crawford-Howell test of that administration gave {apa.t_test(r.t, r.df, r.p)} "
        f"(uncorrected{corrected}), {apa.effect(r.d, r.d_ci_low, r.d_ci_high, name='d')}; an estimated "
        f"{fmt.percentile(r.percentile)}% of the population would score lower (95% CI "
        f"[{fmt.percentile(r.percentile_ci_low)}, {fmt.percentile(r.percentile_ci_high)}])."
    )


def no_norm_sentence(instrument: str, norms: pd.DataFrame) -> str:
    """What is on file for a test without a usable norm mean, and how to supply one."""
    on_file = norms[norms["instrument"] == instrument] if "instrument" in norms.columns else norms
    if on_file.empty:
        return (
            f"No human norm is on file for {instrument}, so the models could not be placed on the human scale. "
            + HOW_TO_SUPPLY
        )
    n = on_file.iloc[0]
    figures = []
    if not missing(n.get("n")):
        figures.append(f"N = {int(n['n'])}")
    if not missing(n.get("alpha")):
        figures.append(f"alpha = {apa.proportion(n['alpha'])}")
    if not missing(n.get("mean")):
        return (
            f"The norm for {instrument} on file ({n.get('source')}) could not be used here; the Notes say why. "
            + HOW_TO_SUPPLY
        )
    has = f"gives {' and '.join(figures)} but" if figures else "has"
    return (
        f"No human norm mean and SD are on file for {instrument}: the norm source {n.get('source')} {has} no mean "
        "or SD, so the models could not be placed on the human scale. " + HOW_TO_SUPPLY
    )


def position_bias_text(pb: Any) -> str:
    """One model's position-bias check: not run and why, or the randomization p and what it found."""
    if pb is None:
        return fmt.MISSING
    if isinstance(pb.get("reason"), str) and pb["reason"]:
        return f"not run: {pb['reason']}"
    p = apa.p_value(pb["p"])
    if pb.get("flag"):
        from eitest.administer.prompts import LETTERS

        top = pb.get("top_position")
        letter = LETTERS[int(top)] if not missing(top) and int(top) < len(LETTERS) else "?"
        return (
            f"flagged: position {letter} chosen in {apa.percent(pb['top_share'], 0)} of answers, where position-blind "
            f"choice gives {apa.percent(pb['top_expected_share'], 0)}; randomization {p}"
        )
    return f"not flagged (randomization {p})"
