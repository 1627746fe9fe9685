"""The summary tables of an analysis as text, shared by the HTML report and ``eitest analyze``.

Each table says what its numbers are: the score with its scale, the two intervals by
the question each answers, the score placed on the norm (on the norm's scale, from
the first administration) and whether a p value is corrected. A figure that could
not be computed shows a footnote with the reason instead of a degenerate interval.
"""

from __future__ import annotations

import string
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from eitest.outputs.report import formats as fmt
from eitest.outputs.report.formats import MISSING, missing
from eitest.outputs.templating import p_cell
from eitest.stats import apa
from eitest.vocabulary import Correction


@dataclass
class Table:
    """A table as text: column labels, rows of cells, the right-aligned columns and the footnotes."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    numeric: frozenset[str] = frozenset()
    footnotes: list[str] = field(default_factory=list)

    def records(self) -> list[dict[str, str]]:
        """The rows as ``{column label: cell}`` (what ``eitest analyze`` prints)."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class _Footnotes:
    """Footnote marks (a), (b), ... one per distinct text, in order of first use."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def mark(self, text: str) -> str:
        if text not in self.texts:
            self.texts.append(text)
        return f"({self._label(self.texts.index(text))})"

    def lines(self) -> list[str]:
        return [f"({self._label(i)}) {text}" for i, text in enumerate(self.texts)]

    @staticmethod
    def _label(i: int) -> str:
        return string.ascii_lowercase[i] if i < len(string.ascii_lowercase) else str(i + 1)


# Under the logprobs protocol no answer is sampled, so "answered with the keyed option" needs its expectation.
LOGPROBS_SHARE = (
    "Under the logprobs protocol no single answer is drawn: a model's proportion correct is the mean probability "
    "its answer distribution gave the keyed option (the share of items it would answer with the keyed option, "
    "expected), and its intervals are over these expected credits."
)
SCORE_COLUMNS = [
    "Model", "Test", "Score", "Scale", "Mean credit", "This test: 95% CI (run-to-run)",
    "SD over repetitions", "New items like these: 95% CI", "Items x reps", "Parsed",
]  # fmt: skip


def score_table(scores: pd.DataFrame, expected: Collection[tuple[str, str]] = ()) -> Table:
    """Each model's score on each test, on the test's own scale, with both intervals and ``sd_reps``.

    ``expected``: the model x test pairs scored from answer distributions (logprobs protocol), whose
    share correct the notes define as an expectation.
    """
    notes = _Footnotes()
    rows = []
    for r in scores.itertuples():
        scale = r.score_scale
        weighted = not missing(r.max_credit)
        rows.append(
            [
                r.model,
                r.instrument,
                fmt.on_scale(r.score, scale),
                fmt.scale_words(scale),
                f"{apa.proportion(r.weighted_score)} of max {apa.proportion(r.max_credit)}" if weighted else MISSING,
                fmt.interval(r.rep_ci_low, r.rep_ci_high, scale)
                or "none " + notes.mark(r.rep_ci_reason or "no run-to-run interval"),
                _sd_reps(r.sd_reps, r.n_reps, scale),
                _item_interval(r, notes),
                f"{int(r.n_items)} x {int(r.n_reps)}",
                apa.percent(r.parse_rate),
            ]
        )
    return Table(
        "Scores",
        SCORE_COLUMNS,
        rows,
        frozenset(SCORE_COLUMNS[2:3] + SCORE_COLUMNS[4:]),
        [*definitions(scores, expected), *notes.lines()],
    )


def definitions(scores: pd.DataFrame, expected: Collection[tuple[str, str]] = ()) -> list[str]:
    """One line per score shown: what it is, and the two intervals' questions."""
    lines = []
    scales = set(scores["score_scale"].dropna())
    if any(fmt.same_scale(s, "proportion_correct") for s in scales):
        lines.append("Proportion correct: the share of items answered with the keyed option (keyed tests).")
        if any((m, i) in expected for m, i in zip(scores["model"], scores["instrument"], strict=True)):
            lines.append(LOGPROBS_SHARE)
    weighted = scores.dropna(subset=["max_credit"]).drop_duplicates("instrument")
    if len(weighted):
        example = weighted.iloc[0]
        lines.append("Mean credit: the mean expert credit of the chosen options (expert-weighted tests).")
        lines.append(
            "Proportion of maximum: mean credit / the mean top credit of the items, so that always choosing the "
            f"best option scores 100% (the maximum mean credit is {apa.proportion(example.max_credit)} on "
            f"{example.instrument})."
        )
    lines.append(
        "This test: the model's run-to-run uncertainty on these items (t interval over the repetitions, cut at 0 and 1). "
        "New items like these: items resampled, for a test of new items of the same kind."
    )
    return lines


