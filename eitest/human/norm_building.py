"""Human norms built from response data (``eitest norms build``).

Responses are read and scored by :mod:`eitest.human.response_files` (one row per
participant, one column per item id, cells = chosen option ids); a
participant's score is the mean credit over the items (a proportion). From the
scores come the norm figures (n, mean, SD with ddof=1, alpha) in
:mod:`eitest.instruments.norms`' file format, and per item the share choosing the keyed or
top option (``human_p``) and the corrected item-total correlation
(:mod:`eitest.stats`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from eitest.human.response_files import ResponseError, ScoredResponses, read_responses, score_responses
from eitest.instruments import Instrument, Problem, dump_yaml, parse_instrument
from eitest.instruments.norms import HumanNorm, NormFile, load_norm_file, parse_norm_file
from eitest.outputs.writing import write_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "NormBuild",
    "build_norms",
    "item_table",
    "items_instrument",
    "reliability",
    "write_items",
    "write_norm_file",
]


# --------------------------------------------------------------------------- the norm


def reliability(credit: pd.DataFrame, binary: bool, ci: float = 0.95) -> dict[str, Any]:
    """KR-20 for 0/1 credit, else Cronbach's alpha, each with Feldt's interval; NaN when undefined."""
    from eitest import stats as psychometrics

    try:
        if binary:
            r = psychometrics.kr20(credit, ci=ci)
            return {
                "name": "KR-20",
                "alpha": r["kr20"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "n": r["n"],
                "k": r["k"],
                "error": None,
            }
        r = psychometrics.cronbach_alpha(credit, ci=ci)
        return {
            "name": "Cronbach's alpha",
            **{k: r[k] for k in ("alpha", "ci_low", "ci_high", "n", "k")},
            "error": None,
        }
    except ValueError as exc:
        return {
            "name": "KR-20" if binary else "Cronbach's alpha",
            "alpha": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "n": len(credit),
            "k": credit.shape[1],
            "error": str(exc),
        }


def coefficient(x: float) -> str:
    """A reliability or correlation the APA way (no leading zero); plain decimals outside [-1, 1]."""
    from eitest.stats import apa

    if x != x:
        return apa.NA
    return apa.proportion(x) if abs(x) <= 1 else f"{x:.2f}"


def reliability_text(rel: dict[str, Any], ci: float = 0.95) -> str:
    """``"KR-20 = .71, 95% CI [.65, .76] (Feldt)"``."""
    if rel["alpha"] != rel["alpha"]:
        return f"{rel['name']} = n/a"
    return f"{rel['name']} = {coefficient(rel['alpha'])}, {100 * ci:g}% CI [{coefficient(rel['ci_low'])}, {coefficient(rel['ci_high'])}] (Feldt)"


def item_table(scored: ScoredResponses) -> pd.DataFrame:
    """Per item: ``item``, ``n``, ``human_p`` (share choosing the keyed/top option), ``mean_credit``,
    ``r_corrected`` (corrected item-total r), ``alpha_if_deleted``, ``n_missing``."""
    import pandas as pd

    from eitest import stats as psychometrics

    rows = []
    for it in scored.instrument.items:
        chosen = scored.choices[it.id]
        answered_n = len(chosen)
        rows.append(
            {
                "item": it.id,
                "n": answered_n,
                "human_p": float((chosen == it.best_option).sum() / answered_n) if answered_n else math.nan,
                "mean_credit": float(scored.credit[it.id].mean()),
                "n_missing": int(chosen.isna().sum()),
            }
        )
    table = pd.DataFrame(rows)
    try:
        it_stats = psychometrics.item_total(scored.credit)
        table["r_corrected"] = it_stats["r_corrected"].to_numpy()
        table["alpha_if_deleted"] = it_stats["alpha_if_deleted"].to_numpy()
    except ValueError:
        table["r_corrected"] = math.nan
        table["alpha_if_deleted"] = math.nan
    return table[["item", "n", "human_p", "mean_credit", "r_corrected", "alpha_if_deleted", "n_missing"]]


@dataclass
class NormBuild:
    """The outcome of ``eitest norms build``: the norm file's content and the tables behind it."""

    instrument: Instrument
    files: list[str]
    n: int
    mean: float
    sd: float
    reliability: dict[str, Any]
    items: pd.DataFrame
    scores: pd.DataFrame  # participant, score
    data: dict[str, Any]  # the norm file, as plain data
    notes: list[str] = field(default_factory=list)
    credit: pd.DataFrame | None = None  # participant x item credit, for the IRT calibration (human.irt_building)

    @property
    def norm_file(self) -> NormFile:
        return parse_norm_file(self.data, "(built norm)")

    @property
    def norm(self) -> HumanNorm:
        return self.norm_file.norms[0]

    @property
    def source_id(self) -> str:
        return self.data["source"]["id"]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "responses"


