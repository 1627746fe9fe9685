"""The SQLite store: runs and trials, each finished trial committed at once.

Schema changes are an append-only list of numbered migrations, applied on every
open and tracked in ``PRAGMA user_version``. WAL mode lets a reader (a notebook,
``eitest analyze``) open the file while a run writes to it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eitest.errors import EitestError

if TYPE_CHECKING:
    import pandas as pd

MIGRATIONS: list[str] = [
    # 1: runs and trials
    """
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
    CREATE TABLE trials (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs(id),
        model TEXT NOT NULL,
        instrument TEXT NOT NULL,
        item_id TEXT NOT NULL,
        repetition INTEGER NOT NULL,
        protocol TEXT NOT NULL,
        protocol_version TEXT NOT NULL,
        option_order TEXT NOT NULL,        -- original | shuffled | rotated
        shown_order TEXT NOT NULL,         -- JSON list of option ids as shown (A, B, ...)
        keyed_position INTEGER,            -- 0-based position of the keyed / top-weighted option as shown
        prompt TEXT NOT NULL,              -- JSON list of chat messages
        raw_reply TEXT,
        model_returned TEXT,
        finish_reason TEXT,
        status TEXT NOT NULL,              -- answered | unparseable | refused | empty | error
        parse_rule TEXT,
        chosen_position INTEGER,
        chosen_option TEXT,
        score REAL,                        -- credit of the chosen option; NULL unless answered
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        cost REAL,
        latency_s REAL,
        attempts INTEGER,
        error TEXT,
        started_at TEXT,
        finished_at TEXT,
        UNIQUE (run_id, model, instrument, item_id, repetition)
    );
    CREATE INDEX trials_run ON trials(run_id, model, instrument);
    """,
]

TRIAL_COLUMNS = (
    "run_id model instrument item_id repetition protocol protocol_version option_order shown_order "
    "keyed_position prompt raw_reply model_returned finish_reason status parse_rule chosen_position "
    "chosen_option score prompt_tokens completion_tokens cost latency_s attempts error started_at finished_at"
).split()

# A trial whose call came back (whatever the reply) is finished; only 'error' is retried on resume.
FINISHED_STATUSES = ("answered", "unparseable", "refused", "empty")


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StoreError(EitestError):
    pass


@dataclass(frozen=True)
class RunRecord:
    id: str
    config: dict[str, Any]
    instrument_hashes: dict[str, str]
    eitest_version: str
    litellm_version: str | None
    git_revision: str | None
    git_dirty: bool | None
    command: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None


class Store:
    """One SQLite file of runs and trials."""

    def __init__(self, path: str | Path, *, create: bool = True):
        self.path = Path(path)
        if not create and not self.path.exists():
            raise StoreError(f"no database at {self.path}; run 'eitest run ...' or 'eitest demo' first")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread off: a notebook's run writes from one worker thread while the caller waits.
        self.conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError:
            raise StoreError(f"{self.path} is not an SQLite database") from None
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self._migrate(create)

    def _migrate(self, create: bool) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables:
                raise StoreError(
                    f"{self.path} is an SQLite database, but not an eitest store (tables: {', '.join(sorted(tables))})"
                )
            if not create:
                raise StoreError(f"{self.path} is empty: it holds no eitest runs")
        if version > len(MIGRATIONS):
            raise StoreError(f"{self.path} was written by a newer eitest (schema {version}); upgrade eitest")
        for number in range(version, len(MIGRATIONS)):
            # One script, one transaction: a migration applies whole or not at all.
            self.conn.executescript(f"BEGIN;\n{MIGRATIONS[number]}\nPRAGMA user_version = {number + 1};\nCOMMIT;")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- runs

    def ensure_run(self, record: RunRecord) -> bool:
        """Create the run if new; return True when it already existed (a resume)."""
        row = self.conn.execute("SELECT id FROM runs WHERE id = ?", (record.id,)).fetchone()
        if row:
            return True
        self.conn.execute(
            "INSERT INTO runs (id, created_at, config, instrument_hashes, eitest_version, litellm_version, git_revision, git_dirty, command)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.created_at,
                json.dumps(record.config, sort_keys=True),
                json.dumps(record.instrument_hashes, sort_keys=True),
                record.eitest_version,
                record.litellm_version,
                record.git_revision,
                None if record.git_dirty is None else int(record.git_dirty),
                record.command,
            ),
        )
        return False

    def mark_run(
        self, run_id: str, *, started: bool = False, finished: bool = False, command: str | None = None
    ) -> None:
        if started:
            self.conn.execute("UPDATE runs SET started_at = ?, finished_at = NULL WHERE id = ?", (now(), run_id))
        if finished:
            self.conn.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (now(), run_id))
        if command:
            self.conn.execute("UPDATE runs SET command = ? WHERE id = ?", (command, run_id))

    def runs(self) -> list[RunRecord]:
        rows = self.conn.execute("SELECT * FROM runs ORDER BY created_at").fetchall()
        return [_run_record(r) for r in rows]

    def run(self, run_id: str) -> RunRecord:
        rows = self.conn.execute("SELECT * FROM runs WHERE id = ? OR id LIKE ?", (run_id, run_id + "%")).fetchall()
        if not rows:
            raise StoreError(f"no run {run_id!r} in {self.path}; 'eitest runs list --db {self.path}' shows the runs")
        if len(rows) > 1:
            raise StoreError(f"{run_id!r} matches {len(rows)} runs; give more of the id")
        return _run_record(rows[0])

    # ----------------------------------------------------------------- trials

    def finished_keys(self, run_id: str) -> set[tuple[str, str, str, int]]:
        rows = self.conn.execute(
            f"SELECT model, instrument, item_id, repetition FROM trials WHERE run_id = ? AND status IN ({','.join('?' * len(FINISHED_STATUSES))})",
            (run_id, *FINISHED_STATUSES),
        )
        return {(r[0], r[1], r[2], int(r[3])) for r in rows}

    def save_trial(self, trial: dict[str, Any]) -> None:
        """Insert or replace one trial (a retried failure replaces its earlier row); committed at once."""
        values = [trial.get(c) for c in TRIAL_COLUMNS]
        for i, c in enumerate(TRIAL_COLUMNS):
            if c in ("shown_order", "prompt") and not isinstance(values[i], str):
                values[i] = json.dumps(values[i], ensure_ascii=False)
        placeholders = ",".join("?" * len(TRIAL_COLUMNS))
        updates = ",".join(f"{c}=excluded.{c}" for c in TRIAL_COLUMNS[5:])
        self.conn.execute(
            f"INSERT INTO trials ({','.join(TRIAL_COLUMNS)}) VALUES ({placeholders}) "
            f"ON CONFLICT (run_id, model, instrument, item_id, repetition) DO UPDATE SET {updates}",
            values,
        )

    def trials(self, run_id: str | None = None) -> pd.DataFrame:
        """All trials (of one run, or of every run) as a DataFrame, one row per trial."""
        import pandas as pd

        sql = "SELECT * FROM trials" + (" WHERE run_id = ?" if run_id else "") + " ORDER BY id"
        df = pd.read_sql_query(sql, self.conn, params=(run_id,) if run_id else None)
        for col in ("shown_order", "prompt"):
            df[col] = df[col].map(lambda s: json.loads(s) if isinstance(s, str) else s)
        return df

    def run_summary(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            """SELECT r.id, r.created_at, r.finished_at, r.config,
                      COUNT(t.id) AS trials,
                      SUM(t.status = 'answered') AS answered,
                      SUM(t.status = 'error') AS failed,
                      SUM(t.cost) AS cost
               FROM runs r LEFT JOIN trials t ON t.run_id = r.id
               GROUP BY r.id ORDER BY r.created_at"""
        ).fetchall()
        out = []
        for r in rows:
            cfg = json.loads(r["config"])
            out.append(
                {
                    "run": r["id"],
                    "created": r["created_at"],
                    "finished": r["finished_at"],
                    "models": ", ".join(cfg.get("models", [])),
                    "instruments": ", ".join(cfg.get("instruments", [])),
                    "trials": r["trials"],
                    "answered": r["answered"] or 0,
                    "failed": r["failed"] or 0,
                    "cost": r["cost"],
                }
            )
        return out


def _run_record(r: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=r["id"],
        config=json.loads(r["config"]),
        instrument_hashes=json.loads(r["instrument_hashes"]),
        eitest_version=r["eitest_version"],
        litellm_version=r["litellm_version"],
        git_revision=r["git_revision"],
        git_dirty=None if r["git_dirty"] is None else bool(r["git_dirty"]),
        command=r["command"],
        created_at=r["created_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
    )


class Results:
    """A store opened for reading, for notebooks: ``eitest.open_results(path).trials``."""

    def __init__(self, path: str | Path):
        self._store = Store(path, create=False)
        self.path = self._store.path

    @property
    def trials(self) -> pd.DataFrame:
        return self._store.trials()

    @property
    def runs(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([r.__dict__ for r in self._store.runs()])

    def close(self) -> None:
        self._store.close()


def open_results(path: str | Path) -> Results:
    return Results(path)
