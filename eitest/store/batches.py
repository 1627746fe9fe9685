"""The batches a run submitted to a provider's batch API, kept so that a killed run re-attaches instead of paying twice.

A batch is recorded before each step with the provider, each record committed at once:
first as an intent (status ``uploading``: its model, part name and the custom_ids of
the trials it carries), then with its input file (``uploaded``), then with the
provider's batch id (``submitted``). A run killed between two steps leaves a record
that says how far it got: a re-run finds the batch the provider accepted (by its
input file, or the metadata naming its run and part) instead of creating another
(:mod:`eitest.administer.batch`). Until its results are stored (``collected_at``) a
batch is open, and a re-run of the same study polls it instead of submitting those
trials again.
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


# Migration 7: the id and input file may be unknown yet (an intent), and each batch has eitest's own name in its run.
# Old rows keep everything; their part is the model and their place among the run's batches.
BATCHES_V7_SQL = """
CREATE TABLE batches_v7 (
    run_id TEXT NOT NULL REFERENCES runs(id),
    part TEXT NOT NULL,                  -- eitest's name of the batch in its run, "<model>#<n>"; sent as metadata
    id TEXT UNIQUE,                      -- the provider's batch id; NULL until the provider has accepted it
    model TEXT NOT NULL,                 -- the litellm model string the batch's lines are for
    input_file_id TEXT,                  -- the uploaded JSONL file of requests; NULL until the upload is answered
    custom_ids TEXT NOT NULL,            -- JSON list: the trials the batch carries
    submitted_at TEXT NOT NULL,          -- when the intent was recorded, then when the provider accepted the batch
    status TEXT NOT NULL,                -- uploading, uploaded, dropped; then the provider's ("submitted": not asked yet)
    output_file_id TEXT,
    error_file_id TEXT,
    collected_at TEXT,                   -- when its results were stored (or the intent dropped); NULL while open
    PRIMARY KEY (run_id, part)
);
INSERT INTO batches_v7 (run_id, part, id, model, input_file_id, custom_ids, submitted_at, status,
                        output_file_id, error_file_id, collected_at)
    SELECT run_id, model || '#' || ROW_NUMBER() OVER (PARTITION BY run_id ORDER BY submitted_at, rowid), id, model,
           input_file_id, custom_ids, submitted_at, status, output_file_id, error_file_id, collected_at
    FROM batches ORDER BY submitted_at, rowid;
DROP TABLE batches;
ALTER TABLE batches_v7 RENAME TO batches;
CREATE INDEX batches_run ON batches(run_id);
"""

# The states of a record before the provider has accepted the batch; "dropped": an intent given up, its trials free.
UPLOADING, UPLOADED, SUBMITTED, DROPPED = "uploading", "uploaded", "submitted", "dropped"


@dataclass(frozen=True)
class BatchIntent:
    """A batch being sent: recorded before its upload, with the input file once uploaded; no batch id yet."""

    run_id: str
    part: str
    model: str
    custom_ids: list[str]
    recorded_at: str
    status: str = UPLOADING
    input_file_id: str | None = None


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
    part: str = ""


@store_errors
def record_intent(store: Store, run_id: str, model: str, custom_ids: list[str], at: str) -> BatchIntent:
    """Keep the intent to send a batch of ``custom_ids``, before anything is uploaded; committed at once."""
    (count,) = store.conn.execute("SELECT COUNT(*) FROM batches WHERE run_id = ?", (run_id,)).fetchone()
    intent = BatchIntent(run_id, f"{model}#{count + 1}", model, custom_ids, at)
    store.conn.execute(
        "INSERT INTO batches (run_id, part, model, custom_ids, submitted_at, status) VALUES (?, ?, ?, ?, ?, ?)",
        (run_id, intent.part, model, json.dumps(custom_ids, ensure_ascii=False), at, UPLOADING),
    )
    return intent


@store_errors
def mark_uploaded(store: Store, run_id: str, part: str, input_file_id: str) -> None:
    """The intent's requests are uploaded as file ``input_file_id``: from here a batch may be created from it."""
    store.conn.execute(
        "UPDATE batches SET input_file_id = ?, status = ? WHERE run_id = ? AND part = ?",
        (input_file_id, UPLOADED, run_id, part),
    )


@store_errors
def mark_submitted(store: Store, run_id: str, part: str, batch_id: str, at: str, status: str = SUBMITTED) -> None:
    """The provider has accepted the intent's batch as ``batch_id`` (at time ``at``): it is polled from now on."""
    store.conn.execute(
        "UPDATE batches SET id = ?, submitted_at = ?, status = ? WHERE run_id = ? AND part = ?",
        (batch_id, at, status, run_id, part),
    )


@store_errors
def drop_intent(store: Store, run_id: str, part: str, at: str) -> None:
    """Give up an intent the provider never made a batch of: its trials are free to go in another."""
    store.conn.execute(
        "UPDATE batches SET status = ?, collected_at = ? WHERE run_id = ? AND part = ? AND id IS NULL",
        (DROPPED, at, run_id, part),
    )


@store_errors
def run_intents(store: Store, run_id: str) -> list[BatchIntent]:
    """The run's intents not yet accepted as batches nor dropped: what a killed run was sending, in order."""
    rows = store.conn.execute(
        "SELECT * FROM batches WHERE run_id = ? AND id IS NULL AND collected_at IS NULL ORDER BY submitted_at, rowid",
        (run_id,),
    ).fetchall()
    return [
        BatchIntent(
            r["run_id"],
            r["part"],
            r["model"],
            json.loads(r["custom_ids"]),
            r["submitted_at"],
            r["status"],
            r["input_file_id"],
        )
        for r in rows
    ]


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
    """The run's batches the provider accepted, in the order submitted; with ``open_only``, those not yet collected."""
    sql = "SELECT * FROM batches WHERE run_id = ? AND id IS NOT NULL" + (
        " AND collected_at IS NULL" if open_only else ""
    )
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
            part=r["part"],
        )
        for r in rows
    ]
