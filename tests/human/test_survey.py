"""`eitest survey export`: CSV layout, Qualtrics Advanced Format structure, a safe standalone HTML page."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import run_cli

from eitest.human.norm_building import build_norms
from eitest.human.survey import csv_text, export, html_core_script, html_page, qualtrics_text
from eitest.instruments import catalogue, load_csv, load_yaml

NASTY_STEM = 'Ana reads <script>alert("x")</script> & says "hi" [[Block:evil]] in a <b>bold</b> voice.'


@pytest.fixture(scope="module")
def steu():
    return catalogue()["open-steu"]


@pytest.fixture()
def nasty(tmp_path: Path):
    """A small instrument whose texts hold HTML, quotes, ampersands and Qualtrics tag brackets."""
    data = {
        "id": "nasty",
        "name": "Nasty <i>texts</i> & co",
        "construct": "emotional understanding",
        "version": "1",
        "citation": "written for this test",
        "license": "CC0-1.0",
        "instructions": "Choose one. <img src=x onerror=alert(1)>",
        "scoring": "keyed",
        "items": [
            {
                "id": "n-1",
                "stem": NASTY_STEM,
                "question": "What does Ana feel? <u>really</u>",
                "options": [
                    {"id": "a", "text": "Joy & relief"},
                    {"id": "b", "text": '<a href="https://evil.example">Anger</a>'},
                    {"id": "c", "text": "Fear"},
                ],
                "key": "a",
            },
            {
                "id": "n-2",
                "stem": "Plain stem.",
                "question": "Plain question?",
                "options": [{"id": "x", "text": "One"}, {"id": "y", "text": "Two"}],
                "key": "y",
            },
        ],
    }
    path = tmp_path / "nasty.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_yaml(path)


# --------------------------------------------------------------------------- csv


def test_csv_columns_without_key(steu):
    rows = list(csv.DictReader(io.StringIO(csv_text(steu))))
    assert list(rows[0].keys()) == [
        "item_id",
        "stem",
        "question",
        "option_a",
        "option_b",
        "option_c",
        "option_d",
        "option_e",
    ]
    assert [r["item_id"] for r in rows] == [it.id for it in steu.items]
    first = steu.items[0]
    assert rows[0]["option_b"] == first.option("b").text and rows[0]["stem"] == " ".join(first.stem.split())


def test_csv_with_key_round_trips_through_the_loader(tmp_path: Path):
    for inst_id in ("open-steu", "open-stem"):
        inst = catalogue()[inst_id]
        out = tmp_path / f"{inst_id}.csv"
        export(inst, "csv", out, with_key=True)
        header = next(csv.reader(out.open()))
        if inst.scoring == "keyed":
            assert "key" in header and not any(h.startswith("weight_") for h in header)
        else:
            assert [h for h in header if h.startswith("weight_")] == ["weight_a", "weight_b", "weight_c", "weight_d"]
        meta = {k: v for k, v in inst.normalized().items() if k != "items"}
        back = load_csv(out, meta)
        assert [(it.id, it.key, it.weights, it.option_ids) for it in back.items] == [
            (it.id, it.key, it.weights, it.option_ids) for it in inst.items
        ]


def test_csv_randomized_order_is_seeded(steu):
    ids = [r["item_id"] for r in csv.DictReader(io.StringIO(csv_text(steu, randomize=True, seed=3)))]
    again = [r["item_id"] for r in csv.DictReader(io.StringIO(csv_text(steu, randomize=True, seed=3)))]
    other = [r["item_id"] for r in csv.DictReader(io.StringIO(csv_text(steu, randomize=True, seed=4)))]
    assert (
        ids == again
        and ids != other
        and ids != [it.id for it in steu.items]
        and sorted(ids) == sorted(it.id for it in steu.items)
    )


# --------------------------------------------------------------------------- qualtrics


def parse_advanced_format(text: str) -> dict:
    """A small reader of the Advanced Format: blocks, and per question its type, id, text and choices."""
    lines = text.split("\n")
    assert lines[0] == "[[AdvancedFormat]]"
    blocks: list[str] = []
    questions: list[dict] = []
    q = None
    mode = None
    for line in lines[1:]:
        tag = re.fullmatch(r"\[\[(.+?)\]\]", line.strip())
        if tag:
            name = tag.group(1)
            if name.startswith("Block:"):
                blocks.append(name[len("Block:") :])
                q, mode = None, None
            elif name.startswith("Question:"):
                q = {"type": name[len("Question:") :], "id": None, "text": [], "choices": [], "block": blocks[-1]}
                questions.append(q)
                mode = "text"
            elif name.startswith("ID:"):
                q["id"] = name[3:]
            elif name == "Choices":
                mode = "choices"
            elif name == "PageBreak":
                q, mode = None, None
            else:
                raise AssertionError(f"unexpected tag {name}")
        elif line.strip() and q is not None:
            q[mode].append(line)
        elif line.strip():
            raise AssertionError(f"text outside a question: {line!r}")
    return {"blocks": blocks, "questions": questions}


def test_qualtrics_structure(steu):
    parsed = parse_advanced_format(qualtrics_text(steu))
    assert parsed["blocks"] == ["Instructions", "open-steu"]
    intro, *items = parsed["questions"]
    assert intro["type"] == "DB" and intro["block"] == "Instructions" and intro["choices"] == []
    assert len(items) == steu.n_items
    for q, it in zip(items, steu.items, strict=True):
        assert q["type"] == "MC:SingleAnswer:Vertical" and q["id"] == it.id and q["block"] == "open-steu"
        assert len(q["text"]) == 1 and q["text"][0].endswith(html.escape(it.question, quote=False))
        assert q["choices"] == [html.escape(o.text, quote=False) for o in it.options]


def test_qualtrics_escapes_and_notes(tmp_path: Path, nasty):
    written = export(nasty, "qualtrics", tmp_path / "nasty.txt")
    assert [p.name for p in written] == ["nasty.txt", "nasty.notes.txt"]
    text = written[0].read_text()
    parsed = parse_advanced_format(text)  # the stem's "[[Block:evil]]" must not open a block
    assert parsed["blocks"] == ["Instructions", "nasty"]
    q1 = parsed["questions"][1]
    assert "<script>" not in text and "&lt;script&gt;" in q1["text"][0] and "[ [Block:evil] ]" in q1["text"][0]
    assert q1["choices"][0] == "Joy &amp; relief"
    notes = written[1].read_text()
    assert "Randomize the order of all questions" in notes
    assert "n-1: 1=a, 2=b, 3=c" in notes and "n-2: 1=x, 2=y" in notes
    fixed = export(nasty, "qualtrics", tmp_path / "fixed.txt", randomize=False)[1].read_text()
    assert "Randomize the order" not in fixed and "keep the instrument's order" in fixed


# --------------------------------------------------------------------------- html


def escaped(text: str) -> str:
    """HTML escaping as jinja2 (markupsafe) writes it: &amp; &lt; &gt; and &#34; &#39; for quotes."""
    return html.escape(text).replace("&quot;", "&#34;").replace("&#x27;", "&#39;")


