"""The notebooks in analysis/ run from top to bottom against the demo's data, so they never rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

from eitest.workflows.demo import run_demo

NOTEBOOKS = sorted((REPO / "analysis").glob("*.ipynb"))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    return run_demo(tmp_path_factory.mktemp("demo"), reps=2, pdf=False).db


def test_there_are_three_notebooks():
    assert [p.name for p in NOTEBOOKS] == [
        "01_quickstart.ipynb",
        "02_compare_with_norms.ipynb",
        "03_item_analysis.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path: Path, demo_db: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("EITEST_DEMO_DB", str(demo_db))
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(str(o.get("data", {}).get("text/plain", "")) + str(o.get("text", "")) for o in outputs)
    if path.name.startswith("01"):
        assert "eitest/oracle" in text and "1.0" in text
    if path.name.startswith("02"):
        assert "t(149)" in text  # the single-case test printed APA-style
        assert any("image/svg+xml" in o.get("data", {}) for o in outputs)
    if path.name.startswith("03"):
        assert "True" in text  # the first-option responder is flagged
