"""Output to a closed pipe is dropped, never fatal: ``eitest run ... | head -1`` still stores every trial.

Python raises :class:`BrokenPipeError` on a write once the reader is gone, and click turns
that into exit status 1, in the middle of a run. :func:`guard_output` wraps stdout and
stderr so that the first such write points the stream's file descriptor at the null
device (later writes, and the interpreter's last flush, go nowhere) and the program goes on.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO


class PipeGuard:
    """A text stream that drops what it cannot write once its reader has gone."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._drop()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._drop()

    def _drop(self) -> None:
        self.broken = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())  # what the stream still buffers is flushed there, silently
            os.close(null)
        except (OSError, ValueError, AttributeError):
            pass  # a stream without a descriptor (a test's buffer): dropping the writes is enough

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_output() -> None:
    """Guard ``sys.stdout`` and ``sys.stderr`` (once) for the rest of the process."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, PipeGuard):
            setattr(sys, name, PipeGuard(stream))
