"""Run the memorisation probe into a store: a run of kind ``probe``, resumed like any run.

The probe's trials go through the scheduler a study's go through
(:mod:`eitest.administer.scheduling`): the same pacing, the same stop on a provider's refusal
(:class:`~eitest.client.refusals.ProviderRefused`) or on SIGINT/SIGTERM, and the same group
commits; running the same probe again calls only the trials not yet finished. What is the
probe's own is here: its plan, the run's identity, the snapshot of its control texts and the
run record. The run's config says ``kind: probe``, so that an analysis
never scores its trials as a test (:mod:`eitest.scoring.selection`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eitest.administer.one_trial import call_settings
from eitest.administer.provenance import new_run_record
from eitest.administer.scheduling import RunOutcome, Schedule, Scheduler, paced
from eitest.administer.study import Study, StudyError, run_id_of
from eitest.client.calls import raised_caps
from eitest.client.event_loop import run_coroutine
from eitest.instruments import Instrument, get
from eitest.probes.memorisation import (
    MAX_REPLY_TOKENS,
    PROTOCOL,
    PROTOCOL_VERSION,
    ProbeSpec,
    probe_one,
    probe_specs,
)
from eitest.probes.texts import (
    CONTROL_PREFIX,
    MIN_CONTROLS,
    OPEN_CONTROLS,
    control_instrument,
    controls_problem,
)
from eitest.store import Store
from eitest.store.lock import run_lock
from eitest.store.trial import Trial
from eitest.vocabulary import RunKind

PROBE = "memorisation"


@dataclass
class ProbePlan:
    """Every trial of one probe run, and what names the run."""

    study: Study  # the models, instruments and how calls are made (its protocol and reps are not used)
    run_id: str
    identity: dict[str, Any]
    instruments: list[Instrument]
    controls: dict[str, Instrument]  # instrument id -> its control texts
    specs: list[ProbeSpec]
    done: set[tuple[str, str, str, int]] = field(default_factory=set)

    @property
    def todo(self) -> list[ProbeSpec]:
        return [s for s in self.specs if s.key not in self.done]

    def describe(self) -> list[str]:
        n_items = sum(i.n_items for i in self.instruments)
        n_controls = sum(c.n_items for c in self.controls.values())
        return [
            f"probe run {self.run_id}: memorisation of {n_items} item(s) with {n_controls} control text(s), "
            f"{len(self.study.models)} model(s): {len(self.specs)} trials; {len(self.specs) - len(self.todo)} "
            f"already done, {len(self.todo)} to call",
            *(f"controls of {i}: {c.name.split(': ')[-1]}" for i, c in self.controls.items()),
        ]


def probe_plan(study: Study, controls: str | None = None) -> ProbePlan:
    """The probe's trials for ``study``'s models and instruments; models, keys and controls checked before any call.

    ``controls`` (an instrument id or file) gives the controls of every instrument probed;
    without it each takes the open items of its style (:func:`controls_for`).
    """
    from eitest import client
    from eitest.client import offline

    instruments = [_probed(name) for name in study.instruments]
    for model in study.models:
        if offline.is_offline(model):
            raise StudyError(
                f"{model} is an offline responder: it only chooses options, so it cannot continue a text; "
                "probe a real model (or a local server with --api-base)"
            )
        client.check_model(model, study.api_base, require_key=True, api_key_env=study.api_key_env)
    control_sets = {inst.id: control_instrument(inst, controls_for(inst, controls)) for inst in instruments}
    identity = {
        "kind": RunKind.PROBE.value,
        "probe": PROBE,
        "protocol": PROTOCOL.value,
        "protocol_version": PROTOCOL_VERSION,
        "models": study.models,
        "instruments": [i.id for i in instruments],
        "instrument_hashes": [i.content_hash for i in instruments],
        "controls": {i: c.content_hash for i, c in control_sets.items()},
        "temperature": study.temperature,
        # Only when given, so that every probe run made with the default cap keeps its id.
        **({"max_tokens": study.max_tokens} if study.max_tokens is not None else {}),
    }
    specs = [s for m in study.models for inst in instruments for s in probe_specs(m, inst, control_sets[inst.id])]
    return ProbePlan(study, run_id_of(identity), identity, instruments, control_sets, specs)


def controls_for(inst: Instrument, given: str | None = None) -> Instrument:
    """The instrument whose items are the baseline of ``inst``'s probe: ``given``, or the open set of its style.

    The open set of a published test's style is named in :data:`~eitest.probes.texts.OPEN_CONTROLS`;
    another instrument takes the open set of its shape; an open set itself has none.

    A StudyError says why when there is none fit to be one (:func:`~eitest.probes.texts.controls_problem`).
    """
    fix = (
        f"give --controls FILE: an instrument of at least {MIN_CONTROLS} items in the same style, never published "
        "(so that no model can have seen them) and that are as predictable as the items would be unseen"
    )
    name = given or OPEN_CONTROLS.get(inst.id)
    if name is None and inst.id not in OPEN_CONTROLS.values():
        # Items of the shape of an open set's (as many options, no text shared) take that set, as STEU- or STEM-like.
        name = next((o for o in sorted(set(OPEN_CONTROLS.values())) if controls_problem(inst, get(o)) is None), None)
    if name is None:
        why = (
            f"{inst.id} was written for eitest, and no other unpublished set of its style is shipped"
            if inst.id in OPEN_CONTROLS.values()
            else f"eitest ships no unpublished items in the style of {inst.id} (none of {inst.id}'s shape)"
        )
        raise StudyError(f"the memorisation probe has no baseline for {inst.id}: {why}; {fix}")
    source = get(name)
    problem = controls_problem(inst, source)
    if problem is not None:
        raise StudyError(f"{name} cannot be the memorisation probe's controls for {inst.id}: {problem}; {fix}")
    return source


def _probed(name: str) -> Instrument:
    inst = get(name)
    if inst.is_metadata_only:
        how = inst.published.obtain if inst.published else ""
        raise StudyError(f"{inst.id} has no items on this machine: its items belong to their authors. {how}")
    clash = [it.id for it in inst.items if it.id.startswith(CONTROL_PREFIX)]
    if clash:
        raise StudyError(f"{inst.id}: item ids starting {CONTROL_PREFIX!r} ({clash[0]}) are the probe's control ids")
    return inst


def run_probe(
    study: Study,
    db: str | Path,
    *,
    command: str | None = None,
    controls: str | None = None,
    on_plan: Callable[[ProbePlan], bool] | None = None,
    on_trial: Callable[[Trial], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    on_throttle: Callable[[str], None] | None = None,
    on_pace: Callable[[str, str | None], None] | None = None,
) -> RunOutcome:
    """Probe ``study``'s models for memorisation of its instruments, into the store at ``db``; resumes.

    ``controls`` names the instrument whose items are the baseline (see :func:`probe_plan`).
    ``on_plan`` sees the plan before any call and may return False to stop. The trials are
    scheduled as a study's are (:class:`~eitest.administer.scheduling.Scheduler`): ``on_note``
    sees what a first signal leaves in flight, ``on_throttle`` each drop of a model's concurrency,
    ``on_pace`` each change in why a model's calls are held back;
    SIGINT or SIGTERM stop the probe with what finished stored and ``outcome.signal`` set.
    """
    plan = probe_plan(study, controls)
    with Store(db) as store:
        store.check_intact()
        with run_lock(store.path, plan.run_id):
            plan.done = store.finished_keys(plan.run_id)
            if on_plan is not None and on_plan(plan) is False:
                return RunOutcome(
                    plan.run_id, len(plan.specs), len(plan.specs) - len(plan.todo), stopped="not confirmed"
                )
            _start(plan, store, command or f"eitest.run_probe({study.models!r}, {study.instruments!r})")
            call = paced(call_settings(study), study.concurrency, study.rpm, study.tpm, on_throttle, on_pace)
            schedule = Schedule(
                plan.run_id,
                len(plan.specs),
                plan.todo,
                functools.partial(probe_one, run_id=plan.run_id, call=call),
                call,
                study.concurrency,
            )
            outcome = run_coroutine(Scheduler(schedule, store, on_trial, on_note).run())
            if not outcome.stopped and outcome.failed == 0:
                store.mark_run(plan.run_id, finished=True)
            return outcome


def _start(plan: ProbePlan, store: Store, command: str) -> None:
    """Record the run (if new), snapshot the instruments and their controls, and mark it started."""
    study = plan.study
    config = {**plan.identity, "api_base": study.api_base, "concurrency": study.concurrency}
    hashes = {i.id: i.content_hash for i in plan.instruments}
    # A reasoning model's continuation gets room to reason (eitest.client.reasoning), on record as a study's is.
    raised = raised_caps(study.models, call_settings(study), MAX_REPLY_TOKENS)
    if store.ensure_run(new_run_record(plan.run_id, {**config, "max_tokens_raised": raised}, hashes, command)):
        store.add_to_config(plan.run_id, "max_tokens_raised", raised)
    store.save_instruments([*plan.instruments, *plan.controls.values()])
    store.mark_run(plan.run_id, started=True)
