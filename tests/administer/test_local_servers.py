"""`eitest run` against local model servers over HTTP: Ollama's own API, and vLLM's OpenAI-compatible one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import instrument_data
from ollama_server import OllamaServer
from openai_server import Action, ScriptedServer, keyed_script

from eitest.cli import cli
from eitest.store import Store

STEMS = [f"Scene {n}: the exam Kim feared is cancelled." for n in range(3)]


@pytest.fixture
def form(tmp_path: Path) -> str:
    items = [
        {
            "id": f"q{n}",
            "stem": stem,
            "question": "What does Kim most likely feel?",
            "options": [{"id": o.lower(), "text": o} for o in ("Pride", "Relief", "Guilt")],
            "key": "relief",
        }
        for n, stem in enumerate(STEMS)
    ]
    path = tmp_path / "form.yaml"
    path.write_text(yaml.safe_dump(instrument_data("form", items)), encoding="utf-8")
    return str(path)


def run(*args: str):
    return CliRunner().invoke(cli, ["run", *args, "--yes"], catch_exceptions=False)


def stored(db: Path):
    with Store(db, create=False) as store:
        [record] = store.runs()
        return record, store.trial_records(record.id)


KEYED = keyed_script(dict.fromkeys(STEMS, "Relief"))


@pytest.mark.parametrize(
    ("model", "path", "cost"),
    [
        ("ollama/llama3", "/api/generate", 0.0),  # litellm's price list has it, at 0
        ("ollama_chat/llama3", "/api/chat", None),  # not listed under this name: price unknown, stored as null
    ],
)
def test_an_ollama_server_runs_end_to_end_without_a_key(
    tmp_path: Path, form: str, model: str, path: str, cost: float | None, monkeypatch
):
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)
    db = tmp_path / "o.db"
    with OllamaServer(KEYED) as srv:
        res = run("-m", model, "-i", form, "--api-base", srv.url, "--db", str(db))
    assert res.exit_code == 0, res.output
    assert {p for p, _ in srv.requests} == {path} and len(srv.requests) == 3
    assert all(b["stream"] is False and b["options"]["temperature"] == 0.0 for _, b in srv.requests)
    record, trials = stored(db)
    assert record.config["api_base"] == srv.url
    for t in trials:
        assert (t.raw_reply, t.status, t.score, t.model_returned) == ("B", "answered", 1.0, model)
        assert t.prompt_tokens > 0 and t.completion_tokens == 1
        assert t.cost == cost


def test_an_ollama_reasoning_model_keeps_its_thinking_apart(tmp_path: Path, form: str):
    with OllamaServer(lambda body: Action(reply="B", reasoning_content="Relief: the fear is gone.")) as srv:
        res = run("-m", "ollama_chat/qwen3", "-i", form, "--api-base", srv.url, "--db", str(tmp_path / "q.db"))
    assert res.exit_code == 0, res.output
    _, trials = stored(tmp_path / "q.db")
    assert [(t.raw_reply, t.reasoning, t.score) for t in trials] == [("B", "Relief: the fear is gone.", 1.0)] * 3


def test_an_unreachable_ollama_server_is_a_stored_failure_not_a_traceback(tmp_path: Path, form: str):
    with OllamaServer(KEYED) as srv:
        url = srv.url  # closed on exit: nothing listens there any more
    db = tmp_path / "down.db"
    res = run("-m", "ollama/llama3", "-i", form, "--api-base", url, "--db", str(db), "--retries", "0")
    assert "Traceback" not in res.output
    assert "3 call(s) made, 0 already done, 3 failed (re-run the same command to retry them)" in res.output
    _, trials = stored(db)
    assert [t.status for t in trials] == ["error"] * 3
    assert all(t.error.startswith("APIConnectionError") for t in trials), trials[0].error


def test_a_vllm_server_runs_end_to_end_with_the_key_it_wants(tmp_path: Path, form: str, monkeypatch):
    monkeypatch.setenv("VLLM_KEY", "token-abc123")
    db = tmp_path / "v.db"
    with ScriptedServer(KEYED) as srv:
        res = run(
            "-m", "hosted_vllm/Qwen/Qwen2.5-7B-Instruct", "-i", form, "--api-base", srv.url,
            "--api-key-env", "VLLM_KEY", "--db", str(db),
        )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert srv.auth == ["Bearer token-abc123"] * 3
    assert all(b["model"] == "Qwen/Qwen2.5-7B-Instruct" and b["temperature"] == 0.0 for b in srv.bodies)
    _, trials = stored(db)
    for t in trials:
        assert (t.raw_reply, t.score, t.model_returned) == ("B", 1.0, "served-Qwen/Qwen2.5-7B-Instruct")
        assert t.cost is None  # litellm has no price for a self-hosted model: unknown, not free
