"""The position-bias randomization test, checked by simulation with responders of known behaviour.

A responder sees an item's options in the order the design drew (shuffled: a fresh
uniform permutation per trial; rotated: the listed order moved left by the
repetition, as eitest.administer.prompts does) and picks an option. Position-blind
responders (whatever their content preferences) must be flagged at no more than
the nominal 5 %; responders that follow a position must be flagged.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from eitest.stats import position_bias
from eitest.stats.position import position_bias as position_bias_here

# responder(rng, options as listed, options as shown, keyed option, content preferences) -> chosen option or None
Responder = Callable[[np.random.Generator, list[str], list[str], str, np.ndarray], str | None]


def simulate(
    responder: Responder, order: str, reps: int, seed: int, n_items: int = 40, sizes: tuple[int, ...] = (4, 5)
) -> pd.DataFrame:
    """Trials of one simulated responder; item i has sizes[i % len(sizes)] options, keyed on the last listed."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_items):
        k = sizes[i % len(sizes)]
        listed = [f"q{i}o{j}" for j in range(k)]
        prefs = rng.dirichlet(np.ones(k))  # this responder's own content preferences for this item
        for r in range(reps):
            if order == "shuffled":
                shown = [listed[j] for j in rng.permutation(k)]
            elif order == "rotated":
                shown = listed[r % k :] + listed[: r % k]
            else:
                shown = listed
            chosen = responder(rng, listed, shown, listed[-1], prefs)
            rows.append({"item_id": f"q{i}", "repetition": r, "shown_order": shown, "chosen_option": chosen})
    return pd.DataFrame(rows)


def blind(rng, listed, shown, key, prefs):
    # position-blind, content-driven, and now and then no answer (also blind to position)
    return None if rng.random() < 0.05 else listed[rng.choice(len(listed), p=prefs)]


def sixty_percent(rng, listed, shown, key, prefs):
    others = [o for o in listed if o != key]
    return key if rng.random() < 0.6 else others[rng.integers(len(others))]


def same_every_time(rng, listed, shown, key, prefs):
    return listed[int(np.argmax(prefs))]


def first_shown(rng, listed, shown, key, prefs):
    return shown[0]


def half_position_a(rng, listed, shown, key, prefs):
    return shown[0] if rng.random() < 0.5 else listed[int(np.argmax(prefs))]


def run(responder: Responder, order: str, reps: int, seeds: range, **kw) -> list[dict]:
    return [position_bias(simulate(responder, order, reps, seed, **kw), order, seed=seed) for seed in seeds]


# --------------------------------------------------------------------------- false positives


@pytest.mark.parametrize(("order", "reps"), [("shuffled", 3), ("rotated", 5)])
def test_position_blind_responders_are_flagged_at_most_at_the_nominal_rate(order, reps):
    results = run(blind, order, reps, range(20))
    assert sum(r["flag"] for r in results) <= 2
    assert sum(r["p"] < 0.05 for r in results) <= 3  # the p itself is not anticonservative either
    assert all(r["reason"] is None and 0 < r["p"] <= 1 for r in results)
    # the p values spread over (0, 1] as a valid test's do under H0, not bunched at either end
    ps = np.array([r["p"] for r in results])
    assert 0.25 < np.median(ps) < 0.75


@pytest.mark.parametrize(("order", "reps"), [("shuffled", 3), ("rotated", 5)])
def test_sixty_percent_accurate_position_blind_responder_is_not_flagged(order, reps):
    # keys all sit last in the file: the old keys-based null flagged this responder (p = .009)
    results = run(sixty_percent, order, reps, range(20))
    assert sum(r["p"] > 0.05 for r in results) >= 17
    assert sum(r["flag"] for r in results) <= 2


def test_deterministic_content_responder_is_never_flagged_under_rotation():
    # the same option every repetition: permuting an item's rotated orders only relabels its positions,
    # so every re-drawn design gives the observed statistic and p is exactly 1
    for r in run(same_every_time, "rotated", 5, range(5)):
        assert r["p"] == 1.0 and r["flag"] is False
    # shuffled, the same responder is position-blind: flagged at no more than the nominal rate
    assert sum(r["flag"] for r in run(same_every_time, "shuffled", 3, range(20))) <= 2


# --------------------------------------------------------------------------- power


