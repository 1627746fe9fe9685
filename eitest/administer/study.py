"""A study: which models take which instruments, and how (protocol, option order, repetitions).

A study is a YAML file (``eitest run study.yaml``) or the same fields as flags.
Its identity (everything that changes what is asked) names its run in the store,
so running the same study again resumes it. Where the calls go (the base URL) is
not part of it: a local server restarted on another port resumes the same run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from eitest.administer.prompts import PROTOCOLS, get_protocol
from eitest.errors import EitestError
from eitest.vocabulary import OptionOrder


class StudyError(EitestError):
    pass


class Study(BaseModel):
    """What to administer and how. Fields above ``api_base`` make up the run's identity."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(min_length=1)
    instruments: list[str] = Field(min_length=1)
    reps: int = Field(default=1, ge=1)
    temperature: float | None = 0.0
    protocol: str = "standard"
    option_order: str = "original"
    seed: int = 0
    max_tokens: int | None = None
    # Where and how to run, not what: these do not change the run id.
    api_base: str | None = None
    concurrency: int = Field(default=8, ge=1)
    max_cost: float | None = None
    timeout_s: float = 120.0
    max_retries: int = Field(default=4, ge=0)
    backoff_s: float = Field(default=1.0, ge=0)
    db: str | None = None

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, v: str) -> str:
        if v not in PROTOCOLS:
            raise ValueError(f"unknown protocol {v!r}; use one of {', '.join(PROTOCOLS)}")
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
