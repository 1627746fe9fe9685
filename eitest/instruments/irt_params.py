"""IRT item parameters in the instrument format: ``irt: {model, a, b, c, D, source, where}`` on an item.

An item may carry the parameters of a published (or locally estimated) calibration
so that a respondent, a model included, can be placed on that calibration's ability
scale (:mod:`eitest.stats.irt`). Like a norm figure, a parameter set is never
invented: ``source`` (the publication or the response file it was estimated from)
is required, ``where`` says where in it (table, page, command).

The item response function is Birnbaum's (1968) three-parameter logistic,
``P(theta) = c + (1 - c) / (1 + exp(-D a (theta - b)))``; the 2PL is the same with
``c = 0``. ``D`` is the scaling constant of the metric the parameters were published
on. It defaults to 1 (the logistic metric, what most current software such as mirt
reports); parameters published on the normal-ogive metric (BILOG-style output) must
say ``D: 1.702``. A default of 1.702 would silently rescale every logistic-metric
calibration, while a wrong ``D`` of 1 on a normal-metric one only shows up when the
source is checked, which is why the source is required.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, ConfigDict

IRT_MODELS = ("2PL", "3PL")
DEFAULT_D = 1.0
# The CSV layout's columns for the same fields (one row per item), in this order.
CSV_IRT_COLUMNS = ("irt_model", "irt_a", "irt_b", "irt_c", "irt_D", "irt_source", "irt_where")


class IrtParams(BaseModel):
    """One item's IRT parameters with their source; checked by :func:`irt_problems`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["2PL", "3PL"]
    a: float  # discrimination, > 0
    b: float  # difficulty (location), on the calibration's theta scale
    c: float = 0.0  # lower asymptote ("guessing"), 0 <= c < 1; 0 for the 2PL
    D: float = DEFAULT_D  # scaling constant of the metric: 1 (logistic) or 1.702 (normal ogive)
    source: str | None = None  # required: checked with a message saying why, not a bare "field required"
    where: str | None = None


def irt_problems(irt: IrtParams) -> list[tuple[str, str]]:
    """``(field, message)`` for each thing wrong with one item's parameters (field names under ``irt.``)."""
    problems: list[tuple[str, str]] = []
    for name in ("a", "b", "c", "D"):
        if not math.isfinite(getattr(irt, name)):
            problems.append((f"irt.{name}", f"{getattr(irt, name)} is not a finite number"))
    if math.isfinite(irt.a) and irt.a <= 0:
        problems.append(("irt.a", f"{irt.a} must be > 0 (a discrimination of 0 or below does not measure the trait)"))
    if math.isfinite(irt.c) and not 0.0 <= irt.c < 1.0:
        problems.append(("irt.c", f"{irt.c} must be in [0, 1) (the lower asymptote is a probability)"))
    if irt.model == "2PL" and irt.c != 0.0:
        problems.append(("irt.c", f"{irt.c} given for a 2PL item; use model: 3PL, or leave c out"))
    if math.isfinite(irt.D) and irt.D <= 0:
        problems.append(("irt.D", f"{irt.D} must be > 0: 1 for the logistic metric, 1.702 for the normal-ogive one"))
    if irt.source is None or not irt.source.strip():
        problems.append(
            (
                "irt.source",
                "missing or empty: every IRT parameter needs its source (publication and table, or the response "
                "file it was estimated from); eitest ships no parameter without one",
            )
        )
    return problems


def irt_from_cells(cell: Callable[[str], str]) -> tuple[dict[str, object] | None, list[tuple[str, str]]]:
    """The ``irt`` mapping of one CSV row (``cell(column)`` gives a stripped cell), or None when its cells are empty.

    Numbers are converted here so that a typo is named by its column; the rest is
    checked with the item (:func:`irt_problems`).
    """
    if not any(cell(c) for c in CSV_IRT_COLUMNS):
        return None, []
    problems: list[tuple[str, str]] = []
    irt: dict[str, object] = {}
    for column in CSV_IRT_COLUMNS:
        text = cell(column)
        if not text:
            continue
        field = column[len("irt_") :]
        if field in ("a", "b", "c", "D"):
            try:
                irt[field] = float(text)
            except ValueError:
                problems.append((column, f"not a number: {text!r}"))
        else:
            irt[field] = text
    if "model" not in irt:
        problems.append(("irt_model", f"empty while other irt_ cells are filled; use one of {', '.join(IRT_MODELS)}"))
    return irt, problems