@pytest.mark.parametrize(("order", "reps"), [("shuffled", 3), ("rotated", 5)])
def test_first_option_responder_is_flagged_every_time(order, reps):
    for r in run(first_shown, order, reps, range(5)):
        assert r["flag"] is True
        assert r["p"] == pytest.approx(1 / 2001)  # no re-drawn design reaches the observed statistic
        assert r["top_position"] == 0 and r["top_share"] == 1.0
        assert r["top_expected_share"] == pytest.approx((20 / 4 + 20 / 5) / 40)


@pytest.mark.parametrize(("order", "reps"), [("shuffled", 3), ("rotated", 5)])
def test_responder_that_picks_position_a_half_the_time_is_flagged(order, reps):
    for r in run(half_position_a, order, reps, range(3)):
        assert r["flag"] is True and r["p"] < 0.01 and r["top_position"] == 0
        assert r["top_share"] - r["top_expected_share"] > 0.25


# --------------------------------------------------------------------------- the reference distribution


def test_randomization_p_agrees_with_asymptotic_chi_square_on_a_large_shuffled_design():
    # Four options everywhere and many trials: under shuffling, Pearson's chi-square is then chi2(3) in the
    # limit, so the randomization p must match the asymptotic one within Monte Carlo error.
    def slightly_first(rng, listed, shown, key, prefs):
        return shown[0] if rng.random() < 0.04 else listed[rng.choice(4, p=prefs)]

    n_perm = 20000
    checked = []
    for responder, seed in ((blind, 1), (blind, 2), (slightly_first, 3), (slightly_first, 4)):
        trials = simulate(responder, "shuffled", 4, seed, n_items=400, sizes=(4,))
        r = position_bias(trials, "shuffled", n_perm=n_perm, seed=seed)
        assert r["df"] == 3 and r["p_asymptotic"] == pytest.approx(stats.chi2.sf(r["chi2"], 3), rel=1e-12)
        se = math.sqrt(r["p_asymptotic"] * (1 - r["p_asymptotic"]) / n_perm)
        assert abs(r["p"] - r["p_asymptotic"]) < 4 * se + 0.003, (seed, r["p"], r["p_asymptotic"])
        checked.append(r["p_asymptotic"])
    assert min(checked) < 0.2 and max(checked) > 0.2  # the check covers more than one part of the range


def test_statistic_by_hand_with_mixed_option_counts():
    trials = pd.DataFrame(
        {
            "item_id": ["a", "a", "b", "b", "c"],
            "repetition": [0, 1, 0, 1, 0],
            "shown_order": [["x", "y", "z"], ["z", "x", "y"], ["p", "q"], ["q", "p"], ["u", "v", "w"]],
            "chosen_option": ["x", "x", "p", None, "w"],
        }
    )
    r = position_bias(trials, "shuffled", n_perm=500, seed=4)
    # answered: x at 0, x at 1, p at 0, w at 2 -> observed (2, 1, 1); expected 1/3+1/3+1/2+1/3 for j = 0, 1
    expected = np.array([1 / 3 + 1 / 3 + 1 / 2 + 1 / 3] * 2 + [1 / 3 + 1 / 3 + 1 / 3])
    np.testing.assert_allclose(r["observed"], [2, 1, 1])
    np.testing.assert_allclose(r["expected"], expected, rtol=1e-12)
    assert r["expected"].sum() == pytest.approx(r["n"]) and r["n"] == 4
    assert r["chi2"] == pytest.approx((((np.array([2, 1, 1]) - expected) ** 2) / expected).sum(), rel=1e-12)
    assert r["df"] == 2 and r["n_perm"] == 500
    assert r["top_position"] == 0 and r["top_share"] == 0.5
    assert r["top_expected_share"] == pytest.approx(expected[0] / 4)
    # the exact null distribution is small enough to enumerate: positions uniform on 3, 3, 2, 3 options
    grid = np.stack(np.meshgrid(range(3), range(3), range(2), range(3), indexing="ij"), -1).reshape(-1, 4)
    counts = np.stack([(grid == j).sum(axis=1) for j in range(3)], axis=1)
    exact = (((counts - expected) ** 2 / expected).sum(axis=1) >= r["chi2"] - 1e-12).mean()
    assert r["p"] == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / 500) + 1 / 501)
    assert "re-shuffled" in r["method"] and "content, not on position" in r["method"]


