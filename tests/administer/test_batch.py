"""`eitest run --batch` end to end through the CLI in process, against a local OpenAI-style files and batches API."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import pytest
import yaml
from batch_server import BatchServer
from click.testing import CliRunner
from openai_server import Action, ScriptedServer, keyed_script, prompt_key

from eitest.administer.batch import custom_id
from eitest.administer.plan import make_plan
from eitest.administer.runner import BudgetExceeded, run_study
from eitest.administer.study import Study, StudyError, load_study
from eitest.cli import cli
from eitest.client.reasoning import NOT_SENT
from eitest.instruments import catalogue, parse_instrument
from eitest.store import Store
from eitest.store.batches import run_batches

SECRET = "sk-test-BATCH-DO-NOT-STORE-7d1e"
MODEL = "openai/batch-test"
INSTRUMENT = "steu12"  # the first 12 items of open-steu, in a file of the test's own (fewer lines to send)
N = 12
# Compared between a live and a batch run: everything a trial records of its reply and its reading.
SAME = [
    "protocol", "shown_order", "keyed_position", "prompt", "raw_reply", "model_returned", "finish_reason", "status",
    "parse_rule", "chosen_position", "chosen_option", "score", "prompt_tokens", "completion_tokens", "error",
    "reasoning", "reasoning_tokens",
]  # fmt: skip


@pytest.fixture(scope="module")
def steu():
    data = catalogue()["open-steu"].normalized()
    return parse_instrument({**data, "id": INSTRUMENT, "items": data["items"][:N]}, "steu12")


@pytest.fixture(autouse=True)
def steu_file(steu, eitest_home: Path) -> None:
    (eitest_home / "instruments").mkdir(parents=True, exist_ok=True)
    (eitest_home / "instruments" / "steu12.yaml").write_text(yaml.safe_dump(steu.normalized()), encoding="utf-8")


@pytest.fixture
def key_env(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("EITEST_BATCH_KEY", SECRET)
    return "EITEST_BATCH_KEY"


def varied_script(inst):
    """Keyed answers, with some items unanswered and some with reasoning apart: a reply of every kind, by prompt."""
    keyed = keyed_script({it.stem.strip(): it.option(it.best_option).text for it in inst.items})

    def script(body: dict) -> Action:
        action = keyed(body)
        kind = int(prompt_key(body), 16) % 5
        if kind == 0:
            return Action(reply="Perhaps B, or C.")
        if kind == 1:
            return Action(reply=action.reply, reasoning_content="weighing the options", reasoning_tokens=3)
        return action

    return script


def invoke(*args: str, code: int = 0):
    res = CliRunner().invoke(cli, ["run", *args], env={"COLUMNS": "200"}, catch_exceptions=False)
    assert res.exit_code == code, res.output
    return res


def flags(url: str, db: Path, key_env: str, *more: str) -> list[str]:
    return ["-m", MODEL, "-i", INSTRUMENT, "--option-order", "shuffled", "--seed", "3", "--api-base", url,
            "--api-key-env", key_env, "--db", str(db), "-y", "--batch-poll", "0.01", *more]  # fmt: skip


def batch_study(url: str, key_env: str) -> Study:
    """The test's study in batch mode, polled at once."""
    return Study(
        models=[MODEL], instruments=[INSTRUMENT], api_base=url, api_key_env=key_env, batch=True, batch_poll_s=0.01
    )


def records(db: Path) -> dict:
    with Store(db, create=False) as store:
        [run] = store.runs()
        return {t.key: t for t in store.trial_records(run.id)}


