"""eitest norms: the human norm figures on file, each with its source."""

from __future__ import annotations

import click

from eitest.cli.output import UsageProblem, emit, output_options, user_errors


@click.group()
def norms() -> None:
    """Published human norms (mean, SD, n, reliability), each figure with its source."""


@norms.command("list")
@output_options
@user_errors
def list_(as_json: bool, as_csv: bool) -> None:
    """List every norm on file."""
    from eitest.norms import all_norms

    rows = [n.row() for n in all_norms()]
    emit(rows, as_json=as_json, as_csv=as_csv, columns=["instrument", "source", "scale", "n", "mean", "sd", "alpha", "sample"])


@norms.command()
@click.argument("norm_id")
@output_options
@user_errors
def show(norm_id: str, as_json: bool, as_csv: bool) -> None:
    """Show the norms of one source id, or every norm for one instrument id."""
    from eitest.norms import all_norms

    rows = [n.row() for n in all_norms() if norm_id in (n.instrument, n.source.id if n.source else None)]
    if not rows:
        raise UsageProblem(f"no norm on file for {norm_id!r}; 'eitest norms list' shows what is on file")
    if as_json or as_csv:
        emit(rows, as_json=as_json, as_csv=as_csv)
        return
    for r in rows:
        click.echo(f"{r['instrument']} — {r['source']}: {r['sample']}")
        click.echo(f"  scale: {r['scale']}" + (f" ({r['n_items']} items)" if r["n_items"] else ""))
        for name in ("n", "mean", "sd", "alpha"):
            v = r[name]
            shown = "not on file" if v is None else f"{v:g}   [{r[name + '_where']}]"
            click.echo(f"  {name:<6} {shown}")
        click.echo(f"  source: {r['citation']}")
        if r["note"]:
            click.echo(f"  note:   {r['note']}")
