"""Human norms: published figures for each test, every figure with its source and place.

A norm file (YAML) holds one source and the norms it publishes::

    source: {id, citation, doi, checked}
    norms:
      - instrument: steu
        sample: "..."
        scale: proportion          # or raw (sum score, with n_items)
        scoring: keyed             # keyed (share correct) or weighted (expert-weighted credit)
        score: proportion_correct  # or mean_credit / proportion_of_max: the score the figures are on
        n_items: 42
        n:     {value: 207, where: "Study 1, Method"}
        mean:  {value: null, where: null}
        sd:    {value: null, where: null}
        alpha: {value: 0.71, where: "Study 1, Table 2"}

A figure nobody could check is null, and analyses say which statistics that skips.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from eitest.instruments import InstrumentError, Problem
from eitest.paths import package_norms_dir, user_norms_dir
from eitest.reading import ReadError, read_yaml

FIGURES = ("n", "mean", "sd", "alpha")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Figure(_Strict):
    value: float | None = None
    where: str | None = None

    @model_validator(mode="after")
    def _cited(self) -> Figure:
        if self.value is not None and not (self.where or "").strip():
            raise ValueError("a figure with a value must say where in the source it stands ('where')")
        return self


class Source(_Strict):
    id: str
    citation: str
    doi: str | None = None
    url: str | None = None
    checked: str | None = None


class HumanNorm(_Strict):
    """One published (or user-built) norm for one instrument."""

    instrument: str
    sample: str
    scale: Literal["proportion", "raw"] = "proportion"
    scoring: Literal["keyed", "weighted"] = "keyed"  # keyed: share correct; weighted: expert-weighted credit
    # Which score the figures describe; without it, keyed -> proportion_correct, weighted -> mean_credit.
    score: Literal["proportion_correct", "mean_credit", "proportion_of_max"] | None = None
    n_items: int | None = None
    n: Figure = Field(default_factory=Figure)
    mean: Figure = Field(default_factory=Figure)
    sd: Figure = Field(default_factory=Figure)
    alpha: Figure = Field(default_factory=Figure)
    note: str | None = None
    source: Source | None = None  # filled from the file's source block

    @model_validator(mode="after")
    def _ranges(self) -> HumanNorm:
        if self.scale == "proportion":
            for name in ("mean", "sd"):
                v = getattr(self, name).value
                if v is not None and not 0.0 <= v <= 1.0:
                    raise ValueError(f"{name} {v} is not a proportion in [0, 1]; use scale: raw or divide by 100")
        if self.n.value is not None and (self.n.value < 1 or self.n.value != int(self.n.value)):
            raise ValueError(f"n {self.n.value} is not a positive whole number")
        if self.sd.value is not None and self.sd.value <= 0:
            raise ValueError(f"sd {self.sd.value} must be positive")
        return self

    def value(self, name: str) -> float | None:
        return getattr(self, name).value

    def as_proportion(self, name: str) -> float | None:
        """``mean`` or ``sd`` on the proportion-correct scale (raw scores divided by n_items)."""
        v = self.value(name)
        if v is None:
            return None
        if self.scale == "raw":
            if not self.n_items:
                return None
            return v / self.n_items
        return v

    def missing(self) -> list[str]:
        """Figures a single-case comparison needs that are not on file."""
        out = [name for name in ("mean", "sd", "n") if self.value(name) is None]
        if self.scale == "raw" and not self.n_items and "mean" not in out:
            out.append("n_items (to put a raw-score mean on the proportion scale)")
        return out

    @property
    def score_scale(self) -> str:
        """The score the norm's figures are on: proportion_correct, mean_credit or proportion_of_max."""
        if self.score is not None:
            return self.score
        return "mean_credit" if self.scoring == "weighted" else "proportion_correct"

    @property
    def label(self) -> str:
        src = self.source.id if self.source else "?"
        return f"{self.instrument} ({src})"

    def row(self) -> dict[str, Any]:
        """A flat record for tables: values, places and the citation."""
        rec: dict[str, Any] = {
            "instrument": self.instrument,
            "source": self.source.id if self.source else None,
            "sample": self.sample,
            "scale": self.scale,
            "scoring": self.scoring,
            "score_scale": self.score_scale,
            "n_items": self.n_items,
        }
        for name in FIGURES:
            rec[name] = self.value(name)
            rec[f"{name}_where"] = getattr(self, name).where
        rec["citation"] = self.source.citation if self.source else None
        rec["note"] = self.note
        return rec


class NormFile(_Strict):
    source: Source
    norms: tuple[HumanNorm, ...]


def parse_norm_file(data: Any, source: str) -> NormFile:
    if not isinstance(data, dict):
        raise InstrumentError([Problem(source, None, "(file)", "expected a mapping with 'source' and 'norms'")])
    try:
        nf = NormFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = list(err["loc"])
            label = None
            if len(loc) >= 2 and loc[0] == "norms" and isinstance(loc[1], int):
                raw = (data.get("norms") or [])[loc[1]]
                label = f"norm #{loc[1] + 1}" + (f" ({raw.get('instrument')})" if isinstance(raw, dict) else "")
                loc = loc[2:]
            msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
            problems.append(Problem(source, label, ".".join(str(p) for p in loc) or "(norm)", msg))
        raise InstrumentError(problems) from None
    return nf.model_copy(update={"norms": tuple(n.model_copy(update={"source": nf.source}) for n in nf.norms)})


def load_norm_file(path: str | Path) -> NormFile:
    path = Path(path)
    try:
        data = read_yaml(path, "a norm file")
    except ReadError as exc:
        raise InstrumentError.from_read_error(exc) from None
    return parse_norm_file(data, str(path))


def norm_files() -> dict[str, NormFile]:
    """Every norm file known: shipped ones and the user's own (``eitest norms build``), by source id."""
    found: dict[str, NormFile] = {}
    for d in (package_norms_dir(), user_norms_dir()):
        for f in sorted(d.glob("*.yaml")) if d.is_dir() else []:
            nf = load_norm_file(f)
            found[nf.source.id] = nf
    return found


def all_norms(extra: list[str | Path] | None = None) -> list[HumanNorm]:
    norms = [n for nf in norm_files().values() for n in nf.norms]
    for path in extra or []:
        norms += list(load_norm_file(path).norms)
    return norms


def _usable(n: HumanNorm) -> int:
    return sum(n.value(f) is not None for f in ("mean", "sd", "n"))


def norm_for(instrument: str, extra: list[str | Path] | None = None) -> HumanNorm | None:
    """The norm to compare with for ``instrument``: a user-given file first, else the most complete on file."""
    if extra:
        for path in reversed(extra):
            for n in load_norm_file(path).norms:
                if n.instrument == instrument:
                    return n
    candidates = [n for n in all_norms() if n.instrument == instrument]
    if not candidates:
        return None
    return max(candidates, key=_usable)
