"""Figures of an analysis, for notebooks and the report; each draws on a matplotlib ``Axes``.

As in pandas and seaborn, a plotting function takes ``ax=None`` and returns the
``Axes`` it drew on: given one, it draws there (so a notebook can lay figures out
with ``plt.subplots`` and go on styling them); without one, it opens a new pyplot
figure sized to the data. :func:`report_svg` draws one for the report instead, on a
figure outside pyplot, and :func:`figure_svg` turns any figure into the SVG text the
report embeds.

The figures read in grey-scale print: models differ by marker shape and fill, not
only by colour; the human norm is a dashed line with a hatched +-1 SD band.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from eitest.errors import EitestError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]
GREYS = ["#000000", "#555555", "#888888", "#333333", "#aaaaaa", "#222222", "#666666", "#999999", "#444444", "#777777"]
# The report's figures only; a notebook's figures keep the user's own style.
REPORT_STYLE = {"font.size": 9}
# Text as paths: the SVG needs no font on the reader's machine. A fixed salt for the
# ids and no date: the same analysis gives the same bytes, so reports can be diffed.
SVG_SETTINGS = {"svg.fonttype": "path", "svg.hashsalt": "eitest"}
SCORE_COLUMNS = ("model", "instrument", "norm_mean", "norm_sd", "norm_scale", "score_scale")
# The scores accuracy_plot draws: the columns of the bar drawn around each point, and the axis label.
SCORES = {
    "score": (
        "item_ci_low",
        "item_ci_high",
        "Score: proportion correct, or of maximum\n(95% CI for new items like these)",
    ),
    "compared_score": (
        "single_min",
        "single_max",
        "Score on the norm's scale, first administration\n(bar: range of the single administrations)",
    ),
}
ITEM_COLUMNS = ("model", "instrument", "item_id", "accuracy", "human_p")
MANY_MODELS = 8  # past this many models a legend per model is unreadable: one row per model, ordered by score
NORM_WIDTH = 0.7  # the share of a test's slot that its norm band and its models' points take

# While report_svg draws, new figures are made outside pyplot: writing a report from
# a notebook must neither switch its backend nor leave figures behind for it to show.
_off_pyplot: ContextVar[bool] = ContextVar("eitest_off_pyplot", default=False)


class PlotError(EitestError):
    """The table handed to a plotting function is not the one it draws."""


def _require(df: Any, columns: tuple[str, ...], function: str, table: str) -> None:
    present = getattr(df, "columns", None)
    if present is None:
        raise PlotError(f"{function} draws a DataFrame, got {type(df).__name__}; pass analysis.{table}")
    missing = [c for c in columns if c not in present]
    if missing:
        raise PlotError(
            f"{function} needs the column(s) {', '.join(missing)} of analysis.{table}; "
            f"pass analysis.{table} from eitest.analyze(...)"
        )


def _new_axes(width: float, height: float) -> Axes:
    if _off_pyplot.get():
        from matplotlib.figure import Figure

        return Figure(figsize=(width, height)).add_subplot()
    import matplotlib.pyplot as plt

    return plt.figure(figsize=(width, height)).add_subplot()


def _style(i: int) -> dict[str, str]:
    grey = GREYS[i % len(GREYS)]
    return {"marker": MARKERS[i % len(MARKERS)], "edge": grey, "face": "white" if i % 2 else grey}


def accuracy_plot(scores: pd.DataFrame, *, score: str = "score", ax: Axes | None = None) -> Axes:
    """Each model's score per test with an interval, over the human mean and a +-1 SD band on the same scale.

    ``scores`` is ``Analysis.scores``; ``score`` the column drawn:

    - ``score`` (default): the test's own score (proportion correct; for weighted
      tests proportion of maximum), mean over repetitions, with the 95 % interval
      for new items like these (``item_ci_low``, ``item_ci_high``). A norm is drawn
      only where it is on that scale (``norm_scale`` matches ``score_scale``).
    - ``compared_score``: the first administration on the norm's scale, the score
      placed on the norm, with the range of the single administrations
      (``single_min``, ``single_max``); every norm is on that scale.

    One error bar per model, with a point per test; a bound that is NaN draws no
    bar on that side. Returns the Axes drawn on: ``ax``, or that of a new figure.
    """
    if score not in SCORES:
        raise PlotError(f"accuracy_plot: score={score!r} is not drawn; use one of {', '.join(SCORES)}")
    low, high, label = SCORES[score]
    _require(scores, (*SCORE_COLUMNS, score, low, high), "accuracy_plot", "scores")
    tests = sorted(scores["instrument"].unique())
    models = list(dict.fromkeys(scores["model"]))
    if ax is None:
        ax = _new_axes(max(4.5, 1.6 * len(tests) + 2.5), 3.6)
    _norm_bands(ax, scores, tests, any_scale=score == "compared_score")
    offsets = [(i - (len(models) - 1) / 2) * (NORM_WIDTH / max(len(models), 1)) for i in range(len(models))]
    for mi, model in enumerate(models):
        rows = scores[scores["model"] == model].set_index("instrument")
        xs, ys, lo, hi = [], [], [], []
        for ti, test in enumerate(tests):
            if test in rows.index and rows.loc[test, score] == rows.loc[test, score]:
                r = rows.loc[test]
                xs.append(ti + offsets[mi])
                ys.append(r[score])
                lo.append(_extent(r[score], r[low]))
                hi.append(_extent(r[high], r[score]))
        style = _style(mi)
        ax.errorbar(
            xs, ys, yerr=[lo, hi], fmt=style["marker"], color=style["edge"], mfc=style["face"], ms=6, capsize=3,
            lw=1, label=model, zorder=3,
        )  # fmt: skip
    ax.set_xticks(range(len(tests)), tests)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel(label)
    ax.set_xlim(-0.6, len(tests) - 0.4)
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    _legend_with_norm(ax)
    return ax


def model_ranking(scores: pd.DataFrame, score: str = "score") -> list[str]:
    """The models from the best to the worst mean ``score`` over their tests (ties by name)."""
    means = scores.groupby("model")[score].mean()
    return sorted(means.index, key=lambda m: (-means[m] if means[m] == means[m] else float("inf"), str(m)))


def dot_plot(scores: pd.DataFrame, *, score: str = "score", ax: Axes | None = None) -> Axes:
    """One row per model, ordered by its mean ``score`` over tests (best on top); a marker per test.

    For studies with many models, where :func:`accuracy_plot`'s points per test and
    legend per model stop being readable. ``scores`` and ``score`` are as for
    :func:`accuracy_plot`; the interval drawn around each point is the same. The
    legend names the tests, not the models. Returns the Axes drawn on.
    """
    if score not in SCORES:
        raise PlotError(f"dot_plot: score={score!r} is not drawn; use one of {', '.join(SCORES)}")
    low, high, label = SCORES[score]
    _require(scores, (*SCORE_COLUMNS, score, low, high), "dot_plot", "scores")
    tests = sorted(scores["instrument"].unique())
    models = model_ranking(scores, score)
    if ax is None:
        ax = _new_axes(6.5, max(2.5, 0.22 * len(models) + 1.2))
    row = {m: len(models) - 1 - i for i, m in enumerate(models)}  # the best model on the top row
    spread = 0.6 / max(len(tests), 1)
    for ti, test in enumerate(tests):
        mine = scores[(scores["instrument"] == test) & scores[score].notna()]
        ys = mine["model"].map(row) + (ti - (len(tests) - 1) / 2) * spread
        lo = [_extent(v, b) for v, b in zip(mine[score], mine[low], strict=True)]
        hi = [_extent(b, v) for v, b in zip(mine[score], mine[high], strict=True)]
        style = _style(ti)
        ax.errorbar(
            mine[score], ys, xerr=[lo, hi], fmt=style["marker"], color=style["edge"], mfc=style["face"], ms=4,
            capsize=0, lw=0.6, label=test, zorder=3,
        )  # fmt: skip
    ax.set_yticks(range(len(models)), list(reversed(models)), fontsize=7)
    ax.set_ylim(-0.7, len(models) - 0.3)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel(label)
    ax.grid(axis="x", color="#dddddd", lw=0.5)
    ax.legend(title="Test", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def score_plot(scores: pd.DataFrame, *, score: str = "score", ax: Axes | None = None) -> Axes:
    """:func:`accuracy_plot` for up to :data:`MANY_MODELS` models, :func:`dot_plot` beyond."""
    _require(scores, ("model",), "score_plot", "scores")
    plot = dot_plot if scores["model"].nunique() > MANY_MODELS else accuracy_plot
    return plot(scores, score=score, ax=ax)


def _extent(upper: float, lower: float) -> float:
    """The length of one side of an error bar; 0 (no bar) where a bound is NaN."""
    length = float(upper) - float(lower)
    return 0.0 if length != length else max(length, 0.0)


def norm_on_score_scale(row: Any) -> bool:
    """Whether a scores row's norm is on the scale of its ``score``, so that the two can share an axis."""
    from eitest.outputs.report.formats import same_scale

    return same_scale(row["norm_scale"], row["score_scale"])


