"""How long ``eitest --help`` takes, best of N runs (the goal is under 0.3 s).

Run on demand: ``python benchmarks/bench_startup.py [--runs 10]``. Beside it, the
same for a bare ``python -c pass``, so the ratio says what eitest itself adds.
A test checks the cause of a slow start (no heavy import); timing belongs here.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time


def best_of(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    bare = best_of([sys.executable, "-c", "pass"], args.runs)
    helped = best_of([sys.executable, "-m", "eitest", "--help"], args.runs)
    print(f"python -c pass: {bare * 1000:.0f} ms; eitest --help: {helped * 1000:.0f} ms (ratio {helped / bare:.1f})")


if __name__ == "__main__":
    main()
