"""Issue 15's "done when" for hostile replies and keys in URLs, over the scripted local server.

A run whose model answers with scripts, control characters, lone surrogates, 1 MB of text,
spreadsheet formulas, rich markup, tool calls and empty ``choices`` must finish with every
trial stored (raw reply kept); its report and exports must succeed and hold nothing a
browser, terminal or spreadsheet would run. A key given in ``--api-base`` must appear in
no file eitest writes and in none of its output.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import instrument_data, run_cli
from openai_server import Action, ScriptedServer, prompt_of

from eitest.vocabulary import ExportFormat

TOOL_CALL = "\x00tool-call-only\x00"  # markers the server turns into a body without text content
NO_CHOICES = "\x00empty-choices\x00"
PAYLOADS: dict[str, str] = {
    "script-tag": "<script>alert(1)</script> B",
    "javascript-link": '<a href="javascript:alert(1)">B</a>',
    "img-onerror": "<img src=x onerror=alert(1)> B",
    "ansi-colour": "\x1b[31mB\x1b[0m",
    "osc-title": "\x1b]0;owned\x07 B",
    "control-chars": "B\x07\x08\x0b\x0c\x7f\x9b",
    "nul": "B\x00tail after the NUL",
    "one-megabyte": "B " + "filler " * 150_000,
    "formula-hyperlink": '=HYPERLINK("http://evil.example","B")',
    "formula-plus": "+1",
    "formula-minus": "-2+3",
    "formula-at": "@SUM(1)",
    "rich-markup": "[/] [bold red]B[/bold red] [link=http://evil.example]x[/link]",
    "tool-calls-only": TOOL_CALL,
    "empty-choices": NO_CHOICES,
    # last, and the run one call at a time, so that a failure here could not hide the others
    "lone-surrogate": "B \ud800 broken unicode",
}
NAMES = list(PAYLOADS)
FORMULA_START = ("=", "+", "-", "@")
# A signed number ("+1", "-0.5") is read as that number, not run: only other text needs the quote.
PLAIN_NUMBER = re.compile(r"^[-+]?\d+(\.\d+)?([eE][-+]?\d+)?$")


def hostile_instrument(path: Path, inst_id: str = "hostile") -> Path:
    items = [
        {
            "id": f"h{n:02d}",
            "stem": f"Situation {n:02d}: {name}.",
            "question": "What does Mira feel?",
            "options": [{"id": o, "text": f"Feeling {o.upper()}"} for o in "abc"],
            "key": "b",
        }
        for n, name in enumerate(NAMES)
    ]
    path.write_text(yaml.safe_dump(instrument_data(inst_id, items)), encoding="utf-8")
    return path


def payload_for(body: dict[str, Any]) -> str:
    m = re.search(r"Situation (\d\d): ", prompt_of(body))
    return PAYLOADS[NAMES[int(m.group(1))]] if m else "B"


class HostileServer(ScriptedServer):
    """The scripted server, with two bodies its Action cannot say: an answer only in tool_calls, and no choices."""

    def __init__(self, script: Any):
        super().__init__(script)
        base = self.httpd.RequestHandlerClass

        class Handler(base):  # type: ignore[misc, valid-type]
            def _send(self, status: int, payload: bytes, *args: Any, **kwargs: Any) -> None:
                if status == 200 and payload.startswith(b"{") and payload.endswith(b"}"):
                    payload = rewrite(payload)
                super()._send(status, payload, *args, **kwargs)

        self.httpd.RequestHandlerClass = Handler


def rewrite(payload: bytes) -> bytes:
    body = json.loads(payload)
    choice = (body.get("choices") or [{}])[0]
    content = choice.get("message", {}).get("content")
    if content == TOOL_CALL:
        call = {"id": "call_1", "type": "function", "function": {"name": "answer", "arguments": '{"choice": "B"}'}}
        choice["message"] = {"role": "assistant", "content": None, "tool_calls": [call]}
        choice["finish_reason"] = "tool_calls"
    elif content == NO_CHOICES:
        body["choices"] = []
    return json.dumps(body).encode()


@dataclass
class Session:
    """Everything one store went through: the commands' results and the folder they wrote into."""

    folder: Path
    db: Path
    results: dict[str, subprocess.CompletedProcess] = field(default_factory=dict)

    def eitest(self, name: str, *args: str, **env: str) -> subprocess.CompletedProcess:
        res = run_cli(*args, env={"EITEST_HOME": str(self.folder / "home"), **env}, cwd=self.folder, timeout=240)
        self.results[name] = res
        return res

    def trials(self) -> list[dict[str, Any]]:
        con = sqlite3.connect(self.db)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute("SELECT * FROM trials")]
        finally:
            con.close()

    def outputs(self) -> None:
        """Analyse, report (HTML and PDF) and export in every format."""
        self.eitest("analyze", "analyze", "--db", str(self.db), "--boot", "200")
        self.eitest("report", "report", "--db", str(self.db), "--out", "r.html", "--pdf", "r.pdf")
        for fmt in ExportFormat:
            self.eitest(
                f"export-{fmt.value}", "export", "--db", str(self.db), "--format", fmt.value, "--out", fmt.value
            )


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    folder = tmp_path_factory.mktemp("hostile")
    session = Session(folder, folder / "h.db")
    inst = hostile_instrument(folder / "hostile.yaml")
    with HostileServer(lambda body: Action(reply=payload_for(body))) as srv:
        session.eitest(
            "run",
            *("run", "-m", "openai/hostile", "-i", str(inst), "--api-base", srv.url, "--db", str(session.db)),
            *("--retries", "1", "--timeout", "30", "--concurrency", "1", "--yes"),
            OPENAI_API_KEY="sk-dummy-for-the-local-server",
        )
    session.outputs()
    yield session


