"""Hedged answers are not answers: a reply that offers two options as alternatives chooses neither.

The corpus (data/hedge_corpus.yaml) holds hedges between options and clean answers that
discuss other options; each hedge is checked with every option keyed, so that no hedge
can be scored as correct whatever the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from eitest.administer.parsing import ParseResult, parse_reply

CORPUS: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (Path(__file__).parent / "data" / "hedge_corpus.yaml").read_text(encoding="utf-8")
)
OPTIONS = {
    "emotions": ["Anger", "Relief", "Guilt", "Pride", "Sadness"],
    "actions": [
        "Talk to the manager about the schedule",
        "Quit the job immediately",
        "Say nothing and keep working extra hours",
        "Complain to coworkers during lunch",
    ],
}


def _parse(case: dict[str, Any]) -> ParseResult:
    return parse_reply(
        case["reply"], OPTIONS[case.get("options", "emotions")], protocol=case.get("protocol", "standard")
    )


def test_corpus_sizes():
    assert len(CORPUS["hedged"]) >= 40 and len(CORPUS["clean"]) >= 40
    replies = [c["reply"] for c in CORPUS["hedged"] + CORPUS["clean"]]
    assert len(replies) == len(set(replies))


@pytest.mark.parametrize("case", CORPUS["hedged"], ids=[c["reply"][:40] for c in CORPUS["hedged"]])
def test_a_hedge_is_never_an_answer(case: dict[str, Any]):
    got = _parse(case)
    assert got.status == "unparseable" and got.position is None, got
    assert got.rule in {"hedged", "multiple"}, got


@pytest.mark.parametrize("case", CORPUS["clean"], ids=[c["reply"][:40] for c in CORPUS["clean"]])
def test_a_clean_answer_is_read(case: dict[str, Any]):
    got = _parse(case)
    assert (got.status, got.position) == ("answered", case["position"]), got


def test_no_hedge_is_scored_whatever_the_key():
    # A hedge scored as the keyed answer is the defect: count over every key position.
    scored = 0
    for case in CORPUS["hedged"]:
        options = OPTIONS[case.get("options", "emotions")]
        for key in range(len(options)):
            scored += _parse(case).position == key
    assert scored == 0
    clean = sum(_parse(c).position == c["position"] for c in CORPUS["clean"])
    assert clean == len(CORPUS["clean"])


@pytest.mark.parametrize(
    "reply, rule",
    [
        ("Either D or A could be right", "multiple"),  # "A could": the letter, after "or"
        ("I can't decide between A and B", "hedged"),  # no longer a refusal: it names two options
        ("between B and C", "hedged"),
        ("B, unless it's C.", "hedged"),
        ("I'd pick B. Though honestly D works just as well.", "hedged"),
        ("D\nOr maybe A.", "hedged"),
        ("Answer: between B and C", "hedged"),
    ],
)
def test_hedges_carry_their_rule(reply: str, rule: str):
    assert parse_reply(reply, OPTIONS["emotions"]) == ParseResult("unparseable", None, rule)


def test_what_comes_before_the_choice_is_deliberation():
    emotions = OPTIONS["emotions"]
    assert parse_reply("A is equally plausible at first, but I'd choose B.", emotions).position == 1
    assert parse_reply("I'd choose B. A is equally plausible.", emotions).rule == "hedged"
    # negated: not an offer
    assert parse_reply("B, but C is not equally plausible.", emotions).position == 1
