"""APA-style strings for statistics (presentation only).

Every function takes full-precision numbers and returns a plain string in the
style of the *Publication Manual of the American Psychological Association*
(7th ed., 2020, sections 6.36-6.46): two decimals for statistics, three for p
values, no leading zero for quantities that cannot exceed 1 (p, r,
proportions), ``p < .001`` below that bound. This is the only place where
numbers are rounded. A NaN or None input gives ``"n/a"``.

Italics are a matter for the renderer (HTML, LaTeX); the strings are plain text.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["chi2", "correlation", "effect", "mean_sd", "p_value", "percent", "proportion", "t_test"]

NA = "n/a"


def _missing(*values: Any) -> bool:
    for v in values:
        if v is None:
            return True
        if isinstance(v, str | bytes):
            raise TypeError(f"expected a number, got {v!r}")
        try:
            if math.isnan(float(v)):
                return True
        except (TypeError, ValueError):
            raise TypeError(f"expected a number, got {v!r}") from None
    return False


def _fixed(x: float, digits: int = 2) -> str:
    """``x`` with ``digits`` decimals; a value that rounds to zero loses its minus sign."""
    text = f"{x:.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text


def _no_leading_zero(x: float, digits: int) -> str:
    text = _fixed(x, digits)
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def _df(df: float) -> str:
    return str(int(round(df))) if float(df).is_integer() else f"{df:.1f}"


def p_value(p: float) -> str:
    """Format a p value: ``"p = .002"``, ``"p < .001"``, ``"p > .999"``.

    Three decimals without a leading zero; below .001 ``"p < .001"``; at or
    above .999 ``"p > .999"`` (APA, 2020, 6.36).

    Examples
    --------
    >>> p_value(0.0021)
    'p = .002'
    >>> p_value(0.0004)
    'p < .001'
    """
    if _missing(p):
        return NA
    p = float(p)
    if not 0 <= p <= 1:
        raise ValueError(f"a p value must lie in [0, 1], got {p}")
    if p < 0.001:
        return "p < .001"
    if p >= 0.999:
        return "p > .999"
    return "p = " + _no_leading_zero(p, 3)


def t_test(t: float, df: float, p: float) -> str:
    """``"t(206) = 3.12, p = .002"``; df as an integer when whole, else one decimal (Welch)."""
    if _missing(t, df, p):
        return NA
    return f"t({_df(float(df))}) = {_fixed(float(t))}, {p_value(p)}"


def effect(d: float, lo: float, hi: float, name: str = "d", level: float = 0.95) -> str:
    """``"d = 1.86, 95% CI [1.52, 2.20]"``; without the CI when its bounds are NaN."""
    if _missing(d):
        return NA
    text = f"{name} = {_fixed(float(d))}"
    if _missing(lo, hi):
        return text
    return f"{text}, {100 * float(level):g}% CI [{_fixed(float(lo))}, {_fixed(float(hi))}]"


def percent(x: float, digits: int = 1) -> str:
    """A proportion as a percentage: ``percent(0.81) == "81.0%"``."""
    if _missing(x):
        return NA
    return f"{_fixed(100 * float(x), digits)}%"


def proportion(x: float, digits: int = 2) -> str:
    """A quantity bounded by 1 without the leading zero: ``".81"``, ``"-.12"``, ``"1.00"``."""
    if _missing(x):
        return NA
    x = float(x)
    if abs(x) > 1:
        raise ValueError(f"proportion() is for values in [-1, 1], got {x}; use a plain number format")
    return _no_leading_zero(x, digits)


def chi2(chi2: float, df: float, p: float, n: int | None = None) -> str:
    """``"χ²(4, N = 90) = 12.30, p = .015"``; ``"χ²(4) = ..."`` without ``n``."""
    if _missing(chi2, df, p):
        return NA
    inside = _df(float(df)) if n is None or _missing(n) else f"{_df(float(df))}, N = {int(n)}"
    return f"χ²({inside}) = {_fixed(float(chi2))}, {p_value(p)}"


def correlation(r: float, p: float, n: int | None = None, name: str = "r") -> str:
    """``"r(43) = .46, p = .002"`` with df = n - 2; ``"r = .46, p = .002"`` without ``n``."""
    if _missing(r, p):
        return NA
    head = name if n is None or _missing(n) else f"{name}({int(n) - 2})"
    return f"{head} = {proportion(r)}, {p_value(p)}"


def mean_sd(m: float, sd: float, digits: int = 2) -> str:
    """``"M = 0.81, SD = 0.06"``."""
    if _missing(m, sd):
        return NA
    return f"M = {_fixed(float(m), digits)}, SD = {_fixed(float(sd), digits)}"