def test_a_batch_run_stores_every_trial_as_a_live_run_of_the_same_plan_does(tmp_path: Path, steu, key_env: str):
    script = varied_script(steu)
    with ScriptedServer(script) as live_srv:
        invoke(*flags(live_srv.url, tmp_path / "live.db", key_env))
    with BatchServer(script) as srv:
        res = invoke(*flags(srv.url, tmp_path / "batch.db", key_env, "--batch"))
    live, batch = records(tmp_path / "live.db"), records(tmp_path / "batch.db")
    assert len(batch) == len(live) == N and set(batch) == set(live)
    for key, trial in batch.items():
        assert {f: getattr(trial, f) for f in SAME} == {f: getattr(live[key], f) for f in SAME}, key
        assert (trial.attempts, trial.latency_s) == (1, None)
    statuses = {t.status for t in batch.values()}
    assert {"answered", "unparseable"} <= statuses and any(t.reasoning for t in batch.values())
    # Each line is the body the live call sent, under a custom_id that names its trial.
    assert sorted(json.dumps(line["body"], sort_keys=True) for line in srv.lines) == sorted(
        json.dumps(body, sort_keys=True) for body in live_srv.bodies
    )
    assert {tuple(json.loads(line["custom_id"])) for line in srv.lines} == set(batch)
    assert (srv.uploads, srv.creations, srv.live_calls) == (1, 1, 0)
    assert "batch batch_1" in res.stderr and f"completed, {N} of {N} done" in res.stderr
    with Store(tmp_path / "batch.db", create=False) as store:
        [run] = store.runs()
        assert run.config["batch"] is True and run.finished_at is not None
        [kept] = run_batches(store, run.id)
        assert (kept.id, kept.status, kept.input_file_id) == ("batch_1", "completed", "file-1")
        assert kept.collected_at is not None and len(kept.custom_ids) == N
    # The key went to the server, and nowhere into the store.
    assert set(srv.auth) == {f"Bearer {SECRET}"}
    assert SECRET.encode() not in (tmp_path / "batch.db").read_bytes()


def test_a_run_killed_after_submitting_reattaches_and_nothing_is_sent_or_read_twice(tmp_path: Path, steu, key_env: str):
    db = tmp_path / "b.db"
    with BatchServer(varied_script(steu)) as srv:
        study = batch_study(srv.url, key_env)

        def killed(text: str) -> None:
            if "submitted" in text:
                raise KeyboardInterrupt  # the process dies the moment the batch is accepted

        with pytest.raises(KeyboardInterrupt):
            run_study(study, db, on_batch=killed)
        assert (srv.uploads, srv.creations, srv.retrieves) == (1, 1, 0)
        with Store(db) as store:
            [kept] = run_batches(store, store.runs()[0].id, open_only=True)
            assert kept.id == "batch_1" and store.trials().empty

        # Re-run, waiting for nothing: it polls the stored batch once (still validating) and stops.
        args = ["-m", MODEL, "-i", INSTRUMENT, "--api-base", srv.url, "--api-key-env", key_env, "--db", str(db), "-y"]
        waited = invoke(*args, "--batch", "--batch-poll", "0.01", "--batch-wait", "0")
        assert "re-run the same command to collect" in waited.stderr and "polling them again" in waited.stderr
        assert f"0 already done, {N} in batches submitted before, 0 to call" in waited.stderr
        assert (srv.uploads, srv.creations, srv.retrieves, srv.reads) == (1, 1, 1, 0)
        live = invoke(*args)  # the same study without --batch: the batch's trials are not paid for again
        assert srv.live_calls == 0 and "so they are not called live (that would pay for them twice)" in live.stderr

        done = invoke(*args, "--batch", "--batch-poll", "0.01")
        assert (srv.uploads, srv.creations, srv.retrieves, srv.reads) == (1, 1, 3, 1)
        assert len(records(db)) == N

        # Finished: a further run submits, polls and reads nothing.
        invoke(*args, "--batch", "--batch-poll", "0.01")
        assert (srv.uploads, srv.creations, srv.retrieves, srv.reads, srv.live_calls) == (1, 1, 3, 1, 0)
    assert f"{N} call(s) made" in done.stderr


