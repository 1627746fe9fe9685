"""The model door's contracts over real HTTP: a whole-call deadline, replies without text, keys and redaction."""

from __future__ import annotations

import json
import logging
import math
import time

import pytest
from openai_server import Action, ScriptedServer

from eitest.client import CallSettings, complete, key_route, litellm_module, redact
from eitest.client.event_loop import run_coroutine

MESSAGES = [{"role": "user", "content": "Which option? A) Anger B) Relief"}]


def call(url: str, **settings: object):
    return run_coroutine(complete("openai/door-test", MESSAGES, CallSettings(api_base=url, **settings)))


@pytest.mark.parametrize("bad", [0, -5, math.nan, math.inf, -math.inf])
def test_call_settings_refuse_a_timeout_that_is_not_positive_and_finite(bad):
    with pytest.raises(ValueError, match="timeout_s must be a positive, finite number of seconds"):
        CallSettings(timeout_s=bad)
    with pytest.raises(ValueError, match="max_retries must be 0 or more"):
        CallSettings(max_retries=-1)


def test_a_trickled_body_ends_by_the_deadline():
    # One byte every 0.5 s: each read is quick, so litellm's read timeout never fires (~150 s a call before).
    litellm_module()  # imported before the clock starts: the import takes seconds
    with ScriptedServer(lambda body: Action(reply="B", trickle_s=0.5)) as srv:
        start = time.perf_counter()
        result = call(srv.url, timeout_s=3, max_retries=0)
        elapsed = time.perf_counter() - start
    assert 3 <= elapsed < 4 and 3 <= result.latency_s < 4, elapsed
    assert result.error == "Timeout: no complete reply within 3 s" and result.text is None and result.attempts == 1


def test_a_timeout_is_retried_and_said_on_the_log(caplog):
    seen: list[int] = []

    def script(body):
        seen.append(1)
        return Action(reply="B", trickle_s=0.3) if len(seen) == 1 else Action(reply="B")

    litellm_module()
    with ScriptedServer(script) as srv, caplog.at_level(logging.WARNING, logger="eitest.client"):
        start = time.perf_counter()
        result = call(srv.url, timeout_s=1, max_retries=2, backoff_s=0.01)
        elapsed = time.perf_counter() - start
    assert result.text == "B" and result.error is None and result.attempts == 2 and elapsed < 2.5
    assert result.errors == ["Timeout: no complete reply within 1 s"]
    (record,) = [r for r in caplog.records if r.name == "eitest.client"]  # litellm may log a loop change
    assert record.getMessage().startswith(
        "openai/door-test: Timeout: no complete reply within 1 s; retrying in "
    ) and record.getMessage().endswith("s (attempt 2 of 3)")


def test_a_tool_call_answer_is_retried_then_kept_in_the_error():
    arguments = json.dumps({"answer": "B", "why": "x" * 5000})
    calls: list[int] = []

    def script(body):
        calls.append(1)
        return Action(tool_call=("get_answer", '{"answer": "B"}')) if len(calls) == 1 else Action(reply="B")

    with ScriptedServer(script) as srv:
        recovered = call(srv.url, backoff_s=0.01)
    assert recovered.text == "B" and recovered.attempts == 2 and recovered.error is None
    assert recovered.errors == [
        'NoText: the reply had no text: the model answered with a tool call get_answer({"answer": "B"})'
    ]
    with ScriptedServer(lambda body: Action(tool_call=("get_answer", arguments))) as srv:
        failed = call(srv.url, backoff_s=0.01, max_retries=1)
        assert srv.requests == 2
    assert failed.attempts == 2 and failed.text is None
    assert failed.error.startswith(
        'NoText: the reply had no text: the model answered with a tool call get_answer({"answer": "B", "why": "xxx'
    )
    assert len(failed.error) == 2000


def test_a_reply_without_choices_is_retried():
    with ScriptedServer(lambda body: Action(no_choices=True)) as srv:
        result = call(srv.url, backoff_s=0.01, max_retries=2)
        assert srv.requests == 3
    assert result.error == "NoText: the reply had no choices" and result.attempts == 3 and result.text is None


