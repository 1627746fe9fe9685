"""Model strings checked before a run: what the plan says of each model's key, and the fix when one is missing."""

from __future__ import annotations

import pytest

from eitest.client.models import ModelError, check_model, key_route


def test_ollama_without_an_address_is_told_where_to_give_one(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("OLLAMA_API_BASE", raising=False)
    with pytest.raises(ModelError) as err:
        check_model("ollama/llama3")
    assert str(err.value) == (
        "ollama/llama3 needs the address of its server: give --api-base URL (e.g. http://localhost:11434 for "
        "Ollama) or set OLLAMA_API_BASE in the environment (provider ollama)"
    )
    assert key_route("ollama/llama3") == "ollama/llama3: no key; the server's address from OLLAMA_API_BASE (not set)"
    check_model("ollama/llama3", "http://127.0.0.1:11434")  # an address given: nothing missing


def test_a_missing_key_is_still_called_a_key(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ModelError, match=r"^no key for anthropic/claude-3-5-haiku-latest: set ANTHROPIC_API_KEY"):
        check_model("anthropic/claude-3-5-haiku-latest")
