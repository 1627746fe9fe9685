"""Which models and keys a run can use: model strings checked, keys named, before any call is made."""

from __future__ import annotations

import os

from eitest.client import offline
from eitest.client.keys import redact
from eitest.client.providers import litellm_module, provider_of
from eitest.errors import EitestError


def provider_key_names(model: str) -> list[str]:
    """The environment variables the provider of ``model`` reads its key from (empty: it needs none)."""
    if offline.is_offline(model):
        return []
    missing = missing_keys(model)
    if missing:
        return missing
    provider = provider_of(model)
    if provider is None:
        return []
    usual = f"{provider.upper()}_API_KEY"
    return [usual] if os.environ.get(usual) else []


def key_route(model: str, api_base: str | None = None, api_key_env: str | None = None) -> str:
    """Which environment variable's key goes to which host, for the plan printed before a run."""
    if offline.is_offline(model):
        return f"{model}: offline responder, no key"
    if api_base:
        where = f"{model} via {redact(api_base)}"
        if api_key_env:
            return f"{where}: key from {api_key_env}"
        return f"{where}: no key (--api-key-env NAME sends the key in $NAME)"
    names = [api_key_env] if api_key_env else provider_key_names(model)
    if not names:  # litellm names no variable: a keyless provider, or one with its own credentials (AWS, GCP)
        return (
            f"{model}: key or credentials as litellm finds them for its provider, sent to the provider's own endpoint"
        )
    unset = [n for n in names if not os.environ.get(n)]
    if all(is_address(n) for n in names):
        return f"{model}: no key; the server's address from {' and '.join(names)}{' (not set)' if unset else ''}"
    return (
        f"{model}: key from {' and '.join(names)}{' (not set)' if unset else ''}, sent to the provider's own endpoint"
    )


# --------------------------------------------------------------------------- checks


class ModelError(EitestError):
    """A model string litellm does not know, or a provider whose key is not set."""


def check_model(
    model: str, api_base: str | None = None, *, require_key: bool = True, api_key_env: str | None = None
) -> None:
    """Fail early, with the fix, for an unknown model string or (when ``require_key``) a missing key.

    ``api_key_env`` names the variable that holds the key (with ``api_base``, the only key sent).
    """
    if offline.is_offline(model):
        responder = offline.responder(model)
        if responder is None:
            raise ModelError(f"unknown offline responder {model!r}; use one of {', '.join(offline.model_names())}")
        responder.check()
        return
    litellm = litellm_module()
    try:
        _, provider, _, _ = litellm.get_llm_provider(model=model, api_base=api_base)
    except Exception:
        raise ModelError(
            f"unknown model {model!r}: give a litellm model string such as openai/gpt-4o, "
            "anthropic/claude-3-5-haiku-latest or ollama/llama3.1 (or openai/NAME with --api-base URL)"
        ) from None
    if not require_key:
        return
    if api_key_env:
        if not os.environ.get(api_key_env):
            raise ModelError(
                f"no key for {model}: --api-key-env names {api_key_env}, which is not set; "
                f"export {api_key_env}=... (or leave --api-key-env out to send no key)"
            )
        return
    if api_base:
        return  # a self-hosted OpenAI-compatible server often needs no key
    missing = missing_keys(model)
    addresses = [n for n in missing if is_address(n)]
    if addresses:  # a self-hosted provider (Ollama): litellm wants where the server is, not a key
        raise ModelError(
            f"{model} needs the address of its server: give --api-base URL (e.g. http://localhost:11434 for Ollama) "
            f"or set {' and '.join(addresses)} in the environment (provider {provider})"
        )
    if missing:
        raise ModelError(f"no key for {model}: set {' and '.join(missing)} in the environment (provider {provider})")


def is_address(name: str) -> bool:
    """Whether an environment variable litellm asks for holds a server's address rather than a key."""
    return name.endswith(("_API_BASE", "_BASE_URL"))


def missing_keys(model: str) -> list[str]:
    """Environment variables the provider of ``model`` needs and that are not set."""
    if offline.is_offline(model):
        return []
    env = litellm_module().validate_environment(model=model)
    return list(env.get("missing_keys") or [])
