"""eitest's own CPU per trial: the whole runner over a stub transport, so litellm's cost is out of it.

Run on demand (not part of the test suite):

    python benchmarks/bench_overhead.py [--trials 2000] [--concurrency 8 32] [--rounds 5] [--profile]

``litellm.acompletion`` is replaced by a stub that yields to the loop once and returns
one prepared ``ModelResponse``; everything else is eitest's real path: ``run_study``
(plan, store, lock, workers, pacer, the model door with its retries and deadline,
parsing, scoring, the store's writes). CPU is ``time.process_time`` (this process only,
so the other users of a shared machine matter less than on a wall clock). The fixed
cost of a run (planning, opening the store, the run record) is taken out by timing a
run of ``--trials`` and one of ``--base`` trials and dividing the difference: what is
left is the CPU each further trial costs. The figure printed is the median over
``--rounds`` with the spread (min to max) beside it. ``--profile`` prints where the
CPU of one run goes (cProfile, by own time).

A bare ``litellm.acompletion`` to a local server costs 11-13 ms of CPU a call here (litellm
1.110.2; 5-6 ms was measured with the litellm installed before it); the goal is that eitest adds less than
0.5 ms to it. The figure is cache-warm: inside a real run, eitest's code shares the caches with
litellm's and takes about twice as long (a py-spy sample of bench_runner's 32-connection runs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


class StubLitellm:
    """litellm with ``acompletion`` answering at once (one yield to the loop), the rest delegated to litellm."""

    def __init__(self, litellm: Any) -> None:
        self._litellm = litellm
        self.calls = 0
        self.response = litellm.ModelResponse(
            model="bench",
            choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "B"}}],
            usage={"prompt_tokens": 120, "completion_tokens": 1, "total_tokens": 121},
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._litellm, name)

    async def acompletion(self, **kwargs: Any) -> Any:
        self.calls += 1
        await asyncio.sleep(0)  # a real call suspends; the runner's scheduling is part of what is timed
        return self.response


@contextlib.contextmanager
def stub_transport() -> Iterator[StubLitellm]:
    """The model door's litellm replaced by :class:`StubLitellm` while the block runs."""
    from eitest.client import providers

    real = providers.litellm_module()
    providers._litellm = StubLitellm(real)
    try:
        yield providers._litellm
    finally:
        providers._litellm = real


def study_for(n_trials: int, concurrency: int):
    from eitest.administer.study import Study

    # 77 items in the two open tests: one repetition is 77 trials.
    return Study(
        models=["openai/bench"],
        instruments=["open-steu", "open-stem"],
        reps=max(1, round(n_trials / 77)),
        api_base="http://127.0.0.1:9/v1",  # never reached: the stub answers
        concurrency=concurrency,
        max_retries=0,
    )


def run_cpu(n_trials: int, concurrency: int, profile: cProfile.Profile | None = None) -> tuple[float, int]:
    """CPU seconds of one fresh ``run_study`` of about ``n_trials`` trials, and the trials it called."""
    from eitest.administer.runner import run_study

    study = study_for(n_trials, concurrency)
    with tempfile.TemporaryDirectory() as d:
        cpu0 = time.process_time()
        if profile is not None:
            profile.enable()
        outcome = run_study(study, Path(d) / "bench.db", command="bench")
        if profile is not None:
            profile.disable()
        cpu = time.process_time() - cpu0
    if outcome.called != outcome.planned or outcome.failed:
        raise RuntimeError(f"the benchmark's run did not call every trial cleanly: {outcome}")
    return cpu, outcome.called


def per_trial(n_trials: int, base: int, concurrency: int) -> float:
    """CPU seconds a further trial costs: runs of ``n_trials`` and ``base`` trials, their difference per trial."""
    big, n_big = run_cpu(n_trials, concurrency)
    small, n_small = run_cpu(base, concurrency)
    return (big - small) / (n_big - n_small)


def own_cpu_rounds(n_trials: int, base: int, concurrency: int, rounds: int) -> list[float]:
    """:func:`per_trial` over ``rounds`` rounds (after one to warm imports and caches), in ms."""
    with stub_transport():
        run_cpu(base, concurrency)
        return [1000 * per_trial(n_trials, base, concurrency) for _ in range(rounds)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=2000)
    ap.add_argument("--base", type=int, default=154, help="trials of the small run whose CPU is taken off")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--profile", action="store_true", help="print cProfile's top entries for one run")
    args = ap.parse_args()

    for conc in args.concurrency:
        ms = own_cpu_rounds(args.trials, args.base, conc, args.rounds)
        print(
            f"concurrency {conc:>3}: eitest's own CPU per trial {statistics.median(ms):.3f} ms "
            f"(median of {len(ms)}; min {min(ms):.3f}, max {max(ms):.3f}) (goal < 0.5 ms)",
            flush=True,
        )
    if args.profile:
        prof = cProfile.Profile(time.process_time)
        with stub_transport():
            run_cpu(args.trials, args.concurrency[-1], prof)
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
