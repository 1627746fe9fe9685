"""Answer distributions: a respondent's probabilities over an item's options, compared with a reference profile.

Pure functions over mappings ``{option id: probability}`` and tidy DataFrames.

References
----------
Lin, J. (1991). Divergence measures based on the Shannon entropy. *IEEE Transactions on
Information Theory*, 37(1), 145-151. doi:10.1109/18.61115
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd


def normalised(weights: Mapping[str, float], option_ids: Sequence[str]) -> dict[str, float] | None:
    """``weights`` over ``option_ids`` scaled to sum 1 (a missing option is 0); None when they sum to 0."""
    values = [float(weights.get(o, 0.0)) for o in option_ids]
    total = math.fsum(values)
    if total <= 0:
        return None
    return {o: v / total for o, v in zip(option_ids, values, strict=True)}


def js_distance(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """The Jensen-Shannon distance between two distributions over the same options, base 2 (0 to 1).

    The square root of the Jensen-Shannon divergence (Lin 1991),
    ``JSD(P, Q) = H(M) - (H(P) + H(Q)) / 2`` with ``M = (P + Q) / 2`` and ``H`` the
    Shannon entropy in bits; 0 for equal distributions, 1 for disjoint ones. Options are
    matched by id; one missing from a mapping has probability 0. Both are renormalised
    to sum 1 (as :func:`scipy.spatial.distance.jensenshannon` does).
    """
    from scipy.spatial.distance import jensenshannon

    ids = sorted(set(p) | set(q))
    a = np.array([float(p.get(o, 0.0)) for o in ids])
    b = np.array([float(q.get(o, 0.0)) for o in ids])
    if a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("a distribution must have some probability on its options")
    return float(jensenshannon(a, b, base=2))


def mean_distribution(distributions: Iterable[Mapping[str, float]], option_ids: Sequence[str]) -> dict[str, float]:
    """The mean of several distributions over ``option_ids``, option by option (an item's mean over repetitions)."""
    rows = [[float(d.get(o, 0.0)) for o in option_ids] for d in distributions]
    if not rows:
        raise ValueError("no distribution to average")
    means = np.mean(np.array(rows), axis=0)
    return {o: float(m) for o, m in zip(option_ids, means, strict=True)}


def sampled_vs_distribution(distribution: pd.DataFrame, sampled: pd.DataFrame) -> dict[str, float | int]:
    """How well one model's answer distributions foretell its sampled answers to the same items.

    ``distribution``: one row per item, columns ``item_id`` and ``distribution`` (a mapping
    option id -> probability). ``sampled``: one row per sampled answer, columns ``item_id``
    and ``chosen_option``. It answers "does the probability the model puts on each option
    match what it answers when asked in the ordinary way?":

    - ``mean_p_sampled``: per item the mean probability the distribution gives to the
      options sampled, then the mean over items (1 when every sampled answer was the
      distribution's certain choice; the mean of sum p^2 when answers are drawn from it);
    - ``argmax_modal_share``: the share of items whose most probable option is the modal
      sampled answer, over the items where each is one option, not a tie (``n_items_modal``);
    - ``n_items``: items with both.
    """
    by_item = {r.item_id: r.distribution for r in distribution.itertuples()}
    answers = sampled[sampled["item_id"].isin(list(by_item))]
    per_item, agree = [], []
    for item_id, g in answers.groupby("item_id", sort=True):
        dist = by_item[item_id]
        per_item.append(float(np.mean([float(dist.get(o, 0.0)) for o in g["chosen_option"]])))
        counts = g["chosen_option"].value_counts()
        top = max(dist.values())
        most = [o for o, p in dist.items() if p == top]
        if len(most) == 1 and (len(counts) == 1 or counts.iloc[0] > counts.iloc[1]):
            agree.append(most[0] == counts.index[0])
    return {
        "n_items": len(per_item),
        "mean_p_sampled": float(np.mean(per_item)) if per_item else math.nan,
        "argmax_modal_share": float(np.mean(agree)) if agree else math.nan,
        "n_items_modal": len(agree),
    }
