"""How the probe cuts an item, and its control texts: in each item's shape, fixed, and of words written for the probe."""

from __future__ import annotations

from probe_items import ITEMS, form

from eitest.probes.texts import (
    CONTROL_PREFIX,
    CONTROL_SENTENCES,
    MIN_CONTROLS,
    control_instrument,
    opening_cut,
    options_cut,
)


def test_an_item_is_cut_at_half_its_words_and_after_half_its_options():
    item = form().items[0]
    words = ITEMS[0]["stem"].split()
    opening = opening_cut(item)
    assert opening.shown == " ".join(words[: len(words) // 2])
    assert opening.truth == " ".join(words[len(words) // 2 :])
    assert f"{opening.shown} {opening.truth}" == " ".join(words)
    options = options_cut(item)  # five options: two shown, three asked for
    texts = [o["text"] for o in ITEMS[0]["options"]]
    assert (options.shown, options.truth) == (tuple(texts[:2]), "\n".join(texts[2:]))


def test_the_controls_take_each_items_shape_in_words_written_for_the_probe():
    inst = form()
    controls = control_instrument(inst)
    assert controls.n_items == max(inst.n_items, MIN_CONTROLS) == 20
    probe_words = {w for s in CONTROL_SENTENCES for w in s.split()}
    item_stems = {it.stem for it in inst.items}
    for control, item in zip(controls.items, inst.items, strict=True):
        assert control.id.startswith(CONTROL_PREFIX) and control.meta["shape_of"] == item.id
        assert len(control.stem.split()) == len(item.stem.split()) and control.stem not in item_stems
        assert [len(o.text.split()) for o in control.options] == [len(o.text.split()) for o in item.options]
        assert set(control.stem.split()) <= probe_words
    assert control_instrument(inst).content_hash == controls.content_hash  # the same instrument, the same controls


def test_a_short_instrument_still_gets_enough_controls():
    inst = form().model_copy(update={"items": form().items[:3]})
    controls = control_instrument(inst)
    assert controls.n_items == MIN_CONTROLS
    assert [c.meta["shape_of"] for c in controls.items[:4]] == ["m00", "m01", "m02", "m00"]
    assert len({c.stem for c in controls.items}) == MIN_CONTROLS  # each drawn apart
