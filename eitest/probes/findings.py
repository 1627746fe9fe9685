"""Which items look memorised: each item's similarity against the baseline of the control texts.

An item's statistic is the larger of its two similarities (opening, options; the
``ratio`` of :func:`eitest.probes.similarity.compare`), and each control's the same.
The baseline's upper bound is the largest control statistic plus :data:`MARGIN`; an item
above it is flagged. Why the largest: when the model has not seen an item, nothing sets
the item's statistic apart from the controls' (they are cut, asked and compared the same
way, in the item's own shape), so the item is one more draw from their distribution and
beats the largest of n controls with probability at most 1 / (n + 1) (an order
statistic; the margin only lowers it). With at least 19 controls a model that has seen
none of the items has at most 5 % of them flagged in expectation.

What a flag can and cannot show: a continuation far closer to the true text than to any
control is evidence that the model has seen the item's text (or one very like it); no
flag is not proof that it has not: a model may have seen an item and not reproduce it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from eitest.instruments import Instrument, Item
from eitest.probes.memorisation import continuation_of, cut_of
from eitest.probes.similarity import Similarity, compare
from eitest.vocabulary import ProbeVariant, Status

MARGIN = 0.05  # on the 0-1 scale of the similarity
STATISTIC = "rapidfuzz normalised Indel similarity of the word tokens (0-1), the larger of opening and options"
ITEM_VARIANTS = (ProbeVariant.OPENING, ProbeVariant.OPTIONS)
CONTROL_VARIANTS = (ProbeVariant.CONTROL_OPENING, ProbeVariant.CONTROL_OPTIONS)
METHODS = (
    "Memorisation probe: the model was given the first half of each item's situation and asked to continue it "
    "word for word, and separately the situation with its first options and asked for the rest; each reply was "
    "compared with the true text (rapidfuzz's normalised similarity of the words, with the share of the true words "
    "reproduced and the longest common run). The same was done on control texts written for the probe in each "
    "item's shape, which no model can have seen; an item is flagged when its similarity passes the largest "
    "control similarity plus {margin:g}, which a model that has seen no item passes for at most 1/(n+1) of the "
    "items (n controls). A flag is evidence that the model has seen the item's text; no flag is not proof that "
    "it has not (a model may have seen an item and not reproduce it, or decline to)."
)


@dataclass(frozen=True)
class ProbeReply:
    """One stored probe trial, as the findings read it."""

    item_id: str
    variant: str  # a ProbeVariant value (the trial's parse_rule)
    status: str
    reply: str | None


def _measured(item: Item, variants: tuple[ProbeVariant, ...], replies: dict[tuple[str, str], ProbeReply]):
    """(variant, similarity, reply) for each variant of ``item`` whose call came back (an empty reply scores 0)."""
    out = []
    for variant in variants:
        found = replies.get((item.id, variant.value))
        if found is None or found.status == Status.ERROR:
            continue
        out.append((variant, compare(continuation_of(found.reply), cut_of(item, variant).truth), found.reply or ""))
    return out


def _evidence(item: Item, measured: list[tuple[ProbeVariant, Similarity, str]]) -> list[dict[str, Any]]:
    rows = []
    for variant, sim, reply in measured:
        cut = cut_of(item, variant)
        shown = cut.shown if isinstance(cut.shown, str) else "\n".join(cut.shown)
        rows.append({"variant": variant.value, **sim.row(), "shown": shown, "truth": cut.truth, "continuation": reply})
    return rows


def memorisation_finding(
    model: str, inst: Instrument, controls: Instrument, trials: Iterable[ProbeReply], *, run_id: str | None = None
) -> dict[str, Any]:
    """The probe's finding for ``model`` on ``inst``: how many items look memorised, the bound, and the evidence."""
    replies = {(t.item_id, t.variant): t for t in trials}
    baseline = [max(s.ratio for _, s, _ in m) for c in controls.items if (m := _measured(c, CONTROL_VARIANTS, replies))]
    control_max = max(baseline) if baseline else None
    bound = None if control_max is None else control_max + MARGIN
    items, flagged = [], []
    for item in inst.items:
        measured = _measured(item, ITEM_VARIANTS, replies)
        if not measured:
            continue
        stat = max(s.ratio for _, s, _ in measured)
        is_flagged = bound is not None and stat > bound
        by_variant = {v.value: None for v in ITEM_VARIANTS} | {v.value: s.ratio for v, s, _ in measured}
        items.append({"item_id": item.id, **by_variant, "similarity": stat, "flagged": is_flagged})
        if is_flagged:
            flagged.append({"item_id": item.id, "similarity": stat, "evidence": _evidence(item, measured)})
    return {
        "model": model,
        "instrument": inst.id,
        "run_id": run_id,
        "n_items": len(items),
        "n_flagged": len(flagged),
        "share_flagged": len(flagged) / len(items) if items else None,
        "n_controls": len(baseline),
        "control_max": control_max,
        "margin": MARGIN,
        "baseline_bound": bound,
        # The chance that an item the model has not seen is flagged, at most (see the module docstring).
        "false_flag_bound": 1 / (len(baseline) + 1),
        "statistic": STATISTIC,
        "items": items,
        "flagged": flagged,
    }