def _sd_reps(sd: Any, n_reps: Any, scale: Any) -> str:
    if missing(sd):
        return MISSING + (" (one repetition)" if not missing(n_reps) and int(n_reps) < 2 else "")
    return fmt.on_scale(sd, scale)


def _item_interval(r: Any, notes: _Footnotes) -> str:
    text = fmt.interval(r.item_ci_low, r.item_ci_high, r.score_scale)
    if text is None:
        return "none " + notes.mark(r.item_ci_reason or "no interval for new items")
    return f"{text} {notes.mark(r.item_ci_method)}" if isinstance(r.item_ci_method, str) else text


NORM_COLUMNS = [
    "Model", "Test", "Norm's scale", "Score compared", "Single administrations", "Human M (SD), n", "Norm",
    "Percentile [95% CI]", "Crawford-Howell (uncorrected p)", "p_adj", "d [95% CI]",
]  # fmt: skip


def norm_table(scores: pd.DataFrame, settings: dict[str, Any]) -> Table | None:
    """The score placed on each test's norm, on the norm's scale (None when no test has a norm on file)."""
    rows_with_norm = scores[scores["norm_source"].notna()]
    if rows_with_norm.empty:
        return None
    notes = _Footnotes()
    columns = [*NORM_COLUMNS[:-2], p_adj_label(scores, settings), NORM_COLUMNS[-1]]
    rows = []
    for r in rows_with_norm.itertuples():
        scale = r.norm_scale
        compared = fmt.on_scale(r.compared_score, scale)
        companion = fmt.credit_companion(r.compared_score, scale, r.max_credit)
        if compared != MISSING:
            compared += (f" ({companion})" if companion else "") + (
                f" {notes.mark(r.compared_basis)}" if isinstance(r.compared_basis, str) else ""
            )
        tested = not missing(r.t)
        rows.append(
            [
                r.model,
                r.instrument,
                fmt.scale_words(scale),
                compared,
                _range(r.single_min, r.single_max, scale, r.n_reps),
                human_norm(r.norm_mean, r.norm_sd, r.norm_n, scale),
                str(r.norm_source),
                fmt.percentile_with_ci(r.percentile, r.percentile_ci_low, r.percentile_ci_high),
                apa.t_test(r.t, r.df, r.p) if tested else MISSING + " " + notes.mark(_untested(r)),
                p_cell(r.p_adj) if tested else MISSING,
                _effect(r.d, r.d_ci_low, r.d_ci_high),
            ]
        )
    return Table(
        "Against the human norms (first administration)",
        columns,
        rows,
        frozenset(columns[3:6] + columns[7:]),
        notes.lines(),
    )


def lacking(r: Any) -> list[str]:
    """The figures a single-case test needs that a scores row's norm does not have."""
    return [name for name, v in (("mean", r.norm_mean), ("SD", r.norm_sd), ("n", r.norm_n)) if missing(v)]


def _untested(r: Any) -> str:
    """Why a row with a norm has no single-case test: the figures the norm lacks."""
    if not lacking(r):
        return "no single-case test: no first administration was scored"
    return f"no single-case test: the norm has no {' or '.join(lacking(r))} on file"


def p_adj_label(scores: pd.DataFrame, settings: dict[str, Any]) -> str:
    """The heading of the corrected p: the correction and the size of its family, or that there was none."""
    k = int(scores["p"].notna().sum())
    if k < 2:
        return "p_adj (one test: not corrected)" if k == 1 else "p_adj"
    return f"p_adj ({Correction(settings.get('correction', 'holm')).label}, {k} tests)"


def human_norm(mean: Any, sd: Any, n: Any, scale: Any) -> str:
    """``60.0% (12.0%), n = 150`` on the norm's scale, with whatever of it is on file."""
    if missing(mean):
        return MISSING
    text = fmt.on_scale(mean, scale)
    if not missing(sd):
        text += f" ({fmt.on_scale(sd, scale)})"
    if not missing(n):
        text += f", n = {int(n)}"
    return text


def _range(low: Any, high: Any, scale: Any, n_reps: Any) -> str:
    if missing(low) or missing(high) or missing(n_reps) or int(n_reps) < 2:
        return MISSING
    return f"{fmt.on_scale(low, scale)} to {fmt.on_scale(high, scale)}"


def _effect(d: Any, low: Any, high: Any) -> str:
    if missing(d):
        return MISSING
    text = f"{float(d):.2f}"
    return text if missing(low) or missing(high) else f"{text} [{float(low):.2f}, {float(high):.2f}]"


COMPARISON_COLUMNS = [
    "Model", "Basis", "Score on the norm's scale", "Human M (SD), n", "z", "Percentile [95% CI]",
    "Crawford-Howell (uncorrected p)", "d [95% CI]",
]  # fmt: skip