def test_the_run_finishes_with_every_trial_stored(hostile: Session):
    res = hostile.results["run"]
    assert res.returncode == 0, res.stderr.strip().splitlines()[-1][:300]
    stored = {t["item_id"] for t in hostile.trials()}
    missing = [name for n, name in enumerate(NAMES) if f"h{n:02d}" not in stored]
    assert not missing, f"no trial stored for {missing}"


@pytest.mark.parametrize("name", NAMES)
def test_the_raw_reply_is_kept(hostile: Session, name: str):
    n = NAMES.index(name)
    (trial,) = [t for t in hostile.trials() if t["item_id"] == f"h{n:02d}"] or [None]
    assert trial is not None, f"the trial for {name} was not stored"
    raw = trial["raw_reply"]
    sent = PAYLOADS[name]
    if name in ("tool-calls-only", "empty-choices"):
        # No text came back: what did come back is kept in the error, for the retry and for the reader.
        kept = trial["error"] or ""
        if name == "tool-calls-only":
            assert 'answer({"choice": "B"})' in kept, f"the tool call's arguments are not kept: {kept!r}"
        else:
            assert "the reply had no choices" in kept, f"the empty reply is not described: {kept!r}"
        assert trial["status"] == "error", f"{name}: stored as {trial['status']}, not as an error to retry"
        return
    assert raw is not None, f"{name}: stored as {trial['status']} without its raw reply (error: {trial['error']})"
    if name == "lone-surrogate":
        assert raw.startswith("B ") and raw.endswith(" broken unicode"), raw
    else:
        assert raw == sent, f"{name}: raw reply changed ({len(raw)} chars kept of {len(sent)})"


def test_terminal_output_holds_no_escape_bytes(hostile: Session):
    for name in ("run", "analyze"):
        res = hostile.results[name]
        for stream, text in (("stdout", res.stdout), ("stderr", res.stderr)):
            assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text, f"{name} {stream} holds ESC/BEL"


def test_report_is_written_and_holds_no_executable_content(hostile: Session):
    res = hostile.results["report"]
    assert res.returncode == 0, res.stderr[-2000:]
    html = (hostile.folder / "r.html").read_text(encoding="utf-8")
    lower = html.lower()
    assert "<script" not in lower
    assert not re.search(r"<[a-z][^>]*\sonerror\s*=", lower), "an unescaped onerror= attribute"
    assert not re.search(r"""href\s*=\s*["']?\s*javascript:""", lower), "an unescaped javascript: link"
    pdf = hostile.folder / "r.pdf"
    assert pdf.is_file() and pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("fmt", [f.value for f in ExportFormat])
def test_export_is_written(hostile: Session, fmt: str):
    res = hostile.results[f"export-{fmt}"]
    assert res.returncode == 0, res.stderr[-2000:]
    assert any((hostile.folder / fmt).rglob("*")), "nothing written"


