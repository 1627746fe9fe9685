"""The batch door: a provider's batch API (files + batches) through litellm, and each result line as a call's result.

A batch is a JSONL file of requests uploaded with ``litellm.acreate_file``, started
with ``litellm.acreate_batch``, watched with ``litellm.aretrieve_batch`` and read back
with ``litellm.afile_content``: OpenAI's ``/v1/files``, ``/v1/batches``,
``/v1/batches/{id}`` and ``/v1/files/{id}/content``; ``litellm.alist_batches``
(``GET /v1/batches``) finds a batch whose creation a killed run did not record. Each
request line carries the body the live call (:func:`eitest.client.calls.complete`) would send, built by the same
step (``_request``); each result line becomes a :class:`~eitest.client.calls.CallResult`
read by the same step as a live reply (``_fill``), so a trial cannot tell the two apart
but for its price and its missing latency.

The price is the batch price: litellm's ``batch_cost_calculator`` uses the price list's
``*_cost_per_token_batches`` where it has them, and half the live price where it does not
(OpenAI's and Anthropic's batch APIs are billed at half the live price).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from eitest.client import offline, reasoning
from eitest.client.calls import CallResult, CallSettings, NoText, _fill, _request
from eitest.client.keys import redact
from eitest.client.providers import litellm_module, provider_of
from eitest.errors import EitestError

# The litellm providers whose batch API eitest drives (OpenAI's wire format, also at --api-base).
BATCH_PROVIDERS = ("openai",)
ENDPOINT = "/v1/chat/completions"
WINDOW = "24h"  # the only completion window OpenAI offers
# A provider's states of a batch that will not change again; "gone": the provider knows the batch no more (404).
GONE = "gone"
ENDED = ("completed", "failed", "expired", "cancelled", GONE)
# Seconds for an upload or a download at least: a batch file is up to 200 MB, a call's deadline is for one reply.
FILE_TIMEOUT_S = 600.0
LIST_PAGE = 100  # batches per page of a listing (OpenAI's most)
LIST_SLACK_S = 3600.0  # how far the provider's clock may be behind ours when a listing is searched


class BatchError(EitestError):
    """A batch that cannot be sent or read: an unsupported provider, or a refused upload, creation or read."""


@dataclass(frozen=True)
class BatchState:
    """What the provider says of a batch now."""

    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    completed: int = 0
    failed: int = 0
    total: int = 0

    @property
    def ended(self) -> bool:
        return self.status in ENDED


@dataclass
class LineResult:
    """One result line: the call's result, or why the line has none."""

    custom_id: str
    result: CallResult = field(default_factory=CallResult)


def check_batch_models(models: list[str], api_base: str | None = None) -> None:
    """Refuse, before anything is sent, a model whose provider has no batch API eitest can drive."""
    refused = [m for m in models if provider_of(m, api_base) not in BATCH_PROVIDERS]
    if refused:
        names = ", ".join(refused)
        raise BatchError(
            f"--batch needs a provider with a batch API; {names} has none that eitest can use. "
            f"Batch mode works with provider {', '.join(BATCH_PROVIDERS)} (openai/MODEL on OpenAI's API, or on an "
            "OpenAI-compatible server at --api-base that implements /v1/files and /v1/batches); "
            "run the other models without --batch"
        )


def request_line(
    custom_id: str,
    model: str,
    messages: list[dict[str, str]],
    settings: CallSettings,
    *,
    response_format: dict[str, Any] | None = None,
    max_tokens: int | None = None,
    top_logprobs: int | None = None,
) -> dict[str, Any]:
    """One JSONL line of a batch: the body the live call of the same trial sends, for the provider's own model name."""
    kwargs = _request(model, messages, settings, None, max_tokens=max_tokens)
    body: dict[str, Any] = {k: kwargs[k] for k in ("messages", "temperature", "max_tokens") if k in kwargs}
    body["model"] = litellm_module().get_llm_provider(model=model, api_base=settings.api_base)[0]
    if response_format is not None:
        body["response_format"] = response_format
    if top_logprobs:  # the logprobs protocol, as the live call asks it (eitest.client.calls.complete)
        body.update(logprobs=True, top_logprobs=top_logprobs)
    return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}


