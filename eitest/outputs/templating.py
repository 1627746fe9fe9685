"""The one jinja environment of every page eitest writes (report, replication section, forms page, survey page).

All templates live in ``eitest/outputs/templates/`` and render through :func:`render`,
so that every page is made under the same rules:

- autoescaping is on for every template: model replies, item texts, file names and
  column names are untrusted, and a ``<script>`` in them must reach the page as text;
- an undefined name is an error (``StrictUndefined``), so a misspelt field cannot
  render silently as an empty cell;
- block tags take their own line and its indentation with them (``trim_blocks``,
  ``lstrip_blocks``), and a page keeps its final newline, as a text file should.

The filters are the one set of number formats the pages share (see :data:`FILTERS`).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2

MISSING = "—"  # what a table cell shows for a value that is None or NaN


def _missing(x: Any) -> bool:
    return x is None or x != x


# eitest.stats pulls in scipy and pandas; the filters import it when they first format a number, so that
# a page without statistics (the survey) renders without them.


def percent(x: Any, digits: int = 1) -> str:
    """A proportion as a percentage: 0.81 -> ``"81.0%"`` (:func:`eitest.stats.apa.percent`)."""
    from eitest.stats import apa

    return apa.percent(x, digits)


def proportion(x: Any, digits: int = 2) -> str:
    """A quantity bounded by 1 without its leading zero: 0.81 -> ``".81"`` (:func:`eitest.stats.apa.proportion`)."""
    from eitest.stats import apa

    return apa.proportion(x, digits)


def p_value(p: Any) -> str:
    """A p value in running text: ``"p = .002"``, ``"p < .001"`` (:func:`eitest.stats.apa.p_value`)."""
    from eitest.stats import apa

    return apa.p_value(p)


def p_cell(p: Any) -> str:
    """A p value for a table column headed "p": ``"= .002"``, ``"< .001"``, or a dash when missing."""
    return MISSING if _missing(p) else p_value(p).removeprefix("p ")


def number(x: Any, digits: int = 2) -> str:
    """``x`` with ``digits`` decimals, or a dash when it is None or NaN."""
    return MISSING if _missing(x) else f"{x:.{digits}f}"


def money(x: Any) -> str:
    """A cost in dollars to four decimals, or ``"unknown"`` where litellm had no price."""
    return "unknown" if _missing(x) else f"${x:.4f}"


def short(text: str | None, length: int = 12) -> str:
    """The first ``length`` characters (a git revision or a hash)."""
    return (text or "")[:length]


FILTERS: dict[str, Any] = {
    "pct": percent,
    "prop": proportion,
    "pval": p_value,
    "p_cell": p_cell,
    "num": number,
    "money": money,
    "short": short,
}


@cache
def environment() -> jinja2.Environment:
    """The environment, built once per process (jinja then caches each compiled template)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("eitest.outputs", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS)
    return env


def render(template_name: str, **context: Any) -> str:
    """Render ``template_name`` from ``eitest/outputs/templates/`` with ``context``, autoescaped."""
    return environment().get_template(template_name).render(**context)
