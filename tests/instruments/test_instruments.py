from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli

from eitest import instruments as ins

PUBLISHED = {"steu", "steu-b", "stem", "stem-b", "gemok-blends", "geco-regulation", "geco-management"}


def small(**over) -> dict:
    data = {
        "id": "tiny",
        "name": "Tiny",
        "construct": "emotional understanding",
        "version": "1",
        "citation": "test",
        "license": "CC0",
        "instructions": "Choose one.",
        "scoring": "keyed",
        "items": [
            {
                "id": "i1",
                "stem": "A friend returns a borrowed bike scratched.",
                "question": "What is Ana most likely to feel?",
                "options": [{"id": "a", "text": "Anger"}, {"id": "b", "text": "Joy"}],
                "key": "a",
            },
            {
                "id": "i2",
                "stem": "An exam went well.",
                "question": "What is Ben most likely to feel?",
                "options": [{"id": "a", "text": "Pride"}, {"id": "b", "text": "Fear"}],
                "key": "a",
            },
        ],
    }
    data.update(over)
    return data


def test_catalogue_has_open_and_published_tests():
    cat = ins.catalogue()
    assert cat["open-steu"].n_items >= 40
    assert cat["open-stem"].n_items >= 30
    assert PUBLISHED <= set(cat)
    for name in PUBLISHED:
        assert cat[name].is_metadata_only and cat[name].published is not None
    assert cat["steu"].published.n_items == 42
    assert cat["steu-b"].published.n_items == 19
    assert cat["stem-b"].published.n_items == 18


@pytest.mark.parametrize("path", sorted((REPO / "instruments").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_files_validate(path: Path):
    inst = ins.load_yaml(path)
    assert inst.id == path.stem


def test_open_steu_items_are_complete_and_balanced():
    inst = ins.catalogue()["open-steu"]
    keys = [it.key for it in inst.items]
    counts = {k: keys.count(k) for k in "abcde"}
    assert max(counts.values()) - min(counts.values()) <= 2, counts
    for it in inst.items:
        assert len(it.options) == 5
        assert it.appraisal and it.rationale
    emotions = {it.facets[0].lower() for it in inst.items}
    for e in [
        "anger",
        "sadness",
        "fear",
        "guilt",
        "shame",
        "regret",
        "surprise",
        "relief",
        "hope",
        "pride",
        "joy",
        "distress",
        "contempt",
        "disgust",
    ]:
        assert e in emotions, e


def test_open_stem_weights_are_coherent():
    inst = ins.catalogue()["open-stem"]
    tops = []
    for it in inst.items:
        assert len(it.options) == 4
        assert sum(it.weights.values()) == pytest.approx(1.0)
        tops.append(it.best_option)
        assert it.rationale
    counts = {k: tops.count(k) for k in "abcd"}
    assert max(counts.values()) - min(counts.values()) <= 2, counts


def test_every_problem_is_reported_at_once(tmp_path: Path):
    data = small()
    data["items"][1]["id"] = "i1"  # duplicate id
    data["items"][0]["key"] = "z"  # key outside the options
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ins.InstrumentError) as exc:
        ins.load_yaml(path)
    text = str(exc.value)
    assert "item i1: key: 'z' is not among the option ids" in text
    assert "item i1: id: duplicate item id" in text
    assert str(path) in text


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d.update(scoring="ranked"), "unknown scoring 'ranked'"),
        (lambda d: d["items"][0].update(options=[{"id": "a", "text": "Anger"}]), "at least 2 are needed"),
        (lambda d: d["items"][0].update(stem="  "), "item i1: stem: is empty"),
        (lambda d: d["items"][0]["options"][1].update(text=""), "options.1.text: is empty"),
        (lambda d: d["items"][0].update(typo_field=1), "item i1: typo_field: unknown field"),
        (lambda d: d.pop("citation"), "citation: Field required"),
    ],
)
def test_validation_messages(change, expected):
    data = small()
    change(data)
    with pytest.raises(ins.InstrumentError) as exc:
        ins.parse_instrument(data, "x.yaml")
    assert expected in str(exc.value)


def test_weighted_checks():
    data = small(scoring="weighted")
    for it in data["items"]:
        it.pop("key")
    data["items"][0]["weights"] = {"a": 1.5, "b": 0.2}
    data["items"][1]["weights"] = {"a": 0.5, "b": 0.5}
    with pytest.raises(ins.InstrumentError) as exc:
        ins.parse_instrument(data, "w.yaml")
    text = str(exc.value)
    assert "item i1: weights.a: 1.5 is outside [0, 1]" in text
    assert "item i2: weights: 2 options share the top weight 0.5" in text


def test_credit_and_best_option():
    data = small(scoring="weighted")
    for it in data["items"]:
        it.pop("key")
        it["weights"] = {"a": 0.7, "b": 0.3}
    inst = ins.parse_instrument(data)
    item = inst.items[0]
    assert item.best_option == "a"
    assert item.credit("b") == pytest.approx(0.3)
    assert item.credit(None) == 0.0


def test_content_hash_is_stable_and_sensitive():
    a = ins.parse_instrument(small())
    reordered = dict(reversed(list(small().items())))
    assert ins.parse_instrument(reordered).content_hash == a.content_hash
    changed = small()
    changed["items"][0]["stem"] += " Then it rained."
    assert ins.parse_instrument(changed).content_hash != a.content_hash
    assert len(a.content_hash) == 64


