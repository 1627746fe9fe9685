"""A scripted Ollama server on 127.0.0.1, for tests: the two endpoints litellm's Ollama providers call.

litellm sends ``ollama/NAME`` to ``POST /api/generate`` (one flattened ``prompt``) and
``ollama_chat/NAME`` to ``POST /api/chat`` (the ``messages``), both with ``"stream": false``
and the sampling settings under ``options`` (``temperature``, ``num_predict``). The server
answers as Ollama does: ``response`` (generate) or ``message`` (chat), ``done``,
``done_reason``, and the token counts ``prompt_eval_count`` and ``eval_count``; a reasoning
model's thinking comes in ``thinking`` or inline as ``<think>...</think>``.

Replies are scripted as in :mod:`openai_server`: a function from the request, seen as
OpenAI-style chat messages (so :func:`openai_server.keyed_script` serves here too), to an
:class:`openai_server.Action` (``reply``, ``reasoning_content`` sent as ``thinking``,
``status``, ``message``). Every request body is kept, with the path it came to.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from openai_server import Action, QuietHandler, ThreadedServer


def as_chat(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The request as the OpenAI-style body a script reads (``/api/generate``'s prompt as one user message)."""
    if path == "/api/generate":
        return {"model": body.get("model"), "messages": [{"role": "user", "content": body.get("prompt", "")}]}
    return body


class OllamaServer(ThreadedServer):
    def __init__(self, script: Callable[[dict[str, Any]], Action], port: int = 0):
        self.script = script
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (path, body) of every request, in order
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.read_json()
                with server._lock:
                    server.requests.append((self.path, body))
                if self.path not in ("/api/generate", "/api/chat"):
                    self._send(404, {"error": f"404 page not found: {self.path}"})
                    return
                action = server.script(as_chat(self.path, body))
                if action.delay_s:
                    time.sleep(action.delay_s)
                if action.status != 200:
                    self._send(action.status, {"error": action.message or f"scripted {action.status}"})
                    return
                self._send(200, _reply(self.path, body, action))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                self.send_bytes(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

        self._listen(Handler, port, "")  # Ollama's base: litellm adds /api/generate or /api/chat


def _reply(path: str, body: dict[str, Any], action: Action) -> dict[str, Any]:
    prompt = json.dumps(body.get("prompt") or body.get("messages") or "")
    payload: dict[str, Any] = {
        "model": body.get("model", ""),
        "created_at": "2026-01-01T00:00:00.000000Z",
        "done": True,
        "done_reason": "stop",
        "total_duration": 1_000_000,
        "prompt_eval_count": len(prompt.split()),
        "eval_count": 1 + (action.reasoning_tokens or 0),
    }
    if path == "/api/generate":
        payload["response"] = action.reply
        if action.reasoning_content is not None:
            payload["thinking"] = action.reasoning_content
        return payload
    message: dict[str, Any] = {"role": "assistant", "content": action.reply}
    if action.reasoning_content is not None:
        message["thinking"] = action.reasoning_content
    payload["message"] = message
    return payload
