"""`eitest generate` through litellm's real HTTP path, against a scripted local server."""

from __future__ import annotations

import hashlib
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import yaml
from conftest import run_cli
from openai_server import Action, ScriptedServer, prompt_of

from eitest.generate.drafting import GenerateConfig, generate, write_instrument
from eitest.generate.prompt import GENERATE_PROTOCOL_VERSION, build_messages, pick_examples
from eitest.generate.reply import ReplyError, check_candidate, parse_reply
from eitest.instruments import catalogue, load_yaml


@pytest.fixture(scope="module")
def steu():
    return catalogue()["open-steu"]


@pytest.fixture(autouse=True)
def no_local_model(monkeypatch: pytest.MonkeyPatch):
    """As on a machine without the 'local' extra (loading the real model would take seconds per test)."""
    monkeypatch.setitem(sys.modules, "eitest.client.local_model", None)


class FakeEmbeddings:
    """A stand-in for eitest.client.local_model: pseudo-random unit vectors per text, except that ``same`` texts share one."""

    def __init__(self, same: dict[str, str]):
        self.same = same  # text -> text whose vector it gets
        self.calls = 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        out = []
        for t in texts:
            t = self.same.get(t, t)
            rng = np.random.default_rng(int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "big"))
            v = rng.normal(size=256)
            out.append(v / np.linalg.norm(v))
        return np.stack(out)


def item(
    stem: str, question: str, options: list[str], key: str, rationale: str = "Fits the appraisal pattern."
) -> dict:
    return {
        "stem": stem,
        "question": question,
        "options": [{"id": oid, "text": text} for oid, text in zip("abcde", options, strict=False)],
        "key": key,
        "rationale": rationale,
    }


GOOD = [
    item(
        "Lucia trained for months for a regional chess tournament. On the final day she beat the top seed "
        "with a line of play she had worked out herself over the winter.",
        "What is Lucia most likely to feel?",
        ["Relief", "Pride", "Surprise", "Hope", "Gratitude"],
        "b",
    ),
    item(
        "The lab results that Tomás has been waiting for will arrive next week. They could show that the "
        "treatment worked, or that it did not.",
        "What is Tomás most likely to feel?",
        ["Sadness", "Anger", "Anxiety", "Regret", "Joy"],
        "c",
    ),
    item(
        "A colleague of Farida quietly stayed late to finish part of her report so that she could attend "
        "her daughter's school play.",
        "What is Farida most likely to feel?",
        ["Gratitude", "Guilt", "Pride", "Relief", "Surprise"],
        "a",
    ),
]
INVALID_KEY = item(
    "Ben's bicycle was stolen from outside the library even though he had locked it.",
    "What is Ben most likely to feel?",
    ["Anger", "Sadness", "Fear", "Shame", "Hope"],
    "f",
)
WRONG_OPTION_COUNT = item(
    "Mei's flight home was cancelled, and the airline has offered a seat on tomorrow's flight.",
    "What is Mei most likely to feel?",
    ["Frustration", "Sadness", "Fear", "Joy"],
    "a",
)


def planted_duplicate(source_item) -> dict:
    """A light rewording of a source item: the kind of copy the check must catch."""
    stem = source_item.stem.replace("Two years ago", "Three years ago").replace("enormously", "a great deal")
    return item(stem, source_item.question, [o.text for o in source_item.options], source_item.key)


class Script:
    """Replies in turn; records each request's prompt."""

    def __init__(self, replies: list[str]):
        self.replies = replies
        self.prompts: list[str] = []

    def __call__(self, body: dict) -> Action:
        self.prompts.append(prompt_of(body))
        k = len(self.prompts) - 1
        return Action(reply=self.replies[min(k, len(self.replies) - 1)])


def fenced(items: list[dict]) -> str:
    return "Here are the items.\n```json\n" + json.dumps({"items": items}, indent=1) + "\n```\n"


