"""Reading a model's reply: the list of raw items in it, and each item checked by the source's rules.

A reply may wrap its JSON in a ```json fence or in prose; an item is checked by the
instrument loader (:func:`eitest.instruments.parse_instrument`, so the messages are the
ones ``eitest instruments validate`` prints) and must have as many options as the
source's items.
"""

from __future__ import annotations

import re
from typing import Any

from eitest.generate.prompt import option_counts
from eitest.instruments import Instrument, InstrumentError, Item, parse_instrument
from eitest.reading import ReadError, parse_json


class ReplyError(ValueError):
    """A reply that holds no usable list of items."""


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)


def parse_reply(text: str | None) -> list[Any]:
    """The list of raw items in a reply: ``{"items": [...]}`` or a bare list, fenced or not."""
    if text is None or not text.strip():
        raise ReplyError("the reply is empty")
    body = text.strip()
    fenced = _FENCE.search(body)
    if fenced:
        body = fenced.group(1).strip()
    # The reading layer's JSON: nesting bounded (a deep reply is no RecursionError), duplicate keys refused.
    try:
        data = parse_json(body, "the reply")
    except ReadError as exc:
        data = None
        # Text around the object ("Here are the items: {...}"): try the outermost braces.
        start, end = body.find("{"), body.rfind("}")
        if 0 <= start < end:
            try:
                data = parse_json(body[start : end + 1], "the reply")
            except ReadError:
                data = None
        if data is None:
            where, what = exc.problems[0]
            raise ReplyError(
                f"the reply is not valid JSON ({what.removeprefix('not valid JSON: ').split(';')[0]} at {where})"
            ) from None
    if isinstance(data, dict) and "items" in data:
        data = data["items"]
    if not isinstance(data, list):
        raise ReplyError('the reply is JSON but not an object with an "items" list')
    return data


def check_candidate(raw: Any, source: Instrument, item_id: str) -> tuple[Item | None, list[str]]:
    """Validate one raw item from a reply by the source's rules; the item, or the reasons it fails."""
    if not isinstance(raw, dict):
        return None, [f"an item must be a JSON object, got {type(raw).__name__}"]
    # Human data (human_p) and provenance (meta) are eitest's to record, never the model's.
    reserved = sorted(k for k in ("human_p", "meta") if k in raw)
    if reserved:
        return None, [f"{k}: not a field the model may set" for k in reserved]
    data = {k: v for k, v in raw.items() if k != "id"}
    data["id"] = item_id
    if isinstance(data.get("options"), list):
        # Models sometimes number the option ids; the loader wants strings.
        data["options"] = [
            {**o, "id": str(o["id"])} if isinstance(o, dict) and isinstance(o.get("id"), int) else o
            for o in data["options"]
        ]
    meta = {
        "id": source.id,
        "name": source.name,
        "construct": source.construct,
        "version": source.version,
        "citation": source.citation,
        "license": source.license,
        "instructions": source.instructions,
        "scoring": source.scoring,
    }
    try:
        inst = parse_instrument({**meta, "items": [data]}, source="reply")
    except InstrumentError as exc:
        return None, [f"{p.field}: {p.message}" for p in exc.problems]
    item = inst.items[0]
    allowed = option_counts(source)
    if len(item.options) not in allowed:
        want = " or ".join(str(k) for k in sorted(allowed))
        return None, [f"options: {len(item.options)} options, but {source.id} items have {want}"]
    return item, []
