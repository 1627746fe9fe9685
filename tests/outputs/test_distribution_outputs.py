"""The logprobs protocol's columns in the exports and codebook, and the report's "Answer distributions" section."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.outputs.export import export
from eitest.outputs.report import render_html
from eitest.store import Store

NEW = ("option_probs", "coverage", "token_logprobs")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("dist-out") / "lp.db"
    study = Study(
        models=["eitest/oracle", "eitest/chance"],
        instruments=["open-stem"],
        protocol="logprobs",
        option_order="rotated",
    )
    assert run_study(study, path).failed == 0
    return path


def test_csv_export_and_codebook_carry_the_distribution_columns(store, tmp_path):
    out = export(store, tmp_path / "csv", "csv").out
    trials = pd.read_csv(out / "trials.csv", keep_default_na=False, na_values=[""])
    with Store(store) as s:
        stored = s.trials().set_index(["model", "item_id"])
    for row in trials.itertuples():
        kept = stored.loc[(row.model, row.item_id)]
        assert json.loads(row.option_probs) == pytest.approx(kept["option_probs"], abs=1e-15)
        assert json.loads(row.token_logprobs) == kept["token_logprobs"]
        assert row.coverage == pytest.approx(1.0)
    book = json.loads((out / "codebook.json").read_text())
    variables = {v["name"]: v for v in book["tables"]["trials"]["variables"]}
    assert variables["option_probs"]["label"] == "Probability of each option, by option id (logprobs protocol)"
    assert variables["coverage"]["type"] == "number" and "low_coverage" in variables["coverage"]["values"]
    assert "low_coverage" in variables["parse_rule"]["values"]
    md = (out / "codebook.md").read_text()
    assert all(f"`{name}`" in md for name in NEW)


def test_the_report_shows_the_section_only_for_a_logprobs_run(store, tmp_path):
    page = render_html(store)
    section = page[page.index('id="distributions"') : page.index('id="usage"')]
    assert "Answer distributions" in section and "Lin, J. (1991)" in section and "coverage below 50%" in section
    assert "new items like these" in section and "eitest/chance" in section
    plain = tmp_path / "plain.db"
    assert run_study(Study(models=["eitest/oracle"], instruments=["open-stem"]), plain).failed == 0
    assert 'id="distributions"' not in render_html(plain)
