"""The store's write of one trial: its row and the SQL that inserts it, or replaces an earlier row of its key.

Kept apart from :mod:`eitest.store.database` so the per-trial path stays cheap and in one place:
the repair of text UTF-8 cannot hold runs only for a row that has such text, and the statement
is built once per set of columns, not per trial.
"""

from __future__ import annotations

import functools
from typing import Any

from eitest.store import trial
from eitest.store.trial import Trial, storable_text


def trial_row(record: Trial) -> dict[str, Any]:
    """The values of ``record``'s columns, its text made storable (:meth:`Trial.storable`) where it must be."""
    row = record.to_row()
    # One check over all the row's text: the JSON columns are dumped without ASCII escapes, so a lone
    # surrogate anywhere in them shows here too, and joining texts cannot make one storable (UTF-8
    # encodes no surrogate, paired or not). ASCII, the common case, is checked in one pass in C.
    text = "".join(v for v in row.values() if isinstance(v, str))
    if text.isascii() or storable_text(text) is text:
        return row
    return record.storable().to_row()


@functools.cache
def upsert_sql(columns: tuple[str, ...]) -> str:
    """Insert a trial row with these columns, or replace the row of its key (a retried failure)."""
    updates = ",".join(f"{c}=excluded.{c}" for c in columns if c not in trial.KEY_COLUMNS)
    return (
        f"INSERT INTO trials ({','.join(columns)}) VALUES ({','.join('?' * len(columns))}) "
        f"ON CONFLICT ({','.join(trial.KEY_COLUMNS)}) DO UPDATE SET {updates}"
    )
