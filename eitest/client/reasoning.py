"""Reasoning models at the model door: their reasoning read apart from the answer, and temperature left out.

A reasoning model's reply carries its deliberation beside the answer: ``reasoning_content``
(DeepSeek-R1, and what litellm makes of a provider's reasoning field or of Ollama's
``thinking``) or ``thinking_blocks`` (Anthropic-style). :func:`reply_reasoning` reads it,
and :func:`reasoning_tokens` the tokens it took, so the store keeps both apart from the
answer text, which alone is parsed.

Some models refuse ``temperature`` (OpenAI's o-series and GPT-5: any value but the
default). Where litellm knows this, :func:`takes_temperature` says so before the run, and
the call leaves it out; where only the server knows (a 400 naming the parameter,
:func:`refuses_temperature`), the call is made again without it, and later calls to the
same model at the same address leave it out from the start.

Their reasoning tokens count against the reply's cap: a cap sized for a one-letter answer
is spent on reasoning, and the reply comes back empty (``finish_reason`` "length"), billed
all the same. For a model litellm lists as a reasoning model, a protocol's cap is raised
to :data:`REASONING_MAX_TOKENS`, or to the model's output limit where litellm lists a lower
one (an explicit ``--max-tokens`` is sent as given).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from eitest.client.reply_fields import reply_field

# What a run's manifest says of a model that gets no temperature.
NOT_SENT = "temperature not sent: the model does not take it"
# OpenAI: "Unsupported parameter: 'temperature' is not supported with this model." and
# "Unsupported value: 'temperature' does not support 0 with this model."; vLLM and others word it alike.
_REFUSAL = re.compile(
    r"unsupported\s+(?:parameter|value)s?\W+temperature|\btemperature\b\W+(?:is\s+)?not\s+supported"
    r"|does(?:\s+not|n't)\s+support\s+temperature",
    re.I,
)
# OpenAI's reasoning guide (platform.openai.com/docs/guides/reasoning, "Allocating space for reasoning")
# recommends reserving at least 25,000 tokens for reasoning and outputs when starting with these models.
REASONING_MAX_TOKENS = 25_000
# (model, api_base) pairs whose server refused temperature in this process.
_REFUSED: set[tuple[str, str | None]] = set()
# litellm's answer per (model, temperature, api_base): asking maps every parameter, ~0.5 ms a call.
_KNOWN: dict[tuple[str, float, str | None], bool] = {}


def reply_reasoning(message: Any) -> str | None:
    """The reasoning a reply's message carries apart from its content, or None when it has none.

    Thinking blocks come first where a reply has them: litellm also joins them into
    ``reasoning_content``, but with nothing between one block and the next.
    """
    blocks = reply_field(message, "thinking_blocks") or []
    if joined := "\n\n".join(p for p in map(_block_text, blocks) if p):
        return joined
    text = reply_field(message, "reasoning_content")
    return text if isinstance(text, str) and text.strip() else None


def _block_text(block: Any) -> str | None:
    # A redacted block ({"type": "redacted_thinking", "data": ...}) holds no readable text.
    get = block.get if isinstance(block, dict) else lambda k, d=None: getattr(block, k, d)
    text = get("thinking")
    return text if isinstance(text, str) and text.strip() else None


def reasoning_tokens(usage: Any) -> int | None:
    """``usage.completion_tokens_details.reasoning_tokens``, or None when the provider does not report it."""
    details = getattr(usage, "completion_tokens_details", None)
    if details is None:
        return None
    value = details.get("reasoning_tokens") if isinstance(details, dict) else getattr(details, "reasoning_tokens", None)
    return value if isinstance(value, int) else None


def takes_temperature(litellm: Any, model: str, temperature: float, api_base: str | None = None) -> bool:
    """Whether ``temperature`` reaches ``model``: False where litellm would drop it, or its server refused it."""
    if refused_temperature(model, api_base):
        return False
    if (known := _KNOWN.get((model, temperature, api_base))) is None:
        known = _KNOWN[model, temperature, api_base] = _litellm_sends_temperature(litellm, model, temperature, api_base)
    return known


def _litellm_sends_temperature(litellm: Any, model: str, temperature: float, api_base: str | None) -> bool:
    try:
        name, provider, _, _ = litellm.get_llm_provider(model=model, api_base=api_base)
        sent = litellm.get_optional_params(
            model=name, custom_llm_provider=provider, temperature=temperature, drop_params=True
        )
    except Exception:  # a model litellm cannot map is sent the temperature; its server may still refuse it
        return True
    return "temperature" in sent


@functools.lru_cache(maxsize=256)
def _reasoning_cap(litellm: Any, model: str) -> int | None:
    """:data:`REASONING_MAX_TOKENS`, or the model's own output limit where litellm lists a lower one; None: not
    listed as a reasoning model."""
    try:
        if not litellm.supports_reasoning(model=model):
            return None
    except Exception:  # a model litellm cannot map is not known to reason
        return None
    try:
        most = litellm.get_model_info(model=model).get("max_output_tokens")
    except Exception:
        most = None
    return min(REASONING_MAX_TOKENS, most) if isinstance(most, int) and most > 0 else REASONING_MAX_TOKENS


def reply_cap(litellm: Any, model: str, asked: int | None, protocol_cap: int | None) -> int | None:
    """The reply's cap sent to ``model``: ``asked`` (--max-tokens) if given, else the protocol's, raised for reasoning.

    A one-token protocol (logprobs) keeps its cap: it reads the first token only, and room to
    reason before it would be paid for and never read.
    """
    if asked:
        return asked
    if not protocol_cap or protocol_cap == 1:
        return protocol_cap
    room = _reasoning_cap(litellm, model)
    return max(protocol_cap, room) if room is not None else protocol_cap


def refuses_temperature(exc: BaseException) -> bool:
    """Whether a failed call is the server refusing the temperature parameter (a 400 that names it)."""
    return is_temperature_refusal(getattr(exc, "status_code", None), str(exc))


def is_temperature_refusal(status: object, message: str) -> bool:
    """Whether a reply of ``status`` saying ``message`` (a failed call, or a batch's failed line) refuses the temperature."""
    return status in (400, 422) and _REFUSAL.search(message) is not None


def remember_refusal(model: str, api_base: str | None) -> None:
    _REFUSED.add((model, api_base))


def refused_temperature(model: str, api_base: str | None) -> bool:
    """Whether ``model``'s server at ``api_base`` refused the temperature in this process (its calls now go without)."""
    return (model, api_base) in _REFUSED