def failing_first(inst, failing: set[str], times: int):
    """Keyed answers, but a 500 for the items in ``failing`` the first ``times`` times each is asked."""
    keyed = keyed_script({it.stem.strip(): it.option(it.best_option).text for it in inst.items})
    asked: dict[str, int] = {}

    def script(body: dict) -> Action:
        prompt = body["messages"][-1]["content"]
        if any(stem in prompt for stem in failing):
            asked[prompt_key(body)] = asked.get(prompt_key(body), 0) + 1
            if asked[prompt_key(body)] <= times:
                return Action(status=500, message="the server had an error")
        return keyed(body)

    return script


def test_failed_and_expired_lines_are_called_live_by_default(tmp_path: Path, steu, key_env: str):
    failing = {it.stem.strip() for it in steu.items[:3]}
    keyed = keyed_script({it.stem.strip(): it.option(it.best_option).text for it in steu.items})
    line_script = failing_first(steu, failing, times=99)
    with BatchServer(line_script, live_script=keyed, expire_after=N - 5) as srv:
        res = invoke(*flags(srv.url, tmp_path / "b.db", key_env, "--batch"))
        assert (srv.creations, srv.live_calls) == (1, 8)  # 3 failed + 5 expired, each called live once
    trials = records(tmp_path / "b.db")
    assert len(trials) == N and all(t.status == "answered" and t.score == 1.0 for t in trials.values())
    live = [t for t in trials.values() if t.latency_s is not None]
    assert len(live) == 8 and {t.item_id for t in live} >= {it.id for it in steu.items[:3]}
    assert "calling the 8 failed line(s) live" in res.stderr and "expired" in res.stderr
    assert ", 0 failed" in res.stderr


def test_failed_lines_go_in_a_new_batch_or_wait_for_a_rerun_as_asked(tmp_path: Path, steu, key_env: str):
    failing = {it.stem.strip() for it in steu.items[:3]}
    db = tmp_path / "b.db"
    with BatchServer(failing_first(steu, failing, times=2)) as srv:
        invoke(*flags(srv.url, db, key_env, "--batch", "--batch-retry", "none"))
        errors = [t for t in records(db).values() if t.status == "error"]
        assert len(errors) == 3 and all(
            "BatchLine (500)" in t.error and "server had an error" in t.error for t in errors
        )
        assert (srv.creations, srv.live_calls) == (1, 0)
        with Store(db) as store:
            assert store.runs()[0].finished_at is None  # failures left: not finished

        # The re-run sends the 3 again: they fail once more, and go out in a third batch, which answers them.
        res = invoke(*flags(srv.url, db, key_env, "--batch", "--batch-retry", "batch"))
        assert (srv.creations, srv.live_calls) == (3, 0)
        assert ", 0 failed" in res.stderr  # the lines answered in the third batch are failures no more
        assert [len(json.loads(r[0])) for r in sqlite3.connect(db).execute("SELECT custom_ids FROM batches")] == [
            N, 3, 3
        ]  # fmt: skip
    assert all(t.status == "answered" for t in records(db).values())


def test_lines_whose_server_refused_the_temperature_go_out_again_without_it(tmp_path: Path, steu, key_env: str):
    keyed = keyed_script({it.stem.strip(): it.option(it.best_option).text for it in steu.items})

    def o1_like(body: dict) -> Action:  # as OpenAI answers a line with a temperature the model does not take
        if "temperature" in body:
            return Action(status=400, message="Unsupported value: 'temperature' does not support 0 with this model.")
        return keyed(body)

    db = tmp_path / "b.db"
    with BatchServer(o1_like) as srv:
        res = invoke(*flags(srv.url, db, key_env, "--batch", "--batch-retry", "batch", "--temperature", "0"))
        assert srv.creations == 2 and len(srv.lines) == 2 * N
        assert all("temperature" in line["body"] for line in srv.lines[:N])
        assert not any("temperature" in line["body"] for line in srv.lines[N:])
    assert all(t.status == "answered" for t in records(db).values()) and ", 0 failed" in res.stderr
    with Store(db) as store:
        assert store.runs()[0].config["temperature_not_sent"] == {MODEL: NOT_SENT}