def files_label(files: list[str]) -> str:
    names = [Path(f).name for f in files]
    if len(names) <= 3:
        return ", ".join(names)
    return f"{len(names)} files ({names[0]}, ..., {names[-1]})"


def build_norms(
    paths: str | Path | list[str | Path],
    instrument: Instrument,
    *,
    source_id: str | None = None,
    sample: str | None = None,
    missing: str = "wrong",
    ci: float = 0.95,
    date: str | None = None,
) -> NormBuild:
    """Compute a human norm for ``instrument`` from response files (see the module docstring)."""
    import pandas as pd

    files = [str(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
    table = read_responses(list[str | Path](files))
    scored = score_responses(table, instrument, missing=missing)
    n = len(scored.participants)
    notes: list[str] = []
    if scored.n_missing:
        notes.append(
            f"{scored.n_missing} unanswered item response(s): "
            + (
                "scored as wrong (no credit)"
                if missing == "wrong"
                else f"{scored.n_dropped} participant(s) with any left out (listwise)"
            )
        )
    if n == 0:
        raise ResponseError([Problem(files[0], None, "(file)", "no participant with complete answers is left")])
    scores = scored.scores
    mean = float(scores.mean())
    sd = float(scores.std(ddof=1)) if n >= 2 else math.nan
    rel = reliability(scored.credit, scored.binary, ci)
    if rel["error"]:
        notes.append(f"{rel['name']} not computed: {rel['error']}")
    items = item_table(scored)
    date = date or datetime.now(UTC).date().isoformat()
    label = files_label(files)
    where = f"computed from {label}"
    src_id = source_id or f"{instrument.id}-{_slug(Path(files[0]).stem)}"

    def figure(value: float, place: str = where) -> dict[str, Any]:
        ok = value == value and math.isfinite(value)
        return {
            "value": (int(value) if float(value).is_integer() else float(value)) if ok else None,
            "where": place if ok else None,
        }

    if not (sd > 0):
        notes.append("the SD is not on file: it needs at least two participants whose scores differ")
    note = f"Built by eitest norms build from {n} participant(s); scores are mean credit per item ({instrument.scoring} scoring)."
    if rel["alpha"] == rel["alpha"]:
        note += f" {reliability_text(rel, ci)}."
    if scored.n_missing:
        note += " " + notes[0][0].upper() + notes[0][1:] + "."
    norm = {
        "instrument": instrument.id,
        "sample": sample or f"Participants in {label} (N = {n})",
        "scale": "proportion",
        "scoring": instrument.scoring,
        "n_items": instrument.n_items,
        "n": figure(float(n)),
        "mean": figure(mean),
        "sd": figure(sd if sd > 0 else math.nan),
        "alpha": figure(rel["alpha"], f"{where} ({rel['name']}, {rel['n']} participants)"),
        "note": note,
    }
    data = {
        "source": {
            "id": src_id,
            "citation": f"Responses in {label} ({n} participants), built by eitest norms build on {date}",
            "checked": "computed from the response file",
        },
        "norms": [norm],
    }
    score_table = pd.DataFrame({"participant": scored.participants, "score": scores.to_numpy()})
    return NormBuild(instrument, files, n, mean, sd, rel, items, score_table, data, notes, credit=scored.credit)


def write_norm_file(build: NormBuild, out: str | Path | None = None) -> Path:
    """Write the norm file (default: the user's norms directory, where analyses find it) and load it back as a check."""
    from eitest.paths import user_norms_dir

    out = Path(out) if out else user_norms_dir() / f"{_slug(build.source_id)}.yaml"
    header = f"# Built by eitest norms build from {', '.join(Path(f).name for f in build.files)}; item statistics in the --items-out file.\n"
    text = header + yaml.safe_dump(build.data, sort_keys=False, allow_unicode=True, width=100)
    return write_text(out, text, load_norm_file)


def items_instrument(build: NormBuild) -> Instrument:
    """The instrument with ``human_p`` filled in from the responses, and item statistics in each item's ``meta``."""
    stats = build.items.set_index("item")
    items = []
    for it in build.instrument.items:
        row = stats.loc[it.id]

        def num(v: Any) -> float | None:
            return None if v != v else round(float(v), 6)

        meta = {
            **it.meta,
            "norm_source": build.source_id,
            "human_n": int(row["n"]),
            "mean_credit": num(row["mean_credit"]),
            "r_corrected": num(row["r_corrected"]),
            "alpha_if_deleted": num(row["alpha_if_deleted"]),
        }
        human_p = num(row["human_p"])
        items.append(it.model_copy(update={"human_p": human_p, "meta": meta}))
    return build.instrument.model_copy(update={"items": tuple(items)})


def write_items(build: NormBuild, out: str | Path) -> Path:
    """Write :func:`items_instrument` as an instrument YAML file (validated before writing)."""
    out = Path(out)
    inst = parse_instrument(items_instrument(build).normalized(), str(out))
    return write_text(out, dump_yaml(inst))