def _norm_bands(ax: Axes, scores: pd.DataFrame, tests: list[str], *, any_scale: bool) -> None:
    from matplotlib.patches import Rectangle

    for ti, test in enumerate(tests):
        first = scores[scores["instrument"] == test].iloc[0]
        mean, sd = first["norm_mean"], first["norm_sd"]
        if mean != mean:  # NaN: no human norm on file for this test
            continue
        if not any_scale and not norm_on_score_scale(first):
            continue  # a norm on another scale (e.g. mean credit) would not be comparable with the points
        left = ti - NORM_WIDTH / 2
        if sd == sd:
            ax.add_patch(
                Rectangle(
                    (left, mean - sd), NORM_WIDTH, 2 * sd, facecolor="#e6e6e6", edgecolor="#999999", hatch="///",
                    lw=0.5, zorder=0,
                )
            )  # fmt: skip
        ax.plot([left, left + NORM_WIDTH], [mean, mean], ls="--", color="black", lw=1.2, zorder=1)


def _legend_with_norm(ax: Axes) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], ls="--", color="black"))
    labels.append("human mean (norm on file)")
    handles.append(Rectangle((0, 0), 1, 1, facecolor="#e6e6e6", edgecolor="#999999", hatch="///"))
    labels.append("human +-1 SD")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


