"""How long ``eitest analyze`` takes on a large store, and ``eitest report`` on 50 models x 5 tests.

Run on demand (not in the suite)::

    python benchmarks/bench_analyze.py                # 1,000,000 trials, then the report
    python benchmarks/bench_analyze.py --trials 200000 --no-report
    python benchmarks/bench_analyze.py --no-report --keep DIR --reuse   # again, on the store kept in DIR

The store is synthetic and written straight through SQL (``executemany``), as a run
would have left it: five tests (the two open ones and three renamed copies of
them, so that keyed and weighted scoring both appear), models x items x
repetitions filling the requested number of trials, a prompt and a reply of a
realistic size in every row, and each trial its own start and finish times (a store
whose rows all share two timestamps reads faster than any run's). The analysis runs
in a fresh process, so the peak resident memory printed is that of the analysis
alone (``ru_maxrss`` of the child). The goal (issue 12): 1,000,000 trials in < 10 s and < 1 GB; the report
(HTML + PDF) of 50 models x 5 tests in < 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

TESTS = 5
PROMPT_WORDS = 120  # about the length of an item's stem, question and options


def instruments() -> list:
    """Five tests: open-steu and open-stem, and renamed copies of them."""
    from eitest.instruments import get, parse_instrument

    base = [get("open-steu"), get("open-stem")]
    out = list(base)
    for i in range(TESTS - len(base)):
        data = base[i % 2].normalized()
        data["id"] = f"{data['id']}-copy{i + 1}"
        out.append(parse_instrument(data, f"<copy {i + 1}>"))
    return out


def build_store(path: Path, n_trials: int, n_models: int = 50, seed: int = 0) -> int:
    """A store of about ``n_trials`` trials of ``n_models`` models on five tests; returns the trials written."""
    from eitest.store import RunRecord, Store
    from eitest.store.trial import COLUMNS

    tests = instruments()
    items_per_rep = sum(len(t.items) for t in tests)
    reps = max(1, round(n_trials / (n_models * items_per_rep)))
    models = [f"synthetic/model-{m:03d}" for m in range(n_models)]
    rng = random.Random(seed)
    base, latency = datetime(2026, 1, 1, tzinfo=UTC), timedelta(seconds=0.4)
    filler = " ".join(["word"] * PROMPT_WORDS)
    names = ",".join(COLUMNS)
    sql = f"INSERT INTO trials ({names}) VALUES ({','.join('?' * len(COLUMNS))})"
    written = 0
    with Store(path) as store:
        store.save_instruments(tests)
        config = {"models": models, "instruments": [t.id for t in tests], "reps": reps, "option_order": "shuffled",
                  "protocol": "standard"}  # fmt: skip
        hashes = {t.id: t.content_hash for t in tests}
        run = RunRecord("bench-run", config, hashes, "0", None, None, None, "bench", "2026-01-01T00:00:00", None, None)
        store.ensure_run(run)
        store.conn.execute("BEGIN")
        for mi, model in enumerate(models):
            skill = 0.3 + 0.6 * mi / max(n_models - 1, 1)
            rows = []
            for inst in tests:
                for item in inst.items:
                    options = item.option_ids
                    best = item.best_option
                    for rep in range(reps):
                        shown = options[:]
                        rng.shuffle(shown)
                        chosen = best if rng.random() < skill else rng.choice(options)
                        answered = rng.random() > 0.02
                        prompt = [{"role": "user", "content": f"{item.stem} {filler}"}]
                        # each trial its own times, as a run stores them (a second's calls 0.4 s each)
                        start = base + timedelta(milliseconds=10 * (written + len(rows)))
                        values = {
                            "run_id": "bench-run", "model": model, "instrument": inst.id, "item_id": item.id,
                            "repetition": rep, "protocol": "standard", "protocol_version": "1",
                            "option_order": "shuffled", "shown_order": json.dumps(shown),
                            "keyed_position": shown.index(best), "prompt": json.dumps(prompt),
                            "raw_reply": f"The answer is {chosen}. " + filler[:200], "model_returned": model,
                            "finish_reason": "stop", "status": "answered" if answered else "unparseable",
                            "parse_rule": "lone_letter" if answered else "no_answer",
                            "chosen_position": shown.index(chosen) if answered else None,
                            "chosen_option": chosen if answered else None,
                            "score": item.credit(chosen) if answered else None, "prompt_tokens": 180,
                            "completion_tokens": 3, "cost": 0.0, "latency_s": 0.4, "attempts": 1, "error": None,
                            "started_at": start.isoformat(), "finished_at": (start + latency).isoformat(),
                            "text_repaired": None,
                        }  # fmt: skip
                        rows.append(tuple(values.get(c) for c in COLUMNS))  # columns added since: NULL
            store.conn.executemany(sql, rows)
            written += len(rows)
        store.conn.execute("COMMIT")
        store.mark_run("bench-run", finished=True)
    return written


def timed(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak resident memory in MiB of running ``cmd``, alone.

    The usage is that one child's (``os.wait4``), not the maximum over every child so far.
    On a shared machine the wall time says more about the neighbours than about eitest;
    the CPU time of the (single-threaded) command is what it would take alone.
    """
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(cmd)} failed ({child.returncode}):\n{err.read().decode(errors='replace')[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=1_000_000, help="trials in the analysis store (default 1,000,000)")
    ap.add_argument("--models", type=int, default=50, help="models in the analysis store (default 50)")
    ap.add_argument("--no-report", action="store_true", help="skip the 50 models x 5 tests report timing")
    ap.add_argument("--keep", type=Path, help="a folder to keep the stores in (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="with --keep: time the analysis store kept there, unbuilt")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        db = folder / "bench-analyze.db"
        if args.reuse and args.keep and db.exists():
            print(f"store: {db}, as kept")
        else:
            db.unlink(missing_ok=True)
            start = time.perf_counter()
            n = build_store(db, args.trials, args.models)
            built = time.perf_counter() - start
            print(f"store: {n:,} trials, {args.models} models x {TESTS} tests, built in {built:.1f} s")
        wall, cpu, rss = timed([sys.executable, "-m", "eitest", "analyze", "--db", str(db), "--json"])
        verdict = "ok" if wall < 10 and rss < 1024 else "over the goal (< 10 s, < 1 GB)"
        print(f"eitest analyze: {wall:.1f} s ({cpu:.1f} s CPU), peak RSS {rss:.0f} MiB ({verdict})")
        if args.no_report:
            return
        small = folder / "bench-report.db"
        small.unlink(missing_ok=True)
        n = build_store(small, 2 * 50 * sum(len(t.items) for t in instruments()), 50)  # 2 repetitions
        wall, cpu, rss = timed(
            [sys.executable, "-m", "eitest", "report", "--db", str(small), "--out", str(folder / "r.html"),
             "--pdf", str(folder / "r.pdf")]
        )  # fmt: skip
        verdict = "ok" if wall < 60 else "over the goal (< 60 s)"
        print(f"eitest report, 50 models x {TESTS} tests ({n:,} trials), HTML + PDF: {wall:.1f} s ({cpu:.1f} s CPU), "
              f"peak RSS {rss:.0f} MiB ({verdict})")  # fmt: skip


if __name__ == "__main__":
    main()
