"""The runner commits the trials that finish in the same turn of its loop together, and loses none."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.client import providers
from eitest.store import Store, StoreError
from eitest.store.trial_writes import GroupCommit


@pytest.fixture
def groups(monkeypatch) -> list[int]:
    """How many trials each commit the runner made held, in order."""
    sizes: list[int] = []
    save, commit = GroupCommit.save, GroupCommit.commit
    pending = [0]

    def saved(self, record):
        save(self, record)
        pending[0] += 1

    def committed(self):
        try:
            commit(self)
        except StoreError:
            pending[0] = 0  # a failed group is not a commit
            raise
        if pending[0]:
            sizes.append(pending[0])
            pending[0] = 0

    monkeypatch.setattr(GroupCommit, "save", saved)
    monkeypatch.setattr(GroupCommit, "commit", committed)
    return sizes


def in_lockstep(monkeypatch) -> None:
    """Calls that answer after one turn of the loop each, so the workers finish together, as under load."""
    real = providers.litellm_module()

    class Lockstep:
        def __getattr__(self, name):
            return getattr(real, name)

        async def acompletion(self, **kwargs):
            await asyncio.sleep(0)
            return real.ModelResponse(
                model="lockstep", choices=[{"index": 0, "message": {"role": "assistant", "content": "B"}}]
            )

    monkeypatch.setattr(providers, "_litellm", Lockstep())


def study(concurrency: int) -> Study:
    return Study(
        models=["openai/lockstep"], instruments=["open-steu"], api_base="http://127.0.0.1:9/v1", concurrency=concurrency
    )


def test_trials_finishing_in_one_turn_share_a_commit_and_all_are_stored(tmp_path: Path, monkeypatch, groups):
    in_lockstep(monkeypatch)
    out = run_study(study(8), tmp_path / "s.db")
    assert out.called == out.stored == 45 and out.failed == 0
    assert sum(groups) == 45 and groups == [8, 8, 8, 8, 8, 5]  # eight workers, one turn each
    with Store(tmp_path / "s.db") as s:
        assert len(s.trial_records(out.run_id)) == 45


def test_one_connection_commits_each_trial_as_it_finishes(tmp_path: Path, monkeypatch, groups):
    in_lockstep(monkeypatch)
    out = run_study(study(1), tmp_path / "s.db")
    assert out.stored == 45 and groups == [1] * 45


class FullAtThirdCommit:
    """A store connection whose third commit fails as SQLite's does on a full disk."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.commits = conn, 0

    def __getattr__(self, name: str):
        return getattr(self.conn, name)

    def execute(self, sql: str, *args):
        if sql == "COMMIT":
            self.commits += 1
            if self.commits == 3:
                raise sqlite3.OperationalError("database or disk is full")
        return self.conn.execute(sql, *args)


def test_a_commit_that_fails_stops_the_run_with_the_store_error(tmp_path: Path, monkeypatch, groups):
    in_lockstep(monkeypatch)
    start = GroupCommit.__init__

    def on_a_filling_disk(self, store):
        store.conn = FullAtThirdCommit(store.conn)
        start(self, store)

    monkeypatch.setattr(GroupCommit, "__init__", on_a_filling_disk)
    with pytest.raises(StoreError, match="is full .* every trial committed before this is kept"):
        run_study(study(8), tmp_path / "s.db")
    with Store(tmp_path / "s.db") as s:
        assert len(s.trials()) == 16  # the two groups committed before are kept; the failed one stays to do
    assert groups == [8, 8]  # the run stopped at the failure: no group after it
