"""Response files as spreadsheets save them: read to the same table as a plain CSV; bad ones named by file and line."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import instrument_data

from eitest.cli import cli
from eitest.human.response_files import ResponseError, read_responses

PLAIN = 'participant,k1,k2\n"P, one",a,b\n"P\ntwo",b,c\n'


def _table(path: Path) -> list[list]:
    return read_responses(path).drop(columns="_file").values.tolist()


@pytest.mark.parametrize(
    "data",
    [
        codecs.BOM_UTF8 + PLAIN.replace("\n", "\r\n").encode(),
        codecs.BOM_UTF8 + PLAIN.replace(",", ";").replace("P; one", "P, one").encode(),
        PLAIN.replace(",", "\t").replace("P\t one", "P, one").encode("utf-16"),
        (PLAIN + ",,\r\n,,\r\n").encode(),
    ],
    ids=["excel-bom-crlf", "excel-semicolon", "excel-unicode-text", "blank-trailing-rows"],
)
def test_spreadsheet_response_files_read_as_the_plain_one(tmp_path: Path, data: bytes):
    (tmp_path / "plain.csv").write_text(PLAIN)
    assert _table(tmp_path / "plain.csv") == [["P, one", "a", "b", 2], ["P\ntwo", "b", "c", 3]]
    (tmp_path / "sheet.csv").write_bytes(data)
    assert _table(tmp_path / "sheet.csv") == _table(tmp_path / "plain.csv")


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"participant,k1,k1\nP1,a,b\n", "line 1, column k1: the column appears twice (columns 2 and 3)"),
        ("participant,k1\nJos\xe9,a\n".encode("latin-1"), "line 2: byte 0xe9 (at byte 18) is not UTF-8 text"),
        (b'participant,k1\nP1,"a\n', "line 2: badly quoted cell"),
        (b"participant,k1,,\nP1,a,,x\n", "line 1, column 4: empty column name, but line 2 has 'x' in it"),
    ],
    ids=["duplicate-column", "latin-1", "open-quote", "nameless-column"],
)
def test_bad_response_file_through_norms_build(tmp_path: Path, data: bytes, expected: str):
    inst = tmp_path / "mini.yaml"
    item = {"id": "k1", "stem": "S", "question": "Q", "options": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}]}
    inst.write_text(yaml.safe_dump(instrument_data("mini", [{**item, "key": "a"}])))
    resp = tmp_path / "r.csv"
    resp.write_bytes(data)
    with pytest.raises(ResponseError) as exc:
        read_responses(resp)
    assert str(exc.value).startswith(f"{resp}: ") and expected in str(exc.value)
    res = CliRunner().invoke(
        cli, ["norms", "build", str(resp), "--instrument", str(inst), "--out", str(tmp_path / "n.yaml")]
    )
    assert res.exit_code == 2 and expected in res.output
    assert not (tmp_path / "n.yaml").exists()
