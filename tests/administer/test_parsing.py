"""Tests for eitest.administer.parsing: the reply corpus, plus the contracts the corpus cannot show."""

from __future__ import annotations

import time
from collections import Counter
from itertools import permutations
from pathlib import Path
from typing import Any

import pytest
import yaml

from eitest.administer import parsing
from eitest.administer.parsing import STATUSES, ParseResult, parse_reply
from eitest.administer.prompts import PROTOCOLS
from eitest.administer.reply_choice import option_pattern

CORPUS_PATH = Path(__file__).parent / "data" / "parse_corpus.yaml"
CORPUS: list[dict[str, Any]] = yaml.safe_load(CORPUS_PATH.read_text(encoding="utf-8"))["cases"]

EMOTIONS = ["Anger", "Relief", "Guilt", "Pride", "Sadness"]
ACTIONS = [
    "Talk to the manager about the schedule",
    "Quit the job immediately",
    "Say nothing and keep working extra hours",
    "Complain to coworkers during lunch",
]


def _parse(case: dict[str, Any]) -> ParseResult:
    return parse_reply(case["reply"], case["options"], protocol=case["protocol"], error=case.get("error"))


@pytest.mark.parametrize("case", CORPUS, ids=[c["id"] for c in CORPUS])
def test_corpus(case: dict[str, Any]) -> None:
    expect = case["expect"]
    got = _parse(case)
    assert (got.status, got.position) == (expect["status"], expect["position"]), got
    if "rule" in expect:
        assert got.rule == expect["rule"]


def test_corpus_is_well_formed() -> None:
    ids = [c["id"] for c in CORPUS]
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]
    assert len(CORPUS) >= 220
    for case in CORPUS:
        assert case["protocol"] in PROTOCOLS, case["id"]
        assert 2 <= len(case["options"]) <= 6, case["id"]
        status, position = case["expect"]["status"], case["expect"]["position"]
        assert status in STATUSES, case["id"]
        # A position exactly when answered, and always inside the shown options.
        assert (position is not None) == (status == "answered"), case["id"]
        assert position is None or 0 <= position < len(case["options"]), case["id"]
    statuses = Counter(c["expect"]["status"] for c in CORPUS)
    assert set(statuses) == set(STATUSES)


def test_error_outranks_reply() -> None:
    assert parse_reply("B", EMOTIONS, error="APIConnectionError") == ParseResult("error", None, "error")


def test_letters_map_to_shown_positions() -> None:
    # The same letter picks whatever was shown in that slot, whatever the text.
    shuffled = ["Sadness", "Pride", "Relief", "Anger", "Guilt"]
    assert parse_reply("C", shuffled).position == 2
    assert parse_reply("Relief", shuffled).position == 2
    assert parse_reply("C) Relief", shuffled) == ParseResult("answered", 2, "letter_with_text")
    assert parse_reply("B) Relief", shuffled) == ParseResult("unparseable", None, "contradiction")


@pytest.mark.parametrize("reply", ["a feeling of relief", "A feeling of relief.", "a sense of relief"])
def test_article_a_is_not_option_a(reply: str) -> None:
    options = ["Embarrassment", "Anger", "Relief", "Jealousy", "Hope"]
    got = parse_reply(reply, options)
    assert (got.status, got.position) == ("answered", 2)


def test_pronoun_i_becomes_a_letter_only_with_nine_options() -> None:
    nine = [f"Option text {n}" for n in range(9)]
    assert parse_reply("I", nine) == ParseResult("answered", 8, "lone_letter")
    assert parse_reply("I", EMOTIONS) == ParseResult("unparseable", None, "out_of_range")
    assert parse_reply("I think C.", EMOTIONS).position == 2


def test_reasoning_takes_last_answer_line_but_standard_does_not_guess() -> None:
    reply = "ANSWER: A\nHmm, let me look again at what happened to her.\nANSWER: B"
    assert parse_reply(reply, EMOTIONS, protocol="reasoning") == ParseResult("answered", 1, "answer_line")
    assert parse_reply(reply, EMOTIONS, protocol="standard") == ParseResult("unparseable", None, "multiple")


def test_answer_stated_despite_refusal_counts() -> None:
    assert parse_reply("As an AI I can't feel emotions.", EMOTIONS).status == "refused"
    assert parse_reply("As an AI I can't feel emotions.\nAnswer: B", EMOTIONS).position == 1


