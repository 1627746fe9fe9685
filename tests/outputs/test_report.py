"""Reports: rendered, opened in headless Chromium with no network, and the PDF rasterised."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.outputs.report import render_html, write_report

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("report") / "r.db"
    run_study(
        Study(
            models=["eitest/oracle", "eitest/first"],
            instruments=["open-stem", "open-steu"],
            reps=2,
            option_order="shuffled",
        ),
        db,
    )
    con = sqlite3.connect(db)
    con.execute(
        "UPDATE trials SET raw_reply = ?, status = 'unparseable', chosen_position = NULL, chosen_option = NULL, score = NULL "
        "WHERE id = (SELECT MIN(id) FROM trials WHERE model = 'eitest/first')",
        (HOSTILE,),
    )
    con.commit()
    con.close()
    return db


@pytest.fixture(scope="module")
def report_files(store: Path, tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("out")
    files = write_report(store, out / "report.html", out / "report.pdf")
    return files.html, files.pdf


def test_hostile_reply_is_escaped(report_files):
    html = report_files[0].read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "<script" not in html  # the report has no script at all


def test_report_is_self_contained_and_complete(report_files):
    html = report_files[0].read_text()
    for section in (
        "Summary",
        "Mean over tests",
        "Per test",
        "Tokens, cost and time",
        "Methods",
        "Reproducibility manifest",
    ):
        assert section in html
    assert html.count('src="data:image/svg+xml;base64,') == 3  # the accuracy plot and one item plot per test
    for needle in ("http://", "https://", "@import", "url("):
        assert needle not in html.replace("http://www.w3.org", ""), needle
    assert "open-steu" in html and "content hash" in html
    assert "No human norm with a mean, SD and sample size was on file" in html


@pytest.mark.skipif(CHROMIUM is None, reason="Debian package chromium is not installed (.ci/run installs it)")
def test_html_in_headless_chromium_makes_no_request(report_files, tmp_path: Path):
    sync_api = pytest.importorskip("playwright.sync_api")
    html = report_files[0]
    url = html.resolve().as_uri()
    requests: list[str] = []
    dialogs: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 1800})
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        page.wait_for_load_state("networkidle")
        images_ok = page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 100)")
        n_images = page.evaluate("document.images.length")
        shot = tmp_path / "shot.png"
        page.screenshot(path=str(shot), full_page=False)
        browser.close()
    assert dialogs == []
    assert [r for r in requests if r != url and not r.startswith("data:")] == []
    assert n_images == 3 and images_ok
    from PIL import Image

    img = Image.open(shot).convert("L")
    dark = sum(img.histogram()[:200])
    assert dark / (img.width * img.height) > 0.01, "the screenshot is blank"


@pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="Debian package poppler-utils is not installed (.ci/run installs it)"
)
def test_pdf_pages_are_not_blank(report_files, tmp_path: Path):
    pdf = report_files[1]
    from pypdf import PdfReader

    reader = PdfReader(pdf)
    assert len(reader.pages) >= 3
    text = "".join(page.extract_text() for page in reader.pages)
    assert "Summary" in text and "Methods" in text and "Reproducibility manifest" in text
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == len(reader.pages)
    from PIL import Image

    for page in pages:
        img = Image.open(page).convert("L")
        dark = sum(img.histogram()[:200])
        assert dark / (img.width * img.height) > 0.005, f"{page.name} is blank"


def test_norm_and_single_case_sentences(store: Path, tmp_path: Path):
    norm = tmp_path / "n.yaml"
    norm.write_text(
        "source: {id: my-sample, citation: 'My sample (2026)', checked: test}\n"
        "norms:\n  - instrument: open-steu\n    sample: test\n"
        "    n: {value: 50, where: t}\n    mean: {value: 0.6, where: t}\n    sd: {value: 0.1, where: t}\n"
    )
    html = render_html(store, norms=[norm])
    assert "Crawford-Howell test gave <i>t</i>" not in html  # prose is text, escaped
    assert "t(49) = 3.96" in html or "t(49) = 3.9" in html
    assert "Crawford and Howell (1998)" in html


def test_cli_report_and_demo(store: Path, tmp_path: Path):
    res = run_cli("report", "--db", str(store), "--out", str(tmp_path / "x.html"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "x.html").exists()
    res = run_cli("report", "--db", str(tmp_path / "nothing.db"), "--out", str(tmp_path / "y.html"))
    assert res.returncode == 2 and "no database" in res.stderr
    res = run_cli("demo", "--out", str(tmp_path / "demo"), "--reps", "2")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "demo" / "report.html").stat().st_size > 10_000
    assert (tmp_path / "demo" / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "eitest run --model openai/gpt-4o" in res.stderr