def scenario(steu) -> Script:
    return Script(
        [
            '{"items": [{"stem": "Nadia waited all morning for the',  # malformed JSON: cut off mid-reply
            fenced([GOOD[0], INVALID_KEY, planted_duplicate(steu.items[0]), WRONG_OPTION_COUNT, GOOD[1]]),
            json.dumps({"items": [GOOD[2]]}),
        ]
    )


def test_generate_end_to_end(tmp_path: Path, steu):
    script = scenario(steu)
    with ScriptedServer(script) as srv:
        cfg = GenerateConfig(
            instrument="open-steu",
            model="openai/gen-test",
            n=3,
            api_base=srv.url,
            examples=2,
            seed=5,
            max_attempts=4,
            backoff_s=0.01,
        )
        result = generate(cfg)
        assert srv.requests == 3  # one malformed reply, one mixed, one to fill the last slot

    # every rejected reply and item is reported with its reason
    reasons = {(r.attempt, r.item): r.reason for r in result.rejected}
    assert set(reasons) == {(1, "(reply)"), (2, "#2"), (2, "#4")}
    assert "not valid JSON" in reasons[(1, "(reply)")]
    assert "key" in reasons[(2, "#2")] and "'f' is not among the option ids" in reasons[(2, "#2")]
    assert "4 options, but open-steu items have 5" in reasons[(2, "#4")]
    # the planted copy of steu-001 is flagged and left out
    (dup,) = result.duplicates
    assert dup.near_duplicate_of == steu.items[0].id and dup.similarity >= 85 and not dup.kept
    # the retry after the bad reply told the model why, and asked only for what was missing
    assert "not valid JSON" in script.prompts[1]
    assert script.prompts[2].startswith("You are") and "Write 1 new item for" in script.prompts[2]
    assert "'f' is not among the option ids" in script.prompts[2]

    out = write_instrument(result.instrument, tmp_path / "gen.yaml")
    inst = load_yaml(out)
    assert inst.id == "open-steu-gen" and inst.scoring == "keyed" and inst.n_items == 3
    assert [it.stem for it in inst.items] == [GOOD[0]["stem"], GOOD[1]["stem"], GOOD[2]["stem"]]
    assert [it.key for it in inst.items] == ["b", "c", "a"]
    assert "served-gen-test" in inst.citation and steu.id in inst.citation
    for it in inst.items:
        meta = it.meta
        assert meta["generator_model"] == "served-gen-test"  # what the provider returned
        assert meta["generator_model_requested"] == "openai/gen-test"
        assert meta["protocol_version"] == GENERATE_PROTOCOL_VERSION
        assert meta["source_instrument"] == "open-steu" and meta["source_content_hash"] == steu.content_hash
        assert meta["generated_at"].endswith("Z") and meta["generated_at"][:4].isdigit()
        assert "near_duplicate_of" not in meta
    assert [it.meta["attempt"] for it in inst.items] == [2, 2, 3]
    assert any("embedding similarity skipped" in n for n in result.notes)


def test_keep_duplicates_marks_them(steu):
    with ScriptedServer(Script([fenced([GOOD[0], planted_duplicate(steu.items[0])])])) as srv:
        result = generate(
            GenerateConfig(
                instrument="open-steu",
                model="openai/gen-test",
                n=2,
                api_base=srv.url,
                keep_duplicates=True,
                max_attempts=1,
            )
        )
    inst = result.instrument
    assert inst.n_items == 2
    marked = inst.items[1].meta
    assert marked["near_duplicate_of"] == steu.items[0].id and marked["similarity"] >= 85
    assert "near_duplicate_of" not in inst.items[0].meta
    assert result.duplicates[0].kept and result.duplicates[0].item == inst.items[1].id


