"""A provider's refusal (401, 403, 404, a context overrun, a spent quota) stops the run at once, to be resumed."""

from __future__ import annotations

from pathlib import Path

import pytest
from anthropic_server import AnthropicServer
from click.testing import CliRunner
from openai_server import Action, ScriptedServer, keyed_script, prompt_of

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.cli import cli
from eitest.client import CallSettings
from eitest.client.calls import _retryable
from eitest.client.refusals import ProviderRefused, refusal
from eitest.instruments import catalogue
from eitest.store import Store

PROVIDER_SAYS = {
    401: "Incorrect API key provided: sk-proj-abc...wxyz.",
    403: "Project does not have access to model locked-model.",
    404: "The model `gone-model` does not exist or you do not have access to it.",
}


@pytest.fixture(scope="module")
def keyed():
    steu = catalogue()["open-steu"]
    return keyed_script({it.stem.strip(): it.option(it.best_option).text for it in steu.items})


def stored(db: Path) -> int:
    with Store(db) as store:
        return len(store.trials())


@pytest.mark.parametrize(
    "status, refused",
    [
        (401, "the provider refused the key (401) for openai/x: check the key in EITEST_TEST_KEY"),
        (
            403,
            "the provider refused access (403) for openai/x: check the key in EITEST_TEST_KEY; "
            "the key may lack access to this model, or the account may be restricted",
        ),
        (404, "the provider has no such model (404) for openai/x: check the model string and --api-base "),
    ],
)
def test_a_refusal_stops_the_run_and_a_rerun_after_the_fix_calls_every_trial(
    tmp_path, monkeypatch, keyed, status, refused
):
    monkeypatch.setenv("EITEST_TEST_KEY", "test-key-value-1234")
    db = tmp_path / "r.db"
    study = Study(
        models=["openai/x"], instruments=["open-steu"], concurrency=4, backoff_s=0.01, api_key_env="EITEST_TEST_KEY"
    )
    with ScriptedServer(lambda body: Action(status=status, message=PROVIDER_SAYS[status])) as srv:
        with pytest.raises(ProviderRefused) as caught:
            run_study(study.model_copy(update={"api_base": srv.url}), db)
        assert 1 <= srv.requests <= 4  # the calls in flight when the first came back, none retried, none after
        port = srv.port
    message = str(caught.value)
    said = PROVIDER_SAYS[status].replace("sk-proj-abc", "sk-[redacted]")  # a key's fragment never comes back
    assert message.startswith(f"{refused}{srv.url if status == 404 else ''} (the provider said: {said}); ")
    assert message.endswith(
        "; 0 of 45 trials stored (run " + message.split("(run ")[1].split(")")[0] + "), no further calls made; "
        "fix it and re-run the same command to call the rest"
    )
    assert stored(db) == 0  # not stored as errors: still to do
    with ScriptedServer(keyed, port=port) as srv:
        again = run_study(study.model_copy(update={"api_base": srv.url}), db)
        assert srv.requests == 45 and max(srv.calls.values()) == 1
    assert again.skipped == 0 and again.called == 45 and again.failed == 0 and stored(db) == 45


def test_anthropics_refused_key_stops_the_run_as_openais_does(tmp_path, monkeypatch):
    monkeypatch.setenv("EITEST_CLAUDE_KEY", "sk-ant-api03-wrong")
    refused = Action(status=401, error_type="authentication_error", message="invalid x-api-key")
    study = Study(models=["anthropic/claude-3-5-haiku-20241022"], instruments=["open-steu"], concurrency=2,
                  api_key_env="EITEST_CLAUDE_KEY")  # fmt: skip
    with AnthropicServer(lambda body: refused) as srv:
        with pytest.raises(ProviderRefused) as caught:
            run_study(study.model_copy(update={"api_base": srv.url}), tmp_path / "a.db")
        assert 1 <= len(srv.bodies) <= 2
    message = str(caught.value)
    assert message.startswith(
        "the provider refused the key (401) for anthropic/claude-3-5-haiku-20241022: check the key in EITEST_CLAUDE_KEY"
    )
    assert "invalid x-api-key" in message and "sk-ant-api03-wrong" not in message
    assert stored(tmp_path / "a.db") == 0


def test_a_refusal_part_way_keeps_what_was_stored_and_the_rerun_calls_only_the_rest(tmp_path, keyed):
    db = tmp_path / "p.db"
    answered: list[int] = []

    def script(body):
        if len(answered) < 10:
            answered.append(1)
            return keyed(body)
        return Action(status=401, message="Invalid key")

    study = Study(models=["openai/x"], instruments=["open-steu"], concurrency=1, backoff_s=0.01)
    with ScriptedServer(script) as srv:
        with pytest.raises(ProviderRefused, match="no key was sent; give --api-key-env NAME") as caught:
            run_study(study.model_copy(update={"api_base": srv.url}), db)
        assert srv.requests == 11
        port = srv.port
    assert "; 10 of 45 trials stored (run " in str(caught.value) and stored(db) == 10
    with ScriptedServer(keyed, port=port) as srv:
        again = run_study(study.model_copy(update={"api_base": srv.url}), db)
        assert srv.requests == 35
    assert again.skipped == 10 and again.called == 35 and stored(db) == 45


