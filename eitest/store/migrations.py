"""The store's schema: an append-only list of numbered migrations.

A store records how many it has applied in ``PRAGMA user_version``; opening a store
applies the rest, each in one transaction (:class:`eitest.store.database.Store`). A
migration is never edited once released: a change is a new entry at the end.
"""

from __future__ import annotations

from eitest.store import trial
from eitest.store.batches import BATCHES_SQL, BATCHES_V7_SQL

_RUNS = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    config TEXT NOT NULL,              -- the study as JSON (models, instruments, protocol, ...)
    instrument_hashes TEXT NOT NULL,   -- {instrument id: content hash}
    eitest_version TEXT NOT NULL,
    litellm_version TEXT,
    git_revision TEXT,
    git_dirty INTEGER,
    command TEXT
);
"""

# Append only: a store records how many of these it has applied in PRAGMA user_version.
MIGRATIONS: list[str] = [
    # 1: runs and trials (the trial columns are those of Trial with since=1)
    _RUNS + trial.create_table_sql(1) + "\nCREATE INDEX trials_run ON trials(run_id, model, instrument);",
    # 2: the normalized content of every instrument a run used, by content hash
    """
    CREATE TABLE instrument_snapshots (
        content_hash TEXT PRIMARY KEY,     -- SHA-256 of the canonical JSON in content
        instrument_id TEXT NOT NULL,
        content TEXT NOT NULL,             -- Instrument.normalized() as JSON
        stored_at TEXT NOT NULL
    );
    """,
    # 3: trials note the text changed to be storable (lone surrogates written out)
    trial.add_columns_sql(3),
    # 4: trials keep a reasoning model's reasoning and its token count apart from the answer
    trial.add_columns_sql(4),
    # 5: the batches a run submitted to a provider's batch API (eitest.store.batches)
    BATCHES_SQL,
    # 6: trials of the logprobs protocol keep the option distribution, its coverage and the raw token alternatives
    trial.add_columns_sql(6),
    # 7: a batch is recorded before each step with the provider (intent, upload, creation), so a killed run re-attaches
    BATCHES_V7_SQL,
]
