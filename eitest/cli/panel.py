"""eitest panel: a panel of models estimates new items' human difficulty, calibrated on items of known human_p."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING, Any

import click

from eitest.cli import options
from eitest.cli.output import UsageProblem, emit, user_errors
from eitest.cli.terminal import echo, json_text
from eitest.vocabulary import OptionOrder

if TYPE_CHECKING:
    from eitest.scoring.panel import PanelResult


@click.command()
@click.option(
    "--models",
    "-m",
    "models",
    cls=options.GreedyOption,
    multiple=True,
    callback=options.distinct("run"),
    help="The panel's models (litellm strings), two or more: --models M1 M2 ... or --models repeated.",
)
@click.option("--instrument", "-i", required=True, help="The new items: an instrument id or file.")
@click.option(
    "--calibration",
    multiple=True,
    callback=options.distinct("used"),
    help="An instrument whose items carry human_p, to calibrate on (repeatable), e.g. from 'eitest norms build --items-out'.",
)
@click.option("--db", default="eitest.db", show_default=True, type=click.Path(dir_okay=False), help="The SQLite store.")
@click.option("--reps", type=options.REPS, default=1, show_default=True, help="Repetitions of each item per model.")
@click.option(
    "--option-order", type=click.Choice([o.value for o in OptionOrder]), default="original", show_default=True
)
@click.option("--seed", type=options.SEED, default=0, show_default=True, help="Seed for shuffled orders.")
@click.option("--api-base", help="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
@options.api_key_env_option
@click.option("--concurrency", type=options.CONCURRENCY, default=8, show_default=True, help="Most calls in flight.")
@click.option("--max-cost", type=options.MAX_COST, help="Refuse (or stop) a run whose cost in USD would pass this.")
@click.option("--yes", "-y", is_flag=True, help="Run without asking to confirm the plan.")
@click.option(
    "--uncalibrated",
    is_flag=True,
    help="Run the panel even when too few items carry human_p to calibrate on (its answers are stored for later).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the whole result as JSON.")
@user_errors
def panel(
    models: tuple[str, ...],
    instrument: str,
    calibration: tuple[str, ...],
    db: str,
    yes: bool,
    uncalibrated: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Run a panel of models on new items and predict each item's human proportion correct.

    The prediction is shown only when, on the calibration items (those with a known
    human_p), it tracks human p: at least 10 items, a Spearman interval above 0 and a
    mean absolute error below that of ignoring the panel. With fewer than 4 items of
    known human_p the panel is refused before any model is called (exit status 2),
    unless --uncalibrated runs it anyway and says it cannot calibrate (exit status 0).
    """
    from pydantic import ValidationError

    from eitest.administer.study import Study
    from eitest.workflows.panel import run_panel

    panel_models = list(models)
    given = {k: v for k, v in flags.items() if v is not None}
    try:
        study = Study.model_validate({"models": panel_models, "instruments": [instrument], **given})
    except ValidationError as exc:
        raise UsageProblem(options.validation_problems(exc)) from None

    def confirm(plan: Any) -> bool:
        for line in plan.describe():
            echo(line, err=True)
        if yes or not sys.stdin.isatty() or not plan.todo:
            return True
        return click.confirm("Run it?", default=True, err=True)

    command = shlex.join(["eitest", *sys.argv[1:]])
    result = run_panel(study, db, calibration=calibration, command=command, on_plan=confirm, uncalibrated=uncalibrated)
    if as_json:
        click.echo(json_text(result.to_dict(), indent=2))
    else:
        _print(result)
    if result.reason:
        echo(f"note: {result.reason}", err=True)
    for note in result.notes:
        echo(f"note: {note}", err=True)


def _print(result: PanelResult) -> None:
    cal = result.calibration
    if result.calibrated:
        echo(
            f"calibration on {cal['n_items']} items ({cal['cross_validation']}): Spearman rho = {cal['rho']:.2f}, "
            f"95% CI [{cal['rho_ci_low']:.2f}, {cal['rho_ci_high']:.2f}]; mean absolute error {cal['mae_cv']:.3f} "
            f"(without the panel: {cal['mae_without_panel']:.3f})"
        )
    if result.usable:
        emit(result.to_dict()["predictions"], as_json=False, as_csv=False, title="predicted human proportion correct")
