"""The report's section "Ability on the human IRT scale": its context, from ``Analysis.irt``.

Shown only where a run's items carry IRT parameters (each with its source); the
template is ``templates/irt_section.html.j2``. Figures are formatted here, from full
precision. Every theta is an EAP; one at the ceiling (floor) is printed ``1.23 (ceiling)``
and its percentile interval without the upper (lower) end the responses cannot give.
"""

from __future__ import annotations

import math
from typing import Any

from eitest.outputs.report.formats import missing, percentile, percentile_with_ci, reps_words

METHODS = (
    "Where a test's items carry item response theory (IRT) parameters, each administration (one repetition of "
    "every item) was placed on the scale of the parameters' calibration. The two- and three-parameter logistic "
    "models (Birnbaum, 1968; Lord, 1980) are dichotomous: the response to an item is right or wrong on its best "
    "option (1 for choosing the keyed option, on an expert-weighted test the top-weighted one, else 0; from answer "
    "probabilities, the probability of that option, entered as a fractional Bernoulli term), never an option's "
    "expert weight. Ability theta is the expected a posteriori (EAP) estimate under a standard-normal prior with "
    "its posterior SD as the standard error (Bock & Mislevy, 1982), computed by quadrature on 241 points in "
    "[-6, 6]; only items whose parameters share one source enter one theta, since separate calibrations are on "
    "one scale only once linked. The implied percentile is Phi(theta), the share of the calibration population "
    "below theta if that population's ability is standard normal (the scale's usual identification), with the "
    "interval Phi(theta -+ 1.96 SE). A model's repetitions are repeated measures of one respondent: the table "
    "gives the mean of the administrations' thetas with the standard error of one sitting and their spread, "
    "never a sample statistic. An administration with every item right (a credit of 0.99 or more on each) is at "
    "the test's ceiling: its maximum-likelihood estimate does not exist, while the EAP is finite but pulled "
    "towards the prior mean, so the true ability may be higher; such a theta is marked as at the ceiling, to be "
    "read as a lower limit, and its percentile interval has no upper end (likewise at the floor, with every item "
    "wrong). Test information is the sum of the items' Fisher information at theta (its inverse square root is "
    "the SE of the maximum-likelihood theta there)."
)
REFERENCES = (
    "Birnbaum, A. (1968). Some latent trait models and their use in inferring an examinee's ability. In F. M. "
    "Lord & M. R. Novick, Statistical theories of mental test scores (pp. 397-479). Addison-Wesley.",
    "Bock, R. D., & Mislevy, R. J. (1982). Adaptive EAP estimation of ability in a microcomputer environment. "
    "Applied Psychological Measurement, 6(4), 431-444.",
    "Lord, F. M. (1980). Applications of item response theory to practical testing problems. Erlbaum.",
)


def _theta_text(row: dict[str, Any]) -> str:
    if missing(row.get("theta")):
        return "—"
    theta = float(row["theta"])
    if row.get("bound") == "lower":
        return f"{theta:.2f} (ceiling)"
    if row.get("bound") == "upper":
        return f"{theta:.2f} (floor)"
    return f"{theta:.2f}"


def _percentile_text(row: dict[str, Any]) -> str:
    """The percentile with its interval; at the ceiling (floor) the end the responses cannot give says so."""
    if missing(row.get("percentile")):
        return "—"
    pct = percentile(100 * float(row["percentile"]))
    low, high = row.get("percentile_ci_low"), row.get("percentile_ci_high")
    if row.get("bound") == "lower" and not missing(low):
        return f"{pct} [{percentile(_hundred(low))}, no upper limit]"
    if row.get("bound") == "upper" and not missing(high):
        return f"{pct} [no lower limit, {percentile(_hundred(high))}]"
    return percentile_with_ci(100 * float(row["percentile"]), _hundred(low), _hundred(high))


def _hundred(x: Any) -> float:
    return math.nan if missing(x) else 100 * float(x)


def _text(x: Any) -> str:
    """A text cell: the text, or blank for None and NaN (a missing text in a DataFrame is NaN, which is truthy)."""
    return x if isinstance(x, str) else ""


def _number(x: Any, digits: int = 2) -> str:
    return "—" if missing(x) else f"{float(x):.{digits}f}"


def irt_context(analysis: Any) -> dict[str, Any] | None:
    """The section's rows, sources, methods and references; None when no analysed item has IRT parameters."""
    table = getattr(analysis, "irt", None)
    if table is None or table.empty:
        return None
    rows = []
    for r in table.to_dict("records"):
        rows.append(
            {
                "model": r["model"],
                "instrument": r["instrument"],
                "theta": _theta_text(r),
                "se": _number(r["theta_se"]),
                "percentile": _percentile_text(r),
                "information": _number(r["information"], 1),
                "spread": _number(r["theta_sd_reps"]),
                "reps": reps_words(r["n_reps"]) if not missing(r["n_reps"]) else "—",
                "items_with_parameters": f"{int(r['n_items_irt'])} of {int(r['n_items'])}",
                "reason": _text(r["reason"]),
            }
        )
    sources = sorted({s for v in table["sources"].dropna() for s in str(v).split("; ") if s})
    return {
        "rows": rows,
        "sources": sources,
        "methods": METHODS,
        "references": REFERENCES,
        "figures": _figures(analysis, table),
    }


def _figures(analysis: Any, table: Any) -> list[dict[str, str]]:
    """One information curve per test with a theta, as a data URI of its SVG."""
    import base64

    from eitest.outputs.report.irt_plot import information_plot
    from eitest.outputs.report.plots import report_svg

    out = []
    for inst_id in sorted(table.loc[table["theta"].notna(), "instrument"].unique()):
        run_id = str(table.loc[table["instrument"] == inst_id, "run_id"].iloc[0])
        svg = report_svg(information_plot, table, analysis.instrument(inst_id, run_id))
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
        out.append({"instrument": str(inst_id), "uri": uri})
    return out
