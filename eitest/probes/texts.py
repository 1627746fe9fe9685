"""What the memorisation probe shows of an item and what it expects back, and its control texts.

An item is cut in two ways (version :data:`SPLIT_VERSION` of the rule): its situation at
half its words (the opening shown, the rest to continue), and its options after the
first half of them (those shown, the rest to give). The controls are texts no model can
have seen: words of sentences written for this probe (:data:`CONTROL_SENTENCES`), drawn
in a seeded order and laid out in each item's own shape (as many words in the situation
and in each option), so that a control is cut, asked and compared exactly as its item is.
They form an instrument of their own, which a probe run snapshots in the store beside the
instrument probed.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass

from eitest.instruments import Instrument, Item, parse_instrument

SPLIT_VERSION = "1"
# Under "no memorisation" an item's similarity and the controls' are exchangeable, so an item beats the
# largest of n controls with probability at most 1/(n + 1); 19 controls hold that to 5 %.
MIN_CONTROLS = 19
CONTROL_PREFIX = "probe-control-"

# Written for this probe (plain everyday prose, in no test and on no page the probe knows of).
CONTROL_SENTENCES = (
    "The ferry left the harbour twenty minutes late because a delivery van blocked the ramp.",
    "Most of the seedlings on the windowsill leaned toward the glass by the end of the week.",
    "A folded map of the old tram lines was tucked behind the clock in the hallway.",
    "The bakery on the corner sells rye loaves on Tuesdays and sourdough on every other day.",
    "Rain had filled the wheelbarrow overnight, so the bricks stayed in the shed until noon.",
    "Somebody had written the wifi password in pencil on the back of the kitchen door.",
    "The library moved its returns box to the side entrance while the steps were repaired.",
    "Three bicycles were chained to the railing, one of them missing its front wheel.",
    "The recipe called for two lemons, but the shop around the corner only had limes.",
    "An orange cat slept on the photocopier every afternoon as if it were paid to do so.",
    "The night bus stops twice on the bridge, once on each bank of the river.",
    "Her uncle keeps his fishing tackle in a biscuit tin painted with tiny green ships.",
    "The meeting room on the fourth floor has a window that only opens a few centimetres.",
    "A row of umbrellas dried open along the corridor of the primary school.",
    "The tailor measured the sleeve twice and then wrote the numbers on a scrap of card.",
    "Every jar in the pantry had a label, although half of the labels were wrong.",
    "The train to the coast runs along the canal for the first part of the journey.",
    "Pigeons gathered under the market stalls as soon as the fruit sellers packed up.",
    "The spare key was hidden inside a plastic stone that fooled nobody in the street.",
    "Snow on the allotments made the rows of cabbages look like buttons on a quilt.",
    "The ceiling fan in the waiting room turned so slowly that it barely moved the air.",
    "He sorted the screws into egg boxes, one size to each little cup.",
    "The museum closes its upper gallery on Mondays to dust the glass cases.",
    "A new roundabout has replaced the traffic lights at the end of the high street.",
    "The printer on the second floor jams whenever anyone tries to print on both sides.",
    "Tea leaves collected in the strainer and were tipped onto the compost heap.",
    "The choir practised in the church hall, which smelled faintly of floor polish.",
    "Along the footpath someone had planted sunflowers between the fence posts.",
    "The old radio only picks up two stations, and one of them plays shipping forecasts.",
    "Paper lanterns hung from the balcony long after the summer festival had ended.",
)


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


def _words(seed: str) -> Iterator[str]:
    """An endless stream of the control sentences' words, in an order seeded by ``seed``."""
    rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    order = list(CONTROL_SENTENCES)
    while True:
        rng.shuffle(order)
        for sentence in order:
            yield from sentence.split()


def _take(stream: Iterator[str], n: int) -> str:
    return " ".join(next(stream) for _ in range(max(1, n)))


def control_instrument(inst: Instrument) -> Instrument:
    """The probe's controls for ``inst``: one per item (at least :data:`MIN_CONTROLS`), each in its item's shape.

    Control ``j`` takes the shape of item ``j mod n``: a situation of as many words, the
    item's question, and options of as many words each. The same instrument always gives
    the same controls.
    """
    n = max(inst.n_items, MIN_CONTROLS)
    items = []
    for j in range(n):
        model = inst.items[j % inst.n_items]
        stream = _words(f"{inst.content_hash}\x1f{j}")
        options = [{"id": o.id, "text": _take(stream, len(o.text.split()))} for o in model.options]
        items.append(
            {
                "id": f"{CONTROL_PREFIX}{j + 1:03d}",
                "stem": _take(stream, len(model.stem.split())),
                "question": model.question,
                "options": options,
                "key": model.options[0].id,
                "meta": {"shape_of": model.id},
            }
        )
    data = {
        "id": f"{inst.id}.probe-controls",
        "name": f"Controls of the memorisation probe of {inst.id}",
        "construct": "none (control texts of the memorisation probe)",
        "version": SPLIT_VERSION,
        "citation": "texts written for eitest's memorisation probe",
        "license": "CC0-1.0",
        "instructions": inst.instructions,
        "scoring": "keyed",
        "items": items,
    }
    return parse_instrument(data, f"the memorisation probe's controls for {inst.id}")
