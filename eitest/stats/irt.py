"""Ability theta on an IRT calibration's scale: EAP and ML estimates, test information, the implied percentile.

The item response function is Birnbaum's (1968) three-parameter logistic (the 2PL is
``c = 0``)::

    P_j(theta) = c_j + (1 - c_j) / (1 + exp(-D_j a_j (theta - b_j)))

Responses may be fractional (an expected credit in [0, 1], e.g. from the logprobs
protocol, or an expert weight): each item enters the likelihood as the fractional
Bernoulli term ``P^x (1 - P)^(1 - x)``, which is the usual likelihood for 0/1 and a
pseudo-likelihood otherwise (its maximum is where expected and observed credit agree,
as for a binary response). A missing response (NaN) leaves its item out.

- **EAP** (Bock & Mislevy 1982): the posterior mean under a normal prior (standard
  normal by default, the calibration population's usual identification), its SE the
  posterior SD. The integrals are taken by the trapezoid rule on a fixed grid,
  :data:`GRID` (241 points on [-6, 6]); the tests check them against
  ``scipy.integrate.quad`` of the same posterior to 1e-4.
- **ML** (Lord 1980, ch. 4-5): the maximum of the likelihood, found on the grid and
  refined by bounded Brent search; its SE is ``1 / sqrt(I(theta))``. It does not
  exist for an all-right or all-wrong pattern (the likelihood rises without end), nor
  when the maximum lies outside [-6, 6]; then it is NaN and ``ml_reason`` says why.
- **Test information** (Birnbaum 1968; Lord 1980, eq. 5-19) for the 3PL:
  ``I_j = D^2 a^2 (Q / P) ((P - c) / (1 - c))^2``, summed over items.
- **Percentile**: ``Phi(theta)``, the share of the calibration population below theta
  *if the calibration sample's ability is standard normal* (how the scale is usually
  identified), with the interval ``Phi(theta -+ 1.96 SE)``.

Every pattern gets its EAP as ``theta``, an all-right one too: the posterior is
proper under the prior, so the EAP is finite and, unlike a bound at some item's ``b``,
ranks a perfect pattern above a near-perfect one. A pattern at the **ceiling** (every
response >= :data:`CEILING_CREDIT`, i.e. every item right, or an expected credit of
0.99 or more on each) is flagged ``bound = "lower"``: the responses say only that
ability lies beyond where the items measure, the EAP is pulled towards the prior mean,
and the true ability may be higher; its ML is left empty, and so is the upper end of
its percentile interval (above the hardest items only the prior speaks). A pattern at
the **floor** (every response <= 1 - :data:`CEILING_CREDIT`) is flagged ``"upper"``
the same way, with no lower end.

Written with numpy rather than a library, and neither candidate was tried: ``catsim``
is built around adaptive-test simulation (its documented estimator is a numerical
search of the likelihood), and ``girth``'s last release (2021) predates numpy 2. The
formulas needed are short, and the tests check them against an independent
quadrature and optimiser.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

GRID = np.linspace(-6.0, 6.0, 241)
# A response at or above this credit counts as right for the ceiling flag (and at or below 1 - it as wrong for the
# floor): 1/0 patterns are flagged only when all right (wrong); an expected credit of 0.99 on every item is as
# uninformative about how far above the items the ability lies (a rule chosen here).
CEILING_CREDIT = 0.99
Z95 = float(stats.norm.ppf(0.975))
PARAM_COLUMNS = ("a", "b", "c", "D")
THETA_COLUMNS = [
    "n_items", "credit", "eap", "eap_se", "ml", "ml_se", "ml_reason", "theta", "theta_se", "theta_method",
    "bound", "information", "percentile", "percentile_ci_low", "percentile_ci_high",
]  # fmt: skip


def _arrays(params: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``a, b, c, D`` of each item (rows of ``params``); c defaults to 0 and D to 1 when the column is absent."""
    n = len(params)
    a = np.asarray(params["a"], dtype=float)
    b = np.asarray(params["b"], dtype=float)
    c = np.asarray(params["c"], dtype=float) if "c" in params else np.zeros(n)
    d = np.asarray(params["D"], dtype=float) if "D" in params else np.ones(n)
    return a, b, c, d


