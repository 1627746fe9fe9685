"""The whole-call deadline is a timer on the caller's task: no task per call, the same timeout and warning."""

from __future__ import annotations

import asyncio
import logging

import pytest

from eitest.client import calls
from eitest.client.event_loop import run_coroutine


def test_a_call_runs_in_the_callers_own_task():
    async def call() -> set[asyncio.Task]:
        return asyncio.all_tasks()

    async def caller() -> tuple[asyncio.Task | None, set[asyncio.Task]]:
        return asyncio.current_task(), await calls._awaited_aloud(call(), "openai/x", 120.0)

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

    async def caller() -> float:
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(TimeoutError):
            await calls._awaited_aloud(hangs(), "openai/x", 0.05)
        return loop.time() - start

    took = run_coroutine(caller())
    assert cancelled == [True] and 0.04 <= took < 1.0
    assert calls._describe(TimeoutError(), [], 0.05) == "Timeout: no complete reply within 0.05 s"


def test_a_slow_call_is_said_once_and_a_quick_one_leaves_no_timer(caplog):
    caplog.set_level(logging.WARNING, logger="eitest.client")

    async def takes(s: float) -> str:
        await asyncio.sleep(s)
        return "done"

    async def caller() -> tuple[str, int, int]:
        loop = asyncio.get_running_loop()
        before = len(loop._scheduled)  # type: ignore[attr-defined]
        quick = await calls._awaited_aloud(takes(0), "openai/x", 40.0)
        left = sum(not h.cancelled() for h in loop._scheduled)  # type: ignore[attr-defined]
        return quick, before, left

    old = calls.SLOW_SHARE, calls.SLOW_MIN_S
    calls.SLOW_SHARE, calls.SLOW_MIN_S = 0.005, 0.1
    try:
        quick, before, left = run_coroutine(caller())
        assert quick == "done" and left == before == 0  # the note and the deadline were both taken down
        assert not caplog.records
        assert run_coroutine(calls._awaited_aloud(takes(0.3), "eitest/\u202eslow", 40.0)) == "done"
    finally:
        calls.SLOW_SHARE, calls.SLOW_MIN_S = old
    (rec,) = caplog.records
    assert rec.getMessage() == "eitest/\\u202eslow: no reply yet after 0 s (the deadline is 40 s)"
