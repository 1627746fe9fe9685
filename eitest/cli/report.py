"""eitest report and eitest demo."""

from __future__ import annotations

import sys

import click

from eitest.cli import options
from eitest.cli.output import correction_option, db_option, norms_option, user_errors
from eitest.cli.terminal import echo


@click.command()
@db_option
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The HTML report to write.")
@click.option("--pdf", type=click.Path(dir_okay=False), help="Also write the report as PDF.")
@norms_option
@click.option(
    "--run",
    "run_id",
    multiple=True,
    callback=options.one_value,
    help="Report one run (default: each model x instrument's latest run).",
)
@click.option("--title", help="The report's title.")
@click.option(
    "--exclude-unanswered",
    is_flag=True,
    help="Drop unparseable, refused and failed trials instead of scoring them as wrong (as in 'eitest analyze').",
)
@correction_option
@user_errors
def report(
    db: str,
    out: str,
    pdf: str | None,
    norm_files: tuple[str, ...],
    run_id: str | None,
    title: str | None,
    exclude_unanswered: bool,
    correction: str,
) -> None:
    """Write a self-contained HTML report (and a PDF) of the runs in a store."""
    from eitest.outputs.report import write_report
    from eitest.outputs.writing import check_output_file
    from eitest.scoring.analysis import analyze

    for path in (out, pdf):  # before the analysis: a bad path should not cost its time
        if path:
            check_output_file(path)
    # The report describes the analysis it shows, so its methods text follows these options.
    analysis = analyze(
        db, norms=list(norm_files), run=run_id, exclude_unanswered=exclude_unanswered, correction=correction
    )
    files = write_report(db, out, pdf, title=title, command=" ".join(["eitest", *sys.argv[1:]]), analysis=analysis)
    echo(files.html)
    if files.pdf:
        echo(files.pdf)


@click.command()
@click.option(
    "--out",
    default="eitest-demo",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the store and reports.",
)
@click.option("--reps", type=options.REPS, default=3, show_default=True, help="Repetitions of each item.")
@click.option("--no-pdf", is_flag=True, help="Skip the PDF.")
@user_errors
def demo(out: str, reps: int, no_pdf: bool) -> None:
    """Run the open instruments on the offline responders and write a report: no key, no network."""
    from eitest.workflows.demo import run_demo

    click.echo("running the open instruments on the offline responders ...", err=True)
    result = run_demo(out, reps=reps, pdf=not no_pdf, command=" ".join(["eitest", *sys.argv[1:]]))
    echo(f"models: {', '.join(result.models)}", err=True)
    echo(f"report: {result.html}")
    if result.pdf:
        echo(f"pdf:    {result.pdf}")
    echo(f"store:  {result.db}")
    click.echo(
        "\nnext, with a real model:\n"
        "  export OPENAI_API_KEY=...\n"
        "  eitest run --model openai/gpt-4o --instrument open-steu --instrument open-stem --reps 3\n"
        "  eitest analyze\n"
        "  eitest report --out report.html --pdf report.pdf",
        err=True,
    )
