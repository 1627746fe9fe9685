"""The measurement checks: agreement across repetitions, position bias, and item accuracy against ``human_p``.

Each step takes the trials (one run per model x instrument) and returns one
table; the statistics are those of :mod:`eitest.stats.measurement`. ``human_p``
comes from the instrument the run used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from eitest.scoring.grouped import Grouped, grouped
from eitest.scoring.scores import KEYS
from eitest.scoring.selection import RunInstrumentMap
from eitest.store.trial_columns import distinct_objects

AGREEMENT_COLUMNS = [
    "model", "instrument", "modal_rate", "fleiss_kappa", "n_items", "n_items_left_out", "n_failed", "n_reps", "reason",
]  # fmt: skip
BIAS_COLUMNS = [
    "model", "instrument", "option_order", "n", "chi2", "df", "p", "p_asymptotic", "n_perm", "top_position",
    "top_share", "top_expected_share", "flag", "method", "reason",
]  # fmt: skip
CORRELATION_COLUMNS = ["model", "instrument", "rho", "p", "n", "reason"]


def agreement_table(trials: pd.DataFrame) -> pd.DataFrame:
    """One row per model x instrument: the model's agreement with itself across repetitions.

    :func:`eitest.stats.agreement` of each model x instrument, all computed in one grouped pass.
    """
    from eitest.stats.agreement_groups import agreement_by_group

    by_pair = trials.groupby(KEYS, sort=True)
    keys = by_pair.size().index
    choices = pd.DataFrame(
        {"item_id": trials["item_id"], "repetition": trials["repetition"], "status": trials["status"],
         "choice": trials["chosen_option"]}
    )  # fmt: skip
    results = agreement_by_group(choices, by_pair.ngroup().to_numpy()) if len(trials) else []
    rows = [
        {"model": model, "instrument": inst, **{k: ag[k] for k in AGREEMENT_COLUMNS[2:]}}
        for (model, inst), ag in zip(keys, results, strict=True)
    ]
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def position_bias_table(trials: pd.DataFrame, *, seed: int = 0) -> pd.DataFrame:
    """One row per model x instrument: does the choice follow the options' positions rather than their content?

    A randomization test of "the choice depends on content, not on position"
    (:func:`eitest.stats.position_bias`), run only where the options were shuffled or
    rotated; with the original order position and content are confounded, and
    ``reason`` says so.
    """
    from eitest.stats import position_bias
    from eitest.stats.position import trial_positions

    rows = []
    # numpy object columns: taking each pair's rows of pyarrow string columns costs more than the test
    # (the decoded orders are shared lists already, the texts get one object per distinct value)
    cols = pd.DataFrame(
        {"item_id": distinct_objects(trials["item_id"]), "repetition": trials["repetition"].to_numpy(),
         "shown_order": trials["shown_order"].to_numpy(dtype=object),
         "chosen_option": distinct_objects(trials["chosen_option"])}
    )  # fmt: skip
    orders = distinct_objects(trials["option_order"])
    n_options, chosen = trial_positions(cols)  # every trial read at once: each distinct order and choice once
    by_pair = trials.groupby(KEYS, sort=True)
    for (model, inst), at in zip(by_pair.size().index, _rows_by_code(by_pair.ngroup().to_numpy()), strict=True):
        pb = position_bias(cols.iloc[at], str(orders[at[0]]), seed=seed, positions=(n_options[at], chosen[at]))
        rows.append(
            {"model": model, "instrument": inst, "option_order": orders[at[0]], **{k: pb[k] for k in BIAS_COLUMNS[3:]}}
        )
    return pd.DataFrame(rows, columns=BIAS_COLUMNS)


def _rows_by_code(codes: np.ndarray) -> list[np.ndarray]:
    """The row positions of each code 0..G-1, in row order within each."""
    if codes.size == 0:
        return []
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.cumsum(np.bincount(codes))[:-1])


def position_bias_notes(bias: pd.DataFrame) -> list[str]:
    """A note for each flagged position bias (the share chosen against the share content alone predicts),
    and one for the checks that could not be run."""
    notes = []
    for r in bias.itertuples():
        if r.flag:
            p = "< .001" if r.p < 0.001 else "= " + format(r.p, ".3f")
            notes.append(
                f"{r.model} on {r.instrument}: position bias - chose position {_letter(r.top_position)} in {r.top_share:.0%} "
                f"of answers where choosing by content alone gives {r.top_expected_share:.0%} (randomization test, p {p})"
            )
    skipped = bias[bias["reason"].notna() & bias["p"].isna()]
    for reason, rows in skipped.groupby("reason", sort=False):
        pairs = ", ".join(f"{r.model} on {r.instrument}" for r in rows.itertuples())
        notes.append(f"position bias not tested for {pairs}: {reason}")
    return notes


def item_table(
    trials: pd.DataFrame,
    instruments: RunInstrumentMap,
    *,
    exclude_unanswered: bool = False,
    by_pair: Grouped | None = None,
) -> pd.DataFrame:
    """One row per model x instrument x item: ``accuracy``, ``n_reps`` and the item's ``human_p`` (NaN if none).

    ``accuracy`` and ``n_reps`` are :func:`eitest.scoring.item_scores`'; ``by_pair`` is the
    trials already grouped (:func:`eitest.scoring.grouped.grouped`).
    """
    by_pair = by_pair or grouped(trials, instruments, exclude_unanswered=exclude_unanswered)
    items = by_pair.items
    pair = items.index.get_level_values("pair").to_numpy()
    item_ids = items.index.get_level_values("item_id").to_numpy()
    human_p = []
    for p, item_id in zip(pair, item_ids, strict=True):
        h = by_pair.instruments[p].item(item_id).human_p
        human_p.append(np.nan if h is None else h)
    return pd.DataFrame(
        {
            "model": by_pair.pairs["model"].to_numpy()[pair],
            "instrument": by_pair.pairs["instrument"].to_numpy()[pair],
            "item_id": item_ids,
            "accuracy": items["acc"].to_numpy(),
            "n_reps": items["n_reps"].to_numpy(),
            "human_p": np.array(human_p, dtype=float),
        }
    )


def item_correlation_table(items: pd.DataFrame) -> pd.DataFrame:
    """One row per model x instrument whose items carry ``human_p``: Spearman's rho of item accuracy with it."""
    from eitest.stats import item_correlation

    rows = []
    for (model, inst), mine in items.groupby(KEYS, sort=True):
        mine = mine.set_index("item_id")
        if mine["human_p"].notna().any():
            rows.append({"model": model, "instrument": inst, **item_correlation(mine["accuracy"], mine["human_p"])})
    return pd.DataFrame(rows, columns=CORRELATION_COLUMNS)


def _letter(position: Any) -> str:
    from eitest.administer.prompts import LETTERS

    try:
        return LETTERS[int(position)]
    except (TypeError, ValueError, IndexError):
        return str(position)
