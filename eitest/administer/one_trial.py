"""One trial: put one item to one model once, read the reply, score it, as a :class:`~eitest.store.trial.Trial`.

:func:`administer_one` is the whole work of a trial (messages, the call through the
model door, the parse, the score). The runner schedules it and saves what it returns;
the benchmark times the same function. What is the same for every trial of a run
travels in one :class:`RunSettings`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from eitest import client
from eitest.administer.letter_probs import read_letter_probs
from eitest.administer.parsing import parse_reply
from eitest.administer.plan import Plan, TrialSpec
from eitest.administer.prompts import Protocol, get_protocol
from eitest.administer.study import Study
from eitest.administer.think_blocks import inline_reasoning
from eitest.client import CallResult, CallSettings, offline
from eitest.client.logprobs import top_logprobs_for
from eitest.client.refusals import NO_LOGPROBS
from eitest.instruments import Item
from eitest.store import now
from eitest.store.trial import Trial
from eitest.vocabulary import Status


@dataclass(frozen=True)
class RunSettings:
    """What every trial of a run shares: its id, the protocol, how calls are made, the order rule and seed."""

    run_id: str
    protocol: Protocol
    call: CallSettings
    option_order: str
    seed: int
    json_mode: frozenset[str] = frozenset()  # models asked for a JSON object (the protocol wants one, they support it)

    @classmethod
    def for_plan(cls, plan: Plan) -> RunSettings:
        """The settings of ``plan``'s run, from its study; asks litellm which models take a JSON mode."""
        study = plan.study
        protocol = get_protocol(study.protocol)
        call = call_settings(study)
        json_mode = frozenset(
            m for m in study.models if protocol.structured and client.supports_json_mode(m, study.api_base)
        )
        return cls(plan.run_id, protocol, call, study.option_order, study.seed, json_mode)


def call_settings(study: Study) -> CallSettings:
    """How every call of ``study``'s run is made."""
    return CallSettings(
        temperature=study.temperature,
        max_tokens=study.max_tokens,
        api_base=study.api_base,
        timeout_s=study.timeout_s,
        max_retries=study.max_retries,
        backoff_s=study.backoff_s,
        api_key_env=study.api_key_env,
    )


def temperature_manifest(plan: Plan) -> dict[str, dict[str, str]]:
    """For the run's config: the models that get no temperature, because litellm knows they do not take it.

    Empty when every model gets the study's temperature (or it sets none). A server that
    refuses the parameter during the run is noted in that trial's error, and added to this
    entry of the config when the run ends (:mod:`eitest.administer.runner`).
    """
    call = call_settings(plan.study)
    if call.temperature is None:
        return {}
    skipped = {m: client.NOT_SENT for m in plan.study.models if not client.temperature_taken(m, call)}
    return {"temperature_not_sent": skipped} if skipped else {}


def trial_seed(seed: int, spec: TrialSpec) -> int:
    """A stable per-trial seed (for the chance responder) from the study's seed and the trial's key.

    The label keeps it apart from the seed of the option shuffle (:func:`eitest.administer.prompts.shown_order`),
    which hashes the same key: sharing that stream made the chance pick the shuffle's first draw, so it
    chose the option listed last 40 % of the time with five options.
    """
    parts = ("chance responder", seed, spec.model, spec.instrument.id, spec.item.id, spec.repetition)
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


async def administer_one(spec: TrialSpec, run: RunSettings) -> Trial:
    """Administer one trial and return its record; a failed call is a trial with status error, never a raise."""
    messages = trial_messages(spec, run)
    started = now()
    result = await client.complete(
        spec.model,
        messages,
        run.call,
        metadata=_responder_metadata(spec, run) if offline.is_offline(spec.model) else None,
        response_format=response_format(spec, run),
        max_tokens=run.protocol.max_tokens,
        top_logprobs=top_logprobs_for(spec.model) if run.protocol.logprobs else None,
    )
    return trial_from_reply(spec, run, result, messages=messages, started_at=started)


def trial_messages(spec: TrialSpec, run: RunSettings) -> list[dict[str, str]]:
    """The chat messages of ``spec``: the protocol's wording of its item, options in the order shown."""
    return run.protocol.messages(spec.instrument, spec.item, list(spec.shown))


