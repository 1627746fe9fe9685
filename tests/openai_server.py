"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests and benchmarks.

It answers ``POST /v1/chat/completions`` by a script: a function from the request
body to an :class:`Action` (reply text, HTTP status, delay, malformed body, hang).
It counts requests per prompt and keeps the Authorization headers and the bodies it
saw, so tests can check what reached the wire. With a :class:`RateLimit` it admits so many requests
per fixed window and refuses the rest with 429, as a rate-limited provider does. Run it in a thread (:class:`ScriptedServer`) or as
its own process (``python tests/openai_server.py --port 0 --keyed FILE``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

OPTION_LINE = re.compile(r"^([A-Z])\) (.+)$", re.M)


@dataclass
class Action:
    reply: str = "A"
    status: int = 200
    delay_s: float = 0.0
    malformed: bool = False
    hang_s: float = 0.0  # sleep this long before answering (a timeout for the client)
    message: str | None = None  # the error message of a failure (status other than 200)
    error_type: str = "server_error"  # the failure's error type and code, e.g. OpenAI's "insufficient_quota"
    trickle_s: float = 0.0  # send the body one byte at a time, this long apart (each read is quick, the whole slow)
    tool_call: tuple[str, str] | None = None  # answer with a tool call (name, JSON arguments) and no content
    no_choices: bool = False  # answer with "choices": []
    reasoning_content: str | None = None  # the message's reasoning_content, as DeepSeek-R1 sends it
    reasoning_tokens: int | None = None  # usage.completion_tokens_details.reasoning_tokens, as o1 reports them
    refuse_temperature: bool = False  # a request with "temperature" gets OpenAI's 400 for o1-style models
    headers: dict[str, str] | None = None  # sent with the reply, e.g. a 429's retry-after
    # The first token's alternatives (token, probability), sent as OpenAI's choices[0].logprobs when the
    # request asks for logprobs; the request's top_logprobs caps how many, as OpenAI does.
    top_logprobs: list[tuple[str, float]] | None = None


def logprobs_payload(action: Action, body: dict[str, Any]) -> dict[str, Any] | None:
    """OpenAI's ``logprobs`` of a one-token reply, or None when not asked for or not scripted."""
    if not body.get("logprobs") or action.top_logprobs is None:
        return None
    ranked = sorted(action.top_logprobs, key=lambda tp: -tp[1])[: int(body.get("top_logprobs") or 0)]
    top = [{"token": t, "logprob": math.log(p), "bytes": list(t.encode())} for t, p in ranked]
    first = top[0] if top else {"token": action.reply, "logprob": 0.0, "bytes": list(action.reply.encode())}
    return {"content": [{**first, "top_logprobs": top}]}


class RateLimit:
    """At most ``requests`` admitted per fixed window of ``window_s``; each reply says what is left, and when.

    Admitted replies carry ``x-ratelimit-limit-requests``, ``x-ratelimit-remaining-requests``
    and ``x-ratelimit-reset-requests`` (as OpenAI sends them); a refusal is a 429 with
    ``retry-after`` (whole seconds), ``retry-after-ms`` and no requests remaining.
    """

    def __init__(self, requests: int, window_s: float) -> None:
        self.requests, self.window_s = requests, window_s
        self.start = time.monotonic()
        self.refused = 0
        self._window = -1
        self._used = 0

    def admit(self) -> tuple[bool, int, float]:
        """(admitted, requests left in this window, when it ends on the monotonic clock); called under a lock."""
        window = int((time.monotonic() - self.start) // self.window_s)
        if window != self._window:
            self._window, self._used = window, 0
        end = self.start + (window + 1) * self.window_s
        if self._used >= self.requests:
            self.refused += 1
            return False, 0, end
        self._used += 1
        return True, self.requests - self._used, end

    def headers(self, remaining: int, end: float, *, refused: bool) -> dict[str, str]:
        reset_ms = max(0, math.ceil((end - time.monotonic()) * 1000))
        out = {
            "x-ratelimit-limit-requests": str(self.requests),
            "x-ratelimit-remaining-requests": str(remaining),
            "x-ratelimit-reset-requests": f"{reset_ms}ms",
        }
        if refused:
            out |= {"retry-after": str(math.ceil(reset_ms / 1000)), "retry-after-ms": str(reset_ms)}
        return out


def prompt_of(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", []))


def prompt_key(body: dict[str, Any]) -> str:
    """The item a request is about: its prompt without the option lines (whose order may vary)."""
    text = OPTION_LINE.sub("", prompt_of(body))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def keyed_script(keyed_texts: dict[str, str], delay_s: float = 0.0) -> Callable[[dict[str, Any]], Action]:
    """Answer with the letter of the keyed option's text; ``keyed_texts`` maps a stem to that text."""

    def script(body: dict[str, Any]) -> Action:
        prompt = prompt_of(body)
        for stem, text in keyed_texts.items():
            if stem in prompt:
                for letter, shown in OPTION_LINE.findall(prompt):
                    if shown.strip() == text.strip():
                        return Action(reply=letter, delay_s=delay_s)
        return Action(reply="I cannot tell.", delay_s=delay_s)

    return script


def completion(body: dict[str, Any], action: Action) -> dict[str, Any]:
    """The chat completion a 200 answer to ``body`` carries, as the script's ``action`` shapes it."""
    words = len(prompt_of(body).split())
    message: dict[str, Any] = {"role": "assistant", "content": action.reply}
    if action.reasoning_content is not None:
        message["reasoning_content"] = action.reasoning_content
    usage: dict[str, Any] = {"prompt_tokens": words, "completion_tokens": 1, "total_tokens": words + 1}
    finish = "stop"
    if action.reasoning_tokens is not None:
        reasoned, done = action.reasoning_tokens, 1 + action.reasoning_tokens  # reasoning is part of the completion
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
        if cap is not None and done > cap:  # as OpenAI's o-series: the cap spent on reasoning, no answer, billed
            reasoned = done = cap
            message["content"], finish = "", "length"
        usage.update(completion_tokens=done, total_tokens=words + done)
        usage["completion_tokens_details"] = {"reasoning_tokens": reasoned}
    if action.tool_call is not None:
        name, arguments = action.tool_call
        function = {"name": name, "arguments": arguments}
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "call_1", "type": "function", "function": function}],
        }
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if action.tool_call else finish}
    if lp := logprobs_payload(action, body):
        choice["logprobs"] = lp
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "served-" + str(body.get("model", "")),
        "choices": [] if action.no_choices else [choice],
        "usage": usage,
    }


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout test) leaves a broken pipe behind: expected, not news.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class QuietHandler(BaseHTTPRequestHandler):
    """The tests' servers' handler: keep-alive HTTP/1.1, no Nagle delay, no log; bodies read and JSON sent whole."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY, Nagle's algorithm
    # and the client's delayed ACK add ~40 ms to every response.
    disable_nagle_algorithm = True

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def read_json(self) -> Any:
        """The request's JSON body ({} when it has none)."""
        return json.loads(self.read_body() or b"{}")

    def send_head(
        self, status: int, length: int, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.end_headers()

    def send_bytes(
        self, status: int, payload: bytes, content_type: str = "application/json", headers: dict[str, str] | None = None
    ) -> None:
        self.send_head(status, len(payload), content_type, headers)
        self.wfile.write(payload)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), headers=headers)


