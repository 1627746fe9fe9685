"""Running a coroutine from synchronous code, also inside a running loop (a notebook); signals routed to a loop."""

from __future__ import annotations

import asyncio
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
