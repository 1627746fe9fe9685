"""The one door to every model: ``litellm.acompletion`` with retries, redaction and accounting.

litellm is imported on first use only (it takes seconds), with its price list read
from the installed package, never fetched. The offline responders (``eitest/...``)
register as a litellm custom provider, so they pass through the same door; which
model strings they serve is :mod:`eitest.client.offline`'s to say.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

from eitest.client import offline
from eitest.client.keys import NO_KEY, redact
from eitest.client.pacing import ModelPacer, Pacing, RateSignals, estimate_tokens, is_rate_limit
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
# Rate-limited attempts of one call, at most (with a provider that asks for no wait, the wait cap cannot bound them).
MAX_THROTTLED = 100
# What came back from a reply without text is kept in the trial's error, up to this length.
KEPT_CHARS = 2000
# A retry after a timeout is said on stderr: a hanging server otherwise waits in silence.
log = logging.getLogger("eitest.client")


@dataclass(frozen=True)
class CallSettings:
    """How each call is made; the same for every trial of a run."""

    temperature: float | None = 0.0
    max_tokens: int | None = None
    api_base: str | None = None
    timeout_s: float = 120.0  # the whole call, body included, per attempt
    max_retries: int = 4
    backoff_s: float = 1.0  # first wait; doubled each retry, with full jitter
    backoff_max_s: float = 30.0
    # The environment variable whose value is the key; with api_base, none means no key is sent.
    api_key_env: str | None = None
    # 429s are waited out apart from max_retries, up to this many seconds of waiting in all per call.
    throttle_wait_max_s: float = 900.0
    # The run's pacers (--rpm, --tpm, adaptive concurrency); without them each call paces itself alone.
    pacing: Pacing | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not (isinstance(self.timeout_s, int | float) and math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ValueError(f"timeout_s must be a positive, finite number of seconds, not {self.timeout_s!r}")
        if self.max_retries < 0:
            raise ValueError(f"max_retries must be 0 or more, not {self.max_retries!r}")


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


# --------------------------------------------------------------------------- keys


def provider_key_names(model: str) -> list[str]:
    """The environment variables the provider of ``model`` reads its key from (empty: it needs none)."""
    if offline.is_offline(model):
        return []
    litellm = litellm_module()
    missing = missing_keys(model)
    if missing:
        return missing
    try:
        provider = litellm.get_llm_provider(model=model)[1]
    except Exception:
        return []
    usual = f"{str(provider).upper()}_API_KEY"
    return [usual] if os.environ.get(usual) else []


def key_route(model: str, api_base: str | None = None, api_key_env: str | None = None) -> str:
    """Which environment variable's key goes to which host, for the plan printed before a run."""
    if offline.is_offline(model):
        return f"{model}: offline responder, no key"
    if api_base:
        where = f"{model} via {redact(api_base)}"
        if api_key_env:
            return f"{where}: key from {api_key_env}"
        return f"{where}: no key (--api-key-env NAME sends the key in $NAME)"
    names = [api_key_env] if api_key_env else provider_key_names(model)
    if not names:
        return f"{model}: no key (the provider needs none)"
    unset = [n for n in names if not os.environ.get(n)]
    return (
        f"{model}: key from {' and '.join(names)}{' (not set)' if unset else ''}, sent to the provider's own endpoint"
    )


# --------------------------------------------------------------------------- checks


class ModelError(EitestError):
    """A model string litellm does not know, or a provider whose key is not set."""


def check_model(
    model: str, api_base: str | None = None, *, require_key: bool = True, api_key_env: str | None = None
) -> None:
    """Fail early, with the fix, for an unknown model string or (when ``require_key``) a missing key.

    ``api_key_env`` names the variable that holds the key (with ``api_base``, the only key sent).
    """
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
    if not require_key:
        return
    if api_key_env:
        if not os.environ.get(api_key_env):
            raise ModelError(
                f"no key for {model}: --api-key-env names {api_key_env}, which is not set; "
                f"export {api_key_env}=... (or leave --api-key-env out to send no key)"
            )
        return
    if api_base:
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


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.TimeoutError) or any("Timeout" in c.__name__ for c in type(exc).__mro__)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (asyncio.TimeoutError, ConnectionError, NoText)):
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


