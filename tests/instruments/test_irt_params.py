"""IRT parameters on items: read from YAML, JSON and CSV, each checked with its item and field named.

The parameters here are SYNTHETIC (written for these tests), not any published test's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import instrument_data

from eitest.cli import cli
from eitest.instruments import InstrumentError, IrtParams, load, parse_instrument

SYNTHETIC = "synthetic parameters written for this test"


def items(irt: dict | None = None, n: int = 2) -> list[dict]:
    out = []
    for j in range(n):
        item: dict = {
            "id": f"q{j + 1}",
            "stem": f"Situation {j + 1}.",
            "question": "Which?",
            "options": [{"id": "a", "text": "Joy"}, {"id": "b", "text": "Fear"}],
            "key": "a",
        }
        if irt is not None:
            item["irt"] = dict(irt)
        out.append(item)
    return out


def test_yaml_and_json_items_carry_their_parameters(tmp_path: Path):
    irt = {"model": "3PL", "a": 1.2, "b": -0.4, "c": 0.2, "D": 1.702, "source": SYNTHETIC, "where": "table 1"}
    data = instrument_data("irt-form", items(irt))
    (tmp_path / "f.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "f.json").write_text(json.dumps(data))
    for name in ("f.yaml", "f.json"):
        inst = load(tmp_path / name)
        assert inst.items[0].irt == IrtParams(**irt)
    two = load(tmp_path / "f.yaml")
    # D defaults to 1 (the logistic metric) and c to 0; both belong to the content, hence to the hash.
    plain = parse_instrument(instrument_data("irt-form", items({"model": "2PL", "a": 1.0, "b": 0.0, "source": "x"})))
    assert plain.items[0].irt is not None and plain.items[0].irt.D == 1.0 and plain.items[0].irt.c == 0.0
    assert plain.normalized()["items"][0]["irt"] == {
        "model": "2PL",
        "a": 1.0,
        "b": 0.0,
        "c": 0.0,
        "D": 1.0,
        "source": "x",
    }
    changed = parse_instrument(instrument_data("irt-form", items({**irt, "b": -0.5})))
    assert changed.content_hash != two.content_hash
    without = parse_instrument(instrument_data("irt-form", items()))
    assert without.content_hash not in (two.content_hash, changed.content_hash)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"a": 0}, "irt.a", "must be > 0"),
        ({"a": -1.5}, "irt.a", "must be > 0"),
        ({"c": 1.0}, "irt.c", "must be in [0, 1)"),
        ({"c": -0.1}, "irt.c", "must be in [0, 1)"),
        ({"model": "2PL", "c": 0.2}, "irt.c", "given for a 2PL item"),
        ({"D": 0}, "irt.D", "must be > 0"),
        ({"source": "  "}, "irt.source", "needs its source"),
        ({"source": None}, "irt.source", "needs its source"),
        ({"model": "4PL"}, "irt.model", "'2PL' or '3PL'"),
        ({"a": "steep"}, "irt.a", "valid number"),
        ({"slope": 1.0}, "irt.slope", "unknown field"),
        ({"b": float("inf")}, "irt.b", "not a finite number"),
    ],
)
def test_invalid_parameters_name_the_item_and_field(change: dict, field: str, message: str):
    irt = {"model": "3PL", "a": 1.0, "b": 0.0, "c": 0.2, "source": SYNTHETIC, **change}
    raw = items(irt, n=1)
    if change.get("source", "") is None:
        del raw[0]["irt"]["source"]
    with pytest.raises(InstrumentError) as err:
        parse_instrument(instrument_data("bad", raw), "bad.yaml")
    assert any(p.item == "q1" and p.field == field and message in p.message for p in err.value.problems), str(err.value)
    assert f"bad.yaml: item q1: {field}: " in str(err.value)


CSV_HEADER = "item_id,stem,question,option_a,option_b,key,irt_model,irt_a,irt_b,irt_c,irt_D,irt_source,irt_where\n"


def test_csv_irt_columns_read_to_the_same_parameters(tmp_path: Path):
    (tmp_path / "c.csv").write_text(
        CSV_HEADER
        + f"q1,S.,Which?,Joy,Fear,a,3PL,1.2,-0.4,0.2,1.702,{SYNTHETIC},table 1\nq2,S2.,Which?,Joy,Fear,b,,,,,,,\n"
    )
    meta = {k: v for k, v in instrument_data("sheet", []).items() if k != "items"}
    inst = load(tmp_path / "c.csv", meta)
    assert inst.items[0].irt == IrtParams(model="3PL", a=1.2, b=-0.4, c=0.2, D=1.702, source=SYNTHETIC, where="table 1")
    assert inst.items[1].irt is None


def test_csv_irt_errors_name_line_item_and_column(tmp_path: Path):
    (tmp_path / "c.csv").write_text(CSV_HEADER + "q1,S.,Which?,Joy,Fear,a,3PL,steep,0,0.1,,src,\nq2,S.,Which?,Joy,Fear,a,,1,0,,,src,\n"
                                    "q3,S.,Which?,Joy,Fear,a,2PL,-1,0,,,,\n")  # fmt: skip
    meta = {k: v for k, v in instrument_data("sheet", []).items() if k != "items"}
    with pytest.raises(InstrumentError) as err:
        load(tmp_path / "c.csv", meta)
    text = str(err.value)
    assert "c.csv: line 2: item q1: irt_a: not a number: 'steep'" in text
    assert "c.csv: line 3: item q2: irt_model: empty while other irt_ cells are filled" in text
    assert "c.csv: line 4: item q3: irt.a: -1.0 must be > 0" in text
    assert "line 4: item q3: irt.source: missing or empty" in text


def test_cli_validate_shows_irt_problems_and_exits_2(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(instrument_data("bad", items({"model": "3PL", "a": 1, "b": 0, "c": 1.5}))))
    res = CliRunner().invoke(cli, ["instruments", "validate", str(path)])
    assert res.exit_code == 2, res.output
    assert "item q1: irt.c: 1.5 must be in [0, 1)" in res.output and "irt.source: missing" in res.output
    assert "Traceback" not in res.output
