"""A norm file for an instrument that is not in the analysis is noted, with the id it probably means."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import run_cli

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.scoring.analysis import analyze


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("norms") / "n.db"
    run_study(Study(models=["eitest/oracle"], instruments=["open-steu"]), path)
    return path


def _norm_file(path: Path, instrument: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "source": {"id": "typo-sample", "citation": "written for this test", "checked": "made up"},
                "norms": [
                    {
                        "instrument": instrument,
                        "sample": "synthetic",
                        "n": {"value": 100, "where": "test"},
                        "mean": {"value": 0.5, "where": "test"},
                        "sd": {"value": 0.1, "where": "test"},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("typo", ["open-stue", "OPEN-STEU", "open_steu"])
def test_a_norm_file_with_a_typo_is_noted_with_the_close_match(db: Path, tmp_path: Path, typo: str):
    norm = _norm_file(tmp_path / "norm.yaml", typo)
    analysis = analyze(db, norms=[norm])
    assert (
        f"norm file {norm} is for instrument {typo!r}, which is not in this analysis (instruments: open-steu); "
        "check its instrument id; did you mean 'open-steu'?"
    ) in analysis.notes
    assert analysis.scores["norm_mean"].isna().all()  # still not used: the id must match


def test_a_norm_file_for_an_unrelated_instrument_is_noted_without_a_guess(db: Path, tmp_path: Path):
    norm = _norm_file(tmp_path / "norm.yaml", "gemok-blends")
    assert (
        f"norm file {norm} is for instrument 'gemok-blends', which is not in this analysis (instruments: "
        "open-steu); check its instrument id"
    ) in analyze(db, norms=[norm]).notes


def test_a_matching_norm_file_gives_no_such_note(db: Path, tmp_path: Path):
    norm = _norm_file(tmp_path / "norm.yaml", "open-steu")
    analysis = analyze(db, norms=[norm])
    assert not [n for n in analysis.notes if n.startswith("norm file")]
    assert analysis.scores["norm_mean"].iloc[0] == 0.5


def test_the_cli_prints_the_note(db: Path, tmp_path: Path):
    norm = _norm_file(tmp_path / "norm.yaml", "open-stue")
    res = run_cli("analyze", "--db", str(db), "--norms", str(norm))
    assert res.returncode == 0, res.stderr
    assert "check its instrument id; did you mean 'open-steu'?" in res.stderr
