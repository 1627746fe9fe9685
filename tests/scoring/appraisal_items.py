"""Items written for the comparison and panel tests, in the STEU style (keyed by appraisal theory).

Written here for these tests; none is copied, translated or paraphrased from a
published test. Each keys one appraisal pattern, with distractors one or two
dimensions away. The ``human_p`` values that the panel tests attach to them are
SYNTHETIC (made up for the tests, no human ever answered these items): they stand
for a norm sample only so that a calibration has something to track.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import instrument_data

# (id, stem, the person, options, key, appraisal)
_RAW: list[tuple[str, str, str, list[str], str, str]] = [
    ("ap-01", "Lena's landlord keeps the deposit for damage that was there before she moved in, and he will not "
     "answer her messages. She has the photos she took on the first day.", "Lena",
     ["Anger", "Sadness", "Guilt", "Fear", "Relief"], "a", "other-caused, high control, instrumental"),
    ("ap-02", "The biopsy result Tomasz has waited a week for comes back clear.", "Tomasz",
     ["Pride", "Relief", "Hope", "Surprise", "Gratitude"], "b", "aversive outcome avoided"),
    ("ap-03", "Amara's bus breaks down on the way to an interview; the next one would still get her there on time "
     "if it comes soon.", "Amara", ["Regret", "Contempt", "Frustration", "Sadness", "Shame"], "c",
     "circumstances, goal blocked, high control"),
    ("ap-04", "Diego finishes the marathon he spent a year training for, in a time better than he had hoped.",
     "Diego", ["Relief", "Gratitude", "Hope", "Pride", "Surprise"], "d", "motive-consistent, self-caused"),
    ("ap-05", "A neighbour Mei has barely spoken to shovels the snow from her path while she is in hospital.",
     "Mei", ["Pride", "Guilt", "Relief", "Surprise", "Gratitude"], "e", "motive-consistent, other-caused"),
    ("ap-06", "Farid's old dog, who had been with him for fourteen years, dies in her sleep.", "Farid",
     ["Sadness", "Anger", "Regret", "Fear", "Frustration"], "a", "appetitive loss, certain, circumstances"),
    ("ap-07", "Ines hears a noise downstairs at night. She lives alone and does not know whether someone is in "
     "the house.", "Ines", ["Anger", "Fear", "Sadness", "Surprise", "Distress"], "b",
     "motive-inconsistent, uncertain, low control"),
    ("ap-08", "Kofi forgot to send the report his colleague needed and she had to stay late to redo her part. He "
     "can still offer to take her next shift.", "Kofi", ["Shame", "Regret", "Guilt", "Sadness", "Fear"], "c",
     "self-caused wrong that can be made good"),
    ("ap-09", "Priya's application for a grant is still under review; the panel meets next month and her chances "
     "look fair.", "Priya", ["Joy", "Fear", "Relief", "Hope", "Pride"], "d", "consistent outcome possible, uncertain"),
    ("ap-10", "At a dinner, Sven watches a guest mock the waiter's accent for the table's amusement.", "Sven",
     ["Fear", "Guilt", "Sadness", "Anger", "Contempt"], "e", "other-caused, intrinsic: something wrong in them"),
    ("ap-11", "Rosa finds out she has won a weekend trip in a draw at her local shop.", "Rosa",
     ["Joy", "Pride", "Relief", "Gratitude", "Hope"], "a", "consistent, appetitive, certain, circumstances"),
    ("ap-12", "Yusuf sold his flat a year ago; since then prices in the area have doubled and he could not buy "
     "back in.", "Yusuf", ["Frustration", "Regret", "Guilt", "Anger", "Sadness"], "b",
     "self-caused, low control now"),
    ("ap-13", "Hana opens a container at the back of the fridge and finds it full of mould and a sour smell.",
     "Hana", ["Fear", "Anger", "Disgust", "Contempt", "Surprise"], "c", "intrinsic: something repulsive"),
    ("ap-14", "Malik learns that a flood has closed the only road to his village, and nothing can be done until "
     "the water falls; his family there is safe but cut off for weeks.", "Malik",
     ["Anger", "Guilt", "Frustration", "Distress", "Hope"], "d", "aversive, certain, low control"),
    ("ap-15", "Chloe walks into her flat and her friends, whom she thought were abroad, jump out to greet her.",
     "Chloe", ["Fear", "Pride", "Gratitude", "Relief", "Surprise"], "e", "unexpected"),
    ("ap-16", "Ahmed stumbles over his words in front of the whole class and believes it shows he is simply not "
     "clever enough.", "Ahmed", ["Shame", "Guilt", "Fear", "Regret", "Sadness"], "a",
     "self-caused, intrinsic: a defect in oneself"),
    ("ap-17", "Olga's train to the airport is cancelled, but a later one would still make her flight if she takes "
     "it now.", "Olga", ["Sadness", "Frustration", "Regret", "Contempt", "Distress"], "b",
     "circumstances, high control potential"),
    ("ap-18", "Jun's brother repays, without being asked, money Jun lent him long ago and had given up on.",
     "Jun", ["Pride", "Hope", "Gratitude", "Guilt", "Fear"], "c", "consistent, caused by another person"),
]  # fmt: skip

LETTERS = "abcde"


def items(human_p: dict[str, float] | None = None, ids: list[str] | None = None) -> list[dict[str, Any]]:
    """The items as instrument-file dicts; ``human_p`` gives some of them a (synthetic) proportion correct."""
    out = []
    for item_id, stem, person, options, key, appraisal in _RAW:
        if ids is not None and item_id not in ids:
            continue
        item: dict[str, Any] = {
            "id": item_id,
            "stem": stem,
            "question": f"What is {person} most likely to feel?",
            "options": [{"id": LETTERS[k], "text": text} for k, text in enumerate(options)],
            "key": key,
            "appraisal": appraisal,
        }
        if human_p and item_id in human_p:
            item["human_p"] = human_p[item_id]
        out.append(item)
    return out


def keyed_text(item_id: str) -> str:
    for raw in _RAW:
        if raw[0] == item_id:
            return raw[3][LETTERS.index(raw[4])]
    raise KeyError(item_id)


def wrong_text(item_id: str) -> str:
    """The first option that is not the key."""
    for raw in _RAW:
        if raw[0] == item_id:
            return next(t for k, t in enumerate(raw[3]) if LETTERS[k] != raw[4])
    raise KeyError(item_id)


def item_of(prompt: str) -> str | None:
    """Which of these items a prompt is about (by its stem)."""
    for raw in _RAW:
        if raw[1] in prompt:
            return raw[0]
    return None


ALL_IDS = [raw[0] for raw in _RAW]


def write_instrument(path: Path, inst_id: str, item_dicts: list[dict[str, Any]]) -> Path:
    """An instrument file (JSON) with these items."""
    data = instrument_data(inst_id, item_dicts, instructions="Choose the emotion the person is most likely to feel.")
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
