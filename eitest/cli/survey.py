"""eitest survey: export an instrument as a questionnaire for human participants."""

from __future__ import annotations

import click

from eitest.cli import options
from eitest.cli.output import user_errors
from eitest.cli.terminal import echo


@click.group()
def survey() -> None:
    """Questionnaires for human data collection (CSV, Qualtrics, a standalone HTML page)."""


@survey.command()
@click.option("--instrument", "-i", required=True, help="Instrument id or file.")
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["csv", "qualtrics", "html"]),
    help="csv: one row per item; qualtrics: Advanced Format TXT; html: a standalone page.",
)
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option(
    "--randomize/--no-randomize",
    default=None,
    help="Shuffle the item order (html: per participant; csv: one seeded order; qualtrics: notes on how to set it)  [default: html and qualtrics yes, csv no].",
)
@click.option(
    "--seed",
    type=options.SEED,
    help="csv: seed of the shuffled order (default 0). html: mixed with each participant's id for a reproducible order per participant (default: random; ?seed=N in the URL wins).",
)
@click.option("--with-key", is_flag=True, help="csv only: add the key (or weights) and the rationale.")
@user_errors
def export(instrument: str, fmt: str, out: str, randomize: bool | None, seed: int | None, with_key: bool) -> None:
    """Write an instrument as a questionnaire; the HTML page's answer CSV feeds 'eitest norms build'."""
    from eitest.human.survey import export as write
    from eitest.instruments import get
    from eitest.outputs.writing import check_output_file, output_errors

    inst = get(instrument)
    with output_errors(check_output_file(out)):
        written = write(inst, fmt, out, randomize=randomize, seed=seed, with_key=with_key)
    for path in written:
        echo(f"wrote {path}", err=True)
