"""The prompt of one generation call: the source's construct, scoring rule and option ids, and example items.

The wording is protocol :data:`GENERATE_PROTOCOL_VERSION`; every generated item
records that version in its ``meta``, so a change of wording here must raise it.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

from eitest.instruments import Instrument, Item

GENERATE_PROTOCOL_VERSION = "1"


def option_counts(source: Instrument) -> list[int]:
    """Option counts of the source's items, most common first."""
    return [k for k, _ in Counter(len(it.options) for it in source.items).most_common()]


def _example(item: Item) -> dict[str, Any]:
    ex: dict[str, Any] = {
        "stem": " ".join(item.stem.split()),
        "question": item.question.strip(),
        "options": [{"id": o.id, "text": o.text} for o in item.options],
    }
    if item.weights is not None:
        ex["weights"] = dict(item.weights)
    else:
        ex["key"] = item.key
    if item.rationale:
        ex["rationale"] = item.rationale
    return ex


def pick_examples(source: Instrument, k: int, seed: int) -> list[Item]:
    """``k`` source items drawn without replacement, reproducibly from ``seed``, in source order."""
    k = min(k, source.n_items)
    chosen = set(random.Random(seed).sample(range(source.n_items), k))
    return [it for i, it in enumerate(source.items) if i in chosen]


def _scoring_rule(source: Instrument) -> str:
    if source.scoring == "keyed":
        return (
            'Each item has exactly one correct option. Give its option id as "key". '
            "The key must be defensible by a careful expert, and the distractors must be plausible but wrong."
        )
    sums = {round(sum(it.weights.values()), 6) for it in source.items if it.weights}
    rule = (
        'Each option earns a credit between 0 and 1, given as "weights" (an object from option id to credit). '
        "Exactly one option must have the highest credit."
    )
    if sums == {1.0}:
        rule += " As in the examples, the credits of an item sum to 1 (they stand for the share of experts who would choose each option)."
    if source.weights_source:
        rule += f" In the source test the weights were set as follows: {source.weights_source}"
    return rule


def build_messages(
    source: Instrument, examples: list[Item], n: int, feedback: list[str] | None = None
) -> list[dict[str, str]]:
    """The chat messages of one generation call (protocol :data:`GENERATE_PROTOCOL_VERSION`)."""
    counts = option_counts(source)
    n_opt = counts[0]
    ids = [o.id for o in next(it for it in source.items if len(it.options) == n_opt).options]
    key_field = (
        '"weights": {' + ", ".join(f'"{i}": 0.0' for i in ids) + "}"
        if source.scoring == "weighted"
        else f'"key": "{ids[0]}"'
    )
    schema = (
        '{"items": [{"stem": "...", "question": "...", "options": ['
        + ", ".join(f'{{"id": "{i}", "text": "..."}}' for i in ids)
        + f"], {key_field}, "
        + '"rationale": "..."}]}'
    )
    lines = [
        f'Write {n} new item{"s" if n != 1 else ""} for the test "{source.name}", which measures {source.construct}.',
        "",
        "What a test taker reads before the items:",
        source.instructions.strip(),
        "",
        f'Every item has a situation ("stem"), a question, and exactly {n_opt} options with the ids {", ".join(ids)}.',
        f"Scoring: {_scoring_rule(source)}",
        'Give each item a one-line "rationale" saying why the best option is best.',
        "",
        "Rules:",
        "- Write new situations with new people, names and contexts (work, family, friendship, health, study, money).",
        "- Never copy, translate or paraphrase the examples below or items of any published test.",
        "- One best answer a careful reader can defend; no trick questions and no giveaways: the best option is not longer or more specific than the others.",
        "- Spread the position of the best option evenly over the option ids.",
        "- Plain language, no regional idioms.",
    ]
    if examples:
        lines += [
            "",
            f"{len(examples)} example item{'s' if len(examples) != 1 else ''} of the test, to show the style and the structure only:",
        ]
        lines.append(json.dumps({"items": [_example(it) for it in examples]}, indent=2, ensure_ascii=False))
    if feedback:
        lines += ["", "Your previous reply was not accepted, for these reasons; avoid them this time:"]
        lines += [f"- {f}" for f in feedback[:8]]
    lines += ["", "Reply with a JSON object only, no other text, in this form:", schema]
    system = "You are an experienced psychometrician who writes items for ability tests of emotional intelligence."
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(lines)}]
