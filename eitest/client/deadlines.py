"""Every call's deadline on a loop kept by one timer: the whole-call timeout and the slow-call note.

``asyncio.timeout`` puts a timer in the loop's heap for each call, and the note a second one,
and both come down when the call returns, nearly always long before either is due. Here a call
in flight is an entry in a dict; one timer per loop is set for the earliest moment something is
due, and when it goes off it finds the entries that are due (often none: their calls have
returned) and sets itself for the next. A call past its deadline is cancelled and raises
``TimeoutError`` in its caller, as under ``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
import weakref
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")
log = logging.getLogger("eitest.client")

# A call still waiting after this share of its deadline is said on stderr: a hanging server is not silence.
SLOW_SHARE = 0.25
SLOW_MIN_S = 10.0
# A loop runs a timer up to one step of its clock early: what is due within that step is due now.
_STEP = time.get_clock_info("monotonic").resolution


class _Deadline:
    """One call in flight: its task, when it is due, and when its note is due (None: said, or never)."""

    __slots__ = ("cancelling", "due", "expired", "model", "note_after", "note_at", "task", "timeout_s")

    def __init__(self, task: asyncio.Task, start: float, timeout_s: float, model: str) -> None:
        self.task, self.model, self.timeout_s = task, model, timeout_s
        self.due = start + timeout_s
        self.note_after = timeout_s * SLOW_SHARE
        self.note_at: float | None = start + self.note_after if self.note_after >= SLOW_MIN_S else None
        self.cancelling = task.cancelling()  # cancellations asked before this call are not its timeout
        self.expired = False

    def next_at(self) -> float:
        return self.due if self.note_at is None else self.note_at


class _Clock:
    """The calls in flight on one loop and its one timer, set for the earliest moment one of them is due.

    The clock holds its timer weakly: the loop keeps its timers until they go off or it closes,
    and a timer holds its loop, which a strong path from this clock (a value of :data:`_clocks`,
    whose keys are the loops, held weakly) would keep alive for ever.
    """

    def __init__(self) -> None:
        self.waiting: dict[_Deadline, None] = {}
        self.timer: weakref.ref[asyncio.TimerHandle] | None = None
        self.timer_at = math.inf

    def add(self, deadline: _Deadline, loop: asyncio.AbstractEventLoop) -> None:
        self.waiting[deadline] = None
        if (at := deadline.next_at()) < self.timer_at:
            self._set(at, loop)

    def _set(self, at: float, loop: asyncio.AbstractEventLoop) -> None:
        if self.timer is not None and (timer := self.timer()) is not None:
            timer.cancel()
        self.timer, self.timer_at = weakref.ref(loop.call_at(at, self._go_off)), at

    def _go_off(self) -> None:
        loop = asyncio.get_running_loop()
        self.timer, self.timer_at = None, math.inf
        now, soonest = loop.time() + _STEP, math.inf
        for deadline in list(self.waiting):
            if deadline.note_at is not None and deadline.note_at <= now:
                deadline.note_at = None
                _say_slow(deadline.model, deadline.note_after, deadline.timeout_s)
            if deadline.due <= now:
                del self.waiting[deadline]
                deadline.expired = True
                deadline.task.cancel()
            else:
                soonest = min(soonest, deadline.next_at())
        if soonest < math.inf:
            self._set(soonest, loop)


_clocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Clock] = weakref.WeakKeyDictionary()
_clocks_lock = threading.Lock()  # a notebook's run has its loop in a thread of its own


def _clock(loop: asyncio.AbstractEventLoop) -> _Clock:
    clock = _clocks.get(loop)
    if clock is None:
        with _clocks_lock:
            clock = _clocks.setdefault(loop, _Clock())
    return clock


async def within(call: Awaitable[T], model: str, timeout_s: float) -> T:
    """``call`` within ``timeout_s`` (``TimeoutError`` after it); a warning once it has waited a quarter of that (10 s or more).

    The call runs in the caller's own task, as under ``asyncio.timeout``: no task per call.
    """
    loop = asyncio.get_running_loop()
    task = asyncio.current_task(loop)
    if task is None:
        raise RuntimeError("a call's deadline needs the call to run in a task")
    clock = _clock(loop)
    deadline = _Deadline(task, loop.time(), timeout_s, model)
    clock.add(deadline, loop)
    try:
        return await call
    except asyncio.CancelledError as exc:
        if deadline.expired:
            deadline.expired = False  # the cancellation is taken back once, here
            if task.uncancel() <= deadline.cancelling:
                raise TimeoutError from exc
        raise
    finally:
        clock.waiting.pop(deadline, None)
        if deadline.expired:  # due and cancelled, but the call caught the cancellation and returned or raised
            task.uncancel()


def _say_slow(model: str, after: float, timeout_s: float) -> None:
    shown = model.encode("unicode_escape").decode("ascii")  # data on a terminal: no escapes
    log.warning("%s: no reply yet after %.0f s (the deadline is %.0f s)", shown, after, timeout_s)
