"""The one door to every model: litellm, with retries, redaction and accounting.

- :mod:`~eitest.client.calls`: ``complete`` (one chat completion), token counts and prices.
- :mod:`~eitest.client.providers`: litellm imported and configured once; which provider serves a model.
- :mod:`~eitest.client.models`: model strings and keys checked before any call.
- :mod:`~eitest.client.offline`: the offline responders (``eitest/oracle``, ...), served
  through litellm as one custom provider.
- :mod:`~eitest.client.local_model`: the small embedding model behind ``eitest/local-minilm``.

litellm itself is imported on first use only.
"""

from eitest.client.calls import (
    CallResult,
    CallSettings,
    complete,
    count_tokens,
    estimate_cost,
    redact,
    supports_json_mode,
    temperature_taken,
)
from eitest.client.models import ModelError, check_model, key_route, missing_keys
from eitest.client.providers import litellm_module
from eitest.client.reasoning import NOT_SENT

__all__ = [
    "NOT_SENT",
    "CallResult",
    "CallSettings",
    "ModelError",
    "check_model",
    "complete",
    "count_tokens",
    "estimate_cost",
    "key_route",
    "litellm_module",
    "missing_keys",
    "redact",
    "supports_json_mode",
    "temperature_taken",
]
