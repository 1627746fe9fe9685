"""Two or more respondents on the same items, paired by item: bootstrap, McNemar, Cochran's Q.

Used to compare runs of one study design (a model before and after an update, or two
models on the same items). The unit that is resampled or counted is the item, never
the repetition: a model's repetitions are repeated measures of one respondent.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eitest.stats.validation import _level

__all__ = ["cochran_q", "mcnemar_exact", "paired_bootstrap"]


def paired_bootstrap(
    a: Any, b: Any, top: Any | None = None, *, n_boot: int = 2000, seed: int = 0, ci: float = 0.95
) -> dict[str, float]:
    """The difference b - a in score over the same items, with a percentile bootstrap interval over items.

    The score is ``sum(credit) / sum(top)`` (``top`` the most credit each item can
    give; 1 for keyed items, so the score is the share correct), and so the
    difference is ``sum(b_i - a_i) / sum(top_i)``. Each resample draws the items
    with replacement, the same items for both (paired); the indices are one
    ``(n_boot, n)`` matrix from ``numpy.random.default_rng(seed).integers(0, n, ...)``,
    so that anyone can redo it. The interval is the ``(1 - ci)/2`` and ``(1 + ci)/2``
    quantiles of the resampled differences (numpy's default, linear). It answers
    "on new items like these": the items are treated as a sample of the items the
    test could have held (Efron & Tibshirani, 1993, ch. 13).

    Parameters
    ----------
    a, b : array-like
        Per-item credit of the two respondents (e.g. the mean over repetitions), same length.
    top : array-like, optional
        Per-item maximum credit (default 1 for every item).
    n_boot, seed, ci : int, int, float
        Resamples, the seed, the confidence level.

    Returns
    -------
    dict
        ``difference``, ``ci_low``, ``ci_high``, ``se`` (SD of the resampled
        differences), ``n_items``, ``n_boot``.

    References
    ----------
    Efron, B., & Tibshirani, R. J. (1993). *An introduction to the bootstrap*. Chapman & Hall.
    """
    ci = _level("ci", ci)
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    m = np.ones_like(x) if top is None else np.asarray(top, dtype=float)
    if x.shape != y.shape or x.shape != m.shape or x.ndim != 1:
        raise ValueError(f"a, b and top must be 1-d and of one length, got {x.shape}, {y.shape}, {m.shape}")
    n = x.size
    if n == 0:
        raise ValueError("no items to compare")
    if np.isnan(x).any() or np.isnan(y).any() or np.isnan(m).any():
        raise ValueError("item credits must not be missing; drop the items one side lacks first")
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    d = y - x
    difference = float(d.sum() / m.sum())
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    resampled = d[idx].sum(axis=1) / m[idx].sum(axis=1)
    low, high = np.quantile(resampled, [(1 - ci) / 2, (1 + ci) / 2])
    return {
        "difference": difference,
        "ci_low": float(low),
        "ci_high": float(high),
        "se": float(resampled.std(ddof=1)) if n_boot > 1 else float("nan"),
        "n_items": n,
        "n_boot": n_boot,
    }


def mcnemar_exact(a: Any, b: Any) -> dict[str, float]:
    """The exact McNemar test of two respondents' 0/1 answers to the same items.

    Only the discordant items count: ``n_lost`` (correct in ``a``, wrong in ``b``) and
    ``n_gained`` (wrong in ``a``, correct in ``b``). Under H0 (either direction is as
    likely) ``n_gained ~ Binomial(n_lost + n_gained, 1/2)``; the p value is the
    two-sided exact binomial p (``scipy.stats.binomtest``), 1 when no item is
    discordant (McNemar, 1947; the exact form as in Fagerland, Lydersen & Laake, 2013).

    Returns
    -------
    dict
        ``n_lost``, ``n_gained``, ``n_discordant``, ``p``.

    References
    ----------
    McNemar, Q. (1947). Note on the sampling error of the difference between correlated
    proportions or percentages. *Psychometrika, 12*, 153-157.

    Fagerland, M. W., Lydersen, S., & Laake, P. (2013). The McNemar test for binary
    matched-pairs data: mid-p and asymptotic are better than exact conditional.
    *BMC Medical Research Methodology, 13*, 91.
    """
    from scipy import stats

    x, y = _binary(a, "a"), _binary(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"a and b must be of one length, got {x.size} and {y.size}")
    lost = int(((x == 1) & (y == 0)).sum())
    gained = int(((x == 0) & (y == 1)).sum())
    n = lost + gained
    p = 1.0 if n == 0 else float(stats.binomtest(gained, n, 0.5, alternative="two-sided").pvalue)
    return {"n_lost": lost, "n_gained": gained, "n_discordant": n, "p": p}


def cochran_q(answers: Any) -> dict[str, float]:
    """Cochran's Q test that k respondents have the same share correct on the same items.

    ``answers`` is an items x respondents matrix of 0/1. With column totals ``C_j``,
    row totals ``R_i`` and grand total ``N``:

        Q = (k - 1) (k sum C_j^2 - N^2) / (k N - sum R_i^2),

    referred to chi-square with ``k - 1`` df (Cochran, 1950). Rows that are all 0 or
    all 1 add nothing to either sum's difference and may stay. Q is 0 with p = 1 when
    no item is answered differently by the respondents.

    Returns
    -------
    dict
        ``q``, ``df``, ``p``, ``n_items``, ``k``.

    References
    ----------
    Cochran, W. G. (1950). The comparison of percentages in matched samples.
    *Biometrika, 37*, 256-266.
    """
    from scipy import stats

    x = _binary(answers, "answers")
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"answers must be an items x respondents matrix with at least 2 columns, got {x.shape}")
    n_items, k = x.shape
    cols, rows = x.sum(axis=0), x.sum(axis=1)
    total = float(x.sum())
    denom = k * total - float((rows**2).sum())
    if denom == 0:
        return {"q": 0.0, "df": k - 1, "p": 1.0, "n_items": n_items, "k": k}
    q = (k - 1) * (k * float((cols**2).sum()) - total**2) / denom
    return {"q": q, "df": k - 1, "p": float(stats.chi2.sf(q, k - 1)), "n_items": n_items, "k": k}


def _binary(values: Any, name: str) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if np.isnan(x).any() or not np.isin(x, (0.0, 1.0)).all():
        raise ValueError(f"{name} must hold only 0 and 1 (correct or not), with nothing missing")
    return x
