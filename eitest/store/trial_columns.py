"""Reading trials lean: into Arrow columns, JSON columns decoded once per distinct text, texts by trial id.

Helpers of :meth:`eitest.store.Store.trials` and :meth:`~eitest.store.Store.trial_texts`.
A store's file is read by the ADBC SQLite driver in a child process (:func:`arrow_frame`);
where it cannot be (a migrated copy in memory, rows this connection has not committed,
values of unexpected types), Python's ``sqlite3`` reads it, with the repeated columns packed.
Both give the frame ``pandas.read_sql_query`` would (``tests/store/test_packed_read.py``).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from eitest.store import trial

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MAX_PARAMETERS = 500  # ids bound per query, well under SQLite's limit
CHUNK_ROWS = 50_000  # rows converted at a time: a million rows never exist as Python objects all at once
# Text columns whose values repeat from trial to trial (a run's models and items, statuses, choices). SQLite
# packs them into one JSON array per row (json_array: NULLs, quotes and control characters kept exactly), so
# a row costs one Python string instead of one per column, and each distinct array is decoded once.
REPEATED = (
    "run_id", "model", "instrument", "item_id", "protocol", "protocol_version", "option_order", "model_returned",
    "finish_reason", "status", "parse_rule", "chosen_option", "text_repaired",
)  # fmt: skip
_PACKED = "eitest_repeated_columns"  # the packed column's name in the query: no trial column is named so


def decoded(texts: pd.Series) -> pd.Series:
    """JSON text decoded, each distinct text once: a store repeats a few option orders a million times.

    Rows that held the same text share one decoded value: treat the values as read-only.
    """
    import pandas as pd

    values = distinct_objects(texts, lambda u: json.loads(u) if isinstance(u, str) else u, missing=None)
    return pd.Series(values, index=texts.index, name=texts.name)


def distinct_objects(values: pd.Series, convert: Any = None, *, missing: Any = ...) -> np.ndarray:
    """A text column as a numpy object array holding one Python object per distinct value (``convert(value)``, if given).

    For text, what ``to_numpy(dtype=object)`` gives, without a new object per row: a million
    trials hold a few hundred distinct item ids or choices, and a million strings made and
    freed leave their memory with the process. A missing value is ``missing`` (by default
    the column's own: NaN for pandas' text). Not for numbers: factorizing merges 1, 1.0 and
    True, and makes every missing value one.
    """
    import numpy as np

    codes, uniques = values.factorize()
    out = np.empty(len(uniques) + 1, dtype=object)  # filled by hand: numpy would make equal-length lists 2-D
    for i, u in enumerate(uniques):
        out[i] = convert(u) if convert is not None else u
    out[-1] = getattr(values.dtype, "na_value", None) if missing is ... else missing  # code -1: a missing value
    return out[codes]


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


def read_trials(
    conn: sqlite3.Connection, columns: Sequence[str] | None, run_id: str | None = None, *, uri: str | None = None
) -> pd.DataFrame:
    """``id`` and ``columns`` (every column when None) of the trials (of run ``run_id``, or all), in id order.

    The same frame as :func:`read_frame` of the plain query gives, read faster. With
    ``uri`` (the store's file, read-only, its schema current) and :data:`ARROW_MIN_ROWS`
    trials or more, the rows are read into Arrow columns by the ADBC SQLite driver in child
    processes (:func:`arrow_frame`), which make no Python object per value. Otherwise, or
    where that reading cannot give the plain frame, the :data:`REPEATED` columns come
    packed (see there); a store whose values JSON cannot hold (a BLOB) is read plainly.
    """
    if columns is None:
        names = [d[0] for d in conn.execute("SELECT * FROM trials LIMIT 0").description]
    else:
        names = column_list(["id", *columns]).split(",")
    where, params = (" WHERE run_id = ?", (run_id,)) if run_id else ("", ())
    packed = [c for c in names if c in REPEATED]
    plain = f"SELECT {','.join(names)} FROM trials{where} ORDER BY id"
    low, high = conn.execute("SELECT (SELECT min(id) FROM trials), (SELECT max(id) FROM trials)").fetchone()
    large = high is not None and high >= ARROW_MIN_ROWS
    if uri is not None and large:
        pages, page = conn.execute("PRAGMA page_count").fetchone()[0], conn.execute("PRAGMA page_size").fetchone()[0]
        if (frame := arrow_frame(uri, names, run_id, low=low, high=high, size=pages * page)) is not None:
            return frame
    if len(packed) < 2:
        return read_frame(conn, plain, params)
    rest = [c for c in names if c not in packed]
    sql = f"SELECT {','.join(rest)}, json_array({','.join(packed)}) AS {_PACKED} FROM trials{where} ORDER BY id"
    arrays: dict[str, int] = {}  # each distinct packed array, by its code
    try:
        frame = read_frame(conn, sql, params, packed=arrays)
    except sqlite3.OperationalError:  # a BLOB among them (or an SQLite without JSON): the plain query
        return read_frame(conn, plain, params)
    import numpy as np
    import pandas as pd

    unpacked = _unpacked(frame.pop(_PACKED).to_numpy(dtype=np.int64), list(arrays), packed)
    return pd.DataFrame({c: unpacked[c] if c in unpacked else frame[c] for c in names}, copy=False)


# What the ADBC driver gives a column of each declared type when it gives what a plain read would:
# numbers (INTEGER affinity keeps a fraction as a REAL, which both readings make float64) or text.
_ARROW_TYPES = {"INTEGER": ("int64", "double"), "REAL": ("double",), "TEXT": ("large_string",)}
# The reader waits this long for a lock; then the plain read waits (BUSY_TIMEOUT_S) and says what holds it.
_READER_BUSY_MS = 5_000
# From this many trials on, the child process (0.3 s to start) pays: below, sqlite3 reads them as fast.
ARROW_MIN_ROWS = 20_000
PARALLEL_ROWS = 200_000  # from this many trials on, id ranges are read by one process each
MAX_READERS = 2
READER_FOLDER: str | None = None  # where the readers leave their files (None: shared memory if it has room)
_FILES = "eitest-trials-"  # a reader's file: eitest-trials-<pid of the analysis>-<uuid>.arrow (and .arrow.text)
ORPHAN_AGE_S = 300.0  # a reader's file of a dead process untouched this long is deleted by the next read
SHARED_MEMORY = "/dev/shm"


def arrow_frame(
    uri: str, names: Sequence[str], run_id: str | None = None, *, low: int = 1, high: int = 0, size: int = 0
) -> pd.DataFrame | None:
    """The trials' ``names`` (of run ``run_id``) in id order, read by ADBC as :func:`read_frame` reads them; or None.

    The ADBC SQLite driver reads the rows into Arrow columns, with no Python object per
    value, in child processes (:mod:`eitest.store.arrow_reader` says why), each a range of
    the ids ``low..high`` when the store is large, each handing back an Arrow file that is
    mapped here, not copied: in shared memory when it has room for ``size`` bytes (the
    store's), else in the temporary folder (where the files a killed analysis left are
    deleted first: :func:`_remove_orphans`). None when the driver is not installed, a query
    fails (a lock, a damaged file: the plain read then says what is wrong), text is not
    UTF-8, nothing matches, or a column holds a value that a plain read types differently
    (text or a BLOB in a number column, a BLOB in a text column, a column eitest does not
    know).
    """
    import os
    import tempfile
    import uuid
    from pathlib import Path

    try:
        import pyarrow as pa
    except ImportError:
        return None
    parts = max(1, min(MAX_READERS, os.cpu_count() or 1)) if high - low >= PARALLEL_ROWS else 1
    edges = [low + (high + 1 - low) * i // parts for i in range(parts)] + [high + 1]
    folder = Path(READER_FOLDER or _shared_memory(size) or tempfile.gettempdir())
    _remove_orphans(folder)
    paths = [folder / f"{_FILES}{os.getpid()}-{uuid.uuid4().hex}.arrow" for _ in range(parts)]
    children: list[subprocess.Popen[str]] = []
    try:
        for path, start, stop in zip(paths, edges[:-1], edges[1:], strict=True):
            where: list[tuple[str, str | int]] = [("run_id = ?", run_id)] if run_id else []
            where += [("id >= ?", start), ("id < ?", stop)] if parts > 1 else []
            sql = f"SELECT {','.join(names)} FROM trials"
            sql += (" WHERE " + " AND ".join(w for w, _ in where) if where else "") + " ORDER BY id"
            request = {"uri": uri, "sql": sql, "params": [v for _, v in where], "busy_ms": _READER_BUSY_MS,
                       "path": str(path)}  # fmt: skip
            children.append(_reader(request))
        if any(child.wait() != 0 for child in children):  # all read at once; each waited for in turn
            return None
        tables = []
        for path in paths:  # the text mapped (the mapping lives on in the frame), the numbers read
            with pa.memory_map(f"{path}.text") as mapped, pa.OSFile(str(path)) as file:
                texts, others = pa.ipc.open_file(mapped).read_all(), pa.ipc.open_file(file).read_all()
            columns = dict(zip(texts.column_names, texts.columns, strict=True))
            columns |= dict(zip(others.column_names, others.columns, strict=True))
            tables.append(pa.table({name: columns[name] for name in names}))
    except (pa.ArrowInvalid, OSError):
        return None
    finally:
        for child in children:
            if child.poll() is None:  # interrupted: no reader outlives the read
                child.kill()
                child.wait()
        for path in paths:
            path.unlink(missing_ok=True)
            Path(f"{path}.text").unlink(missing_ok=True)
    return _arrow_to_pandas(tables)


def _remove_orphans(folder: Any) -> None:
    """Delete the reader files of analyses that were killed (SIGKILL, the OOM killer) before they could.

    In shared memory such a file holds the machine's memory until it restarts. Each file is
    named after the process that reads it; one whose process is gone and that nothing has
    written for :data:`ORPHAN_AGE_S` is an orphan (the age: a process of the same number in
    another PID namespace sharing the folder may still be reading it).
    """
    import os
    import time

    if os.name != "posix":  # os.kill(pid, 0) asks after a process only on POSIX (on Windows 0 is CTRL_C_EVENT)
        return
    for path in folder.glob(f"{_FILES}*.arrow*"):
        owner = path.name.removeprefix(_FILES).split("-", 1)[0]
        try:
            if not owner.isdigit() or time.time() - path.stat().st_mtime < ORPHAN_AGE_S:
                continue
            os.kill(int(owner), 0)  # signal 0: is the process there? (another user's: PermissionError, kept)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except (OSError, OverflowError):
            continue


def _reader(request: dict[str, Any]) -> subprocess.Popen[str]:
    """A reader process (:mod:`eitest.store.arrow_reader`) started on ``request``."""
    import sys
    from pathlib import Path

    command = [sys.executable, str(Path(__file__).with_name("arrow_reader.py"))]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             text=True)  # fmt: skip
    assert child.stdin is not None
    child.stdin.write(json.dumps(request) + "\n")
    child.stdin.close()
    return child


def _shared_memory(size: int) -> str | None:
    """``/dev/shm`` when it is there with room for ``size`` bytes, else None."""
    import os

    try:
        room = os.statvfs(SHARED_MEMORY)
    except OSError:
        return None
    return SHARED_MEMORY if room.f_bavail * room.f_frsize > size else None


def _arrow_to_pandas(tables: list[Any]) -> pd.DataFrame | None:
    """The tables (one per id range, in order) as one frame typed as a plain read types it; None if it cannot be."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    n_rows = sum(t.num_rows for t in tables)
    if n_rows == 0:
        return None
    declared = {f.name: f.metadata["sql"].split()[0] for f in trial.FIELDS} | {"id": "INTEGER"}
    if not set(tables[0].column_names) <= set(declared):
        return None  # a column added to the store by hand: its type is the plain read's to choose
    out = {}
    for name in tables[0].column_names:
        pieces = [t.column(name) for t in tables]
        tables = [t.drop_columns([name]) for t in tables]  # each column's buffers freed once converted
        typed = [p for p in pieces if p.null_count < len(p)]  # a range NULL throughout says nothing of its type
        kinds = {str(p.type) for p in typed}
        if not typed:
            out[name] = pd.Series(np.full(n_rows, None, dtype=object), name=name)
            continue
        if not kinds <= set(_ARROW_TYPES[declared[name]]):
            return None
        # whole numbers beside fractions: floats; text comes with pandas' 64-bit offsets (the reader's cast)
        target = pa.float64() if "double" in kinds else typed[0].type
        values = pa.chunked_array([c for p in pieces for c in p.cast(target).chunks], type=target)
        out[name] = values.to_pandas()
        del pieces, typed, values
    pa.default_memory_pool().release_unused()
    return pd.DataFrame(out, copy=False)


def _unpacked(codes: np.ndarray, arrays: list[str], names: list[str]) -> dict[str, pd.Series]:
    """The columns ``names`` packed in JSON ``arrays``, row by row ``arrays[codes]``, each typed as a plain read types it.

    A column's type is chosen from its values as they occur, not from how often: the
    distinct values, converted as :func:`read_frame` converts, give the column's type and
    its values, which each row then takes by its array's code.
    """
    import pandas as pd

    rows = [json.loads(u) for u in arrays]
    out = {}
    for i, name in enumerate(names):
        typed = pd.DataFrame.from_records([(r[i],) for r in rows], columns=[name], coerce_float=True)[name]
        out[name] = pd.Series(typed.array.take(codes), name=name)
    return out


def read_frame(
    conn: sqlite3.Connection,
    sql: str,
    params: Sequence[Any] = (),
    chunk: int = CHUNK_ROWS,
    *,
    packed: dict[Any, int] | None = None,
) -> pd.DataFrame:
    """The rows of ``sql`` as a DataFrame with ``pandas.read_sql_query``'s dtypes, converted chunk by chunk.

    ``read_sql_query`` holds every row as a tuple of Python objects before it converts
    them; a million trials took 2 GB that way. Here each chunk is converted at once
    (the same conversion, ``DataFrame.from_records(coerce_float=True)``) and the chunks'
    dtypes are then made to agree as one conversion of all rows would have chosen.

    With ``packed`` (a dict, filled here), the query's last column is not converted:
    each distinct value gets a code (its place in ``packed``) and the column holds the
    rows' codes, ``int64``.
    """
    import numpy as np
    import pandas as pd

    cursor = conn.execute(sql, tuple(params))
    columns = [d[0] for d in cursor.description]
    converted = columns if packed is None else columns[:-1]
    pieces: list[list[pd.Series]] = [[] for _ in columns]  # per column, its chunks
    while rows := cursor.fetchmany(chunk):
        if packed is not None:
            codes = np.fromiter((packed.setdefault(r[-1], len(packed)) for r in rows), np.int64, len(rows))
            pieces[-1].append(pd.Series(codes))
            rows = [r[:-1] for r in rows]
        frame = pd.DataFrame.from_records(rows, columns=converted, coerce_float=True)
        del rows
        for i in range(len(converted)):
            pieces[i].append(frame.iloc[:, i])
        del frame
    if not pieces or not pieces[0]:
        return pd.DataFrame.from_records([], columns=columns, coerce_float=True)
    joined = {}
    for i in range(len(columns)):  # by position: a query may name a column twice
        column, pieces[i] = pieces[i], []  # each column's chunks freed once joined: memory peaks at one column
        target = _common_dtype(column) if len(column) > 1 else None
        if target is not None:
            column = [_as(c, target) for c in column]
        joined[i] = pd.concat(column, ignore_index=True) if len(column) > 1 else column[0].reset_index(drop=True)
        del column
    out = pd.DataFrame(joined, copy=False)
    out.columns = pd.Index(columns)
    return out


def _common_dtype(pieces: list[pd.Series]) -> Any:
    """The dtype one conversion of all the pieces' values would give, when the pieces disagree (else None).

    A chunk whose values are all NULL is ``object``; with numbers in other chunks the
    whole column is ``float64`` (NULL as NaN), with text pandas' string dtype (NULL as
    NaN); numbers and text together stay ``object``.
    """
    import numpy as np

    first = pieces[0].dtype
    if all(p.dtype == first for p in pieces):
        return None
    typed = [p.dtype for p in pieces if not (_is_object(p.dtype) and p.isna().all())]
    if any(_is_object(d) for d in typed):
        return np.dtype(object)
    if all(isinstance(d, np.dtype) and d.kind in "iuf" for d in typed):
        return np.dtype("float64")
    if all(d == typed[0] for d in typed):
        return typed[0]  # text
    return np.dtype(object)


def _as(piece: pd.Series, dtype: Any) -> pd.Series:
    import numpy as np
    import pandas as pd

    if _is_object(piece.dtype) and piece.isna().all() and not _is_object(dtype):
        return pd.Series(np.full(len(piece), np.nan), index=piece.index, name=piece.name).astype(dtype)
    return piece.astype(dtype)


def _is_object(dtype: Any) -> bool:
    """Numpy's object dtype (pandas' string dtype is not)."""
    import numpy as np

    return isinstance(dtype, np.dtype) and dtype.kind == "O"
