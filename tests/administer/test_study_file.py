"""A study file as users have it: BOM read, and non-UTF-8, aliases, duplicate keys or a directory are clear errors."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from click.testing import CliRunner

from eitest.administer.study import StudyError, load_study
from eitest.cli import cli

STUDY = "models: [eitest/oracle]\ninstruments: [open-steu]\nreps: 2\n"


def test_study_with_bom_reads_and_field_lines_still_count(tmp_path: Path):
    path = tmp_path / "study.yaml"
    path.write_bytes(codecs.BOM_UTF8 + STUDY.encode())
    assert load_study(path).reps == 2
    path.write_bytes(codecs.BOM_UTF8 + (STUDY + "repetitions: 3\n").encode())
    with pytest.raises(StudyError, match="study.yaml: line 4: repetitions: unknown field"):
        load_study(path)


@pytest.mark.parametrize(
    "content, expected",
    [
        (STUDY + "reps: 5\n", "line 4: the key 'reps' appears twice in one mapping (first on line 3); keep one"),
        ("m: &m [eitest/oracle]\nmodels: *m\ninstruments: [open-steu]\n", "line 2: YAML aliases (*m) are not allowed"),
        (STUDY.replace("open-steu", "open-st\xe9u").encode("latin-1"), "line 2: byte 0xe9 (at byte 45) is not UTF-8"),
        ("models: [eitest/oracle\ninstruments: [open-steu]\n", "not valid YAML"),
    ],
    ids=["duplicate-key", "alias", "latin-1", "syntax"],
)
def test_bad_study_file_is_a_clear_error(tmp_path: Path, content: str | bytes, expected: str):
    path = tmp_path / "study.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(StudyError) as exc:
        load_study(path)
    assert str(exc.value).startswith(f"{path}: ") and expected in str(exc.value)
    res = CliRunner().invoke(cli, ["run", str(path), "--yes", "--db", str(tmp_path / "s.db")])
    assert res.exit_code == 2 and expected in res.output
    assert not (tmp_path / "s.db").exists()


def test_study_path_that_is_a_directory(tmp_path: Path):
    with pytest.raises(StudyError, match="is a directory, not a study file"):
        load_study(tmp_path)
