"""The codebook of an export: what every exported variable means, as data and as Markdown.

:data:`TRIAL_VARIABLES` describes the long trials table column by column (derived
from the Trial record);
:func:`score_variables` describes the wide scores table, whose instrument columns
depend on the export. :func:`build` gives the codebook as JSON-ready data (the file
``codebook.json``), :func:`markdown` renders it (``codebook.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eitest.outputs.cells import FORMULA_NOTE
from eitest.store import trial

if TYPE_CHECKING:
    import pandas as pd

    from eitest.outputs.export import ExportTables


@dataclass(frozen=True)
class Variable:
    """One column of an exported table, as the codebook describes it."""

    name: str
    label: str  # short: it becomes the SPSS variable label
    type: str  # string | integer | number
    values: str
    missing: str
    categories: tuple[str, ...] = ()  # stored as 1, 2, ... with these value labels in .sav
    value_labels: tuple[tuple[int, str], ...] = ()
    instrument: str | None = None  # for the score columns: the instrument id

    def sav_labels(self) -> dict[int | float, str]:  # pyreadstat's type for value labels
        if self.categories:
            return {i: c for i, c in enumerate(self.categories, start=1)}
        return dict(self.value_labels)


# How each format writes the tables; the first lines of the codebook's notes.
FORMAT_NOTES = {
    "csv": [
        "CSV: UTF-8, comma-separated, one header row, CRLF line ends (RFC 4180); a missing value is an empty field; "
        "a cell holding a line break, a comma or a quote is quoted",
        FORMULA_NOTE,
    ],
    "parquet": ["Parquet: a missing value is null"],
    "sav": [
        "SPSS .sav: status, protocol and option_order are numeric codes with value labels (see each variable's "
        "values); correct has value labels; a missing number is system-missing",
        "SPSS .sav: strings have no missing value in SPSS, so a missing string is empty; a string longer than "
        "SPSS's 32,767 bytes is cut there (any cut is listed below; the csv, parquet and hf exports keep the full text)",
        "SPSS .sav: SPSS ends a string at a NUL character, so a NUL is written as U+FFFD (any such cell is counted "
        "below)",
    ],
    "hf": [
        "Hugging Face datasets: datasets.load_from_disk(folder) gives a DatasetDict with splits 'trials' and "
        "'scores'; a missing value is None"
    ],
}
COMMON_NOTES = [
    "The full prompt (the JSON list of chat messages) stays in the store; prompt_text holds its user message",
    "scores: an unanswered trial counts as wrong (credit 0), as in 'eitest analyze' by default; "
    "the trials table keeps correct and credit missing for it so that other rules can be applied",
]

_SQL_TYPES = {"TEXT": "string", "INTEGER": "integer", "REAL": "number"}
_ALWAYS = "never missing"
_NOT_ANSWERED = "not answered (status other than answered)"


def _stored(f: Any) -> Variable:
    m = f.metadata
    return Variable(
        f.name,
        m["label"],
        _SQL_TYPES[m["sql"].split()[0]],
        m["values"],
        m["missing"],
        categories=tuple(c.value for c in m["categories"]) if m["categories"] else (),
    )


def _trial_variables() -> tuple[Variable, ...]:
    """The stored trial's fields (from :class:`eitest.store.trial.Trial`), as exported.

    The prompt JSON is replaced by ``prompt_text`` (its user message) at the end; after
    ``parse_rule`` come the scores of the trial, ``correct``, ``p_keyed`` (its credit on the
    share-correct scale, :func:`eitest.scoring.scores.keyed_credit`) and ``credit`` (the
    stored ``score``, under the name the scores table uses).
    """
    out: list[Variable] = []
    for f in trial.FIELDS:
        if f.name == "prompt":
            continue
        if f.name == "score":
            out.append(
                Variable(
                    "correct", "Chose the keyed (top-weighted) option", "integer",
                    "1 = the keyed option (for weighted instruments the top-weighted one), 0 = another option; "
                    "logprobs protocol: whether the most probable option is the keyed one (the share correct "
                    "is the mean of p_keyed, not of correct)",
                    _NOT_ANSWERED + "; logprobs protocol: also when several options tie as most probable, "
                    "since the stored choice is then only a tie-break",
                    value_labels=((0, "another option"), (1, "keyed / top-weighted option")),
                )
            )  # fmt: skip
            out.append(
                Variable(
                    "p_keyed", "Credit on the share-correct scale (probability of the keyed option)", "number",
                    "0 to 1: the same as correct (1 or 0) when one answer was sampled; logprobs protocol: the "
                    "probability the model's answer distribution gives the keyed (top-weighted) option; the mean "
                    "over a repetition's items is the share correct of eitest analyze and of the scores table",
                    _NOT_ANSWERED,
                )
            )  # fmt: skip
            out.append(replace(_stored(f), name="credit"))
            continue
        out.append(_stored(f))
    out.append(
        Variable(
            "prompt_text", "The prompt (user message) shown to the model", "string", "free text", "no user message"
        )
    )
    return tuple(out)


TRIAL_VARIABLES: tuple[Variable, ...] = _trial_variables()


@dataclass(frozen=True)
class InstrumentColumns:
    """Where an instrument's scores sit in the wide table."""

    instrument: str
    accuracy: str
    weighted: str | None