def comparison_table(norm_comparison: pd.DataFrame, scores: pd.DataFrame, instrument: str) -> Table | None:
    """One test's norm comparison: the primary row (first administration) and the labelled secondary row."""
    rows = norm_comparison[norm_comparison["instrument"] == instrument]
    if rows.empty:
        return None
    max_credit = scores.loc[scores["instrument"] == instrument, "max_credit"].iloc[0]
    out = []
    for r in rows.itertuples():
        companion = fmt.credit_companion(r.score, r.norm_scale, max_credit)
        out.append(
            [
                r.model,
                basis_label(r.basis),
                fmt.on_scale(r.score, r.norm_scale) + (f" ({companion})" if companion else ""),
                human_norm(r.norm_mean, r.norm_sd, r.norm_n, r.norm_scale),
                MISSING if missing(r.z) else f"{float(r.z):.2f}",
                fmt.percentile_with_ci(r.percentile, r.percentile_ci_low, r.percentile_ci_high),
                apa.t_test(r.t, r.df, r.p) if not missing(r.t) else MISSING,
                _effect(r.d, r.d_ci_low, r.d_ci_high),
            ]
        )
    notes = [
        "Primary: the first administration, as a human sitting is one administration; its p is corrected across the "
        "model x test rows of the table 'Against the human norms'.",
        "Secondary: the mean over the repetitions, for reference. A mean of several sittings varies less than one "
        "sitting does, so it is not on the footing of the single sittings the norm describes; not in the corrected "
        "family.",
    ]
    return Table(
        f"Norm comparison of {instrument} ({fmt.scale_words(rows['norm_scale'].iloc[0])} scale)",
        COMPARISON_COLUMNS,
        out,
        frozenset(COMPARISON_COLUMNS[2:]),
        notes,
    )


def basis_label(basis: Any) -> str:
    """The basis of a comparison row, with its role: primary (first administration) or secondary."""
    text = str(basis)
    return f"{text} (primary)" if text.startswith("first") else f"{text} (secondary)"


def mean_table(summary: pd.DataFrame, scores: pd.DataFrame) -> Table:
    """The mean over tests: each row with its tests and the scale each test contributes (all proportions)."""
    from eitest.scoring.summary import comparison_values

    scales = comparison_values(scores).drop_duplicates("instrument").set_index("instrument")["scale"].to_dict()
    unit = "proportion_correct"  # every test contributes a proportion (comparison_values)
    rows = []
    for r in summary.itertuples():
        tests = [t for t in str(r.instruments).split(",") if t]
        n_tests = MISSING if missing(r.n_tests) else str(int(r.n_tests))
        if not missing(r.ci_low) and not missing(r.n_tests) and int(r.n_tests) >= 3:
            ci = fmt.interval(r.ci_low, r.ci_high, unit) or MISSING
        else:
            ci = MISSING + (" (needs 3+ tests)" if not missing(r.n_tests) else "")
        rows.append(
            [
                str(r.name),
                n_tests,
                fmt.on_scale(r.mean, unit),
                fmt.on_scale(r.sd, unit),
                ci,
                ", ".join(f"{t} ({scales.get(t)})" for t in tests),
            ]
        )
    columns = ["", "Tests", "Mean", "SD", "95% CI", "Tests averaged (the scale each contributes)"]
    return Table("Mean over tests", columns, rows, frozenset(columns[1:5]))


def ranked_table(scores: pd.DataFrame) -> Table | None:
    """With many models (more than :data:`~eitest.outputs.report.plots.MANY_MODELS`): one row per model, best first.

    The rank is by the mean over tests of each test's own score (the order of Figure 1);
    each test's score is beside it. None for fewer models, where the scores table reads well.
    """
    from eitest.outputs.report.plots import MANY_MODELS, model_ranking

    if scores["model"].nunique() <= MANY_MODELS:
        return None
    tests = sorted(scores["instrument"].unique())
    by_pair = scores.set_index(["model", "instrument"])
    means = scores.groupby("model")["score"].mean()
    rows = []
    for rank, model in enumerate(model_ranking(scores), start=1):
        cells = [str(rank), str(model), fmt.on_scale(means[model], "proportion_correct")]
        for test in tests:
            r = by_pair.loc[(model, test)] if (model, test) in by_pair.index else None
            cells.append(MISSING if r is None or missing(r["score"]) else fmt.on_scale(r["score"], r["score_scale"]))
        rows.append(cells)
    columns = ["Rank", "Model", "Mean over tests", *tests]
    note = (
        "Models ranked by the mean over tests of each test's own score (proportion correct, or of the maximum for "
        "expert-weighted tests); the intervals are in the scores table. Close ranks are not reliably different."
    )
    return Table("Models ranked by score", columns, rows, frozenset(columns[2:]), [note])
