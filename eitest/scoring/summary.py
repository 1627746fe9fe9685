"""The summary step: the mean over tests, LLMs beside humans over the same tests (Schlegel et al., 2025).

Each test contributes its score on its comparison scale: the norm's scale where a
usable norm is on file (the mean over the repetitions there), the test's own reported
score otherwise. The LLM and human rows average only the tests that have a human norm
mean, so both cover the same tests. A source's published aggregate over its own tests
(the Bern study's 56 %) belongs beside those tests only: the replication report shows
it, this summary does not.
"""

from __future__ import annotations

import pandas as pd


def comparison_values(scores: pd.DataFrame) -> pd.DataFrame:
    """Per model x test, the value a mean over tests averages, and the human value beside it, both proportions.

    ``value`` is the mean over repetitions on the norm's scale where a usable norm is on
    file (``compared_mean``), else the test's own ``score``; ``human`` is the norm mean
    (NaN without one). A test compared on mean credit, which is not a proportion of 1,
    contributes both as a proportion of the maximum (divided by the items' top credit),
    so that a mean over tests never adds mean credit to shares. Columns: ``model,
    instrument, value, human, scale`` (the scale the values are on).
    """
    compared = scores["compared_mean"].notna()
    value = scores["compared_mean"].where(compared, scores["score"]).astype(float)
    human = scores["norm_mean"].where(compared).astype(float)
    scale = scores["norm_scale"].where(compared, scores["score_scale"]).map(_scale_name)
    credit = (scores["norm_scale"] == "mean_credit") & compared
    # Divided by the maximum, a mean credit is a proportion; the clip removes rounding only (the oracle's
    # 1 + 2e-16), and a norm mean above the items' maximum cannot describe these items, so it is left out.
    value = value.where(~credit, (value / scores["max_credit"]).clip(upper=1.0))
    human = human.where(~credit, human / scores["max_credit"])
    human = human.where(~(human > 1 + 1e-9)).clip(upper=1.0)
    scale = scale.where(~credit, "proportion of maximum (norm on mean credit, divided by the maximum)")
    return pd.DataFrame(
        {"model": scores["model"], "instrument": scores["instrument"], "value": value, "human": human, "scale": scale}
    )


_SCALE_NAMES = {
    "proportion_correct": "proportion correct",
    "mean_credit": "mean credit",
    "proportion_of_max": "proportion of maximum",
}


def _scale_name(scale: object) -> str:
    return _SCALE_NAMES.get(str(scale), str(scale))  # a norm's scale by its file name, a score's by its label


def summary_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Each model's mean over tests, then all LLMs and the humans (:func:`eitest.stats.paper_summary`).

    ``scores`` needs ``model, instrument, score, score_scale, compared_mean, norm_mean,
    norm_scale, max_credit``; each test contributes :func:`comparison_values`.
    """
    from eitest.stats import paper_summary

    values = comparison_values(scores).dropna(subset=["value"])
    per_test = values[["model", "instrument"]].assign(accuracy=values["value"])
    with_norm = values.dropna(subset=["human"])[["instrument", "human"]].drop_duplicates("instrument")
    summary = paper_summary(per_test, with_norm.rename(columns={"human": "mean"}))
    # A t interval over a few tests can pass the ends of a proportion; the scale stops at 0 and 1.
    return summary.assign(ci_low=summary["ci_low"].clip(lower=0.0), ci_high=summary["ci_high"].clip(upper=1.0))


def summary_notes(scores: pd.DataFrame) -> list[str]:
    """What the summary's rows average, and a note when no test has a human norm mean."""
    if scores["norm_mean"].notna().any():
        return [
            "summary: each test counts once, on its norm's scale where a norm is on file (the mean over the "
            "repetitions), else on its own score; the LLM and human rows average the same tests, those with a norm"
        ]
    return [
        "summary: no instrument analysed has a human norm mean on file, so the LLM-vs-human comparison has no human row from these tests"
    ]