class ThreadedServer:
    """A local HTTP server answering from a daemon thread while the ``with`` block runs."""

    def _listen(self, handler: type[BaseHTTPRequestHandler], port: int, path: str) -> None:
        self.httpd = _QuietServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{path}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ScriptedServer(ThreadedServer):
    def __init__(self, script: Callable[[dict[str, Any]], Action], port: int = 0, rate_limit: RateLimit | None = None):
        self.script = script
        self.rate_limit = rate_limit
        self.calls: Counter[str] = Counter()
        self.auth: list[str] = []
        self.bodies: list[dict[str, Any]] = []  # every request body, in order
        self.requests = 0
        self._lock = threading.Lock()
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.read_json()
                with server._lock:
                    server.requests += 1
                    server.calls[prompt_key(body)] += 1
                    server.auth.append(self.headers.get("Authorization", ""))
                    admitted, left, end = server.rate_limit.admit() if server.rate_limit else (True, 0, 0.0)
                limits = server.rate_limit
                if not admitted:
                    message = json.dumps({"error": {"message": "Rate limit reached", "type": "requests"}}).encode()
                    self._send(429, message, headers=limits.headers(0, end, refused=True))
                    return
                action = server.script(body)
                with server._lock:
                    server.bodies.append(body)
                if action.refuse_temperature and "temperature" in body:
                    message = "Unsupported parameter: 'temperature' is not supported with this model."
                    action = Action(status=400, message=message)
                if action.hang_s:
                    time.sleep(action.hang_s)
                if action.delay_s:
                    time.sleep(action.delay_s)
                if action.status != 200:
                    payload = json.dumps(
                        {
                            "error": {
                                "message": action.message or f"scripted {action.status}",
                                "type": action.error_type,
                                "code": action.error_type,
                            }
                        }
                    ).encode()
                    self._send(action.status, payload, headers=action.headers)
                    return
                if action.malformed:
                    self._send(200, b'{"id": "x", "choices": [ {"message": ')
                    return
                payload = json.dumps(completion(body, action)).encode()
                headers = {**(limits.headers(left, end, refused=False) if limits else {}), **(action.headers or {})}
                self._send(200, payload, action.trickle_s, headers)

            def _send(
                self, status: int, payload: bytes, trickle_s: float = 0.0, headers: dict[str, str] | None = None
            ) -> None:
                self.send_head(status, len(payload), headers=headers)
                if not trickle_s:
                    self.wfile.write(payload)
                    return
                for k in range(len(payload)):
                    self.wfile.write(payload[k : k + 1])
                    self.wfile.flush()
                    time.sleep(trickle_s)

        self._listen(Handler, port, "/v1")


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--keyed", help="JSON file: {stem: keyed option text}")
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--rate-limit", type=int, help="admit this many requests per --window, refuse the rest with 429")
    ap.add_argument("--window", type=float, default=1.0, help="seconds of each rate-limit window")
    args = ap.parse_args()
    keyed = json.load(open(args.keyed)) if args.keyed else {}
    limit = RateLimit(args.rate_limit, args.window) if args.rate_limit else None
    signal.signal(signal.SIGTERM, _interrupt)  # a background job ignores SIGINT: SIGTERM stops it the same way
    with ScriptedServer(keyed_script(keyed, args.delay), args.port, limit) as srv:
        print(srv.port, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    if limit is not None:
        print(f"refused {limit.refused}", flush=True)  # what a benchmark reads after its SIGINT
    sys.exit(0)


if __name__ == "__main__":
    main()
