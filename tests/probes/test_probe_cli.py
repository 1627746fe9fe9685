"""`eitest probe memorisation` over real HTTP: a server that knows the items verbatim, and one that does not.

The instrument is written here (20 items of our own, so that the flag rates mean
something); the scripted servers are given its texts and answer as a model that has
memorised them would, or with unrelated text.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import instrument_data
from openai_server import OPTION_LINE, Action, ScriptedServer, prompt_of

from eitest.cli import cli
from eitest.store import Store

NAMES = ["Amara", "Bilal", "Chen", "Dagny", "Emeka", "Farah", "Goran", "Hana", "Ivo", "Jia",
         "Kofi", "Lena", "Mateo", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Sami", "Tove"]  # fmt: skip
EVENTS = [
    "finds out that the flat she wanted has gone to another tenant after weeks of viewings",
    "hears that his cousin has praised his cooking to the whole family at the reunion",
    "learns the night before that the presentation she prepared for a month is cancelled",
    "discovers that the bicycle he left unlocked outside the station is still there at midnight",
    "is told by her coach that she will start the final match instead of sitting on the bench",
    "realises that he forgot to send the birthday card his grandmother always looks forward to",
    "receives a letter saying that the scholarship she applied for may still be awarded next month",
    "sees a neighbour throw rubbish over the fence into the garden he spent all spring planting",
    "wins a small prize in a raffle she entered only to support the local school",
    "notices that the shop has charged him twice for the same jacket and the queue is long",
    "is waiting for the results of a medical test that will come back at the end of the week",
    "hears a colleague take credit in a meeting for the plan he drafted on his own",
    "finishes the long mountain trail she trained for over two whole summers",
    "spills coffee over the notes a classmate lent him the day before the exam",
    "finds the ring she lost on the beach last year in the pocket of an old coat",
    "is asked to give a speech at a friend's wedding with only an hour's notice",
    "sees that the bus she needs has left a minute early and the next one is in an hour",
    "learns that the old cinema where he had his first job is being pulled down",
    "gets a message that her brother arrived home safely after a stormy flight",
    "is given a mouldy sandwich by the cafe that he visits every single morning",
]
EMOTIONS = ["Relief", "Anger", "Pride", "Sadness", "Hope", "Guilt", "Joy", "Fear", "Regret", "Surprise"]
UNRELATED = (
    "Quarterly figures for the harbour authority were published on a Thursday with little fanfare. "
    "The committee postponed its vote on the parking scheme until the surveyors return in spring. "
    "A freight train carrying timber passed through the valley at a steady forty miles an hour. "
    "Volunteers counted the migrating geese from a hide at the edge of the reservoir each dawn."
).split()
HOSTILE = "<script>alert('probe')</script>"


def _items() -> list[dict]:
    items = []
    for n, (name, event) in enumerate(zip(NAMES, EVENTS, strict=True)):
        emotions = [EMOTIONS[(n + k) % len(EMOTIONS)] for k in range(5)]
        items.append(
            {
                "id": f"m{n:02d}",
                "stem": f"{name} {event}. Nobody else in the room seems to notice what just happened.",
                "question": f"What is {name} most likely to feel?",
                "options": [{"id": "abcde"[k], "text": e} for k, e in enumerate(emotions)],
                "key": "a",
            }
        )
    return items


ITEMS = _items()


def verbatim(body: dict) -> Action:
    """A model that has memorised the items: it continues any opening of one, and gives its other options."""
    prompt = prompt_of(body).rstrip()
    for it in ITEMS:
        if it["stem"] in prompt:
            shown = {text.strip() for _, text in OPTION_LINE.findall(prompt)}
            return Action(reply="\n".join(o["text"] for o in it["options"] if o["text"] not in shown))
        words = it["stem"].split()
        for k in range(len(words) - 1, 0, -1):
            if prompt.endswith(" ".join(words[:k])):
                rest = " ".join(words[k:])
                return Action(reply=rest + (f" {HOSTILE}" if it["id"] == "m03" else ""))
    return Action(reply="I do not recognise this passage.")


def unrelated(body: dict) -> Action:
    """A model that has seen none of it: some words of an unrelated text, picked by the prompt."""
    start = int(hashlib.sha256(prompt_of(body).encode()).hexdigest(), 16) % (len(UNRELATED) - 20)
    return Action(reply=" ".join(UNRELATED[start : start + 14]))


@pytest.fixture
def form(tmp_path: Path) -> str:
    path = tmp_path / "form.yaml"
    path.write_text(yaml.safe_dump(instrument_data("probe-form", ITEMS)), encoding="utf-8")
    return str(path)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def probe(db: Path, form: str, model: str, url: str):
    return invoke("probe", "memorisation", "-m", model, "-i", form, "--db", str(db), "--api-base", url, "--yes")


def test_the_probe_flags_memorised_items_and_not_unseen_ones(tmp_path: Path, form: str):
    db = tmp_path / "p.db"
    assert invoke("run", "-m", "eitest/oracle", "-i", form, "--db", str(db), "--yes").exit_code == 0
    with ScriptedServer(verbatim) as srv:
        res = probe(db, form, "openai/knows-it", srv.url)
    assert res.exit_code == 0, res.output
    calls = srv.requests
    assert calls == 2 * 20 + 2 * 20  # two variants of 20 items and of 20 (>= 19) controls
    with ScriptedServer(unrelated) as srv:
        assert probe(db, form, "openai/never-saw-it", srv.url).exit_code == 0
        again = probe(db, form, "openai/never-saw-it", srv.url)  # resumes: nothing is called twice
    assert again.exit_code == 0 and srv.requests == 80 and "0 call(s) made, 80 already done" in again.output

    with Store(db, create=False) as store:
        runs = {r.config.get("models", [""])[0]: r for r in store.runs()}
        knows = store.trial_records(runs["openai/knows-it"].id)
    assert runs["openai/knows-it"].config["kind"] == "probe"
    assert {t.protocol for t in knows} == {"probe-memorisation"} and len(knows) == 80
    opening = next(t for t in knows if t.item_id == "m03" and t.parse_rule == "opening")
    assert opening.raw_reply.endswith(HOSTILE) and opening.repetition == 0  # the raw reply, kept as it came

    analysed = invoke("analyze", "--db", str(db), "--json")
    assert analysed.exit_code == 0, analysed.output
    out = json.loads(analysed.stdout)
    assert [s["model"] for s in out["scores"]] == ["eitest/oracle"]  # the probes are not scored as tests
    print(out["notes"])
    assert not any("knows-it" in n or "never-saw-it" in n for n in out["notes"])
    found = {f["model"]: f for f in out["memorisation"]}
    known, unseen = found["openai/knows-it"], found["openai/never-saw-it"]
    assert (known["instrument"], known["n_items"], known["n_controls"]) == ("probe-form", 20, 20)
    assert known["n_flagged"] / known["n_items"] >= 0.9
    assert unseen["n_items"] == 20 and unseen["n_flagged"] / unseen["n_items"] <= 0.05
    evidence = next(f for f in known["flagged"] if f["item_id"] == "m03")["evidence"]
    words = ITEMS[3]["stem"].split()
    assert evidence[0]["truth"] == " ".join(words[len(words) // 2 :])
    assert evidence[0]["continuation"] == evidence[0]["truth"] + f" {HOSTILE}"

    html = tmp_path / "r.html"
    assert invoke("report", "--db", str(db), "--out", str(html)).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert "Memorisation probe" in page and HOSTILE not in page
    assert "&lt;script&gt;alert(&#39;probe&#39;)&lt;/script&gt;" in page
    assert f"{known['n_flagged']} of 20 items" in page
