"""The one door to every model: ``litellm.acompletion`` with retries, redaction and accounting.

litellm is imported on first use only (it takes seconds), with its price list read
from the installed package, never fetched. The offline responders (``eitest/...``)
register as a litellm custom provider, so they pass through the same door; which
model strings they serve is :mod:`eitest.client.offline`'s to say.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any

from eitest.client import offline
from eitest.errors import EitestError

# Retried: rate limits, server errors, timeouts and broken connections or bodies.
RETRYABLE = (
    "RateLimitError",
    "InternalServerError",
    "ServiceUnavailableError",
    "Timeout",
    "APIConnectionError",
    "APIError",
    "BadGatewayError",
)


@dataclass(frozen=True)
class CallSettings:
    """How each call is made; the same for every trial of a run."""

    temperature: float | None = 0.0
    max_tokens: int | None = None
    api_base: str | None = None
    timeout_s: float = 120.0
    max_retries: int = 4
    backoff_s: float = 1.0  # first wait; doubled each retry, with full jitter
    backoff_max_s: float = 30.0


@dataclass
class CallResult:
    text: str | None = None
    model_returned: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    latency_s: float | None = None
    attempts: int = 0
    error: str | None = None
    errors: list[str] = field(default_factory=list)


_litellm: Any = None


def litellm_module() -> Any:
    """Import and configure litellm once: local price list, no telemetry, our responders registered."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.drop_params = True  # a provider that lacks e.g. temperature still answers
        offline.register(litellm)
        _litellm = litellm
    return _litellm


# --------------------------------------------------------------------------- secrets

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD)", re.I)


def _secrets(extra: list[str | None] | None = None) -> list[str]:
    values = [v for k, v in os.environ.items() if _SECRET_NAME.search(k) and v and len(v) >= 6]
    values += [v for v in extra or [] if v and len(v) >= 6]
    return sorted(set(values), key=len, reverse=True)


def redact(text: str, extra: list[str | None] | None = None) -> str:
    """Remove every key-like value of the environment (and ``extra``) from ``text``."""
    for secret in _secrets(extra):
        text = text.replace(secret, "[redacted]")
    # Provider messages sometimes echo a key's prefix and suffix, e.g. "sk-abc...wxyz".
    return re.sub(r"\b(sk|key|pk)-[A-Za-z0-9_\-]{8,}", r"\1-[redacted]", text)


# --------------------------------------------------------------------------- checks


class ModelError(EitestError):
    """A model string litellm does not know, or a provider whose key is not set."""


def check_model(model: str, api_base: str | None = None, *, require_key: bool = True) -> None:
    """Fail early, with the fix, for an unknown model string or (when ``require_key``) a missing key."""
    if offline.is_offline(model):
        responder = offline.responder(model)
        if responder is None:
            raise ModelError(f"unknown offline responder {model!r}; use one of {', '.join(offline.model_names())}")
        responder.check()
        return
    litellm = litellm_module()
    try:
        _, provider, _, _ = litellm.get_llm_provider(model=model, api_base=api_base)
    except Exception:
        raise ModelError(
            f"unknown model {model!r}: give a litellm model string such as openai/gpt-4o, "
            "anthropic/claude-3-5-haiku-latest or ollama/llama3.1 (or openai/NAME with --api-base URL)"
        ) from None
    if api_base or not require_key:
        return  # a self-hosted OpenAI-compatible server often needs no key
    missing = missing_keys(model)
    if missing:
        raise ModelError(f"no key for {model}: set {' and '.join(missing)} in the environment (provider {provider})")


def missing_keys(model: str) -> list[str]:
    """Environment variables the provider of ``model`` needs and that are not set."""
    if offline.is_offline(model):
        return []
    env = litellm_module().validate_environment(model=model)
    return list(env.get("missing_keys") or [])


# --------------------------------------------------------------------------- the call


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (asyncio.TimeoutError, ConnectionError)):
        return True
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & {
        "AuthenticationError",
        "BadRequestError",
        "NotFoundError",
        "PermissionDeniedError",
        "ContextWindowExceededError",
    }:
        return False
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and (status == 429 or status >= 500):
        return True
    return bool(names & set(RETRYABLE))


