"""`eitest probe memorisation` over real HTTP: a server that knows the items verbatim, and one that does not.

The instrument is written here (20 items of our own, so that the flag rates mean
something); the scripted servers are given its texts and answer as a model that has
memorised them would, or with unrelated text.
"""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import instrument_data
from genre import EMOTIONS, ENDINGS
from openai_server import OPTION_LINE, Action, ScriptedServer, prompt_of
from probe_items import CONTROL_ITEMS, HOSTILE, ITEMS

from eitest.cli import cli
from eitest.store import Store

UNRELATED = (
    "Quarterly figures for the harbour authority were published on a Thursday with little fanfare. "
    "The committee postponed its vote on the parking scheme until the surveyors return in spring. "
    "A freight train carrying timber passed through the valley at a steady forty miles an hour. "
    "Volunteers counted the migrating geese from a hide at the edge of the reservoir each dawn."
).split()


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


def genre_aware(body: dict) -> Action:
    """A model that has seen no item but knows the genre (tests/probes/genre.py), over HTTP: items and controls alike."""
    prompt = prompt_of(body)
    pick = int(hashlib.sha256(prompt.encode()).hexdigest(), 16)
    shown = [text.strip() for _, text in OPTION_LINE.findall(prompt)]
    if not shown:
        return Action(reply=ENDINGS[pick % len(ENDINGS)])
    fresh = [w for w in EMOTIONS if w not in shown]
    head = fresh[:8]
    random.Random(pick).shuffle(head)
    return Action(reply="\n".join((head + fresh[8:])[: 5 - len(shown)]))


@pytest.fixture
def form(tmp_path: Path) -> str:
    path = tmp_path / "form.yaml"
    path.write_text(yaml.safe_dump(instrument_data("probe-form", ITEMS)), encoding="utf-8")
    controls = tmp_path / "controls.yaml"  # beside it: the probe's controls (probe_items.CONTROL_ITEMS)
    controls.write_text(yaml.safe_dump(instrument_data("probe-controls-form", CONTROL_ITEMS)), encoding="utf-8")
    return str(path)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def probe(db: Path, form: str, model: str, url: str):
    controls = str(Path(form).with_name("controls.yaml"))
    return invoke(
        "probe",
        "memorisation",
        "-m",
        model,
        "-i",
        form,
        "--controls",
        controls,
        "--db",
        str(db),
        "--api-base",
        url,
        "--yes",
    )


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
    shown = invoke("runs", "show", runs["openai/knows-it"].id, "--db", str(db))
    assert "n_flagged" in shown.stdout and "accuracy" not in shown.stdout  # a probe run is no test
    assert {t.protocol for t in knows} == {"probe-memorisation"} and len(knows) == 80
    opening = next(t for t in knows if t.item_id == "m03" and t.parse_rule == "opening")
    assert opening.raw_reply.endswith(HOSTILE) and opening.repetition == 0  # the raw reply, kept as it came

    analysed = invoke("analyze", "--db", str(db), "--json")
    assert analysed.exit_code == 0, analysed.output
    out = json.loads(analysed.stdout)
    assert [s["model"] for s in out["scores"]] == ["eitest/oracle"]  # the probes are not scored as tests
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

    exported = invoke("export", "--db", str(db), "--format", "csv", "--out", str(tmp_path / "x"))
    assert exported.exit_code == 0 and "180 trial(s) and 1 score row(s)" in exported.output  # probes: data, no score
    assert (tmp_path / "x" / "scores.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[1] == "eitest/oracle"

    html = tmp_path / "r.html"
    assert invoke("report", "--db", str(db), "--out", str(html)).exit_code == 0
    page = html.read_text(encoding="utf-8")
    assert "Memorisation probe" in page and HOSTILE not in page
    assert "&lt;script&gt;alert(&#39;probe&#39;)&lt;/script&gt;" in page
    assert f"{known['n_flagged']} of 20 items" in page


def test_a_store_of_probe_runs_only_is_analysed_and_reported_with_the_probes_section_alone(tmp_path: Path, form: str):
    db = tmp_path / "only.db"
    with ScriptedServer(verbatim) as srv:
        assert probe(db, form, "openai/knows-it", srv.url).exit_code == 0
    out = json.loads(invoke("analyze", "--db", str(db), "--json").stdout)
    assert out["scores"] == [] and [f["n_flagged"] for f in out["memorisation"]] == [20]
    assert out["notes"] == [f"{db} holds probe runs only: there is no test to score ('eitest run ...' administers one)"]
    shown = invoke("analyze", "--db", str(db))
    assert shown.exit_code == 0 and "Memorisation probe" in shown.stdout and "knows-it" in shown.stdout
    res = CliRunner().invoke(cli, ["report", "--db", str(db), "--out", str(tmp_path / "r.html")])
    assert res.exit_code == 0, res.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    run_id = out["memorisation"][0]["run_id"]
    assert "This store holds probe runs only" in page and "Memorisation probe" in page
    assert "20 of 20 items look memorised" in page and "controls from probe-controls-form" in page
    assert f"<code>{run_id}</code>" in page  # the probe's run in the manifest
    assert "same style that were never published (probe-controls-form)" in page  # the probe's methods
    assert HOSTILE not in page and "&lt;script&gt;alert(&#39;probe&#39;)&lt;/script&gt;" in page
    assert "Per test" not in page and "Figure 1" not in page  # no test was given: no scores, no plots


def test_a_study_is_not_offered_the_probes_protocol():
    assert "probe-memorisation" not in invoke("run", "--help").output
    assert "standard" in invoke("run", "--help").output


def test_an_offline_responder_cannot_be_probed(tmp_path: Path, form: str):
    res = CliRunner().invoke(
        cli, ["probe", "memorisation", "-m", "eitest/oracle", "-i", form, "--db", str(tmp_path / "x.db")]
    )
    assert res.exit_code == 2 and "eitest/oracle is an offline responder" in res.output
    assert not (tmp_path / "x.db").exists()


def test_a_model_that_knows_the_genre_but_no_item_is_not_flagged_against_same_style_controls(tmp_path, form):
    db = tmp_path / "g.db"
    with ScriptedServer(genre_aware) as srv:
        res = probe(db, form, "openai/knows-the-genre", srv.url)
    assert res.exit_code == 0 and "controls of probe-form: the items of probe-controls-form" in res.output
    found = json.loads(invoke("analyze", "--db", str(db), "--json").stdout)["memorisation"][0]
    assert (found["n_items"], found["n_controls"], found["controls_from"]) == (20, 20, "probe-controls-form")
    assert found["n_flagged"] / found["n_items"] <= 0.05


def test_an_instrument_without_a_same_style_baseline_is_refused_before_any_call(tmp_path):
    db = tmp_path / "none.db"
    res = CliRunner().invoke(cli, ["probe", "memorisation", "-m", "openai/x", "-i", "open-steu", "--db", str(db),
                                   "--api-base", "http://127.0.0.1:9/v1", "--yes"])  # fmt: skip
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert "Error: the memorisation probe has no baseline for open-steu: open-steu was written for eitest" in res.output
    assert "give --controls FILE" in res.output and not db.exists()
