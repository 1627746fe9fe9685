"""Running a coroutine from synchronous code, also inside a running loop (a notebook); signals routed to a loop.

Also the collector's part in a run: it leaves the objects that were there before alone
(:func:`older_objects_frozen`) and looks at the young ones less often (:func:`fewer_young_collections`).
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from eitest.client.preparation import loop_factory

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on eitest's loop (:mod:`eitest.client.preparation`), also from inside a running loop
    (a Jupyter notebook): then in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_run, coro).result()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(coro)


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


@contextmanager
def older_objects_frozen() -> Iterator[bool]:
    """While the block runs, the garbage collector leaves alone every object made before it (``gc.freeze``).

    A full collection walks every tracked object, and after litellm's import there are some
    400,000: about 0.25 s of CPU each time one falls inside a run (0.25 ms a call of a
    1,000-call run, on the event loop's thread, at 32 connections a share the calls wait for).
    Objects made during the block are collected as usual. Afterwards the frozen ones go back to
    the oldest generation, so a cycle among them that became garbage meanwhile is collected at
    the next full collection. Yields whether it froze: where objects are frozen already (a
    forking server's own ``gc.freeze``), that freeze is its owner's, and this leaves it as it is.
    """
    if gc.get_freeze_count():
        yield False
        return
    gc.freeze()
    try:
        yield True
    finally:
        gc.unfreeze()


# The youngest generation is collected after this many more tracked objects made than freed (Python's default: 700).
YOUNG_THRESHOLD = 10_000


@contextmanager
def fewer_young_collections() -> Iterator[bool]:
    """While the block runs, the youngest generation is collected after :data:`YOUNG_THRESHOLD` new objects, not 700.

    A call through litellm leaves a few cycles behind, and at the default a 1,000-call run
    collected the young objects about 180 times (and the middle generation 16 times): 0.43 to
    0.58 s of the event loop's thread at 32 connections, 4 % of the run's wall time. At 10,000
    it collected 6 times, in 0.13 to 0.18 s (bench_runner's server, 4 runs each, alternated).
    The garbage is the same; it is looked for less often. Yields whether it changed the
    threshold: a collector switched off, or one already set to collect less often, is left as it is.
    The threshold is the process's: of two runs at once in threads, the first to end puts it back
    for both (as it ends the freeze of :func:`older_objects_frozen`).
    """
    young, *older = gc.get_threshold()
    if not gc.isenabled() or young == 0 or young >= YOUNG_THRESHOLD:
        yield False
        return
    gc.set_threshold(YOUNG_THRESHOLD, *older)
    try:
        yield True
    finally:
        now_young, *now_older = gc.get_threshold()
        if now_young == YOUNG_THRESHOLD:  # not changed by someone else meanwhile
            gc.set_threshold(young, *now_older)
