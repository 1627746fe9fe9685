"""Does a model favour a screen position? A randomization test whose null is "content, not position".

The design that varied the option order is the source of the null distribution:
conditional on which option was chosen in each answered trial, the presentation
orders are drawn again as the design drew them and the statistic recomputed.
Nothing is assumed about the model's content preferences or about how its
repetitions correlate, so position-blind responders are flagged at the nominal
rate (shown by simulation in ``tests/stats/test_position.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from eitest.stats.uniform_stream import shuffled_counts
from eitest.stats.validation import _finite, _require_columns, _whole
from eitest.vocabulary import OptionOrder, choose

__all__ = ["position_bias"]

REQUIRED = ["item_id", "repetition", "shown_order", "chosen_option"]
# Permutations are drawn in chunks so that memory stays near this many cells whatever the data size.
_CELLS_PER_CHUNK = 2_000_000
NULL = "the choice depends on content, not on position"


@dataclass(frozen=True)
class _Answered:
    """The answered trials of the test: chosen position and option count, and for rotated, the item groups."""

    position: np.ndarray  # chosen position per trial (0 = first shown)
    n_options: np.ndarray  # k_t, options shown per trial
    groups: list[np.ndarray]  # rotated only: per item size m, an (items x m x m) array, see _rotation_groups


def position_bias(
    df: pd.DataFrame,
    option_order: str,
    n_perm: int = 2000,
    seed: int = 0,
    min_excess: float = 0.10,
    *,
    positions: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Test whether a model's choices depend on where options are shown.

    H0: the choice depends on content, not on position. The test is a
    design-based randomization test conditional on the option chosen in each
    answered trial (Edgington & Onghena, 2007): under H0 the option chosen
    would have been the same had the options been shown in another order the
    design could have drawn, so re-drawing the orders gives the statistic's
    null distribution.

    - ``shuffled``: each trial's order was a uniform random permutation, so each
      answered trial gets a fresh one; under H0 the chosen position is then
      uniform on ``0..k_t-1`` and independent across trials, whatever the
      content preferences and however the repetitions correlate.
    - ``rotated``: the repetitions' orders are fixed shifts, so within each item
      the shown orders are permuted among that item's answered repetitions
      (under H0 the repetitions are exchangeable). Items with fewer than two
      answered repetitions carry no randomization and are left out.
    - ``original`` (or any order that never varies within the design): no test,
      since position and content are confounded; ``reason`` says so.

    The statistic is Pearson's chi-square of the chosen-position counts ``O_j``
    against their expectation under uniform positions, ``E_j = sum_t 1/k_t
    [j < k_t]`` over the answered trials t: ``chi2 = sum_j (O_j - E_j)^2 /
    E_j``, ``df = K - 1`` with ``K = max k_t``. The randomization p is ``(1 +
    #{perm chi2 >= observed}) / (1 + n_perm)`` (Phipson & Smyth, 2010). The
    asymptotic ``chi2(df)`` p is reported for reference only: it is the large-
    sample limit for shuffled orders when every item has the same number of
    options, and an approximation otherwise. A bias is flagged when ``p < .05``
    and the most chosen position's share exceeds its expected share by at least
    ``min_excess``.

    Parameters
    ----------
    df : DataFrame
        One row per trial: ``item_id``, ``repetition``, ``shown_order`` (list of
        option ids as shown, first = position 0), ``chosen_option`` (an id in
        ``shown_order``, or None/NaN when not answered). The index is ignored.
    option_order : str
        How the design ordered the options: ``"shuffled"``, ``"rotated"`` or
        ``"original"``.
    n_perm : int
        Number of re-drawn designs (>= 1).
    seed : int
        Seed for ``numpy.random.default_rng``; the result is reproducible.
    min_excess : float
        How far (as a share) the top position must exceed its expectation to be
        flagged; default 0.10.
    positions : (n_options, chosen), optional
        Each row's number of options shown and chosen position (-1: not
        answered), as :func:`trial_positions` reads them, when the caller has
        read them for many tests at once.

    Returns
    -------
    dict
        ``n`` (answered trials in the test), ``chi2``, ``df``, ``p``
        (randomization), ``p_asymptotic`` (chi-square, for reference),
        ``n_perm``, ``observed`` and ``expected`` (arrays by position
        ``0..K-1``), ``top_position``, ``top_share``, ``top_expected_share``,
        ``flag`` (bool), ``reason`` (None, or why no test was run), ``method``
        (one line: what was tested), ``n_left_out`` (answered trials left out:
        rotated items with a single answered repetition).

    References
    ----------
    Edgington, E. S., & Onghena, P. (2007). *Randomization tests* (4th ed.).
    Chapman & Hall/CRC.

    Phipson, B., & Smyth, G. K. (2010). Permutation p-values should never be
    zero. *Statistical Applications in Genetics and Molecular Biology, 9*(1),
    Article 39.

    Pearson, K. (1900). On the criterion that a given system of deviations from
    the probable ... *Philosophical Magazine, 50*, 157-175.
    """
    _require_columns(df, REQUIRED, "df")
    order = OptionOrder(choose(OptionOrder, option_order, "option order"))
    n_perm = _whole("n_perm", n_perm, 1)
    min_excess = _finite("min_excess", min_excess)
    frame = df.reset_index(drop=True)
    if frame["item_id"].isna().any():
        raise ValueError(f"df.item_id is missing in row(s) {np.flatnonzero(frame['item_id'].isna())[:5].tolist()}")
    if positions is not None and any(len(a) != len(frame) for a in positions):
        raise ValueError(f"positions must give each of the {len(frame)} rows of df its values")
    n_options, chosen = positions if positions is not None else _read_trials(frame)
    answered = np.flatnonzero(chosen >= 0)
    result = _empty_result(n_perm)
    if answered.size == 0:
        result["reason"] = "no answered trials, so there is no chosen position to test"
        return result
    if order not in (OptionOrder.SHUFFLED, OptionOrder.ROTATED):
        _describe(result, chosen[answered], n_options[answered])
        result["reason"] = (
            f"options were shown in the {order.value} order, which never varies, so position and content are "
            "confounded and no position-bias test is possible; run with --option-order shuffled or rotated"
        )
        return result
    if order is OptionOrder.SHUFFLED:
        data = _Answered(chosen[answered], n_options[answered], [])
    else:
        built = _rotation_groups(frame, answered, chosen, result)
        if built is None:
            return result
        data = built
    _describe(result, data.position, data.n_options)
    observed_chi2 = _chi2(result["observed"][None, :], result["expected"])[0]
    perm = np.concatenate(list(_permuted_chi2(data, result["expected"], n_perm, seed)))
    # counts are integers, so ties are exact in principle; the tolerance absorbs float summation order
    ties = perm >= observed_chi2 - 1e-9 * max(1.0, observed_chi2)
    k_max = result["expected"].size
    result.update(
        chi2=float(observed_chi2),
        df=k_max - 1,
        p=float((1 + ties.sum()) / (1 + n_perm)),
        p_asymptotic=float(stats.chi2.sf(observed_chi2, k_max - 1)),
        method=_method(order, n_perm, result["n_left_out"]),
    )
    result["flag"] = bool(result["p"] < 0.05 and result["top_share"] - result["top_expected_share"] >= min_excess)
    return result


