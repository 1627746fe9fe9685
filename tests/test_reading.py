"""The reading layer: files as editors and spreadsheets write them are read, anything else is a clear ReadError."""

from __future__ import annotations

import codecs
import os
import time
from pathlib import Path

import pytest

from eitest.errors import EitestError
from eitest.reading import (
    MAX_CELL_CHARS,
    MAX_DEPTH,
    ReadError,
    parse_csv,
    parse_json,
    parse_yaml,
    read_csv,
    read_text,
    read_yaml,
    yaml_key_lines,
)


def _error(fn, *args) -> str:
    with pytest.raises(ReadError) as exc:
        fn(*args)
    assert isinstance(exc.value, EitestError)
    return str(exc.value)


# --------------------------------------------------------------------------- text


def test_utf8_with_or_without_bom_and_utf16_with_bom_read_the_same(tmp_path: Path):
    text = "id: café\nname: «x»\n"
    (tmp_path / "plain.yaml").write_bytes(text.encode("utf-8"))
    (tmp_path / "bom.yaml").write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    (tmp_path / "u16.yaml").write_bytes(text.encode("utf-16"))  # with its BOM, as Excel's "Unicode text"
    assert [read_text(tmp_path / n, "a study file") for n in ("plain.yaml", "bom.yaml", "u16.yaml")] == [text] * 3


def test_non_utf8_names_line_byte_and_the_fix(tmp_path: Path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("source:\n  id: x\n  citation: Müller\n".encode("latin-1"))
    assert _error(read_text, path, "a norm file") == (
        f"{path}: line 3: byte 0xfc (at byte 29) is not UTF-8 text; save the file as UTF-8"
        " (in Excel: Save As, 'CSV UTF-8'; in an editor: encoding UTF-8)"
    )


def test_a_nul_character_is_refused_with_its_line(tmp_path: Path):
    path = tmp_path / "items.csv"
    path.write_bytes(b"item_id,stem\nq1,Situation\x00one\n")
    assert _error(read_text, path, "an instrument file") == (
        f"{path}: line 2: holds a NUL character (U+0000), which no text file should; remove it"
        " (a UTF-16 file without its byte-order mark? save it as UTF-8)"
    )
    path.write_bytes("item_id,stem\n".encode("utf-16-le"))  # UTF-16 without its BOM is all NULs to UTF-8
    assert "line 1: holds a NUL character" in _error(read_text, path, "an instrument file")


def test_yaml_control_characters_name_their_line():
    assert _error(parse_yaml, "id: x\nname: a\x01b\n", "n.yaml") == (
        "n.yaml: line 2: not valid YAML: the control character U+0001 is not allowed; remove it"
    )
    assert _error(parse_yaml, 'id: x\nname: "a\\ud800"\n', "n.yaml").startswith("n.yaml: line 2: not valid YAML")


def test_a_workbook_saved_under_a_csv_name_is_named_as_such(tmp_path: Path):
    path = tmp_path / "items.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)))
    assert _error(read_text, path, "an instrument file") == (
        f"{path}: (file): is a spreadsheet workbook (.xlsx, .ods or .xls), not text; save it as 'CSV UTF-8'"
    )


def test_directory_missing_and_special_files(tmp_path: Path):
    assert _error(read_text, tmp_path, "a norm file") == (
        f"{tmp_path}: (file): is a directory, not a norm file; give the path of the file itself"
    )
    assert _error(read_text, tmp_path / "none.yaml", "a norm file") == f"{tmp_path / 'none.yaml'}: (file): no such file"
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.csv"
        os.mkfifo(fifo)  # reading a pipe nobody writes to would hang
        assert _error(read_text, fifo, "a response file").endswith(
            "is not a regular file, so it cannot be a response file"
        )


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file(tmp_path: Path):
    path = tmp_path / "locked.yaml"
    path.write_text("a: 1\n")
    path.chmod(0)
    try:
        assert "cannot be read (permission denied)" in _error(read_text, path, "a study file")
    finally:
        path.chmod(0o600)


def test_size_is_bounded_before_reading(tmp_path: Path):
    path = tmp_path / "big.yaml"
    path.write_bytes(b"a: 1\n" * 300_000)  # 1.5 MB
    assert read_text(path, "a study file", max_bytes=2 * 1024 * 1024).count("\n") == 300_000
    assert _error(read_text, path, "a study file", 1024 * 1024) == (
        f"{path}: (file): is larger than 1 MB, too large for a study file; is it the right file?"
    )


# --------------------------------------------------------------------------- YAML


def test_yaml_alias_is_refused_with_its_name_and_line():
    assert _error(parse_yaml, "base: &common {a: 1}\nother: *common\n", "s.yaml") == (
        "s.yaml: line 2: YAML aliases (*common) are not allowed; write the value out in full where it is used"
    )
    # a merge key needs an alias too
    assert "YAML aliases (*b)" in _error(parse_yaml, "b: &b {x: 1}\nc:\n  <<: *b\n", "s.yaml")
    # an anchor nobody refers to is harmless
    assert parse_yaml("a: &lonely 3\nb: 4\n", "s.yaml") == {"a": 3, "b": 4}


def test_billion_laughs_is_refused_before_it_expands():
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    bomb = "id: x\nitems:\n  - id: i1\n    meta:\n" + "".join(f"      {line}\n" for line in lines)
    start = time.perf_counter()
    message = _error(parse_yaml, bomb, "bomb.yaml")
    assert time.perf_counter() - start < 2
    assert message.startswith("bomb.yaml: line 6: YAML aliases (*l0) are not allowed")


def test_yaml_duplicate_keys_give_the_second_line():
    text = "id: a\nitems:\n  - id: i1\n    stem: one\n    question: q\n    stem: two\n"
    assert _error(parse_yaml, text, "d.yaml") == (
        "d.yaml: line 6: the key 'stem' appears twice in one mapping (first on line 4); keep one"
    )
    assert "the key 'reps' appears twice" in _error(parse_yaml, "reps: 1\nseed: 2\nreps: 3\n", "d.yaml")
    # the same key in two different mappings is no duplicate
    assert parse_yaml("a: {k: 1}\nb: {k: 2}\n", "d.yaml") == {"a": {"k": 1}, "b": {"k": 2}}


def test_yaml_syntax_error_and_depth_name_the_line():
    assert _error(parse_yaml, "a: 1\nb: [1, 2\nc: 3\n", "e.yaml").startswith("e.yaml: line 3: not valid YAML: ")
    deep = "x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    assert _error(parse_yaml, deep, "e.yaml") == (
        f"e.yaml: line 1: nested deeper than {MAX_DEPTH} levels; is it the right file?"
    )
    assert "not valid YAML" in _error(parse_yaml, "[" * 100_000 + "]" * 100_000, "e.yaml")
    ok = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert parse_yaml(ok, "e.yaml") is not None


