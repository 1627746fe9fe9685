"""The export, its codebook and the report under the logprobs protocol: share correct read one way.

``eitest/chance`` gives every shown option the same probability, ``eitest/oracle`` all of it to the keyed one.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import pandas as pd
import pytest
from logprobs_store import N_ITEMS, logprobs_store

from eitest.outputs.export import export
from eitest.outputs.report import render_html
from eitest.outputs.report.distributions import requested_alternatives
from eitest.outputs.report.tables import LOGPROBS_SHARE
from eitest.scoring.analysis import analyze


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return logprobs_store(tmp_path_factory.mktemp("lpout"), seed=5, option_order="rotated")


def test_the_exported_share_correct_is_the_analysis_share_correct(db: Path, tmp_path: Path):
    export(db, tmp_path / "out", "csv")
    trials = pd.read_csv(tmp_path / "out" / "trials.csv")
    accuracy = analyze(db, n_boot=50).scores.set_index("model")["accuracy"]
    by_model = trials.groupby("model")
    assert by_model["p_keyed"].mean().to_dict() == pytest.approx(accuracy.to_dict(), abs=1e-12)
    chance = trials[trials["model"] == "eitest/chance"]
    assert chance["p_keyed"].to_numpy() == pytest.approx([0.2] * len(chance), abs=1e-12)
    # every option tied: the stored choice is a tie-break, so right/wrong is undefined (the old export said 0 or 1)
    assert len(chance) == 2 * N_ITEMS and chance["correct"].isna().all()
    oracle = trials[trials["model"] == "eitest/oracle"]
    assert (oracle["correct"] == 1).all() and (oracle["p_keyed"] == 1).all()
    scores = pd.read_csv(tmp_path / "out" / "scores.csv")
    per_rep = chance.groupby("repetition")["p_keyed"].mean()
    mine = scores[scores["model"] == "eitest/chance"].set_index("repetition")["steu_lp"]
    assert mine.to_dict() == pytest.approx(per_rep.to_dict(), abs=1e-12)


def test_the_codebook_says_which_variable_holds_the_share_correct(db: Path, tmp_path: Path):
    export(db, tmp_path / "out", "csv")
    tables = json.loads((tmp_path / "out" / "codebook.json").read_text(encoding="utf-8"))["tables"]
    book = {v["name"]: v for v in tables["trials"]["variables"]}
    assert book["p_keyed"]["type"] == "number" and "logprobs protocol: the probability" in book["p_keyed"]["values"]
    assert "mean of p_keyed, not of correct" in book["correct"]["values"]
    assert "tie as most probable" in book["correct"]["missing"]


def test_the_report_defines_share_correct_under_logprobs_and_says_how_many_alternatives_were_asked(db: Path):
    page = html.unescape(render_html(db, analysis=analyze(db, n_boot=50)))
    assert LOGPROBS_SHARE in page  # the score table's definition
    assert "the mean probability the model's answer distribution gave the keyed option)" in page  # methods
    assert "alternatives (5 asked for)" in page and "up to 20" not in page
    assert "[20.0%, 20.0%]" not in page and "[20.0 %, 20.0 %]" not in page


def test_the_alternatives_asked_for_are_given_per_model():
    assert requested_alternatives(["eitest/chance"]) == "5 asked for"
    both = requested_alternatives(["ollama/llama3.1", "openai/gpt-4o", "deepseek/deepseek-chat"])
    assert both == "20 asked of deepseek/deepseek-chat, openai/gpt-4o; 5 asked of ollama/llama3.1"
