"""eitest analyze: scores, human-norm statistics and trust checks from a store."""

from __future__ import annotations

import json

import click

from eitest.cli.output import correction_option, db_option, emit, norms_option, user_errors


@click.command()
@db_option
@norms_option
@click.option("--run", "run_id", help="Analyse one run (default: each model x instrument's latest run).")
@click.option(
    "--exclude-unanswered",
    is_flag=True,
    help="Drop unparseable, refused and failed trials instead of scoring them as wrong.",
)
@correction_option
@click.option(
    "--boot", "n_boot", type=click.IntRange(min=100), default=2000, show_default=True, help="Bootstrap resamples."
)
@click.option("--seed", type=int, default=0, show_default=True)
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
    from eitest.stats import apa

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
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    elif as_csv:
        emit(result.scores.to_dict("records"), as_json=False, as_csv=True)
    else:
        rows = []
        for r in result.scores.itertuples():
            rows.append(
                {
                    "model": r.model,
                    "test": r.instrument,
                    "accuracy [95% CI]": f"{apa.percent(r.accuracy)} [{apa.percent(r.ci_low)}, {apa.percent(r.ci_high)}]",
                    "weighted": "—" if r.weighted_score != r.weighted_score else apa.proportion(r.weighted_score),
                    "parsed": apa.percent(r.parse_rate),
                    "human M (SD)": "—" if r.norm_mean != r.norm_mean else apa.mean_sd(r.norm_mean, r.norm_sd),
                    "percentile [95% CI]": "—"
                    if r.percentile != r.percentile
                    else f"{r.percentile:.1f} [{r.percentile_ci_low:.1f}, {r.percentile_ci_high:.1f}]",
                    "Crawford-Howell": "—"
                    if r.t != r.t
                    else apa.t_test(r.t, r.df, r.p) + f", p_adj {apa.p_value(r.p_adj).removeprefix('p ')}",
                }
            )
        emit(rows, as_json=False, as_csv=False, title="Scores")
        summary = [
            {
                "": r.name,
                "tests": "—" if r.n_tests != r.n_tests else int(r.n_tests),
                "mean [95% CI]": f"{apa.percent(r.mean)}"
                + (
                    f" [{apa.percent(r.ci_low)}, {apa.percent(r.ci_high)}]"
                    if r.ci_low == r.ci_low and r.n_tests >= 3
                    else ""
                ),
            }
            for r in result.summary.itertuples()
        ]
        emit(summary, as_json=False, as_csv=False, title="Mean over tests")
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