def _p(t: np.ndarray, a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    return c + (1.0 - c) * special.expit(d * a * (t - b))


def probability(theta: float | np.ndarray, params: pd.DataFrame) -> np.ndarray:
    """``P_j(theta)``: one row per theta, one column per item (rows of ``params``: ``a, b, c, D``)."""
    t = np.atleast_1d(np.asarray(theta, dtype=float))[:, None]
    return _p(t, *_arrays(params))


def item_information(theta: float | np.ndarray, params: pd.DataFrame) -> np.ndarray:
    """Fisher information of each item at each theta (Birnbaum 1968), one row per theta."""
    a, _, c, d = _arrays(params)
    p = probability(theta, params)
    return (d * a) ** 2 * ((1.0 - p) / p) * ((p - c) / (1.0 - c)) ** 2


def information_at(theta: float | np.ndarray, params: pd.DataFrame) -> np.ndarray:
    """The test information ``sum_j I_j(theta)`` at each theta."""
    return item_information(theta, params).sum(axis=1)


def information_curve(params: pd.DataFrame, thetas: np.ndarray | None = None) -> pd.DataFrame:
    """The test information curve: ``theta, information, se`` (``1 / sqrt(I)``, the ML SE there)."""
    thetas = np.arange(-4.0, 4.0 + 1e-9, 0.5) if thetas is None else np.asarray(thetas, dtype=float)
    info = information_at(thetas, params)
    return pd.DataFrame({"theta": thetas, "information": info, "se": 1.0 / np.sqrt(info)})


def log_likelihood(theta: float | np.ndarray, responses: np.ndarray, params: pd.DataFrame) -> np.ndarray:
    """The fractional-Bernoulli log likelihood of one response vector at each theta (NaN responses left out)."""
    x = np.asarray(responses, dtype=float)
    seen = ~np.isnan(x)
    p = probability(theta, params.iloc[np.flatnonzero(seen)])
    xs = x[seen]
    return (xs * np.log(p) + (1.0 - xs) * np.log1p(-p)).sum(axis=1)


def eap(
    responses: np.ndarray, params: pd.DataFrame, *, prior_mean: float = 0.0, prior_sd: float = 1.0
) -> tuple[float, float]:
    """EAP theta and its posterior SD under a normal prior (Bock & Mislevy 1982), by quadrature on :data:`GRID`."""
    log_post = log_likelihood(GRID, responses, params) + stats.norm.logpdf(GRID, prior_mean, prior_sd)
    weights = np.exp(log_post - log_post.max())
    weights[[0, -1]] *= 0.5  # the trapezoid rule's end weights
    weights /= weights.sum()
    mean = float(weights @ GRID)
    return mean, float(math.sqrt(max(weights @ (GRID - mean) ** 2, 0.0)))


def ml(responses: np.ndarray, params: pd.DataFrame) -> tuple[float, float, str | None]:
    """ML theta, its SE ``1 / sqrt(I)``, and None; or NaN, NaN and the reason it does not exist."""
    seen = ~np.isnan(np.asarray(responses, dtype=float))
    x = np.asarray(responses, dtype=float)[seen]
    if x.size and (x == 1).all():
        return math.nan, math.nan, "every item answered right: the likelihood rises without end, there is no ML"
    if x.size and (x == 0).all():
        return math.nan, math.nan, "every item answered wrong: the likelihood falls without end, there is no ML"
    used = params.iloc[np.flatnonzero(seen)]
    ll = log_likelihood(GRID, responses, params)
    top = int(np.argmax(ll))
    if top in (0, len(GRID) - 1):
        return math.nan, math.nan, f"the likelihood has no maximum inside [{GRID[0]:g}, {GRID[-1]:g}]"
    a, b, c, d = _arrays(used)

    def neg_ll(t: float) -> float:  # on arrays, not a DataFrame per step: Brent calls it some 30 times
        p = _p(np.asarray(t), a, b, c, d)
        return -float(x @ np.log(p) + (1.0 - x) @ np.log1p(-p))

    found = optimize.minimize_scalar(
        neg_ll, bounds=(GRID[top - 1], GRID[top + 1]), method="bounded", options={"xatol": 1e-9}
    )
    theta = float(found.x)
    return theta, float(1.0 / math.sqrt(information_at(theta, used)[0])), None


def percentile_interval(theta: float, se: float, bound: str | None = None) -> tuple[float, float, float]:
    """``Phi(theta)`` and ``Phi(theta -+ 1.96 SE)``: the calibration population's share below theta.

    With ``bound`` ``"lower"`` (a pattern at the ceiling) the upper end is NaN, with
    ``"upper"`` (at the floor) the lower end: the responses do not bound that side.
    """
    if not math.isfinite(theta):
        return math.nan, math.nan, math.nan
    cdf = stats.norm.cdf
    if not math.isfinite(se):
        return float(cdf(theta)), math.nan, math.nan
    low = math.nan if bound == "upper" else float(cdf(theta - Z95 * se))
    high = math.nan if bound == "lower" else float(cdf(theta + Z95 * se))
    return float(cdf(theta)), low, high


def pattern_bound(credits: np.ndarray) -> str | None:
    """``"lower"`` for a pattern at the ceiling, ``"upper"`` at the floor (see :data:`CEILING_CREDIT`), else None."""
    x = np.asarray(credits, dtype=float)
    if x.size and (x >= CEILING_CREDIT).all():
        return "lower"
    if x.size and (x <= 1.0 - CEILING_CREDIT).all():
        return "upper"
    return None


def theta_row(responses: np.ndarray, params: pd.DataFrame, *, method: str = "EAP") -> dict[str, object]:
    """Every estimate for one response vector, as :data:`THETA_COLUMNS` (see :func:`estimate_theta`)."""
    if method not in ("EAP", "ML"):
        raise ValueError(f"method must be 'EAP' or 'ML', got {method!r}")
    x = np.asarray(responses, dtype=float)
    seen = ~np.isnan(x)
    if not seen.any():  # the prior alone is no estimate of anyone
        nothing: dict[str, object] = dict.fromkeys(THETA_COLUMNS, math.nan)
        return {**nothing, "n_items": 0, "credit": 0.0, "ml_reason": "no response", "theta_method": None, "bound": None}
    used = params.iloc[np.flatnonzero(seen)]
    e, e_se = eap(x, params)
    bound = pattern_bound(x[seen])
    m, m_se, reason = ml(x, params)
    if bound is not None and reason is None:  # fractional: a maximum out where no item measures is no estimate
        where = "ceiling" if bound == "lower" else "floor"
        m, m_se, reason = (
            math.nan,
            math.nan,
            f"at the {where} (every credit within {1 - CEILING_CREDIT:g} of it): no ML is given",
        )
    if method == "ML" and math.isfinite(m):
        theta, se, how = m, m_se, "ML"
    else:
        theta, se, how = e, e_se, "EAP"
    pct, low, high = percentile_interval(theta, se, bound)
    return {
        "n_items": int(seen.sum()),
        "credit": float(x[seen].sum()),
        "eap": e,
        "eap_se": e_se,
        "ml": m,
        "ml_se": m_se,
        "ml_reason": reason,
        "theta": theta,
        "theta_se": se,
        "theta_method": how,
        "bound": bound,
        "information": float(information_at(theta, used)[0]),
        "percentile": pct,
        "percentile_ci_low": low,
        "percentile_ci_high": high,
    }


def estimate_theta(responses: pd.DataFrame, params: pd.DataFrame, *, method: str = "EAP") -> pd.DataFrame:
    """Theta of each respondent (row of ``responses``; columns = items, credit in [0, 1], NaN = missing).

    ``params`` is indexed by the same item ids, with columns ``a, b`` and optionally
    ``c`` (default 0) and ``D`` (default 1). Returns one row per respondent with
    :data:`THETA_COLUMNS`: ``n_items`` (responses used), ``credit`` (their sum),
    ``eap, eap_se`` (always), ``ml, ml_se, ml_reason`` (empty at a ceiling or floor),
    the headline ``theta, theta_se, theta_method`` (``method``'s estimate; the EAP
    where ML has none), ``bound`` (``"lower"`` for a pattern at the ceiling,
    ``"upper"`` at the floor, else None: :func:`pattern_bound`), ``information``
    (test information at theta), ``percentile`` and its interval
    (:func:`percentile_interval`, one end empty at a ceiling or floor).
    """
    missing = [c for c in responses.columns if c not in params.index]
    if missing:
        raise ValueError(f"no IRT parameters for item(s) {missing}")
    values = responses.to_numpy(dtype=float)
    if np.any((values < 0) | (values > 1)):
        raise ValueError("responses must be credits in [0, 1] (or NaN for a missing response)")
    ordered = params.loc[list(responses.columns)]
    rows = [theta_row(v, ordered, method=method) for v in values]
    return pd.DataFrame(rows, index=responses.index, columns=THETA_COLUMNS)
