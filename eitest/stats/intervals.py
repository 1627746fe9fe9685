"""Uncertainty of a model's score on one test, each interval named by the question it answers.

- :func:`rep_interval`: "this model on this test" (run-to-run variation, from the repetitions);
- :func:`item_interval`: "new items like these" (items resampled; exact bounds at 0 % / 100 %);
- :func:`wilson_over_items`: Wilson's interval with n = items, never pooled trials;
- :func:`bootstrap_accuracy` (two-way bootstrap, both sources at once) and :func:`binomial_ci`.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from eitest.stats.validation import _finite, _level, _require_columns, _whole

# Scores this close (relative, at least absolute) do not differ: logprobs' expected credits are float sums, so
# identical distributions give 0.19999999999999996 and 0.20000000000000004, whose "interval" is only rounding.
NO_SPREAD = 1e-12


def no_spread(values: Any) -> bool:
    """Whether ``values`` (finite numbers) differ by no more than rounding (:data:`NO_SPREAD`)."""
    v = np.asarray(values, dtype=float).ravel()
    return bool(v.size == 0 or np.ptp(v) <= NO_SPREAD * max(1.0, float(np.abs(v).max())))


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
        Number of bootstrap replicates (a whole number >= 1).
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
    n_boot = _whole("n_boot", n_boot, 1)
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
    return _proportion_interval(k, n, alpha, method, method, 1 - alpha)


def _proportion_interval(k: float, n: int, alpha: float, method: str, label: str, level: float) -> dict[str, Any]:
    """statsmodels' ``proportion_confint`` as the dict :func:`binomial_ci` and :func:`wilson_over_items` return."""
    lo, hi = proportion_confint(k, n, alpha=alpha, method=method)
    return {
        "k": k,
        "n": n,
        "proportion": k / n,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "method": label,
        "ci_level": level,
    }


# --------------------------------------------------------------------------- the two labelled intervals

THIS_TEST = "this model on this test"
NEW_ITEMS = "new items like these"


def rep_interval(rep_scores: Any, ci: float = 0.95) -> dict[str, Any]:
    """The interval for "this model on this test": the mean over repetitions, t interval from the repetitions.

    Each repetition is one full administration of the same items, so the
    spread of the R per-repetition scores is the model's run-to-run
    variation on this test; item sampling plays no part. With ``sd_reps`` the
    SD (ddof=1) of the per-repetition scores,

        mean +- t_{(1 + ci)/2, R - 1} * sd_reps / sqrt(R)

    (Student, 1908). NaN with a reason for one repetition, and when the
    repetitions do not vary: a [x, x] interval would claim no uncertainty
    where none was merely observed.

    Parameters
    ----------
    rep_scores : array-like
        The model's score on the test in each repetition (NaN dropped).
    ci : float
        Confidence level.

    Returns
    -------
    dict
        ``mean``, ``sd_reps``, ``n_reps``, ``df`` (R - 1), ``ci_low``,
        ``ci_high``, ``ci_level``, ``question`` ("this model on this test"),
        ``reason`` (None, or why the interval is NaN).

    References
    ----------
    Student. (1908). The probable error of a mean. *Biometrika, 6*, 1-25.
    """
    ci = _level("ci", ci)
    scores = np.asarray(rep_scores, dtype=float).ravel()
    scores = scores[~np.isnan(scores)]
    n = int(scores.size)
    if n == 0:
        raise ValueError("rep_scores has no scores: there is no repetition to summarize")
    result: dict[str, Any] = {
        "mean": float(scores.mean()),
        "sd_reps": math.nan,
        "n_reps": n,
        "df": n - 1,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "ci_level": ci,
        "question": THIS_TEST,
        "reason": None,
    }
    if n < 2:
        result["reason"] = "one repetition gives no run-to-run variation to build an interval from; run more"
        return result
    sd = 0.0 if no_spread(scores) else float(scores.std(ddof=1))  # rounding is no run-to-run variation
    result["sd_reps"] = sd
    if sd == 0:
        result["reason"] = (
            f"all {n} repetitions scored {scores[0]:g}: no run-to-run variation was seen, which does not show "
            "there is none; no interval is given"
        )
        return result
    half = float(stats.t.ppf((1 + ci) / 2, n - 1)) * sd / math.sqrt(n)
    result.update(ci_low=result["mean"] - half, ci_high=result["mean"] + half)
    return result