def test_near_duplicates_among_generated_items(steu):
    twin = dict(GOOD[0], stem=GOOD[0]["stem"].replace("Lucia", "Lucía"))
    with ScriptedServer(Script([fenced([GOOD[0], twin])])) as srv:
        result = generate(
            GenerateConfig(instrument="open-steu", model="openai/gen-test", n=2, api_base=srv.url, max_attempts=1)
        )
    assert result.instrument.n_items == 1
    assert result.duplicates[0].near_duplicate_of == "open-steu-gen-001"
    assert any("only 1 of the 2 items" in n for n in result.notes)


def test_threshold_is_configurable(steu):
    # At a threshold of 100 the light rewording (score below 100) passes.
    with ScriptedServer(Script([fenced([planted_duplicate(steu.items[0])])])) as srv:
        result = generate(
            GenerateConfig(
                instrument="open-steu",
                model="openai/gen-test",
                n=1,
                api_base=srv.url,
                similarity_threshold=100,
                max_attempts=1,
            )
        )
    assert result.instrument.n_items == 1 and not result.duplicates


def test_weighted_instrument_needs_weights():
    stem = catalogue()["open-stem"]
    good = {
        "stem": "Priya's manager gave the project she led to a newer colleague without explaining why. She feels hurt and unsure of her standing.",
        "question": "What action would be the most effective for Priya?",
        "options": [
            {"id": i, "text": t}
            for i, t in zip(
                "abcd",
                [
                    "Ask her manager for a short meeting about the decision",
                    "Start looking for a new job at once",
                    "Complain about the manager to coworkers",
                    "Say nothing and work longer hours",
                ],
                strict=True,
            )
        ],
        "weights": {"a": 0.7, "b": 0.05, "c": 0.05, "d": 0.2},
    }
    item_ok, reasons = check_candidate(good, stem, "x-001")
    assert item_ok is not None and reasons == [] and item_ok.best_option == "a"
    keyed = {k: v for k, v in good.items() if k != "weights"} | {"key": "a"}
    assert check_candidate(keyed, stem, "x-002")[0] is None
    tied = dict(good, weights={"a": 0.5, "b": 0.5, "c": 0.0, "d": 0.0})
    assert any("share the top weight" in r for r in check_candidate(tied, stem, "x-003")[1])
    assert check_candidate(dict(good, human_p=0.9), stem, "x-004")[1] == ["human_p: not a field the model may set"]
    assert check_candidate(dict(good, meta={"generator_model": "me"}), stem, "x-005")[0] is None
    assert "unknown field" in check_candidate(dict(good, explanation="..."), stem, "x-006")[1][0]
    prompt = build_messages(stem, pick_examples(stem, 2, 0), 4)[1]["content"]
    assert '"weights"' in prompt and "sum to 1" in prompt and "exactly 4 options" in prompt


def test_parse_reply_variants():
    assert parse_reply('```json\n{"items": [{"stem": "x"}]}\n```') == [{"stem": "x"}]
    assert parse_reply('Sure! {"items": []} Hope this helps.') == []
    assert parse_reply("[1, 2]") == [1, 2]
    for bad in ("", "no json here", '{"things": 1}', '{"items": [1, 2'):
        with pytest.raises(ReplyError):
            parse_reply(bad)
    # a hostile reply nested past any use is a rejected reply, not a RecursionError
    with pytest.raises(ReplyError, match=r"^the reply is not valid JSON \(nested deeper than 100 levels at line 1\)$"):
        parse_reply("[" * 100_000 + "]" * 100_000)


