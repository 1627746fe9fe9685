"""Prompt protocols (item -> chat messages) and the option order shown in each trial.

A protocol is named and versioned: the version is stored with every trial, so a
change of wording is a new version and never silently mixes with old trials.
"""

from __future__ import annotations

import hashlib
import random
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eitest.instruments import Instrument, Item
from eitest.instruments.model import MAX_OPTIONS
from eitest.vocabulary import OptionOrder, ProtocolName

# One letter per option, as the parser reads them back; validation keeps items within them.
LETTERS = string.ascii_uppercase[:MAX_OPTIONS]
# Every character that ends a line for str.splitlines() or for a model's tokenizer. Inside an
# option text one would put the rest of the text on a line of its own, where "B) ..." reads
# as another option: the prompt shows each option on one line, whatever its text holds.
LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029\x0b\x0c\x1c\x1d\x1e\x85]+\s*")


def option_line(letter: str, text: str) -> str:
    """``"B) text"``, with any line break inside the text shown as one space."""
    return f"{letter}) {_on_one_line(text)}"


# Cached by text (shuffled, an option gets another letter from trial to trial): every trial's prompt is built on the event loop's thread.
@lru_cache(maxsize=8192)
def _on_one_line(text: str) -> str:
    return LINE_BREAKS.sub(" ", text.strip())


@dataclass(frozen=True)
class Protocol:
    name: ProtocolName
    version: str
    closing: str
    max_tokens: int  # generous ceiling for the reply
    expected_completion_tokens: int  # for cost estimates before a run
    # A well-formed reply under this protocol, "{letter}" standing for the chosen option's letter;
    # the offline responders give it, so they are read by the same parser as a model.
    answer_form: str = "{letter}"
    structured: bool = False  # ask the provider for a JSON object when it supports it
    logprobs: bool = False  # read the first token's probabilities over the letters (eitest.administer.letter_probs)

    def answer_text(self, position: int) -> str:
        """The reply a well-behaved model gives under this protocol to choose the option shown at ``position``."""
        if not 0 <= position < len(LETTERS):
            raise ValueError(f"position {position} has no letter: options are lettered {LETTERS[0]} to {LETTERS[-1]}")
        return self.answer_form.format(letter=LETTERS[position])

    def messages(self, instrument: Instrument, item: Item, shown: list[str]) -> list[dict[str, str]]:
        """One fresh conversation: the instrument's instructions, the situation, the question, lettered options."""
        if len(shown) > len(LETTERS):
            raise ValueError(f"item {item.id} shows {len(shown)} options; they are lettered A to Z, so 26 at most")
        texts = tuple([item.option(oid).text for oid in shown])
        content = _prompt_text(instrument.instructions, item.stem, item.question, texts, self.closing)
        return [{"role": "user", "content": content}]


# Cached by its parts' texts: every repetition of an item shown in the same order asks the same (a fresh list each time).
@lru_cache(maxsize=4096)
def _prompt_text(instructions: str, stem: str, question: str, options: tuple[str, ...], closing: str) -> str:
    lines = [instructions.strip(), "", stem.strip(), "", question.strip(), ""]
    lines += [option_line(letter, text) for letter, text in zip(LETTERS, options, strict=False)]
    lines += ["", closing]
    return "\n".join(lines)


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol(
            ProtocolName.STANDARD,
            "1",
            "Answer with the letter of one option only.",
            max_tokens=64,
            expected_completion_tokens=4,
        ),
        Protocol(
            ProtocolName.REASONING,
            "1",
            "Think it through step by step. Then give your final answer on the last line, "
            "in the form 'ANSWER: <letter>', choosing exactly one option.",
            max_tokens=2048,
            expected_completion_tokens=350,
            answer_form="Weighing the options against the situation.\nANSWER: {letter}",
        ),
        Protocol(
            ProtocolName.JSON,
            "1",
            'Reply with a JSON object only, of the form {"answer": "<letter>"}, choosing exactly one option.',
            max_tokens=64,
            expected_completion_tokens=10,
            answer_form='{{"answer": "{letter}"}}',
            structured=True,
        ),
        # One token: its probabilities over the shown letters are the answer, so the letter must come first.
        Protocol(
            ProtocolName.LOGPROBS,
            "1",
            "Answer with the letter of one option only, nothing else.",
            max_tokens=1,
            expected_completion_tokens=1,
            logprobs=True,
        ),
    )
}


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        from eitest.errors import EitestError

        raise EitestError(f"unknown protocol {name!r}; use one of {', '.join(PROTOCOLS)}") from None


def _seed_for(*parts: Any) -> int:
    # A stable seed (Python's hash() changes between processes).
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def shown_order(mode: str, item: Item, *, model: str, instrument: str, repetition: int, seed: int) -> list[str]:
    """Option ids in the order shown to the model in one trial.

    ``original`` keeps the listed order; ``shuffled`` draws a permutation seeded by
    (seed, model, instrument, item, repetition), so a rerun shows the same order;
    ``rotated`` moves the listed order left by ``repetition`` places, so over a
    multiple of the option count every option takes every position equally often.
    """
    ids = item.option_ids
    if mode == "original":
        return ids
    if mode == "shuffled":
        rng = random.Random(_seed_for(seed, model, instrument, item.id, repetition))
        out = ids[:]
        rng.shuffle(out)
        return out
    if mode == "rotated":
        k = repetition % len(ids)
        return ids[k:] + ids[:k]
    from eitest.errors import EitestError

    raise EitestError(f"unknown option order {mode!r}; use one of {', '.join(OptionOrder)}")
