"""The pacer's parts with a fake clock: token buckets, AIMD, the provider's headers, and the gate itself."""

from __future__ import annotations

import asyncio

import pytest

from eitest.client.pacing import Aimd, ModelPacer, Pacing, TokenBucket, estimate_tokens
from eitest.client.rate_headers import RateSignals


class FakeClock:
    """Time that moves only when a task sleeps: each sleep ends at once, the clock ``s`` later."""

    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    async def sleep(self, s: float) -> None:
        self.sleeps.append(round(s, 9))
        self.t += s
        await asyncio.sleep(0)


def pacer(clock: FakeClock, **kw: object) -> ModelPacer:
    return ModelPacer("openai/m", kw.pop("ceiling", 8), clock=clock, sleep=clock.sleep, **kw)


def test_a_bucket_holds_one_second_and_queues_the_rest_in_order():
    bucket = TokenBucket(120, now=0.0)  # 2 a second
    assert bucket.capacity == 2.0
    assert [bucket.reserve(1, 0.0) for _ in range(5)] == [0.0, 0.0, 0.5, 1.0, 1.5]
    assert bucket.reserve(1, 10.0) == 0.0 and bucket.level == 1.0  # refilled to its capacity, not beyond
    slow = TokenBucket(6, now=0.0)  # one every 10 s: the capacity is still one call
    assert slow.capacity == 1.0 and [slow.reserve(1, 0.0), slow.reserve(1, 0.0)] == [0.0, 10.0]


def test_a_token_bucket_is_corrected_by_the_usage_that_comes_back():
    bucket = TokenBucket(6000, now=0.0)  # 100 tokens a second
    assert bucket.reserve(80, 0.0) == 0.0 and bucket.level == 20.0
    bucket.correct(50, 0.0)  # 130 used, 80 reserved
    assert bucket.level == -30.0 and bucket.reserve(10, 0.0) == pytest.approx(0.4)
    bucket.correct(-1000, 0.0)  # far fewer than reserved: back to full, never above
    assert bucket.level == 100.0
    with pytest.raises(ValueError, match="a rate limit must be a positive number per minute, not 0"):
        TokenBucket(0, now=0.0)


def test_aimd_halves_once_per_event_and_grows_after_a_window_of_successes():
    aimd = Aimd(16)
    assert aimd.throttled(0) == (16, 8) and aimd.epoch == 1
    assert aimd.throttled(0) is None and aimd.limit == 8  # sent at 16: the same event
    assert aimd.throttled(1) == (8, 4)
    for _ in range(3):
        aimd.succeeded()
    assert aimd.limit == 4
    aimd.succeeded()
    assert aimd.limit == 5 and aimd.successes == 0
    for _ in range(5 + 6 + 7 + 8 + 9 + 10 + 11 + 12 + 13 + 14 + 15):
        aimd.succeeded()
    assert aimd.limit == 16
    for _ in range(100):
        aimd.succeeded()
    assert aimd.limit == 16  # never above the ceiling
    down = Aimd(1)
    assert down.throttled(0) is None and down.limit == 1


def test_a_429_pauses_every_call_to_the_model_and_halves_its_concurrency():
    clock = FakeClock()
    events: list[str] = []
    gate = pacer(clock, ceiling=16, on_event=events.append)

    async def scenario() -> list[float]:
        tickets = [await gate.acquire() for _ in range(16)]
        gate.throttled(tickets[0], 1.2)
        gate.throttled(tickets[1], 0.5)  # the same event: no second halving, the longer pause holds
        assert (gate.limit, gate.in_flight, gate.throttled_count) == (8, 14, 2)
        for ticket in tickets[2:9]:
            gate.failed(ticket)
        start = clock.t
        await gate.acquire()
        return [clock.t - start]

    assert asyncio.run(scenario()) == [pytest.approx(1.2)]
    assert events == ["openai/m: throttled: 429 from provider, concurrency 16 -> 8, waiting 1.2 s"]


def test_the_concurrency_limit_holds_calls_until_one_is_given_back():
    clock = FakeClock()
    gate = pacer(clock, ceiling=2)
    order: list[str] = []

    async def scenario() -> None:
        a, b = await gate.acquire(), await gate.acquire()

        async def third() -> None:
            await gate.acquire()
            order.append("third in")

        task = asyncio.create_task(third())
        await asyncio.sleep(0)
        order.append("a back")
        gate.succeeded(a, RateSignals())
        await task
        gate.failed(b)

    asyncio.run(scenario())
    assert order == ["a back", "third in"] and gate.in_flight == 1


