"""eitest probe: checks of a model that are not measurements of it (memorisation of the items)."""

from __future__ import annotations

import shlex
import sys

import click

from eitest.cli import options
from eitest.cli.output import UsageProblem, emit, user_errors
from eitest.cli.pipes import guard_output
from eitest.cli.progress import RunProgress, exit_if_signalled
from eitest.cli.terminal import echo

DEFAULT_DB = "eitest.db"
SUMMARY_COLUMNS = ["model", "instrument", "n_items", "n_flagged", "n_controls", "baseline_bound"]


@click.group()
def probe() -> None:
    """Probe models: has a model seen the items? (The probe's runs are never scored as tests.)"""


@probe.command("memorisation")
@click.option("--model", "-m", "models", multiple=True, required=True, callback=options.distinct("probe"),
              help="litellm model string, e.g. openai/gpt-4o (repeatable).")  # fmt: skip
@click.option("--instrument", "-i", "instruments", multiple=True, required=True, callback=options.distinct("probe"),
              help="Instrument id or file whose items to probe (repeatable).")  # fmt: skip
@click.option("--controls", help="Instrument id or file of never-published items in the same style, the baseline "
              "(default: open-steu for steu and steu-b, open-stem for stem and stem-b).")  # fmt: skip
@click.option("--db", default=DEFAULT_DB, show_default=True, type=click.Path(dir_okay=False), help="SQLite store.")
@click.option("--api-base", help="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
@options.api_key_env_option
@click.option("--concurrency", type=options.CONCURRENCY, help="Most calls in flight at once  [default: 8].")
@click.option("--rpm", type=options.RPM, multiple=True, callback=options.per_model,
              help="Requests per minute to each model, at most; MODEL=N for one (others: a bare N, or no limit).")  # fmt: skip
@click.option("--max-tokens", type=options.MAX_TOKENS,
              help="Cap on a continuation's tokens  [default: 512; 25,000 for a reasoning model, room to reason].")  # fmt: skip
@click.option("--timeout", "timeout_s", type=options.TIMEOUT, help="Seconds before a call times out  [default: 120].")
@click.option("--retries", "max_retries", type=options.RETRIES, help="Retries of a failed call  [default: 4].")
@click.option("--yes", "-y", is_flag=True, help="Run without asking to confirm the plan.")
@user_errors
def memorisation(db: str, yes: bool, controls: str | None, **flags: object) -> None:
    """Ask the model to continue each item's text word for word, and flag the items it reproduces.

    Its continuations are compared with those of control items of the same style that were
    never published; an item whose similarity passes the controls' is flagged. Re-running resumes.
    """
    from pydantic import ValidationError

    from eitest.administer.study import Study
    from eitest.probes.running import run_probe
    from eitest.scoring.memorisation import memorisation_findings

    given = {k: list(v) if isinstance(v, tuple) else v for k, v in flags.items() if v not in (None, ())}
    try:
        study = Study.model_validate(given)
    except ValidationError as exc:
        raise UsageProblem(options.validation_problems(exc)) from None

    def confirm(plan) -> bool:
        for line in plan.describe():
            echo(line, err=True)
        if yes or not plan.todo or not sys.stdin.isatty():
            return True
        return click.confirm("Run it?", default=True, err=True)

    guard_output()  # from here a closed stdout or stderr (| head -1) drops output, never the probe
    command = shlex.join(["eitest", *sys.argv[1:]])
    progress = RunProgress()
    try:
        outcome = run_probe(
            study,
            db,
            command=command,
            controls=controls,
            on_plan=lambda p: confirm(p) and progress.start(len(p.todo)),
            on_trial=progress.advance,
            on_throttle=progress.note,
            on_pace=progress.pace,
            on_note=lambda text: echo(f"note: {text}", err=True),
        )
    finally:
        progress.stop()
    exit_if_signalled(outcome, command)
    if outcome.stopped:
        echo(f"stopped: {outcome.stopped}", err=True)
    findings = memorisation_findings(db, outcome.run_id)
    emit(findings, as_json=False, as_csv=False, columns=SUMMARY_COLUMNS, title=f"probe run {outcome.run_id}")
    echo(
        f"{outcome.called} call(s) made, {outcome.skipped} already done, {outcome.failed} failed"
        + (" (re-run the same command to retry them)" if outcome.failed else "")
        + f"; 'eitest analyze --db {db} --json' shows the evidence",
        err=True,
    )
