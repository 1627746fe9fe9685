"""The chance responder is chance: uniform over the shown options, whatever the order or the keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import instrument_data
from scipy import stats

import eitest
from eitest.store import Store

N_ITEMS, N_OPTIONS, REPS = 40, 5, 5


def _keys_last(path: Path) -> Path:
    """An item set whose keys all sit in the last listed position."""
    items = [
        {
            "id": f"i{i:02d}",
            "stem": f"Situation {i}.",
            "question": "What does the person feel?",
            "options": [{"id": f"o{j}", "text": f"Feeling {j} of item {i}"} for j in range(N_OPTIONS)],
            "key": f"o{N_OPTIONS - 1}",
        }
        for i in range(N_ITEMS)
    ]
    doc = instrument_data("keys-last", items, name="Keys last")
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize("order", ["original", "shuffled", "rotated"])
def test_chance_scores_one_in_k_when_every_key_sits_last(tmp_path: Path, order: str):
    inst = _keys_last(tmp_path / "keys-last.yaml")
    db = tmp_path / "chance.db"
    study = eitest.Study(models=["eitest/chance"], instruments=[str(inst)], reps=REPS, option_order=order, seed=7)
    eitest.run_study(study, db)
    with Store(db) as store:
        trials = store.trials()
    n = len(trials)
    correct = int((trials["chosen_position"] == trials["keyed_position"]).sum())
    # Two-sided exact binomial test against 1/k: the broken seeding scored 0.38 here.
    assert stats.binomtest(correct, n, 1 / N_OPTIONS).pvalue > 0.01, (order, correct / n)
    positions = trials["chosen_position"].value_counts().reindex(range(N_OPTIONS), fill_value=0)
    assert stats.chisquare(positions.to_numpy()).pvalue > 0.01, positions.to_dict()
