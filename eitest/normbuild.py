"""Human norms built from response data (``eitest norms build``), and the response-file reader.

A response file is CSV with one row per participant: an optional ``participant``
column, then one column per item id whose cells hold the chosen option id (an
empty cell is an unanswered item). This is the layout the HTML page of
``eitest survey export --format html`` downloads; several such files (one per
participant) can be given at once.

Each answer is scored with :meth:`eitest.instruments.Item.credit` (1/0 when
keyed, the option's weight when weighted); a participant's score is the mean
credit over the items (a proportion). From the scores come the norm figures
(n, mean, SD with ddof=1, alpha) in :mod:`eitest.norms`' file format, and per
item the share choosing the keyed or top option (``human_p``) and the corrected
item-total correlation (:mod:`eitest.psychometrics`).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from eitest.instruments import Instrument, InstrumentError, Problem, dump_yaml, parse_instrument
from eitest.norms import HumanNorm, NormFile, load_norm_file, parse_norm_file

if TYPE_CHECKING:
    import pandas as pd

PARTICIPANT = "participant"
MISSING_POLICIES = ("wrong", "drop")
MAX_PROBLEMS = 30


class ResponseError(InstrumentError):
    """A response file that cannot be scored; ``problems`` names each row and column."""

    def __init__(self, problems: list[Problem]):
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown = [*shown, Problem(shown[-1].source, None, "...", f"and {len(problems) - MAX_PROBLEMS} more problem(s)")]
        super().__init__(shown)


# --------------------------------------------------------------------------- reading


def read_responses(paths: str | Path | list[str | Path]) -> pd.DataFrame:
    """Read one or more response CSV files into one table of strings.

    Cells are stripped; empty cells are ``""``. Two bookkeeping columns,
    ``_file`` and ``_line`` (the line in that file), let errors point at a row.
    Files given together must have the same columns (in any order).
    """
    import pandas as pd

    if isinstance(paths, str | Path):
        paths = [paths]
    if not paths:
        raise ResponseError([Problem("(responses)", None, "(file)", "no response file given")])
    frames = []
    header0: list[str] | None = None
    for path in map(Path, paths):
        src = str(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ResponseError([Problem(src, None, "(file)", "no such file")]) from None
        except UnicodeDecodeError as exc:
            raise ResponseError([Problem(src, None, "(file)", f"not UTF-8 text ({exc.reason})")]) from None
        rows = list(csv.reader(text.splitlines()))
        while rows and not any(c.strip() for c in rows[-1]):
            rows.pop()
        if not rows:
            raise ResponseError([Problem(src, None, "(file)", "the file is empty; it needs a header row (participant, item ids) and one row per participant")])
        header = [c.strip() for c in rows[0]]
        problems = []
        for i, name in enumerate(header):
            if not name:
                problems.append(Problem(src, None, f"line 1, column {i + 1}", "empty column name"))
            elif header.index(name) != i:
                problems.append(Problem(src, None, f"line 1, column {name}", "the column appears twice"))
        if len(rows) == 1:
            problems.append(Problem(src, None, "(file)", "a header but no participant rows"))
        body = []
        for line, row in enumerate(rows[1:], start=2):
            if not any(c.strip() for c in row):
                continue
            if len(row) > len(header):
                problems.append(Problem(src, None, f"line {line}", f"{len(row)} cells but the header has {len(header)} columns"))
                continue
            cells = [c.strip() for c in row] + [""] * (len(header) - len(row))
            body.append([*cells, src, line])
        if problems:
            raise ResponseError(problems)
        if header0 is not None and set(header) != set(header0):
            differ = sorted(set(header) ^ set(header0))
            raise ResponseError([Problem(src, None, "line 1", f"columns differ from the first file's: {', '.join(differ)}")])
        header0 = header0 or header
        frames.append(pd.DataFrame(body, columns=[*header, "_file", "_line"])[[*header0, "_file", "_line"]])
    return pd.concat(frames, ignore_index=True)


@dataclass
class ScoredResponses:
    """One instrument's answers, scored. Rows are participants, in file order."""

    instrument: Instrument
    participants: list[str]
    choices: pd.DataFrame  # participant x item: option id, or None when unanswered
    credit: pd.DataFrame  # participant x item: credit (NaN for unanswered under missing="drop")
    n_missing: int
    n_dropped: int  # participants left out under missing="drop"

    @property
    def scores(self) -> pd.Series:
        """Per participant: mean credit over the items (proportion scale)."""
        return self.credit.mean(axis=1)

    @property
    def binary(self) -> bool:
        values = self.credit.to_numpy().ravel()
        values = values[~(values != values)]  # drop NaN
        return bool(((values == 0) | (values == 1)).all())


