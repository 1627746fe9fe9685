"""Reports of studies with many models: no crash, a ranked table, a dot plot ordered by score, no per-model prose."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from matplotlib.figure import Figure
from outputs.many_models import ITEMS, build, model_name
from outputs.page_text import page_text

from eitest.outputs.report import render_html, write_report
from eitest.outputs.report.plots import MANY_MODELS, dot_plot, item_plot, model_ranking
from eitest.outputs.report.tables import ranked_table
from eitest.scoring.analysis import analyze


@pytest.fixture(scope="module")
def store50(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("many") / "fifty.db", 50)


@pytest.fixture(scope="module")
def analysis50(store50: Path):
    return analyze(store50, n_boot=200)


def _expected_order(n_models: int) -> list[str]:
    # model m is right on m % (ITEMS + 1) of the ITEMS items of every test; ties ranked by name
    return sorted((model_name(m) for m in range(n_models)), key=lambda name: (-(int(name[-2:]) % (ITEMS + 1)), name))


def test_the_ranked_table_has_one_row_per_model_best_first(analysis50):
    table = ranked_table(analysis50.scores)
    assert table is not None and table.columns[:3] == ["Rank", "Model", "Mean over tests"]
    assert [row[1] for row in table.rows] == _expected_order(50)
    assert [row[0] for row in table.rows] == [str(i) for i in range(1, 51)]
    first, last = table.rows[0], table.rows[-1]
    assert first[2] == "100.0%"  # model-04 answers every item best
    assert last[4:] == ["0.0%", "0.0%"]  # model-00 none (its open-stem options still earn some credit)
    assert table.columns[3:] == ["open-stem", "open-steu", "steu-copy"]


def test_a_few_models_get_no_ranked_table(analysis50):
    few = analysis50.scores[analysis50.scores["model"].isin([model_name(m) for m in range(MANY_MODELS)])]
    assert ranked_table(few) is None


def test_the_dot_plot_has_one_row_per_model_ordered_by_score_and_a_legend_of_tests(analysis50):
    ax = dot_plot(analysis50.scores, ax=Figure().add_subplot())
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert list(reversed(labels)) == _expected_order(50) == model_ranking(analysis50.scores)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["open-stem", "open-steu", "steu-copy"]


def test_the_item_plot_of_many_models_has_no_legend_per_model(analysis50):
    ax = item_plot(analysis50.items, "open-steu", ax=Figure().add_subplot())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["one model (50 models)", "mean over models"]


@pytest.mark.parametrize("n_models", [MANY_MODELS + 4, 50])
def test_the_report_of_many_models_renders_with_a_range_sentence_not_one_per_model(
    n_models: int, store50: Path, analysis50, tmp_path: Path
):
    if n_models == 50:
        db, analysis = store50, analysis50
    else:
        db = build(tmp_path / "twelve.db", n_models)
        analysis = analyze(db, n_boot=200)
    text = page_text(render_html(db, analysis=analysis))
    assert "Models ranked by score" in text
    assert not re.search(r"synthetic/model-\d\d scored", text)  # no sentence per model
    assert (
        f"On open-steu (proportion correct, mean over repetitions), the {n_models} models scored from 0.0% "
        "(synthetic/model-00) to 100.0% (synthetic/model-04), median" in text
    )
    assert "One row per model, ranked by its mean score over tests" in text


def test_the_report_of_fifty_models_writes_html_and_pdf(store50: Path, analysis50, tmp_path: Path):
    # The time this takes is benchmarks/bench_report.py's to measure; here only that it is written whole.
    files = write_report(store50, tmp_path / "r.html", tmp_path / "r.pdf", analysis=analysis50)
    assert files.pdf is not None and files.pdf.read_bytes()[:5] == b"%PDF-"
    assert files.html.read_text(encoding="utf-8").count("synthetic/model-49") >= 2
