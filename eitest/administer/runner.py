"""Administer a study: every trial of its plan, once each, saved as it finishes.

Running the same study again resumes its run: finished trials are skipped, failed
ones are called again. One process at a time runs a study on a store (a lock beside
the store), and a damaged store gets no trials added. The work of one trial is
:func:`~eitest.administer.one_trial.administer_one`; this module schedules it, saves
what it returns and keeps to the budget.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eitest.administer import batch
from eitest.administer.one_trial import RunSettings, administer_one, temperature_manifest
from eitest.administer.plan import Plan, TrialKey, TrialSpec, estimate_usage, make_plan
from eitest.administer.provenance import dist_version, git_revision, python_call
from eitest.administer.study import Study, run_id_of
from eitest.client.event_loop import older_objects_frozen, run_coroutine, signals_to
from eitest.client.pacing import Pacing
from eitest.client.refusals import ProviderRefused, Refusal, refusal
from eitest.errors import EitestError
from eitest.secrets import redact_url
from eitest.store import RunRecord, Store, now
from eitest.store.lock import run_lock
from eitest.store.trial import Trial, storable_text
from eitest.store.trial_writes import GroupCommit
from eitest.version import __version__
from eitest.vocabulary import BatchRetry, Status


class BudgetExceeded(EitestError):
    pass


# After a first SIGINT or SIGTERM the calls in flight get this long to finish (they are paid for); a second abandons them.
GRACE_S = 5.0


@dataclass
class RunOutcome:
    run_id: str
    planned: int
    skipped: int
    called: int = 0
    failed: int = 0
    cost: float = 0.0
    stopped: str | None = None
    throttled: int = 0  # replies refused with 429 (waited out, not counted as failures)
    notes: list[str] = field(default_factory=list)  # what the user should know, e.g. a changed base URL
    signal: str | None = None  # "SIGINT" or "SIGTERM" when a signal stopped the run

    @property
    def stored(self) -> int:
        """The plan's trials in the store now: those done before this run and those it saved."""
        return self.skipped + self.called