def _describe(exc: BaseException, secrets: list[str | None]) -> str:
    status = getattr(exc, "status_code", None)
    head = type(exc).__name__ + (f" ({status})" if status else "")
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return redact(f"{head}: {msg[:300]}", secrets)


async def complete(
    model: str,
    messages: list[dict[str, str]],
    settings: CallSettings,
    *,
    metadata: dict[str, Any] | None = None,
    response_format: dict[str, Any] | None = None,
    max_tokens: int | None = None,
    api_key: str | None = None,
) -> CallResult:
    """Make one chat completion, retrying transient failures with exponential backoff and jitter.

    Never raises for a provider failure: the result carries the error instead, so
    the runner stores the trial as failed and goes on.
    """
    litellm = litellm_module()
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "timeout": settings.timeout_s,
        "num_retries": 0,
        "max_retries": 0,
    }
    if settings.temperature is not None:
        kwargs["temperature"] = settings.temperature
    if max_tokens or settings.max_tokens:
        kwargs["max_tokens"] = settings.max_tokens or max_tokens
    if settings.api_base:
        kwargs["api_base"] = settings.api_base
        kwargs["api_key"] = api_key or _openai_compatible_key(model)
    elif api_key:
        kwargs["api_key"] = api_key
    if metadata is not None:
        kwargs["metadata"] = metadata
    if response_format is not None:
        kwargs["response_format"] = response_format

    result = CallResult()
    secrets = [api_key]
    for attempt in range(settings.max_retries + 1):
        result.attempts = attempt + 1
        start = time.perf_counter()
        try:
            response = await litellm.acompletion(**kwargs)
        except Exception as exc:  # provider errors come in many classes; each is classified below
            result.latency_s = time.perf_counter() - start
            result.errors.append(_describe(exc, secrets))
            if attempt < settings.max_retries and _retryable(exc):
                wait = min(settings.backoff_max_s, settings.backoff_s * 2**attempt)
                await asyncio.sleep(random.uniform(0, wait))
                continue
            result.error = result.errors[-1]
            return result
        result.latency_s = time.perf_counter() - start
        _fill(result, response, model)
        result.error = None
        return result
    return result


def _openai_compatible_key(model: str) -> str:
    # litellm's OpenAI client insists on a key even for a local server that ignores it.
    provider = model.split("/", 1)[0].upper()
    return os.environ.get(f"{provider}_API_KEY") or os.environ.get("OPENAI_API_KEY") or "not-needed"


def _fill(result: CallResult, response: Any, model: str) -> None:
    choice = response.choices[0] if response.choices else None
    message = getattr(choice, "message", None)
    result.text = getattr(message, "content", None)
    result.finish_reason = getattr(choice, "finish_reason", None)
    result.model_returned = getattr(response, "model", None)
    usage = getattr(response, "usage", None)
    if usage is not None:
        result.prompt_tokens = getattr(usage, "prompt_tokens", None)
        result.completion_tokens = getattr(usage, "completion_tokens", None)
    if offline.is_offline(model):
        result.cost = 0.0
        return
    # litellm prices the response as it logs it; asking again for a model without a
    # price would cost ~1 ms of failed look-ups per call, and give the same None.
    hidden = getattr(response, "_hidden_params", None) or {}
    cost = hidden.get("response_cost")
    result.cost = float(cost) if cost is not None else None


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Price of a call from litellm's local price list; None when the model has no price."""
    if offline.is_offline(model):
        return 0.0
    litellm = litellm_module()
    try:
        p, c = litellm.cost_per_token(model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
    except Exception:
        return None
    return float(p + c)


def count_tokens(model: str, messages: list[dict[str, str]]) -> int:
    """Prompt tokens by litellm's tokenizer for the model (a generic one when unknown)."""
    litellm = litellm_module()
    try:
        return int(litellm.token_counter(model=model, messages=messages))
    except Exception:
        return sum(len(m["content"]) for m in messages) // 4


def supports_json_mode(model: str, api_base: str | None) -> bool:
    if offline.is_offline(model):
        return False
    litellm = litellm_module()
    try:
        params = litellm.get_supported_openai_params(model=model) or []
    except Exception:
        return False
    return "response_format" in params
