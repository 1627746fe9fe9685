"""The memorisation probe's trials: what each asks, and one of them put to a model as a stored Trial.

Each item gives two trials: its situation's opening, to be continued word for word
(repetition 0, variant ``opening``), and its situation with its first options, for the
remaining options (repetition 1, variant ``options``). Each control text
(:mod:`eitest.probes.texts`) gives the same two. A trial's ``score`` is the similarity of
the reply to the true rest (:func:`eitest.probes.similarity.compare`, its ``ratio``); the
reply is kept verbatim in ``raw_reply``, the variant in ``parse_rule``.
"""

from __future__ import annotations

from dataclasses import dataclass

from eitest import client
from eitest.administer.prompts import LETTERS, option_line
from eitest.administer.reply_patterns import THINK
from eitest.administer.think_blocks import inline_reasoning
from eitest.client import CallSettings
from eitest.instruments import Instrument, Item
from eitest.probes.similarity import compare
from eitest.probes.texts import SPLIT_VERSION, Cut, opening_cut, options_cut
from eitest.store import now
from eitest.store.trial import Trial
from eitest.vocabulary import OptionOrder, ProbeVariant, ProtocolName, Status

PROTOCOL = ProtocolName.PROBE_MEMORISATION
PROTOCOL_VERSION = SPLIT_VERSION  # the wording below and the cut of the texts, versioned together
MAX_REPLY_TOKENS = 512  # a situation or a list of options is far shorter

OPENING_ASK = (
    "Below is the beginning of a short passage from a psychological test. Continue the passage word for word, "
    "exactly as the original goes on, to its end. Reply with the continuation only, without any comment."
)
OPTIONS_ASK = (
    "Below is an item from a psychological test: its situation, its question and its first answer options. "
    "Give the item's remaining answer options word for word, in their original order, one per line, "
    "without letters and without any comment."
)
# Repetition of each variant: the key (model, instrument, item, repetition) keeps the two trials of an item apart.
REPETITION = {
    ProbeVariant.OPENING: 0,
    ProbeVariant.OPTIONS: 1,
    ProbeVariant.CONTROL_OPENING: 0,
    ProbeVariant.CONTROL_OPTIONS: 1,
}


@dataclass(frozen=True)
class ProbeSpec:
    """One probe trial to make: the messages sent and the true text the reply is compared with."""

    model: str
    instrument: str  # the instrument probed (controls are filed under it too)
    item_id: str
    variant: ProbeVariant
    messages: list[dict[str, str]]
    truth: str

    @property
    def repetition(self) -> int:
        return REPETITION[self.variant]

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.model, self.instrument, self.item_id, self.repetition)


def continuation_of(raw_reply: str | None) -> str:
    """The reply without its inline ``<think>`` blocks: a reasoning model's deliberation is no continuation."""
    return THINK.sub(" ", raw_reply or "")


def cut_of(item: Item, variant: ProbeVariant) -> Cut:
    """The cut of ``item`` that ``variant`` shows."""
    opening = variant in (ProbeVariant.OPENING, ProbeVariant.CONTROL_OPENING)
    return opening_cut(item) if opening else options_cut(item)


def messages_for(item: Item, variant: ProbeVariant) -> list[dict[str, str]]:
    """The one user message of a probe trial of ``item``."""
    cut = cut_of(item, variant)
    if isinstance(cut.shown, str):
        text = f"{OPENING_ASK}\n\nBeginning:\n{cut.shown}"
    else:
        lines = [option_line(letter, shown) for letter, shown in zip(LETTERS, cut.shown, strict=False)]
        text = "\n".join([OPTIONS_ASK, "", item.stem.strip(), "", item.question.strip(), "", *lines])
    return [{"role": "user", "content": text}]


def probe_specs(model: str, inst: Instrument, controls: Instrument) -> list[ProbeSpec]:
    """Every trial of the probe of ``inst`` on ``model``: the items' two variants, then the controls'."""
    out = []
    for source, pair in (
        (inst, (ProbeVariant.OPENING, ProbeVariant.OPTIONS)),
        (controls, (ProbeVariant.CONTROL_OPENING, ProbeVariant.CONTROL_OPTIONS)),
    ):
        for item in source.items:
            for variant in pair:
                out.append(
                    ProbeSpec(
                        model, inst.id, item.id, variant, messages_for(item, variant), cut_of(item, variant).truth
                    )
                )
    return out


async def probe_one(spec: ProbeSpec, run_id: str, call: CallSettings) -> Trial:
    """Make one probe trial and return its record; a failed call is a trial with status error, never a raise."""
    started = now()
    result = await client.complete(spec.model, spec.messages, call, max_tokens=MAX_REPLY_TOKENS)
    text = result.text
    if result.error:
        status = Status.ERROR
    elif not continuation_of(text).strip():
        status = Status.EMPTY
    else:
        status = Status.ANSWERED
    return Trial(
        run_id=run_id,
        model=spec.model,
        instrument=spec.instrument,
        item_id=spec.item_id,
        repetition=spec.repetition,
        protocol=PROTOCOL,
        protocol_version=PROTOCOL_VERSION,
        option_order=OptionOrder.ORIGINAL,
        shown_order=[],
        prompt=spec.messages,
        raw_reply=text,
        model_returned=result.model_returned,
        finish_reason=result.finish_reason,
        status=status,
        parse_rule=spec.variant.value,
        score=compare(continuation_of(text), spec.truth).ratio if status == Status.ANSWERED else None,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost=result.cost,
        latency_s=result.latency_s,
        attempts=result.attempts,
        error=result.error if result.error else ("; ".join(result.errors) or None),
        started_at=started,
        finished_at=now(),
        reasoning=result.reasoning or inline_reasoning(text),
        reasoning_tokens=result.reasoning_tokens,
    )
