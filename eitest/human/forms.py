"""Original vs generated form, taken by the same participants (Study 2 of Schlegel et al., 2025).

Input: one response file in which each participant answered both forms (an
optional ``participant`` column, the item columns of both instruments, and
optional numeric columns of external measures such as a vocabulary test).
Each form is scored per participant as a proportion (mean credit over its
items, :mod:`eitest.human.norm_building`), and the forms are compared on:

- difficulty: d_z of the paired difference, with the TOST equivalence test at
  bounds of +-``bound`` d (:func:`eitest.stats.tost_paired`) and the
  ordinary paired t-test;
- the correlation between the forms (Pearson r, Fisher-z interval);
- reliability: alpha (KR-20 for 0/1 items) of each form with Feldt's interval,
  and Feldt's (1980) test of their difference for one sample
  (:func:`eitest.stats.feldt_dependent`);
- validity: each form's correlation with each external measure, and Williams'
  test of the difference of the two dependent correlations (:func:`williams_test`).

The p values of the comparisons (TOST, Feldt, Williams) form one family and are
adjusted by Holm or Benjamini-Hochberg (:func:`eitest.stats.adjust_pvalues`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eitest.errors import EitestError
from eitest.human.forms_table import TABLE_COLUMNS as TABLE_COLUMNS  # the table's columns, named here too
from eitest.human.forms_table import family_table
from eitest.human.norm_building import reliability
from eitest.human.response_files import (
    MISSING_POLICIES,
    ResponseError,
    ScoredResponses,
    check_columns,
    participant_ids,
    read_responses,
    score_responses,
)
from eitest.instruments import Instrument, Problem
from eitest.stats.correlation import pearson_ci, williams_test
from eitest.vocabulary import Correction, choose

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MIN_PARTICIPANTS = 4  # the Fisher-z interval of the forms' r has SE 1 / sqrt(n - 3), so n must exceed 3
MIN_EXTERNAL = 5  # fewer values of an external measure, and its correlations are left out (with a note)


class FormsError(EitestError):
    """Two forms that cannot be compared with the data given."""


@dataclass(frozen=True)
class FormsOptions:
    """How two forms are compared; ``eitest compare-forms`` has one option for each field."""

    bound: float = 0.25  # equivalence bound of the difficulty TOST, in d_z units (Schlegel et al., 2025)
    alpha: float = 0.05  # level of each test of the family, after correction
    correction: str = Correction.HOLM  # a Correction (a plain string is turned into one)
    missing: str = "wrong"  # an unanswered item: "wrong" scores it 0, "drop" leaves the participant out
    ci: float = 0.95  # level of the intervals of the correlations and the alphas
    external: tuple[str, ...] = ()  # columns of external measures (numeric) to correlate with each form
    ignore: tuple[str, ...] = ()  # other columns of the response file to skip

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "correction", choose(Correction, self.correction, "correction"))
        except ValueError as exc:
            raise FormsError(str(exc)) from None
        object.__setattr__(self, "external", tuple(self.external))
        object.__setattr__(self, "ignore", tuple(self.ignore))
        if self.missing not in MISSING_POLICIES:
            raise FormsError(f"unknown missing policy {self.missing!r}; use one of {', '.join(MISSING_POLICIES)}")
        if not self.bound > 0:
            raise FormsError(f"the equivalence bound must be above 0 (in d_z units), got {self.bound}")
        if not 0 < self.alpha < 0.5:
            raise FormsError(f"alpha must lie between 0 and 0.5, got {self.alpha}")
        if not 0 < self.ci < 1:
            raise FormsError(f"the interval level must lie between 0 and 1 (e.g. 0.95), got {self.ci}")


@dataclass
class FormsComparison:
    """Everything ``eitest compare-forms`` reports; ``table`` is the tidy summary (:data:`TABLE_COLUMNS`)."""

    original: str
    generated: str
    n: int
    bound: float
    alpha: float
    correction: str
    scores: pd.DataFrame  # participant, original, generated, then the external columns
    difficulty: dict[str, Any]
    correlation: dict[str, Any]
    reliability: dict[str, Any]
    external: list[dict[str, Any]]
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        import json

        return {
            "original": self.original,
            "generated": self.generated,
            "n": self.n,
            "bound_d": self.bound,
            "alpha": self.alpha,
            "correction": self.correction,
            "difficulty": self.difficulty,
            "correlation": self.correlation,
            "reliability": self.reliability,
            "external": self.external,
            "table": json.loads(self.table.to_json(orient="records")),
            "notes": list(self.notes),
        }


def compare_forms(
    original: Instrument,
    generated: Instrument,
    responses: str | Path | list[str | Path] | pd.DataFrame,
    options: FormsOptions | None = None,
    **fields: Any,
) -> FormsComparison:
    """Compare an original and a generated form taken by the same participants (see the module docstring).

    ``responses`` is a response file (or files), or a table from
    :func:`eitest.human.response_files.read_responses`. Any other column is an error
    (a typo should not pass silently) unless it is named in ``ignore``. ``fields`` are
    fields of :class:`FormsOptions` (``external=["vocab"]``), over ``options`` when both
    are given.
    """
    opts = replace(options or FormsOptions(), **fields)
    table, externals = read_paired_responses(original, generated, responses, opts)
    paired = score_forms(table, externals, original, generated, opts.missing)
    x, y = paired.x, paired.y
    difficulty = compare_difficulty(x, y, opts)
    correlation = correlate_forms(x, y, opts.ci)
    reliab = compare_reliability(paired, correlation["r"], opts.ci)
    external = external_validity(paired.scores, opts.external, opts.ci)
    table_df = family_table(difficulty, correlation, reliab, external, opts)
    difficulty["equivalent_adjusted"] = bool(table_df.loc[table_df["comparison"] == "difficulty", "reject_h0"].iloc[0])
    return FormsComparison(
        original=original.id,
        generated=generated.id,
        n=paired.n,
        bound=opts.bound,
        alpha=opts.alpha,
        correction=opts.correction,
        scores=paired.scores,
        difficulty=difficulty,
        correlation=correlation,
        reliability=reliab,
        external=external,
        table=table_df,
        notes=[*paired.notes, *_reliability_notes(reliab), *_external_notes(external)],
    )


# --------------------------------------------------------------------------- reading and scoring


def read_paired_responses(
    original: Instrument,
    generated: Instrument,
    responses: str | Path | list[str | Path] | pd.DataFrame,
    options: FormsOptions,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The response table, checked against both forms, and each external measure's values (NaN when blank)."""
    import pandas as pd

    shared = sorted({it.id for it in original.items} & {it.id for it in generated.items})
    if shared:
        raise FormsError(
            f"{original.id} and {generated.id} share item id(s) {', '.join(shared[:5])}; the response file needs one column per item, "
            "so give the generated form distinct ids (eitest generate names them <source>-gen-NNN)"
        )
    table = responses if isinstance(responses, pd.DataFrame) else read_responses(responses)
    external = list(options.external)
    both = [it.id for it in original.items] + [it.id for it in generated.items]
    problems = check_columns(
        table,
        both,
        [*external, *options.ignore],
        f"{original.id} or {generated.id}",
        " (name an external measure with --external, or a column to skip with --ignore)",
    )
    src = str(table["_file"].iloc[0]) if len(table) else "(responses)"
    problems += [
        Problem(src, None, "(header)", f"no column {c!r} for the external measure")
        for c in external
        if c not in table.columns
    ]
    if problems:
        raise ResponseError(problems)
    values, problems = _externals(table, external)
    if problems:
        raise ResponseError(problems)
    return table, values