def test_mentions_skip_negated_clauses_and_weigh_tentative_ones() -> None:
    # Negated: no choice at all. Tentative alternatives: several. A firm one beside a hedge: that one.
    assert parse_reply("Anger (A) doesn't fit, since nobody wronged her.", EMOTIONS).rule == "no_answer"
    assert parse_reply("She might feel anger, or she might feel sadness.", EMOTIONS).rule == "multiple"
    assert parse_reply("Probably relief, though some guilt is possible.", EMOTIONS).position == 1
    long_discussion = "Relief is worth discussing at length here. " + "Her weeks of study matter too. " * 20
    assert parse_reply(long_discussion, EMOTIONS).status == "unparseable"


def test_unclosed_think_block_is_cut_off() -> None:
    leaning = "<think>\nRelief seems most likely here, but let me check sadness"
    assert parse_reply(leaning, EMOTIONS, protocol="reasoning") == ParseResult("unparseable", None, "no_answer")
    assert parse_reply(leaning + "\nANSWER: B", EMOTIONS, protocol="reasoning").position == 1


def test_multi_word_option_text_tolerates_case_and_punctuation() -> None:
    assert parse_reply("TALK TO THE MANAGER, ABOUT THE SCHEDULE!", ACTIONS).position == 0
    assert parse_reply("Answer: Quit the job immediately", ACTIONS) == ParseResult("answered", 1, "answer_line")


def test_every_prompt_protocol_is_readable() -> None:
    for name in PROTOCOLS:
        assert parse_reply("B", EMOTIONS, protocol=name) == ParseResult("answered", 1, "lone_letter")


def test_invalid_arguments_raise() -> None:
    with pytest.raises(ValueError, match="protocol"):
        parse_reply("B", EMOTIONS, protocol="chat")
    with pytest.raises(ValueError, match="options"):
        parse_reply("B", ["Only one"])
    with pytest.raises(ValueError, match="options"):
        parse_reply("B", "ABCDE")


def test_parse_is_fast() -> None:
    # The runner parses every reply of every trial; a long reasoning trace must stay cheap.
    trace = ("Option A (anger) seems unlikely; relief and guilt both deserve a look. " * 200) + "\nANSWER: B"
    start = time.perf_counter()
    for _ in range(50):
        assert parse_reply(trace, EMOTIONS, protocol="reasoning").position == 1
    assert (time.perf_counter() - start) / 50 < 0.02


def test_an_items_options_are_compiled_once_whatever_order_they_are_shown_in() -> None:
    # Shuffled runs show nearly every trial's options in an order of its own; the patterns are cached by text.
    texts = ("Talk to the manager", "Leave the room quietly", "Ask a colleague for advice", "Wait and see")
    parsing._read_short.cache_clear()  # each reply below is read, not looked up (another test may have read it)
    parse_reply("B", texts)
    before = option_pattern.cache_info()
    for order in permutations(texts):
        assert parse_reply(order[1], order).position == 1
    after = option_pattern.cache_info()
    assert after.misses == before.misses
    assert after.hits - before.hits >= 24 * len(texts)


def test_a_short_reply_read_again_is_looked_up_and_reads_as_it_did() -> None:
    # Every reply of the corpus short enough to be kept reads the same from the look-up as read afresh.
    short = [
        c
        for c in CORPUS
        if c.get("error") is None and (c["reply"] or "").strip() and len(c["reply"]) <= parsing.SHORT_REPLY
    ]
    assert len(short) >= 150
    parsing._read_short.cache_clear()
    for case in short:
        options = tuple(case["options"])
        fresh = parsing._read(case["reply"], options, case["protocol"])
        assert _parse(case) == fresh, case["id"]
        assert _parse(case) is _parse(case), case["id"]  # the second reading is the first one's result
    info = parsing._read_short.cache_info()
    assert info.misses == len({(c["reply"], tuple(c["options"]), c["protocol"]) for c in short})
    # A long reply is read each time (the look-up would keep kilobytes of reasoning per entry).
    trace = "Relief and guilt both deserve a look. " * 10 + "\nANSWER: B"
    assert len(trace) > parsing.SHORT_REPLY
    parse_reply(trace, EMOTIONS, protocol="reasoning")
    assert parsing._read_short.cache_info().currsize == info.currsize


def test_the_look_up_of_a_reply_is_by_its_options_in_order_and_its_protocol() -> None:
    parsing._read_short.cache_clear()
    assert parse_reply("Relief", EMOTIONS).position == 1
    assert parse_reply("Relief", EMOTIONS[::-1]).position == 3  # the same reply, the options shown reversed
    assert parse_reply("Relief", ACTIONS).rule == "no_answer"  # another item's options
    reasoning = "Weighing it up.\nANSWER: B\nANSWER: C"
    assert parse_reply(reasoning, EMOTIONS, protocol="reasoning").position == 2  # the last answer line wins
    assert parse_reply(reasoning, EMOTIONS, protocol="standard").position != 2
