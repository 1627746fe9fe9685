"""The logprobs protocol: one token, its probabilities over the shown letters stored by option id."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import instrument_data
from ollama_server import OllamaServer
from openai_server import OPTION_LINE, Action, ScriptedServer, keyed_script, prompt_of

from eitest.administer.letter_probs import MIN_COVERAGE, letter_position, read_letter_probs
from eitest.cli import cli
from eitest.client.logprobs import DEFAULT_TOP_LOGPROBS, top_logprobs_for
from eitest.instruments import catalogue
from eitest.scoring.analysis import analyze
from eitest.store import Store
from eitest.vocabulary import Status

KEYED_P = 0.7


@pytest.fixture(scope="module")
def steu():
    return catalogue()["open-steu"]


def keyed_at_07(steu):
    """The keyed letter at 0.7 (as "B" and " B"), the other letters sharing 0.3 in dressed tokens."""
    keyed = keyed_script({it.stem.strip(): it.option(it.best_option).text for it in steu.items})

    def script(body):
        letter = keyed(body).reply
        others = [m for m, _ in OPTION_LINE.findall(prompt_of(body)) if m != letter]
        dressed = ["(" + others[0], others[1].lower(), others[2] + ")", " " + others[3] + "."]
        share = (1 - KEYED_P) / len(others)
        top = [(letter, 0.5), (" " + letter, KEYED_P - 0.5), *((t, share) for t in dressed)]
        return Action(reply=letter, top_logprobs=top)

    return script


def run(db: Path, url: str, *extra: str):
    args = ["run", "-m", "openai/lp", "-i", "open-steu", "--protocol", "logprobs", "--api-base", url]
    return CliRunner().invoke(cli, [*args, "--yes", "--db", str(db), *extra])


def test_keyed_letter_at_07_gives_those_distributions_and_an_expected_score_of_07(tmp_path, steu):
    db = tmp_path / "lp.db"
    with ScriptedServer(keyed_at_07(steu)) as srv:
        res = run(db, srv.url, "--reps", "2", "--option-order", "shuffled")
        bodies = srv.bodies
    assert res.exit_code == 0, res.output
    assert all(b["logprobs"] is True and b["top_logprobs"] == 20 and b["max_tokens"] == 1 for b in bodies)
    with Store(db) as store:
        trials = store.trials()
    assert len(trials) == 90 and set(trials["status"]) == {"answered"} and set(trials["parse_rule"]) == {"top_logprobs"}
    for t in trials.itertuples():
        key = steu.item(t.item_id).best_option
        assert t.option_probs[key] == pytest.approx(KEYED_P, abs=1e-12)
        assert sorted(t.option_probs) == sorted(steu.item(t.item_id).option_ids)
        assert all(p == pytest.approx(0.075, abs=1e-12) for o, p in t.option_probs.items() if o != key)
        assert t.coverage == pytest.approx(1.0, abs=1e-12) and t.chosen_option == key
        assert len(t.token_logprobs) == 6  # the provider's alternatives, verbatim
    assert abs(trials["score"].mean() - KEYED_P) < 1e-6
    assert trials["score"].sub(KEYED_P).abs().max() < 1e-6
    assert trials.groupby("item_id")["shown_order"].apply(lambda s: len({tuple(x) for x in s})).max() == 2
    analysis = analyze(db, n_boot=200)
    summary = analysis.distribution_summary.iloc[0]
    assert abs(summary["expected_score"] - KEYED_P) < 1e-6 and summary["n_items"] == 45
    score = analysis.scores.iloc[0]  # the test's score: the probability of the keyed option, as expected
    assert abs(score["score"] - KEYED_P) < 1e-6 and abs(score["accuracy"] - KEYED_P) < 1e-6
    assert summary["expected_ci_question"] == "new items like these"


@pytest.mark.parametrize("alternatives", [None, []], ids=["no logprobs", "the sampled token's alone"])
def test_a_server_without_logprobs_stops_the_run_with_one_clear_error(tmp_path, steu, alternatives):
    db = tmp_path / "none.db"
    keyed = keyed_script({it.stem.strip(): it.option(it.best_option).text for it in steu.items})

    def script(body):  # the letter, without a distribution over the letters
        return Action(reply=keyed(body).reply, top_logprobs=alternatives)

    with ScriptedServer(script) as srv:
        res = run(db, srv.url, "--concurrency", "1")
        requests = srv.requests
    assert res.exit_code == 2 and "Traceback" not in res.output
    (line,) = [ln for ln in res.output.splitlines() if ln.startswith("Error: ")]
    assert line.startswith(
        "Error: the provider returned no token probabilities (logprobs) for openai/lp: it cannot be run with "
        "--protocol logprobs; run it with --protocol standard, reasoning or json instead, which read the reply's "
        "text; 0 of 45 trials stored (run "
    )
    assert line.endswith("no further calls made")
    assert requests == 1  # one at a time: the first reply stops the run (with more, those in flight too)
    with Store(db) as store:
        assert len(store.trials()) == 0  # none answered, none stored: the run is still to do


def test_low_coverage_is_unparseable_with_its_distribution_kept(tmp_path, steu):
    db = tmp_path / "low.db"

    def script(body):
        return Action(reply="The", top_logprobs=[("The", 0.6), ("A", 0.3), ("B", 0.1)])

    with ScriptedServer(script) as srv:
        res = run(db, srv.url)
    assert res.exit_code == 0, res.output
    with Store(db) as store:
        trials = store.trials()
    assert set(trials["status"]) == {"unparseable"} and set(trials["parse_rule"]) == {"low_coverage"}
    assert trials["score"].isna().all() and trials["chosen_option"].isna().all()
    t = trials.iloc[0]
    shown = t["shown_order"]
    assert t["coverage"] == pytest.approx(0.4, abs=1e-12)
    assert t["option_probs"][shown[0]] == pytest.approx(0.75, abs=1e-12)
    assert t["option_probs"][shown[1]] == pytest.approx(0.25, abs=1e-12)


@pytest.mark.parametrize(
    "token, position",
    [("B", 1), (" B", 1), ("b", 1), ("(B", 1), ("B)", 1), ("B.", 1), ("**B", 1), ("\nB:", 1), ("E", 4)],
)
def test_token_variants_name_the_same_letter(token, position):
    assert letter_position(token, 5) == position


@pytest.mark.parametrize("token", ["F", "Be", "The", "", "**", "1", "AB"])
def test_tokens_that_name_no_shown_letter(token):
    assert letter_position(token, 5) is None


def test_variants_of_a_letter_are_summed_and_the_rest_is_outside_the_coverage():
    got = read_letter_probs([["B", math.log(0.4)], [" B", math.log(0.2)], ["(a", math.log(0.2)], ["I", -1.8]], 3)
    assert got.status == Status.ANSWERED and got.position == 1 and got.rule == "top_logprobs"
    assert got.coverage == pytest.approx(0.8, abs=1e-12)
    assert got.probs == pytest.approx([0.25, 0.75, 0.0], abs=1e-12)
    assert got.expected_credit([0.5, 0.2, 0.3]) == pytest.approx(0.25 * 0.5 + 0.75 * 0.2, abs=1e-12)


def test_coverage_at_the_threshold_is_answered_and_just_below_it_is_not():
    at = read_letter_probs([["A", math.log(MIN_COVERAGE)]], 4)
    below = read_letter_probs([["A", math.log(MIN_COVERAGE - 1e-9)]], 4)
    nothing = read_letter_probs([["Sure", -0.1]], 4)
    assert at.status == Status.ANSWERED and at.probs == [1.0, 0.0, 0.0, 0.0]
    assert (below.status, below.rule, below.position) == (Status.UNPARSEABLE, "low_coverage", None)
    assert (nothing.status, nothing.probs, nothing.coverage) == (Status.UNPARSEABLE, None, 0.0)


def test_a_tie_goes_to_the_sampled_token():
    tied = [["A", math.log(0.5)], ["C", math.log(0.5)]]
    assert read_letter_probs(tied, 3, sampled="C").position == 2
    assert read_letter_probs(tied, 3, sampled="B").position == 0


def test_top_logprobs_per_provider():
    assert top_logprobs_for("openai/gpt-4o") == 20 and top_logprobs_for("hosted_vllm/llama") == 20
    assert top_logprobs_for("gpt-4o") == 20  # litellm reads a bare name as OpenAI's
    assert top_logprobs_for("together_ai/x") == DEFAULT_TOP_LOGPROBS == 5


def test_offline_responders_give_their_distributions(tmp_path):
    db = tmp_path / "off.db"
    args = ["run", "-m", "eitest/oracle", "-m", "eitest/chance", "-i", "open-steu", "--protocol", "logprobs"]
    res = CliRunner().invoke(cli, [*args, "--yes", "--db", str(db)])
    assert res.exit_code == 0, res.output
    with Store(db) as store:
        trials = store.trials()
    oracle = trials[trials["model"] == "eitest/oracle"]
    chance = trials[trials["model"] == "eitest/chance"]
    assert (oracle["score"] == 1.0).all() and (oracle["coverage"] == 1.0).all()
    assert all(p == pytest.approx(0.2, abs=1e-12) for d in chance["option_probs"] for p in d.values())
    assert chance["score"].mean() == pytest.approx(0.2, abs=1e-12)


def small_form(tmp_path: Path) -> str:
    items = [
        {
            "id": f"q{n}",
            "stem": f"Scene {n}: the exam Kim feared is cancelled.",
            "question": "What does Kim most likely feel?",
            "options": [{"id": o.lower(), "text": o} for o in ("Pride", "Relief", "Guilt")],
            "key": "relief",
        }
        for n in range(3)
    ]
    path = tmp_path / "form.yaml"
    path.write_text(yaml.safe_dump(instrument_data("form", items)), encoding="utf-8")
    return str(path)


def test_litellm_forwards_logprobs_to_a_vllm_server(tmp_path):
    db = tmp_path / "vllm.db"

    def script(body):  # in the listed order B is Relief, the keyed option
        return Action(reply="B", top_logprobs=[("B", 0.9), ("A", 0.1)])

    with ScriptedServer(script) as srv:
        res = CliRunner().invoke(
            cli,
            ["run", "-m", "hosted_vllm/qwen", "-i", small_form(tmp_path), "--protocol", "logprobs"]
            + ["--api-base", srv.url, "--yes", "--db", str(db)],
        )
        bodies = srv.bodies
    assert res.exit_code == 0, res.output
    assert all(b["logprobs"] is True and b["top_logprobs"] == 20 for b in bodies) and len(bodies) == 3
    with Store(db) as store:
        scores = store.trials()["score"]
    assert scores.to_list() == pytest.approx([0.9, 0.9, 0.9], abs=1e-12)


def test_an_ollama_server_gets_no_logprobs_through_litellm_and_the_run_stops(tmp_path):
    db = tmp_path / "ollama.db"
    with OllamaServer(lambda body: Action(reply="B", top_logprobs=[("B", 1.0)])) as srv:
        res = CliRunner().invoke(
            cli,
            ["run", "-m", "ollama_chat/llama3", "-i", small_form(tmp_path), "--protocol", "logprobs"]
            + ["--api-base", srv.url, "--concurrency", "1", "--yes", "--db", str(db)],
        )
        sent = [b for _, b in srv.requests]
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "returned no token probabilities (logprobs) for ollama_chat/llama3" in res.output
    assert len(sent) == 1 and "logprobs" not in sent[0] and "top_logprobs" not in sent[0]  # litellm drops them
    with Store(db) as store:
        assert store.trials().empty