def test_json_and_csv_loaders(tmp_path: Path):
    data = small()
    (tmp_path / "t.json").write_text(json.dumps(data))
    assert ins.load(tmp_path / "t.json").content_hash == ins.parse_instrument(data).content_hash
    csv_text = "item_id,stem,question,option_a,option_b,option_c,key,facets,human_p\n"
    csv_text += 'c1,"A stem, with a comma",What?,Anger,Joy,,a,anger;work,0.8\n'
    csv_text += "c2,Another stem,What?,Pride,Fear,Hope,c,,\n"
    (tmp_path / "t.csv").write_text(csv_text)
    meta = {k: v for k, v in small().items() if k != "items"}
    (tmp_path / "t.meta.yaml").write_text(yaml.safe_dump(meta))
    inst = ins.load(tmp_path / "t.csv")
    assert [len(i.options) for i in inst.items] == [2, 3]
    assert inst.items[0].stem == "A stem, with a comma"
    assert inst.items[0].facets == ("anger", "work")
    assert inst.items[0].human_p == 0.8
    assert inst.items[1].key == "c"


def test_csv_errors_name_row_and_field(tmp_path: Path):
    (tmp_path / "b.csv").write_text("item_id,stem,question,option_a,option_b,key,human_p\nc1,S,Q,A,B,x,high\n")
    meta = {k: v for k, v in small().items() if k != "items"}
    with pytest.raises(ins.InstrumentError) as exc:
        ins.load_csv(tmp_path / "b.csv", meta)
    text = str(exc.value)
    assert "item c1: human_p: not a number" in text
    assert "item c1: key: 'x' is not among the option ids" in text


def test_dataset_loaders(tmp_path: Path):
    datasets = pytest.importorskip("datasets")
    rows = {
        "item_id": ["d1", "d2"],
        "stem": ["S1", "S2"],
        "question": ["Q1", "Q2"],
        "option_a": ["Anger", "Pride"],
        "option_b": ["Joy", "Fear"],
        "key": ["a", "b"],
    }
    ds = datasets.Dataset.from_dict(rows)
    ds.save_to_disk(str(tmp_path / "ds"))
    ds.to_parquet(str(tmp_path / "items.parquet"))
    meta = {k: v for k, v in small().items() if k != "items"}
    from_dir = ins.load_dataset(str(tmp_path / "ds"), meta)
    from_parquet = ins.load_dataset(str(tmp_path / "items.parquet"), meta)
    assert [i.key for i in from_dir.items] == ["a", "b"]
    assert from_dir.content_hash == from_parquet.content_hash
    datasets.DatasetDict({"train": ds}).save_to_disk(str(tmp_path / "dd"))
    assert ins.load_dataset(str(tmp_path / "dd"), meta).content_hash == from_dir.content_hash


def _steu_like(n_items: int, n_options: int = 5) -> dict:
    items = []
    for i in range(n_items):
        items.append(
            {
                "id": f"s{i + 1}",
                "stem": f"Situation {i + 1} written for this test.",
                "question": "What is the person most likely to feel?",
                "options": [{"id": c, "text": f"Emotion {c}"} for c in "abcdef"[:n_options]],
                "key": "a",
            }
        )
    return {"items": items}


def test_import_is_checked_against_published_structure(tmp_path: Path, eitest_home: Path):
    bad = tmp_path / "steu-bad.yaml"
    bad.write_text(yaml.safe_dump(_steu_like(40, 4)))
    with pytest.raises(ins.InstrumentError) as exc:
        ins.import_instrument("steu", bad)
    text = str(exc.value)
    assert "40 items, but steu has 42" in text
    assert "item s1: options: 4 options, but steu items have 5" in text
    assert not (eitest_home / "instruments" / "steu.yaml").exists()

    good = tmp_path / "steu.yaml"
    good.write_text(yaml.safe_dump(_steu_like(42)))
    out = ins.import_instrument("steu", good)
    assert out == eitest_home / "instruments" / "steu.yaml"
    steu = ins.catalogue()["steu"]
    assert steu.n_items == 42 and not steu.is_metadata_only
    assert steu.citation.startswith("MacCann")  # metadata comes from the catalogue entry


def test_cli_validate_exit_2_names_problems(tmp_path: Path):
    data = small()
    data["items"][1]["id"] = "i1"
    data["items"][0]["key"] = "z"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    res = run_cli("instruments", "validate", str(path))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "item i1: key" in res.stderr and "duplicate item id" in res.stderr


def test_cli_list_json_and_import_refusal(tmp_path: Path):
    res = run_cli("instruments", "list", "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["id"]: r for r in json.loads(res.stdout)}
    assert rows["open-steu"]["n_items"] >= 40 and rows["open-stem"]["n_items"] >= 30
    assert rows["steu"]["n_items"] == 0 and rows["steu"]["n_items_published"] == 42
    for r in rows.values():
        assert {"id", "name", "construct", "scoring", "n_items", "n_items_published"} <= set(r)
    bad = tmp_path / "few.yaml"
    bad.write_text(yaml.safe_dump(_steu_like(3)))
    res = run_cli("instruments", "import", "steu", str(bad))
    assert res.returncode == 2 and "3 items, but steu has 42" in res.stderr and "Traceback" not in res.stderr


def test_cli_show_metadata_only():
    res = run_cli("instruments", "show", "gemok-blends")
    assert res.returncode == 0
    assert "to obtain" in res.stdout and "Schlegel" in res.stdout
    res = run_cli("instruments", "show", "nope")
    assert res.returncode == 2 and "known:" in res.stderr
