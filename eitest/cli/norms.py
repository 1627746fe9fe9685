"""eitest norms: the human norm figures on file, each with its source."""

from __future__ import annotations

from typing import Any

import click

from eitest.cli import options
from eitest.cli.output import UsageProblem, emit, missing_option, output_options, user_errors
from eitest.cli.terminal import echo, json_text


@click.group()
def norms() -> None:
    """Published human norms (mean, SD, n, reliability), each figure with its source."""


@norms.command("list")
@output_options
@user_errors
def list_(as_json: bool, as_csv: bool) -> None:
    """List every norm on file."""
    from eitest.instruments.norms import all_norms

    rows = [n.row() for n in all_norms()]
    emit(
        rows,
        as_json=as_json,
        as_csv=as_csv,
        columns=["instrument", "source", "scale", "n", "mean", "sd", "alpha", "sample"],
    )


@norms.command()
@click.argument("norm_id")
@output_options
@user_errors
def show(norm_id: str, as_json: bool, as_csv: bool) -> None:
    """Show the norms of one source id, or every norm for one instrument id."""
    from eitest.instruments.norms import all_norms

    rows = [n.row() for n in all_norms() if norm_id in (n.instrument, n.source.id if n.source else None)]
    if not rows:
        raise UsageProblem(f"no norm on file for {norm_id!r}; 'eitest norms list' shows what is on file")
    if as_json or as_csv:
        emit(rows, as_json=as_json, as_csv=as_csv)
        return
    for r in rows:
        echo(f"{r['instrument']} — {r['source']}: {r['sample']}")
        echo(f"  scale: {r['scale']}" + (f" ({r['n_items']} items)" if r["n_items"] else ""))
        for name in ("n", "mean", "sd", "alpha"):
            v = r[name]
            shown = "not on file" if v is None else f"{v:g}   [{r[name + '_where']}]"
            echo(f"  {name:<6} {shown}")
        echo(f"  source: {r['citation']}")
        if r["note"]:
            echo(f"  note:   {r['note']}")


@norms.command()
@click.argument(
    "responses", nargs=-1, required=True, type=click.Path(dir_okay=False), callback=options.distinct("read", paths=True)
)
@click.option("--instrument", "-i", required=True, help="Instrument id or file the responses answer.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Norm file to write  [default: your norms directory, where analyses find it].",
)
@click.option("--source-id", help="Id of the norm's source  [default: <instrument>-<file name>].")
@click.option("--sample", help="One line describing the sample (who, where, when).")
@click.option(
    "--items-out",
    type=click.Path(dir_okay=False),
    help="Also write the instrument with human_p and item statistics filled in.",
)
@click.option(
    "--irt-out",
    type=click.Path(dir_okay=False),
    help="Also estimate 2PL item parameters (N >= 200) and write them as a CSV of irt_* columns.",
)
@missing_option
@click.option("--json", "as_json", is_flag=True, help="Print the norm and the item table as JSON.")
@user_errors
def build(
    responses: tuple[str, ...],
    instrument: str,
    out: str | None,
    source_id: str | None,
    sample: str | None,
    items_out: str | None,
    irt_out: str | None,
    missing: str,
    as_json: bool,
) -> None:
    """Build a norm file from response CSV files (participant, one column per item id, cells = option ids).

    Several files (e.g. one per participant from the HTML survey page) are read as one sample.
    With --irt-out, 2PL item parameters and the test information curve are estimated from the same
    credits (marginal ML, 200 participants or more), each parameter with this sample as its source.
    """
    import json

    from eitest.human.norm_building import build_norms, reliability_text, write_items, write_norm_file
    from eitest.instruments import get
    from eitest.outputs.writing import check_output_file, output_errors
    from eitest.stats import apa

    for target in (out, items_out, irt_out):
        if target:
            check_output_file(target)
    result = build_norms(list(responses), get(instrument), source_id=source_id, sample=sample, missing=missing)
    irt = _irt_build(result, responses, instrument, irt_out) if irt_out else None  # before any file is written
    with output_errors(out or "the norm file"):
        path = write_norm_file(result, out)
    if items_out:
        from eitest.human.irt_building import write_items_with_irt

        with output_errors(items_out):
            if irt:
                write_items_with_irt(result, irt, items_out)
            else:
                write_items(result, items_out)
    if irt_out and irt:
        from eitest.human.irt_building import irt_csv_text, read_irt_csv
        from eitest.outputs.writing import write_text

        write_text(irt_out, irt_csv_text(irt), read_irt_csv)
    if as_json:
        extra = {} if irt is None else {"irt": _irt_json(irt)}
        click.echo(
            json_text(
                {
                    "norm_file": str(path),
                    **result.data,
                    "items": json.loads(result.items.to_json(orient="records")),
                    **extra,
                },
                indent=2,
            )
        )
    else:
        emit(
            result.items.to_dict("records"),
            as_json=False,
            as_csv=False,
            title=f"Items of {result.instrument.id} (N = {result.n})",
        )
        echo(
            f"{result.instrument.id}: N = {result.n}, {apa.mean_sd(result.mean, result.sd)}, {reliability_text(result.reliability)}"
        )
    if irt is not None and not as_json:
        emit(irt.information.to_dict("records"), as_json=False, as_csv=False, title="Test information (2PL items)")
    for note in [*result.notes, *(irt.notes if irt else [])]:
        echo(f"note: {note}", err=True)
    written = [str(p) for p in (items_out, irt_out) if p]
    echo(f"wrote {path}" + (f" and {', '.join(written)}" if written else ""), err=True)


def _irt_build(result: Any, responses: tuple[str, ...], instrument: str, irt_out: str) -> Any:
    from eitest.human.irt_building import irt_from_norm_build

    where = f"eitest norms build {' '.join(responses)} --instrument {instrument} --irt-out {irt_out}"
    return irt_from_norm_build(result, where=where)


def _irt_json(irt: Any) -> dict[str, Any]:
    import json

    return {
        "items": json.loads(irt.items_table().to_json(orient="records")),
        "information": json.loads(irt.information.to_json(orient="records")),
        "n": irt.calibration.n,
        "converged": irt.calibration.converged,
        "iterations": irt.calibration.iterations,
        "notes": irt.notes,
    }