def participant_ids(table: pd.DataFrame) -> list[str]:
    if PARTICIPANT in table.columns:
        return [p or f"line {ln}" for p, ln in zip(table[PARTICIPANT], table["_line"], strict=True)]
    return [f"{Path(f).name}:{ln}" for f, ln in zip(table["_file"], table["_line"], strict=True)]


def check_columns(table: pd.DataFrame, item_ids: list[str], allowed: list[str], what: str, hint: str = "") -> list[Problem]:
    """Unknown columns, and item columns that are missing."""
    src = str(table["_file"].iloc[0]) if len(table) else "(responses)"
    known = set(item_ids) | set(allowed) | {PARTICIPANT, "_file", "_line"}
    problems = [Problem(src, None, f"column {c}", f"not an item of {what}{hint}") for c in table.columns if c not in known]
    absent = [i for i in item_ids if i not in table.columns]
    if absent:
        problems.append(Problem(src, None, "(header)", f"no column for item(s) {', '.join(absent)} of {what}"))
    return problems


def score_responses(table: pd.DataFrame, instrument: Instrument, missing: str = "wrong", check: bool = True) -> ScoredResponses:
    """Score each participant's answers to ``instrument``'s items.

    ``missing="wrong"`` gives an unanswered item no credit; ``"drop"`` leaves
    out participants with any unanswered item (listwise). Option ids that are
    not among an item's options are errors naming the file, line and column.
    """
    import numpy as np
    import pandas as pd

    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
    if instrument.is_metadata_only:
        raise ResponseError([Problem(instrument.id, None, "items", "the instrument has no items on file; import your licensed copy first")])
    item_ids = [it.id for it in instrument.items]
    if check:
        problems = check_columns(table, item_ids, [], instrument.id)
        if problems:
            raise ResponseError(problems)
    if PARTICIPANT in table.columns:
        seen: dict[str, int] = {}
        dupes = []
        for pid, src, line in zip(table[PARTICIPANT], table["_file"], table["_line"], strict=True):
            if pid and pid in seen:
                dupes.append(Problem(src, None, f"line {line}, column {PARTICIPANT}", f"participant {pid!r} again (first at line {seen[pid]})"))
            seen.setdefault(pid, line)
        if dupes:
            raise ResponseError(dupes)
    problems = []
    choices = {}
    credit = {}
    n_missing = 0
    for it in instrument.items:
        col = table[it.id]
        ids = set(it.option_ids)
        bad = ~col.isin(ids) & (col != "")
        for value, src, line in zip(col[bad], table["_file"][bad], table["_line"][bad], strict=True):
            hint = ""
            lowered = {o.lower(): o for o in ids}
            if value.lower() in lowered:
                hint = f" (did you mean {lowered[value.lower()]!r}? option ids are case-sensitive)"
            problems.append(Problem(src, None, f"line {line}, column {it.id}", f"{value!r} is not an option of item {it.id} ({', '.join(it.option_ids)}){hint}"))
        answered = col != ""
        n_missing += int((~answered).sum())
        choices[it.id] = [v if v else None for v in col]
        values = [it.credit(v) if v else (0.0 if missing == "wrong" else math.nan) for v in col]
        credit[it.id] = np.asarray(values, dtype=float)
    if problems:
        raise ResponseError(problems)
    pids = participant_ids(table)
    choice_df = pd.DataFrame(choices, index=pids)
    credit_df = pd.DataFrame(credit, index=pids)
    dropped = 0
    if missing == "drop":
        keep = ~credit_df.isna().any(axis=1)
        dropped = int((~keep).sum())
        choice_df, credit_df = choice_df[keep], credit_df[keep]
        pids = [p for p, k in zip(pids, keep, strict=True) if k]
    return ScoredResponses(instrument, pids, choice_df, credit_df, n_missing, dropped)


