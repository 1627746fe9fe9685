"""Figures draw on the Axes they are given and return it; the report's SVG stays deterministic."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from matplotlib.collections import PathCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.errors import EitestError
from eitest.outputs.report.plots import PlotError, accuracy_plot, figure_svg, item_plot, report_svg
from eitest.scoring.analysis import Analysis, analyze

matplotlib.use("Agg")  # no display here; the ax=None path goes through pyplot

import matplotlib.pyplot as plt  # noqa: E402

MODELS = ["eitest/oracle", "eitest/first", "eitest/chance"]
TESTS = ["open-stem", "open-steu"]


@pytest.fixture(scope="module")
def analysis(tmp_path_factory) -> Analysis:
    db = tmp_path_factory.mktemp("plots") / "p.db"
    run_study(Study(models=MODELS, instruments=TESTS, reps=2, option_order="shuffled", seed=7), db)
    return analyze(db, n_boot=200)


def _hand_scores(norm_mean: float, norm_sd: float, norm_scale: str = "proportion_correct") -> pd.DataFrame:
    # Two models on two tests; only test "a" has a human norm on file.
    rows = []
    for model, score in (("m1", 0.8), ("m2", 0.4)):
        for test, mean, sd in (("a", norm_mean, norm_sd), ("b", math.nan, math.nan)):
            rows.append(
                {"model": model, "instrument": test, "score": score, "score_scale": "proportion correct"}
                | {"item_ci_low": score - 0.1, "item_ci_high": score + 0.05}
                | {"compared_score": score / 2 if test == "a" else math.nan}
                | {"single_min": score / 2 - 0.2, "single_max": score / 2 + 0.1}
                | {"norm_mean": mean, "norm_sd": sd, "norm_scale": norm_scale if test == "a" else None}
            )
    return pd.DataFrame(rows)


def _errorbars(ax) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def test_accuracy_plot_draws_one_error_bar_per_model_on_the_given_axes(analysis: Analysis):
    ax = Figure().add_subplot()
    assert accuracy_plot(analysis.scores, ax=ax) is ax
    models = list(dict.fromkeys(analysis.scores["model"]))  # the table's order
    assert sorted(models) == sorted(MODELS)
    bars = _errorbars(ax)
    assert [b.get_label() for b in bars] == models
    for bar, model in zip(bars, models, strict=True):
        xs, ys = bar.lines[0].get_data()
        mine = analysis.scores[analysis.scores["model"] == model].set_index("instrument")
        assert list(ys) == [mine.loc[t, "score"] for t in TESTS]  # one point per test
        assert len(xs) == len(TESTS)
    oracle_ys = bars[models.index("eitest/oracle")].lines[0].get_ydata()
    assert list(oracle_ys) == [1.0, 1.0]  # 100 % of maximum on the weighted open-stem, 100 % correct on open-steu
    assert ax.get_ylabel().startswith("Score: proportion correct, or of maximum")
    assert "new items like these" in ax.get_ylabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == TESTS
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [*models, "human mean (norm on file)", "human +-1 SD"]


def test_accuracy_plot_draws_the_norm_only_where_one_is_on_file():
    ax = Figure().add_subplot()
    accuracy_plot(_hand_scores(0.56, 0.1), ax=ax)
    bands = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bands) == 1  # test "a" only
    (band,) = bands
    assert band.get_xy() == pytest.approx((-0.35, 0.46))
    assert (band.get_width(), band.get_height()) == pytest.approx((0.7, 0.2))
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and list(dashed[0].get_ydata()) == [0.56, 0.56]
    # models side by side within a test's slot, the first left of the second
    (x1, x2) = (b.lines[0].get_xdata()[0] for b in _errorbars(ax))
    assert x1 == pytest.approx(-0.175) and x2 == pytest.approx(0.175)
    lower, upper = _errorbars(ax)[0].lines[2][0].get_segments()[0][:, 1]
    assert (lower, upper) == pytest.approx((0.7, 0.85))  # the CI, not a symmetric error


def test_accuracy_plot_draws_the_norm_only_on_the_score_scale():
    # A norm on the mean-credit scale cannot share an axis with a proportion: no band, no dashed line.
    ax = accuracy_plot(_hand_scores(0.56, 0.1, norm_scale="mean_credit"), ax=Figure().add_subplot())
    assert [p for p in ax.patches if isinstance(p, Rectangle)] == []
    assert [line for line in ax.lines if line.get_linestyle() == "--"] == []
    # A weighted test's proportion of maximum and a proportion_of_max norm are the same scale.
    scores = _hand_scores(0.56, 0.1, norm_scale="proportion_of_max").assign(score_scale="proportion of maximum")
    ax = accuracy_plot(scores, ax=Figure().add_subplot())
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == 1


def test_accuracy_plot_draws_the_compared_score_with_the_range_of_single_administrations():
    ax = accuracy_plot(
        _hand_scores(0.56, 0.1, norm_scale="mean_credit"), score="compared_score", ax=Figure().add_subplot()
    )
    bar = _errorbars(ax)[0]
    assert list(bar.lines[0].get_ydata()) == [0.4]  # only test "a" has a norm, so only it has a compared score
    lower, upper = bar.lines[2][0].get_segments()[0][:, 1]
    assert (lower, upper) == pytest.approx((0.2, 0.5))  # single_min, single_max
    assert ax.get_ylabel().startswith("Score on the norm's scale, first administration")
    # every norm is on the compared score's scale, so the band is drawn
    assert len([p for p in ax.patches if isinstance(p, Rectangle)]) == 1
    with pytest.raises(PlotError, match="use one of score, compared_score"):
        accuracy_plot(_hand_scores(0.56, 0.1), score="accuracy")


def test_accuracy_plot_draws_no_bar_on_a_side_whose_bound_is_missing():
    scores = _hand_scores(0.56, 0.1).assign(item_ci_low=math.nan, item_ci_high=math.nan)
    bar = _errorbars(accuracy_plot(scores, ax=Figure().add_subplot()))[0]
    lower, upper = bar.lines[2][0].get_segments()[0][:, 1]
    assert lower == upper == pytest.approx(0.8)  # a zero-length bar at the point, not a made-up interval


def test_item_plot_draws_one_point_per_item_and_model(analysis: Analysis):
    ax = Figure().add_subplot()
    assert item_plot(analysis.items, "open-steu", ax=ax) is ax
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    models = list(dict.fromkeys(analysis.items.query("instrument == 'open-steu'")["model"]))
    assert sorted(models) == sorted(MODELS) and [p.get_label() for p in points] == models
    n_items = analysis.items.query("instrument == 'open-steu'")["item_id"].nunique()
    assert n_items >= 40
    for p, model in zip(points, models, strict=True):
        ys = sorted(p.get_offsets()[:, 1])
        mine = analysis.items[(analysis.items["instrument"] == "open-steu") & (analysis.items["model"] == model)]
        assert len(ys) == n_items and ys == sorted(mine["accuracy"])
    oracle = points[models.index("eitest/oracle")].get_offsets()
    assert set(oracle[:, 1]) == {1.0}  # the oracle is right on every item
    # no human_p on the open items: x is the item's rank by mean accuracy
    assert sorted(oracle[:, 0]) == list(range(n_items))


def test_item_plot_against_human_difficulty_when_on_file():
    items = pd.DataFrame(
        {
            "model": ["m1", "m1", "m1", "m2", "m2", "m2"],
            "instrument": ["a"] * 6,
            "item_id": ["i1", "i2", "i3"] * 2,
            "accuracy": [1.0, 0.5, 0.0, 0.5, 0.5, 1.0],
            "human_p": [0.9, 0.6, 0.3] * 2,
        }
    )
    ax = item_plot(items, "a", ax=Figure().add_subplot())
    first = next(c for c in ax.collections if isinstance(c, PathCollection))
    assert first.get_offsets().tolist() == [[0.9, 1.0], [0.6, 0.5], [0.3, 0.0]]
    assert [list(line.get_xdata()) for line in ax.lines] == [[0, 1]]  # the identity line
    assert ax.get_xlabel() == "Human proportion correct (human_p)"


def test_without_ax_a_new_pyplot_figure_sized_to_the_tests(analysis: Analysis):
    before = set(plt.get_fignums())
    ax = accuracy_plot(analysis.scores)
    try:
        assert set(plt.get_fignums()) - before == {ax.figure.number}
        assert tuple(ax.figure.get_size_inches()) == pytest.approx((1.6 * len(TESTS) + 2.5, 3.6))
        assert len(_errorbars(ax)) == len(MODELS)
    finally:
        plt.close(ax.figure)


def test_figure_svg_draws_text_as_paths_and_is_deterministic(analysis: Analysis):
    ax = item_plot(analysis.items, "open-stem", ax=Figure().add_subplot())
    # The user's settings would give real text and random ids; the report's SVG must not.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": None}):
        first, second = figure_svg(ax.figure), figure_svg(ax.figure)
    assert first.startswith("<?xml") and "<svg" in first
    assert "<text" not in first and "<path" in first
    assert "<dc:date>" not in first
    assert first == second
    assert matplotlib.rcParams["svg.fonttype"] == "path"  # the setting did not leak out


def test_report_svg_leaves_pyplot_and_the_user_style_alone(analysis: Analysis):
    before = plt.get_fignums()
    with matplotlib.rc_context({"font.size": 15}):
        svg = report_svg(accuracy_plot, analysis.scores)
        assert matplotlib.rcParams["font.size"] == 15
        again = report_svg(accuracy_plot, analysis.scores)
    assert plt.get_fignums() == before
    assert svg == again and "<text" not in svg
    # drawn at the report's font size, whatever the user's is
    with matplotlib.rc_context({"font.size": 9}):
        assert svg == figure_svg(accuracy_plot(analysis.scores, ax=Figure(figsize=(5.7, 3.6)).add_subplot()).figure)


def test_plots_name_the_table_they_need(analysis: Analysis):
    with pytest.raises(PlotError, match=r"pass analysis\.scores"):
        accuracy_plot(analysis, ax=Figure().add_subplot())  # type: ignore[arg-type]
    with pytest.raises(
        PlotError,
        match=r"norm_mean, norm_sd, norm_scale, score_scale, score, item_ci_low, item_ci_high of analysis\.scores",
    ):
        accuracy_plot(analysis.items, ax=Figure().add_subplot())
    with pytest.raises(PlotError, match=r"no items of test 'steu'.*open-stem, open-steu"):
        item_plot(analysis.items, "steu")
    assert issubclass(PlotError, EitestError)


def test_report_embeds_its_figures_with_text_as_paths(tmp_path: Path):
    import base64
    import re

    from eitest.outputs.report import render_html

    db = tmp_path / "r.db"
    run_study(Study(models=MODELS[:1], instruments=["open-steu"], reps=1), db)
    html = render_html(db)
    uris = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    svgs = [base64.b64decode(u).decode("utf-8") for u in uris]
    assert len(svgs) == 2 and all("<text" not in s and "<path" in s for s in svgs)
