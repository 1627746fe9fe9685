"""A replication design file given by path goes through the same reading as every other file."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from eitest.cli import cli
from eitest.errors import EitestError
from eitest.paths import package_analysis_dir
from eitest.workflows.replicate import load_design


def test_shipped_design_with_a_duplicate_key_is_refused(tmp_path: Path):
    text = (package_analysis_dir() / "schlegel2025_study1.yaml").read_text(encoding="utf-8")
    path = tmp_path / "mine.yaml"
    path.write_text(text + "title: A second title\n", encoding="utf-8")
    with pytest.raises(EitestError, match=r"mine.yaml: line \d+: the key 'title' appears twice in one mapping"):
        load_design(str(path))
    res = CliRunner().invoke(cli, ["replicate", str(path), "--dry-run", "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "the key 'title' appears twice" in res.output


def test_design_in_the_wrong_encoding_or_a_directory(tmp_path: Path):
    path = tmp_path / "latin.yaml"
    path.write_bytes("id: x\ntitle: Étude\n".encode("latin-1"))
    with pytest.raises(EitestError, match="latin.yaml: line 2: byte 0xc9 .* is not UTF-8 text; save the file as UTF-8"):
        load_design(str(path))
    folder = tmp_path / "design.yaml"
    folder.mkdir()
    with pytest.raises(EitestError, match="is a directory, not a study design"):
        load_design(str(folder))
