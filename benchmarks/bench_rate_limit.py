"""Rate limits: eitest run at its default settings against a server that enforces one.

Run on demand (not part of the test suite):

    python benchmarks/bench_rate_limit.py [--trials 1000] [--rpm 1200] [--latency 0.1] [--concurrency 8]

The scripted OpenAI-compatible server (``tests/openai_server.py``) runs in its own
process and admits ``rpm / 60`` requests in each one-second window, refusing the rest
with 429, ``retry-after`` / ``retry-after-ms`` and ``x-ratelimit-*`` headers, as a
rate-limited provider does. It prints (targets from issue 12): the share of requests
refused with 429 (<= 5 %), trials failed (0), and the window from the first call to
the last against the ideal ``trials / (rpm / 60)`` seconds (<= 1.10 x).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
REPO = Path(__file__).resolve().parents[1]


def start_server(rpm: int, latency: float) -> tuple[subprocess.Popen, str]:
    per_second = max(1, round(rpm / 60))
    args = ["--port", "0", "--delay", str(latency), "--rate-limit", str(per_second), "--window", "1"]
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "openai_server.py"), *args], stdout=subprocess.PIPE, text=True
    )
    port = int(proc.stdout.readline())
    return proc, f"http://127.0.0.1:{port}/v1"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--rpm", type=int, default=1200, help="what the server enforces (not a client setting)")
    ap.add_argument("--latency", type=float, default=0.1)
    ap.add_argument("--concurrency", type=int, default=None, help="eitest's --concurrency (default: its default)")
    args = ap.parse_args()

    from eitest.administer.runner import run_study
    from eitest.administer.study import Study
    from eitest.client import litellm_module
    from eitest.instruments import catalogue
    from eitest.store import Store

    litellm_module()  # imported once, outside the timing
    n_items = catalogue()["open-steu"].n_items + catalogue()["open-stem"].n_items
    fields = {"concurrency": args.concurrency} if args.concurrency else {}
    proc, url = start_server(args.rpm, args.latency)
    try:
        study = Study(
            models=["openai/bench-rl"],
            instruments=["open-steu", "open-stem"],
            reps=max(1, round(args.trials / n_items)),
            api_base=url,
            **fields,
        )
        lines: list[str] = []
        with tempfile.TemporaryDirectory() as d:
            t0 = time.perf_counter()
            outcome = run_study(study, Path(d) / "bench.db", on_throttle=lines.append)
            wall = time.perf_counter() - t0
            with Store(Path(d) / "bench.db") as store:
                df = store.trials()
    finally:
        proc.terminate()
        refused_line = proc.stdout.read().strip()
        proc.wait()
    started = df["started_at"].map(lambda t: datetime.fromisoformat(t).timestamp())
    finished = df["finished_at"].map(lambda t: datetime.fromisoformat(t).timestamp())
    requests = int(df["attempts"].sum())
    window = finished.max() - started.min()
    ideal = len(df) / (args.rpm / 60)
    print(
        f"server: {args.rpm} RPM in 1-s windows, {args.latency * 1000:.0f} ms latency; eitest --concurrency {study.concurrency}"
    )
    print(f"trials {len(df)}, failed {outcome.failed} (target 0)")
    print(
        f"requests {requests}, refused with 429: {outcome.throttled} = {100 * outcome.throttled / requests:.1f} % "
        f"(target <= 5 %; the server says: {refused_line})"
    )
    print(
        f"first to last call {window:.2f} s, ideal {ideal:.2f} s: {window / ideal:.3f} x (target <= 1.10 x); run {wall:.2f} s"
    )
    print(f"throttle notices: {len(lines)}" + (f", first: {lines[0]}" if lines else ""))


if __name__ == "__main__":
    main()