def _externals(table: pd.DataFrame, columns: list[str]) -> tuple[dict[str, np.ndarray], list[Problem]]:
    import numpy as np

    values: dict[str, np.ndarray] = {}
    problems = []
    for col in columns:
        out = []
        for cell, src, line in zip(table[col], table["_file"], table["_line"], strict=True):
            if cell == "":
                out.append(math.nan)
                continue
            try:
                out.append(float(cell))
            except ValueError:
                problems.append(
                    Problem(
                        src,
                        None,
                        f"line {line}, column {col}",
                        f"{cell!r} is not a number (external measures must be numeric)",
                    )
                )
                out.append(math.nan)
        values[col] = np.asarray(out, dtype=float)
    return values, problems


@dataclass(frozen=True)
class PairedScores:
    """Both forms scored, for the participants who count (all, or under ``missing="drop"`` the complete ones)."""

    scores: pd.DataFrame  # participant, original, generated (proportions), then the external columns
    credit_original: pd.DataFrame  # participant x item of the original form
    credit_generated: pd.DataFrame
    binary_original: bool  # every credit 0 or 1: KR-20 rather than Cronbach's alpha
    binary_generated: bool
    notes: list[str]

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def x(self) -> np.ndarray:
        return self.scores["original"].to_numpy()

    @property
    def y(self) -> np.ndarray:
        return self.scores["generated"].to_numpy()


def score_forms(
    table: pd.DataFrame,
    externals: dict[str, np.ndarray],
    original: Instrument,
    generated: Instrument,
    missing: str,
) -> PairedScores:
    """Score each form per participant (mean credit) and line the external measures up with them."""
    import pandas as pd

    s_orig = score_responses(table, original, missing=missing, check=False)
    s_gen = score_responses(table, generated, missing=missing, check=False)
    in_gen = set(s_gen.participants)
    keep = [p for p in s_orig.participants if p in in_gen]
    if len(keep) < MIN_PARTICIPANTS:
        raise FormsError(
            f"{len(keep)} participant(s) took both forms; the comparison needs at least {MIN_PARTICIPANTS}"
        )
    c_orig, c_gen = s_orig.credit.loc[keep], s_gen.credit.loc[keep]
    scores = pd.DataFrame(
        {"participant": keep, "original": c_orig.mean(axis=1).to_numpy(), "generated": c_gen.mean(axis=1).to_numpy()}
    )
    row_of = {p: i for i, p in enumerate(participant_ids(table))}
    rows = [row_of[p] for p in keep]
    for col, values in externals.items():
        scores[col] = values[rows]
    return PairedScores(
        scores, c_orig, c_gen, s_orig.binary, s_gen.binary, _missing_notes(s_orig, s_gen, len(table), missing)
    )


