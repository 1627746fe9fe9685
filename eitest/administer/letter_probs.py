"""Reading the ``logprobs`` protocol's reply: the first token's probabilities over the shown letters.

The model is asked for the letter alone, in one token, and the provider returns that
token's most probable alternatives with their log probabilities. Each alternative
that is a shown letter, bare or dressed (``B``, ``" B"``, ``b``, ``(B``, ``B)``,
``B.``, ``**B``), counts for that letter's option; the probabilities of the tokens of
one letter are summed.

- ``coverage`` is the share of the token's probability that falls on the shown
  letters (0 to 1): the sum over the letter tokens among the returned alternatives.
  The rest went to tokens that begin some other reply ("The", "I", a letter past the
  shown ones) or was not among the alternatives returned.
- The stored distribution is renormalised over the letters (each letter's share of
  ``coverage``): the model's choice *given that it answers with a letter*, which is
  what a test score is about; ``coverage`` says how far that condition held.
- A trial is answered when ``coverage`` is at least :data:`MIN_COVERAGE`; below it the
  trial is ``unparseable`` with the rule ``low_coverage``, its distribution kept.
- Its chosen option is the most probable one (on a tie, the sampled token's if it is
  among the tied, else the first shown); its score the expected credit, the sum over
  options of probability x credit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eitest.administer.prompts import LETTERS
from eitest.vocabulary import Status

# Below half, most of the model's probability went to replies other than a shown letter: the
# distribution over the letters would describe the minority of its behaviour, not the model.
MIN_COVERAGE = 0.5
RULE = "top_logprobs"
LOW_COVERAGE = "low_coverage"
# What may dress a letter inside one token: spaces, brackets, a full stop or colon, markdown emphasis.
_DRESSING = " \t\n()[]{}.:*_`'\""


@dataclass(frozen=True)
class LetterProbs:
    """A reply read over the letters: status, rule, the chosen position, per-position probabilities, coverage."""

    status: Status
    rule: str
    position: int | None  # the most probable shown position; None when not answered
    probs: list[float] | None  # per shown position, renormalised over the letters (sum 1); None if no letter
    coverage: float

    def expected_credit(self, credits: Sequence[float]) -> float | None:
        """Sum of probability x credit over the shown positions (None unless answered)."""
        if self.status != Status.ANSWERED or self.probs is None:
            return None
        return math.fsum(p * c for p, c in zip(self.probs, credits, strict=True))


def letter_position(token: str, n_options: int) -> int | None:
    """The shown position a token names (``" B"``, ``"(b"``, ``"B)"`` -> 1), or None when it names none."""
    core = token.strip(_DRESSING).upper()
    if len(core) != 1 or core not in LETTERS[:n_options]:
        return None
    return LETTERS.index(core)


def read_letter_probs(logprobs: Sequence[Sequence[Any]], n_options: int, sampled: str | None = None) -> LetterProbs:
    """The reply's distribution over ``n_options`` shown letters from its first token's ``[[token, logprob], ...]``."""
    mass = [0.0] * n_options
    for token, logprob in logprobs:
        position = letter_position(str(token), n_options)
        if position is not None:
            mass[position] += math.exp(float(logprob))
    # Summed alternatives can pass 1 by rounding of the provider's log probabilities; coverage is a share.
    coverage = min(math.fsum(mass), 1.0)
    if coverage <= 0.0:
        return LetterProbs(Status.UNPARSEABLE, LOW_COVERAGE, None, None, 0.0)
    total = math.fsum(mass)
    probs = [m / total for m in mass]
    if coverage < MIN_COVERAGE:
        return LetterProbs(Status.UNPARSEABLE, LOW_COVERAGE, None, probs, coverage)
    top = max(probs)
    tied = [i for i, p in enumerate(probs) if p == top]
    drawn = letter_position(sampled, n_options) if sampled is not None else None
    return LetterProbs(Status.ANSWERED, RULE, drawn if drawn in tied else tied[0], probs, coverage)
