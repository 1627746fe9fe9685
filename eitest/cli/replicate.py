"""eitest replicate: a published study as one command."""

from __future__ import annotations

import sys
from typing import Any

import click

from eitest.cli import options
from eitest.cli.output import UsageProblem, user_errors
from eitest.cli.terminal import echo


@click.command()
@click.argument("study")
@click.option(
    "--models",
    "models",
    cls=options.GreedyOption,
    multiple=True,
    callback=options.distinct("run"),
    help="Models to run instead of the paper's (space-separated or repeated).",
)
@click.option("--reps", type=options.REPS, help="Repetitions (default: the design's).")
@click.option(
    "--out",
    default="eitest-replication",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the store and report.",
)
@click.option("--api-base", help="Base URL of an OpenAI-compatible server for openai/NAME models.")
@click.option("--concurrency", type=options.CONCURRENCY, default=8, show_default=True, help="Calls in flight at once.")
@click.option("--max-cost", type=options.MAX_COST, help="Refuse a run whose estimated cost in USD passes this.")
@click.option("--dry-run", is_flag=True, help="Show the plan and the cost estimate; call nothing.")
@click.option("--no-pdf", is_flag=True, help="Skip the PDF.")
@click.option("--yes", "-y", is_flag=True, help="Run without asking to confirm the plan.")
@user_errors
def replicate(
    study: str,
    models: tuple[str, ...],
    reps: int | None,
    out: str,
    api_base: str | None,
    concurrency: int,
    max_cost: float | None,
    dry_run: bool,
    no_pdf: bool,
    yes: bool,
) -> None:
    """Replicate a published study (e.g. schlegel2025) or run a study design file."""
    from eitest.workflows.replicate import availability, load_design
    from eitest.workflows.replicate import replicate as run_replication

    design = load_design(study)
    status = availability(design)
    echo(f"{design.title}", err=True)
    for s in status:
        echo(f"  {s.paper_name:<16} {'items on this machine' if s.available else 'MISSING'}", err=True)
    for s in status:
        if not s.available:
            echo(f"\nto run {s.paper_name} ({s.id}): {s.how_to_import}", err=True)
    skipped = [m for m in design.models if not m.litellm]
    for m in skipped:
        echo(f"\nnot run: {m.paper_name}: {m.note}", err=True)
    if not any(s.available for s in status):
        raise UsageProblem(
            "none of the study's tests has its items on this machine; import them as shown above, then run this again"
        )

    def confirm(plan: Any) -> bool:
        for line in plan.describe():
            echo(line, err=True)
        if yes or not sys.stdin.isatty() or not plan.todo:
            return True
        return click.confirm("Run it?", default=True, err=True)

    overrides: dict[str, Any] = {"concurrency": concurrency, "max_cost": max_cost}
    if api_base:
        overrides["api_base"] = api_base
    result = run_replication(
        study, out, models=list(models) or None, reps=reps, dry_run=dry_run, pdf=not no_pdf, on_plan=confirm,
        command=" ".join(["eitest", *sys.argv[1:]]), **overrides,
    )  # fmt: skip
    if dry_run:
        for line in result.plan_lines:
            echo(line)
        return
    if result.stopped:
        echo(f"stopped: {result.stopped}", err=True)
    for note in result.notes:
        echo(f"note: {note}", err=True)
    if result.html is None:  # the plan was not confirmed: nothing was run or written
        return
    echo(f"report: {result.html}")
    if result.pdf:
        echo(f"pdf:    {result.pdf}")
    echo(f"store:  {result.db}")
