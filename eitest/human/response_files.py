"""Response files of human participants: reading, checking and scoring.

A response file is CSV with one row per participant: an optional ``participant``
column, then one column per item id whose cells hold the chosen option id (an
empty cell is an unanswered item). This is the layout the HTML page of
``eitest survey export --format html`` downloads; several such files (one per
participant) can be read as one table. Every problem names the file, the line and
the column.

Each answer is scored with :meth:`eitest.instruments.Item.credit` (1/0 when
keyed, the option's weight when weighted). :mod:`eitest.human.norm_building` and
:mod:`eitest.human.forms` build on this.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from eitest.instruments import Instrument, InstrumentError, Problem
from eitest.reading import ReadError, read_csv

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
            shown = [
                *shown,
                Problem(shown[-1].source, None, "...", f"and {len(problems) - MAX_PROBLEMS} more problem(s)"),
            ]
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
            table = read_csv(path, "a response file")
        except ReadError as exc:
            raise ResponseError.from_read_error(exc) from None
        if not table.header:
            raise ResponseError(
                [
                    Problem(
                        src,
                        None,
                        "(file)",
                        "the file is empty; it needs a header row (participant, item ids) and one row per participant",
                    )
                ]
            )
        if not table.rows:
            raise ResponseError([Problem(src, None, "(file)", "a header but no participant rows")])
        header = list(table.header)
        body = [[*(c.strip() for c in row.cells), src, row.line] for row in table.rows]
        if header0 is not None and set(header) != set(header0):
            differ = sorted(set(header) ^ set(header0))
            raise ResponseError(
                [Problem(src, None, "line 1", f"columns differ from the first file's: {', '.join(differ)}")]
            )
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


def check_columns(
    table: pd.DataFrame, item_ids: list[str], allowed: list[str], what: str, hint: str = ""
) -> list[Problem]:
    """Unknown columns, and item columns that are missing."""
    src = str(table["_file"].iloc[0]) if len(table) else "(responses)"
    known = set(item_ids) | set(allowed) | {PARTICIPANT, "_file", "_line"}
    problems = [
        Problem(src, None, f"column {c}", f"not an item of {what}{hint}") for c in table.columns if c not in known
    ]
    absent = [i for i in item_ids if i not in table.columns]
    if absent:
        problems.append(Problem(src, None, "(header)", f"no column for item(s) {', '.join(absent)} of {what}"))
    return problems


def score_responses(
    table: pd.DataFrame, instrument: Instrument, missing: str = "wrong", check: bool = True
) -> ScoredResponses:
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
        raise ResponseError(
            [
                Problem(
                    instrument.id, None, "items", "the instrument has no items on file; import your licensed copy first"
                )
            ]
        )
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
                dupes.append(
                    Problem(
                        src,
                        None,
                        f"line {line}, column {PARTICIPANT}",
                        f"participant {pid!r} again (first at line {seen[pid]})",
                    )
                )
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
            problems.append(
                Problem(
                    src,
                    None,
                    f"line {line}, column {it.id}",
                    f"{value!r} is not an option of item {it.id} ({', '.join(it.option_ids)}){hint}",
                )
            )
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
