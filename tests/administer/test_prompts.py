from __future__ import annotations

from collections import Counter

import pytest

from eitest.administer.prompts import PROTOCOLS, get_protocol, shown_order
from eitest.instruments import catalogue


@pytest.fixture(scope="module")
def steu():
    return catalogue()["open-steu"]


def test_standard_prompt_layout(steu):
    item = steu.items[0]
    shown = ["c", "a", "b", "e", "d"]
    (msg,) = get_protocol("standard").messages(steu, item, shown)
    text = msg["content"]
    assert msg["role"] == "user"
    assert text.startswith(steu.instructions.strip())
    assert item.stem.strip() in text and item.question in text
    assert f"A) {item.option('c').text}" in text and f"E) {item.option('d').text}" in text
    assert text.endswith("Answer with the letter of one option only.")


def test_protocols_are_versioned():
    for p in PROTOCOLS.values():
        assert p.version and p.closing
    assert "ANSWER: <letter>" in PROTOCOLS["reasoning"].closing
    assert PROTOCOLS["json"].structured


def test_shuffled_is_seeded_and_varies(steu):
    item = steu.items[0]
    a = shown_order("shuffled", item, model="m", instrument="open-steu", repetition=0, seed=1)
    assert a == shown_order("shuffled", item, model="m", instrument="open-steu", repetition=0, seed=1)
    assert sorted(a) == sorted(item.option_ids)
    orders = {
        tuple(shown_order("shuffled", item, model="m", instrument="open-steu", repetition=r, seed=1)) for r in range(20)
    }
    assert len(orders) > 10


def test_rotated_balances_positions(steu):
    item = steu.items[0]
    positions = Counter()
    for r in range(10):  # two full cycles of five options
        order = shown_order("rotated", item, model="m", instrument="x", repetition=r, seed=0)
        for pos, oid in enumerate(order):
            positions[(oid, pos)] += 1
    assert set(positions.values()) == {2}
    assert shown_order("original", item, model="m", instrument="x", repetition=3, seed=0) == item.option_ids


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_answer_text_is_read_back_as_its_position(name):
    from eitest.administer.parsing import parse_reply

    protocol = get_protocol(name)
    options = ["Anger", "Relief", "Guilt", "Pride", "Sadness"]
    replies = [protocol.answer_text(i) for i in range(len(options))]
    assert len(set(replies)) == len(options)
    for i, reply in enumerate(replies):
        got = parse_reply(reply, options, protocol=name)
        assert (got.status, got.position) == ("answered", i), reply


def test_answer_text_takes_each_protocols_form():
    assert get_protocol("standard").answer_text(2) == "C"
    assert get_protocol("json").answer_text(0) == '{"answer": "A"}'
    assert get_protocol("reasoning").answer_text(4).splitlines()[-1] == "ANSWER: E"
    with pytest.raises(ValueError, match="position 10 has no letter"):
        get_protocol("standard").answer_text(10)