def test_result_does_not_depend_on_the_index_and_is_reproducible():
    trials = simulate(half_position_a, "shuffled", 3, seed=9)
    ref = position_bias(trials, "shuffled", seed=1)
    odd = trials.set_axis([7] * len(trials))  # one repeated label for every row
    again = position_bias(odd, "shuffled", seed=1)
    assert again["p"] == ref["p"] and again["chi2"] == ref["chi2"]
    np.testing.assert_array_equal(again["observed"], ref["observed"])
    rotated = simulate(half_position_a, "rotated", 4, seed=9)
    assert position_bias(rotated.set_axis([0] * len(rotated)), "rotated")["p"] == position_bias(rotated, "rotated")["p"]
    assert position_bias_here is position_bias


# --------------------------------------------------------------------------- no test, and why


def test_original_order_gives_a_reason_not_a_p():
    r = position_bias(simulate(first_shown, "original", 3, seed=0), "original")
    assert math.isnan(r["p"]) and math.isnan(r["chi2"]) and math.isnan(r["p_asymptotic"]) and r["flag"] is False
    assert "confounded" in r["reason"] and "--option-order shuffled or rotated" in r["reason"]
    assert r["n"] == 120 and r["top_share"] == 1.0  # what was chosen is still described


def test_no_answered_trials_gives_a_reason():
    trials = simulate(first_shown, "shuffled", 2, seed=0, n_items=3).assign(chosen_option=None)
    r = position_bias(trials, "shuffled")
    assert r["n"] == 0 and math.isnan(r["p"]) and "no answered trials" in r["reason"]


def test_rotated_items_with_a_single_answered_repetition_are_left_out():
    trials = simulate(first_shown, "rotated", 4, seed=0, n_items=10)
    # item q0 keeps one answered repetition; the others keep all four
    trials.loc[(trials["item_id"] == "q0") & (trials["repetition"] > 0), "chosen_option"] = np.nan
    r = position_bias(trials, "rotated")
    assert r["n"] == 36 and r["n_left_out"] == 1 and "1 trial(s)" in r["method"]
    none_twice = trials[trials["repetition"] == 0]
    r = position_bias(none_twice, "rotated")
    assert math.isnan(r["p"]) and "two or more answered repetitions" in r["reason"]


def test_rotated_orders_that_never_vary_give_a_reason():
    trials = simulate(first_shown, "rotated", 4, seed=0, n_items=6, sizes=(2,))
    same = trials[trials["repetition"].isin([0, 2])]  # with two options, rotations 0 and 2 coincide
    r = position_bias(same, "rotated")
    assert math.isnan(r["p"]) and "confounded" in r["reason"]


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_named():
    trials = simulate(first_shown, "shuffled", 2, seed=0, n_items=3)
    wrong = trials.copy()
    wrong.loc[4, "chosen_option"] = "zz"
    with pytest.raises(ValueError, match=r"row 4 \(item 'q2'\): chosen_option 'zz' is not among"):
        position_bias(wrong, "shuffled")
    no_item = trials.copy()
    no_item.loc[2, "item_id"] = None
    with pytest.raises(ValueError, match=r"item_id is missing in row\(s\) \[2\]"):
        position_bias(no_item, "rotated")
    with pytest.raises(ValueError, match="unknown option order 'sorted'"):
        position_bias(trials, "sorted")
    with pytest.raises(ValueError, match="n_perm must be a whole number"):
        position_bias(trials, "shuffled", n_perm=2.5)
    with pytest.raises(ValueError, match="lacks column"):
        position_bias(trials.drop(columns="shown_order"), "shuffled")
    with pytest.raises(ValueError, match="shown_order must be a list"):
        position_bias(trials.assign(shown_order="abc"), "shuffled")
    with pytest.raises(ValueError, match="at least 2 distinct options"):
        position_bias(trials.assign(shown_order=[["a", "a"]] * len(trials), chosen_option="a"), "shuffled")


def test_reading_each_distinct_order_once_gives_the_row_by_row_reading():
    from eitest.stats.position import _read_rows, _read_trials

    rng = np.random.default_rng(4)
    orders = [["a", "b", "c"], ["c", "a", "b"], ["b", "c", "a", "d"]]
    shared = [orders[i] for i in rng.integers(0, 3, 300)]
    frame = pd.DataFrame(
        {
            "item_id": [f"i{i % 7}" for i in range(300)],
            "shown_order": shared,
            "chosen_option": [None if rng.random() < 0.1 else o[int(rng.integers(0, 3))] for o in shared],
        }
    )
    fast, slow = _read_trials(frame), _read_rows(frame)
    assert np.array_equal(fast[0], slow[0]) and np.array_equal(fast[1], slow[1])
    assert (fast[1] == -1).sum() == frame["chosen_option"].isna().sum() > 0
    frame.loc[17, "chosen_option"] = "z"
    with pytest.raises(ValueError, match=r"row 17 \(item 'i3'\): chosen_option 'z'"):
        _read_trials(frame)


