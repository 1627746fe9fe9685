"""eitest run and eitest runs: administer a study, and read the runs in a store."""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING

import click

from eitest.cli import options
from eitest.cli.output import UsageProblem, db_option, emit, output_options, user_errors
from eitest.cli.pipes import guard_output
from eitest.cli.progress import RunProgress, exit_if_signalled
from eitest.cli.terminal import echo
from eitest.vocabulary import STUDY_PROTOCOLS, BatchRetry, OptionOrder, RunKind

if TYPE_CHECKING:
    from eitest.administer.study import Study

DEFAULT_DB = "eitest.db"


@click.command()
@click.argument("study_file", required=False, type=click.Path(dir_okay=False))
@click.option(
    "--model",
    "-m",
    "models",
    multiple=True,
    callback=options.distinct("run"),
    help="litellm model string, e.g. openai/gpt-4o or eitest/oracle (repeatable).",
)
@click.option(
    "--instrument",
    "-i",
    "instruments",
    multiple=True,
    callback=options.distinct("run"),
    help="Instrument id or file (repeatable).",
)
@click.option("--reps", type=options.REPS, help="Repetitions of each item per model  [default: 1].")
@click.option("--temperature", type=options.TEMPERATURE, help="Sampling temperature  [default: 0].")
@click.option(
    "--protocol",
    type=click.Choice([p.value for p in STUDY_PROTOCOLS]),
    help="Prompt protocol  [default: standard].",
)
@click.option(
    "--option-order",
    type=click.Choice([o.value for o in OptionOrder]),
    help="Order of the options shown  [default: original].",
)
@click.option("--seed", type=options.SEED, help="Seed for shuffled orders and the chance responder  [default: 0].")
@click.option(
    "--label",
    help="A name for a new run of the same design, e.g. 2026-12: the same study under another label is "
    "another run, for drift studies (compare them with eitest compare-runs).",
)
@click.option(
    "--concurrency",
    type=options.CONCURRENCY,
    help="Most calls in flight at once; fewer while the provider rate-limits  [default: 8].",
)
@click.option("--rpm", type=options.RPM, multiple=True, callback=options.per_model,
              help="Requests per minute to each model, at most; MODEL=N for one (others: a bare N, or no limit).")  # fmt: skip
@click.option("--tpm", type=options.TPM, multiple=True, callback=options.per_model,
              help="Tokens per minute to each model, at most; MODEL=N for one (others: a bare N, or no limit).")  # fmt: skip
