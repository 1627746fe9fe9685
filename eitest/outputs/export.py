"""Export a store for analysis elsewhere: CSV, Parquet, SPSS (.sav) or a Hugging Face dataset.

``export(db, out, "csv")`` writes into the folder ``out``:

``trials`` (long: one row per trial)
    The variables of :data:`TRIAL_VARIABLES`, in that order: the stored trial less the
    prompt JSON, with ``shown_order`` as ``"c,a,b,e,d"``, ``correct`` (1/0: the keyed or
    top-weighted option was chosen; missing when not answered, and under the logprobs
    protocol when several options tie as most probable), ``p_keyed`` (the trial's
    share-correct credit, :func:`eitest.scoring.scores.keyed_credit`: ``correct`` again,
    but under the logprobs protocol the probability of the keyed option; its mean is the
    share correct of ``eitest analyze``), ``credit`` (the chosen option's credit, the
    expected credit under logprobs; missing when not answered) and ``prompt_text``.
``scores`` (wide: one row per run x model x repetition)
    ``run_id, model, repetition``, then per instrument its share correct in that
    repetition (:func:`eitest.scoring.repetition_scores`; an unanswered item counts as
    wrong, as in ``eitest analyze``) and, for weighted instruments, ``<column>_weighted``
    (the mean credit). Instrument ids become valid SPSS names in every format
    (``open-steu`` -> ``open_steu``), so one codebook serves every format.
``codebook.md``, ``codebook.json``
    Every variable of both tables (name, label, type, values, what a missing value
    means), the instrument -> column mapping, and notes on this export.

Per format: ``csv`` trials.csv, scores.csv (UTF-8, a missing value is an empty field);
``parquet`` trials.parquet, scores.parquet; ``sav`` trials.sav, scores.sav (pyreadstat,
an optional dependency: variable and value labels, ``status``, ``protocol`` and
``option_order`` as labelled numeric codes, strings cut to SPSS's 32,767 bytes);
``hf`` a ``datasets.DatasetDict`` with splits ``trials`` and ``scores`` saved with
``save_to_disk`` (read it with ``datasets.load_from_disk(out)``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from eitest.errors import EitestError
from eitest.outputs import codebook, spss
from eitest.outputs.codebook import TRIAL_VARIABLES, InstrumentColumns, Variable, score_variables
from eitest.vocabulary import ExportFormat

FORMATS: tuple[ExportFormat, ...] = tuple(ExportFormat)


class ExportError(EitestError):
    pass


@dataclass
class ExportTables:
    """The two tables and their codebook variables, before they are written."""

    trials: pd.DataFrame
    scores: pd.DataFrame
    trial_variables: list[Variable]
    score_variables: list[Variable]
    columns: list[InstrumentColumns]
    runs: list[str]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ExportResult:
    out: Path
    files: tuple[Path, ...]
    n_trials: int
    n_scores: int
    notes: tuple[str, ...]


# --------------------------------------------------------------------------- tables


def trials_table(trials: pd.DataFrame) -> pd.DataFrame:
    """The long table: one row per trial, the columns of :data:`TRIAL_VARIABLES`."""
    from eitest.scoring import trial_credit
    from eitest.scoring.scores import chose_keyed, keyed_credit

    t = trials.reset_index(drop=True)
    out = pd.DataFrame({v.name: t[v.name] for v in TRIAL_VARIABLES if v.name in t.columns})
    out["shown_order"] = t["shown_order"].map(lambda s: ",".join(map(str, s)) if isinstance(s, list) else s)
    out["correct"] = chose_keyed(t).astype("Int64")
    # the share-correct credit the analysis averages: equal to correct except under the logprobs protocol
    out["p_keyed"] = keyed_credit(t).where(t["status"] == "answered")
    out["credit"] = trial_credit(t, kind="weighted", exclude_unanswered=True)["credit"]
    out["prompt_text"] = t["prompt"].map(_user_text)
    for name in ("option_probs", "token_logprobs"):  # the logprobs protocol's JSON, exported as JSON text
        if name in t.columns:
            out[name] = t[name].map(lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else None)
    return _typed(out, TRIAL_VARIABLES)


def _typed(df: pd.DataFrame, variables: Sequence[Variable]) -> pd.DataFrame:
    """The columns in codebook order, with the codebook's types: nullable strings and integers, floats.

    Typed columns keep their type where every value is missing (an ``error`` column of a
    run without errors is still a string column in Parquet and in the dataset).
    """
    columns = {}
    for v in variables:
        col = df[v.name]
        if v.type == "string":
            columns[v.name] = col.astype(pd.StringDtype())
        else:
            columns[v.name] = pd.to_numeric(col).astype("Int64" if v.type == "integer" else "float64")
    return pd.DataFrame(columns)


def _user_text(prompt: Any) -> str | None:
    if not isinstance(prompt, list):
        return prompt if isinstance(prompt, str) else None
    parts = []
    for message in prompt:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        parts.append(str(content))
    return "\n\n".join(parts) if parts else None


def scores_table(trials: pd.DataFrame, weighted: Collection[str] = ()) -> tuple[pd.DataFrame, list[InstrumentColumns]]:
    """The wide table: one row per run x model x repetition, one column per instrument score."""
    from eitest.scoring import repetition_scores

    keys = ["run_id", "model", "repetition"]
    columns = spss.spss_names(sorted(trials["instrument"].unique()), weighted)
    wide = trials[keys].drop_duplicates().set_index(keys)
    for kind in ("accuracy", "weighted"):
        mine = [c for c in columns if kind == "accuracy" or c.weighted]
        if not mine:
            continue
        subset = trials[trials["instrument"].isin({c.instrument for c in mine})]
        per_run = [
            repetition_scores(g, kind=kind).assign(run_id=run_id) for run_id, g in subset.groupby("run_id", sort=False)
        ]
        long = pd.concat(per_run, ignore_index=True)
        table = long.pivot(index=keys, columns="instrument", values="accuracy")
        table = table.rename(columns={c.instrument: getattr(c, kind) for c in mine})
        wide = wide.join(table)
    order = [name for c in columns for name in (c.accuracy, c.weighted) if name]
    run_order = {r: i for i, r in enumerate(trials["run_id"].unique())}
    wide = wide.reset_index().sort_values(keys, key=lambda s: s.map(run_order) if s.name == "run_id" else s)
    return _typed(wide[[*keys, *order]].reset_index(drop=True), score_variables(columns)), columns


def build_tables(db: str | Path, *, run: str | None = None) -> ExportTables:
    """Read the store and build both tables (one run, or every run when ``run`` is None).

    Which instruments get a weighted score is decided by the instruments the runs used,
    as stored with them. A run whose items are not known is left out with a note (an
    error when it was picked with ``run``), as in ``eitest analyze``.
    """
    from eitest.scoring.completeness import completeness_notes, completeness_table, unstarted_notes
    from eitest.scoring.selection import catalogue_notes, runs_without_trials, study_runs
    from eitest.store import Store

    with Store(db, create=False) as store:
        run_id = store.run(run).id if run else None
        trials = store.trials(run_id)
        records = store.runs()
        empty = runs_without_trials(store, records, trials, run_id)
        if trials.empty:
            said = f": {'; '.join(unstarted_notes(empty, 'exported'))}" if empty else ""
            raise ExportError(
                f"{db} holds no trials{' for run ' + run_id if run_id else ''}{said}; run 'eitest run ...' first"
            )
        used = store.instruments_of_runs(trials["run_id"].unique(), picked=run_id is not None)
    notes = [f"run {r} left out: {why}" for r, why in used.left_out.items()] + catalogue_notes(used.by_run)
    trials = trials[trials["run_id"].isin(list(used.by_run))]
    from eitest.outputs.cells import surrogates_noted

    trials, unicode_notes = surrogates_noted(
        trials, "trials"
    )  # before the typed (Arrow) strings, which cannot hold them
    notes += unicode_notes
    runs = pd.DataFrame([{"id": r.id, "config": r.config} for r in records])
    scored = trials[~trials["run_id"].isin(study_runs(records)[1])]  # a probe's trials are exported, never scored
    notes += unstarted_notes(empty, "exported") + completeness_notes(completeness_table(scored, runs, used.by_run))
    scorings: dict[str, set[str]] = {}
    for insts in used.by_run.values():
        for inst_id, inst in insts.items():
            scorings.setdefault(inst_id, set()).add(inst.scoring)
    weighted = {i for i, kinds in scorings.items() if "weighted" in kinds}
    notes += [
        f"{i}: keyed in some runs and weighted in others; for the keyed runs its weighted column holds the "
        "credit 1/0, the same as its share correct"
        for i, kinds in sorted(scorings.items())
        if len(kinds) > 1
    ]
    long = trials_table(trials)
    wide, columns = scores_table(scored, weighted)
    variables = []
    for v in TRIAL_VARIABLES:
        if v.categories:  # keep the known codes stable; a value not known yet gets the next code
            extra = sorted(set(long[v.name].dropna()) - set(v.categories))
            v = replace(v, categories=(*v.categories, *extra))
        variables.append(v)
    return ExportTables(
        long, wide, variables, score_variables(columns), columns, list(trials["run_id"].unique()), notes
    )


# --------------------------------------------------------------------------- writing


def export(db: str | Path, out: str | Path, fmt: str = "csv", *, run: str | None = None) -> ExportResult:
    """Write the trials, the scores and the codebook of the store ``db`` into the folder ``out``.

    Files of an earlier export of the same format in ``out`` are replaced.
    """
    if fmt not in FORMATS:
        raise ExportError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    from eitest.outputs.writing import check_output_folder

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ExportError(f"--out {out} is a file; give a folder (it is created if missing)")
    check_output_folder(out)  # before the store is read: a folder that cannot be written is said at once
    return write_tables(build_tables(db, run=run), out, fmt, db)


def write_tables(tables: ExportTables, out: str | Path, fmt: str, db: str | Path) -> ExportResult:
    """Write ``tables`` (of the store ``db``) as ``fmt`` into the folder ``out``, with the codebook.

    Text a format cannot hold is replaced and noted (:mod:`eitest.outputs.cells`; lone
    surrogates already in :func:`build_tables`), NUL in SPSS; CSV text cells a spreadsheet would run as a
    formula get a leading ``'``. Every file is written whole or not at all.
    """
    from eitest.outputs.writing import output_errors, output_folder

    out = output_folder(out)
    with output_errors(out):  # a writer's own files (the dataset's shards) say their folder
        files = _WRITERS[fmt](tables, out)
    files += _write_codebook(tables, out, fmt, db, files)
    return ExportResult(out, tuple(files), len(tables.trials), len(tables.scores), tuple(tables.notes))


def _write_table(df: pd.DataFrame, path: Path, how: str, **options: Any) -> Path:
    """One table to ``path`` with ``DataFrame.to_<how>``, whole or not at all."""
    from eitest.outputs.writing import write_binary

    return write_binary(path, lambda tmp: getattr(df, f"to_{how}")(tmp, index=False, **options))


def _write_csv(tables: ExportTables, out: Path) -> list[Path]:
    from eitest.outputs.cells import counts_text, safe_for_spreadsheets

    files = []
    for name in ("trials", "scores"):
        safe, counts = safe_for_spreadsheets(getattr(tables, name))
        if counts:
            tables.notes.append(
                f"{name}.csv: {sum(counts.values())} text cell(s) began with = + - @, a tab or a carriage return "
                f"and were written with a leading ' ({counts_text(counts)})"
            )
        # CRLF line ends (RFC 4180): then a cell holding a lone carriage return is quoted too, not split
        files.append(_write_table(safe, out / f"{name}.csv", "csv", lineterminator="\r\n"))
    return files


def _write_parquet(tables: ExportTables, out: Path) -> list[Path]:
    return [_write_table(tables.trials, out / "trials.parquet", "parquet"),
            _write_table(tables.scores, out / "scores.parquet", "parquet")]  # fmt: skip


def _write_hf(tables: ExportTables, out: Path) -> list[Path]:
    import datasets

    kinds = {"string": "string", "integer": "int64", "number": "float64"}
    splits = {}
    for name, df, variables in (
        ("trials", tables.trials, tables.trial_variables),
        ("scores", tables.scores, tables.score_variables),
    ):
        features = datasets.Features({v.name: datasets.Value(kinds[v.type]) for v in variables})
        description = f"eitest export: {name}; codebook.md in the same folder describes every column"
        info = datasets.DatasetInfo(description=description, features=features)
        splits[name] = datasets.Dataset.from_pandas(df, preserve_index=False, features=features, info=info)
    datasets.DatasetDict(splits).save_to_disk(str(out))
    return [out / "dataset_dict.json", out / "trials", out / "scores"]


def _write_sav(tables: ExportTables, out: Path) -> list[Path]:
    try:
        import pyreadstat  # noqa: F401  (checked here, used by spss.sav_file)
    except ImportError:
        raise ExportError(
            "writing SPSS .sav files needs pyreadstat: pip install pyreadstat (or pip install eitest[spss])"
        ) from None
    from eitest.outputs.cells import counts_text, without_nul
    from eitest.outputs.writing import write_binary

    files = [out / "trials.sav", out / "scores.sav"]
    for path, df, variables in (
        (files[0], tables.trials, tables.trial_variables),
        (files[1], tables.scores, tables.score_variables),
    ):
        data, nul = without_nul(df)
        if nul:
            tables.notes.append(
                f"{path.name}: {sum(nul.values())} cell(s) held NUL characters, written as U+FFFD, since SPSS ends a "
                f"string at a NUL ({counts_text(nul)}); the csv, parquet and hf exports keep them"
            )
        for v in variables:
            if v.categories:
                data[v.name] = data[v.name].map({c: i for i, c in v.sav_labels().items()}).astype("Int64")
            elif v.type == "string":
                data[v.name], cut = spss.cut_strings(data[v.name])
                if cut:
                    tables.notes.append(
                        f"{path.name}: {cut} value(s) of {v.name} were longer than SPSS's {spss.SAV_MAX_STRING_BYTES:,} bytes "
                        "and are cut there; the csv, parquet and hf exports keep the full text"
                    )
        write_binary(
            path, functools.partial(spss.sav_file, data=data, variables=variables, label=f"eitest {path.stem}")
        )
    return files


_WRITERS = {"csv": _write_csv, "parquet": _write_parquet, "sav": _write_sav, "hf": _write_hf}


def _write_codebook(tables: ExportTables, out: Path, fmt: str, db: str | Path, files: Sequence[Path]) -> list[Path]:
    from eitest.outputs.writing import write_text

    paths = [out / "codebook.md", out / "codebook.json"]
    book = codebook.build(tables, fmt, db, [*files, *paths])
    write_text(paths[0], codebook.markdown(book))
    write_text(paths[1], json.dumps(book, indent=2, ensure_ascii=False) + "\n")
    return paths
