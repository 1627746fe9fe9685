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


def summary_table(scores: pd.DataFrame) -> pd.DataFrame:
    """Each model's mean over tests, then all LLMs and the humans (:func:`eitest.stats.paper_summary`).

    ``scores`` needs ``model, instrument, score, compared_mean, norm_mean``.
    """
    from eitest.stats import paper_summary

    value = scores["compared_mean"].where(scores["compared_mean"].notna(), scores["score"])
    per_test = scores[["model", "instrument"]].assign(accuracy=value).dropna(subset=["accuracy"])
    compared = scores.dropna(subset=["norm_mean", "compared_mean"])
    with_norm = compared[["instrument", "norm_mean"]].drop_duplicates("instrument")
    return paper_summary(per_test, with_norm.rename(columns={"norm_mean": "mean"}))


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
