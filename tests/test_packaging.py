"""The CLI starts fast, and a non-editable install carries the instruments and norms."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

from eitest import __version__


def test_help_does_not_import_heavy_libraries():
    code = "import sys; from eitest.cli import cli; heavy = {'litellm', 'matplotlib', 'datasets', 'pandas', 'weasyprint'}; print(sorted(heavy & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version():
    out = subprocess.run([sys.executable, "-m", "eitest", "--version"], capture_output=True, text=True, check=True)
    assert __version__ in out.stdout


def test_wheel_ships_instruments_and_norms(tmp_path: Path):
    pytest.importorskip("hatchling")
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheel_dir),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheel_dir.glob("eitest-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    code = (
        "import eitest, eitest.instruments as i, eitest.instruments.norms as n; "
        "assert '_data' in str(eitest.paths.package_instrument_dir()), eitest.paths.package_instrument_dir(); "
        "c = i.catalogue(); print(c['open-steu'].n_items, c['open-stem'].n_items, len(c), len(n.all_norms()))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    out = subprocess.run(
        [sys.executable, "-c", "import eitest.paths; " + code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert out.returncode == 0, out.stderr
    steu, stem, n_instruments, n_norms = map(int, out.stdout.split())
    assert steu >= 40 and stem >= 30 and n_instruments >= 9 and n_norms >= 5