class _Administration:
    """The workers of one run and what stops them: the budget, a signal, or a provider's refusal.

    A refusal (:mod:`eitest.client.refusals`) stops the run at once: the calls in flight are
    abandoned and the refused trial is not stored, so every trial not stored stays to do.
    SIGINT or SIGTERM stop the workers taking trials; those in flight get :data:`GRACE_S` to
    finish, or none after a second signal.
    """

    def __init__(
        self,
        plan: Plan,
        store: Store,
        on_trial: Callable[[Trial], None] | None,
        on_note: Callable[[str], None] | None,
        on_throttle: Callable[[str], None] | None = None,
    ) -> None:
        self.plan, self.store, self.on_trial, self.on_note = plan, store, on_trial, on_note
        study = plan.study
        # Each model's calls pass one pacer (eitest.client.pacing): fewer than `concurrency` are in
        # flight while its provider rate-limits, and `rpm` / `tpm` hold.
        self.pacing = Pacing(study.concurrency, study.rpm, study.tpm, on_throttle)
        settings = RunSettings.for_plan(plan)
        self.settings = dataclasses.replace(settings, call=dataclasses.replace(settings.call, pacing=self.pacing))
        todo = plan.todo
        self.outcome = RunOutcome(plan.run_id, len(plan.trials), len(plan.trials) - len(todo))
        self.queue: asyncio.Queue[TrialSpec] = asyncio.Queue()
        for spec in todo:
            self.queue.put_nowait(spec)
        self.signal: str | None = None
        self.refused: Refusal | None = None
        self.in_flight = 0
        self.workers: list[asyncio.Task[None]] = []
        # Trials that finish in the same turn of the loop share one commit, made as the turn ends.
        self.writes = GroupCommit(store)
        self.write_error: Exception | None = None

    async def run(self) -> RunOutcome:
        n = min(self.plan.study.concurrency, max(1, self.queue.qsize()))
        self.workers = [asyncio.create_task(self._worker()) for _ in range(n)]
        try:
            # The collector walks only what the run makes, not litellm's and the plan's objects (0.25 s a full walk).
            with signals_to(self._on_signal), older_objects_frozen():
                ended = await asyncio.gather(*self.workers, return_exceptions=True)
        finally:
            self._commit()  # whatever ended the run, what finished is kept
        if self.write_error is not None:
            raise self.write_error
        for result in ended:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result
        outcome = self.outcome
        if self.refused is not None:
            raise ProviderRefused(
                f"{self.refused}; {outcome.stored} of {outcome.planned} trials stored (run {outcome.run_id}), "
                "no further calls made"
                + ("; fix it and re-run the same command to call the rest" if self.refused.rerun else "")
            )
        if self.signal is not None:
            outcome.signal, outcome.stopped = self.signal, f"by {self.signal}"
        outcome.throttled = self.pacing.throttled_count
        return outcome

    async def _worker(self) -> None:
        outcome, limit = self.outcome, self.plan.study.max_cost
        while self.signal is None and self.refused is None:
            if limit is not None and outcome.cost >= limit:
                outcome.stopped = f"spent ${outcome.cost:.4f}, reaching --max-cost ${limit:.4f}"
                return
            try:
                spec = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            self.in_flight += 1
            try:
                trial = await administer_one(spec, self.settings)
            finally:
                self.in_flight -= 1
            if trial.status == Status.ERROR and (refused := refusal(spec.model, trial.error, self.settings.call)):
                self.refused = self.refused or refused
                self._abandon()
                return
            self._save(trial)
            outcome.called += 1
            outcome.failed += trial.status == Status.ERROR
            outcome.cost += trial.cost or 0.0
            if self.on_trial is not None:
                self.on_trial(trial)

    def _save(self, trial: Trial) -> None:
        """Save ``trial``, committed as this turn of the loop ends: a killed run loses only the calls in flight."""
        if self.write_error is not None:
            raise self.write_error
        if not self.writes.pending:
            asyncio.get_running_loop().call_soon(self._commit)
        self.writes.save(trial)

    def _commit(self) -> None:
        try:
            self.writes.commit()
        except Exception as exc:  # a full disk: the run stops with it, the trials not committed stay to do
            if self.write_error is None:
                self.write_error = exc
            self._abandon()

    def _on_signal(self, sig: signal.Signals) -> None:
        if self.signal is not None:
            self._abandon()
            return
        self.signal = sig.name
        if self.in_flight and self.on_note is not None:
            again = "press Ctrl-C again" if sig == signal.SIGINT else f"send {sig.name} again"
            self.on_note(
                f"{sig.name}: no new calls; waiting up to {GRACE_S:g} s for the {self.in_flight} in flight "
                f"({again} to abandon them)"
            )
        asyncio.get_running_loop().call_later(GRACE_S, self._abandon)

    def _abandon(self) -> None:
        """Cancel the calls in flight (not the caller's own): what is stored stays, the rest stays to do."""
        me = asyncio.current_task()
        for task in self.workers:
            if task is not me:
                task.cancel()


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
) -> RunOutcome:
    """Administer ``study`` into the store at ``db``, resuming a run of the same study.

    ``on_plan`` sees the plan before any call and may return False to stop; a plan
    whose estimated cost exceeds ``study.max_cost`` is refused with :class:`BudgetExceeded`.
    ``command`` is what the run records as how it was started (the CLI gives its command
    line); without it, the run records this call with the study's fields and where it ran.
    ``on_note`` sees each note as it arises (they are also in the outcome's ``notes``);
    ``on_throttle`` sees a line each time a provider's 429s lower a model's concurrency.
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
            if study.batch and (pending := batch.pending_keys(plan, store)):
                plan.done |= pending  # paid for when submitted: not estimated, nor submitted, again
                plan.pending = len(pending)
                if on_note is not None:
                    on_note(f"{len(pending)} trial(s) are in batches submitted before; polling them again")
            if on_plan is not None or study.max_cost is not None:  # a tokenizer pass per item: only when read
                estimate_usage(plan)
            _check_budget(plan)
            if on_plan is not None and on_plan(plan) is False:
                planned, skipped = len(plan.trials), len(plan.trials) - len(plan.todo)
                return RunOutcome(plan.run_id, planned, skipped, stopped="not confirmed", notes=notes)
            _start(plan, store, command or python_call(study, db))
            if study.batch:
                outcome = _batched(plan, store, on_trial, on_note, on_throttle, on_batch)
            else:
                outcome = run_coroutine(_Administration(plan, store, on_trial, on_note, on_throttle).run())
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
    live = _Administration(plan, store, on_trial, on_note, on_throttle)
    live.outcome.cost = done.cost  # --max-cost counts what the batches cost
    retried = run_coroutine(live.run())
    outcome.called += retried.called
    outcome.failed, outcome.cost, outcome.throttled = retried.failed, retried.cost, retried.throttled
    outcome.stopped, outcome.signal = retried.stopped, retried.signal
    return outcome


def _resume(plan: Plan, store: Store) -> list[str]:
    """Find the run of this study in the store (made before the base URL left the identity, too); notes on it."""
    if not store.has_run(plan.run_id):
        legacy = run_id_of(plan.study.legacy_identity(plan.hashes))
        if store.has_run(legacy):
            plan.run_id = legacy
    if not store.has_run(plan.run_id):
        return []
    before = store.run(plan.run_id).config.get("api_base")
    now_base = redact_url(plan.study.api_base) if plan.study.api_base else None
    if before == now_base:
        return []
    endpoint = "the providers' own endpoints"
    return [f"this run was made against {before or endpoint}; now calling {now_base or endpoint}"]


def _finished(plan: Plan, store: Store) -> set[TrialKey]:
    """The plan's trials finished in the store (its keys compared as the store holds text: made storable)."""
    stored = store.finished_keys(plan.run_id)
    return {t.key for t in plan.trials if (*map(storable_text, t.key[:3]), t.key[3]) in stored}


def _start(plan: Plan, store: Store, command: str) -> None:
    """Record the run (if new), snapshot its instruments, and mark it started."""
    from eitest.client import litellm_module, redact

    study = plan.study
    revision, dirty = git_revision()
    litellm = litellm_module()
    store.ensure_run(
        RunRecord(
            id=plan.run_id,
            config={
                **plan.identity,
                "api_base": study.api_base,  # where the calls went; the store blanks its credentials
                "concurrency": study.concurrency,
                "max_cost": study.max_cost,
                **temperature_manifest(plan),  # models that get no temperature, and why
                "rpm": study.rpm,
                "tpm": study.tpm,
                **({"batch": True, "batch_retry": study.batch_retry} if study.batch else {}),
            },
            instrument_hashes=plan.hashes,
            eitest_version=__version__,
            litellm_version=getattr(litellm, "__version__", None) or dist_version("litellm"),
            git_revision=revision,
            git_dirty=dirty,
            command=redact(command),
            created_at=now(),
            started_at=None,
            finished_at=None,
        )
    )
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
