"""Report figures: matplotlib (Agg) drawn as SVG, readable in grey-scale print.

Models differ by marker shape and fill, not only by colour; the human norm is a
dashed line with a hatched +-1 SD band. Text is drawn as paths, so the SVG needs
no font on the reader's machine.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

MARKERS = ["o", "s", "^", "D", "v", "P", "X", "<", ">", "h"]
GREYS = ["#000000", "#555555", "#888888", "#333333", "#aaaaaa", "#222222", "#666666", "#999999", "#444444", "#777777"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams.update({"svg.fonttype": "path", "font.size": 9, "svg.hashsalt": "eitest"})
    import matplotlib.pyplot as plt

    return plt


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    _pyplot().close(fig)
    return buf.getvalue()


def accuracy_plot(scores: pd.DataFrame, *, score: str = "accuracy") -> str:
    """Accuracy per model and test with 95 % CIs, over the human mean and a +-1 SD band.

    ``scores`` is ``Analysis.scores``. Returns the figure as SVG text.
    """
    plt = _pyplot()
    tests = sorted(scores["instrument"].unique())
    models = list(dict.fromkeys(scores["model"]))
    fig, ax = plt.subplots(figsize=(max(4.5, 1.6 * len(tests) + 2.5), 3.6))
    width = 0.7
    for ti, test in enumerate(tests):
        rows = scores[scores["instrument"] == test]
        mean, sd = rows["norm_mean"].iloc[0], rows["norm_sd"].iloc[0]
        if mean == mean:  # a human norm mean is on file
            if sd == sd:
                ax.add_patch(
                    plt.Rectangle(
                        (ti - width / 2, mean - sd),
                        width,
                        2 * sd,
                        facecolor="#e6e6e6",
                        edgecolor="#999999",
                        hatch="///",
                        lw=0.5,
                        zorder=0,
                    )
                )
            ax.plot([ti - width / 2, ti + width / 2], [mean, mean], ls="--", color="black", lw=1.2, zorder=1)
    offsets = [(i - (len(models) - 1) / 2) * (width / max(len(models), 1)) for i in range(len(models))]
    for mi, model in enumerate(models):
        rows = scores[scores["model"] == model].set_index("instrument")
        xs, ys, lo, hi = [], [], [], []
        for ti, test in enumerate(tests):
            if test in rows.index:
                r = rows.loc[test]
                xs.append(ti + offsets[mi])
                ys.append(r[score])
                lo.append(r[score] - r["ci_low"])
                hi.append(r["ci_high"] - r[score])
        ax.errorbar(
            xs, ys, yerr=[lo, hi], fmt=MARKERS[mi % len(MARKERS)], color=GREYS[mi % len(GREYS)],
            mfc="white" if mi % 2 else GREYS[mi % len(GREYS)], ms=6, capsize=3, lw=1, label=model, zorder=3,
        )  # fmt: skip
    ax.set_xticks(range(len(tests)), tests)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("Proportion correct (95% CI)")
    ax.set_xlim(-0.6, len(tests) - 0.4)
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(plt.Line2D([], [], ls="--", color="black"))
    labels.append("human mean (norm on file)")
    handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="#e6e6e6", edgecolor="#999999", hatch="///"))
    labels.append("human +-1 SD")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _svg(fig)


def item_plot(items: pd.DataFrame, test: str) -> str:
    """Item-level figure for one test.

    With human item difficulties (``human_p``) on file: each model's item
    accuracy against them, with the identity line. Without: each item's accuracy
    per model, items sorted by their mean accuracy.
    """
    plt = _pyplot()
    rows = items[items["instrument"] == test]
    models = list(dict.fromkeys(rows["model"]))
    fig, ax = plt.subplots(figsize=(6.0, 3.2))
    if rows["human_p"].notna().any():
        for mi, model in enumerate(models):
            r = rows[rows["model"] == model]
            ax.scatter(
                r["human_p"],
                r["accuracy"],
                marker=MARKERS[mi % len(MARKERS)],
                facecolor="white" if mi % 2 else GREYS[mi],
                edgecolor=GREYS[mi],
                s=22,
                label=model,
            )
        ax.plot([0, 1], [0, 1], ls=":", color="#777777", lw=1)
        ax.set_xlabel("Human proportion correct (human_p)")
        ax.set_ylabel("Model item accuracy")
        ax.set_xlim(-0.02, 1.02)
    else:
        order = rows.groupby("item_id")["accuracy"].mean().sort_values().index.tolist()
        pos = {item: i for i, item in enumerate(order)}
        for mi, model in enumerate(models):
            r = rows[rows["model"] == model]
            ax.scatter(
                r["item_id"].map(pos),
                r["accuracy"],
                marker=MARKERS[mi % len(MARKERS)],
                facecolor="white" if mi % 2 else GREYS[mi],
                edgecolor=GREYS[mi],
                s=16,
                label=model,
            )
        ax.set_xlabel("Items, sorted by mean accuracy (no human item difficulties on file)")
        ax.set_ylabel("Item accuracy")
        ax.set_xticks([])
    ax.set_ylim(-0.05, 1.05)
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _svg(fig)
