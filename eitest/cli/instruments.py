"""eitest instruments: list, show, validate and import instrument files."""

from __future__ import annotations

import click

from eitest.cli.output import UsageProblem, emit, output_options, user_errors
from eitest.cli.terminal import echo, json_text


@click.group()
def instruments() -> None:
    """The tests eitest knows: open item sets, published tests' metadata, your imports."""


@instruments.command("list")
@output_options
@user_errors
def list_(as_json: bool, as_csv: bool) -> None:
    """List instruments with their item counts (available now / published)."""
    from eitest.instruments import catalogue

    rows = [inst.summary() for inst in catalogue().values()]
    emit(
        rows,
        as_json=as_json,
        as_csv=as_csv,
        columns=["id", "name", "construct", "scoring", "n_items", "n_items_published"],
    )


@instruments.command()
@click.argument("instrument_id")
@click.option("--items", "show_items", is_flag=True, help="Print every item too.")
@click.option("--json", "as_json", is_flag=True, help="Print the normalized instrument as JSON.")
@user_errors
def show(instrument_id: str, show_items: bool, as_json: bool) -> None:
    """Show one instrument: metadata, content hash, how to obtain licensed items."""
    from eitest.instruments import get

    inst = get(instrument_id)
    if as_json:
        click.echo(json_text({**inst.normalized(), "content_hash": inst.content_hash}, indent=2))
        return
    s = inst.summary()
    echo(f"{inst.id}: {inst.name}")
    echo(f"  construct:  {inst.construct}")
    echo(f"  scoring:    {inst.scoring}" + (f" (weights: {inst.weights_source})" if inst.weights_source else ""))
    echo(
        f"  items:      {s['n_items']} available, {s['n_items_published'] if s['n_items_published'] is not None else 'unknown'} published"
    )
    echo(f"  version:    {inst.version}   language: {inst.language}")
    echo(f"  license:    {inst.license}")
    echo(f"  citation:   {inst.citation}")
    echo(f"  hash:       {inst.content_hash}")
    if inst.published and inst.is_metadata_only:
        echo(f"  items owner: {inst.published.items_owner}")
        echo(f"  to obtain:  {inst.published.obtain}")
    if show_items:
        for it in inst.items:
            echo(f"\n[{it.id}] {it.stem}\n  {it.question}")
            for o in it.options:
                mark = "*" if o.id == it.best_option else " "
                credit = f" ({it.weights.get(o.id, 0):.2f})" if it.weights else ""
                echo(f"  {mark} {o.id}) {o.text}{credit}")


@instruments.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
def validate(paths: tuple[str, ...]) -> None:
    """Check instrument files and report every problem (file, item, field). Exit 2 if any."""
    from eitest.instruments import InstrumentError, load

    bad = 0
    for path in paths:
        try:
            inst = load(path)
        except InstrumentError as exc:
            bad += 1
            for p in exc.problems:
                echo(str(p), err=True)
            continue
        echo(f"{path}: ok ({inst.id}, {inst.n_items} items, hash {inst.content_hash[:12]})")
    if bad:
        raise UsageProblem(f"{bad} of {len(paths)} file(s) invalid")


@instruments.command("import")
@click.argument("instrument_id")
@click.argument("path", type=click.Path())
@click.option(
    "--scoring",
    type=click.Choice(["keyed", "weighted"]),
    help="Scoring of the imported file when the test allows both.",
)
@user_errors
def import_(instrument_id: str, path: str, scoring: str | None) -> None:
    """Import licensed items of a published test (YAML, JSON, CSV or a dataset) into your data directory."""
    from eitest.instruments import import_instrument

    out = import_instrument(instrument_id, path, scoring=scoring)
    echo(f"imported {instrument_id} -> {out}")
