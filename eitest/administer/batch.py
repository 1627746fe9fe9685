"""Batch mode: a plan's trials through the provider's batch API, submitted once, polled, and stored as the live path stores them.

The trials not yet stored go out as one batch per model (OpenAI takes one model per
batch), each recorded in the store (:mod:`eitest.store.batches`) before each step with
the provider: the intent before the upload, its input file before the batch is
created, and the batch id the moment the provider accepts it. A run killed between
two steps is finished by the next: a batch the provider made of the recorded file is
found in its list of batches and polled, a file without a batch is sent as a batch,
and an intent whose upload went unrecorded is sent afresh. Each batch carries metadata
naming its run and part (``eitest_run``, ``eitest_part``). The run then polls until
every open batch has ended, or until its wait is up or a signal stops it; a re-run of
the same study finds the open batches and polls them again instead of submitting
anything twice. Each result line becomes a trial
through :func:`~eitest.administer.one_trial.trial_from_reply`, the same step as a live
reply. Lines that failed or expired are stored as failed trials; the study's
``batch_retry`` says whether they go out again in a new batch here, or live (done by the
runner), or are left to a re-run.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from eitest.administer.one_trial import RunSettings, response_format, trial_from_reply, trial_messages
from eitest.administer.plan import Plan, TrialKey, TrialSpec
from eitest.client import CallResult
from eitest.client import batches as door
from eitest.client.event_loop import signals_to
from eitest.client.logprobs import top_logprobs_for
from eitest.store import Store, now
from eitest.store import batches as kept
from eitest.store.trial import Trial
from eitest.vocabulary import BatchRetry, Status

# Lines of one batch, at most (OpenAI's limit per batch file).
MAX_LINES = 50_000
# Batches sent in one run: the first, and new ones for failed lines (batch_retry: batch); then a re-run's turn.
MAX_ROUNDS = 3


@dataclass
class BatchOutcome:
    """What the batch part of a run did: lines stored, failed among them, their cost, and why it stopped early."""

    called: int = 0
    failed: int = 0
    cost: float = 0.0
    stopped: str | None = None
    signal: str | None = None


def custom_id(spec: TrialSpec) -> str:
    """The line's id: the trial's key (model, instrument, item, repetition) as a JSON list, readable and unambiguous."""
    return json.dumps([spec.model, spec.instrument.id, spec.item.id, spec.repetition], ensure_ascii=False)


def pending_keys(plan: Plan, store: Store) -> set[TrialKey]:
    """The plan's trials carried by batches submitted before and not yet collected (paid for then, not again).

    With them, those of an intent whose file was uploaded: the provider may have made a
    batch of it before the run that sent it was killed (found again by :meth:`BatchAdministration.run`).
    """
    pending = _pending_ids(store, plan.run_id)
    return {t.key for t in plan.trials if custom_id(t) in pending} if pending else set()


def _pending_ids(store: Store, run_id: str) -> set[str]:
    sent = [b.custom_ids for b in kept.run_batches(store, run_id, open_only=True)]
    sent += [i.custom_ids for i in kept.run_intents(store, run_id) if i.input_file_id is not None]
    return {cid for ids in sent for cid in ids}


class BatchAdministration:
    """The batches of one run: submit what is to do, poll the open ones, store their lines as trials."""

    def __init__(
        self,
        plan: Plan,
        store: Store,
        settings: RunSettings,
        finished: Callable[[], set[TrialKey]],
        on_trial: Callable[[Trial], None] | None = None,
        on_note: Callable[[str], None] | None = None,
    ) -> None:
        self.plan, self.store, self.settings = plan, store, settings
        self.finished, self.on_trial = finished, on_trial
        self.note = on_note or (lambda _text: None)
        self.by_id = {custom_id(t): t for t in plan.trials}
        self.outcome = BatchOutcome()
        self.failed_keys: set[TrialKey] = set()  # the trials whose latest line failed
        self.stop = asyncio.Event()
        self.states: dict[str, door.BatchState] = {}  # each batch's state when it ended

    async def run(self) -> BatchOutcome:
        with signals_to(self._on_signal):
            await self._reattach()
            for _round in range(MAX_ROUNDS):
                if not await self._submit_todo():
                    break
                open_ = kept.run_batches(self.store, self.plan.run_id, open_only=True)
                if not open_ or not await self._wait(open_):
                    break
                failed_now = [await self._collect(record) for record in open_]
                if not any(failed_now) or self.plan.study.batch_retry != BatchRetry.BATCH:
                    break
        return self.outcome

    def _on_signal(self, sig: signal.Signals) -> None:
        # Nothing is in flight but a poll: the batches stay with the provider, and a re-run re-attaches.
        self.outcome.signal = sig.name
        self.outcome.stopped = f"by {sig.name}"
        self.stop.set()

    async def _reattach(self) -> None:
        """Finish the intents a killed run left: find the batch the provider made of each file, or send it now."""
        done = self.finished()
        for intent in kept.run_intents(self.store, self.plan.run_id):
            if self.stop.is_set():
                return
            file_id = intent.input_file_id
            if file_id is not None:
                since = datetime.fromisoformat(intent.recorded_at).timestamp()
                found = await door.find(intent.model, self.settings.call, file_id, since)
                if found is not None:
                    accepted = datetime.fromtimestamp(found.created_at, UTC).isoformat(timespec="milliseconds")
                    at = accepted if found.created_at else now()
                    kept.mark_submitted(self.store, intent.run_id, intent.part, found.id, at, found.status)
                    self.note(
                        f"batch {found.id}: found at the provider, made of input file {file_id} before the run "
                        "stopped; polling it"
                    )
                    continue
            specs = [self.by_id.get(cid) for cid in intent.custom_ids]
            if file_id is None or any(s is None or s.key in done for s in specs):
                # Nothing the provider runs: the trials go out afresh with the rest (the file, if any, holds others).
                kept.drop_intent(self.store, intent.run_id, intent.part, now())
                continue
            await self._send(intent, [s for s in specs if s is not None])

    async def _submit_todo(self) -> bool:
        """Send the trials neither stored nor in an open batch; False when a signal came first."""
        pending = _pending_ids(self.store, self.plan.run_id)
        done = self.finished()
        todo = [t for t in self.plan.trials if t.key not in done and custom_id(t) not in pending]
        by_model: dict[str, list[TrialSpec]] = {}
        for spec in todo:
            by_model.setdefault(spec.model, []).append(spec)
        for model, specs in by_model.items():
            for start in range(0, len(specs), MAX_LINES):
                if self.stop.is_set():
                    return False
                chunk = specs[start : start + MAX_LINES]
                intent = kept.record_intent(self.store, self.plan.run_id, model, [custom_id(s) for s in chunk], now())
                await self._send(intent, chunk)
        return not self.stop.is_set()

    async def _send(self, intent: kept.BatchIntent, specs: list[TrialSpec]) -> None:
        """Upload the intent's lines (unless uploaded before) and start its batch, each step recorded as it is done."""
        run, model = self.settings, intent.model
        file_id = intent.input_file_id
        if file_id is None:
            lines = [
                door.request_line(
                    custom_id(s),
                    model,
                    trial_messages(s, run),
                    run.call,
                    response_format=response_format(s, run),
                    max_tokens=run.protocol.max_tokens,
                    top_logprobs=top_logprobs_for(model) if run.protocol.logprobs else None,
                )
                for s in specs
            ]
            name = re.sub(r"[^A-Za-z0-9._-]+", "_", f"eitest-{intent.run_id}-{intent.part}") + ".jsonl"
            file_id = await door.upload(model, lines, run.call, name)
            kept.mark_uploaded(self.store, intent.run_id, intent.part, file_id)
        tags = {"eitest_run": intent.run_id, "eitest_part": intent.part}
        batch_id = await door.create(model, file_id, run.call, tags)
        # Kept before anything else happens: from here a killed run re-attaches to it.
        kept.mark_submitted(self.store, intent.run_id, intent.part, batch_id, now())
        self.note(f"batch {batch_id}: {len(specs)} trial(s) of {model} submitted (input file {file_id})")

    async def _wait(self, records: list[kept.BatchRecord]) -> bool:
        """Poll until every batch has ended (True), or the wait is up or a signal came (False, the reason kept)."""
        loop = asyncio.get_running_loop()
        wait_s = self.plan.study.batch_wait_s
        deadline = None if wait_s is None else loop.time() + wait_s
        seen: dict[str, door.BatchState] = {}
        while True:
            for record in records:
                if record.id in seen and seen[record.id].ended:
                    continue
                state = await door.retrieve(record.model, record.id, self.settings.call)
                if seen.get(record.id) != state:
                    kept.update_batch(self.store, record.id, state.status, state.output_file_id, state.error_file_id)
                    self.note(_progress(record, state))
                seen[record.id] = state
            if all(s.ended for s in seen.values()):
                self.states.update(seen)
                return True
            if self.stop.is_set():
                return False
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                waiting = ", ".join(f"{r.id} ({seen[r.id].status})" for r in records if not seen[r.id].ended)
                self.outcome.stopped = (
                    f"waited {wait_s:g} s for batch {waiting}; re-run the same command to collect its results"
                )
                return False
            pause = self.plan.study.batch_poll_s if left is None else min(self.plan.study.batch_poll_s, left)
            try:
                await asyncio.wait_for(self.stop.wait(), pause)
            except TimeoutError:
                pass

    async def _collect(self, record: kept.BatchRecord) -> int:
        """Store every line of an ended batch as a trial (a line missing from its files failed), then close it.

        Returns how many of its lines failed. The outcome counts the trials failed now: a
        line that failed in one batch and was answered in the next is no failure.
        """
        state = self.states[record.id]
        lines = await door.results(record.model, state, self.settings.call)
        done, failed = self.finished(), 0
        for cid in record.custom_ids:
            spec = self.by_id.get(cid)
            if spec is None or spec.key in done:
                continue
            line = lines.get(cid)
            result = line.result if line is not None else _missing(state.status)
            trial = trial_from_reply(
                spec,
                self.settings,
                result,
                messages=trial_messages(spec, self.settings),
                started_at=record.submitted_at,
            )
            self.store.save_trial(trial)  # committed at once, as a live trial is
            self.outcome.called += 1
            if trial.status == Status.ERROR:
                self.failed_keys.add(spec.key)
                failed += 1
            else:
                self.failed_keys.discard(spec.key)
            self.outcome.failed = len(self.failed_keys)
            self.outcome.cost += trial.cost or 0.0
            if self.on_trial is not None:
                self.on_trial(trial)
        kept.mark_collected(self.store, record.id, now())
        return failed


def _missing(status: str) -> CallResult:
    """A line the batch ended without: it did not run (expired, cancelled, or a batch that failed validation)."""
    error = f"BatchLine: batch ended {status} before this line ran"
    return CallResult(attempts=1, error=error, errors=[error])


def _progress(record: kept.BatchRecord, state: door.BatchState) -> str:
    total = state.total or len(record.custom_ids)
    return f"batch {record.id} ({record.model}): {state.status}, {state.completed} of {total} done" + (
        f", {state.failed} failed" if state.failed else ""
    )
