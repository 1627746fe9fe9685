"""Scores under the logprobs protocol: one definition of share correct, intervals fit for expected credits,
and norms that say an expected score is not one sitting.

The responders are offline: ``eitest/chance`` gives every shown option the same probability (a flat
distribution), ``eitest/oracle`` all of it to the keyed option. The norm below is synthetic (stated so).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from logprobs_store import N_ITEMS, logprobs_store

from eitest.scoring.against_norms import EXPECTED, EXPECTED_NOTE, FIRST
from eitest.scoring.analysis import analyze
from eitest.scoring.score_table import NO_WILSON_LOGPROBS
from eitest.scoring.scores import chose_keyed, keyed_credit, logprobs_pairs
from eitest.stats import wilson_over_items


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return logprobs_store(tmp_path_factory.mktemp("lp"), seed=3, option_order="shuffled")


@pytest.fixture(scope="module")
def norms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lpnorm") / "n.yaml"
    source = {"id": "synthetic-sample", "citation": "A synthetic sample for this test (2026)", "checked": "made up"}
    norm = {"instrument": "steu-lp", "sample": "synthetic"} | {
        k: {"value": v, "where": "test"} for k, v in (("n", 120), ("mean", 0.58), ("sd", 0.12))
    }
    path.write_text(yaml.safe_dump({"source": source, "norms": [norm]}), encoding="utf-8")
    return path


def test_a_flat_distribution_scores_its_keyed_probability_and_gets_no_wilson_interval(db: Path):
    scores = analyze(db, n_boot=100).scores.set_index("model")
    chance, oracle = scores.loc["eitest/chance"], scores.loc["eitest/oracle"]
    assert chance["accuracy"] == pytest.approx(0.2, abs=1e-12)  # five options, each 1/5
    # The old code gave Wilson's interval here, as if a fifth of the items had been answered right.
    assert wilson_over_items(np.full(N_ITEMS, 0.2))["ci_low"] > 0
    for row in (chance, oracle):
        assert math.isnan(row["wilson_ci_low"]) and math.isnan(row["wilson_ci_high"])
        assert row["wilson_ci_reason"] == NO_WILSON_LOGPROBS
    assert math.isnan(chance["rep_ci_low"]) and "no run-to-run variation" in chance["rep_ci_reason"]
    assert math.isnan(chance["item_ci_low"]) and "every item scored 0.2" in chance["item_ci_reason"]


def test_correct_is_the_most_probable_option_and_undefined_on_a_tie_while_credit_is_the_keyed_probability():
    # Hand-built trials: a sampled answer, a logprobs trial with a clear top, one with a tie at the top,
    # a flat one, and an unanswered one.
    trials = pd.DataFrame(
        {
            "protocol": ["standard", "logprobs", "logprobs", "logprobs", "logprobs"],
            "status": ["answered", "answered", "answered", "answered", "unparseable"],
            "shown_order": [["a", "b", "c"]] * 5,
            "keyed_position": [1, 0, 0, 2, 0],
            "chosen_position": [1, 1, 0, 0, None],
            "option_probs": [
                None,
                {"a": 0.3, "b": 0.6, "c": 0.1},
                {"a": 0.4, "b": 0.4, "c": 0.2},
                {"a": 1 / 3, "b": 1 / 3 + 1e-16, "c": 1 / 3 - 1e-16},
                None,
            ],
        },
        index=[10, 11, 12, 13, 14],  # not a range index: values are placed by position
    )
    got = chose_keyed(trials)
    assert list(got.iloc[:2]) == [1.0, 0.0] and got.iloc[2:].isna().all()
    credit = keyed_credit(trials)
    assert list(credit.iloc[:3]) == pytest.approx([1.0, 0.3, 0.4], abs=1e-15)
    assert credit.iloc[3] == pytest.approx(1 / 3 - 1e-16, abs=1e-15)
    assert logprobs_pairs(trials.assign(model="m", instrument="i")) == {("m", "i")}


def test_an_expected_score_on_the_human_norm_says_it_is_not_one_sitting(db: Path, norms: Path):
    a = analyze(db, norms=[norms], n_boot=100)
    r = a.scores.set_index("model").loc["eitest/chance"]
    assert r["compared_basis"] == f"{FIRST}, {EXPECTED} (the first of 2 repetitions)"
    assert r["compared_score"] == pytest.approx(0.2, abs=1e-12)
    bases = list(a.norm_comparison[a.norm_comparison["model"] == "eitest/chance"]["basis"])
    assert bases == [f"{FIRST}, {EXPECTED}", f"mean of 2 repetitions, {EXPECTED}"]
    assert f"eitest/chance on steu-lp: {EXPECTED_NOTE}" in a.notes
    assert not math.isnan(r["t"])  # still placed on the norm, as a labelled description
