"""The named values that eitest's records and options take, each defined once.

Light on purpose (the standard library only): the command line builds its choices
from these without importing anything heavy, and the Trial record, the prompt
protocols, the parser, the analysis and the exports all refer to the same names.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How a trial ended."""

    ANSWERED = "answered"  # one option read from the reply
    UNPARSEABLE = "unparseable"  # a reply, but not one clean answer
    REFUSED = "refused"  # the model declined
    EMPTY = "empty"  # an empty reply
    ERROR = "error"  # the call failed after its retries


# A trial whose call came back (whatever the reply) is finished; only 'error' is retried on resume.
FINISHED_STATUSES: tuple[Status, ...] = (Status.ANSWERED, Status.UNPARSEABLE, Status.REFUSED, Status.EMPTY)


class OptionOrder(StrEnum):
    """The order in which a trial shows an item's options."""

    ORIGINAL = "original"  # as listed in the instrument file
    SHUFFLED = "shuffled"  # a permutation seeded per trial
    ROTATED = "rotated"  # the listed order moved left by the repetition


class ProtocolName(StrEnum):
    """The prompt protocols (their wording lives in :mod:`eitest.administer.prompts`)."""

    STANDARD = "standard"  # the letter only
    REASONING = "reasoning"  # think, then 'ANSWER: <letter>'
    JSON = "json"  # {"answer": "<letter>"}
    LOGPROBS = "logprobs"  # the letter alone, one token; its probabilities read over the shown letters


class Correction(StrEnum):
    """Corrections for multiple testing across a family of tests (``--correction``)."""

    HOLM = "holm"
    FDR_BH = "fdr_bh"

    @property
    def label(self) -> str:
        return "Holm" if self is Correction.HOLM else "Benjamini-Hochberg"


class ExportFormat(StrEnum):
    """File formats of ``eitest export``."""

    CSV = "csv"
    PARQUET = "parquet"
    SAV = "sav"  # SPSS, with variable and value labels
    HF = "hf"  # a Hugging Face DatasetDict saved to disk


def choose(kind: type[StrEnum], value: str, what: str) -> StrEnum:
    """``kind(value)``, or a ValueError that names ``what`` and lists the choices."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"unknown {what} {value!r}; use one of {', '.join(kind)}") from None