URL_ATTR = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def test_html_escapes_every_item_and_loads_nothing(nasty, steu):
    for inst in (nasty, steu):
        page = html_page(inst)
        for it in inst.items:
            assert escaped(it.stem) in page
            assert escaped(it.question) in page
            for o in it.options:
                assert escaped(o.text) in page
            assert f'data-item-id="{escaped(it.id)}"' in page
        assert not URL_ATTR.search(page)  # the nasty option's link is text now, not an attribute
        if inst is steu:
            assert "http://" not in page and "https://" not in page
        assert "<link" not in page and not re.search(r"<script[^>]*\ssrc=", page) and "@import" not in page
    page = html_page(nasty)
    assert "<script>alert" not in page and '<a href="https://evil' not in page and "<img src=x" not in page
    assert "Nasty &lt;i&gt;texts&lt;/i&gt; &amp; co" in page


def test_html_randomize_and_seed_settings(steu):
    page = html_page(steu, randomize=True, seed=11)
    form = re.search(r'<form id="survey"[^>]*>', page, re.S).group(0)
    assert 'data-randomize="1"' in form and 'data-seed="11"' in form
    ids = json.loads(html.unescape(re.search(r'data-item-ids="([^"]*)"', form).group(1)))
    assert ids == [it.id for it in steu.items]
    assert 'data-randomize="0"' in html_page(steu, randomize=False)
    assert 'data-seed=""' in html_page(steu)


NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_html_download_is_what_norms_build_reads(tmp_path: Path, steu):
    """Run the page's own JavaScript: the order is a seeded permutation, and the CSV loads in eitest norms build."""
    core = html_core_script(html_page(steu))
    ids = [it.id for it in steu.items]
    answers = {it.id: it.key for it in steu.items[::2]} | {
        it.id: next(o for o in it.option_ids if o != it.key) for it in steu.items[1::2]
    }
    del answers[ids[3]]  # one item left unanswered
    harness = (
        core
        + f"""
const ids = {json.dumps(ids)};
const out = {{
  a: shuffled(ids, 42), b: shuffled(ids, 42), c: shuffled(ids, 43),
  seedUrl: orderSeed("7", "11", "P1"), seedBaked: orderSeed(null, "11", "P1"), seedBaked2: orderSeed(null, "11", "P2"),
  seedNone: orderSeed(null, "", "P1"),
  csv1: responsesCsv("P, \\"one\\"", ids, {json.dumps(answers)}),
  csv2: responsesCsv("P2", ids, {json.dumps({it.id: it.key for it in steu.items})}),
}};
console.log(JSON.stringify(out));
"""
    )
    script = tmp_path / "harness.js"
    script.write_text(harness)
    out = json.loads(subprocess.run([NODE, str(script)], capture_output=True, text=True, check=True).stdout)
    assert out["a"] == out["b"] and out["a"] != out["c"] and out["a"] != ids and sorted(out["a"]) == sorted(ids)
    assert out["seedUrl"] == 7 and out["seedBaked"] != out["seedBaked2"] and out["seedNone"] is None
    # two participants' downloads, given together to norms build
    f1, f2 = tmp_path / "p1.csv", tmp_path / "p2.csv"
    f1.write_text(out["csv1"])
    f2.write_text(out["csv2"])
    rows = list(csv.reader(io.StringIO(out["csv1"])))
    assert rows[0] == ["participant", *ids] and rows[1][0] == 'P, "one"' and rows[1][1 + 3] == ""
    built = build_norms([f1, f2], steu)
    assert built.n == 2
    p1 = len(steu.items[::2]) / steu.n_items  # keyed answers on the even positions; the unanswered item 4 scores 0
    assert sorted(built.scores["score"]) == pytest.approx(sorted([p1, 1.0]))
    assert built.scores["participant"].tolist() == ['P, "one"', "P2"]


def test_cli_export_html(tmp_path: Path):
    out = tmp_path / "s.html"
    res = run_cli("survey", "export", "--instrument", "open-stem", "--format", "html", "--out", str(out), "--seed", "5")
    assert res.returncode == 0, res.stderr
    assert "wrote" in res.stderr and out.read_text().startswith("<!DOCTYPE html>")
    bad = run_cli("survey", "export", "--instrument", "open-stem", "--format", "html", "--out", str(out), "--with-key")
    assert bad.returncode == 2 and "csv format only" in bad.stderr and "Traceback" not in bad.stderr
    meta = run_cli("survey", "export", "--instrument", "steu", "--format", "csv", "--out", str(tmp_path / "x.csv"))
    assert meta.returncode == 2 and "import your licensed copy" in meta.stderr


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_html_scripts_parse(tmp_path: Path, steu):
    for i, body in enumerate(re.findall(r"<script[^>]*>(.*?)</script>", html_page(steu), re.S)):
        path = tmp_path / f"s{i}.js"
        path.write_text(body)
        res = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True)
        assert res.returncode == 0, res.stderr


def _chromium():
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        return None
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM = _chromium()


@pytest.mark.skipif(CHROMIUM is None or NODE is None, reason="playwright with a chromium browser, and node, are needed")
def test_html_page_in_a_browser(tmp_path: Path, steu):
    """A participant's session in a real browser: shuffled order, answers kept over a reload, the CSV download."""
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "steu.html"
    export(steu, "html", page_path)
    ids = [it.id for it in steu.items]
    harness = tmp_path / "order.js"
    harness.write_text(
        html_core_script(page_path.read_text()) + f"\nconsole.log(JSON.stringify(shuffled({json.dumps(ids)}, 5)));\n"
    )
    expected_order = json.loads(subprocess.run([NODE, str(harness)], capture_output=True, text=True, check=True).stdout)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: d.accept())
        url = page_path.as_uri() + "?seed=5&pid=P%2C7"
        page.goto(url)
        assert page.input_value("#participant") == "P,7"
        page.click("#begin")
        shown = page.eval_on_selector_all("section.item", "els => els.map(e => e.dataset.itemId)")
        assert shown == expected_order  # the URL seed fixes the order the page's own shuffle gives
        for it in steu.items[:10]:
            page.check(f'input[name="{it.id}"][value="{it.key}"]')
        page.check(
            f'input[name="{steu.items[10].id}"][value="{next(o for o in steu.items[10].option_ids if o != steu.items[10].key)}"]'
        )
        assert page.inner_text("#progress") == f"11 of {steu.n_items} answered"
        page.reload()  # answers survive a reload
        page.click("#begin")
        assert page.inner_text("#progress") == f"11 of {steu.n_items} answered"
        with page.expect_download() as download:
            page.click("#download")
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        browser.close()
    assert errors == []
    assert saved.name == "open-steu-P_7.csv"
    built = build_norms(saved, steu)
    assert built.n == 1 and built.scores["participant"].tolist() == ["P,7"]
    assert built.scores["score"][0] == pytest.approx(10 / steu.n_items)
