"""The plan of a study: every model x instrument x item x repetition as one trial spec, and its cost.

A study's identity (models, instruments with their content hashes, protocol, option
order, repetitions, temperature, seed, ...) names its run, so planning the same study
again against a store finds the trials already finished in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eitest.administer.limits import MAX_TRIALS
from eitest.administer.prompts import get_protocol, shown_order
from eitest.administer.study import Study, StudyError, run_id_of
from eitest.instruments import Instrument, Item, get
from eitest.store import Store

TrialKey = tuple[str, str, str, int]  # (model, instrument id, item id, repetition)


@dataclass(frozen=True)
class TrialSpec:
    """One trial to administer: an item put to a model once, with the option order it is shown."""

    model: str
    instrument: Instrument
    item: Item
    repetition: int
    shown: tuple[str, ...]

    @property
    def key(self) -> TrialKey:
        return (self.model, self.instrument.id, self.item.id, self.repetition)


@dataclass
class Plan:
    study: Study
    run_id: str
    identity: dict[str, Any]
    hashes: dict[str, str]
    trials: list[TrialSpec]
    done: set[TrialKey]
    estimate_tokens: dict[str, tuple[int, int]] = field(default_factory=dict)  # model -> (prompt, completion)
    estimate_cost: dict[str, float | None] = field(default_factory=dict)
    pending: int = 0  # of ``done``: trials in batches submitted before and not yet collected (batch mode)

    @property
    def todo(self) -> list[TrialSpec]:
        return [t for t in self.trials if t.key not in self.done]

    @property
    def total_cost(self) -> float | None:
        costs = list(self.estimate_cost.values())
        if any(c is None for c in costs):
            return None
        return float(sum(costs))  # type: ignore[arg-type]

    @property
    def raised_caps(self) -> dict[str, int]:
        """The reply cap of each model whose cap is raised above the protocol's (a reasoning model's)."""
        from eitest.client.calls import CallSettings, raised_caps

        cap = get_protocol(self.study.protocol).max_tokens
        return raised_caps(self.study.models, CallSettings(max_tokens=self.study.max_tokens), cap)

    def describe(self) -> list[str]:
        from eitest.client import key_route

        todo = self.todo
        raised = self.raised_caps
        lines = [
            f"run {self.run_id}: {len(self.study.models)} model(s) x {len(self.study.instruments)} instrument(s) "
            f"x {self.study.reps} repetition(s) = {len(self.trials)} trials; "
            f"{len(self.trials) - len(todo) - self.pending} already done, "
            + (f"{self.pending} in batches submitted before, " if self.pending else "")
            + f"{len(todo)} to call",
            f"protocol {self.study.protocol}, option order {self.study.option_order}, temperature {self.study.temperature}",
        ]
        for model in self.study.models:
            p, c = self.estimate_tokens.get(model, (0, 0))
            cost = self.estimate_cost.get(model)
            shown = "unknown (no price in litellm's list)" if cost is None else f"${cost:.4f}"
            shown += " at the batch price" if self.study.batch and cost is not None else ""
            lines.append(f"  {model}: ~{p:,} prompt + ~{c:,} completion tokens, estimated cost {shown}")
            if model in raised:
                lines.append(
                    f"  {model} is a reasoning model: its replies may take up to {raised[model]:,} tokens each, "
                    "and its reasoning, billed as output, is not in this estimate"
                )
        lines += [f"  {key_route(m, self.study.api_base, self.study.api_key_env)}" for m in self.study.models]
        return lines


def make_plan(study: Study, store: Store | None = None, *, estimate: bool = True, require_keys: bool = True) -> Plan:
    """Resolve instruments, check models, list every trial, and estimate tokens and cost."""
    from eitest import client

    instruments: list[Instrument] = []
    for name in study.instruments:
        inst = get(name)
        if inst.is_metadata_only:
            how = inst.published.obtain if inst.published else ""
            raise StudyError(f"{inst.id} has no items on this machine: its items belong to their authors. {how}")
        if any(i.id == inst.id for i in instruments):
            raise StudyError(
                f"{name!r} is instrument {inst.id}, which the study already names another way; give it once"
            )
        instruments.append(inst)
    check_size(study, instruments)
    study = study.model_copy(update={"instruments": [i.id for i in instruments]})
    for model in study.models:
        client.check_model(model, study.api_base, require_key=require_keys, api_key_env=study.api_key_env)
    hashes = {i.id: i.content_hash for i in instruments}
    identity = study.identity(hashes)
    run_id = run_id_of(identity)
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
        estimate_usage(plan)
    return plan


def check_size(study: Study, instruments: list[Instrument]) -> None:
    """Refuse a plan of more than :data:`~eitest.administer.limits.MAX_TRIALS` trials, before it is built."""
    n_items = sum(i.n_items for i in instruments)
    n = len(study.models) * n_items * study.reps
    if n > MAX_TRIALS:
        raise StudyError(
            f"this plan has {n:,} trials ({len(study.models)} model(s) x {n_items:,} item(s) in "
            f"{len(instruments)} instrument(s) x {study.reps:,} repetition(s)); eitest runs at most "
            f"{MAX_TRIALS:,} in one run: split it into several runs (fewer models, instruments or repetitions each)"
        )


def estimate_usage(plan: Plan) -> None:
    """Fill the plan's token and cost estimates for the trials still to call."""
    from eitest import client
    from eitest.client import offline
    from eitest.client.batches import batch_cost

    price = batch_cost if plan.study.batch else client.estimate_cost  # a batch is billed at its own price
    protocol = get_protocol(plan.study.protocol)
    todo = plan.todo
    for model in plan.study.models:
        mine = [t for t in todo if t.model == model]
        if offline.is_offline(model):
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
        plan.estimate_cost[model] = price(model, prompt, completion) if mine else 0.0
