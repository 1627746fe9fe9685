"""The notebooks in analysis/ run from top to bottom against the demo's data, so they never rot."""

from __future__ import annotations

import ast
import re
from collections.abc import Collection
from pathlib import Path

import nbformat
import pytest
from conftest import REPO
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient

import eitest

NOTEBOOKS = sorted((REPO / "analysis").glob("*.ipynb"))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    return eitest.run_demo(tmp_path_factory.mktemp("demo"), reps=2, pdf=False).db


def private_uses(source: str, public: Collection[str]) -> list[str]:
    """Each use of eitest in a code cell other than ``import eitest`` and ``eitest.<public name>``."""
    tree = ast.parse(TransformerManager().transform_cell(source))  # IPython magics become calls
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("eitest."):
                    found.append(f"line {node.lineno}: import {alias.name}")
                elif alias.name == "eitest" and alias.asname not in (None, "eitest"):
                    found.append(f"line {node.lineno}: import eitest as {alias.asname}")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "eitest":
            found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "eitest":
            if node.attr not in public:
                found.append(f"line {node.lineno}: eitest.{node.attr} is not in eitest.__all__")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_uses_only_public_names(path: Path):
    nb = nbformat.read(path, as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    assert any("import eitest" in c for c in cells)
    found = [f"code cell {i}, {use}" for i, c in enumerate(cells) for use in private_uses(c, eitest.__all__)]
    assert not found, f"{path.name} uses eitest beyond its public API: {found}"


def test_private_uses_catches_each_way_past_the_public_api():
    public = eitest.__all__
    assert private_uses("from eitest.stats import apa", public) == ["line 1: from eitest.stats import ..."]
    assert private_uses("from eitest import analyze", public) == ["line 1: from eitest import ..."]
    assert private_uses("import eitest.workflows.demo", public) == ["line 1: import eitest.workflows.demo"]
    assert private_uses("import eitest as ei", public) == ["line 1: import eitest as ei"]
    code = "import eitest\nx = eitest.analyze(db)\neitest.outputs.report.plots.item_plot(x.items, 't')"
    assert private_uses(code, public) == ["line 3: eitest.outputs is not in eitest.__all__"]
    ok = '%config InlineBackend.figure_formats = ["svg"]\nimport eitest\neitest.apa.t_test(1.0, 2, 0.5)'
    assert private_uses(ok, public) == []


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
    # table rows as the notebook shows them (HTML), one string of cell texts per row
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    rows = [
        " ".join(re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)) for tr in re.findall(r"<tr.*?</tr>", html, re.S)
    ]
    if path.name.startswith("01"):  # the scores table: the oracle's row reads a score of 1, proportion correct
        assert any(re.search(r"eitest/oracle open-steu 1\.0+ proportion correct", r) for r in rows), rows
    if path.name.startswith("02"):
        assert "t(149)" in text  # the single-case test printed APA-style
        assert any("image/svg+xml" in o.get("data", {}) for o in outputs)
    if path.name.startswith("03"):  # the first-option responder's rows of the position-bias table are flagged
        first = [r for r in rows if re.search(r"eitest/first open-ste[mu] shuffled", r)]
        assert len(first) == 2 and all(" True " in f" {r} " for r in first), first
