"""Every numeric option's value range is checked by its click type, before the command does anything."""

from __future__ import annotations

import math
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from eitest.administer.study import StudyError, load_study
from eitest.cli import cli
from eitest.cli.options import FiniteFloat

RUN = ["run", "-m", "eitest/chance", "-i", "open-steu", "--db", "x.db", "-y"]
ANALYZE = ["analyze", "--db", "x.db"]
GENERATE = ["generate", "-i", "open-steu", "-m", "eitest/oracle", "--out", "x.yaml", "--n", "1"]
FORMS = ["compare-forms", "--original", "open-steu", "--generated", "open-steu", "--responses", "r.csv"]
REPLICATE = ["replicate", "schlegel2025", "--dry-run"]
SURVEY = ["survey", "export", "-i", "open-steu", "--format", "csv", "--out", "x.csv"]

REFUSED = [
    (RUN, "--temperature", "5", "5.0 is not in the range 0<=x<=2."),
    (RUN, "--temperature", "-1", "-1.0 is not in the range 0<=x<=2."),
    (RUN, "--temperature", "nan", "nan is not a finite number in the range 0<=x<=2."),
    (RUN, "--max-cost", "nan", "nan is not a finite number in the range x>=0."),
    (RUN, "--max-cost", "inf", "inf is not a finite number in the range x>=0."),
    (RUN, "--max-cost", "-1", "-1.0 is not in the range x>=0."),
    (RUN, "--reps", "0", "0 is not in the range 1<=x<=10000."),
    (RUN, "--reps", "1000000000", "1000000000 is not in the range 1<=x<=10000."),
    (RUN, "--concurrency", "0", "0 is not in the range 1<=x<=1024."),
    (RUN, "--timeout", "0", "0.0 is not in the range 0<x<=86400."),
    (RUN, "--timeout", "-5", "-5.0 is not in the range 0<x<=86400."),
    (RUN, "--timeout", "nan", "nan is not a finite number in the range 0<x<=86400."),
    (RUN, "--timeout", "1e300", "1e+300 is not in the range 0<x<=86400."),
    (RUN, "--max-tokens", "0", "0 is not in the range 1<=x<=10000000."),
    (RUN, "--retries", "-1", "-1 is not in the range 0<=x<=100."),
    (RUN, "--seed", "-1", "-1 is not in the range 0<=x<=4294967295."),
    (RUN, "--seed", "1.5", "'1.5' is not a valid integer range."),
    (ANALYZE, "--seed", "-1", "-1 is not in the range 0<=x<=4294967295."),
    (ANALYZE, "--boot", "99", "99 is not in the range 100<=x<=100000."),
    (ANALYZE, "--boot", "1000000000", "1000000000 is not in the range 100<=x<=100000."),
    (GENERATE, "--temperature", "nan", "nan is not a finite number in the range 0<=x<=2."),
    (GENERATE, "--threshold", "nan", "nan is not a finite number in the range 0<x<=100."),
    (GENERATE, "--embedding-threshold", "nan", "nan is not a finite number in the range -1<=x<=1."),
    (GENERATE, "--retries", "101", "101 is not in the range 0<=x<=100."),
    (GENERATE, "--max-attempts", "0", "0 is not in the range 1<=x<=100."),
    (GENERATE, "--examples", "-1", "-1 is not in the range 0<=x<=100."),
    (GENERATE, "--seed", "-3", "-3 is not in the range 0<=x<=4294967295."),
    (FORMS, "--bound", "nan", "nan is not a finite number in the range x>0."),
    (FORMS, "--bound", "inf", "inf is not a finite number in the range x>0."),
    (FORMS, "--alpha", "nan", "nan is not a finite number in the range 0<x<0.5."),
    (FORMS, "--alpha", "0.5", "0.5 is not in the range 0<x<0.5."),
    (REPLICATE, "--reps", "0", "0 is not in the range 1<=x<=10000."),
    (REPLICATE, "--concurrency", "5000", "5000 is not in the range 1<=x<=1024."),
    (REPLICATE, "--max-cost", "nan", "nan is not a finite number in the range x>=0."),
    (["demo", "--out", "d"], "--reps", "0", "0 is not in the range 1<=x<=10000."),
    (SURVEY, "--seed", "-1", "-1 is not in the range 0<=x<=4294967295."),
]


