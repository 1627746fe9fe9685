"""A study: which models take which instruments, and how (protocol, option order, repetitions).

A study is a YAML file (``eitest run study.yaml``) or the same fields as flags.
Its identity (everything that changes what is asked) names its run in the store,
so running the same study again resumes it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from eitest.administer.prompts import PROTOCOLS, get_protocol
from eitest.client.keys import check_key_env
from eitest.errors import EitestError
from eitest.vocabulary import OptionOrder


class StudyError(EitestError):
    pass


class Study(BaseModel):
    """What to administer and how. Fields above ``concurrency`` make up the run's identity."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(min_length=1)
    instruments: list[str] = Field(min_length=1)
    reps: int = Field(default=1, ge=1)
    temperature: float | None = 0.0
    protocol: str = "standard"
    option_order: str = "original"
    seed: int = 0
    max_tokens: int | None = None
    api_base: str | None = None
    # How to run, not what: these do not change the run id.
    concurrency: int = Field(default=8, ge=1)
    max_cost: float | None = None
    timeout_s: float = 120.0
    api_key_env: str | None = None  # with api_base: the environment variable holding the key sent there
    max_retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=1.0, ge=0)
    db: str | None = None

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, v: str) -> str:
        if v not in PROTOCOLS:
            raise ValueError(f"unknown protocol {v!r}; use one of {', '.join(PROTOCOLS)}")
        return v

    @field_validator("timeout_s")
    @classmethod
    def _timeout(cls, v: float) -> float:
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"must be a positive number of seconds (the deadline of each call), not {v}")
        return v

    @field_validator("api_key_env")
    @classmethod
    def _key_env(cls, v: str | None) -> str | None:
        return None if v is None else check_key_env(v)

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
            "api_base": self.api_base,
        }


def load_study(path: str | Path) -> Study:
    """Read a study YAML file; an unknown or invalid field is reported with its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except FileNotFoundError:
        raise StudyError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise StudyError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise StudyError(f"{path}: expected a mapping of study fields")
    lines = _key_lines(text)
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


def _key_lines(text: str) -> dict[str, int]:
    node = yaml.compose(text)
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
