"""What a provider's reply headers say about its rate limits, read into :class:`RateSignals`.

OpenAI and the servers that copy it send ``x-ratelimit-remaining-requests`` /
``-tokens`` with ``x-ratelimit-reset-*`` durations (``250ms``, ``6m0s``), and a 429
``retry-after-ms`` / ``retry-after`` (seconds or an HTTP date). Anthropic sends
``anthropic-ratelimit-requests-remaining`` / ``-tokens-remaining`` with
``anthropic-ratelimit-*-reset`` RFC 3339 times, and a 429 ``retry-after``. litellm hands
a reply's headers on as the provider sent them, or (Anthropic) as ``llm_provider-``
copies beside OpenAI-named ones it derives; both are read here.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from eitest.client.reply_fields import reply_field

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")


def parse_duration(text: str | None) -> float | None:
    """Seconds in a reset header: ``1.5`` (seconds), ``20ms``, ``1s``, ``6m0s``, ``1h2m``; None if unreadable."""
    if text is None:
        return None
    text = text.strip().lower()
    try:
        value = float(text)
        return value if math.isfinite(value) and value >= 0 else None
    except ValueError:
        pass
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in parts)


def _count(text: str | None) -> int | None:
    try:
        return int(float(text)) if text is not None else None
    except ValueError:
        return None


def _first_present(h: Mapping[str, str], *names: str) -> str | None:
    """The value of the first of ``names`` that ``h`` holds."""
    return next((h[n] for n in names if n in h), None)


def _reset_s(h: Mapping[str, str], kind: str, now_epoch: float) -> float | None:
    """OpenAI's ``x-ratelimit-reset-*`` duration, or Anthropic's ``anthropic-ratelimit-*-reset`` RFC 3339 time."""
    if (seconds := parse_duration(h.get(f"x-ratelimit-reset-{kind}"))) is not None:
        return seconds
    try:
        when = datetime.fromisoformat(h[f"anthropic-ratelimit-{kind}-reset"])
    except (KeyError, ValueError):
        return None
    if when.tzinfo is None:  # Anthropic writes "Z"; a time without a zone is read as UTC, not as this machine's
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_epoch)


@dataclass(frozen=True)
class RateSignals:
    """What a reply's headers say about the provider's limits (None: not said)."""

    retry_after_s: float | None = None
    remaining_requests: int | None = None
    remaining_tokens: int | None = None
    reset_requests_s: float | None = None
    reset_tokens_s: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str] | None, *, now_epoch: float | None = None) -> RateSignals:
        """Read the headers OpenAI-style providers and Anthropic send; ``retry-after-ms`` wins over ``retry-after``."""
        if not headers:
            return cls()
        # litellm forwards a provider's own headers prefixed "llm_provider-"; a header that came without the
        # prefix wins over a forwarded one of the same name (behind a litellm proxy: the proxy's own limit).
        named = {str(k).lower(): str(v) for k, v in headers.items()}
        h = {k.removeprefix("llm_provider-"): v for k, v in named.items() if k.startswith("llm_provider-")}
        h |= {k: v for k, v in named.items() if not k.startswith("llm_provider-")}
        now = time.time() if now_epoch is None else now_epoch
        retry = None
        if (ms := parse_duration(h.get("retry-after-ms"))) is not None:
            retry = ms / 1000
        elif (after := h.get("retry-after")) is not None:
            retry = parse_duration(after)
            if retry is None:  # an HTTP date
                try:
                    when = parsedate_to_datetime(after).timestamp()
                    retry = max(0.0, when - now)
                except (TypeError, ValueError):
                    retry = None
        return cls(
            retry_after_s=retry,
            remaining_requests=_count(
                _first_present(h, "x-ratelimit-remaining-requests", "anthropic-ratelimit-requests-remaining")
            ),
            remaining_tokens=_count(
                _first_present(h, "x-ratelimit-remaining-tokens", "anthropic-ratelimit-tokens-remaining")
            ),
            reset_requests_s=_reset_s(h, "requests", now),
            reset_tokens_s=_reset_s(h, "tokens", now),
        )

    @classmethod
    def of_reply(cls, response: Any) -> RateSignals:
        """The headers of a litellm reply (as the provider sent them, else litellm's copy of them)."""
        headers = reply_field(response, "_response_headers")
        if not headers:
            headers = (reply_field(response, "_hidden_params") or {}).get("additional_headers")
        return cls.from_headers(dict(headers) if headers else None)

    @classmethod
    def of_error(cls, exc: BaseException) -> RateSignals:
        """The headers of the HTTP reply behind a litellm exception (a 429's retry-after)."""
        headers = getattr(exc, "litellm_response_headers", None)
        if not headers:
            headers = getattr(getattr(exc, "response", None), "headers", None)
        return cls.from_headers(dict(headers) if headers else None)
