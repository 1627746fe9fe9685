"""How the report and ``eitest analyze`` print a score: on its own scale, named, with labelled intervals.

One owner for the wording of scales and intervals, so that the HTML report, its
prose and the command line say the same thing in the same words. Every function
takes full-precision numbers; rounding happens here and in :mod:`eitest.stats.apa`.
"""

from __future__ import annotations

import math
from typing import Any

from eitest.outputs.templating import MISSING
from eitest.stats import apa

# The norm's scale (Analysis.scores.norm_scale) in words.
SCALE_WORDS = {
    "proportion_correct": "proportion correct",
    "proportion_of_max": "proportion of maximum",
    "mean_credit": "mean credit",
}
# The two intervals, named by the question each answers (eitest.stats.intervals says "this model on this
# test"; in a sentence about the model, "this test" says the same).
THIS_TEST = "this test"
NEW_ITEMS = "new items like these"
# A percentile past these bounds is printed as a bound: "100.0" for 99.97 would claim every person scores lower.
PERCENTILE_TOP = 99.9
PERCENTILE_BOTTOM = 0.1


def missing(x: Any) -> bool:
    """None, NaN, or not a number at all."""
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def scale_words(scale: Any) -> str:
    """A scale id (``mean_credit``) or label (``proportion of maximum``) as words."""
    if not isinstance(scale, str) or not scale:
        return MISSING
    return SCALE_WORDS.get(scale, scale.replace("_", " "))


def same_scale(a: Any, b: Any) -> bool:
    """Whether two scales, each an id or a label, are the same scale."""
    return isinstance(a, str) and isinstance(b, str) and scale_words(a) == scale_words(b)


def on_scale(x: Any, scale: Any) -> str:
    """``x`` printed in its scale's unit: a percentage for a proportion, ``.61`` for a mean credit."""
    if missing(x):
        return MISSING
    if scale_words(scale) == "mean credit":
        return apa.proportion(float(x))
    return apa.percent(float(x))


def interval(low: Any, high: Any, scale: Any) -> str | None:
    """``[82.4%, 100.0%]`` on the scale, or None when a bound is NaN (the caller says why)."""
    if missing(low) or missing(high):
        return None
    return f"[{on_scale(low, scale)}, {on_scale(high, scale)}]"


def percentile(x: Any) -> str:
    """A percentile (0-100) to one decimal, with ``> 99.9`` and ``< 0.1`` past the bounds."""
    if missing(x):
        return MISSING
    x = float(x)
    if x > PERCENTILE_TOP:
        return f"> {PERCENTILE_TOP}"
    if x < PERCENTILE_BOTTOM:
        return f"< {PERCENTILE_BOTTOM}"
    return f"{x:.1f}"


def percentile_with_ci(x: Any, low: Any, high: Any) -> str:
    """``97.5 [93.1, 99.4]``, each figure bounded as :func:`percentile` does."""
    if missing(x):
        return MISSING
    if missing(low) or missing(high):
        return percentile(x)
    return f"{percentile(x)} [{percentile(low)}, {percentile(high)}]"


def credit_companion(value: Any, scale: Any, max_credit: Any) -> str:
    """For a weighted test, the same score on the other weighted scale: ``mean credit .61`` or ``100.0% of maximum``."""
    if missing(value) or missing(max_credit) or float(max_credit) <= 0:
        return ""
    words = scale_words(scale)
    if words == "mean credit":
        return f"{apa.percent(float(value) / float(max_credit))} of maximum"
    if words == "proportion of maximum":
        return f"mean credit {apa.proportion(float(value) * float(max_credit))} of a maximum {apa.proportion(float(max_credit))}"
    return ""


def reps_words(n: Any) -> str:
    """``3 repetitions`` / ``1 repetition``."""
    n = int(n)
    return f"{n} repetition{'s' if n != 1 else ''}"
