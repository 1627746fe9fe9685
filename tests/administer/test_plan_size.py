"""A plan past the documented number of trials is refused before it is built, with how to split it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import instrument_data

from eitest.administer.limits import MAX_TRIALS
from eitest.administer.plan import check_size, make_plan
from eitest.administer.study import Study, StudyError
from eitest.cli import cli
from eitest.instruments import Instrument

MODELS = ["eitest/oracle", "eitest/chance", "eitest/first", "eitest/other", "eitest/more"]


def form(n_items: int) -> Instrument:
    items = [
        {"id": f"i{n}", "stem": "S", "question": "Q?", "options": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}], "key": "a"}
        for n in range(n_items)
    ]  # fmt: skip
    return Instrument.model_validate(instrument_data(f"form-{n_items}", items))


def test_the_limit_is_two_million_trials():
    assert MAX_TRIALS == 2_000_000
    study = Study(models=MODELS[:2], instruments=["form-100"], reps=10_000)
    check_size(study, [form(100)])  # 2 x 100 x 10,000 = exactly the limit
    with pytest.raises(StudyError) as err:
        check_size(study, [form(60), form(41)])
    assert str(err.value) == (
        "this plan has 2,020,000 trials (2 model(s) x 101 item(s) in 2 instrument(s) x 10,000 repetition(s)); "
        "eitest runs at most 2,000,000 in one run: split it into several runs "
        "(fewer models, instruments or repetitions each)"
    )


def test_make_plan_refuses_before_building_or_checking_models():
    # The models are not all known responders: the size is checked first, so the size is what is said.
    study = Study(models=MODELS, instruments=["open-steu"], reps=10_000)
    with pytest.raises(StudyError, match=r"^this plan has 2,250,000 trials \(5 model\(s\) x 45 item\(s\) in 1 "):
        make_plan(study, estimate=False)


def test_run_says_so_and_exits_2(tmp_path: Path):
    args = ["run", "-i", "open-steu", "--reps", "10000", "--db", str(tmp_path / "x.db"), "-y"]
    res = CliRunner().invoke(cli, [*args, *(a for m in MODELS for a in ("-m", m))])
    assert res.exit_code == 2
    assert res.stderr.startswith("Error: this plan has 2,250,000 trials (5 model(s) x 45 item(s) in 1 instrument(s)")
    assert not (tmp_path / "x.db").exists()
