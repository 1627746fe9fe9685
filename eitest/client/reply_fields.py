"""A field of a provider's reply: what ``getattr(obj, name, None)`` gives, without paying for a miss.

litellm removes the optional fields a reply lacks (a message's ``reasoning_content`` and
``thinking_blocks``, a choice's ``logprobs``) and keeps some values in pydantic's private or
extra storage (``_hidden_params``, ``usage``). ``getattr`` of a field that is not there makes
pydantic raise an ``AttributeError`` with a formatted message, which the default then
swallows: about 5 µs a miss, several misses a reply, on the event loop's thread.
:func:`reply_field` looks where pydantic keeps values, so a miss costs a few lookups.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel


def reply_field(obj: Any, name: str) -> Any:
    """``getattr(obj, name, None)``; of a dict (some providers' replies come as JSON), ``obj.get(name)``.

    A pydantic model is read in pydantic's own order (its fields, private attributes, extra
    fields); a name its class defines (a property, a method) and any other object go to ``getattr``.
    """
    if isinstance(obj, dict):
        return obj.get(name)
    if not isinstance(obj, BaseModel) or _on_class(type(obj), name):
        return getattr(obj, name, None)
    values = obj.__dict__
    if name in values:
        return values[name]
    for kept in (getattr(obj, "__pydantic_private__", None), getattr(obj, "__pydantic_extra__", None)):
        if kept is not None and name in kept:
            return kept[name]
    return None


@lru_cache(maxsize=256)
def _on_class(cls: type, name: str) -> bool:
    """Whether ``cls`` defines ``name`` (a reply's class is taken not to change once read)."""
    return any(name in vars(c) for c in cls.__mro__)
