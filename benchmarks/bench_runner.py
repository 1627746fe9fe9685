"""Runner overhead: eitest run against a bare litellm loop, on the same local server.

Run on demand (not part of the test suite):

    python benchmarks/bench_runner.py [--trials 1000] [--latencies 0 0.1] [--concurrency 8 32] [--rounds 4]
        [--replies keyed|refusal]

The scripted OpenAI-compatible server runs in its own process, so the CPU time
measured here is the client's alone. For each latency x concurrency it alternates
(a) a bare ``litellm.acompletion`` loop and (b) eitest's runner (prompt building,
parsing, scoring, the store's commits) for ``--rounds`` rounds and prints,
for each, the client CPU per call (minimum over rounds: the least disturbed run;
the spread of a 2-core machine is about +-1 ms), calls per second, and wall time
over the ideal ``calls x latency / concurrency``. The server answers each item with the
letter of its keyed option, as a model that knows the answer does (``--replies refusal``:
"I cannot tell." to every item, the parser's slowest path, as this benchmark did before).
Each timed run starts after a full collection (``gc.collect``), so neither side inherits
the other's garbage, and the two sides take turns going first. Under each setting's row it
prints the ratio of eitest's wall time to the bare loop's within each round, summed up over
the rounds: on a shared 2-core machine one run's speed moves by 15-25 %, so the ratio of two
runs made seconds apart should be steadier than the ratio of two medians. Beside it is the
geometric mean of those ratios with a 95 % t-interval over the rounds (the rounds are repeated
measures of this machine, so the interval says how well this run pins down its ratio: 10-16
rounds gave +-1.6 to +-4 % at 8 and 32 connections). It also times one trial with no
HTTP at all: the runner's own ``administer_one`` and commit on the offline oracle
against a bare litellm call to the same provider, whose difference is the overhead
eitest adds to a call (``--skip-offline`` leaves it out: it is slow, and as the
difference of two 3-5 ms figures it is noisy), and eitest's own CPU per trial with
litellm replaced by a stub (``bench_overhead.py``: the whole runner, nothing else).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eitest.administer.one_trial import RunSettings
    from eitest.administer.plan import TrialSpec

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
REPO = Path(__file__).resolve().parents[1]


def start_server(delay: float, keyed: Path | None = None) -> tuple[subprocess.Popen, str]:
    """The scripted server in its own process; with ``keyed`` (a JSON file {stem: keyed option text}) it answers with that letter."""
    command = [sys.executable, str(REPO / "tests" / "openai_server.py"), "--port", "0", "--delay", str(delay)]
    proc = subprocess.Popen(command + (["--keyed", str(keyed)] if keyed else []), stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/v1"


def keyed_file(folder: Path) -> Path:
    """The server's answer key for the benchmark's two open tests: each item's stem and its keyed option's text."""
    from eitest.instruments import catalogue

    cat = catalogue()
    keyed = {
        item.stem: item.option(item.best_option).text for test in ("open-steu", "open-stem") for item in cat[test].items
    }
    path = folder / "keyed.json"
    path.write_text(json.dumps(keyed), encoding="utf-8")
    return path


def study_for(n_trials: int, url: str, concurrency: int):
    from eitest.administer.study import Study
    from eitest.instruments import catalogue

    cat = catalogue()
    n_items = cat["open-steu"].n_items + cat["open-stem"].n_items
    reps = max(1, round(n_trials / n_items))
    return Study(
        models=["openai/bench"],
        instruments=["open-steu", "open-stem"],
        reps=reps,
        api_base=url,
        concurrency=concurrency,
        max_retries=0,
    )


async def bare_loop(messages: list[list[dict[str, str]]], url: str, concurrency: int) -> None:
    import litellm

    sem = asyncio.Semaphore(concurrency)

    async def one(m):
        async with sem:
            await litellm.acompletion(
                model="openai/bench",
                messages=m,
                api_base=url,
                api_key="not-needed",
                max_tokens=64,
                temperature=0.0,
                num_retries=0,
                max_retries=0,
            )

    await asyncio.gather(*(one(m) for m in messages))


def measure(fn, *args) -> tuple[float, float]:
    gc.collect()  # each run starts with no garbage left by the one before
    cpu0, wall0 = time.process_time(), time.perf_counter()
    fn(*args)
    return time.process_time() - cpu0, time.perf_counter() - wall0


def measure_bare(messages: list[list[dict[str, str]]], url: str, concurrency: int) -> tuple[float, float]:
    """(CPU, wall) seconds of one bare loop over ``messages``."""
    return measure(asyncio.run, bare_loop(messages, url, concurrency))


def measure_run(study) -> tuple[float, float]:
    """(CPU, wall) seconds of one ``run_study`` into a new store."""
    from eitest.administer.runner import run_study

    with tempfile.TemporaryDirectory() as d:
        return measure(run_study, study, Path(d) / "bench.db")


def own_work_per_trial(n_trials: int, rounds: int) -> tuple[float, float]:
    """CPU seconds per trial with no HTTP: (eitest's trial, a bare litellm call), both on ``eitest/oracle``.

    eitest's trial is the runner's own :func:`administer_one` (prompt, the call through
    the model door, parse, score) plus the store's commit of the Trial it returns; the
    bare call is ``litellm.acompletion`` to the same offline provider with the same
    messages and metadata, so the difference is the work eitest adds around a call.
    Each is the minimum over ``rounds``, after one round to warm the caches.
    """
    import litellm

    from eitest.administer.one_trial import RunSettings, administer_one
    from eitest.administer.plan import make_plan
    from eitest.administer.study import Study
    from eitest.store import RunRecord, Store, now

    study = Study(models=["eitest/oracle"], instruments=["open-steu", "open-stem"], reps=max(1, round(n_trials / 77)))
    plan = make_plan(study, estimate=False)
    settings = RunSettings.for_plan(plan)

    async def ours(store: Store) -> None:
        for spec in plan.trials:
            store.save_trial(await administer_one(spec, settings))

    async def bare(calls: list[tuple[list[dict[str, str]], dict]]) -> None:
        for messages, metadata in calls:
            await litellm.acompletion(model="eitest/oracle", messages=messages, metadata=metadata, max_tokens=64)

    calls = [
        (settings.protocol.messages(t.instrument, t.item, list(t.shown)), _oracle_metadata(settings, t))
        for t in plan.trials
    ]
    ours_cpu, bare_cpu = [], []
    with tempfile.TemporaryDirectory() as d, Store(Path(d) / "own.db") as store:
        store.ensure_run(RunRecord(plan.run_id, {}, {}, "0", None, None, None, None, now(), None, None))
        for _ in range(rounds + 1):
            store.conn.execute("DELETE FROM trials")  # each round inserts, as a fresh run does
            ours_cpu.append(measure(asyncio.run, ours(store))[0])
            bare_cpu.append(measure(asyncio.run, bare(calls))[0])
    return min(ours_cpu[1:]) / len(plan.trials), min(bare_cpu[1:]) / len(calls)


def _oracle_metadata(settings: RunSettings, spec: TrialSpec) -> dict:
    from eitest.administer.one_trial import trial_seed
    from eitest.client import offline

    shown = list(spec.shown)
    return offline.metadata(
        answers=[settings.protocol.answer_text(i) for i in range(len(shown))],
        best_position=shown.index(spec.item.best_option),
        seed=trial_seed(settings.seed, spec),
        situation=f"{spec.item.stem}\n{spec.item.question}",
        options=[spec.item.option(o).text for o in shown],
    )


def ratio_interval(ratios: list[float]) -> str:
    """The geometric mean of the rounds' ratios with its 95 % t-interval: what this machine's ratio is, at this setting.

    The rounds are repeated measures of one pair of programs on one machine, so the interval is
    about that ratio as this benchmark measures it, not about other machines or other servers.
    """
    from scipy import stats

    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return f"geometric mean {math.exp(mean):.3f} (one round: no interval)"
    low, high = stats.t.interval(0.95, len(logs) - 1, loc=mean, scale=stats.sem(logs))
    return f"geometric mean {math.exp(mean):.3f}, 95 % interval {math.exp(low):.3f} to {math.exp(high):.3f}"


def _ratio(wall: float, ideal: float) -> str:
    return f"{wall / ideal:.3f}" if ideal else "n/a"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--latencies", type=float, nargs="+", default=[0.0, 0.1])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--rounds", type=int, default=4, help="an even number lets each side go first as often")
    ap.add_argument("--skip-offline", action="store_true", help="leave out the slow offline-oracle comparison")
    ap.add_argument(
        "--replies",
        choices=["keyed", "refusal"],
        default="keyed",
        help="the server answers each item's keyed letter (as a model does), or 'I cannot tell.' to every item",
    )
    args = ap.parse_args()
    if args.rounds < 1:
        ap.error("--rounds must be 1 or more")

    from eitest.administer.plan import make_plan
    from eitest.administer.prompts import get_protocol
    from eitest.client import litellm_module

    litellm_module()  # import and configure once, outside the timings
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "eitest", "--help"], capture_output=True, check=True)
    help_s = time.perf_counter() - t0
    print(f"eitest --help: {help_s:.3f} s (goal < 0.3 s)")
    if not args.skip_offline:
        ours, bare = own_work_per_trial(args.trials, args.rounds)
        print(
            f"one trial, no HTTP (eitest/oracle): administer_one + commit {1000 * ours:.3f} ms CPU, "
            f"bare litellm call {1000 * bare:.3f} ms, eitest's own work {1000 * (ours - bare):.3f} ms "
            "(goal: < 0.5 ms over bare litellm; the difference of two 3-5 ms figures: noisy)"
        )
    from bench_overhead import own_cpu_rounds

    for conc in args.concurrency:
        ms = own_cpu_rounds(2 * args.trials, 154, conc, args.rounds)
        print(
            f"eitest's own CPU per trial over a stub transport (the whole runner, litellm left out), concurrency {conc}: "
            f"{statistics.median(ms):.3f} ms (median of {len(ms)}; {min(ms):.3f} to {max(ms):.3f}) (goal < 0.5 ms)",
            flush=True,
        )
    print(f"the server's replies: {args.replies}")
    print(
        f"{'latency':>8} {'conc':>5} {'calls':>6} | {'bare ms/call':>12} {'eitest ms/call':>14} {'diff ms':>8} | "
        f"{'bare calls/s':>12} {'eitest calls/s':>14} | {'bare wall/ideal':>15} {'eitest wall/ideal':>17}"
    )
    keys = tempfile.TemporaryDirectory()
    keyed = keyed_file(Path(keys.name)) if args.replies == "keyed" else None
    for latency in args.latencies:
        proc, url = start_server(latency, keyed)
        try:
            for conc in args.concurrency:
                study = study_for(args.trials, url, conc)
                plan = make_plan(study, estimate=False)
                protocol = get_protocol(study.protocol)
                messages = [protocol.messages(t.instrument, t.item, list(t.shown)) for t in plan.trials]
                n = len(messages)
                asyncio.run(bare_loop(messages[:16], url, conc))  # warm the connection pool and caches
                bare: list[tuple[float, float]] = []
                ours: list[tuple[float, float]] = []
                sides = {
                    "bare": (bare, functools.partial(measure_bare, messages, url, conc)),
                    "eitest": (ours, functools.partial(measure_run, study)),
                }
                for r in range(args.rounds):
                    for side in ("bare", "eitest") if r % 2 == 0 else ("eitest", "bare"):
                        results, run = sides[side]
                        results.append(run())
                b_cpu, o_cpu = min(c for c, _ in bare), min(c for c, _ in ours)
                b_wall, o_wall = statistics.median(w for _, w in bare), statistics.median(w for _, w in ours)
                ideal = n * latency / conc
                print(
                    f"{latency:>8.3f} {conc:>5} {n:>6} | {1000 * b_cpu / n:>12.2f} {1000 * o_cpu / n:>14.2f} "
                    f"{1000 * (o_cpu - b_cpu) / n:>8.2f} | {n / b_wall:>12.1f} {n / o_wall:>14.1f} | "
                    f"{_ratio(b_wall, ideal):>15} {_ratio(o_wall, ideal):>17}",
                    flush=True,
                )
                ratios = [o / b for (_, o), (_, b) in zip(ours, bare, strict=True)]  # one per round
                print(
                    f"{'':>22}eitest wall / bare wall, round by round: median {statistics.median(ratios):.3f} "
                    f"({min(ratios):.3f} to {max(ratios):.3f}), eitest faster in {sum(x < 1 for x in ratios)} "
                    f"of {len(ratios)} rounds; {ratio_interval(ratios)} (issue 12's goal: <= 1.05)",
                    flush=True,
                )
        finally:
            proc.terminate()
            proc.wait()
    keys.cleanup()


if __name__ == "__main__":
    main()