@pytest.mark.parametrize(
    ("base", "option", "value", "message"), REFUSED, ids=[f"{b[0]} {o} {v}" for b, o, v, _ in REFUSED]
)
def test_out_of_range_values_are_refused_with_clicks_message(base: list[str], option: str, value: str, message: str):
    res = CliRunner().invoke(cli, [*base, option, value])
    assert res.exit_code == 2
    assert f"Invalid value for '{option}': {message}" in res.stderr
    assert "Traceback" not in res.output


ACCEPTED = [
    ("run", [*RUN[1:], "--temperature", "2", "--max-cost", "0.01", "--timeout", "0.5", "--seed", "4294967295"],
     {"temperature": 2.0, "max_cost": 0.01, "timeout_s": 0.5, "seed": 4294967295}),
    ("run", [*RUN[1:], "--temperature", "0", "--reps", "10000", "--concurrency", "1024", "--retries", "0"],
     {"temperature": 0.0, "reps": 10000, "concurrency": 1024, "max_retries": 0}),
    ("analyze", ["--boot", "100", "--seed", "0"], {"n_boot": 100, "seed": 0}),
    ("compare-forms", [*FORMS[1:], "--bound", "0.1", "--alpha", "0.01"], {"bound": 0.1, "alpha": 0.01}),
]  # fmt: skip


@pytest.mark.parametrize(("command", "args", "expected"), ACCEPTED)
def test_values_at_the_bounds_are_accepted(command: str, args: list[str], expected: dict[str, object]):
    ctx = cli.commands[command].make_context(command, args)
    assert {k: ctx.params[k] for k in expected} == expected


def test_finite_float_refuses_nan_that_float_range_lets_through():
    assert math.isnan(click.FloatRange(0, 2).convert("nan", None, None))  # why FiniteFloat exists
    with pytest.raises(click.BadParameter, match="nan is not a finite number in the range 0<=x<=2"):
        FiniteFloat(0, 2).convert("nan", None, None)
    with pytest.raises(click.BadParameter, match="-inf is not a finite number\\.$"):
        FiniteFloat().convert("-inf", None, None)
    assert FiniteFloat().convert("-1e300", None, None) == -1e300


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("temperature: 5", "line 3: temperature: Input should be less than or equal to 2"),
        ("temperature: .nan", "line 3: temperature: Input should be a finite number"),
        ("max_cost: .inf", "line 3: max_cost: Input should be a finite number"),
        ("max_cost: -1", "line 3: max_cost: Input should be greater than or equal to 0"),
        ("reps: 1000000000", "line 3: reps: Input should be less than or equal to 10000"),
        ("seed: -1", "line 3: seed: Input should be greater than or equal to 0"),
        ("concurrency: 100000", "line 3: concurrency: Input should be less than or equal to 1024"),
        ("max_tokens: 0", "line 3: max_tokens: Input should be greater than or equal to 1"),
        ("max_retries: 1000", "line 3: max_retries: Input should be less than or equal to 100"),
        ("backoff_s: .nan", "line 3: backoff_s: Input should be a finite number"),
    ],
)
def test_a_study_file_is_held_to_the_same_bounds(tmp_path: Path, line: str, message: str):
    path = tmp_path / "study.yaml"
    path.write_text(f"models: [eitest/chance]\ninstruments: [open-steu]\n{line}\n", encoding="utf-8")
    with pytest.raises(StudyError) as err:
        load_study(path)
    assert str(err.value) == f"{path}: {message}"


def test_run_reports_a_study_files_bad_value_as_an_error(tmp_path: Path):
    path = tmp_path / "study.yaml"
    path.write_text("models: [eitest/chance]\ninstruments: [open-steu]\ntemperature: .nan\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["run", str(path), "--db", str(tmp_path / "x.db")])
    assert res.exit_code == 2
    assert res.stderr == f"Error: {path}: line 3: temperature: Input should be a finite number\n"
    assert not (tmp_path / "x.db").exists()
