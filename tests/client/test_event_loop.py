"""The collector's part in a run: objects made before it are frozen while it runs, and given back after;
the young generation is collected less often meanwhile, and the thresholds are put back."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.client.event_loop import YOUNG_THRESHOLD, collector_for_a_run


@pytest.fixture(autouse=True)
def nothing_frozen():
    gc.unfreeze()  # no test here starts with, or leaves, objects frozen or thresholds changed
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_objects_made_before_are_frozen_inside_and_given_back_after() -> None:
    before = object()
    with collector_for_a_run() as froze:
        assert froze is True
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # at least the interpreter's and the test session's objects
        made_inside = [object() for _ in range(10)]  # tracked after the freeze: not frozen
        assert gc.get_freeze_count() == frozen
        assert gc.is_tracked(made_inside)
    assert gc.get_freeze_count() == 0
    assert before is not None


def test_a_freeze_made_by_someone_else_is_left_as_it_was() -> None:
    gc.freeze()
    theirs = gc.get_freeze_count()
    with collector_for_a_run() as froze:
        assert froze is False
    assert gc.get_freeze_count() == theirs  # not undone by the block


def test_a_cycle_that_becomes_garbage_during_the_block_is_collected_after_it() -> None:
    class Node:
        pass

    a, b = Node(), Node()
    a.other, b.other = b, a
    alive = weakref.ref(a)
    with collector_for_a_run():
        a = b = None  # garbage now, but frozen: the collector does not look at it
        gc.collect()
        assert alive() is not None
    gc.collect()
    assert alive() is None


def test_a_run_administers_its_trials_with_the_objects_before_it_frozen_and_the_young_collected_less_often(
    tmp_path: Path,
) -> None:
    seen: list[tuple[int, int]] = []
    study = Study(models=["eitest/oracle"], instruments=["open-steu"], reps=1, concurrency=4)
    gc.set_threshold(700, 10, 10)
    outcome = run_study(
        study, tmp_path / "s.db", on_trial=lambda t: seen.append((gc.get_freeze_count(), gc.get_threshold()[0]))
    )
    assert outcome.called == outcome.planned == len(seen) > 0
    assert min(frozen for frozen, _ in seen) > 1000
    assert {young for _, young in seen} == {YOUNG_THRESHOLD}
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == (700, 10, 10)


def test_the_young_generation_waits_for_more_objects_inside_and_the_thresholds_come_back_after() -> None:
    gc.set_threshold(700, 10, 10)
    with collector_for_a_run():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
        before = gc.get_stats()[0]["collections"]
        cycles = [[None] for _ in range(YOUNG_THRESHOLD // 2)]  # tracked objects, fewer than the threshold
        for c in cycles:
            c[0] = c
        assert gc.get_stats()[0]["collections"] == before  # at 700 there would have been several
    assert gc.get_threshold() == (700, 10, 10)


def test_a_collector_turned_off_or_a_higher_threshold_is_left_as_it_was() -> None:
    gc.set_threshold(YOUNG_THRESHOLD * 5, 10, 10)
    with collector_for_a_run():
        assert gc.get_threshold() == (YOUNG_THRESHOLD * 5, 10, 10)
    gc.set_threshold(0)  # threshold 0: no automatic collection
    with collector_for_a_run():
        assert gc.get_threshold()[0] == 0
    assert gc.get_threshold()[0] == 0


def test_the_thresholds_come_back_when_the_block_raises() -> None:
    gc.set_threshold(700, 10, 10)
    with pytest.raises(RuntimeError), collector_for_a_run():
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
