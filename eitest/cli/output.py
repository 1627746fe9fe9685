"""Shared options and output for listing commands: a table by default, --json or --csv.

Data goes to stdout; notices and progress go to stderr. Text from data passes through
:mod:`eitest.cli.terminal` on its way to either: tables are built of rich ``Text``
objects (rich would read markup such as ``[/]`` in a str, and crash or style the
table), ``--csv`` cells are made safe one by one (a CSV listing is a view for a
terminal or a pipe; the exact text stays available from ``--json`` and ``eitest
export``), and ``--json`` writes the characters a terminal acts on as JSON escapes.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from eitest.cli.options import distinct
from eitest.cli.terminal import json_text, safe_text
from eitest.errors import EitestError
from eitest.outputs.cells import spreadsheet_safe
from eitest.vocabulary import Correction

# Options shared by the commands that read a store.
db_option = click.option(
    "--db", default="eitest.db", show_default=True, type=click.Path(dir_okay=False), help="The SQLite store."
)
norms_option = click.option(
    "--norms",
    "norm_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    callback=distinct("read", paths=True),
    help="A norm file to compare with (repeatable); wins over the norms on file.",
)
correction_option = click.option(
    "--correction",
    type=click.Choice([c.value for c in Correction]),
    default="holm",
    show_default=True,
    help="Multiple-comparison correction (Holm or Benjamini-Hochberg) across the tests or comparisons.",
)

# How human response files treat unanswered items (norms build, compare-forms).
missing_option = click.option(
    "--missing",
    type=click.Choice(["wrong", "drop"]),
    default="wrong",
    show_default=True,
    help="Unanswered items: score as wrong, or drop the participant.",
)


def output_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")(fn)
    fn = click.option("--json", "as_json", is_flag=True, help="Print JSON.")(fn)
    return fn


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        try:
            return v.item()
        except (AttributeError, ValueError):
            pass
    return v


def emit(
    rows: Sequence[dict[str, Any]],
    *,
    as_json: bool,
    as_csv: bool,
    columns: Sequence[str] | None = None,
    title: str | None = None,
) -> None:
    """Print records as JSON, CSV, or a table (columns restrict only the table and CSV)."""
    if as_json:
        click.echo(json_text([{k: _jsonable(v) for k, v in r.items()} for r in rows], indent=2, default=str))
        return
    cols = list(columns) if columns else (list(rows[0].keys()) if rows else [])
    if as_csv:
        buf = io.StringIO()
        # Cell by cell: the writer's own \r\n line ends are structure, not data.
        w = csv.writer(buf)
        w.writerow([safe_text(c) for c in cols])
        for r in rows:
            w.writerow([spreadsheet_safe(_csv_cell(r.get(k))) for k in cols])
        click.echo(buf.getvalue(), nl=False)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text, not str: rich would read markup in a str and crash on a stray "[/]" from data.
    table = Table(title=Text(safe_text(title)) if title is not None else None, show_lines=False)
    for c in cols:
        table.add_column(Text(safe_text(c)))
    for r in rows:
        table.add_row(*[Text(safe_text(_cell(r.get(c)))) for c in cols])
    Console(file=sys.stdout, width=max(100, _terminal_width())).print(table)


def _csv_cell(v: Any) -> Any:
    v = _jsonable(v)
    return safe_text(v) if isinstance(v, str) else v


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((120, 24)).columns


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's user-facing errors into a clean message and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except EitestError as exc:
            raise UsageProblem(str(exc)) from None

    return wrapper


class UsageProblem(click.ClickException):
    """A user's mistake: "Error: ..." and exit status 2; the message may quote data, so it is made safe."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(safe_text(message))
