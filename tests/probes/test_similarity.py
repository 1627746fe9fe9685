"""The probe's similarity measures, against independent computations (brute force and a hand count)."""

from __future__ import annotations

import itertools
import random

import pytest

from eitest.probes.similarity import compare, longest_common_run, tokens


def _lcs_subsequence(a: str, b: str) -> int:
    """Longest common subsequence by the textbook table (the Indel distance is len(a) + len(b) - 2 * this)."""
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a, 1):
        for j, y in enumerate(b, 1):
            table[i][j] = table[i - 1][j - 1] + 1 if x == y else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def _longest_substring(a, b) -> int:
    """The longest common contiguous run of two sequences, by trying every pair of starts."""
    best = 0
    for i, j in itertools.product(range(len(a)), range(len(b))):
        k = 0
        while i + k < len(a) and j + k < len(b) and a[i + k] == b[j + k]:
            k += 1
        best = max(best, k)
    return best


PAIRS = [
    ("the cat sat on the mat", "the dog sat on a mat"),
    ("She opens the letter, and smiles.", "she opens the LETTER and smiles"),
    ("Relief\nPride\nGuilt", "Pride\nRelief\nGuilt"),
    ("a b c d e f", "f e d c b a"),
]


@pytest.mark.parametrize(("reply", "truth"), PAIRS)
def test_each_measure_matches_an_independent_computation(reply: str, truth: str):
    sim = compare(reply, truth)
    said, true = " ".join(tokens(reply)[: len(tokens(truth))]), " ".join(tokens(truth))
    assert sim.ratio == pytest.approx(2 * _lcs_subsequence(said, true) / (len(said) + len(true)), abs=1e-12)
    assert sim.lcs_chars == _longest_substring(said, true)
    assert sim.lcs_tokens == _longest_substring(said.split(), true.split())
    assert sim.n_true_tokens == len(tokens(truth))


def test_the_token_overlap_counts_shared_words_as_a_multiset():
    # truth: the cat sat on the mat (6 tokens); reply shares the (once), sat, on, mat
    sim = compare("the dog sat on a mat", "the cat sat on the mat")
    assert sim.token_overlap == pytest.approx(4 / 6, abs=1e-15)
    assert (sim.lcs_tokens, sim.lcs_chars) == (2, len(" sat on "))


def test_case_punctuation_and_a_continuation_past_the_end_do_not_count():
    truth = "Nobody else in the room seems to notice."
    sim = compare("nobody ELSE in the room, seems to notice! And then she left the room.", truth)
    assert (sim.ratio, sim.token_overlap, sim.lcs_tokens) == (1.0, 1.0, 8)


def test_an_empty_or_missing_reply_is_no_similarity():
    for reply in ("", None, "   ", "!!!"):
        sim = compare(reply, "some true text")
        assert (sim.ratio, sim.token_overlap, sim.lcs_tokens, sim.lcs_chars) == (0.0, 0.0, 0, 0)


def test_the_longest_common_run_agrees_with_brute_force_on_random_sequences():
    rng = random.Random(3)
    for _ in range(50):
        a = [rng.choice("abc") for _ in range(rng.randint(0, 12))]
        b = [rng.choice("abc") for _ in range(rng.randint(0, 12))]
        assert longest_common_run(a, b) == _longest_substring(a, b)
