"""litellm, imported and configured once, and its reading of which provider serves a model string.

Below the door (:mod:`eitest.client.calls`) so that every module of the client can ask
without importing the door: the door itself, the batch door and the choice of where a
request is prepared (:mod:`eitest.client.preparation`).
"""

from __future__ import annotations

import os
from typing import Any

from eitest.client import offline

_litellm: Any = None


def litellm_module() -> Any:
    """Import and configure litellm once: local price list, no telemetry, our responders registered."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.drop_params = True  # a provider that lacks e.g. temperature still answers
        offline.register(litellm)
        _litellm = litellm
    return _litellm


def provider_of(model: str, api_base: str | None = None) -> str | None:
    """litellm's provider of ``model`` (None for the offline responders and strings litellm cannot map)."""
    if offline.is_offline(model):
        return None
    try:
        return str(litellm_module().get_llm_provider(model=model, api_base=api_base)[1])
    except Exception:
        return None
