"""The whole-call deadline: one timer per loop for every call's timeout and slow-call note, no task per call."""

from __future__ import annotations

import asyncio
import gc
import logging
import weakref

import pytest

from eitest.client import calls, deadlines
from eitest.client.event_loop import run_coroutine


@pytest.fixture
def note_after(monkeypatch):
    """The slow-call note at ``share`` of a deadline, once that is ``least_s`` or more."""

    def set_to(share: float, least_s: float) -> None:
        monkeypatch.setattr(deadlines, "SLOW_SHARE", share)
        monkeypatch.setattr(deadlines, "SLOW_MIN_S", least_s)

    return set_to


async def takes(s: float, value: str = "done") -> str:
    await asyncio.sleep(s)
    return value


def live_timers(loop: asyncio.AbstractEventLoop) -> int:
    return sum(not h.cancelled() for h in loop._scheduled)  # type: ignore[attr-defined]


def test_a_call_runs_in_the_callers_own_task():
    async def call() -> set[asyncio.Task]:
        return asyncio.all_tasks()

    async def caller() -> tuple[asyncio.Task | None, set[asyncio.Task]]:
        return asyncio.current_task(), await deadlines.within(call(), "openai/x", 120.0)

    me, seen = run_coroutine(caller())
    assert seen == {me}  # wait_for would have run the call in a second task


def test_a_call_past_its_deadline_is_a_timeout_and_is_cancelled():
    cancelled = []

    async def hangs() -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return "late"

    async def caller() -> tuple[float, int]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(TimeoutError):
            await deadlines.within(hangs(), "openai/x", 0.05)
        return loop.time() - start, asyncio.current_task().cancelling()

    took, cancelling = run_coroutine(caller())
    assert cancelled == [True] and 0.04 <= took < 1.0
    assert cancelling == 0  # the deadline's cancellation was taken back: the task is not being cancelled
    assert calls._describe(TimeoutError(), [], 0.05) == "Timeout: no complete reply within 0.05 s"


def test_calls_that_return_set_one_timer_and_leave_no_entry():
    async def caller() -> tuple[list[str], int, int]:
        loop = asyncio.get_running_loop()
        timers = 0
        call_at = loop.call_at

        def counted(*args, **kwargs):
            nonlocal timers
            timers += 1
            return call_at(*args, **kwargs)

        loop.call_at = counted  # type: ignore[method-assign]
        try:
            calls_ = [deadlines.within(takes(0.001 * (k % 5)), "openai/x", 40.0) for k in range(200)]
            done = await asyncio.gather(*calls_)
        finally:
            del loop.call_at
        # The calls' own sleeps set timers too; the deadlines set one between them.
        return done, timers - sum(k % 5 > 0 for k in range(200)), len(deadlines._clock(loop).waiting)

    done, deadline_timers, waiting = run_coroutine(caller())
    assert done == ["done"] * 200
    assert deadline_timers == 1 and waiting == 0  # asyncio.timeout and a note per call would have set 400


def test_a_shorter_deadline_after_a_longer_one_is_kept_on_time():
    async def caller() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        slow = asyncio.ensure_future(deadlines.within(takes(0.3, "slow"), "openai/x", 60.0))
        await asyncio.sleep(0)
        start = loop.time()
        with pytest.raises(TimeoutError):
            await deadlines.within(takes(5), "openai/y", 0.05)
        took = loop.time() - start
        return await slow, took

    slow, took = run_coroutine(caller())
    assert slow == "slow" and took < 0.25


def test_a_cancellation_from_outside_stays_a_cancellation():
    async def caller() -> None:
        inner = asyncio.ensure_future(deadlines.within(takes(5), "openai/x", 0.2))
        await asyncio.sleep(0.01)
        inner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await inner

    run_coroutine(caller())


def test_a_deadline_met_while_the_call_is_being_cancelled_from_outside_is_that_cancellation():
    # As under asyncio.timeout: a cancellation asked while the call is cancelled at its deadline wins.
    async def hangs() -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            asyncio.current_task().cancel()  # another cancellation arrives as the deadline's is handled
            raise
        return "late"

    async def caller() -> None:
        task = asyncio.ensure_future(deadlines.within(hangs(), "openai/x", 0.02))
        with pytest.raises(asyncio.CancelledError):
            await task

    run_coroutine(caller())


def test_a_task_cancelled_and_recovered_before_the_call_still_times_out():
    async def caller() -> str:
        task = asyncio.current_task()
        task.cancel()
        try:
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            pass  # handled, not taken back: the task's count of cancellations stays at one
        with pytest.raises(TimeoutError):
            await deadlines.within(takes(5), "openai/x", 0.02)
        return "went on"

    assert run_coroutine(caller()) == "went on"


def test_a_call_that_returns_despite_its_deadline_returns_and_leaves_the_task_uncancelled():
    async def shrugs() -> str:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            return "answered anyway"
        return "late"

    async def caller() -> tuple[str, int]:
        got = await deadlines.within(shrugs(), "openai/x", 0.02)
        return got, asyncio.current_task().cancelling()

    assert run_coroutine(caller()) == ("answered anyway", 0)


def test_a_closed_loop_is_not_kept_by_its_clock():
    async def call() -> weakref.ref[asyncio.AbstractEventLoop]:
        loop = asyncio.get_running_loop()
        assert await deadlines.within(takes(0), "openai/x", 40.0) == "done"
        assert loop in deadlines._clocks
        return weakref.ref(loop)

    loops = [run_coroutine(call()) for _ in range(3)]
    gc.collect()
    assert all(loop() is None for loop in loops)  # the clock's timer, left to go off, did not keep its loop


def test_a_slow_call_is_said_once(caplog, note_after):
    caplog.set_level(logging.WARNING, logger="eitest.client")
    note_after(0.005, 0.1)  # 0.2 s of a 40 s deadline
    assert run_coroutine(deadlines.within(takes(0), "openai/x", 40.0)) == "done"
    assert not caplog.records
    assert run_coroutine(deadlines.within(takes(0.5), "eitest/\u202eslow", 40.0)) == "done"
    (rec,) = caplog.records
    assert rec.getMessage() == "eitest/\\u202eslow: no reply yet after 0 s (the deadline is 40 s)"


def test_short_deadlines_get_no_note(caplog, note_after):
    caplog.set_level(logging.WARNING, logger="eitest.client")
    note_after(0.25, 10.0)
    assert run_coroutine(deadlines.within(takes(0.3), "openai/fast", 1.0)) == "done"
    assert not caplog.records
