"""The information curve figure draws the test information of the items' (synthetic) parameters and marks theta."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import instrument_data

from eitest.instruments import parse_instrument
from eitest.outputs.report.irt_plot import information_plot
from eitest.outputs.report.plots import PlotError
from eitest.stats.irt import information_at


def form(with_irt: bool = True):
    items = [
        {
            "id": f"q{j}",
            "stem": "S.",
            "question": "Which?",
            "options": [{"id": "a", "text": "Joy"}, {"id": "b", "text": "Fear"}],
            "key": "a",
            **({"irt": {"model": "3PL", "a": 1.0 + j / 4, "b": j - 1.5, "c": 0.2, "source": "synthetic"}} if with_irt else {}),
        }
        for j in range(4)
    ]  # fmt: skip
    return parse_instrument(instrument_data("f", items))


def test_curve_is_the_test_information_and_each_theta_is_marked():
    inst = form()
    irt = pd.DataFrame({"model": ["m1", "m2"], "instrument": "f", "theta": [0.3, 1.5], "bound": [None, "lower"]})
    ax = information_plot(irt, inst)
    curve, *marks = ax.get_lines()
    params = pd.DataFrame({"a": [1.0 + j / 4 for j in range(4)], "b": [j - 1.5 for j in range(4)], "c": 0.2, "D": 1.0})
    assert np.allclose(curve.get_ydata(), information_at(curve.get_xdata(), params), rtol=1e-12)
    assert [m.get_xdata()[0] for m in marks] == [0.3, 1.5] and [m.get_label() for m in marks] == ["m1", "m2"]
    assert len(ax.texts) == 1  # the lower bound's arrow


def test_no_parameters_is_a_plot_error():
    with pytest.raises(PlotError, match="no item of f has IRT parameters"):
        information_plot(pd.DataFrame(columns=["model", "instrument", "theta", "bound"]), form(with_irt=False))
