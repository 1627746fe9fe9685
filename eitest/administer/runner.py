"""Administer a study: every trial of its plan, once each, saved as it finishes.

Running the same study again resumes its run: finished trials are skipped, failed
ones are called again. One process at a time runs a study on a store (a lock beside
the store), and a damaged store gets no trials added. The work of one trial is
:func:`~eitest.administer.one_trial.administer_one`; this module plans and records the
run and keeps to the budget, and :mod:`eitest.administer.scheduling` schedules the trials
and saves what they return.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eitest.administer import batch
from eitest.administer.one_trial import RunSettings, administer_one, temperature_manifest
from eitest.administer.plan import Plan, TrialKey, TrialSpec, estimate_usage, make_plan
from eitest.administer.provenance import new_run_record, python_call
from eitest.administer.scheduling import RunOutcome, Schedule, Scheduler, paced
from eitest.administer.study import Study, run_id_of
from eitest.client.event_loop import run_coroutine
from eitest.client.reasoning import NOT_SENT, refused_temperature, remember_refusal
from eitest.errors import EitestError
from eitest.secrets import redact_url
from eitest.store import Store
from eitest.store.lock import run_lock
from eitest.store.trial import Trial, storable_text
from eitest.vocabulary import BatchRetry


class BudgetExceeded(EitestError):
    pass


def _administration(
    plan: Plan,
    store: Store,
    on_trial: Callable[[Trial], None] | None,
    on_note: Callable[[str], None] | None,
    on_throttle: Callable[[str], None] | None = None,
    on_pace: Callable[[str, str | None], None] | None = None,
) -> Scheduler[TrialSpec]:
    """The scheduler of ``plan``'s live calls: each trial is :func:`administer_one` with the run's settings."""
    study = plan.study
    settings = RunSettings.for_plan(plan)
    call = paced(settings.call, study.concurrency, study.rpm, study.tpm, on_throttle, on_pace)
    settings = dataclasses.replace(settings, call=call)
    schedule = Schedule(
        plan.run_id,
        len(plan.trials),
        plan.todo,
        functools.partial(administer_one, run=settings),
        call,
        study.concurrency,
        study.max_cost,
    )
    return Scheduler(schedule, store, on_trial, on_note)


def run_study(
    study: Study,
    db: str | Path,
    *,
    command: str | None = None,
    on_plan: Callable[[Plan], bool] | None = None,
    on_trial: Callable[[Trial], None] | None = None,
    on_note: Callable[[str], None] | None = None,
    on_throttle: Callable[[str], None] | None = None,
    on_batch: Callable[[str], None] | None = None,
    on_pace: Callable[[str, str | None], None] | None = None,
) -> RunOutcome:
    """Administer ``study`` into the store at ``db``, resuming a run of the same study.

    ``on_plan`` sees the plan before any call and may return False to stop; a plan
    whose estimated cost exceeds ``study.max_cost`` is refused with :class:`BudgetExceeded`.
    ``command`` is what the run records as how it was started (the CLI gives its command
    line); without it, the run records this call with the study's fields and where it ran.
    ``on_note`` sees each note as it arises (they are also in the outcome's ``notes``);
    ``on_throttle`` sees a line each time a provider's 429s lower a model's concurrency, and
    ``on_pace`` each change in why a model's calls are held back (None: they are not).
    With ``study.batch`` the trials go through the provider's batch API
    (:mod:`eitest.administer.batch`), and ``on_batch`` sees each submission and poll.

    Another process running the same study on the same store makes this fail at once
    (:class:`~eitest.store.lock.StoreBusy`), and so does a damaged store. A provider that
    refuses the key, access or the model stops the run with :class:`ProviderRefused`;
    SIGINT or SIGTERM stop it with what was finished stored and ``outcome.signal`` set.
    """
    if study.batch:  # first: no key or instrument can make a provider without a batch API take one
        from eitest.client.batches import check_batch_models

        check_batch_models(study.models, study.api_base)
    plan = make_plan(study, estimate=False)  # checks models and instruments before anything is written
    with Store(db) as store:
        store.check_intact()
        notes = _resume(plan, store)
        with run_lock(store.path, plan.run_id):
            for note in notes:
                if on_note is not None:
                    on_note(note)
            plan.done = _finished(plan, store)
            if pending := batch.pending_keys(plan, store):
                plan.done |= pending  # paid for when submitted: not estimated, submitted nor called again
                plan.pending = len(pending)
                if on_note is not None:
                    on_note(
                        f"{len(pending)} trial(s) are in batches submitted before; polling them again"
                        if study.batch
                        else f"{len(pending)} trial(s) are in batches submitted before, so they are not called live "
                        "(that would pay for them twice); run the same command with --batch to collect them"
                    )
            if on_plan is not None or study.max_cost is not None:  # a tokenizer pass per item: only when read
                estimate_usage(plan)
            _check_budget(plan)
            if on_plan is not None and on_plan(plan) is False:
                planned, skipped = len(plan.trials), len(plan.trials) - len(plan.todo)
                return RunOutcome(plan.run_id, planned, skipped, stopped="not confirmed", notes=notes)
            _start(plan, store, command or python_call(study, db))
            try:
                if study.batch:
                    outcome = _batched(plan, store, on_trial, on_note, on_throttle, on_batch, on_pace)
                else:
                    live = _administration(plan, store, on_trial, on_note, on_throttle, on_pace)
                    outcome = run_coroutine(live.run())
            finally:  # however the run ended, its config says which servers refused the temperature
                refused = {m: NOT_SENT for m in study.models if refused_temperature(m, study.api_base)}
                if refused and study.temperature is not None:
                    store.add_to_config(plan.run_id, "temperature_not_sent", refused)
            outcome.notes = notes
            if not outcome.stopped and outcome.failed == 0:
                store.mark_run(plan.run_id, finished=True)
            return outcome


def _batched(
    plan: Plan,
    store: Store,
    on_trial: Callable[[Trial], None] | None,
    on_note: Callable[[str], None] | None,
    on_throttle: Callable[[str], None] | None,
    on_batch: Callable[[str], None] | None,
    on_pace: Callable[[str, str | None], None] | None,
) -> RunOutcome:
    """The run through the batch API; then, with ``batch_retry: live``, its failed lines called live."""
    skipped = len(plan.trials) - len(plan.todo) - plan.pending
    settings = RunSettings.for_plan(plan)
    batches = batch.BatchAdministration(plan, store, settings, lambda: _finished(plan, store), on_trial, on_batch)
    done = run_coroutine(batches.run())
    outcome = RunOutcome(plan.run_id, len(plan.trials), skipped, done.called, done.failed, done.cost, done.stopped)
    outcome.signal = done.signal
    plan.done = _finished(plan, store)
    if done.stopped or plan.study.batch_retry != BatchRetry.LIVE or not plan.todo:
        return outcome
    if on_batch is not None:
        on_batch(f"calling the {len(plan.todo)} failed line(s) live")
    live = _administration(plan, store, on_trial, on_note, on_throttle, on_pace)
    live.outcome.cost = done.cost  # --max-cost counts what the batches cost
    retried = run_coroutine(live.run())
    outcome.called += retried.called
    outcome.failed, outcome.cost, outcome.throttled = retried.failed, retried.cost, retried.throttled
    outcome.stopped, outcome.signal = retried.stopped, retried.signal
    return outcome


def _resume(plan: Plan, store: Store) -> list[str]:
    """Find the run of this study in the store (made before the base URL left the identity, too); notes on it.

    Resumed at the same address, the models its config says were sent no temperature are sent none again.
    """
    if not store.has_run(plan.run_id):
        legacy = run_id_of(plan.study.legacy_identity(plan.hashes))
        if store.has_run(legacy):
            plan.run_id = legacy
    if not store.has_run(plan.run_id):
        return []
    config = store.run(plan.run_id).config
    before = config.get("api_base")
    now_base = redact_url(plan.study.api_base) if plan.study.api_base else None
    if before == now_base:
        # A server that refused the temperature in an earlier process is not sent it again (batch lines
        # stored as failed would fail the same way).
        for model in set(config.get("temperature_not_sent") or {}) & set(plan.study.models):
            remember_refusal(model, plan.study.api_base)
        return []
    endpoint = "the providers' own endpoints"
    return [f"this run was made against {before or endpoint}; now calling {now_base or endpoint}"]


def _finished(plan: Plan, store: Store) -> set[TrialKey]:
    """The plan's trials finished in the store (its keys compared as the store holds text: made storable)."""
    stored = store.finished_keys(plan.run_id)
    return {t.key for t in plan.trials if (*map(storable_text, t.key[:3]), t.key[3]) in stored}


def _start(plan: Plan, store: Store, command: str) -> None:
    """Record the run (if new), snapshot its instruments, and mark it started."""
    study = plan.study
    config = {
        **plan.identity,
        "api_base": study.api_base,  # where the calls went; the store blanks its credentials
        "concurrency": study.concurrency,
        "max_cost": study.max_cost,
        "rpm": study.rpm,
        "tpm": study.tpm,
        **({"batch": True, "batch_retry": study.batch_retry} if study.batch else {}),
    }
    # Models without a temperature, and reasoning models' raised caps: what this code sends, on record
    # for a resumed run too (a run begun by an earlier eitest may have sent otherwise).
    learned: dict[str, dict[str, Any]] = {**temperature_manifest(plan)}
    if raised := plan.raised_caps:
        learned["max_tokens_raised"] = dict(raised)
    if store.ensure_run(new_run_record(plan.run_id, {**config, **learned}, plan.hashes, command)):
        for key, entries in learned.items():
            store.add_to_config(plan.run_id, key, entries)
    store.save_instruments(list({ts.instrument.id: ts.instrument for ts in plan.trials}.values()))
    store.mark_run(plan.run_id, started=True)


def _check_budget(plan: Plan) -> None:
    limit = plan.study.max_cost
    if limit is None:
        return
    total = plan.total_cost
    if total is None:
        raise BudgetExceeded(
            f"cannot hold the run to --max-cost ${limit:g}: litellm has no price for "
            + ", ".join(m for m, c in plan.estimate_cost.items() if c is None)
        )
    if total > limit:
        raise BudgetExceeded(f"estimated cost ${total:.4f} exceeds --max-cost ${limit:g}; nothing was called")
