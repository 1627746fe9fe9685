"""How close a model's continuation is to the true text: token overlap, longest common run, edit similarity.

Texts are compared as their word tokens (``\\w+``, case-folded), so that line breaks,
punctuation and letter case do not count. The continuation is cut to as many tokens
as the true text has: a model asked to continue a passage may run on past its end,
and what it writes after that point is no evidence either way.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass
from difflib import SequenceMatcher
from typing import Any

TOKEN = re.compile(r"\w+")


def tokens(text: str | None) -> list[str]:
    """The word tokens of ``text``, case-folded (none for None)."""
    return TOKEN.findall(text.casefold()) if text else []


@dataclass(frozen=True)
class Similarity:
    """A continuation against the true text; ``ratio`` is the probe's statistic."""

    ratio: float  # rapidfuzz's normalised Indel similarity of the token texts, 0 to 1
    token_overlap: float  # share of the true text's tokens found in the continuation (as a multiset), 0 to 1
    lcs_tokens: int  # the longest run of tokens the two share, in tokens
    lcs_chars: int  # the longest common substring of the token texts, in characters
    n_true_tokens: int

    def row(self) -> dict[str, Any]:
        return asdict(self)


def longest_common_run(a: list[str], b: list[str]) -> int:
    """The length of the longest contiguous run of tokens that ``a`` and ``b`` share (dynamic programming)."""
    best = 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def compare(continuation: str | None, truth: str) -> Similarity:
    """``continuation`` against ``truth`` (see the module docstring); all zero for an empty continuation."""
    from rapidfuzz import fuzz

    true = tokens(truth)
    said = tokens(continuation)[: len(true)]
    if not true or not said:
        return Similarity(0.0, 0.0, 0, 0, len(true))
    a, b = " ".join(said), " ".join(true)
    shared = sum((Counter(said) & Counter(true)).values())
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return Similarity(
        ratio=fuzz.ratio(a, b) / 100.0,
        token_overlap=shared / len(true),
        lcs_tokens=longest_common_run(said, true),
        lcs_chars=match.size,
        n_true_tokens=len(true),
    )
