"""The probe's false-flag rate under a responder that knows the genre but has seen no item (tests/probes/genre.py).

The flag rule's nominal rate, 1/(n+1) for n controls, holds when the controls are as
predictable as unseen items. Splitting one set of never-published items at random into
"probed" and "controls" makes them so by construction; over many splits the share of
items flagged must stay at or below the nominal rate. Controls of another kind (prose
cut to the items' shape, as the probe once used) must not pass: the same responder then
has many unseen items flagged, which is why the probe refuses them.
"""

from __future__ import annotations

import random

from genre import genre_reply

from eitest.instruments import Instrument, get, parse_instrument
from eitest.probes.findings import CONTROL_VARIANTS, ITEM_VARIANTS, ProbeReply, memorisation_finding
from eitest.probes.texts import control_instrument

PROSE = (
    "the ferry left late because a van blocked the ramp and rain filled the barrow so bricks stayed in the shed "
    "while a cat slept on the copier and the night bus stopped twice on the bridge over the river"
).split()


def genre_replies(inst: Instrument, controls: Instrument, rng: random.Random) -> list[ProbeReply]:
    out = []
    for source, variants in ((inst, ITEM_VARIANTS), (controls, CONTROL_VARIANTS)):
        for item in source.items:
            for variant in variants:
                out.append(ProbeReply(item.id, variant.value, "answered", genre_reply(item, variant, rng)))
    return out


def split(pool: Instrument, k: int, rng: random.Random) -> tuple[Instrument, Instrument]:
    items = list(pool.items)
    rng.shuffle(items)
    probed = pool.model_copy(update={"id": "probed", "items": tuple(items[:k])})
    return probed, pool.model_copy(update={"id": "unseen", "items": tuple(items[k:])})


def flag_rate(pool: str, k: int, seeds: int) -> tuple[float, float]:
    """Share of items flagged over ``seeds`` random splits of ``pool``, and the nominal rate 1/(n+1)."""
    rng = random.Random(20261201)
    flagged = probed_n = 0
    for _ in range(seeds):
        probed, unseen = split(get(pool), k, rng)
        controls = control_instrument(probed, unseen)
        found = memorisation_finding("genre", probed, controls, genre_replies(probed, controls, rng))
        flagged, probed_n = flagged + found["n_flagged"], probed_n + found["n_items"]
        nominal = found["false_flag_rate_if_exchangeable"]
    return flagged / probed_n, nominal


def test_with_same_style_controls_the_genre_aware_null_is_flagged_at_most_at_the_nominal_rate():
    rate, nominal = flag_rate("open-steu", 20, 100)  # 20 probed, 25 controls: nominal 1/26
    assert nominal == 1 / 26 and rate <= nominal
    rate, nominal = flag_rate("open-stem", 12, 60)  # 12 probed, 20 controls: nominal 1/21
    assert nominal == 1 / 21 and rate <= nominal


def prose_controls(inst: Instrument, rng: random.Random) -> Instrument:
    """Controls of unrelated prose laid out in each item's shape (what version 1 of the probe used)."""

    def words(n: int) -> str:
        return " ".join(rng.choice(PROSE) for _ in range(max(1, n)))

    items = [
        {"id": f"probe-control-{j:03d}", "stem": words(len(it.stem.split())), "question": it.question,
         "options": [{"id": o.id, "text": words(len(o.text.split()))} for o in it.options], "key": it.options[0].id}
        for j, it in enumerate(inst.items)
    ]  # fmt: skip
    data = {"id": "prose", "name": "prose", "construct": "none", "version": "1", "citation": "here",
            "license": "CC0-1.0", "instructions": "-", "scoring": "keyed", "items": items}  # fmt: skip
    return parse_instrument(data, "prose controls")


def test_controls_easier_to_tell_apart_than_unseen_items_flag_many_of_them():
    rng = random.Random(5)
    inst = get("open-steu")  # written for eitest: no model has it memorised as a test
    flagged = 0
    for _ in range(5):
        controls = prose_controls(inst, rng)
        found = memorisation_finding("genre", inst, controls, genre_replies(inst, controls, rng))
        flagged += found["n_flagged"]
    assert found["n_items"] == 45 and found["false_flag_rate_if_exchangeable"] == 1 / 46
    assert flagged / (5 * 45) > 4 / 46  # more than four times the nominal rate: such controls are no baseline
