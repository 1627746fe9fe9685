"""Study fields of how calls are made: the deadline of each call, the variable that holds a custom host's key, rate limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from pydantic import ValidationError

from eitest.administer.plan import make_plan
from eitest.administer.study import Study, StudyError, load_study


@pytest.mark.parametrize("value, shown", [("0", "0.0"), ("-5", "-5.0"), (".nan", "nan"), (".inf", "inf")])
def test_a_study_file_refuses_a_timeout_that_is_not_positive(tmp_path: Path, value: str, shown: str):
    path = tmp_path / "study.yaml"
    path.write_text(f"models: [eitest/oracle]\ninstruments: [open-steu]\ntimeout_s: {value}\n")
    with pytest.raises(StudyError) as err:
        load_study(path)
    assert str(err.value) == (
        f"{path}: line 3: timeout_s: must be a number of seconds above 0 and up to 86,400"
        f" (the deadline of each call), not {shown}"
    )


def test_a_timeout_flag_of_zero_is_a_usage_error(tmp_path: Path):
    res = run_cli(
        "run", "-m", "eitest/oracle", "-i", "open-stem", "--timeout", "0", "--yes", "--db", str(tmp_path / "t.db")
    )
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "Invalid value for '--timeout': 0.0 is not in the range 0<x<=86400." in res.stderr
    assert not (tmp_path / "t.db").exists()


def test_api_key_env_is_a_name_and_not_part_of_the_run(monkeypatch):
    with pytest.raises(ValidationError, match="not the key itself"):
        Study(models=["openai/x"], instruments=["open-stem"], api_key_env="sk-abc-123")
    monkeypatch.setenv("LOCAL_KEY", "local-key-value-1")
    base = Study(models=["openai/x"], instruments=["open-stem"], api_base="http://127.0.0.1:9/v1")
    named = base.model_copy(update={"api_key_env": "LOCAL_KEY"})
    plan, named_plan = make_plan(base, estimate=False), make_plan(named, estimate=False)
    assert plan.run_id == named_plan.run_id  # how the key travels does not change what is asked
    assert "  openai/x via http://127.0.0.1:9/v1: key from LOCAL_KEY" in named_plan.describe()
    assert "  openai/x via http://127.0.0.1:9/v1: no key (--api-key-env NAME sends the key in $NAME)" in plan.describe()


def test_a_label_makes_a_new_run_of_the_same_design_and_no_label_keeps_the_old_id(tmp_path: Path):
    from eitest.administer.study import run_id_of

    hashes = {"open-stem": "h"}
    plain = Study(models=["eitest/oracle"], instruments=["open-stem"])
    assert "label" not in plain.identity(hashes)  # runs made before labels existed keep their ids
    later = Study(models=["eitest/oracle"], instruments=["open-stem"], label="2027-01")
    assert run_id_of(later.identity(hashes)) != run_id_of(plain.identity(hashes))
    for bad in (" 2027", "a\x1bb", ""):
        with pytest.raises(ValidationError, match="label"):
            Study(models=["eitest/oracle"], instruments=["open-stem"], label=bad)
    db = str(tmp_path / "drift.db")
    first = run_cli("run", "-m", "eitest/oracle", "-i", "open-stem", "--yes", "--db", db)
    again = run_cli("run", "-m", "eitest/oracle", "-i", "open-stem", "--yes", "--db", db)
    labelled = run_cli("run", "-m", "eitest/oracle", "-i", "open-stem", "--label", "2027-01", "--yes", "--db", db)
    assert first.returncode == again.returncode == labelled.returncode == 0, labelled.stderr
    assert "0 call(s) made" in again.stderr  # the same study resumes its run
    assert "0 already done" in labelled.stderr and "0 call(s) made" not in labelled.stderr  # a new run


@pytest.mark.parametrize(
    "given, kept", [({"*": 60}, 60), ({"*": 60, "eitest/oracle": 9}, {"*": 60, "eitest/oracle": 9})]
)
def test_a_study_files_one_limit_for_every_model_is_kept_as_the_cli_keeps_it(given, kept):
    assert Study(models=["eitest/oracle"], instruments=["open-steu"], rpm=given).rpm == kept


def test_a_limit_beside_invalid_models_is_not_checked_against_them():
    with pytest.raises(ValidationError) as caught:
        Study(models="eitest/oracle", instruments=["open-steu"], rpm={"openai/y": 5})
    [problem] = caught.value.errors()  # the models' own error, not an empty list of models to choose from
    assert problem["loc"] == ("models",)
