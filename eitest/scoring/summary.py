"""The summary step: the paper's aggregate over tests, LLMs beside humans (Schlegel et al., 2025)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd


def summary_table(scores: pd.DataFrame, norm_files: Sequence[str | Path] = ()) -> pd.DataFrame:
    """Each model's mean over tests, all LLMs and the humans (:func:`eitest.stats.paper_summary`).

    ``scores`` needs ``model, instrument, accuracy, norm_mean``. When a norm file on
    file (or given) publishes an aggregate human mean (``instrument: all``), it is added
    as row ``published_human_mean``.
    """
    from eitest.instruments.norms import all_norms
    from eitest.stats import paper_summary

    with_norm = scores.dropna(subset=["norm_mean"])[["instrument", "norm_mean"]].drop_duplicates("instrument")
    summary = paper_summary(
        scores[["model", "instrument", "accuracy"]], with_norm.rename(columns={"norm_mean": "mean"})
    )
    aggregate = [n for n in all_norms(list(norm_files)) if n.instrument == "all" and n.value("mean") is not None]
    if not aggregate:
        return summary
    agg = aggregate[0]
    published = {
        "row": "published_human_mean",
        "name": f"Humans, published aggregate ({agg.source.id if agg.source else '?'})",
        "n_tests": np.nan,
        "mean": agg.as_proportion("mean"),
        "sd": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "instruments": "the source's tests",
    }
    return pd.concat([summary, pd.DataFrame([published])], ignore_index=True)


def summary_notes(scores: pd.DataFrame) -> list[str]:
    """A note when no test analysed has a human norm mean, so the summary has no human row from them."""
    if scores["norm_mean"].notna().any():
        return []
    return [
        "summary: no instrument analysed has a human norm mean on file, so the LLM-vs-human comparison has no human row from these tests"
    ]
