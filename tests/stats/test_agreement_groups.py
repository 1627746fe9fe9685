"""Agreement of many groups at once equals :func:`eitest.stats.agreement` group by group (statsmodels' kappa)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from eitest.stats import agreement
from eitest.stats.agreement_groups import agreement_by_group


def _groups(seed: int) -> pd.DataFrame:
    """Synthetic choices of 8 groups: varied repetitions, failed calls, missing rows, unanswered, one category."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(8):
        reps = [1, 2, 3, 5, 4, 2, 3, 1][g]
        for item in range(int(rng.integers(3, 9))):
            for rep in range(reps):
                if g == 3 and rng.random() < 0.1:
                    continue  # no row in this repetition
                choice = "a" if g == 5 else rng.choice(["a", "b", "c", None], p=[0.5, 0.2, 0.2, 0.1])
                status = "error" if g in (2, 6) and rng.random() < 0.2 else "answered"
                rows.append({"g": g, "item_id": f"i{item}", "repetition": rep * 2, "choice": choice, "status": status})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_group_agrees_with_the_single_group_function(seed: int):
    frame = _groups(seed)
    got = agreement_by_group(frame.drop(columns="g"), frame["g"].to_numpy())
    assert len(got) == 8
    for g, result in enumerate(got):
        want = agreement(frame[frame["g"] == g].drop(columns="g"))
        assert set(result) == set(want)
        for key, value in want.items():
            if isinstance(value, float):
                assert (math.isnan(value) and math.isnan(result[key])) or result[key] == pytest.approx(value, abs=1e-12)
            else:
                assert result[key] == value, (g, key)
    assert not math.isnan(got[4]["fleiss_kappa"]) and math.isnan(got[5]["fleiss_kappa"])


def test_a_duplicate_row_is_refused():
    frame = pd.DataFrame({"item_id": ["x", "x"], "repetition": [0, 0], "choice": ["a", "b"]})
    with pytest.raises(ValueError, match="more than one row"):
        agreement_by_group(frame, [0, 0])
