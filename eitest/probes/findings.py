"""Which items look memorised: each item's similarity against the baseline of the control items.

An item's statistic is the larger of its two similarities (opening, options; the
``ratio`` of :func:`eitest.probes.similarity.compare`), and each control's the same.
The baseline's upper bound is the largest control statistic plus :data:`MARGIN`; an item
above it is flagged.

What the bound's error rate rests on: if the controls are as predictable as the items
would be to a model that has not seen them (exchangeable with unseen items: same style,
same kind of options, equally guessable), an unseen item is one more draw from the
controls' distribution and beats the largest of n with probability at most 1 / (n + 1),
an order statistic (the margin only lowers it). That is why the controls are unpublished
items of the same style (:mod:`eitest.probes.texts`), and why it is an assumption, not a
guarantee: controls easier to guess than the items (shuffled prose, another test's
style) make unseen items look memorised. The tests check the rate by simulation with a
responder that knows the genre but no item (``tests/probes/test_genre_null.py``).

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
from eitest.probes.texts import controls_source
from eitest.vocabulary import ProbeVariant, Status

MARGIN = 0.05  # on the 0-1 scale of the similarity
STATISTIC = "rapidfuzz normalised Indel similarity of the word tokens (0-1), the larger of opening and options"
ASSUMPTION = (
    "the controls are as predictable as the items would be to a model that has not seen them (same style, "
    "never published); the false-flag rate holds only as far as that does"
)
ITEM_VARIANTS = (ProbeVariant.OPENING, ProbeVariant.OPTIONS)
CONTROL_VARIANTS = (ProbeVariant.CONTROL_OPENING, ProbeVariant.CONTROL_OPTIONS)
METHODS = (
    "Memorisation probe: the model was given the first half of each item's situation and asked to continue it "
    "word for word, and separately the situation with its first options and asked for the rest; each reply was "
    "compared with the true text (rapidfuzz's normalised similarity of the words, with the share of the true words "
    "reproduced and the longest common run). The same was done on control items of the same style that were never "
    "published ({controls}); an item is flagged when its similarity passes the largest control similarity plus "
    "{margin:g}. If the controls are as predictable as the items would be to a model that had not seen them, such "
    "a model has in expectation at most 1/(n+1) of the items flagged (n controls); controls easier or harder to "
    "guess than the items move that rate either way. A flag is evidence that the model has seen the item's text; no flag is not "
    "proof that it has not (a model may have seen an item and not reproduce it, or decline to)."
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
        "controls_from": controls_source(controls),
        "control_max": control_max,
        "margin": MARGIN,
        "baseline_bound": bound,
        # The chance that an item the model has not seen is flagged, at most, if the controls are exchangeable
        # with unseen items (the module docstring): an assumption, which baseline_assumption states.
        "false_flag_rate_if_exchangeable": 1 / (len(baseline) + 1),
        "baseline_assumption": ASSUMPTION,
        "statistic": STATISTIC,
        "items": items,
        "flagged": flagged,
    }
