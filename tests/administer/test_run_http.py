"""`eitest run` end to end through litellm's real HTTP path, against a scripted local server."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import run_cli
from openai_server import Action, ScriptedServer, keyed_script, prompt_key

from eitest.administer.runner import BudgetExceeded, run_study
from eitest.administer.study import Study, StudyError, load_study
from eitest.instruments import catalogue
from eitest.store import Store

SECRET = "sk-test-DO-NOT-STORE-4f2a9c7e1b"


@pytest.fixture(scope="module")
def steu():
    return catalogue()["open-steu"]


def keyed_texts(inst) -> dict[str, str]:
    return {it.stem.strip(): it.option(it.best_option).text for it in inst.items}


def trials(db: Path):
    with Store(db) as s:
        return s.trials()


def test_oracle_scores_100_percent(tmp_path: Path):
    db = tmp_path / "o.db"
    res = run_cli(
        "run", "--model", "eitest/oracle", "--instrument", "open-steu", "--reps", "2", "--yes", "--db", str(db)
    )
    assert res.returncode == 0, res.stderr
    df = trials(db)
    assert len(df) == 90 and (df["status"] == "answered").all() and (df["score"] == 1.0).all()
    assert "1.000" in res.stdout  # the summary table


def test_keyed_server_with_shuffled_orders_scores_100_percent(tmp_path: Path, steu):
    with ScriptedServer(keyed_script(keyed_texts(steu))) as srv:
        study = Study(
            models=["openai/keyed-test"],
            instruments=["open-steu"],
            reps=2,
            option_order="shuffled",
            seed=7,
            api_base=srv.url,
        )
        out = run_study(study, tmp_path / "k.db")
    df = trials(tmp_path / "k.db")
    assert out.called == 90 and out.failed == 0
    assert (df["score"] == 1.0).all()
    # the orders really varied, and the keyed option sat in every position
    assert df["shown_order"].map(tuple).nunique() > 45
    assert set(df["keyed_position"]) == {0, 1, 2, 3, 4}
    assert set(df["model_returned"]) == {"served-keyed-test"}
    assert df["prompt_tokens"].gt(0).all()


def test_retries_then_success(tmp_path: Path, steu):
    seen: dict[str, int] = {}

    def script(body):
        k = prompt_key(body)
        seen[k] = seen.get(k, 0) + 1
        if seen[k] == 1:
            return Action(status=429)
        if seen[k] == 2:
            return Action(status=503)
        return keyed_script(keyed_texts(steu))(body)

    with ScriptedServer(script) as srv:
        study = Study(
            models=["openai/flaky"], instruments=["open-steu"], api_base=srv.url, backoff_s=0.01, max_retries=3
        )
        out = run_study(study, tmp_path / "r.db")
        assert srv.requests == 3 * 45
    df = trials(tmp_path / "r.db")
    assert out.failed == 0 and (df["attempts"] == 3).all() and (df["score"] == 1.0).all()
    assert df["error"].str.contains("429").all()  # earlier attempts' errors are kept


@pytest.mark.parametrize(
    "action, expected",
    [
        (Action(status=500), "500"),
        (Action(malformed=True), "Error"),
        (Action(hang_s=1.5), "Timeout"),
        (Action(trickle_s=0.1), "Timeout: no complete reply within 0.5 s"),
        (Action(no_choices=True), "NoText: the reply had no choices"),
        (
            Action(tool_call=("get_answer", '{"answer": "B"}')),
            'NoText: the reply had no text: the model answered with a tool call get_answer({"answer": "B"})',
        ),
    ],
    ids=["http-500", "malformed-json", "timeout", "trickled-body", "no-choices", "tool-call"],
)
def test_permanent_failure_is_stored_and_retried_on_rerun(tmp_path: Path, steu, action, expected):
    first_items = {it.stem.strip() for it in steu.items[:3]}

    def script(body):
        prompt = "\n".join(m["content"] for m in body["messages"])
        if any(stem in prompt for stem in first_items):
            return action
        return keyed_script(keyed_texts(steu))(body)

    # A short deadline only where the deadline is the failure: elsewhere a loaded machine must not turn it into one.
    deadline = 0.5 if expected.startswith("Timeout") else 30.0
    study = Study(
        models=["openai/broken"], instruments=["open-steu"], backoff_s=0.01, max_retries=1, timeout_s=deadline,
        concurrency=8,
    )  # fmt: skip
    with ScriptedServer(script) as srv:
        out = run_study(study.model_copy(update={"api_base": srv.url}), tmp_path / "f.db")
        port = srv.port
    df = trials(tmp_path / "f.db")
    failed = df[df["status"] == "error"]
    assert out.failed == 3 and len(failed) == 3 and len(df) == 45
    assert failed["error"].str.contains(expected, regex=False).all(), failed["error"].tolist()
    assert (failed["attempts"] == 2).all() and failed["raw_reply"].isna().all()
    # the server recovers; the same study on the same port resumes and calls only the 3 failures
    with ScriptedServer(keyed_script(keyed_texts(steu)), port=port) as srv:
        again = run_study(study.model_copy(update={"api_base": srv.url}), tmp_path / "f.db")
        assert srv.requests == 3
    assert again.skipped == 42 and again.called == 3 and again.failed == 0
    assert (trials(tmp_path / "f.db")["score"] == 1.0).all()


def test_unparseable_reply_is_kept_raw(tmp_path: Path):
    with ScriptedServer(lambda body: Action(reply="Either B or D, hard to say.")) as srv:
        run_study(Study(models=["openai/vague"], instruments=["open-stem"], api_base=srv.url), tmp_path / "u.db")
    df = trials(tmp_path / "u.db")
    assert (df["status"] == "unparseable").all() and df["score"].isna().all()
    assert (df["raw_reply"] == "Either B or D, hard to say.").all()


def test_sigkill_and_resume_repeats_no_finished_call(tmp_path: Path, steu):
    db = tmp_path / "kill.db"
    with ScriptedServer(keyed_script(keyed_texts(steu), delay_s=0.08)) as srv:
        args = [
            "run",
            "--model",
            "openai/slow",
            "--instrument",
            "open-steu",
            "--api-base",
            srv.url,
            "--concurrency",
            "2",
            "--yes",
            "--db",
            str(db),
        ]
        env = {**os.environ, "OPENAI_API_KEY": SECRET}
        proc = subprocess.Popen(
            [sys.executable, "-m", "eitest", *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.time() + 60
        done = 0
        while time.time() < deadline and done < 12:
            time.sleep(0.05)
            if db.exists():
                try:
                    done = sqlite3.connect(db).execute("SELECT COUNT(*) FROM trials").fetchone()[0]
                except sqlite3.OperationalError:
                    pass
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Store(db) as s:
            finished = s.trials()
        assert 12 <= len(finished) < 45, "the run should have been killed part-way"
        before = dict(srv.calls)
        res = run_cli(*args, env={"OPENAI_API_KEY": SECRET})
        assert res.returncode == 0, res.stderr
        after = dict(srv.calls)
    df = trials(db)
    assert len(df) == 45 and (df["score"] == 1.0).all()
    stems = {it.id: it.stem.strip() for it in steu.items}
    finished_ids = set(finished["item_id"])
    # every trial finished before the kill was called exactly once over both runs
    for _, row in finished.iterrows():
        key = prompt_key({"messages": row["prompt"]})
        assert after[key] == 1, (row["item_id"], after[key])
    assert sum(after.values()) - sum(before.values()) == 45 - len(finished_ids)
    assert all(stems[i] for i in finished_ids)


def test_api_key_never_reaches_the_store(tmp_path: Path, steu):
    db = tmp_path / "key.db"
    server_key = "srv-DO-NOT-STORE-91c3e5aa07"  # in a variable whose name says nothing of keys
    with ScriptedServer(keyed_script(keyed_texts(steu))) as srv:
        res = run_cli(
            "run",
            "-m",
            "openai/keytest",
            "-i",
            "open-stem",
            "--api-base",
            srv.url,
            "--api-key-env",
            "EITEST_SERVER_CRED",
            "--yes",
            "--db",
            str(db),
            env={"OPENAI_API_KEY": SECRET, "EITEST_SERVER_CRED": server_key},
        )
        assert res.returncode == 0, res.stderr
        assert set(srv.auth) == {f"Bearer {server_key}"}  # the named key was used on the wire, not OPENAI_API_KEY
    assert f"openai/keytest via {srv.url}: key from EITEST_SERVER_CRED" in res.stderr
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("key.db*"))
    for secret in (SECRET, server_key):
        assert secret.encode() not in blob and secret not in res.stdout + res.stderr
    assert b"DO-NOT-STORE" not in blob


def test_openai_key_is_not_sent_to_a_custom_host(tmp_path: Path):
    with ScriptedServer(lambda body: Action(reply="B")) as srv:
        res = run_cli(
            "run", "-m", "openai/local", "-i", "open-stem", "--api-base", srv.url, "--yes", "--db",
            str(tmp_path / "n.db"), env={"OPENAI_API_KEY": SECRET},
        )  # fmt: skip
        assert res.returncode == 0, res.stderr
        assert srv.auth and set(srv.auth) == {"Bearer not-needed"}
    assert f"openai/local via {srv.url}: no key (--api-key-env NAME sends the key in $NAME)" in res.stderr
    # a named variable that is not set stops the run before any call, naming the fix
    res = run_cli(
        "run", "-m", "openai/local", "-i", "open-stem", "--api-base", "http://127.0.0.1:9/v1", "--api-key-env",
        "NO_SUCH_VAR_EITEST", "--yes", "--db", str(tmp_path / "m.db"), unset=("NO_SUCH_VAR_EITEST",),
    )  # fmt: skip
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "--api-key-env names NO_SUCH_VAR_EITEST, which is not set; export NO_SUCH_VAR_EITEST=..." in res.stderr
    # a key given where its variable's name goes is refused without being repeated
    res = run_cli(
        "run", "-m", "openai/local", "-i", "open-stem", "--api-base", srv.url, "--api-key-env", SECRET,
        "--yes", "--db", str(tmp_path / "o.db"),
    )  # fmt: skip
    assert res.returncode == 2 and "not the key itself" in res.stderr and SECRET not in res.stderr


def test_max_cost_refusal_calls_nothing(tmp_path: Path):
    with ScriptedServer(lambda body: Action(reply="A")) as srv:
        with pytest.raises(BudgetExceeded, match="exceeds --max-cost"):
            run_study(
                Study(models=["openai/gpt-4o"], instruments=["open-steu"], reps=3, api_base=srv.url, max_cost=0.0001),
                tmp_path / "c.db",
            )
        res = run_cli(
            "run",
            "-m",
            "openai/gpt-4o",
            "-i",
            "open-steu",
            "--api-base",
            srv.url,
            "--max-cost",
            "0.0001",
            "--yes",
            "--db",
            str(tmp_path / "c2.db"),
        )
        assert srv.requests == 0
    assert res.returncode == 2 and "exceeds --max-cost" in res.stderr


def test_bad_input_messages(tmp_path: Path):
    res = run_cli(
        "run",
        "-m",
        "anthropic/claude-3-5-haiku-latest",
        "-i",
        "open-steu",
        "--yes",
        "--db",
        str(tmp_path / "a.db"),
        unset=("ANTHROPIC_API_KEY",),
    )
    assert res.returncode == 2 and "set ANTHROPIC_API_KEY" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "a.db").exists()
    res = run_cli("run", "-m", "nosuchprovider/some-model", "-i", "open-steu", "--yes", "--db", str(tmp_path / "b.db"))
    assert res.returncode == 2 and "unknown model" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = run_cli("run", "-m", "eitest/oracle", "-i", "no-such-test", "--yes", "--db", str(tmp_path / "c.db"))
    assert res.returncode == 2 and "open-steu" in res.stderr and "known" in res.stderr
    res = run_cli("run", "-m", "eitest/oracle", "-i", "steu", "--yes", "--db", str(tmp_path / "d.db"))
    assert res.returncode == 2 and "import steu" in res.stderr
    study = tmp_path / "study.yaml"
    study.write_text("models: [eitest/oracle]\ninstruments: [open-steu]\nrepetitions: 3\n")
    with pytest.raises(StudyError, match="line 3: repetitions: unknown field"):
        load_study(study)
    res = run_cli("run", str(study), "--yes", "--db", str(tmp_path / "e.db"))
    assert res.returncode == 2 and "line 3: repetitions: unknown field" in res.stderr


def test_study_file_and_runs_commands(tmp_path: Path):
    study = tmp_path / "study.yaml"
    study.write_text(
        "models: [eitest/first, eitest/chance]\ninstruments: [open-stem]\nreps: 2\noption_order: rotated\n"
    )
    db = str(tmp_path / "s.db")
    res = run_cli("run", str(study), "--yes", "--db", db)
    assert res.returncode == 0, res.stderr
    again = run_cli("run", str(study), "--yes", "--db", db)
    assert "128 already done, 0 to call" in again.stderr
    listing = run_cli("runs", "list", "--db", db, "--json")
    import json

    (run,) = json.loads(listing.stdout)
    assert run["trials"] == 128 and run["failed"] == 0
    shown = run_cli("runs", "show", run["run"][:6], "--db", db)
    assert shown.returncode == 0 and "eitest/chance" in shown.stdout and "rotated" in shown.stdout


def test_reasoning_and_json_protocols_over_http(tmp_path: Path, steu):
    keyed = keyed_script(keyed_texts(steu))
    bodies: list[dict] = []

    def script(body):
        bodies.append(body)
        letter = keyed(body).reply
        prompt = "\n".join(m["content"] for m in body["messages"])
        if "ANSWER: <letter>" in prompt:
            return Action(
                reply=f"The person caused this themselves, so options A and C do not fit.\nLet me weigh the rest.\nANSWER: {letter}"
            )
        return Action(reply="```json\n" + json.dumps({"answer": letter}) + "\n```")

    with ScriptedServer(script) as srv:
        for protocol in ("reasoning", "json"):
            out = run_study(
                Study(models=["openai/gpt-4o-mini"], instruments=["open-steu"], protocol=protocol, api_base=srv.url),
                tmp_path / f"{protocol}.db",
            )
            assert out.failed == 0
    for protocol in ("reasoning", "json"):
        df = trials(tmp_path / f"{protocol}.db")
        assert (df["score"] == 1.0).all(), df["parse_rule"].value_counts()
        assert set(df["protocol"]) == {protocol}
    json_bodies = [b for b in bodies if "JSON object" in b["messages"][0]["content"]]
    assert json_bodies and all(b.get("response_format") == {"type": "json_object"} for b in json_bodies)
    reasoning_bodies = [b for b in bodies if "ANSWER: <letter>" in b["messages"][0]["content"]]
    assert reasoning_bodies and all(
        b.get("max_tokens", 0) >= 1024 or b.get("max_completion_tokens", 0) >= 1024 for b in reasoning_bodies
    )


def test_cost_from_litellm_price_list_or_null(tmp_path: Path):
    with ScriptedServer(lambda body: Action(reply="B")) as srv:
        run_study(
            Study(models=["openai/gpt-4o", "openai/no-such-priced-model"], instruments=["open-stem"], api_base=srv.url),
            tmp_path / "cost.db",
        )
    df = trials(tmp_path / "cost.db")
    priced = df[df["model"] == "openai/gpt-4o"]
    unpriced = df[df["model"] == "openai/no-such-priced-model"]
    assert (priced["cost"] > 0).all() and priced["prompt_tokens"].gt(0).all()
    assert unpriced["cost"].isna().all()  # no price known: unknown, not zero and not a crash
    assert set(df["finish_reason"]) == {"stop"} and df["latency_s"].gt(0).all()


def test_a_twelve_option_item_keyed_last_is_shown_and_scored(tmp_path: Path):
    from conftest import instrument_data

    items = [
        {
            "id": f"q{n}",
            "stem": f"Situation number {n}: a friend brings soup when Kim is ill.",
            "question": "What does Kim most likely feel?",
            "options": [{"id": f"o{k}", "text": f"Feeling {n}-{k}"} for k in range(12)],
            "key": "o11",
        }
        for n in range(3)
    ]
    path = tmp_path / "twelve.yaml"
    path.write_text(yaml.safe_dump(instrument_data("twelve", items)), encoding="utf-8")
    keyed = {it["stem"]: f"Feeling {n}-11" for n, it in enumerate(items)}
    with ScriptedServer(keyed_script(keyed)) as srv:
        out = run_study(Study(models=["openai/twelve"], instruments=[str(path)], api_base=srv.url), tmp_path / "t.db")
    df = trials(tmp_path / "t.db")
    assert out.failed == 0 and len(df) == 3
    assert (df["raw_reply"] == "L").all() and (df["score"] == 1.0).all() and (df["chosen_position"] == 11).all()


def test_a_retry_after_a_timeout_is_said_on_stderr(tmp_path: Path, steu):
    first = steu.items[0].stem.strip()
    seen: list[int] = []

    def script(body):
        if first in "\n".join(m["content"] for m in body["messages"]) and not seen:
            seen.append(1)
            return Action(reply="A", trickle_s=0.2)
        return keyed_script(keyed_texts(steu))(body)

    with ScriptedServer(script) as srv:
        res = run_cli(
            "run", "-m", "openai/slowpoke", "-i", "open-steu", "--api-base", srv.url, "--timeout", "1", "--yes",
            "--db", str(tmp_path / "w.db"), subprocess=True,  # stderr as a user's terminal gets the log line
        )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "openai/slowpoke: Timeout: no complete reply within 1 s; retrying in " in res.stderr
    assert "(attempt 2 of 5)" in res.stderr and ", 0 failed" in res.stderr
