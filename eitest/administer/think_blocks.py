"""Reasoning inline in a reply: ``<think>...</think>`` blocks, as some local servers send a reasoning model's thoughts.

litellm moves a block that opens the reply into the message's ``reasoning_content`` itself;
what it leaves in the text (a block after a space or a preamble, or one never closed) is
read here as the trial's reasoning. The reply keeps its blocks verbatim; the parser
(:func:`eitest.administer.parsing.parse_reply`) reads only what lies outside them.
"""

from __future__ import annotations

import re

from eitest.administer.reply_patterns import THINK

_OPEN = re.compile(r"<think(?:ing)?>", re.I)
_CLOSE_AT_END = re.compile(r"</think(?:ing)?>$", re.I)


def inline_reasoning(reply: str | None) -> str | None:
    """The text of the reply's ``<think>`` blocks, joined, or None; an unclosed block (cut off mid-thought) runs to the end."""
    if not reply or not _OPEN.search(reply):
        return None
    parts = [_OPEN.sub("", _CLOSE_AT_END.sub("", m.group(0)), count=1) for m in THINK.finditer(reply)]
    rest = THINK.sub("", reply)
    if (unclosed := _OPEN.search(rest)) is not None:
        parts.append(rest[unclosed.end() :])
    text = "\n\n".join(p.strip() for p in parts if p.strip())
    return text or None