def score_variables(columns: Sequence[InstrumentColumns]) -> list[Variable]:
    """The variables of the wide scores table: the keys, then each instrument's score columns."""
    absent = "the model did not take this instrument in this run and repetition"
    out = [
        Variable("run_id", "Run id", "string", "the id of the run in the store", _ALWAYS),
        Variable("model", "Model (litellm model string)", "string", "as called, e.g. openai/gpt-4o", _ALWAYS),
        Variable("repetition", "Repetition (0-based)", "integer", "0, 1, ...", _ALWAYS),
    ]
    for c in columns:
        out.append(
            Variable(
                c.accuracy,
                f"{c.instrument}: share correct",
                "number",
                "0 to 1: share of the instrument's items answered with the keyed (top-weighted) option "
                "(the mean of p_keyed: under the logprobs protocol the mean probability of the keyed option); "
                "unanswered items count as wrong",
                absent,
                instrument=c.instrument,
            )
        )
        if c.weighted:
            out.append(
                Variable(
                    c.weighted,
                    f"{c.instrument}: weighted score",
                    "number",
                    "0 to 1: mean credit (option weight) of the chosen options; unanswered items count 0",
                    absent,
                    instrument=c.instrument,
                )
            )
    return out


def build(tables: ExportTables, fmt: str, db: str | Path, files: Sequence[Path] = ()) -> dict[str, Any]:
    """The codebook of an export as JSON-ready data."""
    from eitest.version import __version__

    def variables(vs: Sequence[Variable], df: pd.DataFrame) -> list[dict[str, Any]]:
        rows = []
        for v in vs:
            row = {
                k: val for k, val in asdict(v).items() if k not in ("categories", "value_labels") and val is not None
            }
            if fmt == "sav" and v.categories:
                row["type"] = "integer code"
            if v.categories:
                observed = set(df[v.name].dropna())
                row["values"] = (
                    v.values + " (in this export: " + ", ".join(c for c in v.categories if c in observed) + ")"
                )
            if v.sav_labels() and (fmt == "sav" or not v.categories):
                row["value_labels"] = {str(k): lab for k, lab in v.sav_labels().items()}
            rows.append(row)
        return rows

    return {
        "title": "eitest export",
        "eitest_version": __version__,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "source": str(db),
        "runs": tables.runs,
        "format": fmt,
        "files": [p.name for p in files],
        "notes": [*FORMAT_NOTES.get(fmt, []), *COMMON_NOTES, *tables.notes],
        "instrument_columns": [asdict(c) for c in tables.columns],
        "tables": {
            "trials": {
                "description": "one row per trial (long format)",
                "rows": len(tables.trials),
                "variables": variables(tables.trial_variables, tables.trials),
            },
            "scores": {
                "description": "one row per run x model x repetition (wide format), one column per instrument score",
                "rows": len(tables.scores),
                "variables": variables(tables.score_variables, tables.scores),
            },
        },
    }


def markdown(book: dict[str, Any]) -> str:
    """The codebook as Markdown: notes, a table of variables per exported table, the instrument columns."""

    def cell(v: Any) -> str:
        if isinstance(v, dict):
            v = "; ".join(f"{k} = {lab}" for k, lab in v.items())
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = [
        "# Codebook: eitest export",
        "",
        f"Exported by eitest {book['eitest_version']} on {book['exported_at']} from `{book['source']}`, "
        f"format `{book['format']}`; runs: {', '.join(book['runs'])}.",
        "",
        "Files: " + ", ".join(f"`{f}`" for f in book["files"]) + ".",
        "",
        "## Notes",
        "",
        *[f"- {n}" for n in book["notes"]],
    ]
    for name, table in book["tables"].items():
        lines += ["", f"## {name}: {table['description']}", "", f"{table['rows']} rows.", ""]
        lines += ["| variable | label | type | values | missing means |", "|---|---|---|---|---|"]
        for v in table["variables"]:
            values = v["values"] + ("; codes: " + cell(v["value_labels"]) if "value_labels" in v else "")
            lines.append(
                f"| `{v['name']}` | {cell(v['label'])} | {v['type']} | {cell(values)} | {cell(v['missing'])} |"
            )
    lines += [
        "",
        "## Instrument columns of the scores table",
        "",
        "| instrument | share correct | weighted score |",
        "|---|---|---|",
    ]
    for c in book["instrument_columns"]:
        lines.append(
            f"| {c['instrument']} | `{c['accuracy']}` | {'`' + c['weighted'] + '`' if c['weighted'] else '(keyed: none)'} |"
        )
    return "\n".join(lines) + "\n"
