"""The summary table of a forms comparison: one row per comparison, the family's p values corrected together.

The rows of the family (difficulty by TOST, reliability by Feldt, each external
measure by Williams) are adjusted by Holm or Benjamini-Hochberg in one call of
:func:`eitest.stats.adjust_pvalues`; the correlation of the forms is reported
beside them (second row) but tests no hypothesis of the comparison, so it stays
out of the family. The columns are :data:`TABLE_COLUMNS`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from eitest.human.norm_building import coefficient

if TYPE_CHECKING:
    import pandas as pd

    from eitest.human.forms import FormsOptions

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

Row = dict[str, Any]


def family_table(
    difficulty: dict[str, Any],
    correlation: dict[str, Any],
    reliability: dict[str, Any],
    external: list[dict[str, Any]],
    options: FormsOptions,
) -> pd.DataFrame:
    """The tidy table of :data:`TABLE_COLUMNS` from the results of each step of the comparison."""
    import pandas as pd

    family = [
        difficulty_row(difficulty, options.bound),
        reliability_row(reliability),
        *(external_row(e) for e in external),
    ]
    rows = adjust(family, options)
    rows.insert(1, correlation_row(correlation, options.ci))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def difficulty_row(d: dict[str, Any], bound: float) -> Row:
    """TOST of the paired scores (:func:`eitest.stats.tost_paired`), with the ordinary paired t-test in the text."""
    from eitest.stats import apa

    lvl = d["ci_level"]
    # The one-sided test that decides (the larger p) is the one reported.
    t_report = d["t_lower"] if d["p_lower"] >= d["p_upper"] else d["t_upper"]
    text = (
        f"{apa.mean_sd(d['mean_original'], d['sd_original'])} vs {apa.mean_sd(d['mean_generated'], d['sd_generated'])}; "
        f"{apa.effect(d['d'], d['d_ci_low'], d['d_ci_high'], name='d_z', level=lvl)}; "
        f"TOST {apa.t_test(t_report, d['df'], d['p_tost'])}; paired {apa.t_test(d['t_diff'], d['df'], d['p_diff'])}"
    )
    return {
        "comparison": "difficulty",
        "test": f"TOST paired, bounds ±{bound:g} d_z",
        "original": d["mean_original"],
        "generated": d["mean_generated"],
        "estimate": d["d"],
        "ci_low": d["d_ci_low"],
        "ci_high": d["d_ci_high"],
        "ci_level": lvl,
        "statistic": t_report,
        "df": d["df"],
        "p": d["p_tost"],
        "apa": text,
    }


def reliability_row(rel: dict[str, Any]) -> Row:
    """Feldt's (1980) test of the two forms' alphas in one sample."""
    from eitest.stats import apa

    orig, gen, feldt = rel["original"], rel["generated"], rel["feldt"]
    return {
        "comparison": "reliability",
        "test": "Feldt (1980), dependent alphas",
        "original": orig["alpha"],
        "generated": gen["alpha"],
        "estimate": orig["alpha"] - gen["alpha"],
        "ci_low": math.nan,
        "ci_high": math.nan,
        "ci_level": math.nan,
        "statistic": feldt["t"],
        "df": feldt["df"],
        "p": feldt["p"],
        "apa": f"original {_reliability_short(orig)}, generated {_reliability_short(gen)}; "
        f"Feldt {apa.t_test(feldt['t'], feldt['df'], feldt['p'])}",
    }


def external_row(e: dict[str, Any]) -> Row:
    """Williams' (1959) test of each form's correlation with one external measure."""
    from eitest.stats import apa

    return {
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
        "apa": f"r_original = {coefficient(e['r_original'])}, r_generated = {coefficient(e['r_generated'])} "
        f"(n = {e['n']}); Williams {apa.t_test(e['t'], e['df'], e['p'])}",
    }


def correlation_row(corr: dict[str, Any], ci: float) -> Row:
    """Pearson's r between the forms with its Fisher-z interval: reported, not part of the family."""
    from eitest.stats import apa

    n = corr["n"]
    return {
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
        "apa": f"{apa.correlation(corr['r'], corr['p'], n)}, "
        f"{100 * ci:g}% CI [{coefficient(corr['ci_low'])}, {coefficient(corr['ci_high'])}]",
    }


def adjust(family: list[Row], options: FormsOptions) -> list[Row]:
    """The family's rows with ``p_adj``, ``reject_h0`` (None where p is NaN) and a ``conclusion`` in words."""
    import numpy as np

    from eitest.stats import adjust_pvalues

    p_adj = adjust_pvalues(np.array([r["p"] for r in family], dtype=float), method=options.correction)
    out = []
    for row, pa in zip(family, p_adj, strict=True):
        reject = None if pa != pa else bool(pa < options.alpha)
        out.append({**row, "p_adj": float(pa), "reject_h0": reject, "conclusion": _conclusion(row, reject, options)})
    return out


def _conclusion(row: Row, reject: bool | None, options: FormsOptions) -> str:
    if row["comparison"] == "difficulty":
        # TOST's null hypothesis is a difference at least as large as the bound: rejecting it shows equivalence.
        shown = "equivalent" if reject else "not shown equivalent"
        return f"{shown} within ±{options.bound:g} d"
    if reject is None:
        return "not tested"
    return "differ" if reject else "no significant difference"


def _reliability_short(rel: dict[str, Any]) -> str:
    if rel["alpha"] != rel["alpha"]:
        return f"{rel['name']} n/a"
    return f"{rel['name']} = {coefficient(rel['alpha'])} [{coefficient(rel['ci_low'])}, {coefficient(rel['ci_high'])}]"
