"""Reasoning models over HTTP: reasoning stored apart from the answer, and no temperature for models that refuse it."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

import pytest
import yaml
from anthropic_server import AnthropicServer
from conftest import instrument_data
from openai_server import Action, ScriptedServer, prompt_of

from eitest.administer.parsing import parse_reply
from eitest.administer.plan import make_plan
from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.administer.think_blocks import inline_reasoning
from eitest.client import NOT_SENT
from eitest.outputs.codebook import TRIAL_VARIABLES
from eitest.outputs.export import export
from eitest.store import Store

OPTIONS = ["Pride", "Relief", "Guilt"]  # keyed: Relief, shown second (option order original)


@pytest.fixture
def form(tmp_path: Path) -> str:
    items = [
        {
            "id": f"q{n}",
            "stem": f"Scene {n}: the exam Kim feared is cancelled.",
            "question": "What does Kim most likely feel?",
            "options": [{"id": o.lower(), "text": o} for o in OPTIONS],
            "key": "relief",
        }
        for n in range(3)
    ]
    path = tmp_path / "form.yaml"
    path.write_text(yaml.safe_dump(instrument_data("form", items)), encoding="utf-8")
    return str(path)


def stored(db: Path) -> list:
    with Store(db, create=False) as store:
        [run] = store.runs()
        return store.trial_records(run.id)


def run_config(db: Path) -> dict:
    with Store(db, create=False) as store:
        [run] = store.runs()
        return run.config


def scored_from_the_answer(trials: list) -> list[tuple]:
    """What each trial kept of its reply: the answer, the reasoning apart, and the score read from the answer."""
    return [(t.raw_reply, t.reasoning, t.status, t.parse_rule, t.chosen_option, t.score) for t in trials]


def test_a_deepseek_r1_reply_keeps_its_reasoning_apart_and_is_scored_from_the_answer(tmp_path: Path, form: str):
    # The reasoning names option A as a possibility and ends on "C?": read as the answer, it would not be B.
    thought = "Could it be A) Pride? No. Guilt? Kim did nothing. So not A, maybe C? No: relief."
    with ScriptedServer(lambda body: Action(reply="B", reasoning_content=thought)) as srv:
        out = run_study(Study(models=["openai/deepseek-r1"], instruments=[form], api_base=srv.url), tmp_path / "r.db")
    trials = stored(tmp_path / "r.db")
    assert out.failed == 0 and len(trials) == 3
    assert scored_from_the_answer(trials) == [("B", thought, "answered", "lone_letter", "relief", 1.0)] * 3
    assert all(t.reasoning_tokens is None for t in trials)  # DeepSeek-R1 shaped: no reasoning token count in usage
    assert "temperature_not_sent" not in run_config(tmp_path / "r.db")
    assert all(b["temperature"] == 0.0 for b in srv.bodies)


def test_claudes_thinking_blocks_are_reasoning_and_its_text_block_the_answer(tmp_path, form, monkeypatch):
    # Two thinking blocks with a redacted one between: read as the answer, "A)" or "C?" would not be B.
    thought = "Could it be A) Pride? No.\n\nGuilt? Kim did nothing. Maybe C? No: relief."
    monkeypatch.setenv("EITEST_CLAUDE_KEY", "sk-ant-test-NOT-STORED")
    model = "anthropic/claude-sonnet-4-5"
    with AnthropicServer(lambda body: Action(reply="B", reasoning_content=thought, reasoning_tokens=40)) as srv:
        study = Study(models=[model], instruments=[form], api_base=srv.url, api_key_env="EITEST_CLAUDE_KEY")
        out = run_study(study, tmp_path / "c.db")
    trials = stored(tmp_path / "c.db")
    assert out.failed == 0 and len(trials) == 3 and set(srv.keys) == {"sk-ant-test-NOT-STORED"}
    assert all(b["max_tokens"] == 25_000 for b in srv.bodies)  # a reasoning model: room to reason
    assert scored_from_the_answer(trials) == [("B", thought, "answered", "lone_letter", "relief", 1.0)] * 3
    assert all(t.completion_tokens == 41 and t.reasoning_tokens for t in trials)  # litellm's count of the thinking
    assert b"sk-ant-test" not in (tmp_path / "c.db").read_bytes()


def test_an_o1_run_sends_no_temperature_records_reasoning_tokens_and_says_so(tmp_path: Path, form: str):
    with ScriptedServer(lambda body: Action(reply="B", reasoning_tokens=192, refuse_temperature=True)) as srv:
        out = run_study(Study(models=["openai/o1"], instruments=[form], api_base=srv.url), tmp_path / "o.db")
    trials = stored(tmp_path / "o.db")
    assert out.failed == 0 and srv.requests == 3  # litellm knows o1 takes no temperature: none refused
    assert not any("temperature" in b for b in srv.bodies)
    assert all((t.score, t.reasoning_tokens, t.completion_tokens, t.attempts) == (1.0, 192, 193, 1) for t in trials)
    assert all(t.reasoning is None and t.error is None for t in trials)
    assert run_config(tmp_path / "o.db")["temperature_not_sent"] == {
        "openai/o1": "temperature not sent: the model does not take it"
    }
    assert run_config(tmp_path / "o.db")["temperature"] == 0.0  # the study's setting stays on record
    from eitest.outputs.report import render_html

    assert "the sampling temperature was 0.0 (not sent to openai/o1, which takes no temperature)" in render_html(
        tmp_path / "o.db"
    )


@pytest.mark.parametrize("max_tokens", [None, 64])
def test_a_reasoning_model_gets_room_to_reason_unless_the_user_caps_it(tmp_path: Path, form: str, max_tokens):
    # The server spends a cap smaller than 1 + 600 tokens on reasoning and answers nothing, as o1 does.
    with ScriptedServer(lambda body: Action(reply="B", reasoning_tokens=600)) as srv:
        study = Study(models=["openai/o1"], instruments=[form], api_base=srv.url, max_tokens=max_tokens)
        run_study(study, tmp_path / "c.db")
    sent = {b.get("max_completion_tokens", b.get("max_tokens")) for b in srv.bodies}
    trials = stored(tmp_path / "c.db")
    config = run_config(tmp_path / "c.db")
    if max_tokens is None:  # the protocol's 64, raised as OpenAI's reasoning guide advises
        assert sent == {25_000} and all((t.score, t.finish_reason) == (1.0, "stop") for t in trials)
        assert config["max_tokens_raised"] == {"openai/o1": 25_000}
        from eitest.outputs.report import render_html

        assert (
            "The replies of openai/o1, a reasoning model whose reasoning counts against a reply's length, were capped at "
            "25,000 tokens instead of the protocol's cap." in html.unescape(render_html(tmp_path / "c.db"))
        )
    else:  # the user's cap is sent as given, and what it costs is on record
        assert sent == {64} and "max_tokens_raised" not in config
        assert all((t.status, t.finish_reason, t.reasoning_tokens) == ("empty", "length", 64) for t in trials)


@pytest.mark.parametrize(
    ("model", "protocol_cap", "sent"),
    [
        ("openai/o1", 64, 25_000),
        ("openai/o1", 2048, 25_000),
        ("openai/o1", 1, 1),  # the logprobs protocol reads one token: no room paid for and never read
        ("azure_ai/Phi-4-reasoning", 64, 4096),  # litellm lists its output limit below the advice
        ("openai/gpt-4o", 64, 64),
    ],
)
def test_the_room_to_reason_is_within_what_the_model_can_give(model, protocol_cap, sent):
    from eitest.client import litellm_module
    from eitest.client.reasoning import reply_cap

    assert reply_cap(litellm_module(), model, None, protocol_cap) == sent
    assert reply_cap(litellm_module(), model, 300, protocol_cap) == 300  # --max-tokens, as given


def test_a_run_resumed_by_this_eitest_puts_its_raised_cap_on_record(tmp_path: Path, form: str):
    db = tmp_path / "r.db"
    with ScriptedServer(lambda body: Action(reply="B", reasoning_tokens=6)) as srv:
        study = Study(models=["openai/o1"], instruments=[form], api_base=srv.url)
        run_study(study, db)
        with Store(db) as store:  # as an earlier eitest left it: no word of the cap
            [run] = store.runs()
            config = {k: v for k, v in run.config.items() if k != "max_tokens_raised"}
            store.conn.execute("UPDATE runs SET config = ? WHERE id = ?", (json.dumps(config), run.id))
            store.conn.execute("DELETE FROM trials WHERE item_id = 'q0'")
        run_study(study, db)
    assert run_config(db)["max_tokens_raised"] == {"openai/o1": 25_000}


def test_the_plan_says_a_reasoning_models_replies_are_not_in_its_estimate():
    plan = make_plan(Study(models=["openai/o1", "openai/gpt-4o-mini"], instruments=["open-steu"]), require_keys=False)
    said = [line for line in plan.describe() if "reasoning model" in line]
    assert said == [
        "  openai/o1 is a reasoning model: its replies may take up to 25,000 tokens each, "
        "and its reasoning, billed as output, is not in this estimate"
    ]


def test_a_server_refusing_temperature_gets_the_call_again_without_it(tmp_path: Path, form: str):
    # A model litellm does not know as a reasoning model: only its server's 400 tells.
    with ScriptedServer(lambda body: Action(reply="B", reasoning_tokens=7, refuse_temperature=True)) as srv:
        out = run_study(
            Study(models=["openai/house-reasoner"], instruments=[form], api_base=srv.url, concurrency=1),
            tmp_path / "h.db",
        )
    trials = stored(tmp_path / "h.db")
    assert out.failed == 0 and [("temperature" in b) for b in srv.bodies] == [True, False, False, False]
    first, *rest = trials
    assert (first.status, first.score, first.attempts) == ("answered", 1.0, 2)
    assert first.error == (
        "BadRequestError (400): litellm.BadRequestError: OpenAIException - Unsupported parameter: 'temperature' "
        "is not supported with this model. (sent again without temperature)"
    )
    assert all((t.attempts, t.error, t.score, t.reasoning_tokens) == (1, None, 1.0, 7) for t in rest)
    assert run_config(tmp_path / "h.db")["temperature_not_sent"] == {"openai/house-reasoner": NOT_SENT}
    from eitest.outputs.report import render_html

    assert "(not sent to openai/house-reasoner, which takes no temperature)" in render_html(tmp_path / "h.db")


THINKING = "<think>A) Pride does not fit, nor C.\nThe answer is A? No.</think>\n\nB"


@pytest.mark.parametrize(
    ("model", "reply", "raw_reply"),
    [
        # litellm itself splits a block that opens the content off it, as reasoning_content
        ("openai/qwq", THINKING, "\n\nB"),
        ("hosted_vllm/qwq", THINKING, "\n\nB"),
        # one it leaves in the content is kept there verbatim, and read as reasoning by eitest
        ("hosted_vllm/qwq", " " + THINKING, " " + THINKING),
    ],
)
def test_a_think_block_is_reasoning_and_the_answer_after_it_is_read(
    tmp_path: Path, form: str, model: str, reply: str, raw_reply: str
):
    with ScriptedServer(lambda body: Action(reply=reply)) as srv:
        run_study(Study(models=[model], instruments=[form], api_base=srv.url), tmp_path / "t.db")
    for t in stored(tmp_path / "t.db"):
        assert t.raw_reply == raw_reply
        assert t.reasoning == "A) Pride does not fit, nor C.\nThe answer is A? No."
        assert (t.chosen_option, t.parse_rule, t.score) == ("relief", "lone_letter", 1.0)


@pytest.mark.parametrize(
    ("reply", "reasoning", "status", "position"),
    [
        ("<think>maybe A</think>C", "maybe A", "answered", 2),
        ("<thinking>one</thinking> <think>two</think> Answer: B", "one\n\ntwo", "answered", 1),
        ("<think>A seems right, or B", "A seems right, or B", "unparseable", None),  # cut off mid-thought
        ("B", None, "answered", 1),
        ("<think>  </think>A", None, "answered", 0),
    ],
)
def test_inline_reasoning_is_what_the_think_blocks_hold(reply, reasoning, status, position):
    assert inline_reasoning(reply) == reasoning
    parsed = parse_reply(reply, OPTIONS)
    assert (parsed.status, parsed.position) == (status, position)


def test_the_export_carries_reasoning_and_its_tokens(tmp_path: Path, form: str):
    with ScriptedServer(lambda body: Action(reply="B", reasoning_content="relief", reasoning_tokens=5)) as srv:
        run_study(Study(models=["openai/deepseek-r1"], instruments=[form], api_base=srv.url), tmp_path / "e.db")
    result = export(tmp_path / "e.db", tmp_path / "out", "csv")
    with open(result.out / "trials.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["reasoning"], r["reasoning_tokens"]) for r in rows] == [("relief", "5")] * 3
    labels = {v.name: v.label for v in TRIAL_VARIABLES}
    assert labels["reasoning"] == "The model's reasoning, as the provider returned it apart from the answer"
    assert labels["reasoning_tokens"] == "Reasoning tokens (part of completion_tokens)"
    assert "reasoning_tokens" in (result.out / "codebook.md").read_text(encoding="utf-8")
    assert len(srv.bodies) == 3 and all(prompt_of(b) for b in srv.bodies)
