"""Rate limits over real HTTP: a 429 waits as the provider says, apart from the failure budget; a run paces itself."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from anthropic_server import AnthropicServer
from click.testing import CliRunner
from openai_server import Action, RateLimit, ScriptedServer

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.cli import cli
from eitest.client import CallSettings, complete, litellm_module
from eitest.client.event_loop import run_coroutine
from eitest.store import Store

MESSAGES = [{"role": "user", "content": "Which option? A) Anger B) Relief"}]
SLOW_DOWN = Action(status=429, headers={"retry-after": "1", "retry-after-ms": "300"})


def test_a_429_waits_as_long_as_the_provider_says_and_spends_no_retry(monkeypatch: pytest.MonkeyPatch):
    from eitest.client import calls

    litellm_module()
    waits: list[float] = []
    real_wait = calls._throttle_wait
    monkeypatch.setattr(calls, "_throttle_wait", lambda *a: waits.append(real_wait(*a)) or waits[-1])
    answers = iter([SLOW_DOWN, Action(reply="B")])
    with ScriptedServer(lambda body: next(answers)) as srv:
        start = time.perf_counter()
        result = run_coroutine(complete("openai/rl", MESSAGES, CallSettings(api_base=srv.url, max_retries=0)))
        elapsed = time.perf_counter() - start
    assert result.text == "B" and result.error is None and result.attempts == 2
    assert result.errors == [
        "RateLimitError (429): litellm.RateLimitError: RateLimitError: OpenAIException - scripted 429"
    ]
    assert waits == [pytest.approx(0.3)]  # retry-after-ms (300) wins over retry-after (1 s)
    assert elapsed >= 0.3  # and the call did wait that long (an upper bound would time the machine)


def test_rate_limit_waits_are_bounded():
    with ScriptedServer(lambda body: SLOW_DOWN) as srv:
        settings = CallSettings(api_base=srv.url, max_retries=0, throttle_wait_max_s=0.5)
        result = run_coroutine(complete("openai/rl", MESSAGES, settings))
        assert srv.requests == 2
    assert result.text is None and result.attempts == 2
    assert result.error.endswith("scripted 429 (gave up after 2 rate-limited attempts, 0.6 s waited)")


def test_a_run_at_concurrency_16_paces_itself_to_the_providers_window(tmp_path: Path):
    # 10 requests per half second (1,200 a minute); 64 trials, no retries allowed for other failures.
    limit = RateLimit(10, 0.5)
    db = tmp_path / "rl.db"
    with ScriptedServer(lambda body: Action(reply="A", delay_s=0.02), rate_limit=limit) as srv:
        args = ["run", "-m", "openai/rl", "-i", "open-stem", "--reps", "2", "--concurrency", "16", "--retries", "0"]
        start = time.perf_counter()
        res = CliRunner().invoke(cli, [*args, "--api-base", srv.url, "--rpm", "6000", "--db", str(db), "-y"])
        elapsed = time.perf_counter() - start
        requests = srv.requests
    assert res.exit_code == 0, res.output
    with Store(db) as store:
        df = store.trials()
    assert len(df) == 64 and (df["status"] != "error").all()
    # The first burst meets a full window (16 sent before any reply said 10 were allowed: 6 refused, unless a
    # loaded machine spreads the burst over a window's edge: 5 seen once); after it the remaining-requests
    # headers hold the calls, but for a few at window edges. Measured on 2 busy cores: 7 to 12 refused in 6
    # runs; unpaced, the issue saw 35 % refused.
    assert 1 <= limit.refused <= 16 and requests == 64 + limit.refused == df["attempts"].sum()
    assert "openai/rl: throttled: 429 from provider, concurrency 16 -> 8, waiting " in res.stderr
    assert "64 call(s) made, 0 already done, 0 failed" in res.stderr
    assert elapsed < 8  # 64 trials at 20 a second: measured 3.1 to 4.1 s


def test_rpm_and_tpm_are_bounded_options():
    for option, value, message in [("--rpm", "0", "0 is not in the range 1<=x<=1000000."),
                                   ("--tpm", "-5", "-5 is not in the range 1<=x<=10000000000.")]:  # fmt: skip
        res = CliRunner().invoke(cli, ["run", "-m", "eitest/oracle", "-i", "open-steu", option, value, "-y"])
        assert res.exit_code == 2 and f"Invalid value for '{option}': {message}" in res.stderr


def test_a_binding_rpm_paces_the_run_below_the_providers_limit_and_says_so(tmp_path: Path):
    # The provider allows 25 a second; --rpm 600 lets 10 go at once and then one every 0.1 s (at most 20 a second).
    limit = RateLimit(25, 1.0)
    said: list[tuple[str, str | None]] = []
    study = Study(models=["openai/rl"], instruments=["open-stem"], concurrency=8, rpm=600, max_retries=0)
    with ScriptedServer(lambda body: Action(reply="A"), rate_limit=limit) as srv:
        start = time.perf_counter()
        out = run_study(
            study.model_copy(update={"api_base": srv.url}), tmp_path / "p.db", on_pace=lambda *s: said.append(s)
        )
        elapsed = time.perf_counter() - start
        assert srv.requests == 32
    assert out.called == 32 and out.failed == 0 and limit.refused == 0  # paced, never refused
    assert elapsed >= (32 - 10) * 0.1 - 0.05  # the bucket's pace, whatever the machine's speed
    assert ("openai/rl", "paced by --rpm/--tpm") in said


@pytest.mark.parametrize(
    "flags, recorded, message",
    [
        (["--rpm", "600"], 600, None),
        (["--rpm", "600", "--rpm", "eitest/oracle=6000"], {"*": 600, "eitest/oracle": 6000}, None),
        (["--rpm", "5", "--rpm", "6"], None, "give each model's limit once (and one N without a model for the rest)"),
        (
            ["--tpm", "openai/y=5"],
            None,
            "tpm: openai/y is not a model of this study; name one of eitest/oracle, eitest",
        ),
        (["--rpm", "eitest/oracle=0"], None, "Invalid value for '--rpm': 0 is not in the range 1<=x<=1000000."),
    ],
)
def test_a_limit_is_given_for_every_model_or_by_model(tmp_path: Path, flags, recorded, message):
    db = tmp_path / "m.db"
    args = ["run", "-m", "eitest/oracle", "-m", "eitest/chance", "-i", "open-stem", *flags, "--db", str(db), "-y"]
    res = CliRunner().invoke(cli, args)
    if message is not None:
        assert res.exit_code == 2 and message in res.stderr and "Traceback" not in res.output
        return
    assert res.exit_code == 0, res.output
    with Store(db) as store:
        [run] = store.runs()
    assert run.config["rpm"] == recorded


def test_a_study_file_names_a_limit_by_model_and_a_wrong_name_is_shown_on_its_line(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_text("models: [eitest/oracle]\ninstruments: [open-steu]\nrpm:\n  openai/y: 5\n", encoding="utf-8")
    res = CliRunner().invoke(cli, ["run", str(path), "--db", str(tmp_path / "s.db"), "-y"])
    assert (
        res.exit_code == 2
        and (
            f"{path}: line 3: rpm: openai/y is not a model of this study; name one of eitest/oracle, or '*' for every "
            "model not named"
        )
        in res.stderr
    )


def test_anthropics_spent_request_window_holds_the_next_call_until_its_reset_time(tmp_path: Path, monkeypatch):
    # The first reply says no requests remain until a time 3 s away; the next call waits for it, not for 1 s.
    monkeypatch.setenv("EITEST_CLAUDE_KEY", "sk-ant-test")
    arrived: list[float] = []

    def script(body):
        arrived.append(time.monotonic())
        reset = datetime.now(UTC) + timedelta(seconds=3)
        left = "0" if len(arrived) == 1 else "100"
        headers = {
            "anthropic-ratelimit-requests-remaining": left,
            "anthropic-ratelimit-requests-reset": reset.isoformat(),
        }
        return Action(reply="A", headers=headers)

    said: list[tuple[str, str | None]] = []
    model = "anthropic/claude-3-5-haiku-20241022"
    with AnthropicServer(script) as srv:
        study = Study(models=[model], instruments=["open-stem"], concurrency=1, api_base=srv.url,
                      api_key_env="EITEST_CLAUDE_KEY")  # fmt: skip
        out = run_study(study, tmp_path / "a.db", on_pace=lambda *s: said.append(s))
    assert out.called == len(arrived) == 32 and out.failed == 0
    assert (model, "the provider's request window is spent") in said
    assert arrived[1] - arrived[0] >= 2.5  # the reset time's wait, whatever the machine's speed (unread: 1 s)
