"""The store's timestamps: what ``datetime.isoformat`` writes, to the millisecond, however the second falls."""

from __future__ import annotations

import types
from datetime import UTC, datetime

import pytest

from eitest.store import database


@pytest.mark.parametrize(
    "ns",
    [
        0,
        999_999_999,  # the last millisecond of a second, truncated as isoformat truncates
        1_000_000_000,
        1_764_644_648_123_456_789,
        1_764_644_648_999_999_999,
        1_764_644_649_000_000_000,
        1_767_225_599_999_000_000,  # the last millisecond of a year
        1_767_225_600_000_000_000,
    ],
)
def test_now_writes_what_isoformat_writes(monkeypatch, ns):
    monkeypatch.setattr(database, "time", types.SimpleNamespace(time_ns=lambda: ns))
    monkeypatch.setattr(database, "_second", (-1, ""))
    seconds, micros = divmod(ns // 1000, 1_000_000)
    expected = datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros).isoformat(timespec="milliseconds")
    assert database.now() == expected
    assert database.now() == expected  # the second's cached date and time give the same text


def test_a_new_second_is_formatted_anew(monkeypatch):
    clock = iter([1_764_644_648_500_000_000, 1_764_644_649_001_000_000, 1_764_730_000_000_000_000])
    monkeypatch.setattr(database, "time", types.SimpleNamespace(time_ns=lambda: next(clock)))
    assert [database.now() for _ in range(3)] == [
        "2025-12-02T03:04:08.500+00:00",
        "2025-12-02T03:04:09.001+00:00",
        "2025-12-03T02:46:40.000+00:00",
    ]
