"""Shared fixtures: every test gets its own user data directory and no network-bound litellm."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
REPO = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS))


@pytest.fixture(autouse=True)
def eitest_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("eitest-home")
    monkeypatch.setenv("EITEST_HOME", str(home))
    return home


def instrument_data(inst_id: str, items: list[dict], *, name: str | None = None, **fields: object) -> dict:
    """An instrument file's content for ``items`` written in a test: the fields every file needs, keyed by default."""
    return {
        "id": inst_id,
        "name": name or f"Form {inst_id}",
        "construct": "emotional understanding",
        "version": "1",
        "citation": "written for this test",
        "license": "CC0-1.0",
        "instructions": "Choose one.",
        "scoring": "keyed",
        **fields,
        "items": items,
    }


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    cwd: Path | None = None,
    timeout: float = 300,
):
    """Run the installed CLI in a subprocess, as a user would."""
    import subprocess

    full_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
    return subprocess.run(
        [sys.executable, "-m", "eitest", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout
    )
