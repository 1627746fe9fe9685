"""The flag rule, checked by simulation with responders of known behaviour, and the bound's arithmetic."""

from __future__ import annotations

import random

import pytest
from probe_items import form

from eitest.probes.findings import CONTROL_VARIANTS, ITEM_VARIANTS, MARGIN, ProbeReply, memorisation_finding
from eitest.probes.memorisation import cut_of
from eitest.probes.similarity import compare
from eitest.probes.texts import control_instrument

# Words of no item and no control: what a responder that has seen nothing writes.
OTHER = (
    "harbour ledger tram committee timber valley reservoir survey the a of and in on was were parking scheme vote "
    "spring freight steady forty miles dawn geese published thursday quarterly figures volunteers each from at with"
).split()
INST = form()
CONTROLS = control_instrument(INST, form(controls=True))


def replies(answer) -> list[ProbeReply]:
    """Every probe trial of INST and its controls answered by ``answer(item, variant, truth)``."""
    out = []
    for source, variants in ((INST, ITEM_VARIANTS), (CONTROLS, CONTROL_VARIANTS)):
        for item in source.items:
            for variant in variants:
                out.append(
                    ProbeReply(item.id, variant.value, "answered", answer(item, variant, cut_of(item, variant).truth))
                )
    return out


def unrelated(rng: random.Random):
    def answer(item, variant, truth: str) -> str:
        n = max(1, len(truth.split()) + rng.randint(-3, 3))
        return " ".join(rng.choice(OTHER) for _ in range(n))

    return answer


def test_a_responder_that_writes_unrelated_text_is_flagged_on_at_most_5_percent_of_items():
    rng = random.Random(20261201)
    flagged = items = 0
    for _ in range(30):  # 30 simulated models x 20 items
        found = memorisation_finding("m", INST, CONTROLS, replies(unrelated(rng)))
        flagged, items = flagged + found["n_flagged"], items + found["n_items"]
    assert items == 600
    assert flagged / items <= 0.05


def test_a_responder_that_knows_the_items_is_flagged_on_all_of_them():
    rng = random.Random(7)
    noise = unrelated(rng)

    def knows(item, variant, truth: str) -> str:
        return truth if variant in ITEM_VARIANTS else noise(item, variant, truth)

    found = memorisation_finding("m", INST, CONTROLS, replies(knows), run_id="r1")
    assert (found["n_items"], found["n_flagged"], found["n_controls"]) == (20, 20, 20)
    first = found["flagged"][0]
    assert first["similarity"] == 1.0 and {e["variant"] for e in first["evidence"]} == {"opening", "options"}
    assert first["evidence"][0]["continuation"] == first["evidence"][0]["truth"]


def test_the_bound_is_the_largest_control_similarity_plus_the_margin():
    rng = random.Random(11)
    answers = replies(unrelated(rng))
    found = memorisation_finding("m", INST, CONTROLS, answers)
    by_key = {(r.item_id, r.variant): r.reply for r in answers}
    expected = max(
        max(compare(by_key[(c.id, v.value)], cut_of(c, v).truth).ratio for v in CONTROL_VARIANTS)
        for c in CONTROLS.items
    )
    assert found["control_max"] == pytest.approx(expected, abs=1e-15)
    assert found["baseline_bound"] == pytest.approx(expected + MARGIN, abs=1e-15)
    assert found["false_flag_rate_if_exchangeable"] == pytest.approx(1 / 21, abs=1e-15)
    assert found["controls_from"] == "probe-controls-form" and "as predictable as" in found["baseline_assumption"]
    assert "false_flag_bound" not in found  # no bound is claimed beyond what the controls' exchangeability gives
    for row in found["items"]:
        assert row["flagged"] is (row["similarity"] > found["baseline_bound"])


def test_failed_calls_are_left_out_and_without_controls_nothing_is_flagged():
    failed = [ProbeReply(r.item_id, r.variant, "error", None) if r.item_id in ("m00", "probe-control-c00") else r
              for r in replies(lambda item, variant, truth: truth)]  # fmt: skip
    found = memorisation_finding("m", INST, CONTROLS, failed)
    assert (found["n_items"], found["n_controls"]) == (19, 19)
    assert found["false_flag_rate_if_exchangeable"] == pytest.approx(1 / 20, abs=1e-15)
    only_items = [r for r in failed if not r.item_id.startswith("probe-control-")]
    alone = memorisation_finding("m", INST, CONTROLS, only_items)
    assert (alone["n_controls"], alone["baseline_bound"], alone["n_flagged"]) == (0, None, 0)


def test_a_reasoning_models_think_block_is_not_read_as_its_continuation():
    def thinks(item, variant, truth: str) -> str:
        return (
            f"<think>I have seen this passage; it goes on like this.</think>\n{truth}"
            if variant in ITEM_VARIANTS
            else "no"
        )

    found = memorisation_finding("m", INST, CONTROLS, replies(thinks))
    assert [row["similarity"] for row in found["items"]] == [1.0] * 20
    assert found["flagged"][0]["evidence"][0]["continuation"].startswith("<think>")  # the evidence is the raw reply
