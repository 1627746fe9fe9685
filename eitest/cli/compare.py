"""eitest compare-runs: runs of one design (a model before and after an update, or two models) item by item."""

from __future__ import annotations

import click

from eitest.cli import options
from eitest.cli.output import correction_option, db_option, emit, user_errors
from eitest.cli.terminal import echo, json_text

SHOWN = (
    "instrument",
    "a",
    "b",
    "basis",
    "score_a",
    "score_b",
    "difference",
    "ci_low",
    "ci_high",
    "p",
    "p_adj",
    "n_gained",
    "n_lost",
)


@click.command("compare-runs")
@db_option
@click.option(
    "--run",
    "runs",
    multiple=True,
    callback=options.distinct("compared"),
    help="A run to compare (repeatable; default: every run in the store).",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    callback=options.distinct("compared"),
    help="Compare only this model's trials (repeatable; default: every model of the runs).",
)
@correction_option
@click.option("--boot", "n_boot", type=options.BOOTSTRAP, default=2000, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", type=options.SEED, default=0, show_default=True, help="Seed of the bootstrap.")
@click.option("--json", "as_json", is_flag=True, help="Print every table as JSON.")
@click.option(
    "--html", type=click.Path(dir_okay=False), help="Also write the comparison as a self-contained HTML page."
)
@click.option("--pdf", type=click.Path(dir_okay=False), help="Also write the comparison as a PDF.")
@user_errors
def compare_runs(
    db: str,
    runs: tuple[str, ...],
    models: tuple[str, ...],
    correction: str,
    n_boot: int,
    seed: int,
    as_json: bool,
    html: str | None,
    pdf: str | None,
) -> None:
    """Compare runs of one study design item by item: paired differences, flipped items, the checks."""
    from eitest.outputs.comparison_page import write_comparison_report
    from eitest.scoring.comparison import compare_runs as run_comparison

    result = run_comparison(db, runs=runs, models=models, n_boot=n_boot, seed=seed, correction=correction)
    written = write_comparison_report(result, html, pdf) if (html or pdf) else []
    if as_json:
        click.echo(json_text(result.to_dict(), indent=2))
    else:
        emit(result.to_dict()["differences"], as_json=False, as_csv=False, columns=SHOWN, title="b - a, paired by item")
        for row in result.to_dict()["omnibus"]:
            echo(f"{row['instrument']}: {row['method']}: {row['statistic']:.2f} (df {row['df']}), p = {row['p']:.4g}")
    for note in result.notes:
        echo(f"note: {note}", err=True)
    for path in written:
        echo(f"wrote {path}", err=True)
