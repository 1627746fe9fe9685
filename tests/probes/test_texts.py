"""How the probe cuts an item, and its controls: never-published items of the same style, under ids of their own."""

from __future__ import annotations

import pytest
from probe_items import CONTROL_ITEMS, ITEMS, form

from eitest.administer.study import StudyError
from eitest.instruments import get
from eitest.probes.running import controls_for
from eitest.probes.texts import (
    CONTROL_PREFIX,
    MIN_CONTROLS,
    control_instrument,
    controls_problem,
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


def test_the_controls_are_the_source_items_as_they_are_under_ids_of_their_own():
    inst, source = form(), form(controls=True)
    controls = control_instrument(inst, source)
    assert controls.n_items == len(CONTROL_ITEMS) == 20 and controls.id == "probe-form.probe-controls"
    for control, original in zip(controls.items, CONTROL_ITEMS, strict=True):
        assert control.id == CONTROL_PREFIX + original["id"]
        assert control.meta == {"control_from": "probe-controls-form", "source_item": original["id"]}
        assert (control.stem, control.question) == (original["stem"], original["question"])
        assert [o.text for o in control.options] == [o["text"] for o in original["options"]]
    assert control_instrument(inst, source).content_hash == controls.content_hash  # the same inputs, the same controls


def test_controls_that_share_an_item_are_too_few_or_of_another_style_are_refused_with_the_reason():
    inst, source = form(), form(controls=True)
    assert controls_problem(inst, source) is None
    overlapping = source.model_copy(update={"items": (*source.items[:19], inst.items[4])})
    assert "shares item texts with probe-form (m04)" in controls_problem(inst, overlapping)
    assert "shares item texts" in controls_problem(inst, inst)
    few = source.model_copy(update={"items": source.items[: MIN_CONTROLS - 1]})
    assert (
        controls_problem(inst, few) == f"probe-controls-form has 18 items; the baseline needs at least {MIN_CONTROLS}"
    )
    assert "items have 4 options and probe-form's 5" in controls_problem(inst, get("open-stem"))
    with pytest.raises(ValueError, match="at least 19"):
        control_instrument(inst, few)


def test_a_published_test_takes_the_open_items_of_its_style_and_an_open_one_needs_controls_given():
    steu_like = form().model_copy(update={"id": "steu"})  # as an imported STEU would be named
    assert controls_for(steu_like).id == "open-steu"
    with pytest.raises(StudyError, match="no baseline for open-steu: open-steu was written for eitest.*--controls"):
        controls_for(get("open-steu"))
    assert controls_for(form()).id == "open-steu"  # five single-word options: the STEU's shape
    three = form().model_copy(update={"items": tuple(it.model_copy(update={"options": it.options[:3]})
                                                       for it in form().items)})  # fmt: skip
    with pytest.raises(StudyError, match="no baseline for probe-form: eitest ships no unpublished items"):
        controls_for(three)
    with pytest.raises(StudyError, match="open-stem cannot be the memorisation probe's controls for steu"):
        controls_for(steu_like, "open-stem")
