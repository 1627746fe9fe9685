"""A responder that has seen no item but knows the genre: the null the memorisation probe must not flag.

Asked for the rest of an item's options, it lists stock emotion words (or stock coping actions)
not yet shown; asked to continue a situation, it writes a plausible sentence of the kind such
items end with. It treats items and controls alike, as a model that has memorised neither
would. The word lists and sentences are written here.
"""

from __future__ import annotations

import random

from eitest.instruments import Item
from eitest.probes.memorisation import cut_of
from eitest.vocabulary import ProbeVariant

EMOTIONS = (
    "Sadness Anger Fear Joy Surprise Guilt Shame Pride Relief Hope Regret Frustration Disgust Contempt "
    "Anxiety Gratitude Distress Happiness Embarrassment Jealousy Disappointment Liking Love Boredom"
).split()
ACTIONS = (
    "Talk to them about it calmly",
    "Make a plan to deal with the problem",
    "Ask a friend for advice",
    "Ignore it and hope it goes away",
    "Tell them off in front of everyone",
    "Think about what went well instead",
    "Take a short break and come back to it",
)
ENDINGS = (
    "and now they are not sure what to do about it, so they talk to a friend about how they feel.",
    "and later that day they think about what happened and what it means for them.",
    "but nobody says anything, and they go home wondering whether they could have done something.",
    "so they decide to wait and see how things turn out over the next few days.",
)


def genre_reply(item: Item, variant: ProbeVariant, rng: random.Random) -> str:
    """What the genre-aware responder replies to ``variant`` of ``item`` (items and controls alike)."""
    cut = cut_of(item, variant)
    if isinstance(cut.shown, str):
        return rng.choice(ENDINGS)
    shown = set(cut.shown)
    wanted = len(cut.truth.split("\n"))
    pool = EMOTIONS if all(len(s.split()) == 1 for s in shown) else ACTIONS
    fresh = [w for w in pool if w not in shown]
    head = fresh[:8]  # the commonest few, in no fixed order
    rng.shuffle(head)
    return "\n".join((head + fresh[8:])[:wanted])
