"""Reading rows chunk by chunk gives what one ``pandas.read_sql_query`` gives: the same values and dtypes."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from eitest.store.trial_columns import read_frame


@pytest.fixture()
def conn() -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, x REAL, s TEXT, late_n INTEGER, late_s TEXT,"
              " never TEXT, mixed)")  # fmt: skip
    rows = []
    for i in range(23):
        rows.append(
            (
                i,
                None if i % 5 == 2 else i * 3,  # NULLs in some chunks only
                None if i == 0 else i / 7,
                None if i < 6 else f"s{i % 4}",  # a first chunk of NULLs only
                None if i < 20 else i,  # numbers only in the last chunk
                None if i < 20 else "late",
                None,
                "text" if i == 21 else i,  # text and numbers in one column
            )
        )
    c.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return c


@pytest.mark.parametrize("chunk", [1, 4, 6, 50])
def test_chunks_read_as_one_read_sql_query(conn: sqlite3.Connection, chunk: int):
    sql = "SELECT * FROM t ORDER BY id"
    want = pd.read_sql_query(sql, conn)
    got = read_frame(conn, sql, chunk=chunk)
    assert list(got.dtypes.astype(str)) == list(want.dtypes.astype(str))
    pd.testing.assert_frame_equal(got, want)


def test_a_column_named_twice(conn: sqlite3.Connection):
    sql = "SELECT id, s, id, s FROM t ORDER BY id"
    pd.testing.assert_frame_equal(read_frame(conn, sql, chunk=4), pd.read_sql_query(sql, conn))


def test_no_rows_and_parameters(conn: sqlite3.Connection):
    sql = "SELECT id, s FROM t WHERE id > ? ORDER BY id"
    pd.testing.assert_frame_equal(read_frame(conn, sql, (100,)), pd.read_sql_query(sql, conn, params=(100,)))
    pd.testing.assert_frame_equal(read_frame(conn, sql, (15,), chunk=3), pd.read_sql_query(sql, conn, params=(15,)))
