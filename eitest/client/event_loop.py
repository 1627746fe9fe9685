"""Running a coroutine from synchronous code, also inside a running loop (a notebook); signals routed to a loop.

Also the collector's part in a run (:func:`collector_for_a_run`): it leaves the objects that were there before alone,
and looks at the new ones less often.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, also from inside a running loop (a Jupyter notebook): then in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@contextmanager
def signals_to(handler: Callable[[signal.Signals], None]) -> Iterator[bool]:
    """Call ``handler(sig)`` on the running loop for SIGINT and SIGTERM while the block runs.

    Yields whether they are routed: only the main thread of a process can take signals
    (a notebook's run goes through a worker thread), and not every platform lets a loop
    take them. The handlers in place before are put back afterwards.
    """
    loop = asyncio.get_running_loop()
    before: dict[signal.Signals, Any] = {}
    try:
        for sig in STOP_SIGNALS:
            previous = signal.getsignal(sig)
            try:
                loop.add_signal_handler(sig, handler, sig)
            except (NotImplementedError, RuntimeError, ValueError):
                break
            before[sig] = previous
        yield bool(before)
    finally:
        for sig, previous in before.items():
            loop.remove_signal_handler(sig)
            signal.signal(sig, previous)


# The youngest generation's threshold while a run calls (Python's default is 700 allocations).
# A call through litellm makes some 120 more tracked objects than it frees, so at 700 the collector ran about
# 175 young and 15 middle collections per 1,000 calls, 0.6 s of the loop's CPU at 32 connections
# and 100 ms (4-5 % of the run); at 20,000, 4 young ones, 0.17 s, and about 6 MiB more held.
YOUNG_THRESHOLD = 20_000


@contextmanager
def collector_for_a_run() -> Iterator[bool]:
    """While the block runs, the garbage collector leaves the older objects alone and looks at new ones less often.

    Every object made before the block is frozen (``gc.freeze``). A full collection walks every
    tracked object, and after litellm's import there are some 400,000: about 0.25 s of CPU each
    time one falls inside a run (0.25 ms a call of a 1,000-call run, on the event loop's thread,
    at 32 connections a share the calls wait for). Objects made during the block are collected
    as usual, but the youngest generation waits for :data:`YOUNG_THRESHOLD` allocations, not
    Python's 700. Afterwards the frozen objects go back to the oldest generation, so a cycle among
    them that became garbage meanwhile is collected at the next full collection, and the
    thresholds are put back.

    Yields whether it froze: where objects are frozen already (a forking server's own
    ``gc.freeze``), that freeze is its owner's, and this leaves it as it is. A threshold set
    higher than ours, or a collector turned off, is also left as it is.
    """
    thresholds = gc.get_threshold()
    if thresholds[0] and thresholds[0] < YOUNG_THRESHOLD:
        gc.set_threshold(YOUNG_THRESHOLD, *thresholds[1:])
    try:
        if gc.get_freeze_count():
            yield False
            return
        gc.freeze()
        try:
            yield True
        finally:
            gc.unfreeze()
    finally:
        gc.set_threshold(*thresholds)
