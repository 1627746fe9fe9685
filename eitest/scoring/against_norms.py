"""The norms step: each score placed on the human scale of its test's norm, as a single case.

One scale per comparison: a norm says which score its figures describe
(:attr:`eitest.instruments.norms.HumanNorm.score_scale`: proportion correct, mean
expert credit or proportion of maximum), and the model's score is put on that scale
before anything is compared. Like with like: a norm describes single sittings, so
the score set against it is the model's first administration (repetition 0), by the
Crawford-Howell (1998) modified t-test (:func:`eitest.stats.single_case`); the mean
over the repetitions is a secondary, labelled row of ``norm_comparison`` (it shrinks
the spread a single sitting has, roughly by the test's reliability). The p values of
the primary rows are corrected across the tests of the analysis.

A norm that cannot be used with the run's instrument (n < 2, a credit scale on a
keyed test, ...) is skipped with a note that says why.

Under the logprobs protocol an administration's score is an expectation over the
model's answer distribution (the mean credit of the answers it would give), not the
answers of one sitting; it is still placed on the norm, since the norm's scale is the
only human reference there is, but its basis says so (:data:`EXPECTED`) and a note says
that it is not like with like.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from eitest.scoring.grouped import Grouped, grouped
from eitest.scoring.scores import logprobs_pairs
from eitest.scoring.selection import RunInstrumentMap
from eitest.vocabulary import Correction

if TYPE_CHECKING:
    from eitest.instruments import Instrument
    from eitest.instruments.norms import HumanNorm

NORM_TEXT_COLUMNS = ["norm_source", "norm_scale", "compared_basis"]
NORM_NUMBER_COLUMNS = [
    "compared_score", "compared_mean", "single_min", "single_max", "norm_mean", "norm_sd", "norm_n", "diff", "z", "T_score",
    "percentile", "percentile_ci_low", "percentile_ci_high", "t", "df", "p", "d", "d_ci_low", "d_ci_high", "g",
    "g_ci_low", "g_ci_high",
]  # fmt: skip
# Our column <- the key of eitest.stats.single_case's result.
SINGLE_CASE = {
    "z": "z", "T_score": "T_score", "percentile": "percentile", "percentile_ci_low": "percentile_ci_low",
    "percentile_ci_high": "percentile_ci_high", "t": "t", "df": "df", "p": "p_two_sided", "d": "z_cc",
    "d_ci_low": "z_cc_ci_low", "d_ci_high": "z_cc_ci_high", "g": "hedges_g", "g_ci_low": "hedges_g_ci_low",
    "g_ci_high": "hedges_g_ci_high",
}  # fmt: skip
COMPARISON_COLUMNS = ["model", "instrument", "basis", "score", "norm_scale", "norm_mean", "norm_sd", "norm_n",
                      *SINGLE_CASE]  # fmt: skip
FIRST = "first administration"
EXPECTED = "expected over the answer distribution (logprobs)"


def find_norms(instrument_ids: Iterable[str], norm_files: Sequence[str | Path] = ()) -> dict[str, HumanNorm | None]:
    """The norm to compare with for each instrument id (a file given first), or None when none is on file."""
    from eitest.instruments.norms import norm_for

    return {i: norm_for(i, extra=[Path(p) for p in norm_files]) for i in sorted(set(instrument_ids))}


def unmatched_norm_notes(instrument_ids: Iterable[str], norm_files: Sequence[str | Path] = ()) -> list[str]:
    """A note for each norm in a given file whose instrument is not in the analysis, with the ids it may mean.

    Ids match exactly, so a typo or another case ("stue", "STEU" for "steu") would
    leave the file unused without a word.
    """
    import difflib

    from eitest.instruments.norms import load_norm_file

    ids = sorted(set(instrument_ids))
    by_lower = {i.lower(): i for i in ids}
    notes = []
    for path in norm_files:
        for norm in load_norm_file(path).norms:
            if norm.instrument in ids:
                continue
            close = difflib.get_close_matches(norm.instrument.lower(), list(by_lower), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(repr(by_lower[c]) for c in close)}?" if close else ""
            notes.append(
                f"norm file {path} is for instrument {norm.instrument!r}, which is not in this analysis "
                f"(instruments: {', '.join(ids)}); check its instrument id{hint}"
            )
    return notes


def usable(norm: HumanNorm, inst: Instrument) -> str | None:
    """Why ``norm`` cannot be compared with scores on ``inst`` (None when it can)."""
    scale = norm.score_scale
    if inst.scoring == "keyed" and scale == "mean_credit":
        return (
            f"the norm from {_source(norm)} is on the expert-weighted scale (mean credit), but the run's "
            f"{inst.id} is keyed; no comparison is made (use a norm of the share correct, or the weighted version)"
        )
    if norm.as_proportion("mean") is None:
        return None  # nothing to compare; norm_notes says what is missing
    n = norm.value("n")
    if n is not None and n < 2:
        return (
            f"the norm from {_source(norm)} has n = {n:g}; a single-case comparison needs a norm sample of at least 2"
        )
    return None


def against_norms(
    scores: pd.DataFrame,
    trials: pd.DataFrame,
    instruments: RunInstrumentMap,
    norms: Mapping[str, HumanNorm | None],
    *,
    correction: str = "holm",
    exclude_unanswered: bool = False,
    by_pair: Grouped | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Add the norm and the single-case statistics to ``scores``; also the long ``norm_comparison`` table.

    Adds ``norm_source``, ``norm_scale`` (the norm's score scale), ``compared_score``
    (the model's first administration on that scale), ``compared_basis``,
    ``compared_mean`` (the mean over its repetitions on that scale), ``single_min,
    single_max`` (the range of its single administrations),
    ``norm_mean, norm_sd, norm_n``, ``diff`` (compared score - norm mean), ``z,
    T_score, percentile, percentile_ci_low, percentile_ci_high, t, df, p``
    (two-sided), ``d, d_ci_low, d_ci_high`` (z_CC), ``g, g_ci_low, g_ci_high`` and
    ``p_adj`` (``correction`` across the rows with a p). A figure the norm lacks
    leaves the statistics that need it NaN. Returns the scores, the comparison
    table (:data:`COMPARISON_COLUMNS`) and notes on the norms that were skipped.
    ``by_pair`` is the trials already grouped (:func:`eitest.scoring.grouped.grouped`,
    with the same ``exclude_unanswered``).
    """
    from eitest.stats import adjust_pvalues

    out = scores.copy()
    for col in NORM_TEXT_COLUMNS:
        out[col] = None
    for col in NORM_NUMBER_COLUMNS:
        out[col] = np.nan
    comparison: list[dict[str, Any]] = []
    notes: list[str] = []
    by_pair = by_pair or grouped(trials, instruments, exclude_unanswered=exclude_unanswered)
    code = {(m, i): n for n, (m, i) in enumerate(zip(by_pair.pairs["model"], by_pair.pairs["instrument"], strict=True))}
    logprobs = logprobs_pairs(trials)
    for idx, row in out.iterrows():
        norm = norms.get(row["instrument"])
        if norm is None:
            continue
        inst = instruments[row["run_id"]][row["instrument"]]
        why = usable(norm, inst)
        if why:
            notes.append(f"{row['model']} on {row['instrument']}: {why}")
            continue
        per_rep = by_pair.rep_scores(code[(row["model"], row["instrument"])], norm.score_scale).dropna()
        expected = (row["model"], row["instrument"]) in logprobs
        values = _compare(norm, per_rep, row, comparison, expected=expected)
        if expected and len(per_rep):
            notes.append(f"{row['model']} on {row['instrument']}: {EXPECTED_NOTE}")
        for col, value in values.items():
            out.at[idx, col] = value
    out["p_adj"] = adjust_pvalues(out["p"].to_numpy(dtype=float), method=correction)
    return out, pd.DataFrame(comparison, columns=COMPARISON_COLUMNS), notes


