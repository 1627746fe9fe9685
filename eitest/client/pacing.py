"""Pacing of the calls to each model: the user's --rpm / --tpm limits and a concurrency that adapts.

One :class:`ModelPacer` per model gates every attempt of every call to it:

- a token bucket per limit (:class:`TokenBucket`): requests per minute, and tokens per
  minute estimated from the prompt and corrected by the usage that comes back;
- the provider's word: a 429 pauses every call to the model for as long as its
  ``retry-after-ms`` / ``retry-after`` says, and remaining-requests or -tokens headers on
  replies stop new calls once the provider's window is spent, until its reset (read by
  :mod:`eitest.client.rate_headers`);
- AIMD concurrency (:class:`Aimd`): halved on a 429, one more after a window of
  successes, never above the run's ``--concurrency``.

Everything here is plain asyncio with an injectable clock, so the tests drive it with a fake one.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from eitest.client.rate_headers import RateSignals

T = TypeVar("T")

# A header that says "wait until the reset" is believed up to this long: a provider whose
# reset means "back to full" (minutes away) must not stall a run that could go on sooner.
MAX_HEADER_PAUSE_S = 60.0
# A remaining-requests header without a reset time holds new calls this long.
DEFAULT_RESET_S = 1.0


class TokenBucket:
    """``per_minute`` units refilled evenly, holding at most one second's worth (at least one call's).

    :meth:`reserve` always takes what it is asked for and returns how long the caller must
    wait first: the level may go below zero, so callers are served in the order they reserved.
    """

    def __init__(self, per_minute: float, now: float) -> None:
        if not (math.isfinite(per_minute) and per_minute > 0):
            raise ValueError(f"a rate limit must be a positive number per minute, not {per_minute!r}")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self._at = now

    def _refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self._at) * self.rate)
        self._at = max(self._at, now)

    def reserve(self, amount: float, now: float) -> float:
        """Take ``amount``; the seconds from ``now`` until it is there."""
        self._refill(now)
        self.level -= amount
        return 0.0 if self.level >= 0 else -self.level / self.rate

    def correct(self, extra: float, now: float) -> None:
        """Account ``extra`` more units than were reserved (negative: fewer, given back)."""
        self._refill(now)
        self.level = min(self.capacity, self.level - extra)


@dataclass
class Aimd:
    """Additive increase, multiplicative decrease of the calls in flight, between 1 and ``ceiling``.

    A 429 halves the limit once per congestion event: calls started before the last
    decrease (``epoch``) were sent at the old limit and say nothing new. After ``limit``
    successes in a row the limit grows by one.
    """

    ceiling: int
    limit: int = 0
    epoch: int = 0
    successes: int = 0

    def __post_init__(self) -> None:
        if self.ceiling < 1:
            raise ValueError(f"concurrency must be 1 or more, not {self.ceiling!r}")
        self.limit = self.limit or self.ceiling

    def succeeded(self) -> None:
        self.successes += 1
        if self.successes >= self.limit and self.limit < self.ceiling:
            self.limit += 1
            self.successes = 0

    def throttled(self, started_epoch: int) -> tuple[int, int] | None:
        """A 429 to a call started in ``started_epoch``: (before, after) when the limit fell, else None."""
        self.successes = 0
        if started_epoch != self.epoch or self.limit == 1:
            return None
        before, self.limit = self.limit, max(1, self.limit // 2)
        self.epoch += 1
        return before, self.limit


@dataclass(frozen=True)
class Ticket:
    """One attempt let through: its place in the sending order, the AIMD epoch, the tokens reserved."""

    seq: int
    epoch: int
    tokens: float


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class ModelPacer:
    """The gate in front of every attempt to one model (see the module's docstring)."""

    model: str
    ceiling: int
    rpm: float | None = None
    tpm: float | None = None
    on_event: Callable[[str], None] | None = None
    on_state: Callable[[str, str | None], None] | None = None  # (model, why its calls are held; None: they are not)
    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep
    throttled_count: int = 0  # 429 replies seen
    aimd: Aimd = field(init=False)
    _requests: TokenBucket | None = field(init=False, default=None)
    _tokens: TokenBucket | None = field(init=False, default=None)
    _in_flight: int = field(init=False, default=0)
    _sent: int = field(init=False, default=0)
    _pause_until: float = field(init=False, default=-math.inf)
    _send_cap: int | None = field(init=False, default=None)  # last seq the provider's window allows
    _cap_until: float = field(init=False, default=-math.inf)
    _window_size: int = field(init=False, default=0)  # most requests the provider's window was seen to hold
    _heard_seq: int = field(init=False, default=0)  # the latest-sent call whose headers were heeded
    _freed: asyncio.Event | None = field(init=False, default=None)
    _pause_why: str = field(init=False, default="")
    _said: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.aimd = Aimd(self.ceiling)
        now = self.clock()
        self._requests = TokenBucket(self.rpm, now) if self.rpm else None
        self._tokens = TokenBucket(self.tpm, now) if self.tpm else None

    @property
    def limit(self) -> int:
        return self.aimd.limit

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def _say(self, state: str | None) -> None:
        if state != self._said and self.on_state is not None:
            self.on_state(self.model, state)
        self._said = state

    def _hold_until(self, now: float) -> float | None:
        """When a held call may try again (None: it may go now, as far as pauses and windows go)."""
        if now < self._pause_until:
            self._say(self._pause_why)
            return self._pause_until
        if self._send_cap is not None and self._sent >= self._send_cap:
            if now < self._cap_until:
                self._say("the provider's request window is spent")
                return self._cap_until
            # A new window: no more at once than a window holds, until its first reply says what is left.
            self._send_cap = self._sent + self._window_size if self._window_size else None
            self._cap_until = now + DEFAULT_RESET_S
            self._heard_seq = self._sent  # replies to calls sent before this speak of the old window
        return None

    async def acquire(self, tokens: float = 0.0) -> Ticket:
        """Wait for the model's pauses, window, concurrency and buckets; the ticket to give back in a release."""
        while True:
            now = self.clock()
            until = self._hold_until(now)
            if until is not None:
                await self.sleep(until - now)
                continue
            if self._in_flight >= self.aimd.limit:
                if self._freed is None:
                    self._freed = asyncio.Event()
                self._freed.clear()
                await self._freed.wait()
                continue
            break
        self._in_flight += 1
        self._sent += 1
        ticket = Ticket(self._sent, self.aimd.epoch, tokens)
        wait = 0.0
        if self._requests is not None:
            wait = self._requests.reserve(1, now)
        if self._tokens is not None and tokens:
            wait = max(wait, self._tokens.reserve(tokens, now))
        limited = f"concurrency {self.aimd.limit} of {self.ceiling}" if self.aimd.limit < self.ceiling else None
        self._say("paced by --rpm/--tpm" if wait > 0 else limited)
        if wait > 0:
            await self.sleep(wait)
        return ticket

    def _free(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:  # nothing waits on this model now (its last call may have been made)
            self._say(None)
        if self._freed is not None:
            self._freed.set()

    def succeeded(self, ticket: Ticket, signals: RateSignals, used_tokens: int | None = None) -> None:
        """A reply came back: grow the concurrency, heed its rate-limit headers, correct the token estimate."""
        self._free()
        self.aimd.succeeded()
        now = self.clock()
        if self._tokens is not None and used_tokens is not None:
            self._tokens.correct(used_tokens - ticket.tokens, now)
        if signals.remaining_requests is not None and ticket.seq > self._heard_seq:
            # The provider counted this call; calls sent after it are not in its count yet.
            self._heard_seq = ticket.seq
            reset = signals.reset_requests_s if signals.reset_requests_s is not None else DEFAULT_RESET_S
            self._send_cap = ticket.seq + max(0, signals.remaining_requests)
            self._window_size = max(self._window_size, signals.remaining_requests + 1)
            self._cap_until = now + min(reset, MAX_HEADER_PAUSE_S)
        if signals.remaining_tokens is not None and signals.remaining_tokens <= 0:
            reset = signals.reset_tokens_s if signals.reset_tokens_s is not None else DEFAULT_RESET_S
            if now + min(reset, MAX_HEADER_PAUSE_S) > self._pause_until:
                self._pause_until = now + min(reset, MAX_HEADER_PAUSE_S)
                self._pause_why = "the provider's token window is spent"

    def throttled(self, ticket: Ticket, wait_s: float) -> None:
        """A 429: every call to the model waits ``wait_s``; the concurrency halves (once per event)."""
        self._free()
        self.throttled_count += 1
        now = self.clock()
        if now + wait_s > self._pause_until:  # the reason shown is the one that holds longest
            self._pause_until, self._pause_why = now + wait_s, "429: waiting as the provider asks"
        change = self.aimd.throttled(ticket.epoch)
        if change is not None and self.on_event is not None:
            before, after = change
            self.on_event(
                f"{self.model}: throttled: 429 from provider, concurrency {before} -> {after}, waiting {wait_s:.1f} s"
            )

    def failed(self, ticket: Ticket) -> None:
        """Any other failure: the slot is free, the limits unchanged."""
        self._free()


def rate_for(rates: T | Mapping[str, T] | None, model: str) -> T | None:
    """``model``'s limit in ``rates``: one for every model, or a mapping by model ("*": every model not named)."""
    return rates.get(model, rates.get("*")) if isinstance(rates, Mapping) else rates


@dataclass
class Pacing:
    """The pacers of a run, one per model, made on first use with the run's limits (see :func:`rate_for`)."""

    ceiling: int
    rpm: float | Mapping[str, float] | None = None
    tpm: float | Mapping[str, float] | None = None
    on_event: Callable[[str], None] | None = None
    on_state: Callable[[str, str | None], None] | None = None
    pacers: dict[str, ModelPacer] = field(default_factory=dict)

    def for_model(self, model: str) -> ModelPacer:
        if model not in self.pacers:
            rpm, tpm = rate_for(self.rpm, model), rate_for(self.tpm, model)
            self.pacers[model] = ModelPacer(model, self.ceiling, rpm, tpm, self.on_event, self.on_state)
        return self.pacers[model]

    @property
    def throttled_count(self) -> int:
        return sum(p.throttled_count for p in self.pacers.values())


# How a provider says the account's quota or credit is spent: OpenAI's 429 of type "insufficient_quota",
# Anthropic's 400 "Your credit balance is too low", OpenRouter's and DeepSeek's 402 "Insufficient credits" /
# "Insufficient Balance". Waiting does not end it. Not OpenAI's words "exceeded your current quota" alone:
# Gemini sends them with its per-minute 429s, which waiting does end.
QUOTA_WORDS = re.compile(r"insufficient_quota|insufficient (?:credits|balance)|credit balance is too low", re.I)


def quota_spent(exc: BaseException) -> bool:
    """Whether ``exc`` says the account has no quota or credit left (its message, or its body's type or code)."""
    body = getattr(exc, "body", None)
    said = [str(exc)] + ([str(body.get(k)) for k in ("type", "code")] if isinstance(body, dict) else [])
    return any(QUOTA_WORDS.search(text) for text in said)


def is_rate_limit(exc: BaseException) -> bool:
    """A 429 (litellm's RateLimitError, or any error carrying that status) that waiting ends: not a spent quota."""
    limited = getattr(exc, "status_code", None) == 429 or any(c.__name__ == "RateLimitError" for c in type(exc).__mro__)
    return limited and not quota_spent(exc)


def estimate_tokens(messages: list[dict[str, str]], max_tokens: int | None) -> float:
    """A cheap count for a token bucket: about four characters a token, plus the reply's cap."""
    return sum(len(str(m.get("content", ""))) for m in messages) / 4 + (max_tokens or 0)
