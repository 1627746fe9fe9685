"""The answer-distribution tables: per item against the expert profile, per test, and against sampled answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from eitest.cli import cli
from eitest.instruments import catalogue
from eitest.scoring.analysis import analyze


def hand_jsd(p: list[float], q: list[float]) -> float:
    m = [(a + b) / 2 for a, b in zip(p, q, strict=True)]
    half = [sum(x * math.log2(x / c) for x, c in zip(d, m, strict=True) if x > 0) / 2 for d in (p, q)]
    return math.sqrt(sum(half))


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """The oracle and the chance responder on open-stem: sampled answers first, then the logprobs protocol."""
    db = tmp_path_factory.mktemp("dist") / "d.db"
    base = ["run", "-m", "eitest/oracle", "-m", "eitest/chance", "-i", "open-stem", "--yes", "--db", str(db)]
    for extra in (["--reps", "2"], ["--protocol", "logprobs", "--option-order", "shuffled", "--reps", "2"]):
        res = CliRunner().invoke(cli, [*base, *extra])
        assert res.exit_code == 0, res.output
    return db


def test_items_beside_the_expert_profile_and_the_test_summary(store):
    stem = catalogue()["open-stem"]
    a = analyze(store, n_boot=200)
    items = a.distributions.set_index(["model", "item_id"])
    tops = sum(it.credit(it.best_option) for it in stem.items)
    for it in stem.items:
        ids = it.option_ids
        weights = [it.weights[o] for o in ids]
        profile = [w / sum(weights) for w in weights]
        oracle = items.loc[("eitest/oracle", it.id)]
        assert oracle["expert_profile"] == pytest.approx(dict(zip(ids, profile, strict=True)), abs=1e-12)
        one_hot = [1.0 if o == it.best_option else 0.0 for o in ids]
        assert oracle["jsd"] == pytest.approx(hand_jsd(one_hot, profile), abs=1e-12)
        chance = items.loc[("eitest/chance", it.id)]
        assert chance["jsd"] == pytest.approx(hand_jsd([0.25] * 4, profile), abs=1e-12)
        assert chance["expected_credit"] == pytest.approx(sum(weights) / 4, abs=1e-12) and chance["n_reps"] == 2
    summary = a.distribution_summary.set_index("model")
    assert summary.loc["eitest/oracle", "expected_score"] == pytest.approx(1.0, abs=1e-12)
    chance_expected = sum(sum(it.weights.values()) / 4 for it in stem.items) / tops
    assert summary.loc["eitest/chance", "expected_score"] == pytest.approx(chance_expected, abs=1e-12)
    low, high = summary.loc["eitest/chance", ["expected_ci_low", "expected_ci_high"]]
    assert low < chance_expected < high and summary.loc["eitest/chance", "n_items_jsd"] == len(stem.items)
    scores = a.scores.set_index("model")  # under logprobs: expectations over the distribution
    assert scores.loc["eitest/chance", "accuracy"] == pytest.approx(0.25, abs=1e-12)  # p of the top option
    assert scores.loc["eitest/chance", "weighted_score"] == pytest.approx(
        chance_expected * tops / len(stem.items), abs=1e-12
    )
    assert scores.loc["eitest/chance", "score"] == pytest.approx(chance_expected, abs=1e-12)
    assert summary.loc["eitest/oracle", "jsd_mean"] == pytest.approx(
        items.loc["eitest/oracle", "jsd"].mean(), abs=1e-12
    )


def test_agreement_with_the_sampled_answers_of_the_same_model(store):
    agreement = analyze(store, n_boot=50).distribution_agreement.set_index("model")
    oracle, chance = agreement.loc["eitest/oracle"], agreement.loc["eitest/chance"]
    assert (oracle["mean_p_sampled"], oracle["argmax_modal_share"], oracle["n_items"]) == (1.0, 1.0, 32)
    assert oracle["sampled_protocol"] == "standard"
    assert chance["mean_p_sampled"] == pytest.approx(0.25, abs=1e-12)  # uniform over 4: any answer gets 1/4
    assert chance["n_items_modal"] == 0 and math.isnan(chance["argmax_modal_share"])  # every argmax is a tie


def test_analyze_json_holds_the_distributions_per_model_and_instrument(store):
    res = CliRunner().invoke(cli, ["analyze", "--db", str(store), "--json", "--boot", "100"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    by_model = {d["model"]: d for d in data["distributions"]}
    assert set(by_model) == {"eitest/oracle", "eitest/chance"}
    first = by_model["eitest/chance"]["items"][0]
    assert set(first) >= {"item_id", "distribution", "coverage", "expert_profile", "jsd"}
    assert first["distribution"] == pytest.approx({"a": 0.25, "b": 0.25, "c": 0.25, "d": 0.25}, abs=1e-12)
    assert first["coverage"] == pytest.approx(1.0)
    assert len(data["distribution_agreement"]) == 2


def test_a_store_without_the_logprobs_protocol_has_no_distributions(tmp_path):
    db = tmp_path / "plain.db"
    res = CliRunner().invoke(cli, ["run", "-m", "eitest/oracle", "-i", "open-stem", "--yes", "--db", str(db)])
    assert res.exit_code == 0, res.output
    a = analyze(db, n_boot=50)
    assert a.distributions.empty and a.distribution_summary.empty and a.distribution_agreement.empty
    assert a.to_dict()["distributions"] == []
    from eitest.scoring.distributions import AGREEMENT_COLUMNS

    assert list(a.distribution_agreement.columns) == AGREEMENT_COLUMNS  # as when a store's logprobs trials are read