def test_lines_refused_for_their_temperature_and_left_for_a_rerun_go_without_it_in_a_new_process(
    tmp_path: Path, steu, key_env: str
):
    from eitest.client import reasoning

    def o1_like(body: dict) -> Action:
        if "temperature" in body:
            return Action(status=400, message="Unsupported parameter: 'temperature' is not supported with this model.")
        return Action(reply="A")

    db = tmp_path / "b.db"
    with BatchServer(o1_like) as srv:
        args = flags(srv.url, db, key_env, "--batch", "--batch-retry", "none", "--temperature", "0")
        first = invoke(*args)
        assert f", {N} failed" in first.stderr and all(t.status == "error" for t in records(db).values())
        reasoning._REFUSED.clear()  # what a new process knows of refusals: nothing
        second = invoke(*args)
        assert srv.creations == 2 and not any("temperature" in line["body"] for line in srv.lines[N:])
    assert ", 0 failed" in second.stderr and all(t.status == "answered" for t in records(db).values())


@pytest.mark.parametrize("model", ["eitest/oracle", "ollama/llama3.1"])
def test_a_provider_without_a_batch_api_is_refused_before_anything_is_sent(tmp_path: Path, model: str):
    db = tmp_path / "none.db"
    res = invoke("-m", model, "-i", INSTRUMENT, "--db", str(db), "-y", "--batch", code=2)
    assert f"Error: --batch needs a provider with a batch API; {model} has none" in res.output
    assert "Batch mode works with provider openai" in res.output and "Traceback" not in res.output
    assert not db.exists()


def test_cost_and_budget_are_at_the_batch_price(tmp_path: Path, steu, key_env: str):
    import litellm

    price = litellm.model_cost["gpt-4o"]  # the reference: the price list's own batch prices
    with BatchServer(keyed_script({it.stem.strip(): it.option(it.best_option).text for it in steu.items})) as srv:
        study = Study(models=["openai/gpt-4o"], instruments=[INSTRUMENT], api_base=srv.url, api_key_env=key_env)
        live_plan, batch_plan = make_plan(study), make_plan(study.model_copy(update={"batch": True}))
        live_cost, batch_cost = live_plan.total_cost, batch_plan.total_cost
        assert live_cost is not None and batch_cost == pytest.approx(live_cost / 2, rel=1e-12)
        budget = (live_cost + batch_cost) / 2  # enough at the batch price, not at the live one
        with pytest.raises(BudgetExceeded):
            run_study(study.model_copy(update={"max_cost": budget}), tmp_path / "live.db")
        batched = study.model_copy(update={"max_cost": budget, "batch": True, "batch_poll_s": 0.01})
        out = run_study(batched, tmp_path / "b.db")
    trials = records(tmp_path / "b.db").values()
    assert out.failed == 0 and len(trials) == N
    for t in trials:
        expected = (
            t.prompt_tokens * price["input_cost_per_token_batches"]
            + t.completion_tokens * price["output_cost_per_token_batches"]
        )
        assert t.cost == pytest.approx(expected, rel=1e-12) and t.cost > 0
    assert out.cost == pytest.approx(sum(t.cost for t in trials), rel=1e-12)


def test_custom_ids_name_the_trial_unambiguously(steu):
    study = Study(models=["openai/a,b", 'openai/"q"'], instruments=[INSTRUMENT], reps=2, api_base="http://x/v1")
    plan = make_plan(study, estimate=False)
    ids = [custom_id(t) for t in plan.trials]
    assert len(set(ids)) == len(plan.trials) == 4 * N
    assert {tuple(json.loads(i)) for i in ids} == {t.key for t in plan.trials}


