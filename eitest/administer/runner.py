"""Plan and administer a study: every model x instrument x item x repetition, once each.

A study's identity (models, instruments with their content hashes, protocol, option
order, repetitions, temperature, seed, ...) names its run, so running the same
study again resumes it: finished trials are skipped, failed ones are called again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eitest import __version__
from eitest.administer.prompts import get_protocol, shown_order
from eitest.administer.study import Study, StudyError
from eitest.client.event_loop import run_coroutine
from eitest.errors import EitestError
from eitest.instruments import Instrument, Item, get
from eitest.store import RunRecord, Store, now
from eitest.store.trial import Trial


class BudgetExceeded(EitestError):
    pass


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class TrialSpec:
    model: str
    instrument: Instrument
    item: Item
    repetition: int
    shown: tuple[str, ...]

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.model, self.instrument.id, self.item.id, self.repetition)


@dataclass
class Plan:
    study: Study
    run_id: str
    identity: dict[str, Any]
    hashes: dict[str, str]
    trials: list[TrialSpec]
    done: set[tuple[str, str, str, int]]
    estimate_tokens: dict[str, tuple[int, int]] = field(default_factory=dict)  # model -> (prompt, completion)
    estimate_cost: dict[str, float | None] = field(default_factory=dict)

    @property
    def todo(self) -> list[TrialSpec]:
        return [t for t in self.trials if t.key not in self.done]

    @property
    def total_cost(self) -> float | None:
        costs = list(self.estimate_cost.values())
        if any(c is None for c in costs):
            return None
        return float(sum(costs))  # type: ignore[arg-type]

    def describe(self) -> list[str]:
        todo = self.todo
        lines = [
            f"run {self.run_id}: {len(self.study.models)} model(s) x {len(self.study.instruments)} instrument(s) "
            f"x {self.study.reps} repetition(s) = {len(self.trials)} trials; "
            f"{len(self.trials) - len(todo)} already done, {len(todo)} to call",
            f"protocol {self.study.protocol}, option order {self.study.option_order}, temperature {self.study.temperature}",
        ]
        for model in self.study.models:
            p, c = self.estimate_tokens.get(model, (0, 0))
            cost = self.estimate_cost.get(model)
            shown = "unknown (no price in litellm's list)" if cost is None else f"${cost:.4f}"
            lines.append(f"  {model}: ~{p:,} prompt + ~{c:,} completion tokens, estimated cost {shown}")
        return lines


def _git_revision() -> tuple[str | None, bool | None]:
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return None, None
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=5)
        return rev.stdout.strip(), bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def make_plan(study: Study, store: Store | None = None, *, estimate: bool = True, require_keys: bool = True) -> Plan:
    """Resolve instruments, check models, list every trial, and estimate tokens and cost."""
    from eitest import client

    instruments: list[Instrument] = []
    for name in study.instruments:
        inst = get(name)
        if inst.is_metadata_only:
            how = inst.published.obtain if inst.published else ""
            raise StudyError(f"{inst.id} has no items on this machine: its items belong to their authors. {how}")
        instruments.append(inst)
    study = study.model_copy(update={"instruments": [i.id for i in instruments]})
    for model in study.models:
        client.check_model(model, study.api_base, require_key=require_keys)
    hashes = {i.id: i.content_hash for i in instruments}
    identity = study.identity(hashes)
    run_id = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    trials = [
        TrialSpec(
            model,
            inst,
            item,
            rep,
            tuple(
                shown_order(study.option_order, item, model=model, instrument=inst.id, repetition=rep, seed=study.seed)
            ),
        )
        for model in study.models
        for inst in instruments
        for rep in range(study.reps)
        for item in inst.items
    ]
    done = store.finished_keys(run_id) if store is not None else set()
    plan = Plan(study, run_id, identity, hashes, trials, done)
    if estimate:
        _estimate(plan)
    return plan


def _estimate(plan: Plan) -> None:
    from eitest import client

    protocol = get_protocol(plan.study.protocol)
    todo = plan.todo
    for model in plan.study.models:
        mine = [t for t in todo if t.model == model]
        if model.startswith("eitest/"):
            plan.estimate_tokens[model] = (0, 0)
            plan.estimate_cost[model] = 0.0
            continue
        per_item: dict[tuple[str, str], int] = {}
        for t in mine:
            k = (t.instrument.id, t.item.id)
            if k not in per_item:
                per_item[k] = client.count_tokens(model, protocol.messages(t.instrument, t.item, list(t.shown)))
        prompt = sum(per_item[(t.instrument.id, t.item.id)] for t in mine)
        completion = protocol.expected_completion_tokens * len(mine)
        plan.estimate_tokens[model] = (prompt, completion)
        plan.estimate_cost[model] = client.estimate_cost(model, prompt, completion) if mine else 0.0


# --------------------------------------------------------------------------- administering


@dataclass
class RunOutcome:
    run_id: str
    planned: int
    skipped: int
    called: int = 0
    failed: int = 0
    cost: float = 0.0
    stopped: str | None = None


def _trial_seed(study: Study, t: TrialSpec) -> int:
    digest = hashlib.sha256(
        f"{study.seed}\x1f{t.model}\x1f{t.instrument.id}\x1f{t.item.id}\x1f{t.repetition}".encode()
    ).digest()
    return int.from_bytes(digest[:8], "big")


async def _administer(
    plan: Plan,
    store: Store,
    on_trial: Callable[[Trial], None] | None,
) -> RunOutcome:
    from eitest import client
    from eitest.administer.parsing import parse_reply

    study = plan.study
    protocol = get_protocol(study.protocol)
    settings = client.CallSettings(
        temperature=study.temperature,
        max_tokens=study.max_tokens,
        api_base=study.api_base,
        timeout_s=study.timeout_s,
        max_retries=study.max_retries,
        backoff_s=study.backoff_s,
    )
    json_mode = {m: protocol.structured and client.supports_json_mode(m, study.api_base) for m in study.models}
    todo = plan.todo
    outcome = RunOutcome(plan.run_id, len(plan.trials), len(plan.trials) - len(todo))
    queue: asyncio.Queue[TrialSpec] = asyncio.Queue()
    for t in todo:
        queue.put_nowait(t)

    async def worker() -> None:
        while True:
            if study.max_cost is not None and outcome.cost >= study.max_cost:
                outcome.stopped = f"spent ${outcome.cost:.4f}, reaching --max-cost ${study.max_cost:.4f}"
                return
            try:
                t = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            shown = list(t.shown)
            messages = protocol.messages(t.instrument, t.item, shown)
            texts = [t.item.option(o).text for o in shown]
            best = shown.index(t.item.best_option)
            meta = {
                "eitest": {
                    "best_position": best,
                    "n_options": len(shown),
                    "seed": _trial_seed(study, t),
                    "protocol": protocol.name,
                    "situation": f"{t.item.stem}\n{t.item.question}",
                    "options": texts,
                }
            }
            started = now()
            result = await client.complete(
                t.model,
                messages,
                settings,
                metadata=meta if t.model.startswith("eitest/") else None,
                response_format={"type": "json_object"} if json_mode[t.model] else None,
                max_tokens=protocol.max_tokens,
            )
            parsed = parse_reply(result.text, texts, protocol=protocol.name, error=result.error)
            chosen = shown[parsed.position] if parsed.position is not None else None
            record = Trial(
                run_id=plan.run_id,
                model=t.model,
                instrument=t.instrument.id,
                item_id=t.item.id,
                repetition=t.repetition,
                protocol=protocol.name,
                protocol_version=protocol.version,
                option_order=study.option_order,
                shown_order=shown,
                keyed_position=best,
                prompt=messages,
                raw_reply=result.text,
                model_returned=result.model_returned,
                finish_reason=result.finish_reason,
                status=parsed.status,
                parse_rule=parsed.rule,
                chosen_position=parsed.position,
                chosen_option=chosen,
                score=t.item.credit(chosen) if parsed.status == "answered" else None,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                cost=result.cost,
                latency_s=result.latency_s,
                attempts=result.attempts,
                error=result.error if result.error else ("; ".join(result.errors) or None),
                started_at=started,
                finished_at=now(),
            )
            store.save_trial(record)  # committed at once: a killed run loses only the calls in flight
            outcome.called += 1
            outcome.failed += parsed.status == "error"
            outcome.cost += result.cost or 0.0
            if on_trial is not None:
                on_trial(record)

    await asyncio.gather(*(worker() for _ in range(min(study.concurrency, max(1, len(todo))))))
    return outcome


def run_study(
    study: Study,
    db: str | Path,
    *,
    command: str | None = None,
    on_plan: Callable[[Plan], bool] | None = None,
    on_trial: Callable[[Trial], None] | None = None,
) -> RunOutcome:
    """Administer ``study`` into the store at ``db``, resuming a run of the same study.

    ``on_plan`` sees the plan before any call and may return False to stop; a plan
    whose estimated cost exceeds ``study.max_cost`` is refused with :class:`BudgetExceeded`.
    """
    from eitest.client import litellm_module, redact

    plan = make_plan(study, estimate=False)  # checks models and instruments before anything is written
    with Store(db) as store:
        plan.done = store.finished_keys(plan.run_id)
        _estimate(plan)
        if study.max_cost is not None:
            total = plan.total_cost
            if total is None:
                raise BudgetExceeded(
                    f"cannot hold the run to --max-cost ${study.max_cost:g}: litellm has no price for "
                    + ", ".join(m for m, c in plan.estimate_cost.items() if c is None)
                )
            if total > study.max_cost:
                raise BudgetExceeded(
                    f"estimated cost ${total:.4f} exceeds --max-cost ${study.max_cost:g}; nothing was called"
                )
        if on_plan is not None and on_plan(plan) is False:
            return RunOutcome(plan.run_id, len(plan.trials), len(plan.trials) - len(plan.todo), stopped="not confirmed")
        revision, dirty = _git_revision()
        litellm = litellm_module()
        store.ensure_run(
            RunRecord(
                id=plan.run_id,
                config={**plan.identity, "concurrency": study.concurrency, "max_cost": study.max_cost},
                instrument_hashes=plan.hashes,
                eitest_version=__version__,
                litellm_version=getattr(litellm, "__version__", None) or _dist_version("litellm"),
                git_revision=revision,
                git_dirty=dirty,
                command=redact(command or " ".join(sys.argv)),
                created_at=now(),
                started_at=None,
                finished_at=None,
            )
        )
        store.save_instruments(list({ts.instrument.id: ts.instrument for ts in plan.trials}.values()))
        store.mark_run(plan.run_id, started=True)
        outcome = run_coroutine(_administer(plan, store, on_trial))
        if not outcome.stopped and outcome.failed == 0:
            store.mark_run(plan.run_id, finished=True)
        return outcome


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None
