"""The test information curve of a test with IRT parameters, with each model's theta marked on it.

Where the curve is low, the test measures little; a model's theta out there (or one
flagged at the ceiling, every item right) is where a ceiling shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from eitest.outputs.report.plots import GREYS, PlotError, _new_axes

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from eitest.instruments import Instrument


def information_plot(irt: pd.DataFrame, instrument: Instrument, *, ax: Axes | None = None) -> Axes:
    """The test information of ``instrument``'s items with parameters over theta in [-4, 4], each model's theta marked.

    ``irt`` is ``Analysis.irt``; a theta at the ceiling (``bound`` "lower"; "upper" at the
    floor) gets an arrow pointing right (left) from it: the ability may lie beyond. Returns
    the Axes drawn on: ``ax``, or that of a new figure.
    """
    from eitest.scoring.irt_ability import item_parameters
    from eitest.stats.irt import information_curve

    params = item_parameters(instrument)
    if params.empty:
        raise PlotError(f"information_plot: no item of {instrument.id} has IRT parameters")
    curve = information_curve(params, np.linspace(-4.0, 4.0, 161))
    if ax is None:
        ax = _new_axes(6.0, 3.0)
    ax.plot(curve["theta"], curve["information"], color="#222222", lw=1.4, label="test information")
    rows = irt[(irt["instrument"] == instrument.id) & irt["theta"].notna()]
    top = float(curve["information"].max())
    for i, r in enumerate(rows.to_dict("records")):
        grey = GREYS[i % len(GREYS)]
        theta = float(np.clip(r["theta"], -4.0, 4.0))
        ax.axvline(theta, color=grey, ls="--", lw=1, label=str(r["model"]))
        if r["bound"] in ("lower", "upper"):
            step = 0.6 if r["bound"] == "lower" else -0.6
            y = top * (0.9 - 0.08 * i)
            ax.annotate("", xy=(theta + step, y), xytext=(theta, y), arrowprops={"arrowstyle": "->", "color": grey})
    ax.set_xlabel("theta (calibration scale)")
    ax.set_ylabel("Test information")
    ax.set_xlim(-4.0, 4.0)
    ax.set_ylim(0, top * 1.05)
    ax.grid(axis="y", color="#dddddd", lw=0.5)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return ax
