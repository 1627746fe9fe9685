"""Small, varied synthetic stores whose full analysis is pinned in ``data/pinned_analysis.json``.

The expected file was written by the analysis as it stood before the vectorised
rewrite (issue 12), so that the faster code is held to the same numbers::

    PYTHONPATH=. python tests/scoring/pinned_stores.py   # rewrites the expected file

Every figure in these stores is synthetic: the responders, the items' ``human_p`` and
the norms are made up for this test, not taken from any study.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
EXPECTED = HERE / "data" / "pinned_analysis.json"
FINISHED = "2026-01-01T00:00:00+00:00"


def _mini(inst_id: str, sizes: str, *, human_p: bool) -> dict[str, Any]:
    """A keyed test written here: items with 3 to 5 options and, with ``human_p``, made-up item difficulties."""
    items = []
    for i, k in enumerate(sizes):
        options = "abcde"[: int(k)]
        item: dict[str, Any] = {
            "id": f"q{i:02d}",
            "stem": f"Situation {i}.",
            "question": "Which feeling?",
            "options": [{"id": o, "text": o.upper()} for o in options],
            "key": options[i % len(options)],
        }
        if human_p:
            item["human_p"] = round(0.2 + 0.6 * ((i * 7) % 11) / 10, 3)
        items.append(item)
    return {
        "id": inst_id, "name": f"Mini {inst_id}", "construct": "emotional understanding", "version": "1",
        "citation": "written for this test", "license": "CC0-1.0", "instructions": "Choose one.",
        "scoring": "keyed", "items": items,
    }  # fmt: skip


def instruments() -> dict[str, Any]:
    from eitest.instruments import get, parse_instrument

    return {
        "open-steu": get("open-steu"),
        "open-stem": get("open-stem"),
        "mini-a": parse_instrument(_mini("mini-a", "345534453", human_p=True), "<mini-a>"),
        "mini-b": parse_instrument(_mini("mini-b", "4444", human_p=False), "<mini-b>"),
    }


# run id -> (option order, reps, models, instruments, behaviour per model, finished)
RUNS: dict[str, list[dict[str, Any]]] = {
    "mixed": [
        {"id": "r-old", "order": "shuffled", "reps": 2, "models": ["m/skilled"], "tests": ["open-steu"],
         "finished": "2025-06-01T00:00:00+00:00"},
        {"id": "r-shuf", "order": "shuffled", "reps": 3, "models": ["m/skilled", "m/first", "m/chance"],
         "tests": ["open-steu", "open-stem", "mini-a"], "finished": FINISHED},
        {"id": "r-rot", "order": "rotated", "reps": 5, "models": ["m/rotated"],
         "tests": ["open-steu", "open-stem", "mini-a"], "finished": FINISHED},
        {"id": "r-orig", "order": "original", "reps": 2, "models": ["m/orig", "m/never"],
         "tests": ["open-stem", "mini-b"], "finished": None, "skip": True},
    ],
    "tiny": [
        {"id": "t-one", "order": "shuffled", "reps": 1, "models": ["m/oracle", "m/skilled"],
         "tests": ["mini-a", "mini-b"], "finished": FINISHED},
        {"id": "t-rot", "order": "rotated", "reps": 2, "models": ["m/flaky"], "tests": ["mini-a"],
         "finished": FINISHED},
    ],
}  # fmt: skip

SKILL = {"m/skilled": 0.8, "m/first": 0.3, "m/chance": 0.0, "m/rotated": 0.6, "m/orig": 0.5, "m/oracle": 1.0}


def _shown(options: list[str], order: str, rep: int, rng: random.Random) -> list[str]:
    if order == "shuffled":
        shown = options[:]
        rng.shuffle(shown)
        return shown
    if order == "rotated":
        k = rep % len(options)
        return options[k:] + options[:k]
    return options[:]


def _trials(run: dict[str, Any], tests: dict[str, Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    for model in run["models"]:
        if model == "m/never":  # planned, never run
            continue
        for inst_id in run["tests"]:
            inst = tests[inst_id]
            for n, item in enumerate(inst.items):
                for rep in range(run["reps"]):
                    if run.get("skip") and (n + rep) % 7 == 3:
                        continue  # an interrupted run: some trials not yet run
                    yield _trial(run, model, inst, item, rep, rng)


def _trial(run: dict[str, Any], model: str, inst: Any, item: Any, rep: int, rng: random.Random) -> dict[str, Any]:
    shown = _shown(item.option_ids, run["order"], rep, rng)
    best = item.best_option
    if model == "m/first" and rng.random() < 0.7:
        chosen = shown[0]
    elif model == "m/flaky":
        chosen = best if rng.random() < 0.5 else shown[-1]
    else:
        chosen = best if rng.random() < SKILL[model] else rng.choice(item.option_ids)
    u = rng.random()
    status = (
        "answered" if u > 0.12 or model == "m/oracle" else ("unparseable", "refused", "empty", "error")[int(u / 0.03)]
    )
    answered = status == "answered"
    cost = None if model == "m/chance" and rep == 1 else 0.001 * (1 + rep)
    return {
        "run_id": run["id"], "model": model, "instrument": inst.id, "item_id": item.id, "repetition": rep,
        "protocol": "standard", "protocol_version": "1", "option_order": run["order"], "shown_order": json.dumps(shown),
        "keyed_position": shown.index(best), "prompt": json.dumps([{"role": "user", "content": item.stem}]),
        "raw_reply": None if status == "error" else f"The answer is {chosen}.", "model_returned": model,
        "finish_reason": None if status == "error" else "stop", "status": status,
        "parse_rule": "lone_letter" if answered else "no_answer",
        "chosen_position": shown.index(chosen) if answered else None, "chosen_option": chosen if answered else None,
        "score": item.credit(chosen) if answered else None,
        "prompt_tokens": None if status == "error" else 100 + rep, "completion_tokens": None if status == "error" else 2,
        "cost": None if status == "error" else cost, "latency_s": None if status == "error" else 0.25 + 0.01 * rep,
        "attempts": 3 if status == "error" else 1, "error": "boom" if status == "error" else None,
        "started_at": FINISHED, "finished_at": run["finished"] or FINISHED, "text_repaired": None,
    }  # fmt: skip


def build(path: Path, name: str, seed: int = 12) -> Path:
    """Write the store ``name`` of :data:`RUNS` at ``path``."""
    from eitest.store import RunRecord, Store
    from eitest.store.trial import COLUMNS

    tests = instruments()
    rng = random.Random(seed)
    sql = f"INSERT INTO trials ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})"
    with Store(path) as store:
        store.save_instruments(list(tests.values()))
        for run in RUNS[name]:
            config = {"models": run["models"], "instruments": run["tests"], "reps": run["reps"],
                      "option_order": run["order"]}  # fmt: skip
            hashes = {t: tests[t].content_hash for t in run["tests"]}
            started = run["finished"] or FINISHED
            record = RunRecord(
                run["id"], config, hashes, "0", None, None, None, "test", started, started, run["finished"]
            )
            store.ensure_run(record)
            rows = [tuple(t.get(c) for c in COLUMNS) for t in _trials(run, tests, rng)]
            with store.conn:
                store.conn.executemany(sql, rows)
            if run["finished"]:
                store.conn.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (run["finished"], run["id"]))
                store.conn.commit()
    return path


def norm_file(path: Path) -> Path:
    """Made-up norms: open-steu and mini-a complete, open-stem on mean credit, mini-b a mean only."""

    def norm(inst: str, mean: float, sd: float | None, n: float | None, **extra: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"instrument": inst, "sample": "synthetic", "mean": {"value": mean, "where": "test"}}
        if sd is not None:
            out["sd"] = {"value": sd, "where": "test"}
        if n is not None:
            out["n"] = {"value": n, "where": "test"}
        return {**out, **extra}

    source = {"id": "made-up-sample", "citation": "A made-up sample for this test (2026)", "checked": "made up"}
    norms = [
        norm("open-steu", 0.58, 0.12, 120),
        norm("open-stem", 0.45, 0.06, 150, scoring="weighted", score="mean_credit"),
        norm("mini-a", 0.61, 0.15, 40),
        norm("mini-b", 0.5, None, None),
    ]
    path.write_text(yaml.safe_dump({"source": source, "norms": norms}), encoding="utf-8")
    return path


# case name -> (store, analyze() keyword arguments; "norms" True means the norm file above)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "mixed-norms": ("mixed", {"norms": True}),
    "mixed-excluded-fdr": ("mixed", {"norms": True, "exclude_unanswered": True, "correction": "fdr_bh"}),
    "mixed-run-rotated": ("mixed", {"run": "r-rot", "n_boot": 500, "seed": 7}),
    "mixed-plain": ("mixed", {"seed": 3}),
    "tiny-norms": ("tiny", {"norms": True}),
    "tiny-excluded": ("tiny", {"exclude_unanswered": True, "seed": 5}),
}


def analysis_json(folder: Path, case: str) -> dict[str, Any]:
    """The analysis of ``case`` as JSON-ready tables (the ``items`` table too), built in ``folder``."""
    from eitest.scoring.analysis import _records, analyze

    store_name, kwargs = CASES[case]
    db = folder / f"{store_name}.db"
    if not db.exists():
        build(db, store_name)
    kwargs = dict(kwargs)
    if kwargs.pop("norms", False):
        kwargs["norms"] = [norm_file(folder / "norms.yaml")]
    a = analyze(db, **kwargs)
    out = a.to_dict()
    out["notes"] = [n.replace(str(folder), "<folder>") for n in out["notes"]]  # the norm file's path
    out["items"] = _records(a.items)
    return out


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        expected = {case: analysis_json(Path(tmp), case) for case in CASES}
    EXPECTED.parent.mkdir(exist_ok=True)
    EXPECTED.write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    sizes = {c: sum(len(v) for v in d.values() if isinstance(v, list)) for c, d in expected.items()}
    print(f"wrote {EXPECTED} ({EXPECTED.stat().st_size:,} bytes): {sizes}", file=sys.stderr)
