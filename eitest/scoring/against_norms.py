"""The norms step: each score placed on the human scale of its test's norm, as a single case.

A human norm describes single sittings, so each model's score is compared with
it by the Crawford-Howell (1998) modified t-test (:func:`eitest.stats.single_case`),
and the p values are corrected across the tests of the analysis.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from eitest.vocabulary import Correction

if TYPE_CHECKING:
    from eitest.instruments.norms import HumanNorm

NORM_TEXT_COLUMNS = ["norm_source", "norm_scoring"]
NORM_NUMBER_COLUMNS = [
    "norm_mean", "norm_sd", "norm_n", "diff", "z", "T_score", "percentile", "percentile_ci_low",
    "percentile_ci_high", "t", "df", "p", "d", "d_ci_low", "d_ci_high", "g", "g_ci_low", "g_ci_high",
]  # fmt: skip
# Our column <- the key of eitest.stats.single_case's result.
SINGLE_CASE = {
    "z": "z", "T_score": "T_score", "percentile": "percentile", "percentile_ci_low": "percentile_ci_low",
    "percentile_ci_high": "percentile_ci_high", "t": "t", "df": "df", "p": "p_two_sided", "d": "z_cc",
    "d_ci_low": "z_cc_ci_low", "d_ci_high": "z_cc_ci_high", "g": "hedges_g", "g_ci_low": "hedges_g_ci_low",
    "g_ci_high": "hedges_g_ci_high",
}  # fmt: skip


def find_norms(instrument_ids: Iterable[str], norm_files: Sequence[str | Path] = ()) -> dict[str, HumanNorm | None]:
    """The norm to compare with for each instrument id (a file given first), or None when none is on file."""
    from eitest.instruments.norms import norm_for

    return {i: norm_for(i, extra=[Path(p) for p in norm_files]) for i in sorted(set(instrument_ids))}


def against_norms(
    scores: pd.DataFrame, norms: Mapping[str, HumanNorm | None], *, correction: str = "holm"
) -> pd.DataFrame:
    """Add the norm and the single-case statistics to ``scores`` (one row per model x instrument).

    Adds ``norm_source, norm_scoring`` (which score the norm is on: keyed -> ``accuracy``,
    weighted -> ``weighted_score``), ``norm_mean, norm_sd, norm_n`` (proportion scale),
    ``diff`` (score - norm mean), ``z, T_score, percentile, percentile_ci_low,
    percentile_ci_high, t, df, p`` (two-sided), ``d, d_ci_low, d_ci_high`` (z_CC),
    ``g, g_ci_low, g_ci_high`` and ``p_adj`` (``correction`` across the rows with a p).
    A figure the norm lacks leaves the statistics that need it NaN.
    """
    from eitest.stats import adjust_pvalues, single_case

    out = scores.copy()
    for col in NORM_TEXT_COLUMNS:
        out[col] = None
    for col in NORM_NUMBER_COLUMNS:
        out[col] = np.nan
    for inst_id in sorted(out["instrument"].unique()):
        norm = norms.get(inst_id)
        if norm is None:
            continue
        mean, sd, n = norm.as_proportion("mean"), norm.as_proportion("sd"), norm.value("n")
        rows = out["instrument"] == inst_id
        compared = "weighted_score" if norm.scoring == "weighted" else "accuracy"
        out.loc[rows, "norm_scoring"] = norm.scoring
        out.loc[rows, "norm_source"] = norm.source.id if norm.source else None
        out.loc[rows, "norm_mean"] = mean if mean is not None else np.nan
        out.loc[rows, "norm_sd"] = sd if sd is not None else np.nan
        out.loc[rows, "norm_n"] = n if n is not None else np.nan
        if mean is not None:
            out.loc[rows, "diff"] = out.loc[rows, compared] - mean
        if norm.missing() or mean is None or sd is None or n is None:
            continue
        for idx in out.index[rows]:
            sc = single_case(float(out.at[idx, compared]), mean, sd, int(n))
            for ours, theirs in SINGLE_CASE.items():
                out.at[idx, ours] = sc[theirs]
    out["p_adj"] = adjust_pvalues(out["p"].to_numpy(dtype=float), method=correction)
    return out


def norm_table(norms: Mapping[str, HumanNorm | None]) -> pd.DataFrame:
    """The norms used, one row each (:meth:`HumanNorm.row`)."""
    return pd.DataFrame([n.row() for n in norms.values() if n is not None])


def norm_notes(scores: pd.DataFrame, norms: Mapping[str, HumanNorm | None], *, correction: str = "holm") -> list[str]:
    """What the norms step skipped and why, test by test, and the correction it applied."""
    notes = []
    for inst_id in sorted(scores["instrument"].unique()):
        norm = norms.get(inst_id)
        if norm is None:
            notes.append(
                f"{inst_id}: no human norm on file, so the single-case statistics (z, percentile, t, d) are skipped; "
                "pass --norms FILE (format: docs/norm-format.md) or build one from human data with 'eitest norms build'"
            )
        elif norm.missing():
            notes.append(
                f"{inst_id}: the norm from {norm.source.id if norm.source else '?'} has no {', '.join(norm.missing())} on file, "
                "so z, percentile, the Crawford-Howell t and d are skipped"
                + (
                    "; only the difference from the norm mean is shown"
                    if norm.as_proportion("mean") is not None
                    else ""
                )
            )
    tested = int(scores["p"].notna().sum())
    if tested > 1:
        notes.append(f"p_adj: {Correction(correction).label} correction across {tested} single-case tests")
    return notes
