"""administer_one: the work of one trial, over litellm's real HTTP path and through the offline provider."""

from __future__ import annotations

import asyncio

import pytest
from openai_server import Action, ScriptedServer, keyed_script, prompt_of

from eitest.administer.one_trial import RunSettings, administer_one, trial_seed
from eitest.administer.plan import TrialSpec, make_plan
from eitest.administer.prompts import PROTOCOLS
from eitest.administer.study import Study
from eitest.instruments import catalogue
from eitest.store.trial import Trial

# No "sk-" prefix: only the redaction of the environment's key values can keep it out.
SECRET = "test-DO-NOT-STORE-7d1e0b93aa"


@pytest.fixture(scope="module")
def steu():
    return catalogue()["open-steu"]


def first_trial(study: Study) -> tuple[TrialSpec, RunSettings]:
    plan = make_plan(study, estimate=False)
    return plan.trials[0], RunSettings.for_plan(plan)


def administer(spec: TrialSpec, settings: RunSettings) -> Trial:
    return asyncio.run(administer_one(spec, settings))


def test_keyed_answer_gives_a_scored_trial(steu):
    item = steu.items[0]
    seen: list[dict] = []

    def script(body):
        seen.append(body)
        return keyed_script({item.stem.strip(): item.option(item.best_option).text}, delay_s=0.05)(body)

    with ScriptedServer(script) as srv:
        study = Study(models=["openai/keyed-one"], instruments=["open-steu"], option_order="shuffled", seed=11)
        spec, settings = first_trial(study.model_copy(update={"api_base": srv.url}))
        trial = administer(spec, settings)
    (body,) = seen
    keyed = list(spec.shown).index(item.best_option)
    assert trial.key == ("openai/keyed-one", "open-steu", item.id, 0)
    assert trial.run_id == settings.run_id and trial.shown_order == list(spec.shown)
    assert trial.status == "answered" and trial.parse_rule == "lone_letter"
    assert trial.raw_reply == "ABCDE"[keyed] and trial.keyed_position == keyed
    assert trial.chosen_position == keyed and trial.chosen_option == item.best_option and trial.score == 1.0
    assert trial.prompt == body["messages"]  # what was stored is what went on the wire
    assert trial.prompt_tokens == len(prompt_of(body).split()) and trial.completion_tokens == 1
    assert trial.model_returned == "served-keyed-one" and trial.finish_reason == "stop"
    assert 0.05 <= trial.latency_s < 5 and trial.attempts == 1 and trial.error is None
    assert trial.cost is None  # litellm has no price for this model: unknown, not zero
    assert trial.started_at <= trial.finished_at


def test_a_500_then_success_takes_two_attempts(steu):
    item = steu.items[0]
    calls: list[int] = []

    def script(body):
        calls.append(1)
        if len(calls) == 1:
            return Action(status=500)
        return keyed_script({item.stem.strip(): item.option(item.best_option).text})(body)

    with ScriptedServer(script) as srv:
        study = Study(models=["openai/flaky-one"], instruments=["open-steu"], api_base=srv.url, backoff_s=0.01)
        trial = administer(*first_trial(study))
    assert len(calls) == 2
    assert trial.attempts == 2 and trial.status == "answered" and trial.score == 1.0
    assert "500" in trial.error  # the failed attempt stays on record beside the answer


def test_permanent_failure_is_an_error_trial_without_the_key(steu, monkeypatch):
    # The variable's name holds no KEY/TOKEN: only redacting the key that was sent keeps it out.
    monkeypatch.setenv("LOCKED_SERVER_CRED", SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-stays-home-0000")
    auth: list[str] = []

    def script(body):
        return Action(status=401, message=f"Incorrect API key provided: {SECRET}. Find your key in your account.")

    with ScriptedServer(script) as srv:
        study = Study(
            models=["openai/locked"],
            instruments=["open-steu"],
            api_base=srv.url,
            backoff_s=0.01,
            api_key_env="LOCKED_SERVER_CRED",
        )
        trial = administer(*first_trial(study))
        auth = srv.auth
    assert auth == [f"Bearer {SECRET}"]  # the named key was sent, and the server echoed it back
    assert trial.status == "error" and trial.parse_rule == "error" and trial.attempts == 1  # a 401 is not retried
    assert "AuthenticationError (401)" in trial.error and "Incorrect API key provided" in trial.error
    assert SECRET not in trial.error and "DO-NOT-STORE" not in trial.error
    assert trial.raw_reply is None and trial.chosen_option is None and trial.score is None


@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_offline_responders_answer_in_the_protocols_form(protocol, steu):
    study = Study(models=["eitest/oracle", "eitest/chance"], instruments=["open-steu"], protocol=protocol, reps=2)
    plan = make_plan(study, estimate=False)
    settings = RunSettings.for_plan(plan)
    oracle = [t for t in plan.trials if t.model == "eitest/oracle"][:3]
    for spec in oracle:
        trial = administer(spec, settings)
        assert trial.raw_reply == PROTOCOLS[protocol].answer_text(trial.keyed_position)
        assert trial.status == "answered" and trial.score == 1.0 and trial.cost == 0.0
        assert trial.model_returned == "eitest/oracle"
    # chance is seeded per trial: the same trial gives the same answer, another trial may not
    chance = [t for t in plan.trials if t.model == "eitest/chance"][:2]
    first = administer(chance[0], settings)
    assert administer(chance[0], settings).chosen_option == first.chosen_option
    assert trial_seed(0, chance[0]) != trial_seed(0, chance[1]) != trial_seed(1, chance[1])


def test_settings_take_the_studys_call_settings_and_json_mode():
    study = Study(
        models=["openai/gpt-4o", "eitest/oracle"],
        instruments=["open-stem"],
        protocol="json",
        temperature=0.7,
        max_retries=2,
        timeout_s=9.0,
        seed=5,
        option_order="rotated",
    )
    plan = make_plan(study, estimate=False, require_keys=False)
    settings = RunSettings.for_plan(plan)
    assert settings.run_id == plan.run_id and settings.protocol is PROTOCOLS["json"]
    assert (settings.call.temperature, settings.call.max_retries, settings.call.timeout_s) == (0.7, 2, 9.0)
    assert (settings.option_order, settings.seed) == ("rotated", 5)
    assert settings.json_mode == {"openai/gpt-4o"}  # the offline responders take no JSON mode
    standard = RunSettings.for_plan(
        make_plan(study.model_copy(update={"protocol": "standard"}), estimate=False, require_keys=False)
    )
    assert standard.json_mode == frozenset()
