"""Interrupted, stopped and unfinished runs: every step works over the finished trials and says what is missing."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import instrument_data, run_cli

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.outputs.export import export
from eitest.outputs.report import write_report
from eitest.scoring.analysis import AnalysisError, analyze
from eitest.scoring.completeness import completeness_table, lacking_text
from eitest.store import Store

ITEMS = 5
REPS = 3


def _items(prefix: str) -> list[dict]:
    return [
        {
            "id": f"{prefix}{i}",
            "stem": f"Situation {prefix} number {i}: a colleague takes the credit for your work.",
            "question": "What do you feel?",
            "options": [{"id": o, "text": f"Feeling {o} for {prefix}{i}"} for o in "abcd"],
            "key": "b",
        }
        for i in range(1, ITEMS + 1)
    ]


@pytest.fixture(scope="module")
def forms(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("forms")
    paths = []
    for inst_id, prefix in (("tiny-a", "a"), ("tiny-b", "b")):
        path = folder / f"{inst_id}.yaml"
        path.write_text(yaml.safe_dump(instrument_data(inst_id, _items(prefix))), encoding="utf-8")
        paths.append(path)
    return paths[0], paths[1]


def _study(forms, **fields) -> Study:
    base = {"models": ["eitest/oracle", "eitest/chance"], "instruments": [str(f) for f in forms], "reps": REPS}
    return Study(**{**base, "option_order": "shuffled", **fields})


@pytest.fixture(scope="module")
def complete_db(tmp_path_factory, forms) -> Path:
    db = tmp_path_factory.mktemp("complete") / "full.db"
    out = run_study(_study(forms), db)
    assert out.called == 2 * 2 * ITEMS * REPS and out.failed == 0
    return db


def _damaged(complete_db: Path, tmp_path: Path, *sql: str) -> tuple[Path, str]:
    """A copy of the complete store with some trials taken out, as a kill or a stop leaves it."""
    db = tmp_path / "partial.db"
    shutil.copy(complete_db, db)
    with sqlite3.connect(db) as con:
        for statement in sql:
            con.execute(statement)
        run_id = con.execute("SELECT id FROM runs").fetchone()[0]
    return db, run_id


def _everything_works(db: Path, tmp_path: Path, expected_note: str) -> None:
    """analyze, report (HTML and PDF) and export in every format run, and each says ``expected_note``."""
    analysis = analyze(db)
    assert expected_note in analysis.notes
    files = write_report(db, tmp_path / "r.html", tmp_path / "r.pdf", analysis=analysis)
    html = files.html.read_text(encoding="utf-8")
    assert expected_note in html.replace("&#39;", "'")  # the notes of the report
    assert "The data are incomplete:" in html  # the methods paragraph
    assert files.pdf.read_bytes().startswith(b"%PDF")
    for fmt in ("csv", "parquet", "sav", "hf"):
        result = export(db, tmp_path / fmt, fmt)
        assert expected_note in result.notes
        book = json.loads((tmp_path / fmt / "codebook.json").read_text(encoding="utf-8"))
        assert expected_note in book["notes"]


def test_trials_missing_at_random(complete_db: Path, tmp_path: Path):
    db, run_id = _damaged(
        complete_db,
        tmp_path,
        "DELETE FROM trials WHERE model = 'eitest/chance' AND instrument = 'tiny-a' AND "
        "((item_id = 'a2' AND repetition = 0) OR (item_id = 'a4' AND repetition = 2) OR (item_id = 'a5' AND repetition = 2))",
    )
    note = (
        f"run {run_id}: 57 of 60 planned trials finished (3 not yet run); eitest/chance on tiny-a: item a2 lacks "
        "repetition 0, items a4, a5 lack repetition 2; statistics use the finished trials (repetitions count from 0); "
        "re-run the run's command to finish it"
    )
    _everything_works(db, tmp_path, note)
    analysis = analyze(db)
    row = analysis.completeness.set_index(["model", "instrument"]).loc[("eitest/chance", "tiny-a")]
    assert (row["planned"], row["stored"], row["not_run"], row["complete"]) == (15, 12, 3, False)
    assert row["lacking"] == {"a2": [0], "a4": [2], "a5": [2]}
    assert not analysis.complete
    agreement = analysis.agreement.set_index(["model", "instrument"]).loc[("eitest/chance", "tiny-a")]
    assert agreement["n_items_left_out"] == 3 and agreement["n_items"] == 2


def test_a_whole_repetition_missing(complete_db: Path, tmp_path: Path):
    db, run_id = _damaged(complete_db, tmp_path, "DELETE FROM trials WHERE model = 'eitest/oracle' AND repetition = 2")
    note = (
        f"run {run_id}: 50 of 60 planned trials finished (10 not yet run); eitest/oracle on tiny-a: repetition 2 has "
        "no trial; eitest/oracle on tiny-b: repetition 2 has no trial; statistics use the finished trials "
        "(repetitions count from 0); re-run the run's command to finish it"
    )
    _everything_works(db, tmp_path, note)
    scores = analyze(db).scores.set_index(["model", "instrument"])
    assert scores.loc[("eitest/oracle", "tiny-a"), "n_reps"] == 2
    assert scores.loc[("eitest/oracle", "tiny-a"), "score"] == 1.0


def test_one_item_with_only_one_repetition(complete_db: Path, tmp_path: Path):
    db, run_id = _damaged(
        complete_db,
        tmp_path,
        "DELETE FROM trials WHERE model = 'eitest/oracle' AND item_id = 'b3' AND repetition > 0",
    )
    analysis = analyze(db)
    assert (
        f"run {run_id}: 58 of 60 planned trials finished (2 not yet run); eitest/oracle on tiny-b: item b3 lacks "
        "repetitions 1 and 2; statistics use the finished trials (repetitions count from 0); re-run the run's "
        "command to finish it"
    ) in analysis.notes
    items = analysis.items.set_index(["model", "instrument", "item_id"])
    assert items.loc[("eitest/oracle", "tiny-b", "b3"), "n_reps"] == 1
    assert items.loc[("eitest/oracle", "tiny-b", "b1"), "n_reps"] == 3
    agreement = analysis.agreement.set_index(["model", "instrument"]).loc[("eitest/oracle", "tiny-b")]
    assert agreement["n_items"] == 4 and agreement["n_items_left_out"] == 1 and agreement["modal_rate"] == 1.0


def test_an_instrument_with_no_finished_trial(complete_db: Path, tmp_path: Path):
    db, run_id = _damaged(
        complete_db,
        tmp_path,
        "UPDATE trials SET status = 'error', raw_reply = NULL, chosen_option = NULL, chosen_position = NULL, "
        "score = NULL, parse_rule = NULL, error = 'scripted 500' WHERE model = 'eitest/chance' AND instrument = 'tiny-b'",
    )
    note = (
        f"run {run_id}: 45 of 60 planned trials finished (15 failed calls, which the scores count as wrong); "
        "statistics use the finished trials; re-run the run's command to finish it"
    )
    _everything_works(db, tmp_path, note)
    row = analyze(db).scores.set_index(["model", "instrument"]).loc[("eitest/chance", "tiny-b")]
    assert row["failure_rate"] == 1.0 and row["score"] == 0.0 and pd.isna(row["parse_rate"])
    excluded = analyze(db, exclude_unanswered=True)
    assert (
        f"run {run_id}: 45 of 60 planned trials finished (15 failed calls, left out of the scores); statistics use "
        "the finished trials; re-run the run's command to finish it"
    ) in excluded.notes
    row = excluded.scores.set_index(["model", "instrument"]).loc[("eitest/chance", "tiny-b")]
    assert row["rep_ci_reason"] == "no scored trial"


def test_a_run_interrupted_before_it_reached_a_model(forms, tmp_path: Path):
    """Ctrl-C (here: an exception from the progress callback) after 7 trials, one call at a time."""
    db = tmp_path / "stopped.db"
    seen = []

    def interrupt(trial) -> None:
        seen.append(trial)
        if len(seen) == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_study(_study(forms, concurrency=1, option_order="original"), db, on_trial=interrupt)
    with Store(db) as store:
        (run,) = store.runs()
        assert len(store.trials()) == 7 and run.finished_at is None
    analysis = analyze(db)
    assert analysis.completeness["planned"].sum() == 60
    (note,) = [n for n in analysis.notes if n.startswith(f"run {run.id}")]
    assert note.startswith(f"run {run.id}: 7 of 60 planned trials finished (53 not yet run); eitest/oracle on tiny-a: ")
    assert "eitest/oracle on tiny-b: no trial yet (0 of 15); eitest/chance on tiny-a: no trial yet (0 of 15); " in note
    assert "eitest/chance on tiny-b: no trial yet (0 of 15)" in note
    assert list(analysis.scores["model"]) == ["eitest/oracle"]
    files = write_report(db, tmp_path / "r.html", analysis=analysis)
    assert "7 of the 60 planned trials had finished" in files.html.read_text(encoding="utf-8")
    assert export(db, tmp_path / "csv", "csv").n_trials == 7


def test_max_cost_stop_with_no_trial_and_beside_a_finished_run(forms, tmp_path: Path):
    """`eitest run --max-cost 0` on the offline models stops before its first call: a run with 0 trials."""
    db = tmp_path / "cost.db"
    args = ("run", "-m", "eitest/first", "-i", str(forms[0]), "--reps", "2", "--yes", "--db", str(db))
    res = run_cli(*args, "--max-cost", "0")
    assert res.returncode == 0, res.stderr
    assert "stopped: spent $0.0000, reaching --max-cost $0.0000" in res.stderr
    with Store(db) as store:
        (run,) = store.runs()
    said = (
        f"run {run.id}: 0 of 10 planned trials finished (none run yet), so nothing of it is analysed; re-run the "
        "run's command to start it"
    )
    res = run_cli("analyze", "--db", str(db))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"Error: {db}: nothing to analyse yet: {said}" in res.stderr
    res = run_cli("analyze", "--db", str(db), "--run", run.id[:6])
    assert res.returncode == 2 and said in res.stderr
    res = run_cli("export", "--db", str(db), "--format", "csv", "--out", str(tmp_path / "x"))
    assert res.returncode == 2 and "so nothing of it is exported" in res.stderr and "Traceback" not in res.stderr

    # Beside a finished run, the empty one is a note: analyze, report and export go on.
    assert run_cli("run", "-m", "eitest/oracle", "-i", str(forms[0]), "--yes", "--db", str(db)).returncode == 0
    res = run_cli("analyze", "--db", str(db))
    assert res.returncode == 0, res.stderr
    assert f"note: {said}" in res.stderr
    res = run_cli("report", "--db", str(db), "--out", str(tmp_path / "r.html"))
    assert res.returncode == 0, res.stderr
    res = run_cli("export", "--db", str(db), "--format", "parquet", "--out", str(tmp_path / "pq"))
    assert res.returncode == 0 and f"note: run {run.id}: 0 of 10 planned trials finished" in res.stderr


def test_completeness_without_run_configs_takes_the_plan_from_the_trials():
    trials = pd.DataFrame(
        {
            "run_id": ["r"] * 5,
            "model": ["m"] * 5,
            "instrument": ["i"] * 5,
            "item_id": ["x", "y", "x", "y", "x"],
            "repetition": [0, 0, 1, 1, 2],
            "status": ["answered"] * 4 + ["error"],
        }
    )
    table = completeness_table(trials, None, {})
    row = table.iloc[0]
    assert (row["planned"], row["stored"], row["finished"], row["failed"], row["not_run"]) == (6, 5, 4, 1, 1)
    assert row["lacking"] == {"y": [2]}


def test_lacking_text_names_a_few_items_and_counts_the_rest():
    lacking = {f"q{i}": [1] for i in range(12)}
    assert lacking_text(lacking, 20) == "items q0, q1, q2, q3, q4, q5, q6, q7 and 4 more lack repetition 1"
    assert lacking_text({"q0": [0, 2], "q1": [2]}, 2) == "repetition 2 has no trial, item q0 lacks repetition 0"


def test_an_empty_store_still_says_run_eitest_run(tmp_path: Path):
    db = tmp_path / "empty.db"
    Store(db).close()
    with pytest.raises(AnalysisError, match="holds no trials yet; run 'eitest run ...' first"):
        analyze(db)


def _design(tmp_path: Path, eitest_home: Path) -> Path:
    from eitest.paths import user_instrument_dir

    folder = user_instrument_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny-a.yaml").write_text(yaml.safe_dump(instrument_data("tiny-a", _items("a"))), encoding="utf-8")
    design = {
        "id": "tinyrep",
        "title": "A tiny replication",
        "citation": "Nobody (2026). Written for this test.",
        "tests": [{"id": "tiny-a", "paper_name": "Tiny A"}],
        "models": [{"paper_name": "The oracle", "litellm": "eitest/oracle"}],
        "design": {"reps": 3},
    }
    path = tmp_path / "tinyrep.yaml"
    path.write_text(yaml.safe_dump(design), encoding="utf-8")
    return path


def test_replicate_reports_an_unfinished_run_and_says_so(tmp_path: Path, eitest_home: Path):
    from eitest.workflows.replicate import load_design, replicate, study_for

    design_file = _design(tmp_path, eitest_home)
    out = tmp_path / "rep"
    out.mkdir()
    seen = []

    def interrupt(trial) -> None:
        seen.append(trial)
        if len(seen) == 4:
            raise KeyboardInterrupt

    study = study_for(load_design(str(design_file)), ["tiny-a"], None, None, concurrency=1)
    with pytest.raises(KeyboardInterrupt):
        run_study(study, out / "eitest.db", on_trial=interrupt)
    # Resumed with a budget already spent: the run stops at once, and the report covers the 4 trials it has.
    result = replicate(str(design_file), out, max_cost=0.0, concurrency=1)
    assert result.stopped == "spent $0.0000, reaching --max-cost $0.0000"
    assert result.notes and result.notes[0].endswith(
        "statistics use the finished trials (repetitions count from 0); re-run the run's command to finish it"
    )
    assert ": 4 of 15 planned trials finished (11 not yet run); " in result.notes[0]
    html = result.html.read_text(encoding="utf-8")
    assert "<b>This run is incomplete.</b> The data are incomplete: 4 of the 15 planned trials had finished" in html
    assert "3 repetitions, option order" in html and "changed with --reps" not in html
    assert result.pdf.read_bytes().startswith(b"%PDF")


def test_replicate_stopped_before_any_trial_says_why_no_report(tmp_path: Path, eitest_home: Path):
    from eitest.workflows.replicate import replicate

    design_file = _design(tmp_path, eitest_home)
    with pytest.raises(AnalysisError) as err:
        replicate(str(design_file), tmp_path / "rep", max_cost=0.0, pdf=False)
    message = str(err.value)
    assert message.startswith(
        "the run stopped (spent $0.0000, reaching --max-cost $0.0000) and no report was written: "
    )
    assert "0 of 15 planned trials finished (none run yet)" in message
    assert not (tmp_path / "rep" / "report.html").exists()
