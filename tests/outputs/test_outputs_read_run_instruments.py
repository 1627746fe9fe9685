"""Re-importing a changed file under a run's instrument id changes no number of its analysis, report or export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from conftest import REPO, run_cli
from markupsafe import escape
from old_stores import keyed_items

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.instruments import get
from eitest.outputs.export import build_tables
from eitest.outputs.report import render_html

CHANGED_NOTE = "the catalogue's current version"


def _outputs(db: Path, out: Path, export_dir: Path, env: dict[str, str]) -> tuple[dict, str, dict[str, str]]:
    """``eitest analyze --json``, the report's HTML and the export's files, each through the CLI."""
    analysed = run_cli("analyze", "--db", str(db), "--json", "--boot", "300", env=env)
    assert analysed.returncode == 0, analysed.stderr
    reported = run_cli("report", "--db", str(db), "--out", str(out), env=env)
    assert reported.returncode == 0, reported.stderr
    exported = run_cli("export", "--db", str(db), "--format", "csv", "--out", str(export_dir), env=env)
    assert exported.returncode == 0, exported.stderr
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(export_dir.iterdir())}
    return json.loads(analysed.stdout), out.read_text(encoding="utf-8"), files


def _without_timestamps(html: str) -> str:
    return re.sub(r'<p class="meta">Generated [^<]* by eitest', "", html)


def test_a_changed_import_changes_nothing_of_a_run_that_used_the_old_one(tmp_path: Path, eitest_home: Path):
    env = {"EITEST_HOME": str(eitest_home)}
    items = keyed_items(19)
    path = tmp_path / "steu-b.yaml"
    path.write_text(yaml.safe_dump({"items": items}))
    assert run_cli("instruments", "import", "steu-b", str(path), env=env).returncode == 0
    used = get("steu-b")
    db = tmp_path / "study.db"
    res = run_cli(
        "run", "--model", "eitest/chance", "--model", "eitest/oracle", "--instrument", "steu-b", "--reps", "3",
        "--option-order", "shuffled", "--db", str(db), "--yes", env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    report = tmp_path / "report.html"
    before = _outputs(db, report, tmp_path / "export-before", env)

    items[3]["key"] = "a"  # was "d"
    path.write_text(yaml.safe_dump({"items": items}))
    assert run_cli("instruments", "import", "steu-b", str(path), env=env).returncode == 0
    now = get("steu-b")
    assert now.content_hash != used.content_hash and now.item("b03").key == "a"
    after = _outputs(db, report, tmp_path / "export-after", env)

    # the analysis: every table the same, and one note more, naming the run and both versions
    analysis_before, analysis_after = before[0], after[0]
    assert {k: v for k, v in analysis_after.items() if k != "notes"} == {
        k: v for k, v in analysis_before.items() if k != "notes"
    }
    (note,) = [n for n in analysis_after["notes"] if CHANGED_NOTE in n]
    run_id = analysis_after["scores"][0]["run_id"]
    for needle in ("steu-b", run_id, used.content_hash[:12], now.content_hash[:12], "uses the run's items"):
        assert needle in note
    assert [n for n in analysis_after["notes"] if n != note] == analysis_before["notes"]
    # the item correlation uses the human_p the run's items carried
    ic = {r["model"]: r for r in analysis_after["item_correlation"]}
    assert ic["eitest/chance"]["n"] == 19 and ic["eitest/chance"]["rho"] is not None

    # the report: the same page but for the generation time and the note
    html_before, html_after = _without_timestamps(before[1]), _without_timestamps(after[1])
    note_div = f'<div class="note">{escape(note)}</div>\n'
    assert html_after != after[1] and note_div in html_after
    assert html_after.replace(note_div, "") == html_before
    assert f"content hash {used.content_hash[:12]}" in html_after

    # the export: data files byte for byte, the codebook but for its time stamp
    files_before, files_after = before[2], after[2]
    assert files_before.keys() == files_after.keys() == {"trials.csv", "scores.csv", "codebook.md", "codebook.json"}
    assert files_after["trials.csv"] == files_before["trials.csv"]
    assert files_after["scores.csv"] == files_before["scores.csv"]
    book_before, book_after = json.loads(files_before["codebook.json"]), json.loads(files_after["codebook.json"])
    assert book_before.pop("exported_at") and book_after.pop("exported_at")
    (changed,) = [n for n in book_after["notes"] if n not in book_before["notes"]]  # the one new note
    assert "catalogue's current version" in changed and "uses the run's items" in changed
    book_after["notes"].remove(changed)
    assert book_after == book_before
    stamp = re.compile(r" on \d{4}-\d\d-\d\dT[\d:+]+ from ")
    md_after = stamp.sub(" ", files_after["codebook.md"]).replace(f"- {changed}\n", "")
    assert md_after == stamp.sub(" ", files_before["codebook.md"])


def test_report_and_export_describe_the_file_the_run_used_not_the_shipped_one(tmp_path: Path):
    stem = yaml.safe_load((REPO / "instruments" / "open-stem.yaml").read_text(encoding="utf-8"))
    stem.update(name="A keyed STEM of my own", version="7.1", scoring="keyed")
    stem.pop("weights_source", None)
    stem["items"] = stem["items"][:10]
    for item in stem["items"]:
        weights = item.pop("weights")
        item["key"] = max(weights, key=weights.get)
    path = tmp_path / "my-open-stem.yaml"
    path.write_text(yaml.safe_dump(stem, sort_keys=False))
    db = tmp_path / "own.db"
    run_study(Study(models=["eitest/oracle"], instruments=[str(path)], reps=2), db)
    html = render_html(db)
    shipped = get("open-stem")
    assert "A keyed STEM of my own (open-stem, version 7.1, 10 items, keyed scoring, content hash" in html
    assert shipped.name not in html
    tables = build_tables(db)
    assert list(tables.scores.columns) == ["run_id", "model", "repetition", "open_stem"]
    assert tables.scores["open_stem"].tolist() == [1.0, 1.0]
