"""A run estimates its tokens and cost only when someone reads them: the plan's viewer or the budget."""

from __future__ import annotations

from pathlib import Path

import pytest

import eitest.client
from eitest.administer.runner import BudgetExceeded, run_study
from eitest.administer.study import Study


@pytest.fixture
def counted(monkeypatch) -> list[str]:
    """The model of each prompt the plan's estimate counts tokens of."""
    seen: list[str] = []
    count = eitest.client.count_tokens

    def counting(model, messages):
        seen.append(model)
        return count(model, messages)

    monkeypatch.setattr(eitest.client, "count_tokens", counting)
    return seen


# A model with a price (the offline responders are free and never counted); nothing listens on port 9.
STUDY = Study(models=["openai/gpt-4o-mini"], instruments=["open-steu"], api_base="http://127.0.0.1:9/v1", max_retries=0)


def test_the_plans_viewer_sees_the_estimate(tmp_path: Path, counted):
    seen = []

    def look(plan) -> bool:
        seen.append(dict(plan.estimate_tokens))
        return False  # not confirmed: nothing is called

    out = run_study(STUDY, tmp_path / "a.db", on_plan=look)
    assert out.stopped == "not confirmed" and len(counted) == 45  # one count per item
    ((model, (prompt, completion)),) = seen[0].items()
    assert model == "openai/gpt-4o-mini" and prompt > 45 * 50 and completion > 0


def test_a_budget_is_held_to_the_estimate(tmp_path: Path, counted):
    with pytest.raises(BudgetExceeded, match="exceeds --max-cost"):
        run_study(STUDY.model_copy(update={"max_cost": 1e-9}), tmp_path / "b.db")
    assert len(counted) == 45


def test_a_run_nobody_reads_the_estimate_of_makes_none(tmp_path: Path, counted):
    out = run_study(STUDY, tmp_path / "c.db")
    assert out.called == 45 and counted == []  # the calls were made (and failed: no server), no tokens counted
