"""reply_field reads what getattr(obj, name, None) reads, on litellm's reply objects and on others (a dict: its key)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from eitest.client.reply_fields import reply_field

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
    "hidden_params",  # a property
    "nothing_of_the_kind",
]


def _replies() -> dict[str, object]:
    """litellm's reply objects by name: a plain reply and one with reasoning and logprobs, and their parts."""
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
    out: dict[str, object] = {}
    for label, reply in (("plain", plain), ("reasoned", reasoned)):
        out |= {label: reply, f"{label} choice": reply.choices[0], f"{label} message": reply.choices[0].message}
        if (usage := getattr(reply, "usage", None)) is not None:
            out[f"{label} usage"] = usage
    return out


@pytest.mark.parametrize("name", NAMES)
def test_reads_what_getattr_reads_on_litellm_replies(name: str) -> None:
    for label, obj in _replies().items():
        expected = getattr(obj, name, None)
        got = reply_field(obj, name)
        assert got == expected, (label, name)
        if name != "json":  # a bound method is made anew at each read
            assert got is expected, (label, name)


def test_a_present_reasoning_field_is_read_and_a_missing_one_is_none() -> None:
    replies = _replies()
    assert reply_field(replies["reasoned message"], "reasoning_content") == "first, the situation"
    assert reply_field(replies["plain message"], "reasoning_content") is None
    assert reply_field(replies["plain"], "_hidden_params") == {"response_cost": 0.5}
    assert reply_field(replies["reasoned choice"], "logprobs") is not None


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
