"""Issue 15's "done when" over malformed inputs: 0 tracebacks, 0 hangs, 0 silently accepted.

Each case of the corpus (``malformed_files.py``, ``malformed_data.py``, ``malformed_options.py``)
builds its input in its own folder, runs one eitest command and expects either a correct
reading (what was read is asserted) or a clear refusal: exit status 2, an ``Error:`` line,
the file's basename and the row, line, field or option named, and no traceback. Cases run
in-process through click's CliRunner under a per-case deadline; those that could eat the
machine's memory today run through the real entry point with bounded memory and time.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import REPO, run_cli
from malformed_cases import Case, Read, Refused, Workspace
from malformed_data import DATA_CASES
from malformed_files import FILE_CASES
from malformed_options import OPTION_CASES

from eitest.cli import cli

CASES: list[Case] = [*FILE_CASES, *DATA_CASES, *OPTION_CASES]
DEADLINE_S = 20  # a case still running after this is a hang
SUBPROCESS_MEMORY = 3 * 2**30  # bytes of address space a subprocess case may take


class Hang(Exception):
    """The case ran past its deadline."""


@dataclass(frozen=True)
class Ran:
    exit_code: int
    stdout: str
    stderr: str
    crash: str | None  # an exception that escaped the command (a traceback for the user), or "hang"


def _on_alarm(signum: int, frame: object) -> None:
    raise Hang(f"still running after {DEADLINE_S} s")


@pytest.fixture(scope="module")
def store_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A finished store of the mini instrument (oracle, 1 repetition), made once and only when a case asks."""
    made: list[Path] = []

    def template() -> Path:
        if not made:
            folder = tmp_path_factory.mktemp("template")
            ws = Workspace(folder)
            db = folder / "template.db"
            res = CliRunner().invoke(
                cli, ["run", "-m", "eitest/oracle", "-i", str(ws.instrument()), "--yes", "--db", str(db)]
            )
            assert res.exit_code == 0, res.output
            made.append(db)
        return made[0]

    yield template


def in_process(args: list[str]) -> Ran:
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, DEADLINE_S)
    try:
        res = CliRunner().invoke(cli, args, catch_exceptions=True)
    except Hang:
        return Ran(-1, "", "", "hang")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    crash = None
    if isinstance(res.exception, Hang):
        crash = "hang"
    elif res.exception is not None and not isinstance(res.exception, SystemExit):
        crash = f"{type(res.exception).__name__}: {str(res.exception)[:160]}"
    return Ran(res.exit_code, res.stdout, res.stderr, crash)


# The limit is set by a fresh interpreter that then becomes eitest (execv), not in the forked test worker:
# a worker that has used pyarrow holds gigabytes of reserved (unused) address space, which a limit set in its
# fork counts, so that the fork cannot even start the command.
_BOUNDED = (
    "import os, resource, sys; limit = int(sys.argv[1]); resource.setrlimit(resource.RLIMIT_AS, (limit, limit)); "
    "os.execv(sys.executable, [sys.executable, '-m', 'eitest', *sys.argv[2:]])"
)


def in_subprocess(args: list[str], cwd: Path) -> Ran:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        res = subprocess.run(
            [sys.executable, "-c", _BOUNDED, str(SUBPROCESS_MEMORY), *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=DEADLINE_S,
        )
    except subprocess.TimeoutExpired:
        return Ran(-1, "", "", "hang")
    crash = None
    if "Traceback" in res.stderr:
        crash = res.stderr.strip().splitlines()[-1][:160]
    elif res.returncode < 0:
        crash = f"killed by signal {-res.returncode}"
    return Ran(res.returncode, res.stdout, res.stderr, crash)


def refusal_problem(ran: Ran, names: tuple[str, ...]) -> str | None:
    """Why this is not a clear refusal, or None when it is one."""
    first = ran.stderr.strip().splitlines()[:1] or [""]
    said = f"exit {ran.exit_code}, stderr {ran.stderr.strip()[:200]!r}"
    if ran.exit_code == 0:
        return f"SILENTLY ACCEPTED: exit 0, stdout {ran.stdout.strip()[:120]!r}"
    if ran.exit_code != 2:
        return f"UNCLEAR: {said}"
    if not re.search(r"^Error:", ran.stderr, re.M):
        return f"UNCLEAR (no 'Error:' line; first line {first[0][:80]!r}): {said}"
    unnamed = [n for n in names if not re.search(n, ran.stderr, re.I)]
    if unnamed:
        return f"UNCLEAR (does not name {' / '.join(unnamed)}): {said}"
    return None


def reading_problem(case: Case, ws: Workspace, ran: Ran) -> str | None:
    if ran.exit_code != 0:
        return f"NOT READ: exit {ran.exit_code}, stderr {ran.stderr.strip()[:200]!r}"
    try:
        case.expect.check(ws, ran)  # type: ignore[union-attr]
    except AssertionError as exc:
        return f"MISREAD: {exc}"
    except Exception as exc:  # noqa: BLE001 - a check that cannot read the result is a misreading too
        return f"MISREAD: {type(exc).__name__}: {exc}"
    return None


def verdict(case: Case, ws: Workspace, ran: Ran) -> str | None:
    """What is wrong with this case's outcome, in one line, or None."""
    if ran.crash == "hang":
        return f"HANG: no answer within {DEADLINE_S} s"
    if ran.crash or "Traceback" in ran.stdout + ran.stderr:
        return f"TRACEBACK: {ran.crash or 'in output'}"
    expect = case.expect
    if isinstance(expect, Refused):
        return refusal_problem(ran, expect.names)
    return reading_problem(case, ws, ran)


def test_the_corpus_is_large_and_named_uniquely():
    ids = [c.id for c in CASES]
    assert len(ids) >= 150
    assert len(set(ids)) == len(ids), [i for i in ids if ids.count(i) > 1]
    refusals = sum(isinstance(c.expect, Refused) for c in CASES)
    readings = sum(isinstance(c.expect, Read) for c in CASES)
    assert refusals > 100 and readings > 20


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input(case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, store_template) -> None:
    if case.root_defeats and os.geteuid() == 0:
        pytest.skip("root writes through file permissions, so this malformation cannot be made here")
    monkeypatch.chdir(tmp_path)
    ws = Workspace(tmp_path, store_template)
    args = list(case.build(ws))
    ran = in_subprocess(args, tmp_path) if case.subprocess else in_process(args)
    problem = verdict(case, ws, ran)
    assert problem is None, f"{case.id}: {problem}"


@pytest.mark.parametrize(
    "case_id", ["yaml-not-utf8", "csv-bom-excel-utf8"], ids=["refusal-via-entry-point", "reading-via-entry-point"]
)
def test_real_entry_point_behaves_as_in_process(case_id: str, tmp_path: Path) -> None:
    """The installed command (``python -m eitest``) gives the same outcome as the CliRunner run."""
    case = next(c for c in CASES if c.id == case_id)
    ws = Workspace(tmp_path)
    args = list(case.build(ws))
    res = run_cli(*args, cwd=tmp_path, timeout=DEADLINE_S * 3)
    outer = Ran(res.returncode, res.stdout, res.stderr, None)
    inner = in_process(args)
    assert (inner.exit_code, inner.stdout, inner.stderr) == (outer.exit_code, outer.stdout, outer.stderr)
    assert verdict(case, ws, inner) == verdict(case, ws, outer)