def item_interval(
    item_scores: Any,
    ci: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
    binary: bool = False,
    maxima: Any = None,
) -> dict[str, Any]:
    """The interval for "new items like these": items resampled; exact bounds when all items score 0 or all 1.

    Each item's score is its mean over repetitions, so repetitions of one item
    form one cluster and are never counted as independent. The interval is the
    percentile interval of the mean over ``n_boot`` samples of n items drawn
    with replacement (cluster bootstrap; Davison & Hinkley, 1997, sec. 3.8;
    Field & Welsh, 2007). When the test is keyed (``binary``) and every item
    scored 0, or every item 1, the bootstrap would be the degenerate [x, x];
    the exact Clopper-Pearson (1934) bounds over the n items are used instead:
    for all 1, ``[(alpha/2)^(1/n), 1]`` (n = 19 at 95 %: lower bound .8235),
    for all 0, ``[0, 1 - (alpha/2)^(1/n)]``.

    Parameters
    ----------
    item_scores : array-like
        Per item, the mean score over repetitions, in [0, 1].
    ci : float
        Confidence level.
    n_boot : int
        Number of bootstrap samples (a whole number >= 1).
    seed : int
        Seed for ``numpy.random.default_rng``; the result is reproducible.
    binary : bool
        True for a keyed test (a trial scores 0 or 1).
    maxima : array-like, optional
        Per item, the most credit it can give (an expert-weighted test's top
        weight). The statistic is then the proportion of the maximum,
        ``sum(score) / sum(maxima)`` over the items drawn (a ratio estimator,
        resampled as a whole), instead of the mean.

    Returns
    -------
    dict
        ``mean``, ``ci_low``, ``ci_high``, ``ci_level``, ``n_items``,
        ``n_boot``, ``method`` ("cluster bootstrap over items",
        "Clopper-Pearson over items", or None), ``question`` ("new items like
        these"), ``reason`` (None, or why the interval is NaN).

    References
    ----------
    Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial
    limits illustrated in the case of the binomial. *Biometrika, 26*, 404-413.

    Davison, A. C., & Hinkley, D. V. (1997). *Bootstrap methods and their
    application*. Cambridge University Press.

    Field, C. A., & Welsh, A. H. (2007). Bootstrapping clustered data. *Journal
    of the Royal Statistical Society B, 69*, 369-390.
    """
    ci = _level("ci", ci)
    n_boot = _whole("n_boot", n_boot, 1)
    scores = _item_scores(item_scores)
    n = int(scores.size)
    tops = np.ones(n) if maxima is None else np.asarray(maxima, dtype=float).ravel()
    if tops.shape != scores.shape or not (tops > 0).all() or (scores > tops + 1e-12).any():
        raise ValueError("maxima must give each item a positive maximum no smaller than its score")
    result: dict[str, Any] = {
        "mean": float(scores.sum() / tops.sum()),
        "ci_low": math.nan,
        "ci_high": math.nan,
        "ci_level": ci,
        "n_items": n,
        "n_boot": n_boot,
        "method": None,
        "question": NEW_ITEMS,
        "reason": None,
    }
    if binary and no_spread(scores) and (no_spread([scores[0], 0]) or no_spread([scores[0], 1])):
        lo, hi = proportion_confint(round(float(scores.sum())), n, alpha=1 - ci, method="beta")
        result.update(ci_low=float(lo), ci_high=float(hi), method="Clopper-Pearson over items")
        return result
    if no_spread(scores / tops):
        ratio = scores[0] / tops[0]
        what = "its maximum" if maxima is not None and no_spread([ratio, 1]) else f"{ratio:g}"
        result["reason"] = f"every item scored {what}, so resampling items gives no spread; no interval is given"
        return result
    weights = _bootstrap_weights(n, n_boot, seed)
    lo, hi = np.quantile((weights @ scores) / (weights @ tops), [(1 - ci) / 2, (1 + ci) / 2])
    result.update(ci_low=float(lo), ci_high=float(hi), method="cluster bootstrap over items")
    return result


@functools.lru_cache(maxsize=16)
def _bootstrap_weights(n: int, n_boot: int, seed: int) -> np.ndarray:
    """How often each of n items is drawn in each of ``n_boot`` resamples; the same for every test of n items.

    Kept (read-only), so that the tests of an analysis with the same number of items
    and seed draw them once: 50 models x 5 tests are 250 bootstraps of a few sizes.
    """
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=n_boot)
    weights.flags.writeable = False
    return weights


def wilson_over_items(item_scores: Any, ci: float = 0.95) -> dict[str, Any]:
    """Wilson's score interval over items: k = sum of item scores, n = number of items.

    With ``p = k / n`` and ``z = z_{(1 + ci)/2}``,

        (p + z^2/2n +- z sqrt(p(1 - p)/n + z^2/4n^2)) / (1 + z^2/n)

    (Wilson, 1927), computed by statsmodels' ``proportion_confint``. n counts
    items, never pooled trials: R repetitions of an item are one respondent
    answering it R times, not R respondents. With item scores averaged over
    repetitions, k need not be a whole number (a quasi-binomial count).

    Parameters
    ----------
    item_scores : array-like
        Per item, the mean score over repetitions, in [0, 1].
    ci : float
        Confidence level.

    Returns
    -------
    dict
        ``k``, ``n``, ``proportion``, ``ci_low``, ``ci_high``, ``ci_level``,
        ``method`` ("Wilson over items").

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and
    statistical inference. *Journal of the American Statistical Association,
    22*, 209-212.
    """
    ci = _level("ci", ci)
    scores = _item_scores(item_scores)
    return _proportion_interval(float(scores.sum()), int(scores.size), 1 - ci, "wilson", "Wilson over items", ci)


def _item_scores(item_scores: Any) -> np.ndarray:
    scores = np.asarray(item_scores, dtype=float).ravel()
    if scores.size == 0:
        raise ValueError("item_scores is empty: there is no item to summarize")
    if np.isnan(scores).any():
        raise ValueError("item_scores has missing values; leave out the items that have no scored trial")
    if ((scores < 0) | (scores > 1)).any():
        raise ValueError("item_scores must lie in [0, 1] (a mean score over repetitions per item)")
    return scores