# --------------------------------------------------------------------------- the norm


def reliability(credit: pd.DataFrame, binary: bool, ci: float = 0.95) -> dict[str, Any]:
    """KR-20 for 0/1 credit, else Cronbach's alpha, each with Feldt's interval; NaN when undefined."""
    from eitest import psychometrics

    try:
        if binary:
            r = psychometrics.kr20(credit, ci=ci)
            return {"name": "KR-20", "alpha": r["kr20"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n": r["n"], "k": r["k"], "error": None}
        r = psychometrics.cronbach_alpha(credit, ci=ci)
        return {"name": "Cronbach's alpha", **{k: r[k] for k in ("alpha", "ci_low", "ci_high", "n", "k")}, "error": None}
    except ValueError as exc:
        return {"name": "KR-20" if binary else "Cronbach's alpha", "alpha": math.nan, "ci_low": math.nan, "ci_high": math.nan,
                "n": len(credit), "k": credit.shape[1], "error": str(exc)}


def coefficient(x: float) -> str:
    """A reliability or correlation the APA way (no leading zero); plain decimals outside [-1, 1]."""
    from eitest import apa

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

    from eitest import psychometrics

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


def _files_label(files: list[str]) -> str:
    names = [Path(f).name for f in files]
    if len(names) <= 3:
        return ", ".join(names)
    return f"{len(names)} files ({names[0]}, ..., {names[-1]})"


def build_norms(paths: str | Path | list[str | Path], instrument: Instrument, *, source_id: str | None = None, sample: str | None = None,
                missing: str = "wrong", ci: float = 0.95, date: str | None = None) -> NormBuild:
    """Compute a human norm for ``instrument`` from response files (see the module docstring)."""
    import pandas as pd

    files = [str(p) for p in ([paths] if isinstance(paths, str | Path) else paths)]
    table = read_responses(files)
    scored = score_responses(table, instrument, missing=missing)
    n = len(scored.participants)
    notes: list[str] = []
    if scored.n_missing:
        notes.append(
            f"{scored.n_missing} unanswered item response(s): "
            + ("scored as wrong (no credit)" if missing == "wrong" else f"{scored.n_dropped} participant(s) with any left out (listwise)")
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
    label = _files_label(files)
    where = f"computed from {label}"
    src_id = source_id or f"{instrument.id}-{_slug(Path(files[0]).stem)}"

    def figure(value: float, place: str = where) -> dict[str, Any]:
        ok = value == value and math.isfinite(value)
        return {"value": (int(value) if float(value).is_integer() else float(value)) if ok else None, "where": place if ok else None}

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
    return NormBuild(instrument, files, n, mean, sd, rel, items, score_table, data, notes)


def write_norm_file(build: NormBuild, out: str | Path | None = None) -> Path:
    """Write the norm file (default: the user's norms directory, where analyses find it) and load it back as a check."""
    from eitest.paths import user_norms_dir

    out = Path(out) if out else user_norms_dir() / f"{_slug(build.source_id)}.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Built by eitest norms build from {', '.join(Path(f).name for f in build.files)}; item statistics in the --items-out file.\n"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(header + yaml.safe_dump(build.data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    try:
        load_norm_file(tmp)
    except InstrumentError:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    return out


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
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(dump_yaml(inst), encoding="utf-8")
    return out
