"""What a run records about where it came from: the git revision, package versions, and the command.

A reader of a store years later should be able to tell how to run the same study
again: from the CLI that is the ``eitest ...`` command line; from Python it is the
``eitest.run_study(...)`` call with the study's non-default fields, and the script or
notebook it ran in when that is known.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from eitest.administer.study import Study
from eitest.store import RunRecord, now
from eitest.version import __version__


def git_revision() -> tuple[str | None, bool | None]:
    """The revision of the eitest checkout and whether its tree is dirty; (None, None) outside a checkout."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return None, None
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True, text=True, timeout=5)
        return rev.stdout.strip(), bool(dirty.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def python_call(
    study: Study,
    db: str | Path,
    *,
    argv: Sequence[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """``eitest.run_study(eitest.Study(...), db)`` with the study's non-default fields, and where it ran.

    ``argv`` and ``environ`` default to the process's own. Keys are not removed here:
    the caller redacts the whole line.
    """
    fields = ", ".join(f"{k}={v!r}" for k, v in study.model_dump(exclude_defaults=True).items())
    call = f"eitest.run_study(eitest.Study({fields}), {str(db)!r})"
    where = _where(list(sys.argv if argv is None else argv), os.environ if environ is None else environ)
    return f"{call}  # from {where}"


def _where(argv: list[str], environ: Mapping[str, str]) -> str:
    program = argv[0] if argv else ""
    if Path(program).name.startswith("ipykernel"):
        # The kernel launcher's path says nothing; Jupyter and VS Code tell the kernel its notebook.
        notebook = environ.get("JPY_SESSION_NAME") or _vscode_notebook()
        return f"the notebook {notebook}" if notebook else "a Jupyter notebook"
    if program in ("", "-c"):
        return "an interactive Python session" if program == "" else "python -c"
    return "python " + " ".join(argv)


def _vscode_notebook() -> str | None:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return (getattr(shell, "user_ns", None) or {}).get("__vsc_ipynb_file__")


def new_run_record(run_id: str, config: dict[str, Any], instrument_hashes: dict[str, str], command: str) -> RunRecord:
    """The record of a run about to start: its config and items, with where it came from (versions, revision, command)."""
    from eitest.client import litellm_module, redact

    revision, dirty = git_revision()
    return RunRecord(
        id=run_id,
        config=config,
        instrument_hashes=instrument_hashes,
        eitest_version=__version__,
        litellm_version=getattr(litellm_module(), "__version__", None) or dist_version("litellm"),
        git_revision=revision,
        git_dirty=dirty,
        command=redact(command),
        created_at=now(),
        started_at=None,
        finished_at=None,
    )
