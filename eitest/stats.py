"""Statistics for comparing language models with human norms.

Pure functions in the pingouin manner: tidy inputs (pandas DataFrames in long
format or plain numbers), small dict or DataFrame results whose keys and columns
are documented, full precision throughout. Rounding belongs to :mod:`eitest.apa`.

A model's repetitions are repeated measures of one respondent, not a sample of
respondents: a model is compared with a norm sample as a *single case*
(:func:`single_case`), never by a two-sample t-test with n = repetitions.

scipy and statsmodels do the arithmetic wherever they have it; what is written
here is only what they lack (the Crawford-Howell test, the Crawford-Garthwaite
interval, the two-way bootstrap). Checks of the measurement itself (agreement
across repetitions, position bias, item-level correlation) are in :mod:`eitest.trust`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

__all__ = [
    "adjust_pvalues",
    "binomial_ci",
    "bootstrap_accuracy",
    "noncentral_t_ci",
    "paper_summary",
    "single_case",
]

PVALUE_METHODS = ("holm", "fdr_bh", "bonferroni")


# --------------------------------------------------------------------------- helpers


def _finite(name: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return x


def _level(name: str, value: float) -> float:
    x = _finite(name, value)
    if not 0 < x < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1, got {value!r}")
    return x


def _require_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; it needs {list(columns)}")


def _t_interval(values: np.ndarray, ci: float) -> tuple[float, float, float, float]:
    """Mean, SD (ddof=1) and t-based CI of ``values``; SD and CI are NaN for one value."""
    k = values.size
    mean = float(values.mean())
    if k < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(values.std(ddof=1))
    half = stats.t.ppf((1 + ci) / 2, k - 1) * sd / math.sqrt(k)
    return mean, sd, mean - half, mean + half


def _nct_cdf(t: float, df: float, delta: float) -> float:
    """``P(T_df(delta) <= t)``, robust in the far tails where scipy's ``nct.cdf`` returns NaN.

    Uses the reflection ``P(T(delta) <= t) = P(T(-delta) >= -t)`` and, when both
    forms underflow, the limit (0 far below the centre, 1 far above).
    """
    value = float(stats.nct.cdf(t, df, delta))
    if math.isfinite(value):
        return value
    value = float(stats.nct.sf(-t, df, -delta))
    if math.isfinite(value):
        return value
    return 0.0 if t < delta else 1.0


def noncentral_t_ci(t_obs: float, df: float, ci: float = 0.95) -> tuple[float, float]:
    """Confidence interval for the noncentrality parameter of a t statistic.

    Finds ``delta_low`` and ``delta_high`` with

        P(T_df(delta_low) <= t_obs) = (1 + ci) / 2,
        P(T_df(delta_high) <= t_obs) = (1 - ci) / 2,

    where ``T_df(delta)`` is noncentral t (scipy ``nct``). The cdf falls as delta
    rises, so ``delta_low < delta_high``. Dividing by sqrt(n) turns the interval
    into one for a standardized effect (Cumming & Finch, 2001).

    Parameters
    ----------
    t_obs : float
        Observed t statistic.
    df : float
        Degrees of freedom (> 0).
    ci : float
        Confidence level, in (0, 1).

    Returns
    -------
    tuple of float
        ``(delta_low, delta_high)``.

    References
    ----------
    Cumming, G., & Finch, S. (2001). A primer on the understanding, use, and
    calculation of confidence intervals that are based on central and noncentral
    distributions. *Educational and Psychological Measurement, 61*, 532-574.
    """
    t_obs = _finite("t_obs", t_obs)
    df = _finite("df", df)
    if df <= 0:
        raise ValueError(f"df must be > 0, got {df}")
    ci = _level("ci", ci)

    def solve(q: float) -> float:
        def f(delta: float) -> float:
            return _nct_cdf(t_obs, df, delta) - q

        step = 2.0 + abs(t_obs)
        lo, hi = t_obs - step, t_obs + step
        while f(lo) < 0:
            lo -= step
            step *= 2
        step = 2.0 + abs(t_obs)
        while f(hi) > 0:
            hi += step
            step *= 2
        return float(optimize.brentq(f, lo, hi, xtol=1e-12, rtol=1e-14, maxiter=500))

    return solve((1 + ci) / 2), solve((1 - ci) / 2)


# --------------------------------------------------------------------------- single case


def single_case(score: float, mean: float, sd: float, n: int, alpha: float = 0.05) -> dict[str, float]:
    """Compare one respondent (a model) with a normative sample.

    Crawford & Howell's (1998) modified t-test treats the norm mean and SD as
    estimates from a sample of ``n``:

        t = (x - m) / (s * sqrt((n + 1) / n)),  df = n - 1.

    The standard score is ``z = (x - m) / s`` and the T score ``50 + 10 z``.
    Following Crawford & Garthwaite (2002), the point estimate of the percentage
    of the population scoring below the case is ``100 * P(T_{n-1} < t)`` (not
    ``100 * Phi(z)``), and its interval comes from the noncentral t: with
    ``c = (x - m) / s``, ``c * sqrt(n)`` is noncentral t on ``n - 1`` df with
    noncentrality ``delta = z_true * sqrt(n)``; ``delta_L`` and ``delta_U``
    solve ``P(T_{n-1}(delta) <= c sqrt(n)) = 1 - alpha/2`` and ``alpha/2``, and
    the interval is ``100 * Phi(delta / sqrt(n))``. The effect size
    ``z_CC = (x - m) / s`` (Cohen's d against the norm SD) has the interval
    ``delta / sqrt(n)`` (Crawford, Garthwaite & Porter, 2010). Hedges' g is
    ``z_CC * J`` with the small-sample factor ``J = 1 - 3 / (4 (n - 1) - 1)`` on
    the norm SD's df, and its interval is the z_CC interval times J.

    Parameters
    ----------
    score : float
        The case's score (x), on the norm's scale.
    mean, sd : float
        Mean (m) and standard deviation (s, > 0) of the normative sample.
    n : int
        Size of the normative sample (>= 2).
    alpha : float
        1 - confidence level of the intervals (default 0.05 -> 95 %).

    Returns
    -------
    dict
        ``t``, ``df``: modified t and its degrees of freedom;
        ``p_two_sided``; ``p_one_sided`` (in the direction of the observed
        difference, = ``p_two_sided / 2``);
        ``z`` (standard score) and ``T_score``;
        ``percentile``, ``percentile_ci_low``, ``percentile_ci_high``: estimated
        percentage of the population below the case, with its interval;
        ``z_cc``, ``z_cc_ci_low``, ``z_cc_ci_high``;
        ``hedges_g``, ``hedges_g_ci_low``, ``hedges_g_ci_high``;
        ``n``; ``ci_level`` (= 1 - alpha).

    References
    ----------
    Crawford, J. R., & Howell, D. C. (1998). Comparing an individual's test score
    against norms derived from small samples. *The Clinical Neuropsychologist,
    12*, 482-486.

    Crawford, J. R., & Garthwaite, P. H. (2002). Investigation of the single case
    in neuropsychology: Confidence limits on the abnormality of test scores and
    test score differences. *Neuropsychologia, 40*, 1196-1208.

    Crawford, J. R., Garthwaite, P. H., & Porter, S. (2010). Point and interval
    estimates of effect sizes for the case-controls design in neuropsychology.
    *Cortex, 46*, 1166-1178.

    Hedges, L. V. (1981). Distribution theory for Glass's estimator of effect
    size and related estimators. *Journal of Educational Statistics, 6*, 107-128.
    """
    x = _finite("score", score)
    m = _finite("mean", mean)
    s = _finite("sd", sd)
    if s <= 0:
        raise ValueError(f"sd must be > 0, got {sd!r}")
    n_f = _finite("n", n)
    if n_f < 2 or n_f != int(n_f):
        raise ValueError(f"n must be a whole number >= 2 (the norm sample size), got {n!r}")
    n = int(n_f)
    alpha = _level("alpha", alpha)

    df = n - 1
    c = (x - m) / s
    t = c / math.sqrt((n + 1) / n)
    p_two = float(2 * stats.t.sf(abs(t), df))
    delta_low, delta_high = noncentral_t_ci(c * math.sqrt(n), df, 1 - alpha)
    zcc_low, zcc_high = delta_low / math.sqrt(n), delta_high / math.sqrt(n)
    j = 1 - 3 / (4 * df - 1)
    return {
        "t": t,
        "df": df,
        "p_two_sided": p_two,
        "p_one_sided": p_two / 2,
        "z": c,
        "T_score": 50 + 10 * c,
        "percentile": float(100 * stats.t.cdf(t, df)),
        "percentile_ci_low": float(100 * stats.norm.cdf(zcc_low)),
        "percentile_ci_high": float(100 * stats.norm.cdf(zcc_high)),
        "z_cc": c,
        "z_cc_ci_low": zcc_low,
        "z_cc_ci_high": zcc_high,
        "hedges_g": c * j,
        "hedges_g_ci_low": zcc_low * j,
        "hedges_g_ci_high": zcc_high * j,
        "n": n,
        "ci_level": 1 - alpha,
    }


# --------------------------------------------------------------------------- accuracy


def bootstrap_accuracy(trials: pd.DataFrame, n_boot: int = 2000, seed: int = 0, ci: float = 0.95) -> dict[str, Any]:
    """Mean accuracy of one model on one instrument with a two-way bootstrap CI.

    The scores form an items x repetitions grid. Each bootstrap replicate draws
    items with replacement and, independently, repetitions with replacement, and
    takes the mean of the resampled grid; the CI is the percentile interval of
    the replicates (Efron & Tibshirani, 1993, ch. 13). Resampling both ways
    carries item sampling and run-to-run variation into the interval (a
    two-way random-effects bootstrap, Owen, 2007). It errs on the wide side:
    the item x repetition residual is counted twice, so when a model's answers
    to the same item vary a lot across repetitions the interval is wider than
    nominal (in simulations with 45 items x 10 repetitions, 95 % intervals
    covered the truth 98-99 % of the time; nearer 95 % when items are answered
    consistently). Replicates are computed as weighted means with multinomial
    counts, ``sum_ir w_i v_r S_ir / sum_ir w_i v_r C_ir`` (``C`` marks observed
    cells), which equals averaging the resampled grid and also handles an
    incomplete grid.

    Parameters
    ----------
    trials : DataFrame
        Columns ``item_id``, ``repetition``, ``score`` (in [0, 1]); one row per
        item and repetition.
    n_boot : int
        Number of bootstrap replicates.
    seed : int
        Seed for ``numpy.random.default_rng``; the result is reproducible.
    ci : float
        Confidence level.

    Returns
    -------
    dict
        ``mean`` (mean of all trials), ``ci_low``, ``ci_high``,
        ``sd_reps`` (SD, ddof=1, of the per-repetition mean scores; NaN with one
        repetition), ``n_items``, ``n_reps``, ``n_trials``, ``n_boot``,
        ``ci_level``.

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An introduction to the bootstrap*.
    Chapman & Hall.

    Owen, A. B. (2007). The pigeonhole bootstrap. *Annals of Applied Statistics,
    1*, 386-411.
    """
    _require_columns(trials, ["item_id", "repetition", "score"], "trials")
    if len(trials) == 0:
        raise ValueError("trials is empty: there is nothing to score")
    n_boot = int(n_boot)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    ci = _level("ci", ci)
    score = pd.to_numeric(trials["score"], errors="coerce")
    if score.isna().any():
        raise ValueError("trials.score has missing or non-numeric values; drop failed trials first")
    if ((score < 0) | (score > 1)).any():
        raise ValueError("trials.score must lie in [0, 1]")
    if trials[["item_id", "repetition"]].isna().any().any():
        raise ValueError("trials.item_id and trials.repetition must not be missing")
    if trials.duplicated(["item_id", "repetition"]).any():
        raise ValueError("trials has more than one row for some (item_id, repetition)")

    grid = (
        trials.assign(score=score.astype(float)).pivot(index="item_id", columns="repetition", values="score").to_numpy()
    )
    observed = ~np.isnan(grid)
    filled = np.where(observed, grid, 0.0)
    n_items, n_reps = grid.shape

    rng = np.random.default_rng(seed)
    w = rng.multinomial(n_items, np.full(n_items, 1 / n_items), size=n_boot).astype(float)
    v = rng.multinomial(n_reps, np.full(n_reps, 1 / n_reps), size=n_boot).astype(float)
    num = np.einsum("bi,ir,br->b", w, filled, v)
    den = np.einsum("bi,ir,br->b", w, observed.astype(float), v)
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = num / den
    boot = boot[np.isfinite(boot)]
    lo, hi = np.quantile(boot, [(1 - ci) / 2, (1 + ci) / 2])

    rep_means = np.nanmean(grid, axis=0)
    return {
        "mean": float(score.mean()),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "sd_reps": float(np.std(rep_means, ddof=1)) if n_reps > 1 else math.nan,
        "n_items": int(n_items),
        "n_reps": int(n_reps),
        "n_trials": int(observed.sum()),
        "n_boot": n_boot,
        "ci_level": ci,
    }


def binomial_ci(k: int, n: int, method: str = "wilson", alpha: float = 0.05) -> dict[str, Any]:
    """Proportion correct in one run with a binomial confidence interval.

    Delegates to ``statsmodels.stats.proportion.proportion_confint``. The
    default Wilson (1927) score interval is ``(p + z^2/2n +- z sqrt(p(1-p)/n +
    z^2/4n^2)) / (1 + z^2/n)``; see Brown, Cai & DasGupta (2001) for why it is
    preferred to the Wald interval.

    Parameters
    ----------
    k, n : int
        Number correct and number of trials (``0 <= k <= n``, ``n >= 1``).
    method : str
        Any method ``proportion_confint`` knows (``"wilson"``, ``"beta"`` for
        Clopper-Pearson, ``"agresti_coull"``, ``"jeffreys"``, ...).
    alpha : float
        1 - confidence level.

    Returns
    -------
    dict
        ``k``, ``n``, ``proportion`` (k / n), ``ci_low``, ``ci_high``,
        ``method``, ``ci_level``.

    References
    ----------
    Brown, L. D., Cai, T. T., & DasGupta, A. (2001). Interval estimation for a
    binomial proportion. *Statistical Science, 16*, 101-133.
    """
    k_f, n_f = _finite("k", k), _finite("n", n)
    if k_f != int(k_f) or n_f != int(n_f):
        raise ValueError(f"k and n must be whole numbers, got k={k!r}, n={n!r}")
    k, n = int(k_f), int(n_f)
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not 0 <= k <= n:
        raise ValueError(f"k must lie between 0 and n={n}, got {k}")
    alpha = _level("alpha", alpha)
    lo, hi = proportion_confint(k, n, alpha=alpha, method=method)
    return {
        "k": k,
        "n": n,
        "proportion": k / n,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "method": method,
        "ci_level": 1 - alpha,
    }


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
    out = np.full(flat.shape, np.nan)
    if ok.any():
        out[ok] = multipletests(flat[ok], method=method)[1]
    out = out.reshape(arr.shape)
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
        Columns ``model``, ``instrument``, ``accuracy`` (proportion correct, in
        [0, 1]); one row per model and instrument.
    norms : DataFrame
        Columns ``instrument``, ``mean`` (human mean proportion correct, in
        [0, 1]); one row per instrument.
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
