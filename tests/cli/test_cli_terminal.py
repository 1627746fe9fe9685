"""Text from data reaches the terminal shown, never obeyed: no rich markup read, no control character sent."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import instrument_data
from openai_server import Action, ScriptedServer

from eitest.cli import cli
from eitest.cli.output import emit
from eitest.cli.terminal import json_text, safe_text
from eitest.store import Store

# Rich markup that crashed a table ([/]) or styled it ([bold]), CSI (colour, clear screen), OSC (window title,
# hyperlink), each ended by BEL.
HOSTILE = "[/]x[bold]y\x1b[31mR\x1b[2J\x1b]0;pwn\x07\x1b]8;;http://evil\x07L"
SHOWN = "[/]x[bold]y\\x1b[31mR\\x1b[2J\\x1b]0;pwn\\x07\\x1b]8;;http://evil\\x07L"
INSTRUMENT = "inst" + HOSTILE
MODEL = "openai/m" + HOSTILE
ITEM = "item" + HOSTILE


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain [bold]text[/] stays", "plain [bold]text[/] stays"),
        ("tab\tand\nnewline kept", "tab\tand\nnewline kept"),
        ("\x1b[2J", "\\x1b[2J"),
        ("bell\x07 nul\x00 cr\r bs\x08 del\x7f", "bell\\x07 nul\\x00 cr\\x0d bs\\x08 del\\x7f"),
        ("c1 csi\x9b31m nel\x85", "c1 csi\\x9b31m nel\\x85"),
        ("bidi \u202eevil\u202c \u2066iso\u2069", "bidi \\u202eevil\\u202c \\u2066iso\\u2069"),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
        ("accents é, 中文, emoji 😀 stay", "accents é, 中文, emoji 😀 stay"),
    ],
)
def test_safe_text_shows_each_control_character(text: str, shown: str):
    assert safe_text(text) == shown
    assert safe_text(3.5) == "3.5"


def test_json_text_is_exact_and_inert():
    data = {"name": HOSTILE + "\x7f\x9b\u202e\ud800", "n": 1}
    out = json_text(data, indent=2)
    assert json.loads(out) == data
    assert not any(c in out for c in "\x1b\x07\x7f\x9b\u202e\ud800")
    assert "\\u007f\\u009b\\u202e\\ud800" in out


def test_a_table_shows_markup_and_escapes_literally(capsys: pytest.CaptureFixture[str]):
    emit([{"col[/]": HOSTILE, "n": 1.5}], as_json=False, as_csv=False, title="title [/] \x1b]0;t\x07")
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert "title [/] \\x1b]0;t\\x07" in out and "col[/]" in out and "1.500" in out
    assert SHOWN[:20] in out  # the cell may wrap; its start is on one line


def test_csv_cells_are_made_safe_and_stay_csv(capsys: pytest.CaptureFixture[str]):
    emit([{"a": HOSTILE, "b": "two\nlines", "c": None}], as_json=False, as_csv=True)
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
    assert list(csv.reader(io.StringIO(out))) == [["a", "b", "c"], [SHOWN, "two\nlines", ""]]


@pytest.fixture
def hostile_store(tmp_path: Path, eitest_home: Path) -> Path:
    """A store with a hostile instrument id, name and item ids, taken by a hostile model string and an offline one."""
    items = [
        {"id": f"{ITEM}{n}", "stem": f"Situation {n}.", "question": "What is felt?",
         "options": [{"id": "a", "text": "Joy"}, {"id": "b", "text": "Fear"}], "key": "a"}
        for n in range(1, 4)
    ]  # fmt: skip
    (eitest_home / "instruments").mkdir(parents=True, exist_ok=True)
    path = eitest_home / "instruments" / "hostile.yaml"
    path.write_text(yaml.safe_dump(instrument_data(INSTRUMENT, items, name="Name " + HOSTILE)), encoding="utf-8")
    return tmp_path / "h.db"


def invoke(*args: str, env: dict[str, str] | None = None):
    res = CliRunner().invoke(cli, list(args), env={"COLUMNS": "400", **(env or {})}, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    both = res.stdout + res.stderr
    assert "\x1b" not in both and "\x07" not in both, both
    return res


def test_every_command_shows_hostile_data_literally(hostile_store: Path):
    db = str(hostile_store)
    with ScriptedServer(lambda body: Action(reply="A")) as srv:
        res = invoke("run", "-m", MODEL, "-i", INSTRUMENT, "--db", db, "--api-base", srv.url, "-y",
                     env={"OPENAI_API_KEY": "sk-test"})  # fmt: skip
    assert f"openai/m{SHOWN}" in res.stderr  # the plan names the model
    assert f"inst{SHOWN}" in res.stdout  # the run's table names the instrument
    invoke("run", "-m", "eitest/oracle", "-i", INSTRUMENT, "--db", db, "-y")
    with Store(hostile_store, create=False) as store:
        runs = store.runs()
        assert set(store.trials()["model"]) == {MODEL, "eitest/oracle"}
    assert len(runs) == 2

    listed = invoke("runs", "list", "--db", db)
    assert f"openai/m{SHOWN}" in listed.stdout and f"inst{SHOWN}" in listed.stdout
    as_csv = invoke("runs", "list", "--db", db, "--csv")
    assert {r["models"] for r in csv.DictReader(io.StringIO(as_csv.stdout))} == {f"openai/m{SHOWN}", "eitest/oracle"}
    as_json = invoke("runs", "list", "--db", db, "--json")
    assert {r["models"] for r in json.loads(as_json.stdout)} == {MODEL, "eitest/oracle"}  # exact data

    shown = invoke("runs", "show", runs[0].id, "--db", db)
    assert f"inst{SHOWN}" in shown.stdout
    assert json.loads(invoke("runs", "show", runs[0].id, "--db", db, "--json").stdout)[0]["instrument"] == INSTRUMENT

    analysed = invoke("analyze", "--db", db, "--boot", "100")
    assert f"inst{SHOWN}" in analysed.stdout and f"openai/m{SHOWN}" in analysed.stdout
    assert (
        json.loads(invoke("analyze", "--db", db, "--boot", "100", "--json").stdout)["scores"][0]["instrument"]
        == INSTRUMENT
    )

    catalogue = invoke("instruments", "list")
    assert f"inst{SHOWN}" in catalogue.stdout and f"Name {SHOWN}" in catalogue.stdout
    one = invoke("instruments", "show", INSTRUMENT, "--items")
    assert (
        f"inst{SHOWN}: Name {SHOWN}" in one.stdout and f"[{ITEM.replace(HOSTILE, SHOWN)}1] Situation 1." in one.stdout
    )
    assert json.loads(invoke("instruments", "show", INSTRUMENT, "--json").stdout)["items"][0]["id"] == f"{ITEM}1"


def test_an_error_message_quoting_data_is_made_safe(tmp_path: Path):
    res = CliRunner().invoke(
        cli, ["run", "-m", "eitest/oracle", "-i", "nope\x1b]0;pwn\x07", "--db", str(tmp_path / "x.db")]
    )
    assert res.exit_code == 2
    assert "\x1b" not in res.stderr and "\x07" not in res.stderr
    assert res.stderr.startswith("Error: unknown instrument 'nope\\x1b]0;pwn\\x07'; known: ")
