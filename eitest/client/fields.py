"""A field of a provider's reply, read as ``getattr(obj, name, None)`` reads it, without paying for a miss.

litellm removes the optional fields a reply lacks (a message's ``reasoning_content`` and
``thinking_blocks``, a choice's ``logprobs``) and keeps some in pydantic's extra or private
storage (``usage``, ``_hidden_params``). ``getattr`` of a field that is not there makes
pydantic raise an ``AttributeError`` with a formatted message, which the default then
swallows: about 5 µs a miss, several misses a reply, on the event loop's thread. :func:`reply_field`
looks where pydantic keeps values first, so a miss costs a few dictionary lookups.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel


def reply_field(obj: Any, name: str) -> Any:
    """``getattr(obj, name, None)``; a dict (some providers' replies are plain JSON) gives ``obj.get(name)``."""
    if isinstance(obj, dict):
        return obj.get(name)
    values = getattr(obj, "__dict__", None)
    if values is not None and name in values:
        return values[name]
    if isinstance(obj, BaseModel) and not _on_class(type(obj), name):
        for kept in (obj.__pydantic_extra__, obj.__pydantic_private__):
            if kept is not None and name in kept:
                return kept[name]
        return None
    return getattr(obj, name, None)  # a property or class attribute, or an object that is not pydantic's


@cache
def _on_class(cls: type, name: str) -> bool:
    """Whether ``name`` is found on ``cls`` (a property, a method, a class attribute): then only getattr reads it."""
    return any(name in vars(c) for c in cls.__mro__)
