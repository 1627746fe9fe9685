"""eitest compare-forms: original vs generated form, from the responses of people who took both."""

from __future__ import annotations

import click

from eitest.cli import options
from eitest.cli.output import correction_option, emit, missing_option, user_errors
from eitest.cli.terminal import echo, json_text


@click.command("compare-forms")
@click.option("--original", required=True, help="Original instrument id or file.")
@click.option("--generated", required=True, help="Generated instrument id or file.")
@click.option(
    "--responses",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False),
    callback=options.distinct("read", paths=True),
    help="Response CSV: participant, the items of both forms, external measures (repeatable).",
)
@click.option(
    "--external",
    multiple=True,
    callback=options.distinct("used"),
    help="Column of an external measure to correlate with each form (repeatable).",
)
@click.option(
    "--ignore",
    multiple=True,
    callback=options.distinct("used"),
    help="A column to skip, e.g. age (repeatable); other unknown columns are errors.",
)
@click.option(
    "--bound",
    type=options.FiniteFloat(min=0, min_open=True),
    default=0.25,
    show_default=True,
    help="Equivalence bound for difficulty, in d_z units.",
)
@click.option(
    "--alpha",
    type=options.FiniteFloat(0, 0.5, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Significance level.",
)
@correction_option
@missing_option
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@click.option("--report", type=click.Path(dir_okay=False), help="Also write a self-contained HTML page with the table.")
@user_errors
def compare_forms(
    original: str,
    generated: str,
    responses: tuple[str, ...],
    external: tuple[str, ...],
    ignore: tuple[str, ...],
    bound: float,
    alpha: float,
    correction: str,
    missing: str,
    as_json: bool,
    report: str | None,
) -> None:
    """Compare difficulty (TOST), reliability (Feldt) and validity (Williams) of two forms taken by the same people."""
    from eitest.human.forms import FormsOptions
    from eitest.human.forms import compare_forms as run_comparison
    from eitest.instruments import get
    from eitest.outputs.forms_page import write_forms_page

    options = FormsOptions(
        bound=bound, alpha=alpha, correction=correction, missing=missing, external=external, ignore=ignore
    )
    result = run_comparison(get(original), get(generated), list(responses), options)
    if report:
        write_forms_page(result, report)
    if as_json:
        click.echo(json_text(result.to_dict(), indent=2))
    else:
        rows = [
            {
                "comparison": r["comparison"],
                "original": r["original"],
                "generated": r["generated"],
                "estimate": r["estimate"],
                "p": r["p"],
                "p_adj": r["p_adj"],
                "conclusion": r["conclusion"],
            }
            for r in result.table.to_dict("records")
        ]
        emit(rows, as_json=False, as_csv=False, title=f"{result.original} vs {result.generated} (N = {result.n})")
        for r in result.table.to_dict("records"):
            echo(f"{r['comparison']}: {r['apa']}")
    for note in result.notes:
        echo(f"note: {note}", err=True)
    if report:
        echo(f"wrote {report}", err=True)
