"""The child process that reads a store's trials into Arrow columns, with the ADBC SQLite driver.

Run by :func:`eitest.store.trial_columns.arrow_frame` as a script (``python arrow_reader.py``),
never imported by eitest: it imports nothing of eitest, so that it starts fast. It reads one
JSON line from stdin (``{"uri", "sql", "params", "busy_ms", "path"}``) and writes the rows as
two Arrow IPC files: the text columns (with pandas' 64-bit offsets) to ``path + ".text"``,
which the caller maps (no copy), and the others to ``path``, which the caller reads (a
column of numbers is copied on its way into pandas, and a mapped copy would stay in
memory). The caller deletes both. Through a pipe, a million trials took a second longer.

Why a process of its own: ``adbc_driver_sqlite`` carries its own SQLite library, and two
SQLite libraries in one process break each other's file locks (POSIX locks belong to the
process: when one library closes the file or ends a read, the other's locks on it are gone;
https://www.sqlite.org/howtocorrupt.html, section 2.2). In its own process the driver is
one more reader of the file, as a notebook is.

It speaks to the driver through ``adbc_driver_manager``'s low-level statements, not its DB-API
module, which imports pyarrow.dataset and so pandas: 0.45 s at each reader's start instead of 0.2.

Exit status: 0 (the file was written), 3 (text that is not UTF-8: a damaged store, which
the caller's own reading then names), 4 (the driver is not installed), 5 (the query failed), 6 (the file could not be written).
"""

from __future__ import annotations

import json
import sys

# One Arrow batch for the query: the driver chooses a column's type from the rows of its first batch.
ALL_ROWS = 1_000_000_000


def main() -> int:
    request = json.loads(sys.stdin.readline())
    try:
        import adbc_driver_manager as adbc
        import adbc_driver_sqlite
        import pyarrow as pa
    except ImportError:
        return 4
    try:
        with adbc_driver_sqlite.connect(request["uri"]) as database, adbc.AdbcConnection(database) as conn:
            with adbc.AdbcStatement(conn) as pragma:
                pragma.set_sql_query(f"PRAGMA busy_timeout = {int(request['busy_ms'])}")
                pragma.execute_update()
            with adbc.AdbcStatement(conn) as query:
                query.set_options(**{"adbc.sqlite.query.batch_rows": str(ALL_ROWS)})
                query.set_sql_query(request["sql"])
                if params := request["params"]:  # one row of parameters, one column each
                    query.bind(
                        pa.record_batch([pa.array([v]) for v in params], names=[str(i) for i in range(len(params))])
                    )
                stream, _ = query.execute_query()
                table = pa.RecordBatchReader.from_stream(stream).read_all()
    except (adbc.Error, OSError):
        return 5
    for column in table.columns:
        if pa.types.is_string(column.type):
            try:
                column.validate(full=True)
            except pa.ArrowInvalid:
                return 3
    text = [i for i, c in enumerate(table.columns) if pa.types.is_string(c.type)]
    texts = pa.table({table.column_names[i]: table.column(i).cast(pa.large_string()) for i in text})
    others = table.drop_columns([table.column_names[i] for i in text])
    try:
        for part, path in ((texts, request["path"] + ".text"), (others, request["path"])):
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, part.schema) as writer:
                writer.write_table(part)
    except OSError:  # a full disk: the caller reads the store itself
        return 6
    return 0


if __name__ == "__main__":
    sys.exit(main())
