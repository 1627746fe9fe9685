"""What the memorisation probe shows of an item and what it expects back, and its control texts.

An item is cut in two ways (version :data:`SPLIT_VERSION` of the rule): its situation at
half its words (the opening shown, the rest to continue), and its options after the
first half of them (those shown, the rest to give).

The controls are the baseline: items that the model cannot have seen, but that are as
predictable as the probed items would be if it had not seen them. Text of another kind
is no baseline: a model that knows the genre (scenarios ending in stock emotion words)
guesses much of an unseen item's rest, and nothing of a shuffled sentence's. So the
controls are items of the same style that were never published as a test's items: by
default the open set written for eitest in that style (:data:`OPEN_CONTROLS`), or any
such instrument the user gives. They are cut, asked and compared as the items are, filed
under ids of their own (:data:`CONTROL_PREFIX`), and form an instrument that a probe run
snapshots in the store beside the instrument probed.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from eitest.instruments import Instrument, Item, parse_instrument

SPLIT_VERSION = "2"  # 2: controls are unpublished items of the same style (1 cut shuffled sentences into shape)
# With n controls exchangeable with unseen items, an unseen item beats the largest of them with probability at
# most 1/(n + 1); 19 controls hold that to 5 %.
MIN_CONTROLS = 19
CONTROL_PREFIX = "probe-control-"
# Published tests -> the open items written for eitest in their style (instruments/), never published as a test's.
OPEN_CONTROLS = {"steu": "open-steu", "steu-b": "open-steu", "stem": "open-stem", "stem-b": "open-stem"}


@dataclass(frozen=True)
class Cut:
    """What a trial shows of a text and the true rest that it asks for."""

    shown: str | tuple[str, ...]  # the opening, or the option texts shown
    truth: str  # the rest of the situation, or the remaining option texts one per line


def opening_cut(item: Item) -> Cut:
    """The situation's first half of words shown; the rest to continue (at least one word each side when it has two)."""
    words = item.stem.split()
    k = max(1, len(words) // 2)
    return Cut(" ".join(words[:k]), " ".join(words[k:]))


def options_cut(item: Item) -> Cut:
    """The first half of the options shown (at least one); the texts of the others, one per line, to give."""
    texts = [o.text.strip() for o in item.options]
    k = max(1, len(texts) // 2)
    return Cut(tuple(texts[:k]), "\n".join(texts[k:]))


def _plain(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def _modal_options(inst: Instrument) -> int:
    return Counter(len(it.options) for it in inst.items).most_common(1)[0][0]


def controls_problem(inst: Instrument, source: Instrument) -> str | None:
    """Why ``source`` cannot be the controls of ``inst`` (None when it can), in words for the user."""
    if source.is_metadata_only:
        return f"{source.id} has no items on this machine"
    stems = {_plain(it.stem) for it in inst.items}
    shared = [it.id for it in source.items if _plain(it.stem) in stems]
    if source.id == inst.id or shared:
        return (
            f"{source.id} shares item texts with {inst.id} ({shared[0] if shared else 'all'}): "
            "controls must be items the model cannot have seen"
        )
    if source.n_items < MIN_CONTROLS:
        return f"{source.id} has {source.n_items} items; the baseline needs at least {MIN_CONTROLS}"
    if _modal_options(source) != _modal_options(inst):
        return (
            f"{source.id}'s items have {_modal_options(source)} options and {inst.id}'s {_modal_options(inst)}: "
            "controls must be items of the same style"
        )
    return None


def control_instrument(inst: Instrument, source: Instrument) -> Instrument:
    """The probe's controls for ``inst``: the items of ``source``, as they are, under ids of their own.

    ``source`` must pass :func:`controls_problem` (a ValueError says why when it does not).
    """
    problem = controls_problem(inst, source)
    if problem is not None:
        raise ValueError(problem)
    items = [
        {
            "id": f"{CONTROL_PREFIX}{it.id}",
            "stem": it.stem,
            "question": it.question,
            "options": [{"id": o.id, "text": o.text} for o in it.options],
            "key": it.options[0].id,
            "meta": {"control_from": source.id, "source_item": it.id},
        }
        for it in source.items
    ]
    data = {
        "id": f"{inst.id}.probe-controls",
        "name": f"Controls of the memorisation probe of {inst.id}: the items of {source.id}",
        "construct": "none (control texts of the memorisation probe)",
        "version": SPLIT_VERSION,
        "citation": source.citation,
        "license": source.license,
        "instructions": inst.instructions,
        "scoring": "keyed",
        "items": items,
    }
    return parse_instrument(data, f"the memorisation probe's controls for {inst.id}")


def controls_source(controls: Instrument) -> str | None:
    """The instrument whose items ``controls`` are (None for controls of split version 1)."""
    meta = controls.items[0].meta if controls.items else None
    return meta.get("control_from") if isinstance(meta, dict) else None