def test_a_custom_host_gets_the_named_key_or_none(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-provider-key-never-to-a-custom-host")
    monkeypatch.setenv("MY_LOCAL_CRED", "local-cred-12345")
    with ScriptedServer(lambda body: Action(reply="A")) as srv:
        call(srv.url)
        call(srv.url, api_key_env="MY_LOCAL_CRED")
        assert srv.auth == ["Bearer not-needed", "Bearer local-cred-12345"]


def test_key_route_says_which_variable_goes_where(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-route-0000000")
    assert key_route("openai/gpt-4o") == "openai/gpt-4o: key from OPENAI_API_KEY, sent to the provider's own endpoint"
    assert key_route("openai/x", "http://localhost:8000/v1", "LOCAL_KEY") == (
        "openai/x via http://localhost:8000/v1: key from LOCAL_KEY"
    )
    assert key_route("openai/x", "http://localhost:8000/v1") == (
        "openai/x via http://localhost:8000/v1: no key (--api-key-env NAME sends the key in $NAME)"
    )
    assert key_route("openai/x", "http://me:pw-secret@localhost:8000/v1?api-key=abc") == (
        "openai/x via http://***@localhost:8000/v1?api-key=***: no key (--api-key-env NAME sends the key in $NAME)"
    )
    assert key_route("eitest/oracle") == "eitest/oracle: offline responder, no key"
    monkeypatch.delenv("OPENAI_API_KEY")
    assert key_route("openai/gpt-4o") == (
        "openai/gpt-4o: key from OPENAI_API_KEY (not set), sent to the provider's own endpoint"
    )


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "APIError: http://user:hunter2@10.0.0.5:8000/v1 refused",
            "APIError: http://***@10.0.0.5:8000/v1 refused",
        ),
        ("https://tok3n@host.example/v1/chat", "https://***@host.example/v1/chat"),
        ("https://h/v1?api-key=abc123&model=x", "https://h/v1?api-key=***&model=x"),
        ("https://h/v1?model=x&api_key=abc123#f", "https://h/v1?model=x&api_key=***#f"),
        ("GET https://h/v1?access_token=z9z9&sig=q1", "GET https://h/v1?access_token=***&sig=***"),
        ("https://h/v1?key=AIzaSyExample", "https://h/v1?key=***"),
        ("http://127.0.0.1:8000/v1?model=x (no credentials)", "http://127.0.0.1:8000/v1?model=x (no credentials)"),
        ("mail user@example.org about it", "mail user@example.org about it"),
    ],
)
def test_redact_takes_credentials_out_of_urls(text, expected):
    assert redact(text) == expected


def _response(content, *, tool_call=None, choices=True, cost=0.002):
    from types import SimpleNamespace as NS

    calls = [NS(function=NS(name=tool_call[0], arguments=tool_call[1]))] if tool_call else None
    message = NS(content=content, tool_calls=calls, function_call=None)
    return NS(
        choices=[NS(message=message, finish_reason="stop")] if choices else [],
        model="served",
        usage=NS(prompt_tokens=10, completion_tokens=1),
        _hidden_params={"response_cost": cost},
    )


def test_replies_without_text_are_paid_for_and_an_empty_text_beside_a_tool_call_is_no_text():
    from eitest.client.calls import CallResult, NoText, _fill

    result = CallResult()
    with pytest.raises(NoText, match="no choices"):
        _fill(result, _response(None, choices=False), "openai/priced")
    # "" beside a tool call is what some providers send: no text either, and kept in the error
    with pytest.raises(NoText, match=r'a tool call get_answer\(\{"answer": "B"\}\)'):
        _fill(result, _response("", tool_call=("get_answer", '{"answer": "B"}')), "openai/priced")
    _fill(result, _response("B"), "openai/priced")
    assert result.text == "B" and result.cost == pytest.approx(0.006, abs=1e-15)  # all three replies were billed
    empty = CallResult()
    _fill(empty, _response(""), "openai/priced")  # an empty text without tool calls is an empty reply, not an error
    assert empty.text == "" and empty.cost == pytest.approx(0.002)


def test_reasoning_is_read_from_reasoning_content_or_thinking_blocks():
    from types import SimpleNamespace

    from eitest.client.reasoning import reasoning_tokens, reply_reasoning

    assert reply_reasoning(SimpleNamespace(reasoning_content="R1 thinks", thinking_blocks=None)) == "R1 thinks"
    blocks = [
        {"type": "thinking", "thinking": "first", "signature": "s1"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "thinking", "thinking": "second", "signature": "s2"},
    ]
    assert reply_reasoning(SimpleNamespace(reasoning_content=None, thinking_blocks=blocks)) == "first\n\nsecond"
    assert reply_reasoning(SimpleNamespace(content="B")) is None
    assert reasoning_tokens(SimpleNamespace(completion_tokens_details=SimpleNamespace(reasoning_tokens=12))) == 12
    assert reasoning_tokens(SimpleNamespace(completion_tokens_details={"reasoning_tokens": 3})) == 3
    assert reasoning_tokens(SimpleNamespace(completion_tokens=5)) is None


@pytest.mark.parametrize(
    ("status", "message", "refused"),
    [
        (400, "Unsupported parameter: 'temperature' is not supported with this model.", True),
        (400, "Unsupported value: 'temperature' does not support 0 with this model.", True),
        (400, "temperature is not supported for this model", True),
        (400, "Unsupported parameter: 'top_p' is not supported with this model.", False),
        (400, "context length exceeded", False),
        (500, "Unsupported parameter: 'temperature'", False),
    ],
)
def test_a_refused_temperature_is_told_from_other_errors(status, message, refused):
    from eitest.client.reasoning import refuses_temperature

    class Refusal(Exception):
        status_code = status

    assert refuses_temperature(Refusal(message)) is refused


@pytest.mark.parametrize(
    ("model", "temperature", "taken"),
    [("openai/o1", 0.0, False), ("openai/o3-mini", 0.0, False), ("openai/o1", 1.0, True),
     ("openai/gpt-4o", 0.0, True), ("ollama/llama3", 0.0, True), ("eitest/oracle", 0.0, True)],
)  # fmt: skip
def test_litellm_says_which_models_take_a_temperature(model, temperature, taken):
    from eitest.client import CallSettings, temperature_taken

    assert temperature_taken(model, CallSettings(temperature=temperature)) is taken
    assert temperature_taken(model, CallSettings(temperature=None)) is False  # none set: none sent
