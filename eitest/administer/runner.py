"""Administer a study: every trial of its plan, once each, saved as it finishes.

Running the same study again resumes its run: finished trials are skipped, failed
ones are called again. The work of one trial is :func:`~eitest.administer.one_trial.administer_one`;
this module schedules it, saves what it returns and keeps to the budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eitest.administer.one_trial import RunSettings, administer_one
from eitest.administer.plan import Plan, TrialSpec, estimate_usage, make_plan
from eitest.administer.provenance import dist_version, git_revision, python_call
from eitest.administer.study import Study
from eitest.client.event_loop import run_coroutine
from eitest.errors import EitestError
from eitest.store import RunRecord, Store, now
from eitest.store.trial import Trial
from eitest.version import __version__
from eitest.vocabulary import Status


class BudgetExceeded(EitestError):
    pass


@dataclass
class RunOutcome:
    run_id: str
    planned: int
    skipped: int
    called: int = 0
    failed: int = 0
    cost: float = 0.0
    stopped: str | None = None


async def _administer(plan: Plan, store: Store, on_trial: Callable[[Trial], None] | None) -> RunOutcome:
    """Call every trial still to do, ``concurrency`` at a time, stopping once ``max_cost`` is spent."""
    study = plan.study
    settings = RunSettings.for_plan(plan)
    todo = plan.todo
    outcome = RunOutcome(plan.run_id, len(plan.trials), len(plan.trials) - len(todo))
    queue: asyncio.Queue[TrialSpec] = asyncio.Queue()
    for spec in todo:
        queue.put_nowait(spec)

    async def worker() -> None:
        while True:
            if study.max_cost is not None and outcome.cost >= study.max_cost:
                outcome.stopped = f"spent ${outcome.cost:.4f}, reaching --max-cost ${study.max_cost:.4f}"
                return
            try:
                spec = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            trial = await administer_one(spec, settings)
            store.save_trial(trial)  # committed at once: a killed run loses only the calls in flight
            outcome.called += 1
            outcome.failed += trial.status == Status.ERROR
            outcome.cost += trial.cost or 0.0
            if on_trial is not None:
                on_trial(trial)

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
    ``command`` is what the run records as how it was started (the CLI gives its command
    line); without it, the run records this call with the study's fields and where it ran.
    """
    from eitest.client import litellm_module, redact

    plan = make_plan(study, estimate=False)  # checks models and instruments before anything is written
    with Store(db) as store:
        plan.done = store.finished_keys(plan.run_id)
        estimate_usage(plan)
        _check_budget(plan)
        if on_plan is not None and on_plan(plan) is False:
            return RunOutcome(plan.run_id, len(plan.trials), len(plan.trials) - len(plan.todo), stopped="not confirmed")
        revision, dirty = git_revision()
        litellm = litellm_module()
        store.ensure_run(
            RunRecord(
                id=plan.run_id,
                config={**plan.identity, "concurrency": study.concurrency, "max_cost": study.max_cost},
                instrument_hashes=plan.hashes,
                eitest_version=__version__,
                litellm_version=getattr(litellm, "__version__", None) or dist_version("litellm"),
                git_revision=revision,
                git_dirty=dirty,
                command=redact(command or python_call(study, db)),
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
