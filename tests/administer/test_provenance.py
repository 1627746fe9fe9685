"""What a run records about how it was started, when run from Python rather than the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

from eitest.administer.provenance import python_call
from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.store import Store

KERNEL = ["/opt/venv/lib/python3.12/site-packages/ipykernel_launcher.py", "-f", "/run/jupyter/kernel-4c1e.json"]
SECRET = "hf-DO-NOT-STORE-52b7c0e1d9"


def test_the_call_names_only_the_fields_that_differ_from_the_defaults():
    study = Study(models=["eitest/oracle", "eitest/first"], instruments=["open-steu"], reps=3, seed=2025)
    got = python_call(study, "runs/eitest.db", argv=["analysis/run_all.py", "--fast"], environ={})
    assert got == (
        "eitest.run_study(eitest.Study(models=['eitest/oracle', 'eitest/first'], instruments=['open-steu'], "
        "reps=3, seed=2025), 'runs/eitest.db')  # from python analysis/run_all.py --fast"
    )


def test_a_notebook_is_named_when_jupyter_tells_the_kernel():
    study = Study(models=["eitest/oracle"], instruments=["open-stem"])
    named = python_call(study, "e.db", argv=KERNEL, environ={"JPY_SESSION_NAME": "analysis/bern.ipynb"})
    assert named.endswith("  # from the notebook analysis/bern.ipynb")
    unnamed = python_call(study, "e.db", argv=KERNEL, environ={})
    assert unnamed.endswith("  # from a Jupyter notebook") and "kernel" not in unnamed
    assert python_call(study, "e.db", argv=[""], environ={}).endswith("# from an interactive Python session")
    assert python_call(study, "e.db", argv=["-c"], environ={}).endswith("# from python -c")


def test_run_study_from_python_records_the_call_without_keys(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", SECRET)
    monkeypatch.setattr(sys, "argv", ["experiments/nightly.py", "--token", SECRET])
    study = Study(models=["eitest/oracle"], instruments=["open-stem"], reps=2, concurrency=2)
    out = run_study(study, tmp_path / "p.db")
    with Store(tmp_path / "p.db") as store:
        command = store.run(out.run_id).command
    assert command.startswith(
        "eitest.run_study(eitest.Study(models=['eitest/oracle'], instruments=['open-stem'], reps=2, concurrency=2), "
    )
    assert command.endswith("p.db')  # from python experiments/nightly.py --token [redacted]")
    assert SECRET not in command
    # a command given by the caller (the CLI gives its command line) is recorded as given
    again = run_study(study.model_copy(update={"reps": 1}), tmp_path / "q.db", command="eitest run -m eitest/oracle")
    with Store(tmp_path / "q.db") as store:
        assert store.run(again.run_id).command == "eitest run -m eitest/oracle"
