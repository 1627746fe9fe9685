"""A study: which models take which instruments, and how (protocol, option order, repetitions).

A study is a YAML file (``eitest run study.yaml``) or the same fields as flags.
Its identity (everything that changes what is asked) names its run in the store,
so running the same study again resumes it. Where the calls go (the base URL) is
not part of it: a local server restarted on another port resumes the same run.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Hashable, Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from eitest.administer import limits
from eitest.administer.prompts import PROTOCOLS, get_protocol
from eitest.client.keys import check_key_env
from eitest.errors import EitestError
from eitest.reading import ReadError, parse_yaml, read_text, yaml_key_lines
from eitest.vocabulary import BatchRetry, OptionOrder


class StudyError(EitestError):
    pass


T = TypeVar("T", bound=Hashable)


def first_seen(values: Iterable[T]) -> tuple[list[T], dict[T, int]]:
    """``values`` without repeats, in first-seen order, and how many times each repeated value was given."""
    counts: dict[T, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return list(counts), {v: n for v, n in counts.items() if n > 1}


class Study(BaseModel):
    """What to administer and how. Fields above ``api_base`` make up the run's identity."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(min_length=1)
    instruments: list[str] = Field(min_length=1)
    reps: int = Field(default=1, ge=1, le=limits.MAX_REPS)
    temperature: float | None = Field(
        default=0.0, ge=limits.MIN_TEMPERATURE, le=limits.MAX_TEMPERATURE, allow_inf_nan=False
    )
    protocol: str = "standard"
    option_order: str = "original"
    seed: int = Field(default=0, ge=0, le=limits.MAX_SEED)
    # A name that makes a new run of the same design (a date, a model version): the same study
    # with another label is another run, so a drift study is two runs that compare-runs pairs.
    label: str | None = Field(default=None, min_length=1, max_length=limits.MAX_LABEL_CHARS)
    max_tokens: int | None = Field(default=None, ge=1, le=limits.MAX_TOKENS)
    # Where and how to run, not what: these do not change the run id.
    api_base: str | None = None
    concurrency: int = Field(default=8, ge=1, le=limits.MAX_CONCURRENCY)
    max_cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    timeout_s: float = 120.0
    api_key_env: str | None = None  # with api_base: the environment variable holding the key sent there
    max_retries: int = Field(default=4, ge=0, le=limits.MAX_RETRIES)
    backoff_s: float = Field(default=1.0, ge=0, le=limits.MAX_BACKOFF_S, allow_inf_nan=False)
    # Client-side pacing per model (requests, tokens per minute); none: paced by the provider's replies alone.
    # A number holds for each model; a mapping names models ("*": every model it does not name).
    rpm: int | dict[str, int] | None = None
    tpm: int | dict[str, int] | None = None
    # Batch mode (eitest.administer.batch): the provider's batch API, at its price, instead of live calls.
    batch: bool = False
    batch_retry: str = BatchRetry.LIVE.value  # what becomes of failed or expired lines (vocabulary.BatchRetry)
    batch_poll_s: float = Field(default=30.0, gt=0, le=limits.MAX_BATCH_POLL_S, allow_inf_nan=False)
    # Stop polling after this long (a re-run re-attaches); none: wait until the batch ends.
    batch_wait_s: float | None = Field(default=None, ge=0, le=limits.MAX_BATCH_WAIT_S, allow_inf_nan=False)
    db: str | None = None
    # Values given more than once in models or instruments, and how often (each is run once).
    _repeated: dict[str, dict[str, int]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _run_each_once(cls, data: Any, handler: Any) -> Study:
        # A value listed twice would call every one of its trials twice; keep the first of each.
        if not isinstance(data, dict):
            return handler(data)
        data = dict(data)
        repeated: dict[str, dict[str, int]] = {}
        for name in ("models", "instruments"):
            if isinstance(data.get(name), list) and all(isinstance(v, Hashable) for v in data[name]):
                data[name], repeats = first_seen(data[name])
                if repeats:
                    repeated[name] = repeats
        study = handler(data)
        study._repeated = repeated
        return study

    @property
    def repeated(self) -> dict[str, dict[str, int]]:
        """The models and instruments given more than once (field -> value -> times); each runs once."""
        return self._repeated

    @field_validator("rpm", "tpm", mode="before")
    @classmethod
    def _rates_in_bounds(cls, value: Any, info: ValidationInfo) -> Any:
        name = str(info.field_name)
        top = limits.MAX_RPM if name == "rpm" else limits.MAX_TPM

        def one(v: Any, where: str) -> int:
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= top:
                raise ValueError(f"{where} must be a whole number from 1 to {top} a minute, not {v!r}")
            return v

        if not isinstance(value, dict):
            return None if value is None else one(value, name)
        # Without valid models (their own error says why) the names cannot be checked against them.
        models = info.data.get("models")
        if models is not None and (unknown := sorted(set(map(str, value)) - {"*", *models})):
            raise ValueError(
                f"{', '.join(unknown)} is not a model of this study; name one of {', '.join(models)}, "
                "or '*' for every model not named"
            )
        rates = {str(model): one(v, f"{name} of {model}") for model, v in value.items()}
        return rates["*"] if list(rates) == ["*"] else rates  # one limit for every model, as the CLI gives it

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, v: str) -> str:
        if v not in PROTOCOLS:
            raise ValueError(f"unknown protocol {v!r}; use one of {', '.join(PROTOCOLS)}")
        return v

    @field_validator("timeout_s")
    @classmethod
    def _timeout(cls, v: float) -> float:
        if not (math.isfinite(v) and 0 < v <= limits.MAX_TIMEOUT_S):
            raise ValueError(
                f"must be a number of seconds above 0 and up to {limits.MAX_TIMEOUT_S:,}"
                f" (the deadline of each call), not {v}"
            )
        return v

    @field_validator("api_key_env")
    @classmethod
    def _key_env(cls, v: str | None) -> str | None:
        return None if v is None else check_key_env(v)

    @field_validator("batch_retry")
    @classmethod
    def _batch_retry(cls, v: str) -> str:
        if v not in set(BatchRetry):
            raise ValueError(f"unknown batch retry {v!r}; use one of {', '.join(BatchRetry)}")
        return v

    @field_validator("label")
    @classmethod
    def _label(cls, v: str | None) -> str | None:
        if v is not None and (v != v.strip() or not v.isprintable()):
            raise ValueError("must be printable text without leading or trailing spaces, e.g. 2026-12")
        return v

    @field_validator("option_order")
    @classmethod
    def _order(cls, v: str) -> str:
        if v not in set(OptionOrder):
            raise ValueError(f"unknown option order {v!r}; use one of {', '.join(OptionOrder)}")
        return v

    def identity(self, hashes: dict[str, str]) -> dict[str, Any]:
        protocol = get_protocol(self.protocol)
        return {
            "models": self.models,
            "instruments": self.instruments,
            "instrument_hashes": [hashes[i] for i in self.instruments],
            "reps": self.reps,
            "temperature": self.temperature,
            "protocol": protocol.name,
            "protocol_version": protocol.version,
            "option_order": self.option_order,
            "seed": self.seed,
            "max_tokens": self.max_tokens,
            # Only when given, so that every run made without a label keeps its id.
            **({"label": self.label} if self.label is not None else {}),
        }

    def legacy_identity(self, hashes: dict[str, str]) -> dict[str, Any]:
        """The identity as eitest 0.1 made it, with the base URL in it: what names the runs of older stores."""
        return {**self.identity(hashes), "api_base": self.api_base}


def run_id_of(identity: dict[str, Any]) -> str:
    """The run id that an identity names: the first 12 hex digits of the SHA-256 of its canonical JSON."""
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]


def load_study(path: str | Path) -> Study:
    """Read a study YAML file; an unknown or invalid field is reported with its line."""
    path = Path(path)
    try:
        text = read_text(path, "a study file")
        data = parse_yaml(text, str(path))
    except ReadError as exc:
        raise StudyError(str(exc)) from None
    if not isinstance(data, dict):
        raise StudyError(f"{path}: expected a mapping of study fields")
    lines = yaml_key_lines(text)
    try:
        return Study.model_validate(data)
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "(study)"
            where = f"line {lines[name]}" if name in lines else "(file)"
            what = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
            msgs.append(f"{path}: {where}: {name}: {what}")
        raise StudyError("\n".join(msgs)) from None
