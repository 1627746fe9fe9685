from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_cli

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.errors import EitestError
from eitest.outputs.codebook import TRIAL_VARIABLES
from eitest.outputs.export import ExportError, export
from eitest.outputs.spss import SAV_MAX_STRING_BYTES, spss_names

TRIAL_COLUMNS = [v.name for v in TRIAL_VARIABLES]
LONG_REPLY = "é" * 20000  # 40,000 UTF-8 bytes: past SPSS's widest string


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("export") / "study.db"
    study = Study(
        models=["eitest/oracle", "eitest/chance"],
        instruments=["open-steu", "open-stem"],
        reps=2,
        option_order="shuffled",
        seed=3,
    )
    assert run_study(study, path).failed == 0
    return path


@pytest.fixture(scope="module")
def edited_db(db: Path, tmp_path_factory) -> Path:
    """The study with one chance trial made unanswered and one oracle reply made very long."""
    path = tmp_path_factory.mktemp("export-edited") / "edited.db"
    shutil.copy(db, path)
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE trials SET status = 'unparseable', parse_rule = 'no_answer', chosen_position = NULL, chosen_option = NULL, score = NULL "
            "WHERE model = 'eitest/chance' AND instrument = 'open-steu' AND item_id = 'steu-001' AND repetition = 0"
        )
        conn.execute(
            "UPDATE trials SET raw_reply = ? WHERE model = 'eitest/oracle' AND instrument = 'open-stem' AND repetition = 1 "
            "AND id = (SELECT MIN(id) FROM trials WHERE model = 'eitest/oracle' AND instrument = 'open-stem' AND repetition = 1)",
            (LONG_REPLY,),
        )
    return path


