"""A value given twice is run (or read) once, with a note; it never doubles the work or the sample."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import REPO, instrument_data

from eitest.administer.plan import make_plan
from eitest.administer.study import Study, StudyError, first_seen
from eitest.cli import cli
from eitest.store import Store

N_STEU = 45  # items of open-steu
SHIPPED_STEU = REPO / "instruments" / "open-steu.yaml"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def run_config(db: Path) -> tuple[dict, int]:
    with Store(db, create=False) as store:
        [run] = store.runs()
        return run.config, len(store.trials(run.id))


def test_first_seen_keeps_order_and_counts_repeats():
    assert first_seen(["b", "a", "b", "c", "b", "a"]) == (["b", "a", "c"], {"b": 3, "a": 2})
    assert first_seen([]) == ([], {})


def test_a_study_runs_each_model_and_instrument_once():
    study = Study(models=["eitest/first", "eitest/chance", "eitest/first"], instruments=["open-steu", "open-steu"])
    assert study.models == ["eitest/first", "eitest/chance"]
    assert study.instruments == ["open-steu"]
    assert study.repeated == {"models": {"eitest/first": 2}, "instruments": {"open-steu": 2}}
    assert len(make_plan(study, estimate=False).trials) == 2 * N_STEU
    assert Study(models=["eitest/first"], instruments=["open-steu"]).repeated == {}


def test_repeated_model_and_instrument_flags_call_each_trial_once(tmp_path: Path):
    db = tmp_path / "x.db"
    res = invoke(
        "run", "-m", "eitest/chance", "--model", "eitest/chance", "-i", "open-steu", "-i", "open-steu",
        "-i", "open-steu", "--db", str(db), "-y",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        "note: --model eitest/chance given twice; it is run once",
        "note: --instrument open-steu given 3 times; it is run once",
    ]
    assert f"{N_STEU} call(s) made, 0 already done" in res.stderr
    config, n_trials = run_config(db)
    assert (config["models"], config["instruments"], n_trials) == (["eitest/chance"], ["open-steu"], N_STEU)


def test_repeats_in_a_study_file_are_noted_with_the_file(tmp_path: Path):
    study = tmp_path / "study.yaml"
    study.write_text(
        "models: [eitest/first, eitest/first]\ninstruments: [open-steu, open-steu, open-steu]\n", encoding="utf-8"
    )
    db = tmp_path / "x.db"
    res = invoke("run", str(study), "--db", str(db), "-y")
    assert res.exit_code == 0, res.output
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:")]
    assert notes == [
        f"note: {study}: models: eitest/first is listed twice; it is run once",
        f"note: {study}: instruments: open-steu is listed 3 times; it is run once",
    ]
    assert run_config(db)[1] == N_STEU
    # A flag replaces the file's list, so only the flag's own repeats are noted.
    res = invoke("run", str(study), "-m", "eitest/chance", "--db", str(tmp_path / "y.db"), "-y")
    notes = [line for line in res.stderr.splitlines() if line.startswith("note:")]
    assert notes == [f"note: {study}: instruments: open-steu is listed 3 times; it is run once"]


def test_one_instrument_named_two_ways_is_refused(tmp_path: Path):
    path = tmp_path / "form.yaml"
    items = [{"id": "i1", "stem": "S", "question": "Q?", "options": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}], "key": "a"}]  # fmt: skip
    path.write_text(yaml.safe_dump(instrument_data("form-x", items)), encoding="utf-8")
    res = invoke("run", "-m", "eitest/first", "-i", str(path), "-i", f"{tmp_path}/./form.yaml", "--db", str(tmp_path / "x.db"), "-y")  # fmt: skip
    assert res.exit_code == 2
    assert res.stderr == (
        f"Error: '{tmp_path}/./form.yaml' is instrument form-x, which the study already names another way; give it once\n"
    )
    with pytest.raises(StudyError, match="names another way"):
        make_plan(Study(models=["eitest/first"], instruments=["open-steu", str(SHIPPED_STEU)]), estimate=False)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("store") / "s.db"
    assert invoke("run", "-m", "eitest/chance", "-i", "open-steu", "--db", str(db), "-y").exit_code == 0
    return db


def test_the_same_norm_file_twice_is_read_once(store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    norm = tmp_path / "n.yaml"
    norm.write_text(
        "source: {id: my-sample, citation: 'My sample (2026)', checked: test}\nnorms:\n"
        "  - instrument: open-steu\n    sample: test\n"
        "    n: {value: 50, where: t}\n    mean: {value: 0.6, where: t}\n    sd: {value: 0.1, where: t}\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    once = invoke("analyze", "--db", str(store), "--norms", str(norm), "--json", "--boot", "100")
    twice = invoke(
        "analyze", "--db", str(store), "--norms", str(norm), "--norms", "./n.yaml", "--json", "--boot", "100"
    )
    assert twice.exit_code == 0, twice.output
    assert f"note: --norms {norm} given twice; it is read once\n" in twice.stderr
    assert json.loads(twice.stdout) == json.loads(once.stdout)
    assert json.loads(once.stdout)["scores"][0]["norm_source"] == "my-sample"


def test_run_given_twice(store: Path):
    with Store(store, create=False) as s:
        [run] = s.runs()
    once = invoke("analyze", "--db", str(store), "--run", run.id, "--json", "--boot", "100")
    twice = invoke("analyze", "--db", str(store), "--run", run.id, "--run", run.id, "--json", "--boot", "100")
    assert twice.exit_code == 0
    assert f"note: --run {run.id} given twice; it is used once\n" in twice.stderr
    assert json.loads(twice.stdout) == json.loads(once.stdout)
    for command in (["analyze"], ["report", "--out", "r.html"], ["export", "--format", "csv", "--out", "e"]):
        res = invoke(*command, "--db", str(store), "--run", run.id, "--run", "other")
        assert res.exit_code == 2
        assert f"Invalid value for '--run': given twice with different values ({run.id}, other); give one" in res.stderr


def test_the_same_response_file_twice_does_not_double_the_sample(tmp_path: Path):
    items = [
        {"id": f"i{n}", "stem": "S", "question": "Q?", "options": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}], "key": "a"}
        for n in range(1, 4)
    ]  # fmt: skip
    inst = tmp_path / "form.yaml"
    inst.write_text(yaml.safe_dump(instrument_data("form-r", items)), encoding="utf-8")
    responses = tmp_path / "r.csv"
    with responses.open("w", newline="") as f:
        csv.writer(f).writerows([["i1", "i2", "i3"], ["a", "a", "b"], ["a", "b", "b"], ["b", "a", "a"]])
    res = invoke(
        "norms", "build", str(responses), str(responses), "-i", str(inst), "--out", str(tmp_path / "n.yaml"), "--json"
    )
    assert res.exit_code == 0, res.output
    assert f"note: RESPONSES {responses} given twice; it is read once\n" in res.stderr
    assert json.loads(res.stdout)["norms"][0]["n"]["value"] == 3


def test_replicate_models_given_twice(capsys: pytest.CaptureFixture[str]):
    ctx = cli.commands["replicate"].make_context("replicate", ["x", "--models", "a/m", "b/m", "a/m", "--models", "b/m"])
    assert ctx.params["models"] == ("a/m", "b/m")
    assert capsys.readouterr().err == (
        "note: --models a/m given twice; it is run once\nnote: --models b/m given twice; it is run once\n"
    )
