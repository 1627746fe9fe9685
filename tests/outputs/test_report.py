"""Reports: rendered, opened in headless Chromium with no network, and the PDF rasterised."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli
from outputs.page_text import page_text

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
    # The Bern study's aggregate over its five tests belongs beside those tests only (the replication report).
    demo = page_text((tmp_path / "demo" / "report.html").read_text())
    assert "56.0%" not in demo and "schlegel2025" not in demo and "published aggregate" not in demo


# --------------------------------------------------------------------------- a truthful report (issue 11)


def _norm_file(path: Path, *entries: str) -> Path:
    path.write_text("source: {id: my-sample, citation: 'My sample (2026)', checked: test}\nnorms:\n" + "".join(entries))
    return path


STEU_NORM = (
    "  - instrument: open-steu\n    sample: test\n"
    "    n: {value: 50, where: t}\n    mean: {value: 0.6, where: t}\n    sd: {value: 0.1, where: t}\n"
)


def _max_credit(instrument: str) -> float:
    from eitest.instruments import get

    inst = get(instrument)
    return sum(max(item.weights.values()) for item in inst.items) / len(inst.items)


@pytest.fixture(scope="module")
def oracle_store(tmp_path_factory) -> Path:
    # The oracle in the original option order: perfect scores, no run-to-run variation, no position-bias test.
    db = tmp_path_factory.mktemp("oracle") / "o.db"
    run_study(Study(models=["eitest/oracle"], instruments=["open-stem", "open-steu"], reps=2), db)
    return db


@pytest.mark.parametrize(
    ("score", "compared"),
    [("mean_credit", "{mc} (100.0% of maximum)"), ("proportion_of_max", "100.0% (mean credit {mc} of a maximum {mc})")],
)
def test_a_weighted_norm_shows_the_weighted_score_and_proportion_of_maximum_where_compared(
    store: Path, tmp_path: Path, score: str, compared: str
):
    from eitest.stats import apa

    norm = _norm_file(
        tmp_path / "w.yaml",
        "  - instrument: open-stem\n    sample: test\n    scoring: weighted\n"
        f"    score: {score}\n    n: {{value: 80, where: t}}\n    mean: {{value: 0.4, where: t}}\n"
        "    sd: {value: 0.1, where: t}\n",
    )
    res = run_cli("report", "--db", str(store), "--norms", str(norm), "--out", str(tmp_path / "w.html"))
    assert res.returncode == 0, res.stderr
    text = page_text((tmp_path / "w.html").read_text())
    mc = apa.proportion(_max_credit("open-stem"))
    expected = compared.format(mc=mc)
    # the summary's norm table, the oracle's sentence and both rows of the test's norm comparison
    assert f"eitest/oracle open-stem {score.replace('_', ' ').replace('max', 'maximum')} {expected} (a)" in text
    assert f"first administration (the first of 2 repetitions) scored {expected}" in text
    assert (
        f"first administration (primary) {expected}" in text and f"mean of 2 repetitions (secondary) {expected}" in text
    )
    # the test's own score: the oracle at 100 % of maximum, with its mean credit beside it
    assert f"eitest/oracle open-stem 100.0% proportion of maximum {mc} of max {mc}" in text
    assert "keyed option on" not in text
    drawn_elsewhere = "Not drawn for open-stem (norm on the mean credit scale)"
    assert (drawn_elsewhere in text) == (score == "mean_credit")  # Figure 1 shares an axis only with the same scale


def test_methods_say_what_the_settings_did(store: Path, tmp_path: Path):
    from eitest.scoring.analysis import analyze

    default = page_text(render_html(store))
    assert "all scored as incorrect (no credit)" in default and "left out of the scores" not in default
    assert "corrected" not in default.split("Methods")[-1].split("Human norms used")[0]  # no p value, no correction
    res = run_cli(
        "report",
        "--db",
        str(store),
        "--exclude-unanswered",
        "--out",
        str(tmp_path / "x.html"),
        "--correction",
        "fdr_bh",
    )
    assert res.returncode == 0, res.stderr
    excluded = page_text((tmp_path / "x.html").read_text())
    assert "1 reply was not codable" in excluded  # the hostile reply of the fixture
    assert "these trials were left out of the scores (the analysis was run with --exclude-unanswered)" in excluded
    assert "scored as incorrect" not in excluded
    # two single-case tests (two models on open-steu): the correction is named, as used
    norm = _norm_file(tmp_path / "n.yaml", STEU_NORM)
    two = page_text(render_html(store, analysis=analyze(store, norms=[norm], correction="fdr_bh", n_boot=200)))
    assert "p values of the 2 single-case tests were corrected across tests (Benjamini-Hochberg)" in two
    assert "p_adj (Benjamini-Hochberg, 2 tests)" in two
    assert "first administration (repetition 0), on the norm's own scale" in two  # like with like, stated


def test_percentiles_past_99_9_are_printed_as_a_bound(store: Path, tmp_path: Path):
    from eitest.scoring.analysis import analyze

    analysis = analyze(store, norms=[_norm_file(tmp_path / "n.yaml", STEU_NORM)], n_boot=200)
    oracle = analysis.scores.set_index(["model", "instrument"]).loc[("eitest/oracle", "open-steu")]
    assert 99.9 < oracle["percentile"] < 100 and oracle["percentile_ci_high"] > 99.9  # what is being printed
    text = page_text(render_html(store, analysis=analysis))
    assert "an estimated > 99.9% of the population would score lower (95% CI [> 99.9, > 99.9])" in text
    assert "> 99.9 [> 99.9, > 99.9]" in text  # the table
    assert "100.0%" + " of the population" not in text and "[100.0, 100.0]" not in text


def test_no_norm_sentence_says_what_is_on_file_and_how_to_supply_it(store: Path, tmp_path: Path):
    norm = _norm_file(
        tmp_path / "a.yaml",
        "  - instrument: open-steu\n    sample: test\n    n: {value: 207, where: t}\n    alpha: {value: 0.71, where: t}\n",
    )
    text = page_text(render_html(store, norms=[norm]))
    assert (
        "No human norm mean and SD are on file for open-steu: the norm source my-sample gives N = 207 and "
        "alpha = .71 but no mean or SD, so the models could not be placed on the human scale. To supply a mean and SD, "
        "pass --norms FILE (format: docs/norm-format.md) or build a norm from your own human data with "
        "'eitest norms build'."
    ) in text
    assert "No human norm is on file for open-stem" in text  # nothing at all on file for the other test
    assert "No published human norm is on file" not in text


def test_the_oracle_report_has_no_degenerate_interval(oracle_store: Path):
    import math

    from eitest.scoring.analysis import analyze

    analysis = analyze(oracle_store, n_boot=200)
    text = page_text(render_html(oracle_store, analysis=analysis))
    assert "[100.0%, 100.0%]" not in text
    # open-steu (keyed, 45 items, all right): the exact Clopper-Pearson bound over items, (alpha/2)^(1/n)
    n = analysis.scores.set_index("instrument").loc["open-steu", "n_items"]
    low = f"{100 * 0.025 ** (1 / n):.1f}%"
    assert f"95% CI for new items like these: [{low}, 100.0%] (Clopper-Pearson over items)" in text
    reason = analysis.scores.set_index("instrument").loc["open-steu", "rep_ci_reason"]
    assert isinstance(reason, str) and f"No interval for this test: {reason}" in text
    assert not math.isnan(analysis.scores["sd_reps"].iloc[0])


def test_position_bias_on_the_original_order_says_it_was_not_run(oracle_store: Path):
    from eitest.scoring.analysis import analyze

    analysis = analyze(oracle_store, n_boot=200)
    reason = analysis.position_bias["reason"].iloc[0]
    text = page_text(render_html(oracle_store, analysis=analysis))
    assert isinstance(reason, str) and f"not run: {reason}" in text
    assert "No position-bias check was run: the options kept their original order" in text
    assert "randomization p" not in text


def test_position_bias_on_shuffled_orders_gives_the_randomization_p_and_what_was_tested(store: Path):
    text = page_text(render_html(store))
    assert "flagged: position A chosen in 100% of answers, where position-blind choice gives" in text
    assert "Position bias: randomization test of Pearson's chi-square" in text
    assert "H0: the choice depends on content, not on position" in text


def test_cli_analyze_prints_the_report_summary_labels(store: Path, tmp_path: Path):
    import json

    norm = _norm_file(tmp_path / "n.yaml", STEU_NORM)
    res = run_cli("analyze", "--db", str(store), "--norms", str(norm), "--boot", "200", env={"COLUMNS": "250"})
    assert res.returncode == 0, res.stderr
    for label in (
        "This test: 95% CI (run-to-run)",
        "New items like these: 95% CI",
        "SD over repetitions",
        "proportion of maximum",
        "Score compared",
        "p_adj (Holm, 2 tests)",
        "Crawford-Howell (uncorrected p)",
        "(a) first administration (the first of 2 repetitions)",
    ):
        assert label in res.stdout, label
    as_json = json.loads(run_cli("analyze", "--db", str(store), "--norms", str(norm), "--json", "--boot", "200").stdout)
    bases = {r["basis"] for r in as_json["norm_comparison"]}
    assert bases == {"first administration", "mean of 2 repetitions"}
    assert all("sd_reps" in r and "item_ci_method" in r for r in as_json["scores"])


@pytest.mark.skipif(CHROMIUM is None, reason="Debian package chromium is not installed (.ci/run installs it)")
def test_the_oracle_report_as_chromium_shows_it(oracle_store: Path, tmp_path: Path):
    # What a reader of the oracle's report sees: bounded percentiles, labelled intervals, no [100%, 100%].
    sync_api = pytest.importorskip("playwright.sync_api")
    norm = _norm_file(tmp_path / "n.yaml", STEU_NORM)
    html = write_report(oracle_store, tmp_path / "o.html", norms=[norm]).html
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.goto(html.resolve().as_uri())
        text = page.inner_text("body")
        browser.close()
    assert "[100.0%, 100.0%]" not in text
    assert "New items like these: 95% CI" in text and "This test: 95% CI (run-to-run)" in text
    assert "> 99.9 [> 99.9, > 99.9]" in text
    assert "p_adj (one test: not corrected)" in text  # one single-case test: its p is not called corrected
    assert "With one single-case test, its p value is uncorrected." in text


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        (
            "    n: {value: 1, where: t}\n    mean: {value: 0.6, where: t}\n    sd: {value: 0.1, where: t}\n",
            "has n = 1",
        ),
        (
            "    score: mean_credit\n    n: {value: 50, where: t}\n    mean: {value: 0.4, where: t}\n"
            "    sd: {value: 0.1, where: t}\n",
            "is on the expert-weighted scale (mean credit), but the run's open-steu is keyed",
        ),
    ],
)
def test_a_norm_that_cannot_be_used_gives_a_note_not_a_traceback(store: Path, tmp_path: Path, entry: str, why: str):
    norm = _norm_file(tmp_path / "bad.yaml", "  - instrument: open-steu\n    sample: test\n" + entry)
    res = run_cli("report", "--db", str(store), "--norms", str(norm), "--out", str(tmp_path / "b.html"))
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    text = page_text((tmp_path / "b.html").read_text())
    assert "The norm for open-steu on file (my-sample) could not be used here; the Notes say why." in text
    assert f"on open-steu: the norm from my-sample {why}" in text  # the note says why
    assert "Against the human norms" not in text  # nothing was compared


def test_a_norm_without_sd_says_which_figures_it_lacks(store: Path, tmp_path: Path):
    norm = _norm_file(
        tmp_path / "m.yaml", "  - instrument: open-steu\n    sample: test\n    mean: {value: 0.6, where: t}\n"
    )
    text = page_text(render_html(store, norms=[norm]))
    assert "— (b) — —" in text and "(b) no single-case test: the norm has no SD or n on file" in text
    assert "scored 100.0%. With no SD or n on file, no single-case test was run. To supply a mean and SD" in text


def test_a_key_in_the_command_line_does_not_reach_the_page(store: Path):
    # eitest replicate passes its own command line, which may hold --api-base with a key in it.
    command = "eitest replicate schlegel2025 --api-base http://me:hunter2hunter2@10.0.0.5:8000/v1?api-key=opensesame789"
    html = render_html(store, command=command)
    assert "hunter2hunter2" not in html and "opensesame789" not in html
    assert "http://***@10.0.0.5:8000/v1?api-key=***" in html