# --------------------------------------------------------------------------- reading the trials


def trial_positions(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's number of options shown and chosen position (-1 when not answered), for ``positions``."""
    return _read_trials(df.reset_index(drop=True))


def _read_trials(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Options shown and chosen position per row (-1 when not answered); errors name the row.

    Each distinct pair of shown order and choice is read once: a store's rows share one
    decoded list per distinct order (:func:`eitest.store.trial_columns.decoded`), so a
    million trials hold a few hundred pairs. Anything unexpected is read row by row,
    which names the row at fault.
    """
    orders = frame["shown_order"].to_numpy(dtype=object)
    choices = frame["chosen_option"]
    try:
        order_code = pd.factorize(np.fromiter(map(id, orders), dtype=np.uint64, count=len(orders)))[0]
        choice_code, uniques = pd.factorize(choices)
        choice_values = np.asarray(uniques, dtype=object)
        pair_code = order_code.astype(np.int64) * (len(choice_values) + 1) + (choice_code + 1)
        unique, first, inverse = np.unique(pair_code, return_index=True, return_inverse=True)
        sizes = np.empty(unique.size, dtype=np.int64)
        positions = np.empty(unique.size, dtype=np.int64)
        for k, row in enumerate(first):
            ids = _order_ids(orders[row], int(row), None)
            sizes[k] = len(ids)
            positions[k] = -1 if choice_code[row] < 0 else ids.index(choice_values[choice_code[row]])
    except (ValueError, TypeError):
        return _read_rows(frame)
    return sizes[inverse], positions[inverse]


def _read_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n_options = np.empty(len(frame), dtype=np.int64)
    chosen = np.full(len(frame), -1, dtype=np.int64)
    for row, (item, order, choice) in enumerate(
        zip(frame["item_id"], frame["shown_order"], frame["chosen_option"], strict=True)
    ):
        ids = _order_ids(order, row, item)
        n_options[row] = len(ids)
        if _missing(choice):
            continue
        try:
            chosen[row] = ids.index(choice)
        except ValueError:
            raise ValueError(
                f"row {row} (item {item!r}): chosen_option {choice!r} is not among the options shown {ids}"
            ) from None
    return n_options, chosen


def _order_ids(order: Any, row: int, item: Any) -> list[Any]:
    if isinstance(order, str) or not hasattr(order, "__len__"):
        raise ValueError(f"row {row} (item {item!r}): shown_order must be a list of option ids, got {order!r}")
    ids = list(order)
    if len(ids) < 2 or len(set(ids)) != len(ids):
        raise ValueError(f"row {row} (item {item!r}): shown_order must list at least 2 distinct options, got {ids}")
    return ids


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _rotation_groups(
    frame: pd.DataFrame, answered: np.ndarray, chosen: np.ndarray, result: dict[str, Any]
) -> _Answered | None:
    """Group rotated items by answered-repetition count m; ``P[i, a, b]`` = position of trial a's choice in b's order.

    Returns None (with ``result['reason']`` set) when no item can be permuted.
    """
    sub = frame.iloc[answered]
    tables: dict[int, list[np.ndarray]] = {}
    sizes: dict[int, list[int]] = {}
    left_out, varies = 0, False
    for item, rows in sub.groupby("item_id", sort=True).indices.items():
        if rows.size < 2:
            left_out += 1
            continue
        orders = [list(o) for o in sub["shown_order"].iloc[rows]]
        if any(set(o) != set(orders[0]) for o in orders):
            raise ValueError(f"item {item!r}: its rotated repetitions do not show the same options")
        varies = varies or any(o != orders[0] for o in orders)
        choices = [orders[a][chosen[answered[r]]] for a, r in enumerate(rows)]
        tables.setdefault(rows.size, []).append(np.array([[o.index(c) for o in orders] for c in choices]))
        sizes.setdefault(rows.size, []).append(len(orders[0]))
    result["n_left_out"] = left_out
    if not tables:
        result["reason"] = (
            "rotated orders: no item has two or more answered repetitions, so there is nothing to permute; "
            "run more repetitions (--reps) or use --option-order shuffled"
        )
        return None
    if not varies:
        result["reason"] = (
            "rotated orders: the answered repetitions of each item show the same order, so position and "
            "content are confounded; run as many repetitions as the items have options"
        )
        return None
    # _permuted_chi2 lays the trials out group by group, item by item: the observed arrays follow the same layout
    groups = [np.stack(tables[m]).astype(np.int64) for m in sorted(tables)]
    position = np.concatenate([np.diagonal(g, axis1=1, axis2=2).ravel() for g in groups])
    n_options = np.concatenate([np.repeat(np.array(sizes[m], dtype=np.int64), m) for m in sorted(tables)])
    return _Answered(position, n_options, groups)


# --------------------------------------------------------------------------- the statistic and its null


def _expected(n_options: np.ndarray) -> np.ndarray:
    k_max = int(n_options.max())
    return np.array([(1.0 / n_options[n_options > j]).sum() for j in range(k_max)])


def _chi2(counts: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return ((counts - expected) ** 2 / expected).sum(axis=-1)


def _counts(positions: np.ndarray, k_max: int) -> np.ndarray:
    """Per row of ``positions`` (designs x trials), how many trials fall at each position."""
    rows = positions.shape[0]
    flat = positions + k_max * np.arange(rows)[:, None]
    return np.bincount(flat.ravel(), minlength=rows * k_max).reshape(rows, k_max).astype(float)


def _permuted_chi2(data: _Answered, expected: np.ndarray, n_perm: int, seed: int) -> Iterator[np.ndarray]:
    """Chi-square of ``n_perm`` re-drawn designs, in chunks of about ``_CELLS_PER_CHUNK`` trial draws."""
    k_max = expected.size
    if not data.groups and (data.n_options == k_max).all():
        counts = shuffled_counts(seed, n_perm, data.position.size, k_max)
        if counts is not None:  # the same draws, made and counted once for every test of this seed
            yield _chi2(counts, expected)
            return
    rng = np.random.default_rng(seed)
    chunk = max(1, _CELLS_PER_CHUNK // max(1, data.position.size))
    done = 0
    while done < n_perm:
        size = min(chunk, n_perm - done)
        if data.groups:
            positions = np.concatenate([_rotate(g, size, rng) for g in data.groups], axis=1)
        else:
            # a uniform permutation puts the chosen option at a uniform position: no need to draw whole orders
            positions = (rng.random((size, data.position.size)) * data.n_options).astype(np.int64)
        yield _chi2(_counts(positions, k_max), expected)
        done += size


def _rotate(tables: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Positions when each item's m orders are permuted among its m trials: (size x items*m)."""
    n_items, m, _ = tables.shape
    sigma = np.argsort(rng.random((size, n_items, m)), axis=2)
    picked = tables[np.arange(n_items)[None, :, None], np.arange(m)[None, None, :], sigma]
    return picked.reshape(size, n_items * m)


# --------------------------------------------------------------------------- the result


def _empty_result(n_perm: int) -> dict[str, Any]:
    return {
        "n": 0,
        "chi2": math.nan,
        "df": math.nan,
        "p": math.nan,
        "p_asymptotic": math.nan,
        "n_perm": n_perm,
        "observed": np.zeros(0),
        "expected": np.zeros(0),
        "top_position": None,
        "top_share": math.nan,
        "top_expected_share": math.nan,
        "flag": False,
        "reason": None,
        "method": f"no test; H0 would be: {NULL}",
        "n_left_out": 0,
    }


def _describe(result: dict[str, Any], position: np.ndarray, n_options: np.ndarray) -> None:
    expected = _expected(n_options)
    observed = np.bincount(position, minlength=expected.size).astype(float)
    n = int(position.size)
    top = int(np.argmax(observed))
    result.update(
        n=n,
        observed=observed,
        expected=expected,
        top_position=top,
        top_share=float(observed[top] / n),
        top_expected_share=float(expected[top] / n),
    )


def _method(order: OptionOrder, n_perm: int, left_out: int) -> str:
    if order is OptionOrder.SHUFFLED:
        redraw = "each answered trial's options re-shuffled"
    else:
        redraw = "the shown orders permuted among each item's answered repetitions"
        if left_out:
            redraw += f"; {left_out} trial(s) of items with one answered repetition left out"
    return (
        f"randomization test of Pearson's chi-square of the chosen positions ({n_perm} re-drawn designs: "
        f"{redraw}, the chosen options kept); H0: {NULL}"
    )
