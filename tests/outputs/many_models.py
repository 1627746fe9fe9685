"""A store of many models, written trial by trial with Store.save_trial (no calls): for the report at scale."""

from __future__ import annotations

from pathlib import Path

from eitest.instruments import Instrument, get, parse_instrument
from eitest.store import RunRecord, Store
from eitest.store.trial import Trial

ITEMS = 4


def instruments() -> list[Instrument]:
    """Three small tests: the first items of open-steu (keyed), of open-stem (weighted), and a renamed copy."""
    out = []
    for source, new_id in (("open-steu", "open-steu"), ("open-stem", "open-stem"), ("open-steu", "steu-copy")):
        data = get(source).normalized()
        data["id"] = new_id
        data["items"] = data["items"][:ITEMS]
        out.append(parse_instrument(data, f"<{new_id}>"))
    return out


def model_name(m: int) -> str:
    return f"synthetic/model-{m:02d}"


def build(path: Path, n_models: int, reps: int = 2) -> Path:
    """Model m answers the first ``m % (ITEMS + 1)`` items of each test with the best option, the rest with another."""
    tests = instruments()
    models = [model_name(m) for m in range(n_models)]
    config = {"models": models, "instruments": [t.id for t in tests], "reps": reps, "option_order": "original"}
    hashes = {t.id: t.content_hash for t in tests}
    with Store(path) as store:
        store.save_instruments(tests)
        store.ensure_run(RunRecord("many", config, hashes, "0", None, None, None, "test", "2026-01-01", None, None))
        for m, model in enumerate(models):
            for inst in tests:
                for k, item in enumerate(inst.items):
                    options = item.option_ids
                    best = item.best_option
                    chosen = best if k < m % (ITEMS + 1) else next(o for o in options if o != best)
                    for rep in range(reps):
                        store.save_trial(
                            Trial(
                                run_id="many", model=model, instrument=inst.id, item_id=item.id, repetition=rep,
                                protocol="standard", protocol_version="1", option_order="original",
                                shown_order=options, keyed_position=options.index(best),
                                prompt=[{"role": "user", "content": item.stem}], raw_reply=f"Answer: {chosen}",
                                status="answered", parse_rule="lone_letter", chosen_position=options.index(chosen),
                                chosen_option=chosen, score=item.credit(chosen), prompt_tokens=10,
                                completion_tokens=1, cost=0.0, latency_s=0.1, attempts=1,
                                started_at="2026-01-01T00:00:00+00:00", finished_at="2026-01-01T00:00:01+00:00",
                            )
                        )  # fmt: skip
        store.mark_run("many", finished=True)
    return path