EXPECTED_NOTE = (
    "the score placed on the human norm is an expected score over the model's answer distribution (logprobs "
    "protocol), the mean credit of the answers it would give, not the answers of one sitting as a human score is; "
    "it is not like with like (an expectation varies less than a sitting does), so read its z, percentile and "
    "Crawford-Howell test as a description, and run a sampled protocol (e.g. standard) for a sitting like a human's"
)


def _compare(
    norm: HumanNorm, per_rep: pd.Series, row: Any, comparison: list[dict[str, Any]], *, expected: bool = False
) -> dict[str, Any]:
    """The columns of one score row against ``norm``; appends its rows of the comparison table.

    ``expected``: the scores are expectations over answer distributions (logprobs), and the bases say so.
    """
    from eitest.stats import single_case

    mean, sd, n = norm.as_proportion("mean"), norm.as_proportion("sd"), norm.value("n")
    first = float(per_rep.iloc[0]) if len(per_rep) else math.nan
    primary = f"{FIRST}, {EXPECTED}" if expected else FIRST
    values: dict[str, Any] = {
        "norm_source": _source(norm),
        "norm_scale": norm.score_scale,
        "compared_score": first,
        "compared_basis": f"{primary} (the first of {len(per_rep)} repetitions)" if len(per_rep) else None,
        "compared_mean": float(per_rep.mean()) if len(per_rep) else math.nan,
        "single_min": float(per_rep.min()) if len(per_rep) else math.nan,
        "single_max": float(per_rep.max()) if len(per_rep) else math.nan,
        "norm_mean": math.nan if mean is None else mean,
        "norm_sd": math.nan if sd is None else sd,
        "norm_n": math.nan if n is None else n,
        "diff": math.nan if mean is None else first - mean,
    }
    if norm.missing() or mean is None or sd is None or n is None or not len(per_rep):
        return values
    bases = [(primary, first)]
    if len(per_rep) > 1:
        bases.append(
            (f"mean of {len(per_rep)} repetitions" + (f", {EXPECTED}" if expected else ""), float(per_rep.mean()))
        )
    for basis, score in bases:
        sc = single_case(score, mean, sd, int(n))
        stats = {ours: sc[theirs] for ours, theirs in SINGLE_CASE.items()}
        comparison.append(
            {"model": row["model"], "instrument": row["instrument"], "basis": basis, "score": score,
             "norm_scale": norm.score_scale, "norm_mean": mean, "norm_sd": sd, "norm_n": n, **stats}
        )  # fmt: skip
        if basis == primary:
            values.update(stats)
    return values


def _source(norm: HumanNorm) -> str:
    return norm.source.id if norm.source else "?"


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
            on_file = [f"{k} = {norm.value(k):g}" for k in ("n", "mean", "sd", "alpha") if norm.value(k) is not None]
            notes.append(
                f"{inst_id}: the norm from {_source(norm)} has no {', '.join(norm.missing())} on file"
                + (f" (on file: {', '.join(on_file)})" if on_file else "")
                + ", so z, percentile, the Crawford-Howell t and d are skipped; supply a mean and SD with "
                "--norms FILE (docs/norm-format.md) or build them from human data with 'eitest norms build'"
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
