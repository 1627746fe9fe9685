"""The eitest command line: thin click commands over the Python API.

Each command group lives in its own module; this module only assembles them. No
heavy library is imported here, so that ``eitest --help`` stays fast.
"""

from __future__ import annotations

import click

from eitest.cli.analyze import analyze
from eitest.cli.compare import compare_runs
from eitest.cli.export import export
from eitest.cli.forms import compare_forms
from eitest.cli.generate import generate
from eitest.cli.instruments import instruments
from eitest.cli.norms import norms
from eitest.cli.panel import panel
from eitest.cli.probe import probe
from eitest.cli.replicate import replicate
from eitest.cli.report import demo, report
from eitest.cli.run import run, runs
from eitest.cli.survey import survey
from eitest.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="eitest")
def cli() -> None:
    """Give standardized emotional-intelligence tests to language models and compare them with human norms."""


cli.add_command(instruments)
cli.add_command(norms)
cli.add_command(run)
cli.add_command(runs)
cli.add_command(analyze)
cli.add_command(export)
cli.add_command(report)
cli.add_command(demo)
cli.add_command(replicate)
cli.add_command(generate)
cli.add_command(survey)
cli.add_command(compare_forms)
cli.add_command(compare_runs)
cli.add_command(panel)
cli.add_command(probe)


def main() -> None:
    cli(prog_name="eitest")