@pytest.fixture(scope="module")
def exports(db: Path, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("exports")
    return {fmt: export(db, root / fmt, fmt).out for fmt in ("csv", "parquet", "sav", "hf")}


def stored_trials(db: Path) -> pd.DataFrame:
    with sqlite3.connect(db) as conn:
        return pd.read_sql_query("SELECT * FROM trials ORDER BY id", conn)


def check_scores(scores: pd.DataFrame) -> None:
    assert list(scores.columns) == ["run_id", "model", "repetition", "open_stem", "open_stem_weighted", "open_steu"]
    assert len(scores) == 4  # 2 models x 2 repetitions
    oracle = scores[scores["model"] == "eitest/oracle"]
    assert len(oracle) == 2
    for col in ("open_stem", "open_steu"):
        assert (oracle[col] == 1.0).all()
    chance = scores[scores["model"] == "eitest/chance"]
    assert (chance["open_steu"] < 1.0).all() and (chance["open_stem"] < 1.0).all()
    # The oracle picks the top-weighted option: its weighted score is the mean top weight, below 1.
    assert 0 < oracle["open_stem_weighted"].iloc[0] < 1


def check_trials(trials: pd.DataFrame, db: Path) -> None:
    stored = stored_trials(db)
    assert list(trials.columns) == TRIAL_COLUMNS and len(trials) == len(stored)
    assert "prompt" not in trials.columns
    first = stored.iloc[0]
    row = trials.iloc[0]
    assert row["shown_order"] == ",".join(json.loads(first["shown_order"]))
    assert row["prompt_text"] == json.loads(first["prompt"])[0]["content"]
    assert row["item_id"] == first["item_id"] and int(row["keyed_position"]) == first["keyed_position"]
    oracle = trials[trials["model"] == "eitest/oracle"]
    assert (oracle["correct"] == 1).all()
    steu = trials[trials["instrument"] == "open-steu"]
    assert set(steu["credit"]) <= {0.0, 1.0} and (steu["credit"] == steu["correct"]).all()


def test_csv(exports, db):
    trials = pd.read_csv(exports["csv"] / "trials.csv", keep_default_na=False, na_values=[""])
    check_trials(trials, db)
    check_scores(pd.read_csv(exports["csv"] / "scores.csv"))


def test_parquet(exports, db):
    trials = pd.read_parquet(exports["parquet"] / "trials.parquet")
    check_trials(trials, db)
    assert str(trials["correct"].dtype) == "Int64" and str(trials["repetition"].dtype) == "Int64"
    check_scores(pd.read_parquet(exports["parquet"] / "scores.parquet"))


def test_sav(exports, db):
    pyreadstat = pytest.importorskip("pyreadstat")
    trials, meta = pyreadstat.read_sav(exports["sav"] / "trials.sav", apply_value_formats=True)
    assert meta.column_names == TRIAL_COLUMNS
    labels = meta.column_names_to_labels
    assert all(labels[c] for c in TRIAL_COLUMNS) and labels["status"] == "Outcome of the trial"
    assert meta.variable_value_labels["status"] == {
        1: "answered",
        2: "unparseable",
        3: "refused",
        4: "empty",
        5: "error",
    }
    assert meta.variable_value_labels["correct"] == {0: "another option", 1: "keyed / top-weighted option"}
    assert meta.variable_value_labels["option_order"][2] == "shuffled"
    # Codes read back as their labels: the same values as the CSV export.
    csv = pd.read_csv(exports["csv"] / "trials.csv")
    for col in ("status", "option_order", "protocol", "model", "item_id", "shown_order", "prompt_text"):
        assert list(trials[col].astype(str)) == list(csv[col].astype(str)), col
    assert (trials["correct"].astype(str) == "keyed / top-weighted option")[trials["model"] == "eitest/oracle"].all()
    raw, _ = pyreadstat.read_sav(exports["sav"] / "trials.sav")
    assert (raw["status"] == 1).all() and list(raw["credit"]) == pytest.approx(list(csv["credit"]))
    assert list(raw["keyed_position"]) == list(csv["keyed_position"])

    scores, smeta = pyreadstat.read_sav(exports["sav"] / "scores.sav")
    check_scores(scores)
    assert smeta.column_names_to_labels["open_steu"] == "open-steu: share correct"
    assert smeta.column_names_to_labels["open_stem_weighted"] == "open-stem: weighted score"


def test_hf(exports, db):
    datasets = pytest.importorskip("datasets")
    dd = datasets.load_from_disk(str(exports["hf"]))
    assert set(dd) == {"trials", "scores"}
    assert dd["trials"].num_rows == len(stored_trials(db))
    assert dd["trials"].column_names == TRIAL_COLUMNS
    assert dd["trials"].features["error"].dtype == "string"  # typed, though no trial has an error
    assert dd["scores"].num_rows == 4
    check_scores(dd["scores"].to_pandas())


@pytest.mark.parametrize("fmt", ["csv", "parquet", "sav", "hf"])
def test_codebook_lists_every_column(exports, fmt):
    book = json.loads((exports[fmt] / "codebook.json").read_text())
    md = (exports[fmt] / "codebook.md").read_text()
    trials_cols = [v["name"] for v in book["tables"]["trials"]["variables"]]
    scores_cols = [v["name"] for v in book["tables"]["scores"]["variables"]]
    assert trials_cols == TRIAL_COLUMNS
    assert scores_cols == ["run_id", "model", "repetition", "open_stem", "open_stem_weighted", "open_steu"]
    for v in [*book["tables"]["trials"]["variables"], *book["tables"]["scores"]["variables"]]:
        assert (
            v["label"] and v["type"] in ("string", "integer", "number", "integer code") and v["values"] and v["missing"]
        )
        assert f"`{v['name']}`" in md
    assert book["instrument_columns"] == [
        {"instrument": "open-stem", "accuracy": "open_stem", "weighted": "open_stem_weighted"},
        {"instrument": "open-steu", "accuracy": "open_steu", "weighted": None},
    ]
    assert "| open-steu | `open_steu` |" in md
    status = next(v for v in book["tables"]["trials"]["variables"] if v["name"] == "status")
    if fmt == "sav":
        assert status["type"] == "integer code" and status["value_labels"]["1"] == "answered"
        assert "32,767 bytes" in md
    else:
        assert status["type"] == "string" and "unparseable" in status["values"]


def test_unanswered_and_long_strings(edited_db, tmp_path):
    pyreadstat = pytest.importorskip("pyreadstat")
    export(edited_db, tmp_path / "csv", "csv")
    result = export(edited_db, tmp_path / "sav", "sav")
    trials = pd.read_csv(tmp_path / "csv" / "trials.csv", keep_default_na=False, na_values=[""])
    blank = trials[trials["status"] == "unparseable"]
    assert len(blank) == 1 and pd.isna(blank["correct"].iloc[0]) and pd.isna(blank["credit"].iloc[0])
    assert (trials["raw_reply"] == LONG_REPLY).sum() == 1  # CSV keeps the full text

    scores = pd.read_csv(tmp_path / "csv" / "scores.csv")
    chance0 = scores[(scores["model"] == "eitest/chance") & (scores["repetition"] == 0)].iloc[0]
    steu = trials[
        (trials["model"] == "eitest/chance") & (trials["instrument"] == "open-steu") & (trials["repetition"] == 0)
    ]
    assert chance0["open_steu"] == pytest.approx(
        steu["correct"].fillna(0).sum() / len(steu)
    )  # unanswered counts as wrong

    sav, _ = pyreadstat.read_sav(tmp_path / "sav" / "trials.sav")
    cut = sav.loc[sav["raw_reply"].str.startswith("éé"), "raw_reply"]
    assert (
        len(cut) == 1
        and len(cut.iloc[0].encode("utf-8")) <= SAV_MAX_STRING_BYTES
        and LONG_REPLY.startswith(cut.iloc[0])
    )
    assert len(cut.iloc[0]) == SAV_MAX_STRING_BYTES // 2
    assert pd.isna(sav.loc[sav["status"] == 2, "correct"]).all()
    assert any("1 value(s) of raw_reply" in n for n in result.notes)
    assert "1 value(s) of raw_reply" in (tmp_path / "sav" / "codebook.md").read_text()


def test_one_run_of_several(db, tmp_path):
    path = tmp_path / "two-runs.db"
    shutil.copy(db, path)
    second = run_study(Study(models=["eitest/first"], instruments=["open-steu"], reps=1), path)
    everything = export(path, tmp_path / "all", "parquet")
    scores = pd.read_parquet(tmp_path / "all" / "scores.parquet")
    assert everything.n_scores == 5 and scores["run_id"].nunique() == 2
    first = scores[scores["model"] == "eitest/first"].iloc[0]
    assert pd.isna(first["open_stem"]) and pd.isna(first["open_stem_weighted"])  # not taken in that run
    only = export(path, tmp_path / "one", "csv", run=second.run_id[:6])
    trials = pd.read_csv(tmp_path / "one" / "trials.csv")
    assert (
        only.n_trials == len(trials)
        and set(trials["run_id"]) == {second.run_id}
        and set(trials["model"]) == {"eitest/first"}
    )
    assert list(pd.read_csv(tmp_path / "one" / "scores.csv").columns) == ["run_id", "model", "repetition", "open_steu"]


def test_spss_names():
    cols = spss_names(["open-steu", "open_steu", "2x", "with", "a" * 80, "model", "é-test"], weighted={"a" * 80})
    names = [c.accuracy for c in cols]
    assert names[:4] == ["open_steu", "open_steu_2", "i_2x", "i_with"]
    assert names[5] == "model_2" and names[6][0].isalpha()
    for c in cols:
        for name in (c.accuracy, c.weighted):
            if name:
                assert len(name) <= 64 and name[0].isalpha() and name.replace("_", "").isalnum() and name.isascii()
    assert cols[4].weighted == cols[4].accuracy + "_weighted"


def test_errors(db, tmp_path, monkeypatch):
    with pytest.raises(ExportError, match="unknown export format"):
        export(db, tmp_path / "x", "xlsx")
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match="is a file"):
        export(db, tmp_path / "file", "csv")
    monkeypatch.setitem(sys.modules, "pyreadstat", None)  # as if not installed
    with pytest.raises(EitestError, match=r"pip install pyreadstat \(or pip install eitest\[spss\]\)"):
        export(db, tmp_path / "sav", "sav")


def test_cli(db, tmp_path):
    res = run_cli("export", "--db", str(db), "--format", "csv", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [
        str(tmp_path / "out" / f) for f in ("trials.csv", "scores.csv", "codebook.md", "codebook.json")
    ]
    check_scores(pd.read_csv(tmp_path / "out" / "scores.csv"))


def test_cli_bad_db(tmp_path):
    res = run_cli("export", "--db", str(tmp_path / "missing.db"), "--format", "csv", "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and "no database" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "out").exists()
    res = run_cli("export", "--db", str(tmp_path / "missing.db"), "--format", "xlsx", "--out", str(tmp_path / "out"))
    assert res.returncode == 2 and "xlsx" in res.stderr
