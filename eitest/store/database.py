"""The SQLite store: runs and trials, each finished trial committed at once.

Schema changes are an append-only list of numbered migrations
(:mod:`eitest.store.migrations`), applied on every open and tracked in
``PRAGMA user_version``. WAL mode lets a reader (a notebook,
``eitest analyze``) open the file while a run writes to it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eitest.secrets import redact_url, redact_urls
from eitest.store import trial, trial_columns
from eitest.store.migrations import MIGRATIONS
from eitest.store.opening import StoreError, check_path, connect, file_uri, memory_copy, quick_check, store_errors
from eitest.store.snapshots import RunInstruments, UnresolvedInstrument, catalogue_match, snapshot_json
from eitest.store.trial import Trial, storable_text
from eitest.store.trial_writes import trial_row, upsert_sql
from eitest.version import __version__

if TYPE_CHECKING:
    import pandas as pd

    from eitest.instruments import Instrument

TRIAL_COLUMNS = trial.COLUMNS
FINISHED_STATUSES = trial.FINISHED_STATUSES  # from eitest.vocabulary


def now() -> str:
    """The time in UTC to the millisecond, as ISO 8601 writes it: ``2026-12-02T03:04:08.123+00:00``.

    Twice a trial, so the date and time of the current second are formatted once a second
    (``datetime.isoformat`` each time took 20 us in a run at 32 connections, its caches cold).
    """
    global _second
    second, milli = divmod(time.time_ns() // 1_000_000, 1000)
    cached = _second  # read once: another thread may put a later second in its place meanwhile
    if cached[0] != second:
        cached = _second = (second, datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")[:19])
    return cached[1] + _MILLIS[milli]


_second: tuple[int, str] = (-1, "")  # the second last formatted, and its date and time
_MILLIS = tuple(f".{m:03d}+00:00" for m in range(1000))


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
    """One SQLite file of runs and trials.

    ``create`` opens it to write (a run): the file is created if missing, and must be
    writable. Without it the store is opened to read, and must exist; a read-only file
    is then read as it is (``read_only``), migrated in memory when its schema is older.
    """

    def __init__(self, path: str | Path, *, create: bool = True):
        self.path = Path(path)
        check_path(self.path, write=create)
        self.conn, self.read_only = connect(self.path, write=create)
        self._on_file = True  # the connection reads the file itself (not a migrated copy in memory)
        self._reader_uri = file_uri(self.path, "mode=ro")  # resolved now: a later chdir changes no store
        try:
            self._migrate(create)
        except BaseException:
            self.conn.close()
            raise
        self.conn.execute("PRAGMA foreign_keys=ON")

    @store_errors
    def _migrate(self, create: bool) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables:
                raise StoreError(
                    f"{self.path} is an SQLite database, but not an eitest store (tables: {', '.join(sorted(tables))}); "
                    "give the path of an eitest store as --db"
                )
            if not create:
                raise StoreError(f"{self.path} is empty: it holds no eitest runs")
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} was made by a newer eitest (schema {version}; this eitest {__version__} knows schemas "
                f"up to {len(MIGRATIONS)}); upgrade eitest (pip install -U eitest) to use it"
            )
        if self.read_only and version < len(MIGRATIONS):
            self.conn = memory_copy(self.conn)  # the file stays as it is; this session reads the migrated copy
            self._on_file = False
        for number in range(version, len(MIGRATIONS)):
            # One script, one transaction: a migration applies whole or not at all.
            self.conn.executescript(f"BEGIN;\n{MIGRATIONS[number]}\nPRAGMA user_version = {number + 1};\nCOMMIT;")

    def close(self) -> None:
        self.conn.close()

    @store_errors
    def check_intact(self) -> None:
        """Refuse (:class:`StoreError`, with how to recover) a damaged store, before a run adds to it."""
        quick_check(self.conn, self.path)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- runs

    @store_errors
    def ensure_run(self, record: RunRecord) -> bool:
        """Create the run if new; return True when it already existed (a resume).

        Credentials in its base URL (config ``api_base``) and in its command line are
        blanked (:func:`eitest.secrets.redact_url`): the store never holds them.
        """
        if self.has_run(record.id):
            return True
        config = dict(record.config)
        if config.get("api_base"):
            config["api_base"] = redact_url(config["api_base"])
        self.conn.execute(
            "INSERT INTO runs (id, created_at, config, instrument_hashes, eitest_version, litellm_version, git_revision, git_dirty, command)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                record.created_at,
                json.dumps(config, sort_keys=True),
                json.dumps(record.instrument_hashes, sort_keys=True),
                record.eitest_version,
                record.litellm_version,
                record.git_revision,
                None if record.git_dirty is None else int(record.git_dirty),
                None if record.command is None else storable_text(redact_urls(record.command)),
            ),
        )
        return False

    @store_errors
    def has_run(self, run_id: str) -> bool:
        """Whether the store holds a run of exactly this id."""
        return self.conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None

    @store_errors
    def mark_run(
        self, run_id: str, *, started: bool = False, finished: bool = False, command: str | None = None
    ) -> None:
        if started:
            self.conn.execute("UPDATE runs SET started_at = ?, finished_at = NULL WHERE id = ?", (now(), run_id))
        if finished:
            self.conn.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (now(), run_id))
        if command:
            self.conn.execute("UPDATE runs SET command = ? WHERE id = ?", (storable_text(redact_urls(command)), run_id))

    @store_errors
    def add_to_config(self, run_id: str, key: str, entries: dict[str, Any]) -> None:
        """Merge ``entries`` into the run's config mapping ``key``: what the run learned while it ran."""
        row = self.conn.execute("SELECT config FROM runs WHERE id = ?", (run_id,)).fetchone()
        config = json.loads(row[0])
        config[key] = {**(config.get(key) or {}), **entries}
        self.conn.execute("UPDATE runs SET config = ? WHERE id = ?", (json.dumps(config, sort_keys=True), run_id))

    @store_errors
    def runs(self) -> list[RunRecord]:
        rows = self.conn.execute("SELECT * FROM runs ORDER BY created_at").fetchall()
        return [_run_record(r) for r in rows]

    @store_errors
    def run(self, run_id: str) -> RunRecord:
        rows = self.conn.execute("SELECT * FROM runs WHERE id = ? OR id LIKE ?", (run_id, run_id + "%")).fetchall()
        if not rows:
            raise StoreError(f"no run {run_id!r} in {self.path}; 'eitest runs list --db {self.path}' shows the runs")
        if len(rows) > 1:
            raise StoreError(f"{run_id!r} matches {len(rows)} runs; give more of the id")
        return _run_record(rows[0])

    # ----------------------------------------------------------------- trials

    @store_errors
    def finished_keys(self, run_id: str) -> set[tuple[str, str, str, int]]:
        rows = self.conn.execute(
            f"SELECT model, instrument, item_id, repetition FROM trials WHERE run_id = ? AND status IN ({','.join('?' * len(FINISHED_STATUSES))})",
            (run_id, *FINISHED_STATUSES),
        )
        return {(r[0], r[1], r[2], int(r[3])) for r in rows}

    @store_errors
    def save_trial(self, record: Trial) -> None:
        """Insert or replace one trial (a retried failure replaces its earlier row); committed at once.

        Text that UTF-8 cannot hold is written out first (:meth:`Trial.storable`), so any
        reply can be stored.
        """
        row = trial_row(record)
        self.conn.execute(upsert_sql(tuple(row)), tuple(row.values()))

    @store_errors
    def trial_records(self, run_id: str) -> list[Trial]:
        """The trials of one run as :class:`Trial` records, in the order they were stored."""
        rows = self.conn.execute(
            f"SELECT {','.join(trial.COLUMNS)} FROM trials WHERE run_id = ? ORDER BY id", (run_id,)
        )
        return [Trial.from_row(r) for r in rows]

    @store_errors
    def trials(self, run_id: str | None = None, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """All trials (of one run, or of every run), one row each; with ``columns``, only those and ``id``."""
        # Another process reads the file fast (see read_trials): only what this connection has committed is there.
        uri = self._reader_uri if self._on_file and not self.conn.in_transaction else None
        df = trial_columns.read_trials(self.conn, columns, run_id, uri=uri)
        for col in trial.JSON_COLUMNS:
            if col in df.columns:
                df[col] = trial_columns.decoded(df[col])
        return df

    # ----------------------------------------------------------------- instruments

    @store_errors
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
                        snapshot_json(inst),
                        now(),
                    ),
                )

    @store_errors
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
                inst = catalogue_match(record, inst_id, digest, catalogue)
                recovered.append(inst)
            elif inst.id != inst_id:
                raise StoreError(
                    f"{self.path}: run {record.id} used {inst_id} (content hash {digest[:12]}), but the store "
                    f"holds {inst.id} under that hash; the store has been altered"
                )
            found[inst_id] = inst
        if recovered and not self.read_only:  # a read-only store resolves them again next time
            self.save_instruments(recovered)
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

    @store_errors
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
    """The run as stored; credentials that a store written before eitest blanked them holds are blanked here."""
    config = json.loads(r["config"])
    if isinstance(config, dict) and isinstance(config.get("api_base"), str):
        config["api_base"] = redact_url(config["api_base"])
    return RunRecord(
        id=r["id"],
        config=config,
        instrument_hashes=json.loads(r["instrument_hashes"]),
        eitest_version=r["eitest_version"],
        litellm_version=r["litellm_version"],
        git_revision=r["git_revision"],
        git_dirty=None if r["git_dirty"] is None else bool(r["git_dirty"]),
        command=None if r["command"] is None else redact_urls(r["command"]),
        created_at=r["created_at"],
        started_at=r["started_at"],
        finished_at=r["finished_at"],
    )
