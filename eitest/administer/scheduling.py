"""The scheduling of a run's live calls: one owner for a study's trials and a probe's alike.

A :class:`Schedule` says what a run has to do (its trials not yet stored, and the one async
function that makes a trial of one of them) and what holds it back (concurrency, the pacers
in its call settings, a budget). :class:`Scheduler` runs it: workers take the trials, each
finished trial is committed as the loop's turn ends (:class:`~eitest.store.trial_writes.GroupCommit`),
and the run stops on its budget, a provider's refusal, or SIGINT/SIGTERM with a grace period.
Nothing here knows what a trial asks: :mod:`eitest.administer.runner` gives it a study's
trials, :mod:`eitest.probes.running` a probe's.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from eitest.client import CallSettings
from eitest.client.event_loop import fewer_young_collections, older_objects_frozen, signals_to
from eitest.client.pacing import Pacing
from eitest.client.refusals import ProviderRefused, Refusal, refusal
from eitest.store import Store
from eitest.store.trial import Trial
from eitest.store.trial_writes import GroupCommit
from eitest.vocabulary import Status

# After a first SIGINT or SIGTERM the calls in flight get this long to finish (they are paid for); a second abandons them.
GRACE_S = 5.0


class Work(Protocol):
    """A trial to make: all the scheduler reads of it is the model it calls (refusals are per model)."""

    @property
    def model(self) -> str: ...


W = TypeVar("W", bound=Work)


@dataclass
class RunOutcome:
    """What one run did: its trials planned, stored before, called now, failed, their cost, and what stopped it."""

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


@dataclass(frozen=True)
class Schedule(Generic[W]):
    """What one run's scheduler does: ``administer`` each of ``todo``, at most ``concurrency`` at once."""

    run_id: str
    planned: int  # the run's trials, those stored before included
    todo: Sequence[W]
    administer: Callable[[W], Awaitable[Trial]]  # one trial; a failed call is a trial with status error
    call: CallSettings  # how the calls are made, the run's pacers included: a refusal is read against it
    concurrency: int
    max_cost: float | None = None  # USD; the workers stop taking trials once it is spent


def paced(
    call: CallSettings,
    concurrency: int,
    rpm: int | dict[str, int] | None,
    tpm: int | dict[str, int] | None,
    on_throttle: Callable[[str], None] | None,
    on_pace: Callable[[str, str | None], None] | None = None,
) -> CallSettings:
    """``call`` with the run's pacers, one per model (:mod:`eitest.client.pacing`).

    Fewer than ``concurrency`` of a model's calls are in flight while its provider rate-limits,
    ``rpm`` / ``tpm`` hold, ``on_throttle`` sees a line each time a 429 lowers the concurrency,
    and ``on_pace`` each change in why a model's calls are held back.
    """
    return dataclasses.replace(call, pacing=Pacing(concurrency, rpm, tpm, on_throttle, on_pace))


class Scheduler(Generic[W]):
    """The workers of one run and what stops them: the budget, a signal, or a provider's refusal.

    A refusal (:mod:`eitest.client.refusals`) stops the run at once: the calls in flight are
    abandoned and the refused trial is not stored, so every trial not stored stays to do.
    SIGINT or SIGTERM stop the workers taking trials; those in flight get :data:`GRACE_S` to
    finish, or none after a second signal.
    """

    def __init__(
        self,
        schedule: Schedule[W],
        store: Store,
        on_trial: Callable[[Trial], None] | None,
        on_note: Callable[[str], None] | None,
    ) -> None:
        self.schedule, self.store, self.on_trial, self.on_note = schedule, store, on_trial, on_note
        self.outcome = RunOutcome(schedule.run_id, schedule.planned, schedule.planned - len(schedule.todo))
        self.queue: asyncio.Queue[W] = asyncio.Queue()
        for spec in schedule.todo:
            self.queue.put_nowait(spec)
        self.signal: str | None = None
        self.refused: Refusal | None = None
        self.in_flight = 0
        self.workers: list[asyncio.Task[None]] = []
        # Trials that finish in the same turn of the loop share one commit, made as the turn ends.
        self.writes = GroupCommit(store)
        self.write_error: Exception | None = None

    async def run(self) -> RunOutcome:
        n = min(self.schedule.concurrency, max(1, self.queue.qsize()))
        self.workers = [asyncio.create_task(self._worker()) for _ in range(n)]
        try:
            # The collector walks only what the run makes, not litellm's and the plan's objects (0.25 s a full walk),
            # and walks the young objects a fourteenth as often (eitest.client.event_loop).
            with signals_to(self._on_signal), older_objects_frozen(), fewer_young_collections():
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
        pacing = self.schedule.call.pacing
        outcome.throttled = pacing.throttled_count if pacing is not None else 0
        return outcome

    async def _worker(self) -> None:
        outcome, limit = self.outcome, self.schedule.max_cost
        administer, call = self.schedule.administer, self.schedule.call
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
                trial = await administer(spec)
            finally:
                self.in_flight -= 1
            if trial.status == Status.ERROR and (refused := refusal(spec.model, trial.error, call)):
                self.refused = self.refused or refused
                self._abandon()
                return
            self._save(trial)
            outcome.called += 1
            outcome.failed += trial.status == Status.ERROR
            outcome.cost += trial.cost or 0.0
            if self.on_trial is not None:
                self.on_trial(trial)
            # Yield once before the next call. litellm prepares each request in the loop's thread pool
            # (run_in_executor; eitest.client.preparation makes it inline for some providers); started in the
            # same step as this reply, that work runs while the loop still has replies to read, and the two
            # contend for the GIL (our reading of profiles, made before that change: the loop's thread was
            # switched out three times as often). Measured with bench_runner at 32 connections, 100 ms:
            # eitest's wall time over a bare litellm loop went from 1.28 to 1.02-1.12 (three runs).
            await asyncio.sleep(0)

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