def test_exported_csv_holds_no_formula(hostile: Session):
    files = sorted((hostile.folder / "csv").rglob("*.csv"))
    assert files, "no CSV exported"
    formulas = []
    csv.field_size_limit(1 << 30)  # the 1 MB reply is one cell
    for path in files:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                formulas += [
                    (path.name, c[:40]) for c in row if c.startswith(FORMULA_START) and not PLAIN_NUMBER.match(c)
                ]
    assert not formulas, f"{len(formulas)} cell(s) a spreadsheet runs as a formula, e.g. {formulas[:4]}"


def test_spss_export_keeps_or_notes_text_after_nul(hostile: Session):
    import pyreadstat

    res = hostile.results["export-sav"]
    assert res.returncode == 0, res.stderr[-2000:]
    files = sorted((hostile.folder / "sav").rglob("*.sav"), key=lambda p: "trial" not in p.name)
    assert files, "no .sav file exported"
    sav = files[0]
    df, _ = pyreadstat.read_sav(str(sav))
    kept = df["raw_reply"].astype(str).str.contains("tail after the NUL").any()
    assert kept or re.search(r"note:.*(NUL|cut)", res.stderr), "text after a NUL dropped without a note"


# --------------------------------------------------------------------------- keys in --api-base

# No "sk-" prefix: the client blanks such tokens anywhere, and this is to test the blanking of URLs.
SECRETS = ("hunter2hunter2", "opensesame789")


@pytest.fixture(scope="module")
def keyed_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    folder = tmp_path_factory.mktemp("keys")
    session = Session(folder, folder / "k.db")
    inst = folder / "mini.yaml"
    items = [
        {
            "id": f"q{i}",
            "stem": f"Situation {i}.",
            "question": "Feeling?",
            "options": [{"id": o, "text": o.upper()} for o in "abc"],
            "key": "b",
        }
        for i in range(1, 4)
    ]
    inst.write_text(yaml.safe_dump(instrument_data("mini", items)), encoding="utf-8")
    with ScriptedServer(lambda body: Action(reply="B")) as srv:
        port = srv.port
        urls = {
            "userinfo": f"http://user:{SECRETS[0]}@127.0.0.1:{port}/v1",
            "query": f"http://127.0.0.1:{port}/v1?api-key={SECRETS[1]}",
        }
        for name, url in urls.items():
            session.eitest(
                f"run-{name}",
                *("run", "-m", f"openai/leak-{name}", "-i", str(inst), "--api-base", url, "--db", str(session.db)),
                *("--retries", "0", "--timeout", "20", "--yes"),
                OPENAI_API_KEY="sk-dummy-for-the-local-server",
            )
    session.eitest("runs-list", "runs", "list", "--db", str(session.db), "--json")
    for run in json.loads(session.results["runs-list"].stdout or "[]"):
        session.eitest(f"runs-show-{run['run']}", "runs", "show", run["run"], "--db", str(session.db))
    session.outputs()
    yield session


def test_runs_with_a_key_in_the_url_finish(keyed_urls: Session):
    for name in ("run-userinfo", "run-query"):
        res = keyed_urls.results[name]
        assert res.returncode == 0, f"{name}: {res.stderr[-1500:]}"
    assert len(keyed_urls.trials()) == 6


def _pdf_text(pdf: Path) -> str:
    if not pdf.is_file() or shutil.which("pdftotext") is None:
        return ""
    return subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=False).stdout


def test_a_key_in_the_url_is_written_nowhere(keyed_urls: Session):
    leaks = []
    for path in sorted(keyed_urls.folder.rglob("*")):
        if path.is_file():
            blob = path.read_bytes()
            leaks += [f"{path.relative_to(keyed_urls.folder)}: {s}" for s in SECRETS if s.encode() in blob]
    pdf_text = _pdf_text(keyed_urls.folder / "r.pdf")
    leaks += [f"r.pdf (text): {s}" for s in SECRETS if s in pdf_text]
    for name, res in keyed_urls.results.items():
        leaks += [f"{name} output: {s}" for s in SECRETS if s in res.stdout + res.stderr]
    assert not leaks, "a key from --api-base was written: " + "; ".join(leaks)


def test_every_output_of_the_keyed_store_was_made(keyed_urls: Session):
    """The leak scan above means something only if the report and exports were written."""
    failed = {n: r.stderr.strip()[-300:] for n, r in keyed_urls.results.items() if r.returncode != 0}
    assert not failed, failed
    assert (keyed_urls.folder / "r.html").is_file() and (keyed_urls.folder / "r.pdf").is_file()
