"""Runner overhead: eitest run against a bare litellm loop, on the same local server.

Run on demand (not part of the test suite):

    python benchmarks/bench_runner.py [--trials 1000] [--latencies 0 0.1] [--concurrency 8 32]

The scripted OpenAI-compatible server runs in its own process, so the CPU time
measured here is the client's alone. For each latency x concurrency it prints the
client CPU per call for (a) a bare ``litellm.acompletion`` loop and (b) eitest's
runner (prompt building, parsing, scoring, one SQLite commit per trial), calls per
second, and wall time over the ideal ``calls x latency / concurrency``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
REPO = Path(__file__).resolve().parents[1]


def start_server(delay: float) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "openai_server.py"), "--port", "0", "--delay", str(delay)],
        stdout=subprocess.PIPE,
        text=True,
    )
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/v1"


def study_for(n_trials: int, url: str, concurrency: int):
    from eitest.instruments import catalogue
    from eitest.runner import Study

    cat = catalogue()
    n_items = cat["open-steu"].n_items + cat["open-stem"].n_items
    reps = max(1, round(n_trials / n_items))
    return Study(models=["openai/bench"], instruments=["open-steu", "open-stem"], reps=reps, api_base=url, concurrency=concurrency, max_retries=0)


async def bare_loop(messages: list[list[dict[str, str]]], url: str, concurrency: int) -> None:
    import litellm

    sem = asyncio.Semaphore(concurrency)

    async def one(m):
        async with sem:
            await litellm.acompletion(model="openai/bench", messages=m, api_base=url, api_key="not-needed", max_tokens=64, temperature=0.0, num_retries=0, max_retries=0)

    await asyncio.gather(*(one(m) for m in messages))


def measure(fn) -> tuple[float, float]:
    cpu0, wall0 = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu0, time.perf_counter() - wall0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--latencies", type=float, nargs="+", default=[0.0, 0.1])
    ap.add_argument("--concurrency", type=int, nargs="+", default=[8, 32])
    args = ap.parse_args()

    from eitest.client import litellm_module
    from eitest.prompts import get_protocol
    from eitest.runner import make_plan, run_study

    litellm_module()  # import and configure once, outside the timings
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "eitest", "--help"], capture_output=True, check=True)
    help_s = time.perf_counter() - t0
    print(f"eitest --help: {help_s:.3f} s (goal < 0.3 s)")
    print(f"{'latency':>8} {'conc':>5} {'calls':>6} | {'bare ms/call':>12} {'eitest ms/call':>14} {'overhead ms':>11} | "
          f"{'bare calls/s':>12} {'eitest calls/s':>14} | {'bare wall/ideal':>15} {'eitest wall/ideal':>17}")
    for latency in args.latencies:
        proc, url = start_server(latency)
        try:
            for conc in args.concurrency:
                study = study_for(args.trials, url, conc)
                plan = make_plan(study, estimate=False)
                protocol = get_protocol(study.protocol)
                messages = [protocol.messages(t.instrument, t.item, list(t.shown)) for t in plan.trials]
                n = len(messages)
                asyncio.run(bare_loop(messages[:16], url, conc))  # warm the connection pool and caches
                bare_cpu, bare_wall = measure(lambda: asyncio.run(bare_loop(messages, url, conc)))
                with tempfile.TemporaryDirectory() as d:
                    db = Path(d) / "bench.db"
                    ours_cpu, ours_wall = measure(lambda: run_study(study, db))
                ideal = n * latency / conc
                ratio = (lambda w: f"{w / ideal:.3f}" if ideal else "n/a")
                print(
                    f"{latency:>8.3f} {conc:>5} {n:>6} | {1000 * bare_cpu / n:>12.2f} {1000 * ours_cpu / n:>14.2f} "
                    f"{1000 * (ours_cpu - bare_cpu) / n:>11.2f} | {n / bare_wall:>12.1f} {n / ours_wall:>14.1f} | "
                    f"{ratio(bare_wall):>15} {ratio(ours_wall):>17}",
                    flush=True,
                )
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
