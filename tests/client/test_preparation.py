"""litellm's preparation of a request on the loop's own thread: where the door allows it, and nothing else."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import socket
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from openai_server import Action, ScriptedServer

from eitest.client import CallSettings, complete, preparation
from eitest.client.event_loop import run_coroutine

# RunLoop is a selector loop: Windows keeps its own default loop, and every call goes through the pool.
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Windows keeps its own loop")

MESSAGES = [{"role": "user", "content": "Which option? A) Anger B) Relief"}]


@pytest.fixture
def pool_work(monkeypatch):
    """The names of the functions litellm's preparing partials and anything else sent to a thread pool call."""
    sent: list[str] = []
    submit = ThreadPoolExecutor.submit

    def counted(self, fn, /, *args, **kwargs):
        inner = fn.args[0] if isinstance(fn, functools.partial) and fn.args else fn
        sent.append(getattr(getattr(inner, "func", inner), "__name__", repr(inner)))
        return submit(self, fn, *args, **kwargs)

    monkeypatch.setattr(ThreadPoolExecutor, "submit", counted)
    return sent


@pytest.mark.parametrize(
    ("model", "inline"),
    [("openai/door-test", True), ("hosted_vllm/qwen", True), ("deepseek/deepseek-chat", False)],
)
def test_a_call_is_prepared_on_the_loop_only_for_the_providers_named(pool_work, model, inline):
    with ScriptedServer(lambda body: Action(reply="B")) as srv:
        result = run_coroutine(complete(model, MESSAGES, CallSettings(api_base=srv.url, max_retries=0)))
    assert result.error is None and result.text == "B"
    assert ("completion" in pool_work) is not inline, pool_work


@pytest.mark.parametrize(
    ("model", "api_base", "safe"),
    [
        ("openai/gpt-4o-mini", None, True),
        ("gpt-4o-mini", None, True),
        ("hosted_vllm/qwen", "http://localhost:8000/v1", True),
        ("ollama/llama3.1", "http://localhost:11434", False),  # asks the server for the model's details (/api/show)
        ("ollama_chat/llama3.1", "http://localhost:11434", False),
        ("eitest/oracle", None, True),
        ("anthropic/claude-3-5-haiku-latest", None, False),
        ("vertex_ai/gemini-1.5-pro", None, False),
        ("bedrock/anthropic.claude-3-haiku-20240307-v1:0", None, False),
        ("azure/my-deployment", None, False),
        ("no-such-provider/x", None, False),
    ],
)
def test_the_providers_whose_preparation_waits_on_nothing_are_told_apart(model, api_base, safe):
    assert preparation.inline_safe(model, api_base) is safe


def _preparing(fn):
    """``fn`` wrapped as litellm.acompletion wraps ``completion``: a partial of it, run in a copied context."""
    return functools.partial(contextvars.copy_context().run, functools.partial(fn, model="openai/m"))


def test_litellm_preparation_runs_inline_its_result_and_its_error_where_the_call_awaits(monkeypatch):
    import litellm.main

    ran_on: list[int] = []

    def completion(model: str, fail: bool = False) -> str:
        ran_on.append(threading.get_ident())
        if fail:
            raise ValueError("bad parameter")
        return f"prepared {model}"

    monkeypatch.setattr(litellm.main, "completion", completion)

    async def main() -> tuple[str, str, str]:
        loop = asyncio.get_running_loop()
        with preparation.prepared_here():
            result = await loop.run_in_executor(None, _preparing(completion))
            with pytest.raises(ValueError, match="bad parameter"):
                await loop.run_in_executor(
                    None,
                    functools.partial(
                        contextvars.copy_context().run, functools.partial(completion, model="openai/m", fail=True)
                    ),
                )
        outside = await loop.run_in_executor(None, _preparing(completion))  # the door did not ask: the pool
        return result, outside, type(loop).__name__

    here = threading.get_ident()
    result, outside, loop_type = run_coroutine(main())
    assert (result, outside, loop_type) == ("prepared openai/m", "prepared openai/m", "RunLoop")
    assert ran_on[:2] == [here, here] and ran_on[2] != here


def test_a_request_for_another_provider_is_prepared_in_the_pool_even_inside_the_doors_call(monkeypatch):
    import litellm.main

    ran_on: list[int] = []

    def completion(model: str, api_base: str | None = None) -> str:
        ran_on.append(threading.get_ident())
        return model

    monkeypatch.setattr(litellm.main, "completion", completion)

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def callback() -> None:  # a task started during the call inherits the door's flag
            prepare = functools.partial(completion, model="anthropic/claude-3-5-haiku-latest")
            await loop.run_in_executor(None, functools.partial(contextvars.copy_context().run, prepare))

        with preparation.prepared_here():
            await asyncio.create_task(callback())
            prepare = functools.partial(completion, model="hosted_vllm/qwen", api_base="http://127.0.0.1:8000/v1")
            await loop.run_in_executor(None, functools.partial(contextvars.copy_context().run, prepare))

    here = threading.get_ident()
    run_coroutine(main())
    assert ran_on[0] != here and ran_on[1] == here


def test_other_work_sent_to_the_pool_during_a_call_stays_in_the_pool(monkeypatch):
    looked_up_on: list[int] = []
    getaddrinfo = socket.getaddrinfo

    def recorded(*args, **kwargs):
        looked_up_on.append(threading.get_ident())
        return getaddrinfo(*args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recorded)

    async def main() -> tuple[int, int]:
        loop = asyncio.get_running_loop()
        with preparation.prepared_here():
            plain = await loop.run_in_executor(None, threading.get_ident)
            await loop.getaddrinfo("127.0.0.1", 80, type=socket.SOCK_STREAM)  # a name lookup may wait: never inline
            in_context = await loop.run_in_executor(
                None, functools.partial(contextvars.copy_context().run, threading.get_ident)
            )
        return plain, in_context

    here = threading.get_ident()
    assert here not in run_coroutine(main()) and looked_up_on and here not in looked_up_on


def test_a_policy_someone_installed_keeps_its_own_loop(monkeypatch):
    class TheirPolicy(asyncio.DefaultEventLoopPolicy):
        pass

    monkeypatch.setattr(asyncio, "get_event_loop_policy", TheirPolicy)
    assert preparation.loop_factory() is None


def test_a_notebooks_run_gets_the_same_loop_in_its_thread():
    async def notebook() -> str:  # a loop runs already, as in Jupyter
        async def inner() -> str:
            return type(asyncio.get_running_loop()).__name__

        return run_coroutine(inner())

    assert asyncio.run(notebook()) == "RunLoop"