def test_sigint_while_polling_stops_the_run_and_keeps_the_batch_to_reattach(tmp_path: Path, steu, key_env: str):
    db = tmp_path / "b.db"
    with BatchServer(varied_script(steu), hold=True) as srv:
        study = batch_study(srv.url, key_env)

        def interrupt_once_in_progress(text: str) -> None:
            if "in_progress" in text:
                os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C would, while the run polls

        out = run_study(study, db, on_batch=interrupt_once_in_progress)
        assert (out.signal, out.stopped, out.stored) == ("SIGINT", "by SIGINT", 0)
        assert (srv.uploads, srv.creations, srv.reads) == (1, 1, 0)
    with Store(db) as store:
        [kept] = run_batches(store, out.run_id, open_only=True)
        assert kept.status == "in_progress" and store.trials().empty


def test_a_study_file_carries_the_batch_options(tmp_path: Path):
    path = tmp_path / "study.yaml"
    fields = {"models": [MODEL], "instruments": [INSTRUMENT], "batch": True, "batch_retry": "batch", "batch_poll_s": 5}
    path.write_text(yaml.safe_dump(fields), encoding="utf-8")
    study = load_study(path)
    assert (study.batch, study.batch_retry, study.batch_poll_s, study.batch_wait_s) == (True, "batch", 5.0, None)
    # How to run is not what is asked: the run is the same with or without batch mode.
    assert study.identity({INSTRUMENT: "h"}) == Study(models=[MODEL], instruments=[INSTRUMENT]).identity(
        {INSTRUMENT: "h"}
    )
    path.write_text(yaml.safe_dump({**fields, "batch_retry": "later"}), encoding="utf-8")
    with pytest.raises(
        StudyError, match=r"line \d+: batch_retry: unknown batch retry 'later'; use one of live, batch, none"
    ):
        load_study(path)


def test_a_batch_the_provider_no_longer_has_is_retried_not_polled_forever(tmp_path: Path, steu, key_env: str):
    db = tmp_path / "b.db"
    keyed = keyed_script({it.stem.strip(): it.option(it.best_option).text for it in steu.items})
    with BatchServer(keyed) as srv:
        invoke(*flags(srv.url, db, key_env, "--batch", "--batch-wait", "0"))
        srv.batches.clear()  # deleted at the provider (or past its retention) while the run was away
        res = invoke(*flags(srv.url, db, key_env, "--batch"))
        assert (srv.uploads, srv.creations, srv.live_calls) == (1, 1, N)
    assert "batch batch_1 (openai/batch-test): gone" in res.stderr
    assert all(t.status == "answered" for t in records(db).values())
    with Store(db) as store:
        assert run_batches(store, store.runs()[0].id, open_only=True) == []


@pytest.mark.parametrize(
    ("step", "status", "said"),
    [
        ("upload", 401, "the batch API refused to take the upload: AuthenticationError (401): "),
        ("create", 403, "the batch API refused to start a batch of file file-1: PermissionDeniedError (403): "),
        ("retrieve", 401, "the batch API refused to report batch batch_1: AuthenticationError (401): "),
    ],
)
def test_a_refused_batch_step_stops_the_run_in_one_line_and_a_rerun_submits_nothing_twice(
    tmp_path: Path, steu, key_env: str, step: str, status: int, said: str
):
    db = tmp_path / "r.db"
    with BatchServer(varied_script(steu), refuse={step: (status, f"Incorrect API key provided: {SECRET}")}) as srv:
        res = CliRunner().invoke(cli, ["run", *flags(srv.url, db, key_env, "--batch")])
        assert res.exit_code == 2 and "Traceback" not in res.output
        (line,) = [ln for ln in res.stderr.splitlines() if ln.startswith("Error: ")]
        assert line.startswith(f"Error: {said}") and SECRET not in res.output  # the key's echo is redacted
        assert srv.creations == (step == "retrieve") and srv.live_calls == 0
        srv.refuse.clear()  # the key is fixed
        invoke(*flags(srv.url, db, key_env, "--batch"))
        # nothing sent twice: a file taken before the refusal is used again, a batch started is re-attached
        assert (srv.uploads, srv.creations) == (1, 1)
    assert len(records(db)) == N
