"""eitest analyze: scores, human-norm statistics and trust checks from a store."""

from __future__ import annotations

from typing import Any

import click

from eitest.cli import options
from eitest.cli.output import correction_option, db_option, emit, norms_option, user_errors
from eitest.cli.terminal import echo, json_text


@click.command()
@db_option
@norms_option
@click.option(
    "--run",
    "run_id",
    multiple=True,
    callback=options.one_value,
    help="Analyse one run (default: each model x instrument's latest run).",
)
@click.option(
    "--exclude-unanswered",
    is_flag=True,
    help="Drop unparseable, refused and failed trials instead of scoring them as wrong.",
)
@correction_option
@click.option("--boot", "n_boot", type=options.BOOTSTRAP, default=2000, show_default=True, help="Bootstrap resamples.")
@click.option("--seed", type=options.SEED, default=0, show_default=True, help="Seed of the bootstrap and permutations.")
@click.option("--json", "as_json", is_flag=True, help="Print every table as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print the scores table as CSV.")
@user_errors
def analyze(
    db: str,
    norm_files: tuple[str, ...],
    run_id: str | None,
    exclude_unanswered: bool,
    correction: str,
    n_boot: int,
    seed: int,
    as_json: bool,
    as_csv: bool,
) -> None:
    """Score each model on each test, place it on the human scale, and check the measurement."""
    from eitest.scoring.analysis import analyze as run_analysis

    result = run_analysis(
        db,
        norms=list(norm_files),
        run=run_id,
        exclude_unanswered=exclude_unanswered,
        correction=correction,
        n_boot=n_boot,
        seed=seed,
    )
    if as_json:
        click.echo(json_text(result.to_dict(), indent=2))
    elif as_csv:
        emit(result.scores.to_dict("records"), as_json=False, as_csv=True)
    else:
        if not result.scores.empty:
            _print_tables(result)
        _print_memorisation(result.memorisation)
    for note in result.notes:
        echo(f"note: {note}", err=True)


def _print_tables(result: Any) -> None:
    """The report's summary tables, with the same columns, labels and footnotes."""
    from eitest.outputs.report import tables
    from eitest.outputs.report.distributions import expected_pairs

    scores = result.scores
    for table in (
        tables.score_table(scores, expected_pairs(result)),
        tables.norm_table(scores, result.settings),
        tables.mean_table(result.summary, scores),
    ):
        if table is None:
            continue
        emit(table.records(), as_json=False, as_csv=False, title=table.title)
        for line in table.footnotes:
            echo(line)
    irt = result.irt
    if irt is not None and not irt.empty:
        columns = ["model", "instrument", "theta", "theta_se", "theta_method", "bound", "percentile",
                   "percentile_ci_low", "percentile_ci_high", "information", "n_reps", "n_items_irt", "reason"]  # fmt: skip
        emit(irt[columns].to_dict("records"), as_json=False, as_csv=False, title="Ability on the human IRT scale")
        echo("theta: EAP (standard-normal prior) on each item source's calibration; percentile = Phi(theta), "
             "if the calibration population's ability is standard normal; bound 'lower': at the ceiling (every item "
             "right; the true ability may be higher), 'upper': at the floor")  # fmt: skip


def _print_memorisation(findings: list[dict[str, Any]]) -> None:
    """The memorisation probe's counts per model x instrument (its evidence is in --json and the report)."""
    if findings:
        columns = ["model", "instrument", "n_items", "n_flagged", "n_controls", "baseline_bound"]
        emit(findings, as_json=False, as_csv=False, columns=columns, title="Memorisation probe")
