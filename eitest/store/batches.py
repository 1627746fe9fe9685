"""The batches a run submitted to a provider's batch API, kept so that a killed run re-attaches instead of paying twice.

A batch is recorded the moment the provider has accepted it, before any polling: its
id, input file, model and the custom_ids of the trials it carries. Until its results
are stored (``collected_at``) it is open, and a re-run of the same study polls it
instead of submitting those trials again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from eitest.store.opening import store_errors

if TYPE_CHECKING:  # the store imports this module's table: the type alone, to keep clear of a cycle
    from eitest.store.database import Store

# The migration that adds the table (self-contained: appended to the store's MIGRATIONS).
BATCHES_SQL = """
CREATE TABLE batches (
    id TEXT PRIMARY KEY,                 -- the provider's batch id
    run_id TEXT NOT NULL REFERENCES runs(id),
    model TEXT NOT NULL,                 -- the litellm model string the batch's lines are for
    input_file_id TEXT NOT NULL,         -- the uploaded JSONL file of requests
    custom_ids TEXT NOT NULL,            -- JSON list: the trials the batch carries
    submitted_at TEXT NOT NULL,
    status TEXT NOT NULL,                -- the provider's status when last asked ("submitted": not asked yet)
    output_file_id TEXT,
    error_file_id TEXT,
    collected_at TEXT                    -- when its results were stored; NULL while open
);
CREATE INDEX batches_run ON batches(run_id);
"""


@dataclass(frozen=True)
class BatchRecord:
    id: str
    run_id: str
    model: str
    input_file_id: str
    custom_ids: list[str]
    submitted_at: str
    status: str
    output_file_id: str | None = None
    error_file_id: str | None = None
    collected_at: str | None = None


@store_errors
def record_batch(store: Store, batch: BatchRecord) -> None:
    """Keep a just-submitted batch; committed at once."""
    store.conn.execute(
        "INSERT INTO batches (id, run_id, model, input_file_id, custom_ids, submitted_at, status)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            batch.id,
            batch.run_id,
            batch.model,
            batch.input_file_id,
            json.dumps(batch.custom_ids, ensure_ascii=False),
            batch.submitted_at,
            batch.status,
        ),
    )


@store_errors
def update_batch(
    store: Store, batch_id: str, status: str, output_file_id: str | None, error_file_id: str | None
) -> None:
    store.conn.execute(
        "UPDATE batches SET status = ?, output_file_id = ?, error_file_id = ? WHERE id = ?",
        (status, output_file_id, error_file_id, batch_id),
    )


@store_errors
def mark_collected(store: Store, batch_id: str, at: str) -> None:
    """The batch's results are stored (at time ``at``): it is not polled or read again."""
    store.conn.execute("UPDATE batches SET collected_at = ? WHERE id = ?", (at, batch_id))


@store_errors
def run_batches(store: Store, run_id: str, *, open_only: bool = False) -> list[BatchRecord]:
    """The run's batches in the order submitted; with ``open_only``, those whose results are not yet stored."""
    sql = "SELECT * FROM batches WHERE run_id = ?" + (" AND collected_at IS NULL" if open_only else "")
    rows = store.conn.execute(sql + " ORDER BY submitted_at, rowid", (run_id,)).fetchall()
    return [
        BatchRecord(
            id=r["id"],
            run_id=r["run_id"],
            model=r["model"],
            input_file_id=r["input_file_id"],
            custom_ids=json.loads(r["custom_ids"]),
            submitted_at=r["submitted_at"],
            status=r["status"],
            output_file_id=r["output_file_id"],
            error_file_id=r["error_file_id"],
            collected_at=r["collected_at"],
        )
        for r in rows
    ]
