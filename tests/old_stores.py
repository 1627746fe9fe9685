"""Stores as eitest wrote them before it kept each run's instruments (schema 1), built from a real run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from eitest.store import MIGRATIONS
from eitest.store.trial import FIELDS


def schema_1_copy(src: Path, dst: Path) -> Path:
    """``dst``: migration 1 only (``PRAGMA user_version = 1``), then the runs and trials of the store ``src``."""
    conn = sqlite3.connect(dst)
    conn.executescript(MIGRATIONS[0] + "\nPRAGMA user_version = 1;")
    conn.execute("ATTACH DATABASE ? AS src", (str(src),))
    conn.execute("INSERT INTO runs SELECT * FROM src.runs")
    columns = ",".join(["id", *(f.name for f in FIELDS if f.metadata["since"] == 1)])
    conn.execute(f"INSERT INTO trials ({columns}) SELECT {columns} FROM src.trials")
    conn.commit()
    conn.execute("DETACH DATABASE src")
    conn.close()
    return dst


def keyed_items(n: int, *, human_p: bool = True) -> list[dict]:
    """``n`` five-option keyed items written for the tests (placeholders in a published test's structure)."""
    items = []
    for i in range(n):
        item = {
            "id": f"b{i:02d}",
            "stem": f"Situation {i}, written for this test.",
            "question": "What is the person most likely to feel?",
            "options": [{"id": c, "text": f"Emotion {c}{i}"} for c in "abcde"],
            "key": "abcde"[i % 5],
        }
        if human_p:
            item["human_p"] = round(0.3 + i * 0.03, 2)
        items.append(item)
    return items
