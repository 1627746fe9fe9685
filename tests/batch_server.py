"""A local OpenAI-style batch API on 127.0.0.1, for tests: files, batches, and live chat calls beside them.

It implements what litellm's batch functions send: ``POST /v1/files`` (a multipart
upload of a JSONL file), ``POST /v1/batches``, ``GET /v1/batches/{id}``, ``GET /v1/batches`` (newest first,
paged by ``after`` and ``limit`` as OpenAI pages it) and ``GET /v1/files/{id}/content``, and ``POST /v1/chat/completions`` for live calls. Each
retrieve moves a batch one step along validating -> in_progress -> its end (completed,
or ``final``: expired, failed). When it ends, each line is answered as the chat server
answers a request (:func:`openai_server.completion`, by the line script's
:class:`~openai_server.Action`): a 200 goes to the output file, any other status to the
error file, and with ``expire_after`` the lines past that many to the error file as
``batch_expired``; with ``hold`` a batch never ends. It counts uploads, batch creations, retrieves, list pages, content reads and
live calls, and keeps every Authorization header.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from openai_server import Action, QuietHandler, ThreadedServer, completion

Script = Callable[[dict[str, Any]], Action]
STEPS = ("validating", "in_progress")


class BatchServer(ThreadedServer):
    def __init__(
        self,
        script: Script,
        *,
        live_script: Script | None = None,
        final: str = "completed",
        expire_after: int | None = None,
        hold: bool = False,
        refuse: dict[str, tuple[int, str]] | None = None,
    ) -> None:
        self.script, self.live_script = script, live_script or script
        self.final, self.expire_after = final, expire_after
        self.hold = hold  # batches stay in_progress: a run polls until stopped
        # A step ("upload", "create", "retrieve") answered with (status, message) instead, as a provider refusing it.
        self.refuse = dict(refuse or {})
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.uploads = self.creations = self.retrieves = self.reads = self.live_calls = self.listings = 0
        self.lines: list[dict[str, Any]] = []  # every request line uploaded, in order
        self.live_bodies: list[dict[str, Any]] = []
        self.auth: list[str] = []
        self._lock = threading.Lock()
        self._listen(self._handler(), 0, "/v1")

    # ----------------------------------------------------------------- the API

    def upload(self, content_type: str, raw: bytes) -> dict[str, Any]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw
        )
        fields = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
        data = fields["file"].get_payload(decode=True)
        purpose = fields["purpose"].get_content()
        self.uploads += 1
        file_id = f"file-{self.uploads}"
        self.files[file_id] = data
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": fields["file"].get_filename() or "upload.jsonl",
            "purpose": purpose,
            "status": "processed",
        }

    def create(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        file_id = request.get("input_file_id")
        if file_id not in self.files or request.get("endpoint") != "/v1/chat/completions":
            return 400, {"error": {"message": f"no such input file {file_id} or endpoint", "type": "invalid_request"}}
        self.creations += 1
        lines = [json.loads(t) for t in self.files[file_id].decode().splitlines() if t.strip()]
        self.lines += lines
        batch = {
            "id": f"batch_{self.creations}",
            "object": "batch",
            "endpoint": request["endpoint"],
            "errors": None,
            "input_file_id": file_id,
            "completion_window": request.get("completion_window", "24h"),
            "status": STEPS[0],
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(time.time()),
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "metadata": request.get("metadata") or {},
            "_lines": lines,
            "_step": 0,
        }
        self.batches[batch["id"]] = batch
        return 200, self._shown(batch)

    def retrieve(self, batch_id: str) -> tuple[int, dict[str, Any]]:
        batch = self.batches.get(batch_id)
        if batch is None:
            return 404, {"error": {"message": f"no batch {batch_id}", "type": "invalid_request"}}
        self.retrieves += 1
        shown = self._shown(batch)
        if batch["_step"] < len(STEPS) - self.hold:
            batch["_step"] += 1
            if batch["_step"] < len(STEPS):
                batch["status"] = STEPS[batch["_step"]]
                batch["request_counts"]["completed"] = len(batch["_lines"]) // 2
            else:
                self._finish(batch)
        return 200, shown

    def list(self, query: str) -> tuple[int, dict[str, Any]]:
        """One page of the batches, newest first: up to ``limit`` (1 to 100, default 20) after the batch ``after``."""
        args = urllib.parse.parse_qs(query)
        limit = int(args.get("limit", ["20"])[0])
        if not 1 <= limit <= 100:
            return 400, {"error": {"message": f"limit {limit} is not between 1 and 100", "type": "invalid_request"}}
        self.listings += 1
        newest = sorted(self.batches.values(), key=lambda b: (b["created_at"], int(b["id"].split("_")[1])))[::-1]
        ids = [b["id"] for b in newest]
        after = args.get("after", [None])[0]
        start = ids.index(after) + 1 if after in ids else 0
        page = newest[start : start + limit]
        return 200, {
            "object": "list",
            "data": [self._shown(b) for b in page],
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": start + limit < len(newest),
        }

    def _finish(self, batch: dict[str, Any]) -> None:
        """Answer every line; what is kept for the next retrieve to report."""
        out, errors = [], []
        for n, line in enumerate(batch["_lines"]):
            row: dict[str, Any] = {"id": f"batch_req_{n}", "custom_id": line["custom_id"], "error": None}
            if self.final in ("failed", "cancelled"):
                continue  # a batch that failed validation runs no line
            if self.expire_after is not None and n >= self.expire_after:
                row["response"] = None
                row["error"] = {"code": "batch_expired", "message": "not executed before the window expired"}
                errors.append(row)
                continue
            action = self.script(line["body"]) if _valid(line) else Action(status=400, message="invalid line")
            if action.status == 200:
                body = completion(line["body"], action)
                row["response"] = {"status_code": 200, "request_id": f"req_{n}", "body": body}
                out.append(row)
            else:
                error = {"error": {"message": action.message or f"scripted {action.status}", "type": "server_error"}}
                row["response"] = {"status_code": action.status, "request_id": f"req_{n}", "body": error}
                errors.append(row)
        status = self.final if self.expire_after is None or self.final != "completed" else "expired"
        batch["status"] = status
        for rows, name in ((out, "output_file_id"), (errors, "error_file_id")):
            if rows:
                file_id = f"file-{batch['id']}-{name.split('_')[0]}"
                self.files[file_id] = "".join(json.dumps(r) + "\n" for r in rows).encode()
                batch[name] = file_id
        batch["request_counts"] = {"total": len(batch["_lines"]), "completed": len(out), "failed": len(errors)}

    @staticmethod
    def _shown(batch: dict[str, Any]) -> dict[str, Any]:
        return json.loads(json.dumps({k: v for k, v in batch.items() if not k.startswith("_")}))

    def refused(self, step: str) -> tuple[int, dict[str, Any]]:
        status, message = self.refuse[step]
        return status, {"error": {"message": message, "type": "invalid_request_error"}}

    def live(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.live_calls += 1
        self.live_bodies.append(body)
        action = self.live_script(body)
        if action.status != 200:
            return action.status, {"error": {"message": action.message or "scripted", "type": "server_error"}}
        return 200, completion(body, action)

    # ----------------------------------------------------------------- HTTP

    def _handler(self) -> type[QuietHandler]:
        server = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.read_body()
                with server._lock:
                    server.auth.append(self.headers.get("Authorization", ""))
                    step = "upload" if self.path.endswith("/files") else "create"
                    if step in server.refuse and not self.path.endswith("/chat/completions"):
                        self.send_json(*server.refused(step))
                    elif self.path.endswith("/files"):
                        self.send_json(200, server.upload(self.headers["Content-Type"], raw))
                    elif self.path.endswith("/batches"):
                        self.send_json(*server.create(json.loads(raw)))
                    elif self.path.endswith("/chat/completions"):
                        self.send_json(*server.live(json.loads(raw)))
                    else:
                        self.send_json(404, {"error": {"message": f"no route {self.path}"}})

            def do_GET(self) -> None:  # noqa: N802
                path, _, query = self.path.partition("?")
                parts = path.strip("/").split("/")
                with server._lock:
                    server.auth.append(self.headers.get("Authorization", ""))
                    if parts[-1] == "batches":
                        self.send_json(*server.list(query))
                    elif parts[-2:-1] == ["batches"] and "retrieve" in server.refuse:
                        self.send_json(*server.refused("retrieve"))
                    elif parts[-2:-1] == ["batches"]:
                        self.send_json(*server.retrieve(parts[-1]))
                    elif parts[-1] == "content" and parts[-2] in server.files:
                        server.reads += 1
                        self.send_bytes(200, server.files[parts[-2]], "application/octet-stream")
                    else:
                        self.send_json(404, {"error": {"message": f"no route {self.path}"}})

        return Handler


def _valid(line: dict[str, Any]) -> bool:
    """A line OpenAI would run: a POST to the batch's endpoint with a model and messages."""
    body = line.get("body")
    return (
        line.get("method") == "POST"
        and line.get("url") == "/v1/chat/completions"
        and isinstance(body, dict)
        and isinstance(body.get("model"), str)
        and isinstance(body.get("messages"), list)
    )