def test_rpm_and_tpm_pace_the_calls():
    clock = FakeClock()
    gate = pacer(clock, rpm=60, tpm=600)  # one call a second; ten tokens a second

    async def scenario() -> None:
        for _ in range(3):
            gate.succeeded(await gate.acquire(tokens=5), RateSignals(), used_tokens=5)
        gate.succeeded(await gate.acquire(tokens=5), RateSignals(), used_tokens=45)  # 40 more than estimated
        await gate.acquire(tokens=5)

    asyncio.run(scenario())
    # the rpm bucket spaces the calls a second apart; after the 40-token under-estimate the bucket
    # is 30 short (full at 10, less 40), so the next 5 wait 3.5 s at 10 tokens a second
    assert clock.sleeps == [1.0, 1.0, 1.0, 3.5]


def test_remaining_requests_stop_new_calls_until_the_window_resets():
    clock = FakeClock()
    gate = pacer(clock, ceiling=20)

    async def scenario() -> None:
        tickets = [await gate.acquire() for _ in range(4)]  # seq 1..4
        # the reply to the first: 5 left in the window, which resets in 0.8 s; 3 calls sent since are not counted
        gate.succeeded(tickets[0], RateSignals(remaining_requests=5, reset_requests_s=0.8))
        for _ in range(2):
            await gate.acquire()  # seq 5 and 6: the window's last two
        assert clock.sleeps == []
        await gate.acquire()  # seq 7 waits for the new window
        assert clock.sleeps == [pytest.approx(0.8)]
        # in the new window at most a window's worth (6) go before a reply says what is left
        for _ in range(5):
            await gate.acquire()
        assert len(clock.sleeps) == 1
        gate.succeeded(tickets[1], RateSignals(remaining_requests=0, reset_requests_s=0.1))  # of the old window
        await gate.acquire()  # the 7th of the new window: held until its cap lapses (1 s)
        assert clock.sleeps == [pytest.approx(0.8), pytest.approx(1.0)]

    asyncio.run(scenario())


def test_no_tokens_left_pause_until_the_token_reset_capped_at_a_minute():
    clock = FakeClock()
    gate = pacer(clock)

    async def scenario() -> None:
        gate.succeeded(await gate.acquire(), RateSignals(remaining_tokens=0, reset_tokens_s=600.0))
        await gate.acquire()

    asyncio.run(scenario())
    assert clock.sleeps == [60.0]


def test_pacing_keeps_one_pacer_per_model():
    pacing = Pacing(4, rpm=100)
    a, b = pacing.for_model("openai/a"), pacing.for_model("openai/b")
    assert pacing.for_model("openai/a") is a and a is not b and a.ceiling == 4 and a.rpm == 100
    a.throttled_count, b.throttled_count = 2, 3
    assert pacing.throttled_count == 5
    assert estimate_tokens([{"role": "user", "content": "x" * 40}], 16) == 26.0


def test_each_change_in_why_a_models_calls_are_held_is_said_once():
    clock = FakeClock()
    said: list[tuple[str, str | None]] = []
    gate = pacer(clock, ceiling=4, rpm=60, on_state=lambda model, why: said.append((model, why)))

    async def scenario() -> None:
        first = await gate.acquire()  # the bucket's one call a second: no wait
        second = await gate.acquire()  # waits a second for the bucket
        gate.throttled(first, 2.0)  # a 429: every call waits 2 s, concurrency 4 -> 2
        gate.succeeded(second, RateSignals(remaining_requests=0, reset_requests_s=5.0))
        third = await gate.acquire()  # held by the pause, then by the spent window; goes at concurrency 2
        for _ in range(40):  # successes grow the concurrency back to 4
            gate.aimd.succeeded()
        gate.succeeded(third, RateSignals(remaining_requests=10, reset_requests_s=5.0))  # a new window, not spent
        fourth = await gate.acquire()  # the bucket again: it gave its call at 6 s
        clock.t += 10
        await gate.acquire()  # nothing holds it
        gate.failed(fourth)

    asyncio.run(scenario())
    assert said == [
        ("openai/m", "paced by --rpm/--tpm"),
        ("openai/m", None),  # both calls back: nothing of the model is held, or in flight
        ("openai/m", "429: waiting as the provider asks"),
        ("openai/m", "the provider's request window is spent"),
        ("openai/m", "concurrency 2 of 4"),
        ("openai/m", None),
        ("openai/m", "paced by --rpm/--tpm"),
        ("openai/m", None),
    ]
    assert clock.sleeps == [1.0, 2.0, 3.0, 1.0]


def test_limits_by_model_fall_back_on_the_star_and_then_on_none():
    pacing = Pacing(4, rpm={"*": 100, "openai/a": 50}, tpm={"openai/b": 9000})
    a, b = pacing.for_model("openai/a"), pacing.for_model("openai/b")
    assert (a.rpm, a.tpm, b.rpm, b.tpm) == (50, None, 100, 9000)
