"""The SQLite store: runs and trials, each finished trial committed at once.

Schema changes are an append-only list of numbered migrations, applied on every
open and tracked in ``PRAGMA user_version``. WAL mode lets a reader (a notebook,
``eitest analyze``) open the file while a run writes to it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eitest.errors import EitestError
from eitest.store import trial
from eitest.store.trial import Trial

if TYPE_CHECKING:
    import pandas as pd

    from eitest.instruments import Instrument

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
]

TRIAL_COLUMNS = trial.COLUMNS
FINISHED_STATUSES = trial.FINISHED_STATUSES  # from eitest.vocabulary


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StoreError(EitestError):
    pass


class UnresolvedInstrument(StoreError):
    """A run's instrument is neither in the store nor, in the version the run used, in the catalogue."""


@dataclass(frozen=True)
class RunInstruments:
    """The instruments each run used, and the runs left out because their items are not known."""

    by_run: dict[str, dict[str, Instrument]]  # run id -> instrument id -> the instrument as the run used it
    left_out: dict[str, str]  # run id -> why its items are not known


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

    def save_trial(self, record: Trial) -> None:
        """Insert or replace one trial (a retried failure replaces its earlier row); committed at once."""
        row = record.to_row()
        names = ",".join(row)
        updates = ",".join(f"{c}=excluded.{c}" for c in row if c not in trial.KEY_COLUMNS)
        self.conn.execute(
            f"INSERT INTO trials ({names}) VALUES ({','.join('?' * len(row))}) "
            f"ON CONFLICT ({','.join(trial.KEY_COLUMNS)}) DO UPDATE SET {updates}",
            list(row.values()),
        )

    def trial_records(self, run_id: str) -> list[Trial]:
        """The trials of one run as :class:`Trial` records, in the order they were stored."""
        rows = self.conn.execute(
            f"SELECT {','.join(trial.COLUMNS)} FROM trials WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [Trial.from_row(r) for r in rows]

    def trials(self, run_id: str | None = None) -> pd.DataFrame:
        """All trials (of one run, or of every run) as a DataFrame, one row per trial."""
        import pandas as pd

        sql = "SELECT * FROM trials" + (" WHERE run_id = ?" if run_id else "") + " ORDER BY id"
        df = pd.read_sql_query(sql, self.conn, params=(run_id,) if run_id else None)
        for col in trial.JSON_COLUMNS:
            df[col] = df[col].map(lambda s: json.loads(s) if isinstance(s, str) else s)
        return df

    # ----------------------------------------------------------------- instruments

    def save_instruments(self, instruments: list[Instrument]) -> None:
        """Keep the normalized content of each instrument, once per content hash."""
        with self.conn:  # one transaction: all of a run's instruments, or none
            self.conn.execute("BEGIN")
            for inst in instruments:
                self.conn.execute(
                    "INSERT OR IGNORE INTO instrument_snapshots (content_hash, instrument_id, content, stored_at)"
                    " VALUES (?, ?, ?, ?)",
                    (
                        inst.content_hash,
                        inst.id,
                        json.dumps(inst.normalized(), sort_keys=True, ensure_ascii=False),
                        now(),
                    ),
                )

    def snapshot(self, content_hash: str) -> Instrument | None:
        """The instrument stored under ``content_hash``, or None when the store has no snapshot of it."""
        from eitest.instruments import InstrumentError, parse_instrument

        row = self.conn.execute(
            "SELECT instrument_id, content FROM instrument_snapshots WHERE content_hash = ?", (content_hash,)
        ).fetchone()
        if row is None:
            return None
        altered = StoreError(
            f"{self.path}: the stored snapshot of {row['instrument_id']} no longer matches its hash "
            f"{content_hash[:12]}: the store has been altered since the run. Analyse an unaltered copy "
            "(a backup), or run the study again into a new store"
        )
        try:
            inst = parse_instrument(json.loads(row["content"]), f"{self.path}: snapshot of {row['instrument_id']}")
        except (ValueError, InstrumentError):  # not JSON, or no longer a valid instrument
            raise altered from None
        if inst.content_hash != content_hash:
            raise altered
        return inst

    def run_instruments(
        self, run_id: str, *, catalogue: Mapping[str, Instrument] | None = None
    ) -> dict[str, Instrument]:
        """The instruments run ``run_id`` used, by id, exactly as they were when it started.

        Each is the run's snapshot. A store written before snapshots were kept has none:
        then the catalogue's instrument of that id stands in when its content hash is the
        run's (and is kept as the snapshot from then on, so that later changes to the
        file no longer matter); otherwise :class:`UnresolvedInstrument` says what to put
        back. ``catalogue`` (default :func:`eitest.instruments.catalogue`) is read only
        for such runs. A snapshot that does not match its hash raises :class:`StoreError`.
        """
        record = self.run(run_id)
        found: dict[str, Instrument] = {}
        recovered: list[Instrument] = []
        for inst_id, digest in sorted(record.instrument_hashes.items()):
            inst = self.snapshot(digest)
            if inst is None:
                if catalogue is None:
                    from eitest.instruments import catalogue as current_catalogue

                    catalogue = current_catalogue()
                inst = _catalogue_match(record, inst_id, digest, catalogue)
                recovered.append(inst)
            elif inst.id != inst_id:
                raise StoreError(
                    f"{self.path}: run {record.id} used {inst_id} (content hash {digest[:12]}), but the store "
                    f"holds {inst.id} under that hash; the store has been altered"
                )
            found[inst_id] = inst
        if recovered:
            try:
                self.save_instruments(recovered)
            except sqlite3.OperationalError:  # a read-only store: resolve again next time
                pass
        return found

    def instruments_of_runs(
        self, run_ids: Iterable[str], *, picked: bool = False, catalogue: Mapping[str, Instrument] | None = None
    ) -> RunInstruments:
        """The instruments of several runs, leaving out a run whose items are not known.

        A run whose instruments cannot be resolved (:class:`UnresolvedInstrument`) is left
        out, with the reason, so that the others can still be analysed; it is an error
        instead when the user picked the runs (``picked``, e.g. ``--run``) or when no run
        is left. A store that has been altered is always an error.
        """
        by_run: dict[str, dict[str, Instrument]] = {}
        left_out: dict[str, str] = {}
        for run_id in dict.fromkeys(run_ids):
            try:
                by_run[run_id] = self.run_instruments(run_id, catalogue=catalogue)
            except UnresolvedInstrument as exc:
                if picked:
                    raise
                left_out[run_id] = str(exc)
        if not by_run and left_out:
            raise UnresolvedInstrument("\n".join(left_out.values()))
        return RunInstruments(by_run, left_out)

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


def _catalogue_match(record: RunRecord, inst_id: str, digest: str, catalogue: Mapping[str, Instrument]) -> Instrument:
    """The catalogue's instrument when it is the one the run used; never another version."""
    current = catalogue.get(inst_id)
    if current is not None and current.content_hash == digest:
        return current
    if current is None:
        now_there = f"the catalogue has no {inst_id}"
    elif current.is_metadata_only:
        now_there = f"the catalogue's {inst_id} has no items on this machine (content hash {current.content_hash[:12]})"
    else:
        now_there = f"the catalogue's {inst_id} is another version (content hash {current.content_hash[:12]})"
    from eitest.paths import user_instrument_dir

    raise UnresolvedInstrument(
        f"run {record.id} used {inst_id} with content hash {digest[:12]}; the store keeps no copy of those items "
        f"(it was written before eitest kept them) and {now_there}, so analysing it would score the run against "
        f"items it did not use. Put back the file the run used: 'eitest instruments import {inst_id} FILE' for a "
        f"published test, or a copy of your own file in {user_instrument_dir()}; a test shipped with eitest comes "
        f"back with the eitest version the run used ({record.eitest_version}). Then run the command again"
    )
