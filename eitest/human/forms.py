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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eitest.errors import EitestError
from eitest.human.norm_building import coefficient, reliability
from eitest.human.response_files import ResponseError, check_columns, participant_ids, read_responses, score_responses
from eitest.instruments import Instrument, Problem
from eitest.stats.correlation import pearson_ci, williams_test

if TYPE_CHECKING:
    import pandas as pd

TABLE_COLUMNS = [
    "comparison",
    "test",
    "original",
    "generated",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_level",
    "statistic",
    "df",
    "p",
    "p_adj",
    "reject_h0",
    "conclusion",
    "apa",
]


class FormsError(EitestError):
    """Two forms that cannot be compared with the data given."""


# --------------------------------------------------------------------------- the comparison


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


def _externals(table: pd.DataFrame, columns: list[str]) -> tuple[dict[str, Any], list[Problem]]:
    import numpy as np

    values: dict[str, Any] = {}
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


def _check(fn: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    try:
        return fn(*args, **kwargs)
    except ValueError as exc:
        raise FormsError(f"{getattr(fn, '__name__', 'statistic')}: {exc}") from None


def compare_forms(
    original: Instrument,
    generated: Instrument,
    responses: str | Path | list[str | Path] | pd.DataFrame,
    *,
    external: list[str] | tuple[str, ...] = (),
    ignore: list[str] | tuple[str, ...] = (),
    bound: float = 0.25,
    alpha: float = 0.05,
    correction: str = "holm",
    missing: str = "wrong",
    ci: float = 0.95,
) -> FormsComparison:
    """Compare an original and a generated form taken by the same participants (see the module docstring).

    ``responses`` is a response file (or files), or a table from
    :func:`eitest.human.norm_building.read_responses`. Any other column is an error (a
    typo should not pass silently) unless it is named in ``ignore``.
    """
    import numpy as np
    import pandas as pd
    from scipy import stats as sps

    from eitest import stats as psychometrics
    from eitest.stats import adjust_pvalues, apa
    from eitest.vocabulary import Correction, choose

    try:
        correction = choose(Correction, correction, "correction")
    except ValueError as exc:
        raise FormsError(str(exc)) from None
    shared = sorted({it.id for it in original.items} & {it.id for it in generated.items})
    if shared:
        raise FormsError(
            f"{original.id} and {generated.id} share item id(s) {', '.join(shared[:5])}; the response file needs one column per item, "
            "so give the generated form distinct ids (eitest generate names them <source>-gen-NNN)"
        )
    table = responses if isinstance(responses, pd.DataFrame) else read_responses(responses)
    external = list(external)
    both = [it.id for it in original.items] + [it.id for it in generated.items]
    problems = check_columns(
        table,
        both,
        [*external, *ignore],
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
    ext_values, problems = _externals(table, external)
    if problems:
        raise ResponseError(problems)

    s_orig = score_responses(table, original, missing="wrong" if missing == "wrong" else "drop", check=False)
    s_gen = score_responses(table, generated, missing="wrong" if missing == "wrong" else "drop", check=False)
    keep = [p for p in s_orig.participants if p in set(s_gen.participants)]
    notes: list[str] = []
    if missing == "drop" and len(keep) < len(table):
        notes.append(f"{len(table) - len(keep)} participant(s) with an unanswered item left out (listwise)")
    elif s_orig.n_missing or s_gen.n_missing:
        notes.append(f"{s_orig.n_missing + s_gen.n_missing} unanswered item response(s) scored as wrong")
    c_orig, c_gen = s_orig.credit.loc[keep], s_gen.credit.loc[keep]
    x, y = c_orig.mean(axis=1).to_numpy(), c_gen.mean(axis=1).to_numpy()
    n = len(keep)
    if n < 4:
        raise FormsError(f"{n} participant(s) took both forms; the comparison needs at least 4")
    row_of = {p: i for i, p in enumerate(participant_ids(table))}
    pos = [row_of[p] for p in keep]
    scores = pd.DataFrame({"participant": keep, "original": x, "generated": y})
    for col, vals in ext_values.items():
        scores[col] = vals[pos]

    # Difficulty: equivalence (TOST in d_z units) and the ordinary paired t-test.
    tost = _check(psychometrics.tost_paired, x, y, bound_d=bound, alpha=alpha)
    paired = sps.ttest_rel(x, y)
    difficulty = {
        **tost,
        "mean_original": float(x.mean()),
        "mean_generated": float(y.mean()),
        "sd_original": float(x.std(ddof=1)),
        "sd_generated": float(y.std(ddof=1)),
        "t_diff": float(paired.statistic),
        "p_diff": float(paired.pvalue),
    }

    corr = _check(pearson_ci, x, y, ci)

    rel_o = reliability(c_orig, s_orig.binary, ci)
    rel_g = reliability(c_gen, s_gen.binary, ci)
    for label, rel in (("original", rel_o), ("generated", rel_g)):
        if rel["error"]:
            notes.append(f"{label} form: {rel['name']} not computed: {rel['error']}")
    feldt = {"t": math.nan, "df": n - 2, "p": math.nan}
    if not (math.isnan(rel_o["alpha"]) or math.isnan(rel_g["alpha"])):
        feldt = _check(psychometrics.feldt_dependent, rel_o["alpha"], rel_g["alpha"], n, corr["r"])
    reliab = {"original": rel_o, "generated": rel_g, "feldt": feldt}

    ext_results = []
    for col in external:
        e = scores[col].to_numpy()
        ok = ~np.isnan(e)
        if ok.sum() < 5:
            notes.append(f"external {col}: {int(ok.sum())} value(s), too few for the correlations")
            ext_results.append(
                {
                    "column": col,
                    "n": int(ok.sum()),
                    "r_original": math.nan,
                    "r_generated": math.nan,
                    "r_forms": math.nan,
                    "t": math.nan,
                    "df": math.nan,
                    "p": math.nan,
                }
            )
            continue
        r_o = _check(pearson_ci, e[ok], x[ok], ci)
        r_g = _check(pearson_ci, e[ok], y[ok], ci)
        r_f = float(sps.pearsonr(x[ok], y[ok]).statistic)
        w = _check(williams_test, r_o["r"], r_g["r"], r_f, int(ok.sum()))
        ext_results.append(
            {
                "column": col,
                "n": int(ok.sum()),
                "r_original": r_o["r"],
                "r_original_ci": [r_o["ci_low"], r_o["ci_high"]],
                "p_original": r_o["p"],
                "r_generated": r_g["r"],
                "r_generated_ci": [r_g["ci_low"], r_g["ci_high"]],
                "p_generated": r_g["p"],
                "r_forms": r_f,
                **w,
            }
        )

    # The family of comparisons, corrected together.
    rows: list[dict[str, Any]] = []
    lvl = tost["ci_level"]
    t_report = tost["t_lower"] if tost["p_lower"] >= tost["p_upper"] else tost["t_upper"]
    rows.append(
        {
            "comparison": "difficulty",
            "test": f"TOST paired, bounds ±{bound:g} d_z",
            "original": difficulty["mean_original"],
            "generated": difficulty["mean_generated"],
            "estimate": tost["d"],
            "ci_low": tost["d_ci_low"],
            "ci_high": tost["d_ci_high"],
            "ci_level": lvl,
            "statistic": t_report,
            "df": tost["df"],
            "p": tost["p_tost"],
            "apa": f"{apa.mean_sd(x.mean(), x.std(ddof=1))} vs {apa.mean_sd(y.mean(), y.std(ddof=1))}; "
            f"{apa.effect(tost['d'], tost['d_ci_low'], tost['d_ci_high'], name='d_z', level=lvl)}; "
            f"TOST {apa.t_test(t_report, tost['df'], tost['p_tost'])}; paired {apa.t_test(paired.statistic, tost['df'], paired.pvalue)}",
        }
    )
    rows.append(
        {
            "comparison": "reliability",
            "test": "Feldt (1980), dependent alphas",
            "original": rel_o["alpha"],
            "generated": rel_g["alpha"],
            "estimate": rel_o["alpha"] - rel_g["alpha"],
            "ci_low": math.nan,
            "ci_high": math.nan,
            "ci_level": math.nan,
            "statistic": feldt["t"],
            "df": feldt["df"],
            "p": feldt["p"],
            "apa": f"original {_rel_short(rel_o)}, generated {_rel_short(rel_g)}; Feldt {apa.t_test(feldt['t'], feldt['df'], feldt['p'])}",
        }
    )
    for e in ext_results:
        rows.append(
            {
                "comparison": f"external: {e['column']}",
                "test": "Williams (1959), dependent correlations",
                "original": e["r_original"],
                "generated": e["r_generated"],
                "estimate": e["r_original"] - e["r_generated"],
                "ci_low": math.nan,
                "ci_high": math.nan,
                "ci_level": math.nan,
                "statistic": e["t"],
                "df": e["df"],
                "p": e["p"],
                "apa": f"r_original = {coefficient(e['r_original'])}, r_generated = {coefficient(e['r_generated'])} (n = {e['n']}); "
                f"Williams {apa.t_test(e['t'], e['df'], e['p'])}",
            }
        )
    p_adj = adjust_pvalues(np.array([r["p"] for r in rows], dtype=float), method=correction)
    for r, pa in zip(rows, p_adj, strict=True):
        r["p_adj"] = float(pa)
        r["reject_h0"] = None if pa != pa else bool(pa < alpha)
        if r["comparison"] == "difficulty":
            r["conclusion"] = (
                f"equivalent within ±{bound:g} d" if r["reject_h0"] else f"not shown equivalent within ±{bound:g} d"
            )
        elif r["reject_h0"] is None:
            r["conclusion"] = "not tested"
        else:
            r["conclusion"] = "differ" if r["reject_h0"] else "no significant difference"
    rows.insert(
        1,
        {
            "comparison": "forms correlation",
            "test": "Pearson, Fisher-z CI",
            "original": math.nan,
            "generated": math.nan,
            "estimate": corr["r"],
            "ci_low": corr["ci_low"],
            "ci_high": corr["ci_high"],
            "ci_level": ci,
            "statistic": math.nan,
            "df": n - 2,
            "p": corr["p"],
            "p_adj": math.nan,
            "reject_h0": None,
            "conclusion": "not in the corrected family",
            "apa": f"{apa.correlation(corr['r'], corr['p'], n)}, {100 * ci:g}% CI [{coefficient(corr['ci_low'])}, {coefficient(corr['ci_high'])}]",
        },
    )
    table_df = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    difficulty["equivalent_adjusted"] = bool(table_df.loc[table_df["comparison"] == "difficulty", "reject_h0"].iloc[0])
    return FormsComparison(
        original.id,
        generated.id,
        n,
        bound,
        alpha,
        correction,
        scores,
        difficulty,
        corr,
        reliab,
        ext_results,
        table_df,
        notes,
    )


def _rel_short(rel: dict[str, Any]) -> str:
    if rel["alpha"] != rel["alpha"]:
        return f"{rel['name']} n/a"
    return f"{rel['name']} = {coefficient(rel['alpha'])} [{coefficient(rel['ci_low'])}, {coefficient(rel['ci_high'])}]"