def test_cli_reports_rejections_and_writes_file(tmp_path: Path, steu):
    out = tmp_path / "gen.yaml"
    with ScriptedServer(scenario(steu)) as srv:
        res = run_cli(
            "generate",
            "--instrument",
            "open-steu",
            "--model",
            "openai/gen-test",
            "--n",
            "3",
            "--out",
            str(out),
            "--api-base",
            srv.url,
            "--examples",
            "1",
            "--max-attempts",
            "4",
            "--license",
            "CC0-1.0",
            "--json",
            "--no-embeddings",
            "--api-key-env",
            "GEN_TEST_KEY",
            env={"GEN_TEST_KEY": "gen-key-123456", "OPENAI_API_KEY": "sk-not-for-this-host-1234"},
        )
        # the named variable's key goes to the custom host, and OPENAI_API_KEY does not
        assert srv.auth and set(srv.auth) == {"Bearer gen-key-123456"}
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["n_items"] == 3 and summary["model_returned"] == "served-gen-test" and len(summary["rejected"]) == 3
    assert summary["duplicates"][0]["near_duplicate_of"] == steu.items[0].id
    data = yaml.safe_load(out.read_text())
    assert data["license"] == "CC0-1.0"
    assert load_yaml(out).n_items == 3


def test_cli_nothing_valid_exits_2(tmp_path: Path):
    out = tmp_path / "gen.yaml"
    with ScriptedServer(Script(["I would rather not."])) as srv:
        res = run_cli(
            "generate",
            "-i",
            "open-steu",
            "-m",
            "openai/gen-test",
            "--n",
            "2",
            "--out",
            str(out),
            "--api-base",
            srv.url,
            "--max-attempts",
            "2",
            "--no-embeddings",
        )
        assert srv.requests == 2
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "no item passed the checks" in res.stderr and "not valid JSON" in res.stdout
    assert not out.exists()


def test_metadata_only_source_is_refused():
    from eitest.generate.drafting import GenerateError

    with pytest.raises(GenerateError, match="import your licensed copy"):
        generate(GenerateConfig(instrument="steu", model="openai/x", n=1, api_base="http://127.0.0.1:9/v1"))


def test_embedding_similarity_catches_a_paraphrase(monkeypatch: pytest.MonkeyPatch, steu):
    from eitest.generate.novelty import similarity_text
    from eitest.instruments import Item

    # A paraphrase of steu-001 in other words: string similarity stays low, the (fake) embeddings match.
    paraphrase = item(
        "Some time back, a friend invited Arjun to put money into a start-up, and he declined. It is now worth a fortune "
        "and the offer is long gone.",
        "How does Arjun most likely feel?",
        ["Anger", "Regret", "Frustration", "Sadness", "Guilt"],
        "b",
    )
    fake = FakeEmbeddings({similarity_text(Item(id="x", **paraphrase)): similarity_text(steu.items[0])})
    monkeypatch.setitem(sys.modules, "eitest.client.local_model", types.SimpleNamespace(embed=fake.embed))
    monkeypatch.setitem(sys.modules, "sentence_transformers", types.ModuleType("sentence_transformers"))
    with ScriptedServer(Script([fenced([GOOD[0], paraphrase])])) as srv:
        result = generate(
            GenerateConfig(
                instrument="open-steu",
                model="openai/gen-test",
                n=2,
                api_base=srv.url,
                keep_duplicates=True,
                max_attempts=1,
            )
        )
    assert fake.calls >= 3  # the source items once, then each accepted candidate
    assert result.instrument.n_items == 2
    flagged = result.instrument.items[1].meta
    assert flagged["near_duplicate_of"] == steu.items[0].id
    assert flagged["similarity"] < 85 and flagged["embedding_similarity"] == pytest.approx(1.0)
    assert "near_duplicate_of" not in result.instrument.items[0].meta
    assert abs(result.duplicates[0].embedding_similarity - 1.0) < 1e-9
    assert not any("embedding similarity skipped" in n for n in result.notes)
    # turned off, the same paraphrase passes
    with ScriptedServer(Script([fenced([paraphrase])])) as srv:
        off = generate(
            GenerateConfig(
                instrument="open-steu", model="openai/gen-test", n=1, api_base=srv.url, embeddings=False, max_attempts=1
            )
        )
    assert off.instrument.n_items == 1 and not off.duplicates