def test_the_shared_draws_are_those_each_test_would_make():
    from eitest.stats import uniform_stream

    for designs, trials, k in [(3, 5, 4), (40, 70, 5), (7, 11, 4), (2000, 90, 3)]:  # grows, then reuses
        want = (np.random.default_rng(9).random((designs, trials)) * k).astype(np.int64)
        got = uniform_stream.shuffled_positions(9, designs, trials, k)
        assert got is not None and np.array_equal(got, want)
    assert uniform_stream.shuffled_positions(9, 10, uniform_stream.MAX_CELLS, 4) is None


def test_the_shared_draws_are_the_same_drawn_in_blocks(monkeypatch: pytest.MonkeyPatch):
    from eitest.stats import uniform_stream

    monkeypatch.setattr(uniform_stream, "_BLOCK", 7)
    monkeypatch.setattr(uniform_stream, "_cache", {})
    want = (np.random.default_rng(5).random((30, 13)) * 5).astype(np.int64)
    assert np.array_equal(uniform_stream.shuffled_positions(5, 30, 13, 5), want)


def test_position_bias_with_shared_draws_equals_drawing_afresh(monkeypatch: pytest.MonkeyPatch):
    from eitest.stats import uniform_stream

    rng = np.random.default_rng(2)
    orders = [list(rng.permutation(list("abcd"))) for _ in range(120)]
    frame = pd.DataFrame(
        {
            "item_id": [f"i{i % 30}" for i in range(120)],
            "repetition": [i // 30 for i in range(120)],
            "shown_order": orders,
            "chosen_option": [o[0] if rng.random() < 0.4 else "b" for o in orders],
        }
    )
    shared = position_bias(frame, "shuffled", n_perm=700, seed=4)
    monkeypatch.setattr(uniform_stream, "MAX_CELLS", 0)
    drawn = position_bias(frame, "shuffled", n_perm=700, seed=4)
    assert shared["p"] == drawn["p"] and shared["chi2"] == drawn["chi2"] and 0 < shared["p"] < 1


def test_the_shared_counts_are_those_of_the_shared_draws(monkeypatch: pytest.MonkeyPatch):
    from eitest.stats import uniform_stream

    monkeypatch.setattr(uniform_stream, "_cache", {})
    monkeypatch.setattr(uniform_stream, "_running", {})
    # grows, reuses, alternates option counts; designs shorter and longer than the checkpoints' step, not aligned
    for designs, trials, k in [(3, 5, 4), (40, 70, 5), (7, 11, 4), (2000, 90, 3), (3, 101, 5), (2, 70_000, 2)]:
        want = (np.random.default_rng(9).random((designs, trials)) * k).astype(np.int64)
        got = uniform_stream.shuffled_counts(9, designs, trials, k)
        assert got is not None and got.dtype == np.int64
        assert np.array_equal(got, np.stack([(want == j).sum(axis=1) for j in range(k)], axis=1))
    # another seed replaces the draws, and the counts follow them
    want = (np.random.default_rng(3).random((50, 64)) * 4).astype(np.int64)
    got = uniform_stream.shuffled_counts(3, 50, 64, 4)
    assert got is not None and np.array_equal(got, np.stack([(want == j).sum(axis=1) for j in range(4)], axis=1))
    assert set(uniform_stream._running) == {(3, 4)}
    assert uniform_stream.shuffled_counts(3, 10, uniform_stream.MAX_CELLS, 4) is None


def test_the_counts_before_each_end_are_exact_between_checkpoints():
    from eitest.stats.uniform_stream import _STEP, _checkpoints, _counts_before

    positions = np.random.default_rng(1).integers(0, 3, 10 * _STEP + 5).astype(np.int8)
    ends = np.array([0, 1, _STEP - 1, _STEP, _STEP + 1, 5 * _STEP + 33, positions.size - 1, positions.size])
    got = _counts_before(positions, _checkpoints(positions, 3), ends, 3)
    assert got.tolist() == [[int((positions[:e] == j).sum()) for j in range(2)] for e in ends]