def test_the_cli_says_the_refusal_in_one_line_with_exit_status_2(tmp_path):
    with ScriptedServer(lambda body: Action(status=401, message="Invalid key")) as srv:
        res = CliRunner().invoke(
            cli,
            [
                "run",
                "-m",
                "openai/x",
                "-i",
                "open-stem",
                "--api-base",
                srv.url,
                "--yes",
                "--db",
                str(tmp_path / "c.db"),
            ],
        )
    assert res.exit_code == 2 and "Traceback" not in res.output
    (line,) = [ln for ln in res.output.splitlines() if ln.startswith("Error: ")]
    assert line.startswith(
        "Error: the provider refused the key (401) for openai/x: no key was sent; give --api-key-env NAME "
        "to send the key in $NAME (the provider said: Invalid key); 0 of 32 trials stored (run "
    )


TOO_LONG = (
    "This model's maximum context length is 8192 tokens. However, your messages resulted in 9120 tokens. "
    "Please reduce the length of the messages."
)
QUOTA = "You exceeded your current quota, please check your plan and billing details."


@pytest.mark.parametrize(
    "action, refused",
    [
        (
            Action(status=400, message=TOO_LONG),
            "the provider found the prompt longer than the model's context window (400) for openai/x: choose a "
            "model with a longer context, or lower --max-tokens if it is large (the reply's cap counts towards the "
            f"window); either starts a new run (the provider said: {TOO_LONG}); ",
        ),
        (
            Action(status=429, message=QUOTA, error_type="insufficient_quota"),
            "the provider has no quota or credit left on this account (429) for openai/x: check the account's "
            f"plan, billing and usage limits; waiting does not end a spent quota (the provider said: {QUOTA}); ",
        ),
        (  # the words alone, as an OpenAI-compatible provider may send them
            Action(status=429, message="insufficient_quota: top up your balance"),
            "the provider has no quota or credit left on this account (429) for openai/x: ",
        ),
    ],
)
def test_a_context_overrun_or_a_spent_quota_stops_the_run_after_one_attempt(tmp_path, keyed, action, refused):
    first = catalogue()["open-steu"].items[3].stem.strip()
    db = tmp_path / "l.db"

    def script(body):
        return action if first in prompt_of(body) else keyed(body)

    study = Study(models=["openai/x"], instruments=["open-steu"], concurrency=1, backoff_s=0.01)
    with ScriptedServer(script) as srv:
        with pytest.raises(ProviderRefused) as caught:
            run_study(study.model_copy(update={"api_base": srv.url}), db)
        assert srv.requests == 4  # three answered, then one attempt: no retry, no wait, no call after it
        port = srv.port
    message = str(caught.value)
    assert message.startswith(refused) and "; 3 of 45 trials stored (run " in message
    # a spent quota is fixed at the provider, and the same command then calls the rest; an overrun is not
    assert message.endswith("fix it and re-run the same command to call the rest") is (action.status == 429)
    assert stored(db) == 3
    with ScriptedServer(keyed, port=port) as srv:
        again = run_study(study.model_copy(update={"api_base": srv.url}), db)
        assert srv.requests == 42
    assert again.skipped == 3 and again.called == 42 and again.failed == 0 and stored(db) == 45


class APIError(Exception):
    """A provider error mapped to litellm's generic class: only its status tells what it is."""

    def __init__(self, status: int) -> None:
        super().__init__(f"status {status}")
        self.status_code = status


@pytest.mark.parametrize(
    "status, retried", [(400, False), (401, False), (404, False), (408, True), (429, True), (503, True)]
)
def test_a_client_error_is_not_retried_whatever_its_class(status, retried):
    assert _retryable(APIError(status)) is retried


@pytest.mark.parametrize(
    "error, status",
    [
        ("AuthenticationError (401): Invalid key", 401),
        ("APIError (403): Forbidden", 403),
        ("NotFoundError: model gone", 404),
        ("ContextWindowExceededError (400): too long", 400),
        ("QuotaSpent (429): You exceeded your current quota", 429),
        ("RateLimitError (429): You exceeded your current quota, please check your plan", None),  # Gemini's per minute
        ("RateLimitError (429): Rate limit reached", None),
        ("BadRequestError (400): bad temperature", None),
        ("Timeout: no complete reply within 1 s", None),
        ("InternalServerError (500): oops", None),
        (None, None),
    ],
)
def test_only_the_refusals_no_retry_can_change_stop_a_run(error, status):
    found = refusal("openai/x", error, CallSettings(api_base="http://127.0.0.1:9/v1"))
    assert (found.status if found else None) == status


class ProviderError(Exception):
    """An error as litellm raises it: a status, and the provider's error body where it passes it on."""

    def __init__(self, status: int, message: str, body: dict | None = None) -> None:
        super().__init__(message)
        self.status_code, self.body = status, body


@pytest.mark.parametrize(
    "error, spent",
    [
        (ProviderError(429, "You exceeded your current quota", {"type": "insufficient_quota"}), True),  # OpenAI
        (ProviderError(400, "Your credit balance is too low to access the Anthropic API."), True),
        (ProviderError(402, "Insufficient credits. Add more using https://openrouter.ai/credits"), True),
        (ProviderError(402, "Insufficient Balance"), True),  # DeepSeek
        # Gemini's per-minute limit uses OpenAI's words for a spent quota, and waiting ends it
        (ProviderError(429, "You exceeded your current quota, please check your plan and billing details."), False),
        (ProviderError(429, "Rate limit reached for requests", {"type": "requests"}), False),
    ],
)
def test_a_spent_quota_is_told_from_a_rate_limit_that_waiting_ends(error, spent):
    from eitest.client.pacing import is_rate_limit, quota_spent

    assert quota_spent(error) is spent
    assert is_rate_limit(error) is (error.status_code == 429 and not spent)
    assert _retryable(error) is (error.status_code == 429 and not spent)