def test_read_yaml_and_key_lines(tmp_path: Path):
    path = tmp_path / "s.yaml"
    path.write_bytes(codecs.BOM_UTF8 + b"# a study\nmodels: [m]\n\nreps: 2\n")
    assert read_yaml(path, "a study file") == {"models": ["m"], "reps": 2}
    assert yaml_key_lines(path.read_text(encoding="utf-8-sig")) == {"models": 2, "reps": 4}
    assert yaml_key_lines("- a\n- b\n") == {}


# --------------------------------------------------------------------------- JSON


def test_json_duplicate_keys_nan_and_syntax():
    assert _error(parse_json, '{"id": "a", "items": [{"id": "i", "id": "j"}]}', "i.json") == (
        "i.json: the object with id 'i': the key 'id' appears twice in one object; keep one"
    )
    assert _error(parse_json, '{"scoring": "keyed", "scoring": "weighted"}', "i.json") == (
        "i.json: (file): the key 'scoring' appears twice in one object; keep one"
    )
    assert _error(parse_json, '{"human_p": NaN}', "i.json") == (
        "i.json: human_p: NaN is not a JSON number; write a number or null"
    )
    assert _error(parse_json, '{"items": [{"id": "q1", "w": [0, -Infinity]}]}', "i.json") == (
        "i.json: items['q1'].w[1]: -Infinity is not a JSON number; write a number or null"
    )
    assert _error(parse_json, '{"items": [{"stem": "a\\udc00b"}]}', "i.json") == (
        "i.json: items[0].stem: holds an escaped lone surrogate (such as \\ud800), which is not a character; remove it"
    )
    assert _error(parse_json, '{"id": "a",\n  "items": [1, 2,]\n}', "i.json") == (
        "i.json: line 2, column 18: not valid JSON: Expecting value"
    )


def test_json_depth_is_bounded_without_recursion_error():
    assert _error(parse_json, "[" * 100_000 + "]" * 100_000, "d.json") == (
        f"d.json: line 1: nested deeper than {MAX_DEPTH} levels; is it the right file?"
    )
    assert _error(parse_json, '{"a":\n' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}", "d.json") == (
        f"d.json: line 2: nested deeper than {MAX_DEPTH} levels; is it the right file?"
    )
    # brackets inside strings are text, not nesting
    assert parse_json('{"stem": "' + "[{" * 500 + '"}', "d.json") == {"stem": "[{" * 500}


# --------------------------------------------------------------------------- CSV

PLAIN = 'item_id,stem,question\nc1,"Line one\nline two",Q?\nc2,S,Q\n'


def _shape(table) -> tuple:
    return table.header, [(r.line, r.cells) for r in table.rows]


