"""litellm's preparation of a request, made on the event loop's own thread for the providers where that is safe.

``litellm.acompletion`` builds each request (its parameters, its client, its log record)
by running the synchronous ``litellm.completion`` in the loop's thread pool, and awaits
the coroutine that comes back. For an OpenAI or vLLM server that work is 2-3 ms of Python
that touches no socket or file once warm: it holds the GIL in the pool's thread as it would
on the loop's, and the hop adds a wake-up of that thread, a wait for the GIL each way (up to
the switch interval, 5 ms, while the loop is busy) and a write to the loop's self-pipe.
Measured with bench_runner's server at 100 ms (1,001 calls, rounds alternated in one process),
a run on this loop took 0.900 x the wall time of the same run on asyncio's own loop at 8
connections (6 rounds, 95 % interval 0.878 to 0.923) and 0.814 x at 32 (6 rounds, 0.730 to 0.909).

:class:`RunLoop` is the loop eitest runs its calls in (except on Windows, or under an event
loop policy someone installed, such as uvloop's: then their loop). Its ``run_in_executor``
makes a call inline only inside the model door's call (:func:`prepared_here`), only for
litellm's own preparing function, and only when that request's model and ``api_base`` name
one of :data:`INLINE_PROVIDERS`: a name lookup (``getaddrinfo``) or anything else sent to
the pool in the same call still goes to the pool. The other providers keep litellm's thread,
where a wait blocks one call, not the loop: a cloud's token refresh (Vertex AI, Bedrock,
Azure AD, watsonx), and Ollama, whose preparation asks the server for the model's details
(``POST /api/show``, with a synchronous client) when litellm has no price for it.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from typing import Any, TypeVar, TypeVarTuple

from eitest.client import offline
from eitest.client.providers import provider_of

T = TypeVar("T")
Ts = TypeVarTuple("Ts")

# The providers (as litellm names them) whose preparation touches no socket or file once warm; each is tested.
INLINE_PROVIDERS = frozenset({"openai", "hosted_vllm", offline.PROVIDER})

_here: contextvars.ContextVar[bool] = contextvars.ContextVar("eitest_prepared_here", default=False)


@functools.lru_cache(maxsize=256)
def inline_safe(model: str, api_base: str | None) -> bool:
    """Whether ``model``'s provider (litellm's reading of it, with ``api_base``) is one of :data:`INLINE_PROVIDERS`.

    A model litellm cannot map is not: it fails in the call itself, as before.
    """
    return offline.is_offline(model) or provider_of(model, api_base) in INLINE_PROVIDERS


@contextmanager
def prepared_here() -> Iterator[None]:
    """While the block runs, this task's litellm calls for :data:`INLINE_PROVIDERS` are prepared on the loop's thread."""
    token = _here.set(True)
    try:
        yield
    finally:
        _here.reset(token)


def _inline_preparation(func: Callable[..., Any]) -> bool:
    """Whether ``func`` is what ``litellm.acompletion`` sends to the pool (``completion`` run in a copied
    context) for a request whose own model and ``api_base`` name one of :data:`INLINE_PROVIDERS`.

    The request is read, not the task: a task started during a call inherits the door's flag,
    and a call it makes to another provider goes to the pool.
    """
    main = sys.modules.get("litellm.main")
    if main is None or not isinstance(func, functools.partial) or len(func.args) != 1:
        return False
    inner = func.args[0]
    if not (
        isinstance(getattr(func.func, "__self__", None), contextvars.Context)
        and isinstance(inner, functools.partial)
        and inner.func is getattr(main, "completion", None)
    ):
        return False
    model, api_base = inner.keywords.get("model"), inner.keywords.get("api_base")
    return isinstance(model, str) and (api_base is None or isinstance(api_base, str)) and inline_safe(model, api_base)


class RunLoop(asyncio.SelectorEventLoop):
    """The event loop of eitest's runs: litellm's preparation inline where the door allows it (see the module)."""

    def run_in_executor(self, executor: Executor | None, func: Callable[[*Ts], T], *args: *Ts) -> asyncio.Future[T]:
        if executor is not None or not _here.get() or not _inline_preparation(func):
            return super().run_in_executor(executor, func, *args)
        done: asyncio.Future[T] = self.create_future()
        try:
            done.set_result(func(*args))
        except Exception as exc:  # raised where the call awaits it, as from the pool
            done.set_exception(exc)
        return done


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What ``asyncio.Runner`` makes eitest's loops with: :class:`RunLoop`, or None (the policy's loop).

    None on Windows (its default loop is not a selector loop) and where a policy other than
    asyncio's own is installed (uvloop's, say): that choice is its owner's.
    """
    if sys.platform == "win32" or type(asyncio.get_event_loop_policy()) is not asyncio.DefaultEventLoopPolicy:
        return None
    return RunLoop
