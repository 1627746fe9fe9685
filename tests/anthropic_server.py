"""A scripted Anthropic Messages API on 127.0.0.1, for tests: ``POST /v1/messages`` as litellm's anthropic provider calls it.

litellm sends ``anthropic/NAME`` with ``--api-base URL`` to ``URL/v1/messages`` with the
key in ``x-api-key``, the system prompt in ``system`` and each message's content as a
list of text blocks. The server answers as Anthropic does: ``content`` is a list of
blocks, a reasoning model's ``thinking`` (and ``redacted_thinking``) blocks before its
``text`` block, with ``stop_reason`` and ``usage`` (``input_tokens``, ``output_tokens``);
an error is ``{"type": "error", "error": {"type": ..., "message": ...}}``.

Replies are scripted as in :mod:`openai_server`: a function from the request, seen as
OpenAI-style chat messages (so :func:`openai_server.keyed_script` serves here too), to an
:class:`openai_server.Action`; its ``reasoning_content`` is sent as thinking blocks, one
per paragraph, with a redacted block between them, and its ``headers`` go with the reply.
Every request body and key is kept.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from openai_server import Action, QuietHandler, ThreadedServer


def as_chat(body: dict[str, Any]) -> dict[str, Any]:
    """The request as the OpenAI-style body a script reads: the system prompt first, each content's text joined."""

    def text(content: Any) -> str:
        if isinstance(content, list):
            return "".join(str(block.get("text", "")) for block in content if isinstance(block, dict))
        return str(content or "")

    system = [{"role": "system", "content": text(body["system"])}] if body.get("system") else []
    messages = [{"role": m.get("role"), "content": text(m.get("content"))} for m in body.get("messages", [])]
    return {**body, "messages": system + messages}


def content_blocks(action: Action) -> list[dict[str, Any]]:
    """The reply's blocks: thinking (one per paragraph, a redacted one between), then the answer's text."""
    blocks: list[dict[str, Any]] = []
    for k, part in enumerate(action.reasoning_content.split("\n\n") if action.reasoning_content else []):
        if k:
            blocks.append({"type": "redacted_thinking", "data": "opaque-to-the-client"})
        blocks.append({"type": "thinking", "thinking": part, "signature": f"sig-{k}"})
    return [*blocks, {"type": "text", "text": action.reply}]


class AnthropicServer(ThreadedServer):
    def __init__(self, script: Callable[[dict[str, Any]], Action], port: int = 0):
        self.script = script
        self.bodies: list[dict[str, Any]] = []  # every request body, as sent
        self.keys: list[str] = []  # every x-api-key header
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.read_json()
                with server._lock:
                    server.bodies.append(body)
                    server.keys.append(self.headers.get("x-api-key", ""))
                if self.path != "/v1/messages":
                    self.send_json(404, {"type": "error", "error": {"type": "not_found_error", "message": self.path}})
                    return
                action = server.script(as_chat(body))
                if action.status != 200:
                    error = {"type": action.error_type, "message": action.message or f"scripted {action.status}"}
                    self.send_json(action.status, {"type": "error", "error": error}, action.headers)
                    return
                words = len(json.dumps(body.get("messages", [])).split())
                self.send_json(
                    200,
                    {
                        "id": "msg_test",
                        "type": "message",
                        "role": "assistant",
                        "model": body.get("model", ""),
                        "content": content_blocks(action),
                        "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "usage": {"input_tokens": words, "output_tokens": 1 + (action.reasoning_tokens or 0)},
                    },
                    action.headers,
                )

        self._listen(Handler, port, "")  # Anthropic's base: litellm adds /v1/messages