@pytest.mark.parametrize(
    "data",
    [
        PLAIN.encode(),
        codecs.BOM_UTF8 + PLAIN.encode(),  # Excel "CSV UTF-8"
        codecs.BOM_UTF8 + PLAIN.replace(",", ";").encode(),  # Excel with a decimal comma locale
        PLAIN.replace(",", "\t").encode(),  # tab separated, LibreOffice's "Text CSV" with tab
        PLAIN.replace("\n", "\r\n").encode(),  # CRLF, inside the quoted cell too
        (PLAIN + ",,\n,,\n\n").encode(),  # Excel's blank trailing rows
        b'"item_id";"stem";"question"\r\n"c1";"Line one\nline two";"Q?"\r\n"c2";"S";"Q"\r\n',
    ],
    ids=["plain", "bom", "semicolon-bom", "tab", "crlf", "blank-rows", "all-quoted"],
)
def test_spreadsheet_shapes_read_as_the_plain_file(tmp_path: Path, data: bytes):
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    assert _shape(read_csv(path, "an instrument file")) == (
        ("item_id", "stem", "question"),
        [(2, ("c1", "Line one\nline two", "Q?")), (4, ("c2", "S", "Q"))],
    )


def test_line_separators_inside_cells_stay_in_the_cell():
    text = "a,b\n1,x\u2028y\u2029z\n2,p\x0bq\x0cr\x1cs\x85t\n3,end\n"
    table = parse_csv(text, "u.csv")
    assert [(r.line, r.cells) for r in table.rows] == [
        (2, ("1", "x\u2028y\u2029z")),
        (3, ("2", "p\x0bq\x0cr\x1cs\x85t")),
        (4, ("3", "end")),
    ]


def test_blank_rows_are_skipped_and_later_lines_still_counted():
    table = parse_csv("a,b\n1,2\n,\n  ,  \n3,4\n", "b.csv")
    assert [(r.line, r.cells) for r in table.rows] == [(2, ("1", "2")), (5, ("3", "4"))]
    assert parse_csv("", "b.csv").header == () and parse_csv(",,\n\n", "b.csv").rows == ()


def test_header_problems():
    assert _error(parse_csv, "item_id,stem,item_id\n1,2,3\n", "h.csv") == (
        "h.csv: line 1, column item_id: the column appears twice (columns 1 and 3); rename or delete one"
    )
    assert _error(parse_csv, "a,,b\n1,x,2\n", "h.csv") == (
        "h.csv: line 1, column 2: empty column name, but line 2 has 'x' in it; name it"
    )
    # nameless, empty columns after the last one (what spreadsheets leave) are dropped
    assert _shape(parse_csv(" a , b ,,\n1,2,,\n3,4\n", "h.csv")) == (("a", "b"), [(2, ("1", "2")), (3, ("3", "4"))])


def test_row_longer_than_the_header_names_its_line():
    text = 'a,b,c,d,e,f\n1,"two\nlines",3,4,5,6\n1,2,3,4,5,6,7\n1,2,3,4,5,6,,\n'
    assert _error(parse_csv, text, "l.csv") == "l.csv: line 4: 7 cells but the header has 6 columns"
    assert parse_csv("a,b\n1\n", "l.csv").rows[0].cells == ("1", "")  # short rows are padded


def test_separator_is_sniffed_and_ambiguity_named():
    assert parse_csv("a;b\n1,5;2\n", "s.csv").rows[0].cells == ("1,5", "2")
    # a comma inside a header name of a semicolon file: the rows decide
    assert _shape(parse_csv("Frage 1, Teil a;b\nx;y\nz;w\n", "s.csv"))[0] == ("Frage 1, Teil a", "b")
    assert _error(parse_csv, "a,b;c\n1,2;3\n", "s.csv") == (
        "s.csv: line 1: the header holds commas (1) and semicolons (1), so the separator is unclear;"
        " save the file with one separator (comma, semicolon or tab), quoting any cell that contains another"
    )


def test_big_cells_and_bad_quotes():
    big = "x" * 200_000
    assert parse_csv(f"a,b\n1,{big}\n", "c.csv").rows[0].cells == ("1", big)
    huge = "y" * (MAX_CELL_CHARS + 1)
    assert _error(parse_csv, f"a,b\n1,2\n3,{huge}\n", "c.csv") == (
        f"c.csv: line 3: a cell is longer than {MAX_CELL_CHARS:,} characters; is it the right file?"
    )
    assert _error(parse_csv, 'a,b\n1,2\n3,"open\nand never closed\n', "c.csv").startswith(
        "c.csv: line 3: badly quoted cell (unexpected end of data)"
    )
    assert "line 2: badly quoted cell" in _error(parse_csv, 'a,b\n"1"x,2\n', "c.csv")


def test_records_map_header_to_cells():
    assert parse_csv("\ufeffa;b\n1;2\n", "r.csv").records() == [{"a": "1", "b": "2"}]
