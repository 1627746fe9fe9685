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


@pytest.fixture(autouse=True)
def no_temperature_refusals_heard():
    """Each test starts knowing of no server that refused a temperature: a port reused by a later test is a new server."""
    from eitest.client import reasoning

    yield
    reasoning._REFUSED.clear()
    reasoning._KNOWN.clear()


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


class Ran:
    """What a CLI call left: the fields of ``subprocess.CompletedProcess`` that tests read."""

    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str):
        self.args, self.returncode, self.stdout, self.stderr = args, returncode, stdout, stderr


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
    cwd: Path | None = None,
    timeout: float = 300,
    subprocess: bool = False,
) -> Ran:
    """Run the CLI as a user would: in this process through click's runner, or with
    ``subprocess=True`` through the installed entry point, where a process of its own is the
    point (signals, pipes, a second process, resource limits, the interpreter's start-up).

    In process, an uncaught exception is written to stderr as its traceback with exit status 1,
    as the interpreter would, so tests that look for tracebacks see them either way.
    """
    if subprocess:
        return _run_subprocess(list(args), env, unset, cwd, timeout)
    import traceback

    from click.testing import CliRunner

    from eitest.cli import cli

    overrides: dict[str, str | None] = {**(env or {}), **dict.fromkeys(unset)}
    previous, argv = Path.cwd(), sys.argv
    try:
        if cwd is not None:
            os.chdir(cwd)
        sys.argv = ["eitest", *args]  # a run records its command line from here
        result = CliRunner().invoke(cli, list(args), env=overrides, prog_name="eitest", catch_exceptions=True)
    finally:
        os.chdir(previous)
        sys.argv = argv
    stderr = result.stderr
    code = result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))  # type: ignore[misc]
        code = 1
    return Ran(list(args), code, result.stdout, stderr)


def _run_subprocess(
    args: list[str], env: dict[str, str] | None, unset: tuple[str, ...], cwd: Path | None, timeout: float
) -> Ran:
    import subprocess

    full_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k not in unset}
    done = subprocess.run(
        [sys.executable, "-m", "eitest", *args], capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout
    )
    return Ran(args, done.returncode, done.stdout, done.stderr)
