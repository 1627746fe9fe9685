"""The store's write of one trial: its row and the SQL that inserts it, or replaces an earlier row of its key.

Kept apart from :mod:`eitest.store.database` so the per-trial path stays cheap and in one place:
the repair of text UTF-8 cannot hold runs only for a row that has such text, and the statement
is built once per set of columns, not per trial.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from typing import TYPE_CHECKING, Any

from eitest.store import trial
from eitest.store.opening import store_errors
from eitest.store.trial import Trial, storable_text

if TYPE_CHECKING:
    from eitest.store.database import Store


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


class GroupCommit:
    """Trials saved into one open transaction and committed together when :meth:`commit` is called.

    The runner commits at the end of each turn of its event loop, so the trials that finished in
    the same turn share one commit (at 32 connections, several do) while none waits longer than
    that turn: a process killed at any moment still loses only what was in flight.
    """

    def __init__(self, store: Store) -> None:
        self.store, self.path = store, store.path

    @property
    def pending(self) -> bool:
        """Whether trials are saved but not yet committed."""
        return self.store.conn.in_transaction

    @store_errors
    def save(self, record: Trial) -> None:
        if not self.store.conn.in_transaction:
            self.store.conn.execute("BEGIN")
        self.store.save_trial(record)

    @store_errors
    def commit(self) -> None:
        """Commit what is pending; a failure (a full disk) rolls it back and raises :class:`StoreError`."""
        if self.store.conn.in_transaction:
            try:
                self.store.conn.execute("COMMIT")
            except sqlite3.Error:
                if self.store.conn.in_transaction:  # SQLite keeps some failed commits open: end it
                    with contextlib.suppress(sqlite3.Error):
                        self.store.conn.execute("ROLLBACK")
                raise