@click.option("--api-base", help="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
@options.api_key_env_option
@click.option("--max-tokens", type=options.MAX_TOKENS, help="Cap on reply tokens (default: the protocol's).")
@click.option("--timeout", "timeout_s", type=options.TIMEOUT, help="Seconds before a call times out  [default: 120].")
@click.option("--retries", "max_retries", type=options.RETRIES, help="Retries of a failed call  [default: 4].")
@click.option("--db", type=click.Path(dir_okay=False), help=f"SQLite store  [default: ./{DEFAULT_DB}].")
@click.option("--max-cost", type=options.MAX_COST, help="Refuse (or stop) a run whose cost in USD would pass this.")
@click.option(
    "--batch/--no-batch",
    default=None,
    help="Send the trials through the provider's batch API (half price, results within 24 h); re-run to re-attach.",
)
@click.option(
    "--batch-retry",
    type=click.Choice([r.value for r in BatchRetry]),
    help="Failed or expired batch lines: called live, sent in a new batch, or left to a re-run  [default: live].",
)
@click.option(
    "--batch-poll", "batch_poll_s", type=options.BATCH_POLL, help="Seconds between polls of a batch  [default: 30]."
)
@click.option(
    "--batch-wait",
    "batch_wait_s",
    type=options.BATCH_WAIT,
    help="Stop polling after this many seconds; re-running collects the batch (default: wait until it ends).",
)
@click.option("--yes", "-y", is_flag=True, help="Run without asking to confirm the plan.")
@user_errors
def run(study_file: str | None, yes: bool, **flags: object) -> None:
    """Put instrument items to models, one fresh conversation per trial; resumable.

    Give a study YAML file, or flags. Re-running the same command resumes: finished
    trials are not called again, failed ones are.
    """
    from eitest.administer.runner import run_study
    from eitest.scoring import run_table
    from eitest.store import Store

    study = _study(study_file, flags)
    db = study.db or DEFAULT_DB
    guard_output()  # from here a closed stdout or stderr (| head -1) drops output, never the run
    command = shlex.join(["eitest", *sys.argv[1:]])

    def confirm(plan) -> bool:
        for line in plan.describe():
            echo(line, err=True)
        if not plan.todo:
            nothing = "nothing new to submit" if plan.study.batch else "nothing to call: every trial is done"
            click.echo(nothing, err=True)
            return True
        if yes or not sys.stdin.isatty():
            return True
        return click.confirm("Run it?", default=True, err=True)

    progress = RunProgress()
    try:
        outcome = run_study(
            study,
            db,
            command=command,
            on_plan=lambda p: confirm(p) and progress.start(len(p.todo)),
            on_trial=progress.advance,
            on_throttle=progress.note,
            on_pace=progress.pace,
            on_note=lambda text: echo(f"note: {text}", err=True),
            on_batch=progress.note,
        )
    finally:
        progress.stop()
    exit_if_signalled(outcome, command)
    if outcome.stopped:
        echo(f"stopped: {outcome.stopped}", err=True)
    with Store(db) as store:
        table = run_table(store.trials(outcome.run_id))
    emit(table.to_dict("records"), as_json=False, as_csv=False, title=f"run {outcome.run_id}")
    echo(
        f"{outcome.called} call(s) made, {outcome.skipped} already done, {outcome.failed} failed"
        + (" (re-run the same command to retry them)" if outcome.failed else "")
        + f"; store: {db}",
        err=True,
    )


def _study(study_file: str | None, flags: dict[str, object]) -> Study:
    """The study to run: the study file's fields, overridden by the flags given on the command line."""
    from pydantic import ValidationError

    from eitest.administer.study import Study, load_study

    given = {k: list(v) if isinstance(v, tuple) else v for k, v in flags.items() if v not in (None, ())}
    file_study = load_study(study_file) if study_file else None
    base = file_study.model_dump(exclude_unset=True) if file_study else {}
    if file_study:
        _note_repeats(str(study_file), file_study, overridden=set(given))
    if not study_file and not (given.get("models") and given.get("instruments")):
        raise UsageProblem(
            "give --model and --instrument (or a study file); 'eitest instruments list' shows the instruments"
        )
    try:
        return Study.model_validate({**base, **given})
    except ValidationError as exc:
        raise UsageProblem(options.validation_problems(exc)) from None


def _note_repeats(path: str, study: Study, *, overridden: set[str]) -> None:
    """A note for each model or instrument the study file lists more than once (a flag in its place lists its own)."""
    for field, repeats in study.repeated.items():
        if field in overridden:
            continue
        for value, n in repeats.items():
            echo(f"note: {path}: {field}: {value} is listed {options.times(n)}; it is run once", err=True)


@click.group()
def runs() -> None:
    """Read the runs kept in a store."""


@runs.command("list")
@db_option
@output_options
@user_errors
def runs_list(db: str, as_json: bool, as_csv: bool) -> None:
    """List runs: models, instruments, trials, failures, cost."""
    from eitest.store import Store

    with Store(db, create=False) as store:
        emit(store.run_summary(), as_json=as_json, as_csv=as_csv)


@runs.command("show")
@click.argument("run_id")
@db_option
@output_options
@user_errors
def runs_show(run_id: str, db: str, as_json: bool, as_csv: bool) -> None:
    """Show one run: its configuration and a table per model x instrument."""
    import json

    from eitest.scoring import run_table
    from eitest.store import Store

    with Store(db, create=False) as store:
        rec = store.run(run_id)
        table = run_table(store.trials(rec.id))
    if not (as_json or as_csv):
        echo(f"run {rec.id}  created {rec.created_at}  finished {rec.finished_at or '(not finished)'}")
        echo(
            f"eitest {rec.eitest_version}, litellm {rec.litellm_version}, git {rec.git_revision or 'n/a'}{' (dirty)' if rec.git_dirty else ''}"
        )
        echo(f"command: {rec.command}")
        echo("config: " + json.dumps(rec.config, sort_keys=True))
    if RunKind.of(rec.config) is RunKind.PROBE:  # no test was given: what the probe found, not an accuracy
        from eitest.cli.probe import SUMMARY_COLUMNS
        from eitest.scoring.memorisation import memorisation_findings

        emit(memorisation_findings(db, rec.id), as_json=as_json, as_csv=as_csv, columns=SUMMARY_COLUMNS)
        return
    emit(table.to_dict("records"), as_json=as_json, as_csv=as_csv)
