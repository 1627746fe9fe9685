"""reply_field reads what getattr(obj, name, None) reads, on litellm's reply objects and on others."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

from eitest.client.fields import reply_field

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

NAMES = [
    "usage",
    "choices",
    "model",
    "_hidden_params",
    "_response_headers",
    "message",
    "logprobs",
    "finish_reason",
    "content",
    "reasoning_content",
    "thinking_blocks",
    "tool_calls",
    "prompt_tokens",
    "completion_tokens_details",
    "json",  # a method
    "nothing_of_the_kind",
]


def _replies() -> list[object]:
    import litellm

    plain = litellm.ModelResponse(
        model="m",
        choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "B"}}],
        usage={"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
    )
    plain._hidden_params = {"response_cost": 0.5}
    reasoned = litellm.ModelResponse(
        model="m",
        choices=[
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {
                    "role": "assistant",
                    "content": "B",
                    "reasoning_content": "first, the situation",
                    "thinking_blocks": [{"type": "thinking", "thinking": "hm"}],
                },
                "logprobs": {"content": [{"token": "B", "logprob": -0.1, "top_logprobs": []}]},
            }
        ],
    )
    out: list[object] = []
    for reply in (plain, reasoned):
        out += [reply, reply.choices[0], reply.choices[0].message]
        if getattr(reply, "usage", None) is not None:
            out.append(reply.usage)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_reads_what_getattr_reads_on_litellm_replies(name: str) -> None:
    for obj in _replies():
        expected = getattr(obj, name, None)
        got = reply_field(obj, name)
        assert got == expected, (type(obj).__name__, name)
        if name != "json":  # a bound method is made anew at each read
            assert got is expected, (type(obj).__name__, name)


def test_a_present_reasoning_field_is_read_and_a_missing_one_is_none() -> None:
    plain, _, plain_message, _, reasoned, reasoned_choice, reasoned_message = _replies()[:7]
    assert reply_field(reasoned_message, "reasoning_content") == "first, the situation"
    assert reply_field(plain_message, "reasoning_content") is None
    assert reply_field(plain, "_hidden_params") == {"response_cost": 0.5}
    assert reply_field(reasoned_choice, "logprobs") is not None


def test_dicts_and_other_objects() -> None:
    assert reply_field({"content": "B"}, "content") == "B"
    assert reply_field({"content": "B"}, "logprobs") is None
    assert reply_field(SimpleNamespace(content="B"), "content") == "B"
    assert reply_field(SimpleNamespace(), "content") is None
    assert reply_field(None, "content") is None

    class WithProperty:
        @property
        def content(self) -> str:
            return "computed"

    assert reply_field(WithProperty(), "content") == "computed"
