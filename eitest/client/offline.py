"""Offline responders, served through litellm as the custom provider ``eitest``.

They need no key and no network, and they answer through the same door as a real
model, so the demo and the tests exercise the whole path:

- ``eitest/oracle``: always the keyed (or top-weighted) option; a pipeline self-check
  that must score 100 %.
- ``eitest/chance``: a uniformly random option, seeded per trial.
- ``eitest/first``: always the first option shown; for position-bias checks.
- ``eitest/local-minilm``: the option most similar to the situation by a small
  sentence-embedding model (extra ``local``); a real, weak baseline.

The runner passes what a responder needs in the call's ``metadata["eitest"]``:
``best_position``, ``n_options``, ``seed``, ``protocol``, ``situation``, ``options``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from eitest.administer.prompts import LETTERS
from eitest.errors import EitestError


@dataclass(frozen=True)
class Responder:
    name: str
    choose: Callable[[dict[str, Any]], int]
    description: str

    def check(self) -> None:
        if self.name == "local-minilm":
            from eitest.client.local_model import check_available

            check_available()


def _oracle(info: dict[str, Any]) -> int:
    return int(info["best_position"])


def _chance(info: dict[str, Any]) -> int:
    return random.Random(info["seed"]).randrange(int(info["n_options"]))


def _first(info: dict[str, Any]) -> int:
    return 0


def _local_minilm(info: dict[str, Any]) -> int:
    from eitest.client.local_model import most_similar

    return most_similar(info["situation"], info["options"])


RESPONDERS: dict[str, Responder] = {
    r.name: r
    for r in (
        Responder("oracle", _oracle, "always the keyed or top-weighted option (must score 100 %)"),
        Responder("chance", _chance, "a uniformly random option, seeded per trial"),
        Responder("first", _first, "always the first option shown"),
        Responder(
            "local-minilm", _local_minilm, "the option most similar to the situation (all-MiniLM-L6-v2, extra 'local')"
        ),
    )
}


def reply_text(position: int, protocol: str) -> str:
    """The reply a well-behaved model would give under ``protocol``."""
    letter = LETTERS[position]
    if protocol == "json":
        return json.dumps({"answer": letter})
    if protocol == "reasoning":
        return f"Weighing the options against the situation.\nANSWER: {letter}"
    return letter


def register(litellm: Any) -> None:
    """Register the ``eitest`` custom provider with litellm (idempotent)."""
    if any(p.get("provider") == "eitest" for p in litellm.custom_provider_map):
        return
    from litellm import CustomLLM

    class EitestProvider(CustomLLM):
        def _answer(self, model: str, model_response: Any, litellm_params: dict[str, Any] | None) -> Any:
            responder = RESPONDERS.get(model)
            if responder is None:
                raise EitestError(f"unknown offline responder eitest/{model}")
            meta = ((litellm_params or {}).get("metadata") or {}).get("eitest")
            if not meta:
                raise EitestError("eitest responders answer only items sent by eitest (metadata['eitest'] missing)")
            position = responder.choose(meta)
            model_response.choices[0].message.content = reply_text(position, meta.get("protocol", "standard"))
            model_response.choices[0].finish_reason = "stop"
            model_response.model = f"eitest/{model}"
            return model_response

        def completion(
            self, model, messages, api_base, custom_prompt_dict, model_response, *args, litellm_params=None, **kwargs
        ):  # noqa: D401
            return self._answer(model, model_response, litellm_params)

        async def acompletion(
            self, model, messages, api_base, custom_prompt_dict, model_response, *args, litellm_params=None, **kwargs
        ):
            return self._answer(model, model_response, litellm_params)

    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        {"provider": "eitest", "custom_handler": EitestProvider()},
    ]
    if "eitest" not in litellm._custom_providers:
        litellm._custom_providers.append("eitest")
