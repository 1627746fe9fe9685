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
    PROBE_MEMORISATION = "probe-memorisation"  # continue an item's text verbatim (eitest probe memorisation)


# Protocols of probes, not of a study: `eitest run --protocol` does not offer them.
PROBE_PROTOCOLS: frozenset[ProtocolName] = frozenset({ProtocolName.PROBE_MEMORISATION})
# The protocols a study runs (`eitest run --protocol`), in the order they are offered.
STUDY_PROTOCOLS: tuple[ProtocolName, ...] = tuple(p for p in ProtocolName if p not in PROBE_PROTOCOLS)


class RunKind(StrEnum):
    """What a run is (its config's ``kind``; a run without one is a study)."""

    STUDY = "study"  # an instrument administered (eitest run); its scores are analysed
    PROBE = "probe"  # a check of the model, not a measurement (eitest probe ...); never scored as a test

    @classmethod
    def of(cls, config: object) -> RunKind:
        """The kind a run's config says (a config without ``kind``, or not a mapping, is a study's)."""
        kind = config.get("kind") if isinstance(config, dict) else None
        return cls.PROBE if kind == cls.PROBE.value else cls.STUDY


class ProbeVariant(StrEnum):
    """What one trial of the memorisation probe asks for (stored as its parse_rule)."""

    OPENING = "opening"  # the first half of an item's situation: continue it
    OPTIONS = "options"  # the situation and its first options: give the rest
    CONTROL_OPENING = "control-opening"  # the same, on a text written for the probe
    CONTROL_OPTIONS = "control-options"


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


class BatchRetry(StrEnum):
    """What a batch run does with the lines that failed or expired (``--batch-retry``)."""

    LIVE = "live"  # called at once through the live path (full price, no wait)
    BATCH = "batch"  # sent in a new batch (batch price, another wait)
    NONE = "none"  # stored as failed; a re-run of the same command sends them again