def _missing_notes(s_orig: ScoredResponses, s_gen: ScoredResponses, n_rows: int, missing: str) -> list[str]:
    n_kept = len(set(s_orig.participants) & set(s_gen.participants))
    if missing == "drop" and n_kept < n_rows:
        return [f"{n_rows - n_kept} participant(s) with an unanswered item left out (listwise)"]
    if s_orig.n_missing or s_gen.n_missing:
        return [f"{s_orig.n_missing + s_gen.n_missing} unanswered item response(s) scored as wrong"]
    return []


# --------------------------------------------------------------------------- the comparisons


def _check(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:
        raise FormsError(f"{getattr(fn, '__name__', 'statistic')}: {exc}") from None


def compare_difficulty(x: np.ndarray, y: np.ndarray, options: FormsOptions) -> dict[str, Any]:
    """TOST equivalence in d_z units (:func:`eitest.stats.tost_paired`) and the ordinary paired t-test."""
    from scipy import stats as sps

    from eitest.stats import tost_paired

    tost = _check(tost_paired, x, y, bound_d=options.bound, alpha=options.alpha)
    paired = sps.ttest_rel(x, y)
    return {
        **tost,
        "mean_original": float(x.mean()),
        "mean_generated": float(y.mean()),
        "sd_original": float(x.std(ddof=1)),
        "sd_generated": float(y.std(ddof=1)),
        "t_diff": float(paired.statistic),
        "p_diff": float(paired.pvalue),
    }


def correlate_forms(x: np.ndarray, y: np.ndarray, ci: float) -> dict[str, Any]:
    """Pearson's r between the two forms' scores, with its Fisher-z interval."""
    return _check(pearson_ci, x, y, ci)


def compare_reliability(paired: PairedScores, r_forms: float, ci: float) -> dict[str, Any]:
    """Each form's alpha (KR-20 for 0/1 items) with Feldt's interval, and Feldt's test of their difference."""
    from eitest.stats import feldt_dependent

    rel_o = reliability(paired.credit_original, paired.binary_original, ci)
    rel_g = reliability(paired.credit_generated, paired.binary_generated, ci)
    feldt = {"t": math.nan, "df": paired.n - 2, "p": math.nan}
    if not (math.isnan(rel_o["alpha"]) or math.isnan(rel_g["alpha"])):
        feldt = _check(feldt_dependent, rel_o["alpha"], rel_g["alpha"], paired.n, r_forms)
    return {"original": rel_o, "generated": rel_g, "feldt": feldt}


def external_validity(scores: pd.DataFrame, columns: tuple[str, ...], ci: float) -> list[dict[str, Any]]:
    """Per external measure: its correlation with each form and Williams' test of their difference."""
    return [_external(scores, col, ci) for col in columns]


def _external(scores: pd.DataFrame, column: str, ci: float) -> dict[str, Any]:
    import numpy as np
    from scipy import stats as sps

    x, y, e = scores["original"].to_numpy(), scores["generated"].to_numpy(), scores[column].to_numpy()
    ok = ~np.isnan(e)
    n = int(ok.sum())
    if n < MIN_EXTERNAL:
        return {
            "column": column,
            "n": n,
            **dict.fromkeys(("r_original", "r_generated", "r_forms", "t", "df", "p"), math.nan),
        }
    r_o = _check(pearson_ci, e[ok], x[ok], ci)
    r_g = _check(pearson_ci, e[ok], y[ok], ci)
    r_f = float(sps.pearsonr(x[ok], y[ok]).statistic)
    return {
        "column": column,
        "n": n,
        "r_original": r_o["r"],
        "r_original_ci": [r_o["ci_low"], r_o["ci_high"]],
        "p_original": r_o["p"],
        "r_generated": r_g["r"],
        "r_generated_ci": [r_g["ci_low"], r_g["ci_high"]],
        "p_generated": r_g["p"],
        "r_forms": r_f,
        **_check(williams_test, r_o["r"], r_g["r"], r_f, n),
    }


def _reliability_notes(reliab: dict[str, Any]) -> list[str]:
    return [
        f"{label} form: {rel['name']} not computed: {rel['error']}"
        for label, rel in (("original", reliab["original"]), ("generated", reliab["generated"]))
        if rel["error"]
    ]


def _external_notes(external: list[dict[str, Any]]) -> list[str]:
    return [
        f"external {e['column']}: {e['n']} value(s), too few for the correlations"
        for e in external
        if e["n"] < MIN_EXTERNAL
    ]
