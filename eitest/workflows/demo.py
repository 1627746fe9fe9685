"""The offline demo: the open instruments on the offline responders, analysed and reported.

Needs no key and no network. With the ``local`` extra installed, the small local
embedding model answers too, as a real (weak) baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEMO_INSTRUMENTS = ["open-steu", "open-stem"]
DEMO_MODELS = ["eitest/oracle", "eitest/chance", "eitest/first"]


@dataclass(frozen=True)
class DemoResult:
    db: Path
    html: Path
    pdf: Path | None
    models: list[str]


def demo_models() -> list[str]:
    from eitest.client.local_model import available

    return DEMO_MODELS + (["eitest/local-minilm"] if available() else [])


def run_demo(
    out: str | Path = "eitest-demo", *, reps: int = 3, pdf: bool = True, command: str | None = None
) -> DemoResult:
    """Run the demo into ``out`` (a store, report.html and report.pdf); resumes if run again."""
    from eitest.administer.runner import run_study
    from eitest.administer.study import Study
    from eitest.outputs.report import write_report
    from eitest.outputs.writing import output_folder

    out = output_folder(out)  # a file or an unwritable place in the way is a clear error, before any work
    db = out / "eitest.db"
    models = demo_models()
    study = Study(models=models, instruments=DEMO_INSTRUMENTS, reps=reps, option_order="shuffled", seed=2025)
    run_study(study, db, command=command)
    files = write_report(
        db,
        out / "report.html",
        out / "report.pdf" if pdf else None,
        title="eitest demo: open instruments on the offline responders",
        command=command,
    )
    return DemoResult(db, files.html, files.pdf, models)