def item_plot(items: pd.DataFrame, test: str, *, ax: Axes | None = None) -> Axes:
    """Item-level figure for one test: one set of points per model, one point per item.

    ``items`` is ``Analysis.items``. With human item difficulties (``human_p``) on
    file: each model's item accuracy against them, with the identity line. Without:
    each item's accuracy per model, items sorted by their mean accuracy. Returns the
    Axes drawn on: ``ax``, or that of a new figure.
    """
    _require(items, ITEM_COLUMNS, "item_plot", "items")
    rows = items[items["instrument"] == test]
    if rows.empty:
        on_file = ", ".join(sorted(items["instrument"].unique())) or "none"
        raise PlotError(f"item_plot: no items of test {test!r} in the table; its tests are: {on_file}")
    models = list(dict.fromkeys(rows["model"]))
    if ax is None:
        ax = _new_axes(6.0, 3.2)
    with_human_p = bool(rows["human_p"].notna().any())
    if with_human_p:
        x = rows["human_p"]
    else:
        order = rows.groupby("item_id")["accuracy"].mean().sort_values().index.tolist()
        x = rows["item_id"].map({item: i for i, item in enumerate(order)})
    if len(models) > MANY_MODELS:
        _many_models_items(ax, rows, x, len(models))
    else:
        for mi, model in enumerate(models):
            mine = rows["model"] == model
            style = _style(mi)
            ax.scatter(
                x[mine], rows.loc[mine, "accuracy"], marker=style["marker"], facecolor=style["face"],
                edgecolor=style["edge"], s=22 if with_human_p else 16, label=model,
            )  # fmt: skip
    if with_human_p:
        ax.plot([0, 1], [0, 1], ls=":", color="#777777", lw=1)
        ax.set_xlabel("Human proportion correct (human_p)")
        ax.set_ylabel("Model item accuracy")
        ax.set_xlim(-0.02, 1.02)
    else:
        ax.set_xlabel("Items, sorted by mean accuracy (no human item difficulties on file)")
        ax.set_ylabel("Item accuracy")
        ax.set_xticks([])
    ax.set_ylim(-0.05, 1.05)
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax


def _many_models_items(ax: Axes, rows: pd.DataFrame, x: pd.Series, n_models: int) -> None:
    """Every model's item accuracy as faint points, and the mean over models per item: no legend of 50 names."""
    ax.scatter(x, rows["accuracy"], marker="o", facecolor="none", edgecolor="#999999", s=8, lw=0.5,
               label=f"one model ({n_models} models)")  # fmt: skip
    mean = rows["accuracy"].groupby(x).mean()
    ax.scatter(mean.index, mean.to_numpy(), marker="D", color="black", s=14, label="mean over models", zorder=3)


def figure_svg(fig: Figure) -> str:
    """``fig`` as the SVG text a report embeds: text as paths, fixed ids, no date.

    The same figure gives the same bytes on any machine with the same matplotlib.
    The figure is left open; its owner closes it.
    """
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context(dict(SVG_SETTINGS)):  # type: ignore[arg-type]  # keys are rcParams names
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


@contextmanager
def _report_drawing() -> Iterator[None]:
    import matplotlib

    token = _off_pyplot.set(True)
    try:
        with matplotlib.rc_context(dict(REPORT_STYLE)):  # type: ignore[arg-type]  # keys are rcParams names
            yield
    finally:
        _off_pyplot.reset(token)


def report_svg(plot: Callable[..., Axes], *args: Any, **kwargs: Any) -> str:
    """``plot(*args, **kwargs)`` drawn for the report, as SVG text (see :func:`figure_svg`).

    The figure is sized by ``plot`` as when it is called without ``ax``, drawn in the
    report's style, and never enters pyplot, so nothing is left open.
    """
    with _report_drawing():
        fig = _root_figure(plot(*args, **kwargs))
        if fig is None:
            raise PlotError(f"{getattr(plot, '__name__', 'the plot')} drew on Axes that belong to no figure")
        return figure_svg(fig)


def _root_figure(ax: Axes) -> Figure | None:
    """The top-level figure ``ax`` is drawn in (``get_figure(root=True)`` needs matplotlib 3.10)."""
    fig: Any = ax.figure
    while fig is not None and getattr(fig, "figure", fig) is not fig:  # a SubFigure points to its parent
        fig = fig.figure
    return fig