def _access(model: str, settings: CallSettings) -> tuple[dict[str, Any], list[str | None]]:
    """The provider, address and key of the batch calls (as the live call sends them), and the secrets to redact."""
    key = os.environ.get(settings.api_key_env) if settings.api_key_env else None
    kwargs = _request(model, [], settings, key)
    access: dict[str, Any] = {k: kwargs[k] for k in ("api_base", "api_key") if k in kwargs}
    access["custom_llm_provider"] = provider_of(model, settings.api_base)
    access["max_retries"] = settings.max_retries
    access["timeout"] = max(settings.timeout_s, FILE_TIMEOUT_S)
    return access, [key, kwargs.get("api_key")]


def _failed(what: str, exc: BaseException, secrets: list[str | None]) -> BatchError:
    status = getattr(exc, "status_code", None)
    head = type(exc).__name__ + (f" ({status})" if status else "")
    lines = str(exc).strip().splitlines()
    return BatchError(redact(f"the batch API refused to {what}: {head}: {lines[0][:300] if lines else ''}", secrets))


async def upload(model: str, lines: list[dict[str, Any]], settings: CallSettings, name: str) -> str:
    """Upload ``lines`` as a JSONL file named ``name`` for a batch; the provider's file id."""
    access, secrets = _access(model, settings)
    data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    try:
        uploaded = await litellm_module().acreate_file(
            file=(name, data, "application/jsonl"), purpose="batch", **access
        )
    except Exception as exc:
        raise _failed("take the upload", exc, secrets) from None
    return str(uploaded.id)


async def create(model: str, input_file_id: str, settings: CallSettings, metadata: dict[str, str]) -> str:
    """Start a batch of the uploaded file, tagged with ``metadata`` (what names it when it must be found again); its id."""
    access, secrets = _access(model, settings)
    try:
        batch = await litellm_module().acreate_batch(
            completion_window=WINDOW, endpoint=ENDPOINT, input_file_id=input_file_id, metadata=metadata, **access
        )
    except Exception as exc:
        raise _failed(f"start a batch of file {input_file_id}", exc, secrets) from None
    return str(batch.id)


@dataclass(frozen=True)
class Listed:
    """A batch as the provider lists it: its id, status, and creation (seconds since the epoch; 0 if not given)."""

    id: str
    status: str
    created_at: float = 0.0


async def find(model: str, settings: CallSettings, input_file_id: str, since: float) -> Listed | None:
    """The batch the provider made of the uploaded file ``input_file_id``; None if it made none.

    The file is the key, not the metadata ``create`` tags a batch with: the file id is
    the provider's own and unique, while the same study run into two stores carries the
    same run id and part names. The provider lists batches newest first, a page at a
    time (``after`` the last id seen); the search stops at the first batch created
    before ``since`` (seconds since the epoch, less :data:`LIST_SLACK_S` for the
    clocks' difference), as none older can be the one sought.
    """
    access, secrets = _access(model, settings)
    after: str | None = None
    while True:
        try:
            page = await litellm_module().alist_batches(after=after, limit=LIST_PAGE, **access)
        except Exception as exc:
            raise _failed("list its batches", exc, secrets) from None
        batches = list(getattr(page, "data", None) or [])
        for batch in batches:
            if batch.input_file_id == input_file_id:
                return Listed(str(batch.id), str(batch.status), float(batch.created_at or 0))
            if batch.created_at and batch.created_at < since - LIST_SLACK_S:
                return None
        if not batches or not getattr(page, "has_more", False):
            return None
        after = str(batches[-1].id)


