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

from eitest.client import offline, reasoning
from eitest.client.deadlines import within
from eitest.client.keys import NO_KEY, redact
from eitest.client.logprobs import first_token_logprobs
from eitest.client.pacing import ModelPacer, Pacing, estimate_tokens, is_rate_limit, quota_spent
from eitest.client.preparation import prepared_here
from eitest.client.providers import litellm_module
from eitest.client.rate_headers import RateSignals
from eitest.client.reply_fields import reply_field

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
# The client errors that are about timing, not the request: a timeout, a conflict, a rate limit.
RETRYABLE_STATUS = (408, 409, 429)
# Rate-limited attempts of one call, at most (with a provider that asks for no wait, the wait cap cannot bound them).
MAX_THROTTLED = 100
# The head of a trial's error when the provider said the account's quota or credit is spent (no retry helps).
QUOTA_SPENT = "QuotaSpent"
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
    reasoning: str | None = None  # what the provider returned apart from the answer text
    reasoning_tokens: int | None = None
    refused_calls: int = 0  # calls the server refused for their temperature, made again without it
    logprobs: list[list[Any]] | None = None  # the first token's [[token, logprob], ...], when asked and returned


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, asyncio.TimeoutError) or any("Timeout" in c.__name__ for c in type(exc).__mro__)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (asyncio.TimeoutError, ConnectionError, NoText)):
        return True
    if quota_spent(exc):
        return False
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
    if isinstance(status, int) and (status in RETRYABLE_STATUS or status >= 500):
        return True
    if isinstance(status, int) and 400 <= status < 500:
        return False  # the request itself was refused (a key, a model, a prompt): the same request fails again
    return bool(names & set(RETRYABLE))


def _describe(exc: BaseException, secrets: list[str | None], timeout_s: float) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return f"Timeout: no complete reply within {timeout_s:g} s"
    if isinstance(exc, NoText):
        return redact(f"NoText: {exc}", secrets)[:KEPT_CHARS]  # redacted whole, then cut: no key split at the cut
    status = getattr(exc, "status_code", None)
    head = (QUOTA_SPENT if quota_spent(exc) else type(exc).__name__) + (f" ({status})" if status else "")
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
    top_logprobs: int | None = None,
) -> CallResult:
    """Make one chat completion, retrying transient failures with exponential backoff and jitter.

    Never raises for a provider failure: the result carries the error instead, so
    the runner stores the trial as failed and goes on.
    """
    litellm = litellm_module()
    result = CallResult()
    key = api_key or (os.environ.get(settings.api_key_env) if settings.api_key_env else None)
    kwargs = _request(model, messages, settings, key, max_tokens=max_tokens)
    if metadata is not None:
        kwargs["metadata"] = metadata
    if response_format is not None:
        kwargs["response_format"] = response_format
    if top_logprobs:  # the first token's alternatives (eitest.client.logprobs)
        kwargs.update(logprobs=True, top_logprobs=top_logprobs)

    secrets = [api_key, key]
    pacer = settings.pacing.for_model(model) if settings.pacing else ModelPacer(model, ceiling=1)
    # A reasoning model's raised cap is room, not an estimate: the bucket would hold it back all that long.
    tokens = estimate_tokens(messages, settings.max_tokens or max_tokens) if pacer.tpm else 0.0
    failures = throttled = 0
    throttle_waited = 0.0
    while True:
        result.attempts += 1
        ticket = await pacer.acquire(tokens)
        start = time.perf_counter()
        try:
            # litellm's timeout bounds each read; a server trickling its body defeats it. This bounds the call.
            call = _without_refused_temperature(litellm, kwargs, result, settings, secrets)
            with prepared_here():  # litellm's preparation of the request on the loop's thread (where safe)
                response = await within(call, model, settings.timeout_s)
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
                            model.encode("unicode_escape").decode("ascii"),  # data on a terminal: no escapes
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


