"""The collector's part in a run: objects made before it frozen while it runs and given back after; young ones collected less often."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.client.event_loop import YOUNG_THRESHOLD, fewer_young_collections, older_objects_frozen


@pytest.fixture(autouse=True)
def nothing_frozen():
    gc.unfreeze()  # no test here starts with, or leaves, objects frozen
    yield
    gc.unfreeze()


def test_objects_made_before_are_frozen_inside_and_given_back_after() -> None:
    before = object()
    with older_objects_frozen() as froze:
        assert froze is True
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # at least the interpreter's and the test session's objects
        made_inside = [object() for _ in range(10)]  # tracked after the freeze: not frozen
        assert gc.get_freeze_count() <= frozen  # none of them joined (one frozen before may have died)
        assert gc.is_tracked(made_inside)
    assert gc.get_freeze_count() == 0
    assert before is not None


def test_a_freeze_made_by_someone_else_is_left_as_it_was() -> None:
    gc.freeze()
    with older_objects_frozen() as froze:
        assert froze is False
    # Not undone by the block, which would leave none frozen. (A frozen object that dies meanwhile, another
    # thread's in a pytest worker, leaves the permanent generation: the count is no exact measure.)
    assert gc.get_freeze_count() > 0


def test_a_cycle_that_becomes_garbage_during_the_block_is_collected_after_it() -> None:
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    with older_objects_frozen():
        a = b = None  # garbage now, but frozen: the collector does not look at it
        gc.collect()
        assert alive() is not None
    gc.collect()
    assert alive() is None


def test_a_run_administers_its_trials_with_the_objects_before_it_frozen(tmp_path: Path) -> None:
    seen: list[int] = []
    study = Study(models=["eitest/oracle"], instruments=["open-steu"], reps=1, concurrency=4)
    outcome = run_study(study, tmp_path / "s.db", on_trial=lambda t: seen.append(gc.get_freeze_count()))
    assert outcome.called == outcome.planned == len(seen) > 0
    assert min(seen) > 1000
    assert gc.get_freeze_count() == 0


@pytest.fixture
def default_threshold():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


def test_young_objects_are_collected_less_often_inside_and_as_before_after(default_threshold) -> None:
    with fewer_young_collections() as changed:
        assert changed is True
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
        young_before = gc.get_stats()[0]["collections"]
        kept = []
        for _ in range(5 * 700):  # five default thresholds' worth of new objects kept alive: no young collection
            kept.append([])
        assert gc.get_stats()[0]["collections"] == young_before
    assert gc.get_threshold() == (700, 10, 10)


def test_a_collector_set_by_its_owner_is_left_as_it_was(default_threshold) -> None:
    gc.set_threshold(50_000, 10, 10)  # collects less often already
    with fewer_young_collections() as changed:
        assert changed is False and gc.get_threshold() == (50_000, 10, 10)
    gc.set_threshold(700, 10, 10)
    gc.disable()
    try:
        with fewer_young_collections() as changed:
            assert changed is False and gc.get_threshold() == (700, 10, 10)
    finally:
        gc.enable()
    with fewer_young_collections():
        gc.set_threshold(2000, 10, 10)  # changed inside the block by someone else: kept
    assert gc.get_threshold() == (2000, 10, 10)


def test_a_run_administers_its_trials_with_young_objects_collected_less_often(
    tmp_path: Path, default_threshold
) -> None:
    seen: list[int] = []
    study = Study(models=["eitest/oracle"], instruments=["open-steu"], reps=1, concurrency=4)
    outcome = run_study(study, tmp_path / "s.db", on_trial=lambda t: seen.append(gc.get_threshold()[0]))
    assert outcome.called == len(seen) > 0 and set(seen) == {YOUNG_THRESHOLD}
    assert gc.get_threshold() == (700, 10, 10)
