"""Option value types with bounds, and repeated values collapsed, for every command.

Click's own message for a value out of range ("Invalid value for '--temperature':
5.0 is not in the range 0<=x<=2.") is clear, ends in exit status 2, and the ranges
appear in ``--help``; this module only adds what click lacks: a float type that
refuses nan and inf (``FloatRange`` lets nan through every bound), and a callback
that runs a repeated value once and says so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from eitest.administer import limits
from eitest.cli.terminal import safe_text

if TYPE_CHECKING:
    from pydantic import ValidationError


class FiniteFloat(click.FloatRange):
    """A float within optional bounds that is neither nan nor infinite."""

    name = "finite float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            where = "" if self.min is None and self.max is None else f" in the range {self._describe_range()}"
            self.fail(f"{number} is not a finite number{where}.", param, ctx)
        return number


# The bounds of a study's values are the Study model's, so a study file and the flags agree.
REPS = click.IntRange(1, limits.MAX_REPS)
TEMPERATURE = FiniteFloat(limits.MIN_TEMPERATURE, limits.MAX_TEMPERATURE)
SEED = click.IntRange(0, limits.MAX_SEED)
CONCURRENCY = click.IntRange(1, limits.MAX_CONCURRENCY)
MAX_TOKENS = click.IntRange(1, limits.MAX_TOKENS)
TIMEOUT = FiniteFloat(0, limits.MAX_TIMEOUT_S, min_open=True)
RETRIES = click.IntRange(0, limits.MAX_RETRIES)


class PerModel(click.ParamType):
    """A limit for every model (``500``) or for one (``openai/gpt-4o=500``), within ``bound``."""

    name = "[MODEL=]N"

    def __init__(self, bound: click.IntRange) -> None:
        self.bound = bound

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        model, _, number = str(value).rpartition("=")
        text: Any = number  # click's range converts the text, as it does a flag's
        return (model or "*"), self.bound.convert(text, param, ctx)


def per_model(ctx: click.Context, param: click.Parameter, values: tuple[tuple[str, int], ...]) -> Any:
    """The limits given as one number for every model, or a mapping by model ("*": every model not named)."""
    if not values:
        return None
    given = dict(values)
    if len(given) < len(values):
        raise click.BadParameter("give each model's limit once (and one N without a model for the rest)")
    return given["*"] if list(given) == ["*"] else given


def validation_problems(exc: ValidationError) -> str:
    """A study's validation errors on one line: each field and what is wrong with it."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc'])) or 'study'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
    )


RPM = PerModel(click.IntRange(1, limits.MAX_RPM))
TPM = PerModel(click.IntRange(1, limits.MAX_TPM))
# 0 is allowed: the run is recorded and stops before its first call (a priced plan is refused outright).
MAX_COST = FiniteFloat(0)
BATCH_POLL = FiniteFloat(0, limits.MAX_BATCH_POLL_S, min_open=True)
BATCH_WAIT = FiniteFloat(0, limits.MAX_BATCH_WAIT_S)
# Bootstrap resamples: the interval needs 100 to be usable; past 100,000 the arrays grow for no gain in precision.
BOOTSTRAP = click.IntRange(100, 100_000)


def times(n: int) -> str:
    return "twice" if n == 2 else f"{n} times"


def distinct(verb: str, *, paths: bool = False) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """A callback for a repeatable option or argument: each value once, in first-seen order, with a note.

    ``verb`` says what happens to a value once ("run", "read"); with ``paths``, two
    spellings of one file (``a.csv`` and ``./a.csv``) count as the same value.
    """

    def callback(ctx: click.Context, param: click.Parameter, values: Any) -> Any:
        if not values:
            return values
        seen: dict[Any, str] = {}
        counts: dict[Any, int] = {}
        for value in values:
            key = Path(value).resolve() if paths else value
            seen.setdefault(key, value)
            counts[key] = counts.get(key, 0) + 1
        name = _name(param)
        for key, n in counts.items():
            if n > 1:
                click.echo(safe_text(f"note: {name} {seen[key]} given {times(n)}; it is {verb} once"), err=True)
        return tuple(seen.values())

    return callback


def one_value(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> str | None:
    """A callback for an option that takes one value but was declared ``multiple`` to see every use.

    Click keeps the last of repeated single options silently; the same value twice is
    taken once, two different values are refused rather than one of them dropped.
    """
    unique = list(dict.fromkeys(values))
    if len(unique) > 1:
        shown = safe_text(", ".join(unique))
        raise click.BadParameter(f"given {times(len(values))} with different values ({shown}); give one", ctx, param)
    if len(values) > 1:
        click.echo(safe_text(f"note: {_name(param)} {unique[0]} given {times(len(values))}; it is used once"), err=True)
    return unique[0] if unique else None


def _name(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return (param.name or "").upper()


def _key_env_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from eitest.client.keys import check_key_env  # no litellm: keys.py imports only the standard library

    try:
        return None if value is None else check_key_env(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


# With --api-base: the environment variable whose value is sent as the key (run and generate).
api_key_env_option = click.option(
    "--api-key-env",
    metavar="NAME",
    callback=_key_env_name,
    help="Environment variable whose value is sent as the key to --api-base (default: no key; "
    "OPENAI_API_KEY is never sent to a custom host).",
)


class GreedyOption(click.Option):
    """An option that takes every value up to the next option: --models a b c."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        opt = parser._long_opt.get(self.opts[0]) or parser._short_opt.get(self.opts[0])
        original = opt.process

        def process(value: Any, state: Any) -> None:
            values = [value]
            while state.rargs and not state.rargs[0].startswith("-"):
                values.append(state.rargs.pop(0))
            for v in values:
                original(v, state)

        opt.process = process
