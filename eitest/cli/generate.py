"""eitest generate: a model drafts new items in an instrument's style; eitest validates and checks them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from eitest.cli import options
from eitest.cli.output import UsageProblem, emit, user_errors
from eitest.cli.terminal import echo, json_text

if TYPE_CHECKING:
    from eitest.generate.drafting import GenerateResult


@click.command()
@click.option("--instrument", "-i", required=True, help="Source instrument id or file; its items are the examples.")
@click.option(
    "--model", "-m", required=True, help="litellm model string, e.g. openai/gpt-4o (or openai/NAME with --api-base)."
)
@click.option("--n", "n", required=True, type=click.IntRange(1, 1000), help="Number of items wanted.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="Instrument YAML file to write.")
@click.option("--api-base", help="Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1.")
@options.api_key_env_option
@click.option(
    "--examples",
    type=click.IntRange(0, 100),
    default=3,
    show_default=True,
    help="Source items shown to the model as examples.",
)
@click.option("--seed", type=options.SEED, default=0, show_default=True, help="Seed for choosing the example items.")
@click.option(
    "--max-attempts",
    type=click.IntRange(1, 100),
    default=5,
    show_default=True,
    help="Calls at most; a reply with invalid JSON or items costs one.",
)
@click.option(
    "--threshold",
    type=options.FiniteFloat(0, 100, min_open=True),
    default=85.0,
    show_default=True,
    help="Near-duplicate threshold for string similarity (rapidfuzz token_set_ratio, 0-100).",
)
@click.option(
    "--embedding-threshold",
    type=options.FiniteFloat(-1, 1),
    default=0.80,
    show_default=True,
    help="Near-duplicate threshold for embedding cosine similarity (needs the 'local' extra).",
)
@click.option(
    "--embeddings/--no-embeddings",
    default=True,
    show_default=True,
    help="Also compare sentence embeddings when the local model is installed.",
)
@click.option(
    "--keep-duplicates",
    is_flag=True,
    help="Keep near-duplicates in the output, marked in meta, instead of leaving them out.",
)
@click.option("--temperature", type=options.TEMPERATURE, default=0.7, show_default=True, help="Sampling temperature.")
@click.option("--license", "license_", default=None, help="License of the generated items (yours to choose).")
@click.option("--id", "out_id", help="Id of the new instrument  [default: <source>-gen].")
@click.option(
    "--retries",
    "max_retries",
    type=options.RETRIES,
    default=4,
    show_default=True,
    help="Retries of a failed call (429, 5xx, timeouts).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the outcome (rejections, duplicates) as JSON.")
@user_errors
def generate(
    instrument: str,
    model: str,
    n: int,
    out: str,
    api_base: str | None,
    api_key_env: str | None,
    examples: int,
    seed: int,
    max_attempts: int,
    threshold: float,
    embedding_threshold: float,
    embeddings: bool,
    keep_duplicates: bool,
    temperature: float,
    license_: str | None,
    out_id: str | None,
    max_retries: int,
    as_json: bool,
) -> None:
    """Ask a model for new items in the style and structure of an instrument (Study 2).

    Every item is validated by the instrument rules and checked for near-duplicates of
    the source items and of each other; rejected items are reported with the reason.
    The output is an instrument file whose items record their provenance in meta.
    """
    from eitest.generate.drafting import DEFAULT_LICENSE, GenerateConfig, write_instrument
    from eitest.generate.drafting import generate as run_generation

    cfg = GenerateConfig(
        instrument=instrument,
        model=model,
        n=n,
        api_base=api_base,
        api_key_env=api_key_env,
        examples=examples,
        seed=seed,
        max_attempts=max_attempts,
        similarity_threshold=threshold,
        embedding_threshold=embedding_threshold,
        keep_duplicates=keep_duplicates,
        embeddings=embeddings,
        temperature=temperature,
        license=license_ or DEFAULT_LICENSE,
        out_id=out_id,
        max_retries=max_retries,
    )
    from eitest.outputs.writing import check_output_file, output_errors

    check_output_file(out)  # before the model is paid for the items
    result = run_generation(cfg)
    if result.instrument is not None:
        with output_errors(out):
            write_instrument(result.instrument, out)
    if as_json:
        click.echo(json_text({**result.to_dict(), "out": out if result.instrument else None}, indent=2))
    else:
        _print_tables(result)
    for note in result.notes:
        echo(f"note: {note}", err=True)
    if result.instrument is None:
        raise UsageProblem(
            f"no item passed the checks in {result.attempts} attempt(s); nothing written (see the rejections above)"
        )
    echo(
        f"{result.n_items} item(s) from {result.model_returned or model} written to {out} "
        f"({len(result.rejected)} rejected, {len(result.duplicates)} near-duplicate(s) {'kept' if keep_duplicates else 'left out'}, "
        f"{result.attempts} call(s))",
        err=True,
    )


def _print_tables(result: GenerateResult) -> None:
    """The rejections and the near-duplicates, each as a table (none when there are none)."""
    if result.rejected:
        rows = [{"attempt": r.attempt, "item": r.item, "reason": r.reason} for r in result.rejected]
        emit(rows, as_json=False, as_csv=False, title="Rejected")
    if result.duplicates:
        rows = [
            {
                "attempt": d.attempt,
                "item": d.item,
                "near duplicate of": d.near_duplicate_of,
                "similarity": d.similarity,
                "embedding": d.embedding_similarity,
                "kept": "yes" if d.kept else "no",
            }
            for d in result.duplicates
        ]
        emit(rows, as_json=False, as_csv=False, title="Near-duplicates")
