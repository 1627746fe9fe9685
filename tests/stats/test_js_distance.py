"""Answer distributions: the Jensen-Shannon distance against a hand computation, and sampled answers vs distributions."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from eitest.stats.distributions import js_distance, mean_distribution, normalised, sampled_vs_distribution


def hand_jsd(p: list[float], q: list[float]) -> float:
    # Lin (1991): JSD = KL(P||M)/2 + KL(Q||M)/2 with M the midpoint; in bits; the distance is its root.
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    kl_p = sum(a * math.log2(a / c) for a, c in zip(p, m, strict=True) if a > 0)
    kl_q = sum(b * math.log2(b / c) for b, c in zip(q, m, strict=True) if b > 0)
    return math.sqrt(kl_p / 2 + kl_q / 2)


def test_js_distance_matches_a_hand_computation():
    p = {"a": 0.7, "b": 0.1, "c": 0.1, "d": 0.1}
    q = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}
    expected = hand_jsd([0.7, 0.1, 0.1, 0.1], [0.4, 0.3, 0.2, 0.1])
    assert js_distance(p, q) == pytest.approx(expected, abs=1e-12)
    # worked by hand: M = (.55, .2, .15, .1); KL(P||M) = .7 log2(.7/.55) + .1 log2(.1/.2) + .1 log2(.1/.15)
    kl_p = 0.7 * math.log2(0.7 / 0.55) + 0.1 * math.log2(0.5) + 0.1 * math.log2(0.1 / 0.15)
    kl_q = 0.4 * math.log2(0.4 / 0.55) + 0.3 * math.log2(0.3 / 0.2) + 0.2 * math.log2(0.2 / 0.15)
    assert js_distance(p, q) == pytest.approx(math.sqrt((kl_p + kl_q) / 2), abs=1e-12)
    assert 0.2 < expected < 0.3


def test_js_distance_bounds_and_missing_options():
    assert js_distance({"a": 1.0}, {"b": 1.0}) == pytest.approx(1.0, abs=1e-12)  # disjoint: 1 bit
    assert js_distance({"a": 0.5, "b": 0.5}, {"b": 0.5, "a": 0.5}) == pytest.approx(0.0, abs=1e-12)
    one_hot = {"a": 1.0}  # "b" missing: probability 0
    assert js_distance(one_hot, {"a": 0.5, "b": 0.5}) == pytest.approx(hand_jsd([1, 0], [0.5, 0.5]), abs=1e-12)
    with pytest.raises(ValueError):
        js_distance({"a": 0.0}, {"a": 1.0})


def test_expert_weights_become_a_profile_and_repetitions_average():
    assert normalised({"a": 0.6, "b": 0.2}, ["a", "b", "c"]) == pytest.approx({"a": 0.75, "b": 0.25, "c": 0.0})
    assert normalised({"a": 0.0}, ["a", "b"]) is None
    mean = mean_distribution([{"a": 1.0, "b": 0.0}, {"a": 0.5, "b": 0.5}], ["a", "b"])
    assert mean == pytest.approx({"a": 0.75, "b": 0.25}, abs=1e-15)


def test_sampled_answers_against_the_distribution():
    dist = pd.DataFrame(
        {
            "item_id": ["i1", "i2", "i3"],
            "distribution": [{"a": 0.8, "b": 0.2}, {"a": 0.5, "b": 0.5}, {"a": 0.1, "b": 0.9}],
        }
    )
    sampled = pd.DataFrame(
        {"item_id": ["i1", "i1", "i1", "i2", "i3", "i3", "i9"], "chosen_option": ["a", "a", "b", "a", "a", "b", "a"]}
    )
    got = sampled_vs_distribution(dist, sampled)
    # i1: (.8 + .8 + .2) / 3 = .6; i2: .5; i3: (.1 + .9) / 2 = .5; i9 has no distribution
    assert got["mean_p_sampled"] == pytest.approx((0.6 + 0.5 + 0.5) / 3, abs=1e-12)
    # i1: argmax a = modal a; i2: the distribution ties; i3: the sampled answers tie: only i1 counts
    assert (got["n_items"], got["n_items_modal"], got["argmax_modal_share"]) == (3, 1, 1.0)