def _describe(exc: BaseException, secrets: list[str | None], timeout_s: float) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return f"Timeout: no complete reply within {timeout_s:g} s"
    if isinstance(exc, NoText):
        return redact(f"NoText: {exc}"[:KEPT_CHARS], secrets)
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
    # A custom host gets only the key the user named for it, never the provider's own.
    key = api_key or (os.environ.get(settings.api_key_env) if settings.api_key_env else None)
    if settings.api_base:
        kwargs["api_base"] = settings.api_base
        kwargs["api_key"] = key or NO_KEY
    elif key:
        kwargs["api_key"] = key
    if metadata is not None:
        kwargs["metadata"] = metadata
    if response_format is not None:
        kwargs["response_format"] = response_format

    result = CallResult()
    secrets = [api_key, key]
    pacer = settings.pacing.for_model(model) if settings.pacing else ModelPacer(model, ceiling=1)
    tokens = estimate_tokens(messages, kwargs.get("max_tokens")) if pacer.tpm else 0.0
    failures = throttled = 0
    throttle_waited = 0.0
    while True:
        result.attempts += 1
        ticket = await pacer.acquire(tokens)
        start = time.perf_counter()
        try:
            # litellm's timeout bounds each read; a server trickling its body defeats it. This bounds the call.
            response = await asyncio.wait_for(litellm.acompletion(**kwargs), settings.timeout_s)
            result.latency_s = time.perf_counter() - start
            _fill(result, response, model)
        except Exception as exc:  # provider errors come in many classes; each is classified below
            result.latency_s = time.perf_counter() - start
            result.errors.append(_describe(exc, secrets, settings.timeout_s))
            if is_rate_limit(exc):
                # Waited as the provider says, apart from the failure budget, but not without end.
                wait = _throttle_wait(exc, settings, throttled)
                pacer.throttled(ticket, wait)
                throttled += 1
                throttle_waited += wait
                if throttle_waited <= settings.throttle_wait_max_s and throttled <= MAX_THROTTLED:
                    continue
                result.errors[-1] += (
                    f" (gave up after {throttled} rate-limited attempts, {throttle_waited:.1f} s waited)"
                )
            else:
                pacer.failed(ticket)
                if failures < settings.max_retries and _retryable(exc):
                    wait = random.uniform(0, min(settings.backoff_max_s, settings.backoff_s * 2**failures))
                    failures += 1
                    if _is_timeout(exc):
                        log.warning(
                            "%s: %s; retrying in %.1f s (attempt %d of %d)",
                            model,
                            result.errors[-1],
                            wait,
                            failures + 1,
                            settings.max_retries + 1,
                        )
                    await asyncio.sleep(wait)
                    continue
            result.error = result.errors[-1]
            return result
        except BaseException:  # cancelled: the slot is given back, the cancellation goes on
            pacer.failed(ticket)
            raise
        used = None if result.prompt_tokens is None else result.prompt_tokens + (result.completion_tokens or 0)
        pacer.succeeded(ticket, RateSignals.of_reply(response), used)
        result.error = None
        return result


def _throttle_wait(exc: BaseException, settings: CallSettings, throttled: int) -> float:
    """What the provider asks (retry-after-ms, retry-after); without a word, backoff with jitter."""
    asked = RateSignals.of_error(exc).retry_after_s
    if asked is not None:
        return min(asked, settings.throttle_wait_max_s)
    return random.uniform(0, min(settings.backoff_max_s, settings.backoff_s * 2**throttled))


class NoText(Exception):
    """A reply that came back without text to read: no choices, or an answer in a tool call. Retried."""


def _no_text(message: Any) -> NoText | None:
    calls = list(getattr(message, "tool_calls", None) or [])
    legacy = getattr(message, "function_call", None)
    functions = [getattr(c, "function", None) for c in calls] + ([legacy] if legacy else [])
    shown = [f"{getattr(f, 'name', '?')}({getattr(f, 'arguments', '') or ''})" for f in functions if f is not None]
    if not shown:
        return None
    what = "a tool call" if len(shown) == 1 else f"{len(shown)} tool calls"
    return NoText(f"the reply had no text: the model answered with {what} {', '.join(shown)}")


def _fill(result: CallResult, response: Any, model: str) -> None:
    if not response.choices:
        raise NoText("the reply had no choices")
    choice = response.choices[0]
    message = getattr(choice, "message", None)
    text = getattr(message, "content", None)
    if text is None and (no_text := _no_text(message)) is not None:
        raise no_text
    result.text = text
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