def response_format(spec: TrialSpec, run: RunSettings) -> dict[str, Any] | None:
    """The JSON mode asked of the model, where the protocol wants one and the model takes it."""
    return {"type": "json_object"} if spec.model in run.json_mode else None


def trial_from_reply(
    spec: TrialSpec, run: RunSettings, result: client.CallResult, *, messages: list[dict[str, str]], started_at: str
) -> Trial:
    """The record of ``spec`` from the result of its call (``messages`` sent), live or a batch's line: parsed and scored here, once."""
    protocol = run.protocol
    shown = list(spec.shown)
    item = spec.item
    read = _read(result, protocol, item, shown)
    chosen = shown[read.position] if read.position is not None else None
    return Trial(
        run_id=run.run_id,
        model=spec.model,
        instrument=spec.instrument.id,
        item_id=item.id,
        repetition=spec.repetition,
        protocol=protocol.name,
        protocol_version=protocol.version,
        option_order=run.option_order,
        shown_order=shown,
        keyed_position=shown.index(item.best_option),
        prompt=messages,
        raw_reply=result.text,
        model_returned=result.model_returned,
        finish_reason=result.finish_reason,
        status=read.status,
        parse_rule=read.rule,
        chosen_position=read.position,
        chosen_option=chosen,
        score=read.score,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        cost=result.cost,
        latency_s=result.latency_s,
        attempts=result.attempts,
        error=read.error or result.error or ("; ".join(result.errors) or None),
        started_at=started_at,
        finished_at=now(),
        # The provider's own field wins; a <think> block inline stays in raw_reply as it came.
        reasoning=result.reasoning or inline_reasoning(result.text),
        reasoning_tokens=result.reasoning_tokens,
        option_probs=read.option_probs,
        coverage=read.coverage,
        token_logprobs=result.logprobs,
    )


@dataclass(frozen=True)
class _Reading:
    """How a reply was read: by the text parser, or over the first token's probabilities (logprobs protocol)."""

    status: Status
    rule: str | None
    position: int | None
    score: float | None
    option_probs: dict[str, float] | None = None
    coverage: float | None = None
    error: str | None = None  # the reply cannot serve the protocol (no token probabilities)


def _read(result: CallResult, protocol: Protocol, item: Item, shown: list[str]) -> _Reading:
    texts = [item.option(o).text for o in shown]
    if not protocol.logprobs or result.error:
        parsed = parse_reply(result.text, texts, protocol=protocol.name, error=result.error)
        chosen = shown[parsed.position] if parsed.position is not None else None
        score = item.credit(chosen) if parsed.status == Status.ANSWERED else None
        return _Reading(parsed.status, parsed.rule, parsed.position, score)
    if result.logprobs is None:
        # Stops the run at this first trial (eitest.client.refusals): no later reply would differ.
        why = f"{NO_LOGPROBS}: the reply carried no alternatives to its first token, though top_logprobs were asked for"
        return _Reading(Status.ERROR, "error", None, None, error=why)
    probs = read_letter_probs(result.logprobs, len(shown), sampled=result.text)
    # By option id in the item's own order, so that trials shown in different orders read alike.
    by_position = dict(zip(shown, probs.probs, strict=True)) if probs.probs is not None else None
    by_option = {o: by_position[o] for o in item.option_ids} if by_position is not None else None
    score = probs.expected_credit([item.credit(o) for o in shown])
    return _Reading(probs.status, probs.rule, probs.position, score, by_option, probs.coverage)


def _responder_metadata(spec: TrialSpec, run: RunSettings) -> dict[str, Any]:
    # An offline responder only chooses a position; the protocol says what that answer looks like.
    texts = [spec.item.option(o).text for o in spec.shown]
    return offline.metadata(
        answers=[run.protocol.answer_text(i) for i in range(len(texts))],
        best_position=spec.shown.index(spec.item.best_option),
        seed=trial_seed(run.seed, spec),
        situation=f"{spec.item.stem}\n{spec.item.question}",
        options=texts,
        logprobs=run.protocol.logprobs,
    )
