"""Offline responders, served through litellm as the custom provider ``eitest``.

They need no key and no network, and they answer through the same door as a real
model, so the demo and the tests exercise the whole path:

- ``eitest/oracle``: always the keyed (or top-weighted) option; a pipeline self-check
  that must score 100 %.
- ``eitest/chance``: a uniformly random option, seeded per trial.
- ``eitest/first``: always the first option shown; for position-bias checks.
- ``eitest/local-minilm``: the option most similar to the situation by a small
  sentence-embedding model (extra ``local``); a real, weak baseline.

This module is the one place that knows a model string is an offline responder
(:func:`is_offline`). A responder only chooses a position; what a well-formed reply
for each position looks like belongs to the prompt protocol, so the caller sends
those replies along (:func:`metadata`) and the provider returns the chosen one. That
keeps the model door free of the prompt layer.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from eitest.errors import EitestError

PROVIDER = "eitest"
PREFIX = PROVIDER + "/"
METADATA_KEY = "eitest"  # the responder's inputs travel in the call's metadata under this key


def is_offline(model: str) -> bool:
    """True for a model string served by the offline responders (``eitest/...``)."""
    return model.startswith(PREFIX)


@dataclass(frozen=True)
class Responder:
    name: str
    choose: Callable[[dict[str, Any]], int]  # the metadata -> the 0-based position it answers
    description: str
    check: Callable[[], None] = lambda: None  # raises, with the fix, when the responder cannot run here
    # Its probability of each position, for the logprobs protocol; None: all on the position it chooses.
    spread: Callable[[dict[str, Any]], list[float]] | None = None

    def distribution(self, info: dict[str, Any]) -> list[float]:
        """The probability it gives each shown position: what it would answer, over many draws."""
        if self.spread is not None:
            return self.spread(info)
        chosen = self.choose(info)
        return [1.0 if i == chosen else 0.0 for i in range(len(info["answers"]))]

    @property
    def model(self) -> str:
        return PREFIX + self.name


def _oracle(info: dict[str, Any]) -> int:
    return int(info["best_position"])


def _chance(info: dict[str, Any]) -> int:
    return random.Random(info["seed"]).randrange(len(info["answers"]))


def _uniform(info: dict[str, Any]) -> list[float]:
    return [1.0 / len(info["answers"])] * len(info["answers"])


def _first(info: dict[str, Any]) -> int:
    return 0


def _local_minilm(info: dict[str, Any]) -> int:
    from eitest.client.local_model import most_similar

    return most_similar(info["situation"], info["options"])


def _check_local_minilm() -> None:
    from eitest.client.local_model import check_available

    check_available()


RESPONDERS: dict[str, Responder] = {
    r.name: r
    for r in (
        Responder("oracle", _oracle, "always the keyed or top-weighted option (must score 100 %)"),
        Responder("chance", _chance, "a uniformly random option, seeded per trial", spread=_uniform),
        Responder("first", _first, "always the first option shown"),
        Responder(
            "local-minilm",
            _local_minilm,
            "the option most similar to the situation (all-MiniLM-L6-v2, extra 'local')",
            _check_local_minilm,
        ),
    )
}


def responder(model: str) -> Responder | None:
    """The responder behind ``model`` (``eitest/oracle`` or ``oracle``), or None if there is none."""
    return RESPONDERS.get(model.removeprefix(PREFIX))


def model_names() -> list[str]:
    return [r.model for r in RESPONDERS.values()]


def metadata(
    *,
    answers: Sequence[str],
    best_position: int,
    seed: int,
    situation: str,
    options: Sequence[str],
    logprobs: bool = False,
) -> dict[str, Any]:
    """The call metadata a responder needs for one trial.

    ``answers`` are the well-formed replies, one per shown position, of which the
    responder returns one; ``best_position`` is where the keyed option is shown,
    ``seed`` seeds a random choice, and ``situation`` and ``options`` (texts in shown
    order) are what a content-reading responder compares. With ``logprobs`` the reply
    carries the first token's probabilities (:func:`token_logprobs`), each answer a token.
    """
    if len(answers) != len(options):
        raise ValueError(f"one answer per shown option: {len(answers)} answers for {len(options)} options")
    return {
        METADATA_KEY: {
            "answers": list(answers),
            "best_position": best_position,
            "seed": seed,
            "situation": situation,
            "options": list(options),
            "logprobs": logprobs,
        }
    }


def reply(model: str, call_metadata: dict[str, Any] | None) -> str:
    """What responder ``model`` replies to a call carrying ``call_metadata``."""
    chosen = responder(model)
    if chosen is None:
        raise EitestError(f"unknown offline responder {PREFIX}{model.removeprefix(PREFIX)}")
    info = (call_metadata or {}).get(METADATA_KEY)
    if not info:
        raise EitestError(f"{PREFIX} responders answer only items sent by eitest (metadata[{METADATA_KEY!r}] missing)")
    return info["answers"][chosen.choose(info)]


def token_logprobs(model: str, call_metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """The reply's ``logprobs`` (OpenAI's shape) when the call asked for them, else None."""
    info = (call_metadata or {}).get(METADATA_KEY) or {}
    chosen = responder(model)
    if not info.get("logprobs") or chosen is None:
        return None
    probs = chosen.distribution(info)
    # A position it never answers is left out: its log probability would be minus infinity, which JSON lacks.
    top = [
        {"token": a, "logprob": math.log(p), "bytes": None} for a, p in zip(info["answers"], probs, strict=True) if p
    ]
    top.sort(key=lambda t: -t["logprob"])
    return {"content": [{**top[0], "top_logprobs": top}]}


def register(litellm: Any) -> None:
    """Register the ``eitest`` custom provider with litellm (idempotent)."""
    if any(p.get("provider") == PROVIDER for p in litellm.custom_provider_map):
        return
    from litellm import CustomLLM

    class OfflineProvider(CustomLLM):
        def _answer(self, model: str, model_response: Any, litellm_params: dict[str, Any] | None) -> Any:
            model_response.choices[0].message.content = reply(model, (litellm_params or {}).get("metadata"))
            model_response.choices[0].finish_reason = "stop"
            if (logprobs := token_logprobs(model, (litellm_params or {}).get("metadata"))) is not None:
                model_response.choices[0].logprobs = logprobs
            model_response.model = PREFIX + model
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
        {"provider": PROVIDER, "custom_handler": OfflineProvider()},
    ]
    if PROVIDER not in litellm._custom_providers:
        litellm._custom_providers.append(PROVIDER)
