"""Reading trials lean: JSON columns decoded once per distinct text, and a few texts read by trial id.

Helpers of :meth:`eitest.store.Store.trials` and :meth:`~eitest.store.Store.trial_texts`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eitest.store import trial

if TYPE_CHECKING:
    import pandas as pd

MAX_PARAMETERS = 500  # ids bound per query, well under SQLite's limit


def decoded(texts: pd.Series) -> pd.Series:
    """JSON text decoded, each distinct text once: a store repeats a few option orders a million times.

    Rows that held the same text share one decoded value: treat the values as read-only.
    """
    import numpy as np
    import pandas as pd

    codes, uniques = texts.factorize()
    # an object array filled by hand: numpy would make a 2-D array of equal-length lists
    values = np.empty(len(uniques) + 1, dtype=object)
    for i, u in enumerate(uniques):
        values[i] = json.loads(u) if isinstance(u, str) else u
    values[-1] = None  # code -1: a missing value
    return pd.Series(values[codes], index=texts.index, name=texts.name)


def column_list(columns: Sequence[str]) -> str:
    """``columns`` (each once, in order) as a SELECT list; a ``ValueError`` naming any that a trial lacks."""
    unknown = [c for c in columns if c != "id" and c not in trial.COLUMNS]
    if unknown:
        raise ValueError(f"no trial column {', '.join(map(repr, unknown))}; the columns are {trial.COLUMNS}")
    return ",".join(dict.fromkeys(columns))


def trial_texts(conn: sqlite3.Connection, ids: Sequence[int], columns: Sequence[str]) -> dict[int, dict[str, Any]]:
    """``columns`` of the trials ``ids``, by id (ids not in the store are absent)."""
    names = column_list(columns)
    wanted = [int(i) for i in ids]
    out: dict[int, dict[str, Any]] = {}
    for start in range(0, len(wanted), MAX_PARAMETERS):
        chunk = wanted[start : start + MAX_PARAMETERS]
        rows = conn.execute(
            f"SELECT id, {names} FROM trials WHERE id IN ({','.join('?' * len(chunk))})", chunk
        ).fetchall()
        out.update({int(row[0]): dict(zip(columns, row[1:], strict=True)) for row in rows})
    return out
