"""The lean trial reader: only the columns asked for, JSON decoded, texts read by id."""

from __future__ import annotations

from pathlib import Path

import pytest
from store.test_store import record, trial

from eitest.store import Store
from eitest.store.trial_columns import trial_texts


def test_trials_reads_only_the_columns_asked_and_decodes_json(tmp_path: Path):
    with Store(tmp_path / "s.db") as s:
        s.ensure_run(record())
        s.save_trial(trial(item_id="x", shown_order=["b", "a"], raw_reply="long reply"))
        s.save_trial(trial(item_id="y", shown_order=["b", "a"]))
        df = s.trials(columns=["item_id", "shown_order"])
        assert list(df.columns) == ["id", "item_id", "shown_order"]
        assert df["shown_order"].tolist() == [["b", "a"], ["b", "a"]]
        assert trial_texts(s.conn, df["id"].tolist(), ["raw_reply"]) == {
            1: {"raw_reply": "long reply"},
            2: {"raw_reply": "A"},
        }
        with pytest.raises(ValueError, match="no trial column 'nope'"):
            s.trials(columns=["nope"])
