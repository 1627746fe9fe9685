"""eitest export: a store's trials, scores and codebook as files for R, SPSS, pandas or Hugging Face."""

from __future__ import annotations

import click

from eitest.cli import options
from eitest.cli.output import db_option, user_errors
from eitest.cli.terminal import echo
from eitest.vocabulary import ExportFormat


@click.command()
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in ExportFormat]),
    required=True,
    help="csv, parquet, sav (SPSS; needs pyreadstat) or hf (a Hugging Face DatasetDict).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write into (created if missing; earlier export files there are replaced).",
)
@click.option(
    "--run",
    "run_id",
    multiple=True,
    callback=options.one_value,
    help="Export one run (default: every run in the store).",
)
@user_errors
def export(db: str, fmt: str, out: str, run_id: str | None) -> None:
    """Write the trials (long), the scores (wide: model x repetition by instrument) and a codebook.

    The codebook (codebook.md, codebook.json) names every variable, its label, type,
    values and what a missing value means.
    """
    from eitest.outputs.export import export as run_export

    result = run_export(db, out, fmt, run=run_id)
    for note in result.notes:
        echo(f"note: {note}", err=True)
    echo(f"{result.n_trials} trial(s) and {result.n_scores} score row(s) written to {result.out}:", err=True)
    for path in result.files:
        echo(path)
