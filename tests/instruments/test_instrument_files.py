"""Instrument and norm files as users have them: spreadsheet CSVs read to the same instrument; bad files named."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import instrument_data, run_cli

from eitest.cli import cli
from eitest.instruments import InstrumentError, load, load_csv, parse_instrument
from eitest.instruments.norms import load_norm_file

META = {k: v for k, v in instrument_data("sheet", []).items() if k != "items"}
ROWS = [
    ["item_id", "stem", "question", "option_a", "option_b", "option_c", "key", "facets"],
    ["s1", "Line one\nline two, with a comma", "What?", "Anger", "Joy", "", "a", "anger;work"],
    ["s2", 'Quote "this"\u2028and a separator', "How?", "Pride", "Fear", "Hope", "c", ""],
]


def _csv(sep: str, eol: str = "\n") -> str:
    def cell(v: str) -> str:
        return f'"{v.replace(chr(34), chr(34) * 2)}"' if any(c in v for c in f'{sep}"\n') else v

    return "".join(sep.join(cell(v) for v in row) + eol for row in ROWS)


PLAIN = _csv(",")
SHAPES = {
    "excel-csv-utf8": codecs.BOM_UTF8 + _csv(",", "\r\n").encode(),
    "excel-semicolon": codecs.BOM_UTF8 + _csv(";", "\r\n").encode(),
    "excel-unicode-text": _csv("\t", "\r\n").encode("utf-16"),
    "libreoffice-tab": _csv("\t").encode(),
    "crlf-everywhere": PLAIN.replace("\n", "\r\n").encode(),
    "blank-trailing-rows": (PLAIN + ",,,,,,,\r\n,,,,,,,\r\n\r\n").encode(),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_spreadsheet_csv_shapes_are_the_same_instrument(tmp_path: Path, shape: str):
    (tmp_path / "plain.csv").write_text(PLAIN, encoding="utf-8")
    plain = load_csv(tmp_path / "plain.csv", META)
    assert plain.items[0].stem == "Line one\nline two, with a comma"
    assert plain.items[1].stem == 'Quote "this"\u2028and a separator'
    assert [len(it.options) for it in plain.items] == [2, 3]
    (tmp_path / "sheet.csv").write_bytes(SHAPES[shape])
    assert load_csv(tmp_path / "sheet.csv", META).content_hash == plain.content_hash


def test_csv_problems_name_their_lines(tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text(
        'item_id,stem,question,option_a,option_b,key\nc1,"S\nmore",Q,A,B,a\n,S,Q,A,B,a\nc1,S,Q,A,B,z\n,,,,,\n,,,,,\n'
    )
    with pytest.raises(InstrumentError) as exc:
        load_csv(path, META)
    assert str(exc.value).splitlines() == [
        f"{path}: line 4: item #2: item_id: is empty; every row with an item needs its id",
        f"{path}: lines 2, 5: item c1: id: duplicate item id (also item #1)",
        f"{path}: lines 2, 5: item c1: key: 'z' is not among the option ids ['a', 'b']",
    ]


@pytest.mark.parametrize(
    "content, expected",
    [
        ("item_id,stem,stem,question\n", "line 1, column stem: the column appears twice (columns 2 and 3)"),
        ("item_id,stem,question,option_a,option_b,key\nc1,S,Q,A,B,a,extra\n", "line 2: 7 cells but the header"),
        ("item_id;stem,question\nc1;S,Q\n", "the header holds commas (1) and semicolons (1)"),
        (
            "item_id|stem|question\n",
            "(header): missing column(s) item_id, stem, question; it has one column, 'item_id|stem|question':"
            " separate the columns with commas, semicolons or tabs",
        ),
    ],
    ids=["duplicate-column", "long-row", "ambiguous-separator", "unknown-separator"],
)
def test_bad_csv_through_the_cli(tmp_path: Path, content: str, expected: str):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    (tmp_path / "bad.meta.yaml").write_text(yaml.safe_dump(META))
    res = CliRunner().invoke(cli, ["instruments", "validate", str(path)])
    assert res.exit_code == 2 and f"{path}: " in res.output and expected in res.output


def _bomb_item() -> dict:
    return {"id": "i1", "stem": "S", "question": "Q", "options": [{"id": "a", "text": "A"}, {"id": "b", "text": "B"}]}


def test_hostile_yaml_and_json_instruments(tmp_path: Path):
    laughs = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    laughs += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = tmp_path / "bomb.yaml"
    head = yaml.safe_dump(instrument_data("bomb", [{**_bomb_item(), "key": "a"}]), sort_keys=False)
    bomb.write_text(head + "  meta:\n" + "".join(f"    {line}\n" for line in laughs))  # under the one item
    with pytest.raises(InstrumentError, match=r"line \d+: YAML aliases \(\*l0\) are not allowed"):
        load(bomb)
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        yaml.safe_dump(instrument_data("dup", [{**_bomb_item(), "key": "a"}]), sort_keys=False) + "id: again\n"
    )
    with pytest.raises(InstrumentError, match=r"dup.yaml: line \d+: the key 'id' appears twice .*first on line 1"):
        load(dup)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InstrumentError, match="deep.json: line 1: nested deeper than 100 levels"):
        load(deep)
    twice = tmp_path / "twice.json"
    twice.write_text(
        json.dumps(instrument_data("twice", [{**_bomb_item(), "key": "a"}]))[:-1] + ', "scoring": "weighted"}'
    )
    with pytest.raises(
        InstrumentError, match="twice.json: the object with id 'twice': the key 'scoring' appears twice"
    ):
        load(twice)
    (tmp_path / "folder.yaml").mkdir()
    with pytest.raises(InstrumentError, match="folder.yaml: \\(file\\): is a directory, not an instrument file"):
        load(tmp_path / "folder.yaml")


def test_yaml_instrument_with_bom_and_csv_metadata_that_is_not_a_mapping(tmp_path: Path):
    data = instrument_data("bom", [{**_bomb_item(), "key": "b"}])
    (tmp_path / "bom.yaml").write_bytes(codecs.BOM_UTF8 + yaml.safe_dump(data).encode())
    assert load(tmp_path / "bom.yaml").content_hash == parse_instrument(data).content_hash
    (tmp_path / "items.csv").write_text(PLAIN)
    (tmp_path / "items.meta.yaml").write_text("- just\n- a list\n")
    with pytest.raises(InstrumentError, match="items.meta.yaml: \\(file\\): expected a mapping of instrument fields"):
        load(tmp_path / "items.csv")


NORM = "source: {id: mine, citation: My sample}\nnorms:\n  - instrument: steu\n    sample: students\n"


def test_bad_norm_files_give_clear_errors(tmp_path: Path, eitest_home: Path):
    dup = tmp_path / "dup.yaml"
    dup.write_text(NORM + "    sample: again\n")
    with pytest.raises(InstrumentError, match="dup.yaml: line 5: the key 'sample' appears twice"):
        load_norm_file(dup)
    with pytest.raises(InstrumentError, match="is a directory, not a norm file"):
        load_norm_file(tmp_path)
    norms_dir = eitest_home / "human_norms"
    norms_dir.mkdir()
    (norms_dir / "latin1.yaml").write_bytes(NORM.replace("My sample", "Müller").encode("latin-1"))
    res = CliRunner().invoke(cli, ["norms", "list"])
    assert res.exit_code == 2
    assert res.output.startswith(f"Error: {norms_dir / 'latin1.yaml'}: line 1: byte 0xfc (at byte 30) is not UTF-8")


def test_hostile_files_end_in_a_message_in_a_real_process(tmp_path: Path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(f"b{i}: &b{i} [*a, *a, *a, *a]\n" for i in range(20))
    )
    res = run_cli("instruments", "validate", str(deep), str(bomb), str(tmp_path))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.splitlines() == [
        f"{deep}: line 1: nested deeper than 100 levels; is it the right file?",
        f"{bomb}: line 2: YAML aliases (*a) are not allowed; write the value out in full where it is used",
        f"{tmp_path}: (metadata): a dataset needs metadata: import it with 'eitest instruments import ID PATH'",
        "Error: 3 of 3 file(s) invalid",
    ]