async def retrieve(model: str, batch_id: str, settings: CallSettings) -> BatchState:
    """The batch's state as the provider reports it now; :data:`GONE` when it answers that it has no such batch.

    A batch the provider no longer has (deleted, or past its retention) can never report
    again: its lines are then failed, to be retried, rather than polled on every re-run.
    """
    access, secrets = _access(model, settings)
    try:
        # litellm's logging would download a completed batch's output to price it; each line is priced here instead.
        quiet = {"batch_ignore_default_logging": True}
        batch = await litellm_module().aretrieve_batch(batch_id=batch_id, litellm_metadata=quiet, **access)
    except Exception as exc:
        if getattr(exc, "status_code", None) == 404:
            return BatchState(status=GONE)
        raise _failed(f"report batch {batch_id}", exc, secrets) from None
    counts = getattr(batch, "request_counts", None)
    return BatchState(
        status=str(batch.status),
        output_file_id=getattr(batch, "output_file_id", None),
        error_file_id=getattr(batch, "error_file_id", None),
        completed=int(getattr(counts, "completed", 0) or 0),
        failed=int(getattr(counts, "failed", 0) or 0),
        total=int(getattr(counts, "total", 0) or 0),
    )


async def results(model: str, state: BatchState, settings: CallSettings) -> dict[str, LineResult]:
    """Every result line of an ended batch (output and error files), by custom_id, each as a call's result."""
    access, secrets = _access(model, settings)
    found: dict[str, LineResult] = {}
    for file_id in (state.output_file_id, state.error_file_id):
        if not file_id:
            continue
        try:
            content = await litellm_module().afile_content(file_id=file_id, **access)
        except Exception as exc:
            raise _failed(f"give the content of file {file_id}", exc, secrets) from None
        for text in content.content.decode("utf-8", "replace").splitlines():
            if text.strip() and (line := read_line(text, model, settings.api_base)) is not None:
                found[line.custom_id] = line
    return found


def read_line(text: str, model: str, api_base: str | None = None) -> LineResult | None:
    """One line of an output or error file as a call's result: read as a live reply, priced at the batch price.

    A line that is not JSON or names no custom_id is None (it cannot be matched to a trial).
    A line whose server refused the temperature is remembered as a live call's refusal is
    (:mod:`eitest.client.reasoning`): the line, sent again, goes without it, and the run's
    config says so.
    """
    try:
        line = json.loads(text)
    except ValueError:
        return None
    if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
        return None
    out = LineResult(line["custom_id"])
    out.result.attempts = 1
    response = line.get("response")
    response = response if isinstance(response, dict) else {}
    status, body = response.get("status_code"), response.get("body")
    if status == 200 and isinstance(body, dict):
        try:
            _fill(out.result, litellm_module().ModelResponse(**body), model)
        except NoText as exc:
            out.result.error = redact(f"NoText: {exc}")[:2000]
        except Exception as exc:  # a body litellm cannot read is a failed line, as a malformed live reply is
            out.result.error = f"{type(exc).__name__}: the batch's reply could not be read: {str(exc)[:300]}"
        out.result.cost = line_cost(model, out.result)
    else:
        out.result.error = line_error(line, status, body)
        if reasoning.is_temperature_refusal(status, out.result.error):
            reasoning.remember_refusal(model, api_base)
    if out.result.error:
        out.result.errors.append(out.result.error)
    return out


def line_error(line: dict[str, Any], status: Any, body: Any) -> str:
    """What a failed line says: its ``error`` (e.g. batch_expired) or the error body of its non-200 reply."""
    error = line.get("error")
    if not isinstance(error, dict) and isinstance(body, dict):
        error = body.get("error")
    message = error.get("message") if isinstance(error, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    head = "BatchLine" + (f" ({status})" if isinstance(status, int) else "") + (f" {code}" if code else "")
    return redact(f"{head}: {str(message or 'the line failed without a message')[:300]}")


def line_cost(model: str, result: CallResult) -> float | None:
    """The batch price of a line's tokens; None when litellm has no price for the model (or no usage came back)."""
    if result.prompt_tokens is None:
        return None
    return batch_cost(model, result.prompt_tokens, result.completion_tokens or 0)


def batch_cost(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Price of a call at the batch price (see the module's doc); None when the model has no price."""
    if offline.is_offline(model):
        return 0.0
    litellm = litellm_module()
    try:
        litellm.cost_per_token(model=model, prompt_tokens=1, completion_tokens=1)  # raises for a model without a price
        from litellm.cost_calculator import batch_cost_calculator

        usage = litellm.Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        p, c = batch_cost_calculator(usage, model)
    except Exception:
        return None
    return float(p + c)
