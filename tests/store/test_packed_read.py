"""Store.trials reads the repeated text columns packed (one JSON array per row): the frame is a plain read's."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from store.test_store import record, trial

from eitest.store import Store, trial_columns
from eitest.store.trial import JSON_COLUMNS

ODD = ['quote " and \\ backslash', "line\nbreak\ttab\x01\x7f", "é ü 中文 🙂", "\u2028 separator", "", "null", "1"]


def _plain(s: Store, sql: str, params: tuple[str, ...] = ()) -> pd.DataFrame:
    """The independent reading: one pandas.read_sql_query, JSON columns decoded by json.loads per row."""
    import json

    df = pd.read_sql_query(sql, s.conn, params=params)
    for col in JSON_COLUMNS:
        if col in df.columns:
            df[col] = [json.loads(v) if isinstance(v, str) else None for v in df[col]]
    return df


def _store(path: Path) -> Store:
    s = Store(path)
    s.ensure_run(record("r1"))
    s.ensure_run(record("r2"))
    for i in range(40):
        odd = ODD[i % len(ODD)]
        s.save_trial(
            trial(
                run_id="r1" if i < 25 else "r2",
                model=f"m{i % 3}",
                item_id=odd if i % 4 == 0 else f"x{i % 5}",
                repetition=i,
                shown_order=["a", "b"] if i % 2 else ["b", "a"],
                model_returned=None if i < 12 else odd,  # NULL in the first chunks only
                finish_reason=None if i % 3 else "stop",
                parse_rule=odd,
                status="answered" if i % 6 else "unparseable",
                chosen_option=None if i % 6 == 0 else "a",
                chosen_position=None if i % 6 == 0 else 0,
                score=None if i % 6 == 0 else i / 7,
            )
        )
    return s


@pytest.mark.parametrize("chunk", [7, 1000])
def test_packed_reading_gives_the_plain_frame(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int):
    monkeypatch.setattr(trial_columns, "CHUNK_ROWS", chunk)
    monkeypatch.setattr(trial_columns.read_frame, "__defaults__", ((), chunk))
    with _store(tmp_path / "s.db") as s:
        got = s.trials()
        pd.testing.assert_frame_equal(got, _plain(s, "SELECT * FROM trials ORDER BY id"))
        assert got["model_returned"].iloc[20] == ODD[20 % len(ODD)] and pd.isna(got["model_returned"].iloc[0])
        assert str(got["text_repaired"].dtype) == "object" and got["text_repaired"].isna().all()  # NULL everywhere
        columns = ["status", "shown_order", "model", "score", "parse_rule", "item_id"]
        pd.testing.assert_frame_equal(
            s.trials(columns=columns), _plain(s, f"SELECT id, {','.join(columns)} FROM trials ORDER BY id")
        )
        pd.testing.assert_frame_equal(
            s.trials("r2", columns=columns),
            _plain(s, f"SELECT id, {','.join(columns)} FROM trials WHERE run_id = ? ORDER BY id", ("r2",)),
        )
        one = s.trials(columns=["model", "score"])  # a single repeated column: read plainly
        pd.testing.assert_frame_equal(one, _plain(s, "SELECT id, model, score FROM trials ORDER BY id"))
        assert s.trials("nobody", columns=columns).empty


def test_a_value_json_cannot_hold_is_read_plainly(tmp_path: Path):
    with _store(tmp_path / "s.db") as s:
        s.conn.execute("UPDATE trials SET finish_reason = x'00ff' WHERE id = 3")  # a BLOB: json_array refuses it
        got = s.trials(columns=["model", "finish_reason", "status"])
        pd.testing.assert_frame_equal(got, _plain(s, "SELECT id, model, finish_reason, status FROM trials ORDER BY id"))
        assert got["finish_reason"].iloc[2] == b"\x00\xff"