def _request(
    model: str,
    messages: list[dict[str, str]],
    settings: CallSettings,
    key: str | None,
    *,
    max_tokens: int | None = None,
) -> dict[str, Any]:
    """litellm's arguments for the call (and a batch's line); a temperature the model does not take is left out.

    ``max_tokens`` is the protocol's cap, sent when the settings set none (see :func:`reply_cap`).
    """
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "timeout": settings.timeout_s,
        "num_retries": 0,
        "max_retries": 0,
    }
    if settings.temperature is not None and temperature_taken(model, settings):
        kwargs["temperature"] = settings.temperature
    if cap := reply_cap(model, settings, max_tokens):
        kwargs["max_tokens"] = cap
    # A custom host gets only the key the user named for it, never the provider's own.
    if settings.api_base:
        kwargs["api_base"] = settings.api_base
        kwargs["api_key"] = key or NO_KEY
    elif key:
        kwargs["api_key"] = key
    return kwargs


def _throttle_wait(exc: BaseException, settings: CallSettings, throttled: int) -> float:
    """What the provider asks (retry-after-ms, retry-after); without a word, backoff with jitter."""
    asked = RateSignals.of_error(exc).retry_after_s
    if asked is not None:
        return min(asked, settings.throttle_wait_max_s)
    return random.uniform(0, min(settings.backoff_max_s, settings.backoff_s * 2**throttled))


def reply_cap(model: str, settings: CallSettings, protocol_cap: int | None) -> int | None:
    """The cap on ``model``'s reply: the settings', or the protocol's (raised for a reasoning model)."""
    if offline.is_offline(model):
        return settings.max_tokens or protocol_cap
    return reasoning.reply_cap(litellm_module(), model, settings.max_tokens, protocol_cap)


def raised_caps(models: list[str], settings: CallSettings, protocol_cap: int | None) -> dict[str, int]:
    """The models whose reply cap is raised above the settings' or the protocol's (reasoning models), and their caps."""
    sent = settings.max_tokens or protocol_cap
    caps = {m: reply_cap(m, settings, protocol_cap) for m in models}
    return {m: c for m, c in caps.items() if c is not None and c != sent}


def temperature_taken(model: str, settings: CallSettings) -> bool:
    """Whether the settings' temperature is sent to ``model`` (see :mod:`eitest.client.reasoning`)."""
    if settings.temperature is None or offline.is_offline(model):
        return settings.temperature is not None
    return reasoning.takes_temperature(litellm_module(), model, settings.temperature, settings.api_base)


async def _without_refused_temperature(
    litellm: Any, kwargs: dict[str, Any], result: CallResult, settings: CallSettings, secrets: list[str | None]
) -> Any:
    """The call; when its server refuses the temperature, the same call again without it (noted in the result)."""
    try:
        return await litellm.acompletion(**kwargs)
    except Exception as exc:
        if "temperature" not in kwargs or not reasoning.refuses_temperature(exc):
            raise
        result.errors.append(_describe(exc, secrets, settings.timeout_s) + " (sent again without temperature)")
        del kwargs["temperature"]
        reasoning.remember_refusal(kwargs["model"], settings.api_base)
        result.refused_calls += 1
        result.attempts += 1
        return await litellm.acompletion(**kwargs)


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
    # Usage and cost first: a reply without text is retried, but the provider bills it all the same.
    usage = reply_field(response, "usage")
    if usage is not None:
        result.prompt_tokens = getattr(usage, "prompt_tokens", None)
        result.completion_tokens = getattr(usage, "completion_tokens", None)
        result.reasoning_tokens = reasoning.reasoning_tokens(usage)
    cost = _price(response, model)
    if cost is not None:
        result.cost = cost if result.cost is None else result.cost + cost  # summed over the replies paid for
    choices = getattr(response, "choices", None)
    if not choices:
        raise NoText("the reply had no choices")
    choice = choices[0]
    message = getattr(choice, "message", None)
    text = getattr(message, "content", None)
    if not text and (no_text := _no_text(message)) is not None:  # "" beside tool calls is no text either
        raise no_text
    result.text = text
    result.reasoning = reasoning.reply_reasoning(message)
    result.logprobs = first_token_logprobs(choice)
    result.finish_reason = getattr(choice, "finish_reason", None)
    result.model_returned = getattr(response, "model", None)


def _price(response: Any, model: str) -> float | None:
    if offline.is_offline(model):
        return 0.0
    # litellm prices the response as it logs it; asking again for a model without a
    # price would cost ~1 ms of failed look-ups per call, and give the same None.
    cost = (reply_field(response, "_hidden_params") or {}).get("response_cost")
    return float(cost) if cost is not None else None


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
