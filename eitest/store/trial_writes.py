"""The store's write of one trial: its row and the SQL that inserts it, or replaces an earlier row of its key.

Kept apart from :mod:`eitest.store.database` so the per-trial path stays cheap and in one place:
the repair of text UTF-8 cannot hold runs only for a row that has such text, and the statement
is built once per set of columns (and number of rows), not per trial.
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
    text = "".join([v for v in row.values() if isinstance(v, str)])
    if text.isascii() or storable_text(text) is text:
        return row
    return record.storable().to_row()


@functools.cache
def upsert_sql(columns: tuple[str, ...], rows: int = 1) -> str:
    """Insert ``rows`` trial rows with these columns, each replacing the row of its key (a retried failure).

    The rows are taken in order, so a key given twice ends as its last row, as with one statement per row.
    """
    updates = ",".join(f"{c}=excluded.{c}" for c in columns if c not in trial.KEY_COLUMNS)
    values = ",".join([f"({','.join('?' * len(columns))})"] * rows)
    return (
        f"INSERT INTO trials ({','.join(columns)}) VALUES {values} "
        f"ON CONFLICT ({','.join(trial.KEY_COLUMNS)}) DO UPDATE SET {updates}"
    )


class GroupCommit:
    """Trials saved for one transaction and written and committed together when :meth:`commit` is called.

    The runner commits at the end of each turn of its event loop, so the trials that finished in
    the same turn share one commit (at 32 connections, several do) while none waits longer than
    that turn: a process killed at any moment still loses only what was in flight.

    A group is one multi-row statement between ``BEGIN`` and ``COMMIT``, not a statement per trial:
    each statement lets go of the GIL while SQLite works, and at 32 connections litellm's request
    threads take it then and keep the event loop waiting up to a switch interval (5 ms) each time,
    1.7 s of a 1,000-call run with a statement per trial.
    """

    def __init__(self, store: Store) -> None:
        self.store, self.path = store, store.path
        self._rows: list[dict[str, Any]] = []

    @property
    def pending(self) -> bool:
        """Whether trials are saved but not yet committed."""
        return bool(self._rows)

    @store_errors
    def save(self, record: Trial) -> None:
        self._rows.append(trial_row(record))

    @store_errors
    def commit(self) -> None:
        """Write and commit what is pending; a failure (a full disk) rolls it back and raises :class:`StoreError`.

        Either way nothing stays pending: the trials of a failed group are not stored, and stay to do.
        """
        rows, self._rows = self._rows, []
        if not rows:
            return
        conn = self.store.conn
        try:
            conn.execute("BEGIN")
            for columns, values in _statements(rows, conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)):
                conn.execute(upsert_sql(columns, len(values) // len(columns)), values)
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:  # SQLite keeps some failed commits open: end it
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise


def _statements(rows: list[dict[str, Any]], max_values: int) -> list[tuple[tuple[str, ...], list[Any]]]:
    """The rows as few statements as SQLite's limit on bound values allows: (columns, their values in row order)."""
    out: list[tuple[tuple[str, ...], list[Any]]] = []
    for row in rows:
        columns = tuple(row)
        if not out or out[-1][0] != columns or len(out[-1][1]) + len(columns) > max_values:
            out.append((columns, []))
        out[-1][1].extend(row.values())
    return out
