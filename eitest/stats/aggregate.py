"""Families of tests (Holm, Benjamini-Hochberg) and the aggregate over tests as in Schlegel et al. (2025)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from eitest.stats.intervals import no_spread
from eitest.stats.validation import _level, _require_columns

PVALUE_METHODS = ("holm", "fdr_bh", "bonferroni")


def _t_interval(values: np.ndarray, ci: float) -> tuple[float, float, float, float]:
    """Mean, SD (ddof=1) and t-based CI of ``values``; SD and CI are NaN for one value, the CI also
    when the values do not vary (a [x, x] interval would claim a certainty nobody has)."""
    k = values.size
    mean = float(values.mean())
    if k < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(values.std(ddof=1))
    if no_spread(values):  # rounding noise is no spread either (expected scores of the logprobs protocol)
        return mean, sd, math.nan, math.nan
    half = stats.t.ppf((1 + ci) / 2, k - 1) * sd / math.sqrt(k)
    return mean, sd, mean - half, mean + half


# --------------------------------------------------------------------------- families of tests


def adjust_pvalues(p: Any, method: str = "holm") -> Any:
    """Adjust a family of p values for multiple testing.

    Holm (1979) step-down: sort ascending, ``p_(i) * (m - i + 1)``, cumulative
    maximum, capped at 1. Benjamini & Hochberg (1995) ``fdr_bh``: ``p_(i) * m /
    i``, cumulative minimum from the top. Computed by
    ``statsmodels.stats.multitest.multipletests``; NaN entries are left out of
    the family and returned as NaN.

    Parameters
    ----------
    p : array-like or Series
        p values in [0, 1]; NaN allowed.
    method : {"holm", "fdr_bh", "bonferroni"}

    Returns
    -------
    ndarray or Series
        Adjusted p values, same shape and order (a Series keeps its index).

    References
    ----------
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    *Scandinavian Journal of Statistics, 6*, 65-70.

    Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate.
    *Journal of the Royal Statistical Society B, 57*, 289-300.
    """
    if method not in PVALUE_METHODS:
        raise ValueError(f"method must be one of {PVALUE_METHODS}, got {method!r}")
    arr = np.asarray(p, dtype=float)
    flat = arr.ravel()
    ok = ~np.isnan(flat)
    if ((flat[ok] < 0) | (flat[ok] > 1)).any():
        raise ValueError("p values must lie in [0, 1]")
    adjusted = np.full(flat.shape, np.nan)
    if ok.any():
        adjusted[ok] = multipletests(flat[ok], method=method)[1]
    out = adjusted.reshape(arr.shape)
    if isinstance(p, pd.Series):
        return pd.Series(out, index=p.index, name=p.name)
    return out


def paper_summary(scores: pd.DataFrame, norms: pd.DataFrame, ci: float = 0.95) -> pd.DataFrame:
    """Per-model mean accuracy across tests, and LLMs vs humans, as in the paper.

    Each test counts once. For a model, its accuracies on the ``k`` tests it
    took give ``mean``, ``sd`` (ddof=1) and the t interval
    ``mean +- t_{(1+ci)/2, k-1} sd / sqrt(k)`` (NaN with one test). For the
    overall comparison the unit is again the test: over the instruments that
    have both scores and a norm, the LLM value of a test is the mean over the
    models that took it, and the human value is the norm mean; each series gets
    its mean and t interval across tests (Schlegel, Sommer & Mortillaro, 2025,
    report 81 % vs 56 % this way).

    Parameters
    ----------
    scores : DataFrame
        Columns ``model``, ``instrument``, ``accuracy`` (the test's score as a
        proportion in [0, 1]: a share correct, or a proportion of the maximum;
        :func:`eitest.scoring.summary.comparison_values` chooses); one row per model
        and instrument.
    norms : DataFrame
        Columns ``instrument``, ``mean`` (the human mean on the same scale as the
        test's scores, in [0, 1]); one row per instrument.
    ci : float
        Confidence level.

    Returns
    -------
    DataFrame
        One row per model, then ``"All LLMs"`` and ``"Humans (norms)"``.
        Columns: ``row`` (``"model"``, ``"llm_mean"`` or ``"human_mean"``),
        ``name``, ``n_tests``, ``mean``, ``sd``, ``ci_low``, ``ci_high``,
        ``instruments`` (comma-separated ids the row averages).

    References
    ----------
    Schlegel, K., Sommer, N. R., & Mortillaro, M. (2025). Large language models
    are proficient in solving and creating emotional intelligence tests.
    *Communications Psychology, 3*, 80.
    """
    _require_columns(scores, ["model", "instrument", "accuracy"], "scores")
    _require_columns(norms, ["instrument", "mean"], "norms")
    ci = _level("ci", ci)
    if len(scores) == 0:
        raise ValueError("scores is empty")
    for frame, col, what in ((scores, "accuracy", "scores"), (norms, "mean", "norms")):
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().any():
            raise ValueError(f"{what}.{col} has missing or non-numeric values")
        if ((values < 0) | (values > 1)).any():
            raise ValueError(f"{what}.{col} must be a proportion in [0, 1] (percentages must be divided by 100)")
    if scores.duplicated(["model", "instrument"]).any():
        raise ValueError("scores has more than one accuracy for some (model, instrument)")
    if norms.duplicated(["instrument"]).any():
        raise ValueError("norms has more than one mean for some instrument")

    rows = []

    def add(kind: str, name: str, values: pd.Series) -> None:
        mean, sd, lo, hi = _t_interval(values.to_numpy(dtype=float), ci)
        rows.append(
            {
                "row": kind,
                "name": name,
                "n_tests": int(values.size),
                "mean": mean,
                "sd": sd,
                "ci_low": lo,
                "ci_high": hi,
                "instruments": ",".join(map(str, values.index)),
            }
        )

    for model, group in scores.groupby("model", sort=True):
        add("model", str(model), group.set_index("instrument")["accuracy"].astype(float).sort_index())

    per_test = scores.groupby("instrument")["accuracy"].mean().astype(float)
    human = norms.set_index("instrument")["mean"].astype(float)
    common = per_test.index.intersection(human.index).sort_values()
    if len(common) > 0:
        add("llm_mean", "All LLMs", per_test.loc[common])
        add("human_mean", "Humans (norms)", human.loc[common])
    return pd.DataFrame(
        rows, columns=["row", "name", "n_tests", "mean", "sd", "ci_low", "ci_high", "instruments"]
    ).reset_index(drop=True)
