"""The scheduler's workers hand the event loop a turn between one trial and the next."""

from __future__ import annotations

import asyncio
from pathlib import Path

from eitest.administer.one_trial import RunSettings, trial_from_reply
from eitest.administer.plan import TrialSpec, make_plan
from eitest.administer.provenance import new_run_record
from eitest.administer.scheduling import Schedule, Scheduler
from eitest.administer.study import Study
from eitest.client import CallResult, CallSettings
from eitest.store import Store, now
from eitest.store.trial import Trial


def test_a_worker_lets_the_loop_turn_before_it_starts_its_next_trial(tmp_path: Path) -> None:
    # A trial that needs no await: without the worker's own yield, one worker would make all
    # three in one step of the loop, and what the loop has waiting would run only after them.
    # The marks are queued from on_trial, which the worker calls after a trial and before it yields.
    plan = make_plan(Study(models=["eitest/oracle"], instruments=["open-steu"], reps=1), estimate=False)
    settings = RunSettings.for_plan(plan)
    todo = plan.todo[:3]
    events: list[str] = []

    async def administer(spec: TrialSpec) -> Trial:
        events.append(f"trial {spec.item.id}")
        return trial_from_reply(spec, settings, CallResult(text="A"), messages=[], started_at=now())

    def on_trial(t: Trial) -> None:
        asyncio.get_running_loop().call_soon(events.append, f"turn after {t.item_id}")

    with Store(tmp_path / "s.db") as store:
        store.ensure_run(new_run_record(plan.run_id, plan.identity, plan.hashes, "test"))
        schedule = Schedule(plan.run_id, len(todo), todo, administer, CallSettings(), concurrency=1)
        outcome = asyncio.run(Scheduler(schedule, store, on_trial, None).run())
        assert len(store.finished_keys(plan.run_id)) == outcome.called == 3
    ids = [spec.item.id for spec in todo]
    assert events == [e for i in ids for e in (f"trial {i}", f"turn after {i}")]
