"""``import eitest`` is cheap, and every name a notebook uses is in ``__all__``, resolves and is seen by tools."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

import eitest

HEAVY = ("pandas", "numpy", "litellm", "matplotlib", "datasets", "weasyprint")
INIT = REPO / "eitest" / "__init__.py"


def _type_checking_imports() -> dict[str, tuple[str, str]]:
    """Public name -> (module, name) for each import under ``if TYPE_CHECKING:`` in eitest/__init__.py."""
    found: dict[str, tuple[str, str]] = {}
    for node in ast.parse(INIT.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module, ast.dump(imp)
                for alias in imp.names:
                    assert alias.asname, f"{alias.name}: re-export it as 'import X as X' so tools see it as public"
                    found[alias.asname] = (imp.module, alias.name)
    return found


def test_import_eitest_imports_no_heavy_library():
    code = f"import sys, eitest; print(sorted({{m.split('.')[0] for m in sys.modules}} & {set(HEAVY)!r}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves_and_is_listed():
    assert len(eitest.__all__) == len(set(eitest.__all__))
    listed = dir(eitest)
    for name in eitest.__all__:
        assert name in listed, name
        assert getattr(eitest, name) is not None, name
    for name in ("Study", "load_study", "run_study", "open_results", "Results", "analyze", "Analysis"):
        assert name in eitest.__all__, name
    for name in ("get_instrument", "catalogue", "write_report", "export", "run_demo", "accuracy_plot", "item_plot"):
        assert name in eitest.__all__, name


def test_public_names_are_the_library_objects():
    from eitest.instruments import get
    from eitest.outputs.report.plots import accuracy_plot
    from eitest.scoring.analysis import Analysis
    from eitest.stats import apa, single_case

    assert eitest.Analysis is Analysis and eitest.get_instrument is get and eitest.accuracy_plot is accuracy_plot
    assert eitest.apa is apa and eitest.single_case is single_case
    assert eitest.apa.p_value(0.0004) == "p < .001"
    assert eitest.get_instrument("open-steu").id == "open-steu"
    assert "open-stem" in eitest.catalogue()


def test_type_checking_imports_match_all_and_the_run_time_names():
    seen = _type_checking_imports()
    assert sorted(seen) == sorted(set(eitest.__all__) - {"__version__"})
    for public, (module, name) in seen.items():
        mod = importlib.import_module(module)
        target = getattr(mod, name) if hasattr(mod, name) else importlib.import_module(f"{module}.{name}")
        assert getattr(eitest, public) is target, public


def test_each_public_name_is_documented():
    doc = eitest.__doc__ or ""
    missing = [n for n in eitest.__all__ if n != "__version__" and f"``{n}" not in doc]
    assert not missing, f"describe these in eitest/__init__.py's docstring: {missing}"


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'analyse'"):
        eitest.analyse  # type: ignore[attr-defined]  # noqa: B018
    assert not hasattr(eitest, "plots")


def test_type_checkers_see_the_names_and_flag_a_typo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    api = pytest.importorskip("mypy.api")
    monkeypatch.setenv("MYPYPATH", str(REPO))  # this checkout's eitest, not an installed one
    uses = "\n".join(f"reveal_type(eitest.{n})" for n in eitest.__all__)
    (tmp_path / "uses.py").write_text(f"import eitest\n{uses}\neitest.analyse\n", encoding="utf-8")
    stdout, _, status = api.run(
        [
            "--follow-imports=silent",
            "--ignore-missing-imports",
            "--cache-dir",
            str(tmp_path / "cache"),
            str(tmp_path / "uses.py"),
        ]
    )
    assert status == 1, stdout
    errors = [line for line in stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and errors[0].startswith(f"{tmp_path / 'uses.py'}:{len(eitest.__all__) + 2}: error: ")
    assert 'Module has no attribute "analyse"' in errors[0]
    assert "eitest.scoring.analysis.Analysis" in stdout
    assert "matplotlib.axes._axes.Axes" in stdout  # accuracy_plot's return type
    assert 'Revealed type is "Any"' not in stdout  # every name is typed, none falls back to Any
