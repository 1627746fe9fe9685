"""Token probabilities from the model door: how many alternatives to ask for, and reading the first token's.

The ``logprobs`` protocol asks for one token with ``logprobs: true`` and ``top_logprobs``
as high as the provider takes, so that the shown letters are among the alternatives
returned. litellm forwards both to OpenAI-style providers (``openai/``, ``azure/``,
``hosted_vllm/``, ``deepseek/`` and any OpenAI-compatible server given with
``--api-base``); for ``ollama/`` and ``ollama_chat/`` (litellm 1.110) it lists neither
among the supported parameters and drops them (``drop_params``), so the reply comes back
without probabilities and the run stops at its first call
(:mod:`eitest.client.refusals`).
"""

from __future__ import annotations

from typing import Any

from eitest.client.reply_fields import reply_field

# The most alternatives per token each provider accepts; a request above it is refused with a 400.
# OpenAI (and Azure's OpenAI models) document 0-20; DeepSeek's chat API the same; vLLM refuses
# more than its --max-logprobs, 20 unless the server was started with another value.
TOP_LOGPROBS = {"openai": 20, "azure": 20, "hosted_vllm": 20, "deepseek": 20}
# Any other provider: 5, which every OpenAI-compatible server we know of accepts; with up to five
# options a letter left out of the alternatives lowers the trial's coverage, which is measured.
DEFAULT_TOP_LOGPROBS = 5


def top_logprobs_for(model: str) -> int:
    """How many alternatives to the first token to ask ``model`` for (:data:`TOP_LOGPROBS` by its provider prefix)."""
    provider = model.split("/", 1)[0] if "/" in model else "openai"
    return TOP_LOGPROBS.get(provider, DEFAULT_TOP_LOGPROBS)


def first_token_logprobs(choice: Any) -> list[list[Any]] | None:
    """The first token's alternatives as ``[[token, logprob], ...]`` (the sampled token among them), or None.

    None when the reply carries no probabilities for its content, or only the sampled
    token's without alternatives (a provider that takes ``logprobs`` but not
    ``top_logprobs``): one token's probability is no distribution over the options. The
    sampled token is added when the provider did not list it among its own alternatives.
    """
    content = reply_field(reply_field(choice, "logprobs"), "content")
    if not content:
        return None
    first = content[0]
    alternatives = reply_field(first, "top_logprobs") or []
    if not alternatives:
        return None
    out: list[list[Any]] = []
    for alt in alternatives:
        token, logprob = reply_field(alt, "token"), reply_field(alt, "logprob")
        if isinstance(token, str) and isinstance(logprob, int | float):
            out.append([token, float(logprob)])
    token, logprob = reply_field(first, "token"), reply_field(first, "logprob")
    if isinstance(token, str) and isinstance(logprob, int | float) and token not in {t for t, _ in out}:
        out.append([token, float(logprob)])
    return out or None
