"""Malformed instrument files (YAML, JSON, CSV with its sidecar): the cases of issue 15's corpus.

Each is run as ``eitest instruments validate FILE`` (the CSV with ``FILE.meta.yaml`` next to it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from malformed_cases import (
    CSV_HEADER,
    Case,
    Outcome,
    Read,
    Workspace,
    alias_bomb,
    csv_rows,
    csv_text,
    item_text,
    json_text,
    meta_yaml,
    mini_data,
    mini_items,
    mini_yaml,
    refused,
    same_instrument_as,
    validated_hash,
    weighted_data,
)


def validate(path: Path) -> list[str]:
    return ["instruments", "validate", str(path)]


def raw(case_id: str, name: str, content: str | bytes | Callable[[], str | bytes], expect: Outcome) -> Case:
    def build(ws: Workspace) -> list[str]:
        body = content() if callable(content) else content
        if name.endswith(".csv"):
            ws.write(Path(name).with_suffix(".meta.yaml").name, meta_yaml())
        return validate(ws.write(name, body))

    return Case(case_id, build, expect)


def mutated(case_id: str, mutate: Callable[[dict[str, Any]], Any], *names: str, base: Callable = mini_data) -> Case:
    """A YAML instrument whose good data ``mutate`` spoils; the refusal must name the file and ``names``."""

    def build(ws: Workspace) -> list[str]:
        data = copy.deepcopy(base())
        mutate(data)
        return validate(ws.write("inst.yaml", yaml.safe_dump(data, sort_keys=False, allow_unicode=True)))

    return Case(case_id, build, refused(r"inst\.yaml", *names))


def setter(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a field: ``name``, ``items.0.stem``, ``items.0.options.1.text`` ..."""

    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        node[int(last) if isinstance(node, list) else last] = value

    return mutate


def deleter(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for p in parents:
            node = node[int(p)] if isinstance(node, list) else node[p]
        del node[last]

    return mutate


def plain_yaml(ws: Workspace) -> Path:
    return ws.write("plain.yaml", mini_yaml())


def plain_csv(ws: Workspace) -> Path:
    ws.write("plain.meta.yaml", meta_yaml())
    return ws.write("plain.csv", csv_text())


def kept(ws_name: str, field_name: str, value: str) -> Read:
    return Read(item_text(ws_name, "q1", field_name, value))


def options_shown_or_limit(n: int) -> Callable[[Workspace, Any], None]:
    def check(ws: Workspace, result: Any) -> None:
        validated_hash(result)  # accepted: then every option was read
        from eitest.instruments import load

        assert len(load(ws.path / "inst.yaml").items[0].options) == n

    return check


def many_options(n: int) -> Case:
    ids = [f"o{k}" for k in range(1, n + 1)]

    def build(ws: Workspace) -> list[str]:
        data = mini_data()
        for it in data["items"]:
            it["options"] = [{"id": o, "text": f"Feeling {o}"} for o in ids]
            it["key"] = ids[-1]
        return validate(ws.write("inst.yaml", yaml.safe_dump(data)))

    # Options are lettered A to Z: up to 26 are read, more are refused with the limit named.
    expect = Read(options_shown_or_limit(n)) if n <= 26 else refused(r"inst\.yaml", "26 at most")
    return Case(f"yaml-{n}-options-keyed-last", build, expect)


def dup_key_yaml(key_line: str, *names: str) -> Case:
    """The good YAML with ``key_line`` written a second time right after its first occurrence."""

    def build(ws: Workspace) -> list[str]:
        text = mini_yaml()
        first = text.index(key_line)
        end = text.index("\n", first)
        dup = text[: end + 1] + text[first : end + 1] + text[end + 1 :]
        return validate(ws.write("inst.yaml", dup))

    return Case(f"yaml-duplicate-key-{key_line.strip().split(':')[0]}", build, refused(r"inst\.yaml", *names))


def bomb_in_meta() -> str:
    data = mini_data()
    text = yaml.safe_dump(data, sort_keys=False)
    bomb = alias_bomb().rstrip("\n").replace("\n", "\n    ")
    return text.replace("  key: b\n", "  key: b\n  meta:\n    " + bomb + "\n", 1)


YAML_CASES = [
    raw("yaml-empty-file", "inst.yaml", "", refused(r"inst\.yaml")),
    Case("yaml-directory-as-file", lambda ws: validate(ws.directory("inst.yaml")), refused(r"inst\.yaml", "director")),
    raw("yaml-not-utf8", "inst.yaml", lambda: mini_yaml(name="Test é").encode("latin-1"), refused(r"inst\.yaml", "UTF-8")),
    raw("yaml-bom", "inst.yaml", lambda: "\ufeff" + mini_yaml(), Read(same_instrument_as(plain_yaml))),
    raw("yaml-crlf", "inst.yaml", lambda: mini_yaml().replace("\n", "\r\n"), Read(same_instrument_as(plain_yaml))),
    raw("yaml-nul-byte", "inst.yaml", lambda: mini_yaml().replace("Mini test", "Mini\x00test"), refused(r"inst\.yaml", "line")),
    raw("yaml-top-level-list", "inst.yaml", lambda: yaml.safe_dump(mini_items()), refused(r"inst\.yaml")),
    raw("yaml-top-level-scalar", "inst.yaml", "just a sentence\n", refused(r"inst\.yaml")),
    raw("yaml-unclosed-bracket", "inst.yaml", lambda: mini_yaml() + "facets: [a, b\n", refused(r"inst\.yaml", r"line \d+")),
    raw("yaml-tab-indent", "inst.yaml", lambda: mini_yaml().replace("  stem:", "\tstem:", 1), refused(r"inst\.yaml", r"line \d+")),
    raw("yaml-alias-bomb-in-meta", "inst.yaml", bomb_in_meta, refused(r"inst\.yaml", "alias")),
    dup_key_yaml("name: Mini test", "name"),
    dup_key_yaml("scoring: keyed", "scoring"),
    dup_key_yaml("  key: b", "key"),
    *[
        mutated(f"yaml-missing-{f}", deleter(f), f)
        for f in ("id", "name", "construct", "version", "citation", "license", "instructions", "scoring")
    ],
    *[mutated(f"yaml-missing-item-{f}", deleter(f"items.0.{f}"), "q1", f) for f in ("stem", "question", "options", "key")],
    mutated("yaml-missing-item-id", deleter("items.0.id"), "id"),
    mutated("yaml-missing-option-text", deleter("items.0.options.0.text"), "q1", "text"),
    mutated("yaml-missing-option-id", deleter("items.0.options.0.id"), "q1", r"options\.0\.id"),
    mutated("yaml-id-is-list", setter("id", ["mini"]), "id"),
    mutated("yaml-name-is-mapping", setter("name", {"en": "Mini"}), "name"),
    mutated("yaml-scoring-is-number", setter("scoring", 3), "scoring"),
    mutated("yaml-scoring-unknown", setter("scoring", "partial"), "scoring"),
    mutated("yaml-language-is-list", setter("language", ["en"]), "language"),
    mutated("yaml-response-format-unimplemented", setter("response_format", "rating"), "response_format"),
    mutated("yaml-published-is-string", setter("published", "yes"), "published"),
    mutated("yaml-items-is-string", setter("items", "q1, q2"), "items"),
    mutated("yaml-items-is-mapping", setter("items", {"q1": "x"}), "items"),
    mutated("yaml-item-is-string", setter("items.0", "q1"), "#1|item"),
    mutated("yaml-stem-is-number", setter("items.0.stem", 42), "q1", "stem"),
    mutated("yaml-stem-is-list", setter("items.0.stem", ["a", "b"]), "q1", "stem"),
    mutated("yaml-stem-empty", setter("items.0.stem", ""), "q1", "stem"),
    mutated("yaml-question-blank", setter("items.0.question", "   "), "q1", "question"),
    mutated("yaml-options-is-string", setter("items.0.options", "a, b, c"), "q1", "options"),
    mutated("yaml-options-are-strings", setter("items.0.options", ["Anger", "Joy"]), "q1", "options"),
    mutated("yaml-options-empty-list", setter("items.0.options", []), "q1", "options"),
    mutated("yaml-one-option", setter("items.0.options", [{"id": "b", "text": "Feeling B"}]), "q1", "options"),
    mutated("yaml-option-text-empty", setter("items.0.options.1.text", ""), "q1", r"options\.1\.text"),
    mutated("yaml-option-text-is-list", setter("items.0.options.1.text", ["x"]), "q1", "text"),
    mutated("yaml-duplicate-option-ids", setter("items.0.options.2.id", "a"), "q1", "duplicate"),
    mutated("yaml-duplicate-item-ids", setter("items.1.id", "q1"), "q1", "duplicate"),
    mutated("yaml-key-not-an-option", setter("items.0.key", "z"), "q1", "key"),
    mutated("yaml-key-is-list", setter("items.0.key", ["b"]), "q1", "key"),
    mutated("yaml-key-is-number", setter("items.0.key", 2), "q1", "key"),
    mutated("yaml-facets-is-string", setter("items.0.facets", "sadness"), "q1", "facets"),
    mutated("yaml-human-p-text", setter("items.0.human_p", "high"), "q1", "human_p"),
    mutated("yaml-human-p-above-1", setter("items.0.human_p", 1.5), "q1", "human_p"),
    mutated("yaml-human-p-negative", setter("items.0.human_p", -0.1), "q1", "human_p"),
    mutated("yaml-human-p-nan", setter("items.0.human_p", float("nan")), "q1", "human_p"),
    mutated("yaml-meta-is-list", setter("items.0.meta", [1, 2]), "q1", "meta"),
    mutated("yaml-unknown-top-field", setter("itmes", []), "itmes"),
    mutated("yaml-unknown-item-field", setter("items.0.stme", "typo"), "q1", "stme"),
    mutated("yaml-unknown-option-field", setter("items.0.options.0.txet", "typo"), "q1", "txet"),
    mutated("yaml-keyed-with-weights", setter("items.0.weights", {"a": 0, "b": 1, "c": 0}), "q1", "weights"),
    mutated("yaml-weight-above-1", setter("items.0.weights.b", 1.5), r"weights\.b", base=weighted_data),
    mutated("yaml-weight-negative", setter("items.0.weights.a", -0.2), r"weights\.a", base=weighted_data),
    mutated("yaml-weight-text", setter("items.0.weights.a", "high"), "weights", base=weighted_data),
    mutated("yaml-weight-nan", setter("items.0.weights.a", float("nan")), "weights", base=weighted_data),
    mutated("yaml-weights-tie", setter("items.0.weights.a", 1.0), "q1", "top weight", base=weighted_data),
    mutated("yaml-weights-is-list", setter("items.0.weights", [0.2, 1.0, 0]), "q1", "weights", base=weighted_data),
    mutated("yaml-weight-names-no-option", setter("items.0.weights.z", 0.5), "q1", r"weights\.z", base=weighted_data),
    mutated("yaml-weighted-without-weights", deleter("items.0.weights"), "q1", "weights", base=weighted_data),
    many_options(12),
    many_options(30),
    raw("yaml-200kB-stem", "inst.yaml", lambda: mini_yaml().replace("Situation 1:", "x" * 200_000 + ":", 1),
        kept("inst.yaml", "stem", "x" * 200_000 + ": a friend moves away.")),
    raw("yaml-u2028-in-stem", "inst.yaml", lambda: mini_yaml().replace("Situation 1:", "Situation\u20281:", 1),
        kept("inst.yaml", "stem", "Situation\u20281: a friend moves away.")),
]  # fmt: skip


def deep_json(depth: int) -> str:
    data = mini_data()
    text = json_text(data)
    return text.replace('"key": "b"', '"key": "b", "meta": {"x": ' + "[" * depth + "]" * depth + "}", 1)


def json_mutated(case_id: str, text: Callable[[], str], *names: str) -> Case:
    return raw(case_id, "inst.json", text, refused(r"inst\.json", *names))


def json_dup(old: str, new: str) -> Callable[[], str]:
    return lambda: json_text().replace(old, new, 1)


JSON_CASES = [
    json_mutated("json-empty-file", lambda: ""),
    Case("json-directory-as-file", lambda ws: validate(ws.directory("inst.json")), refused(r"inst\.json", "director")),
    raw("json-not-utf8", "inst.json", lambda: json_text(mini_data(name="Test é")).encode("cp1252"), refused(r"inst\.json", "UTF-8")),
    raw("json-bom", "inst.json", lambda: "\ufeff" + json_text(), Read(same_instrument_as(plain_yaml))),
    raw("json-utf16", "inst.json", lambda: json_text().encode("utf-16"), Read(same_instrument_as(plain_yaml))),
    json_mutated("json-nul-in-string", lambda: json_text().replace("Mini test", "Mini\x00test"), "line"),
    json_mutated("json-100000-deep", lambda: deep_json(100_000), "deep|depth|nest"),
    json_mutated("json-duplicate-top-key", json_dup('"name": "Mini test"', '"name": "Mini test", "name": "Other"'), "name"),
    json_mutated("json-duplicate-item-key", json_dup('"key": "b"', '"key": "b", "key": "a"'), "q1", "key"),
    json_mutated("json-trailing-comma", lambda: json_text()[:-1] + ",}", "line"),
    json_mutated("json-truncated", lambda: json_text()[:-40], "line"),
    json_mutated("json-top-level-list", lambda: json_text(mini_items())),
    json_mutated("json-human-p-NaN", json_dup('"key": "b"', '"key": "b", "human_p": NaN'), "q1", "human_p"),
    json_mutated("json-human-p-1e999", json_dup('"key": "b"', '"key": "b", "human_p": 1e999'), "q1", "human_p"),
    json_mutated("json-lone-surrogate-in-stem", lambda: json_text().replace("Situation 1", "Situation \\ud800", 1), "q1", "stem"),
    json_mutated("json-key-is-number", json_dup('"key": "b"', '"key": 2'), "q1", "key"),
    json_mutated("json-options-is-object", lambda: json_text(_options_as_object()), "q1", "options"),
    raw("json-u2028-in-stem", "inst.json", lambda: json_text().replace("Situation 1:", "Situation\u20281:", 1),
        Read(item_text("inst.json", "q1", "stem", "Situation\u20281: a friend moves away."))),
]  # fmt: skip


def _options_as_object() -> dict[str, Any]:
    data = mini_data()
    data["items"][0]["options"] = {"a": "Feeling A", "b": "Feeling B"}
    return data


def csv_case(case_id: str, body: Callable[[], str | bytes], expect: Outcome) -> Case:
    return raw(case_id, "items.csv", body, expect)


def csv_refused(case_id: str, body: Callable[[], str | bytes], *names: str) -> Case:
    return csv_case(case_id, body, refused(r"items\.csv", *names))


def same_as_plain_csv(case_id: str, body: Callable[[], str | bytes]) -> Case:
    return csv_case(case_id, body, Read(same_instrument_as(plain_csv)))


def rows_with(row: int, col: int, value: str) -> list[list[str]]:
    rows = csv_rows()
    rows[row][col] = value
    return rows


def csv_sidecar(case_id: str, sidecar: str | bytes | None, *names: str, directory: bool = False) -> Case:
    def build(ws: Workspace) -> list[str]:
        if directory:
            ws.directory("items.meta.yaml")
        elif sidecar is not None:
            ws.write("items.meta.yaml", sidecar)
        return validate(ws.write("items.csv", csv_text()))

    return Case(case_id, build, refused(*names))


def weighted_csv_with_stray_weight(ws: Workspace) -> list[str]:
    meta = {k: v for k, v in weighted_data().items() if k != "items"}
    ws.write("items.meta.yaml", yaml.safe_dump(meta))
    header = [*CSV_HEADER[:6], "weight_a", "weight_b", "weight_c", "weight_z"]
    rows = [[*r[:6], "0.2", "1", "0", "0.5"] for r in csv_rows()]
    return validate(ws.write("items.csv", csv_text(rows, header)))


LONG = "y" * 200_000
CSV_CASES = [
    csv_case("csv-plain", csv_text, Read(same_instrument_as(plain_yaml))),
    same_as_plain_csv("csv-bom-excel-utf8", lambda: "\ufeff" + csv_text()),
    same_as_plain_csv("csv-crlf", lambda: csv_text().replace("\n", "\r\n")),
    same_as_plain_csv("csv-bom-crlf-semicolon", lambda: "\ufeff" + csv_text(delimiter=";").replace("\n", "\r\n")),
    same_as_plain_csv("csv-semicolon-separated", lambda: csv_text(delimiter=";")),
    same_as_plain_csv("csv-tab-separated", lambda: csv_text(delimiter="\t")),
    same_as_plain_csv("csv-all-cells-quoted", lambda: "\n".join(",".join(f'"{c}"' for c in r) for r in [CSV_HEADER, *csv_rows()]) + "\n"),
    same_as_plain_csv("csv-blank-trailing-lines", lambda: csv_text() + "\n\n\n"),
    same_as_plain_csv("csv-excel-blank-trailing-rows", lambda: csv_text() + ",,,,,,\n" * 17),
    same_as_plain_csv("csv-no-final-newline", lambda: csv_text().rstrip("\n")),
    csv_case("csv-quoted-newline-in-stem", lambda: csv_text(rows_with(0, 1, "Line one\nline two")),
             kept("items.csv", "stem", "Line one\nline two")),
    csv_case("csv-quoted-crlf-in-stem", lambda: csv_text(rows_with(0, 1, "Line one\nline two")).replace("\n", "\r\n"),
             Read(item_text("items.csv", "q1", "stem", "Line one\nline two"))),
    csv_case("csv-u2028-in-cell", lambda: csv_text(rows_with(0, 1, "Line one\u2028line two")),
             kept("items.csv", "stem", "Line one\u2028line two")),
    csv_case("csv-200kB-cell", lambda: csv_text(rows_with(0, 1, LONG)), kept("items.csv", "stem", LONG)),
    csv_case("csv-fewer-options-empty-cell", lambda: csv_text(rows_with(0, 5, "")),
             Read(lambda ws, r: (validated_hash(r), _n_options(ws, 2)))),
    csv_refused("csv-empty-file", lambda: ""),
    csv_refused("csv-header-only", lambda: csv_text(rows=[]), "no rows|no items|item"),
    csv_refused("csv-not-utf8-cp1252", lambda: csv_text(rows_with(0, 1, "Café scene")).encode("cp1252"), "UTF-8"),
    same_as_plain_csv("csv-utf16-excel-unicode-text", lambda: csv_text(delimiter="\t").encode("utf-16")),
    csv_refused("csv-nul-byte-in-cell", lambda: csv_text(rows_with(0, 1, "Situation\x00one")), "q1|line 2|row 2", "stem|NUL"),
    csv_refused("csv-row-longer-than-header", lambda: csv_text().replace(",b\n", ",b,extra\n", 1), "line 2|row 2"),
    csv_refused("csv-first-row-much-longer", lambda: csv_text().replace(",b\n", ",b,x,y,z,w\n", 1), "line 2|row 2"),
    csv_refused("csv-duplicate-option-column", lambda: csv_text(header=[*CSV_HEADER[:5], "option_a", "key"]), "option_a"),
    csv_refused("csv-duplicate-item-id-column", lambda: csv_text(header=[*CSV_HEADER, "item_id"], rows=[[*r, "x" + r[0]] for r in csv_rows()]), "item_id"),
    csv_refused("csv-missing-item-id-column", lambda: csv_text(header=["id", *CSV_HEADER[1:]]), "item_id"),
    csv_refused("csv-missing-question-column", lambda: csv_text(header=["item_id", "stem", "q", *CSV_HEADER[3:]]), "question"),
    csv_refused("csv-no-option-columns", lambda: csv_text(header=["item_id", "stem", "question", "a", "b", "c", "key"]), "option"),
    csv_refused("csv-unknown-column", lambda: csv_text(header=[*CSV_HEADER[:6], "kye"]), "kye"),
    csv_refused("csv-extra-unknown-column", lambda: csv_text(header=[*CSV_HEADER, "stme"], rows=[[*r, "typo"] for r in csv_rows()]), "stme"),
    Case("csv-weight-for-no-option", weighted_csv_with_stray_weight, refused(r"items\.csv", "weight_z|z")),
    csv_refused("csv-key-not-an-option", lambda: csv_text(rows_with(1, 6, "z")), "q2", "key"),
    csv_refused("csv-key-names-empty-option", lambda: csv_text(rows_with(1, 4, "")), "q2", "key"),
    csv_refused("csv-human-p-text", lambda: csv_text(header=[*CSV_HEADER, "human_p"], rows=[[*r, "high"] for r in csv_rows()]), "human_p"),
    csv_refused("csv-human-p-percent", lambda: csv_text(header=[*CSV_HEADER, "human_p"], rows=[[*r, "72"] for r in csv_rows()]), "human_p"),
    csv_refused("csv-duplicate-item-ids", lambda: csv_text(rows_with(2, 0, "q1")), "q1", "duplicate"),
    csv_refused("csv-empty-item-id-mid-file", lambda: csv_text(rows_with(1, 0, "")), "row 3|line 3"),
    csv_refused("csv-one-option", lambda: csv_text(header=["item_id", "stem", "question", "option_b", "key"], rows=[r[:3] + [r[4], "b"] for r in csv_rows()]), "options"),
    csv_refused("csv-unclosed-quote", lambda: csv_text().replace("Situation 2", '"Situation 2', 1), "line|row"),
    csv_refused("csv-weight-text", lambda: csv_text(header=[*CSV_HEADER, "weight_a"], rows=[[*r, "lots"] for r in csv_rows()]), "weight"),
    csv_sidecar("csv-no-sidecar", None, r"items\.csv", r"items\.meta\.yaml"),
    csv_sidecar("csv-sidecar-empty", "", r"items\.meta\.yaml|items\.csv", "metadata|id|name"),
    csv_sidecar("csv-sidecar-directory", None, r"items\.meta\.yaml", directory=True),
    csv_sidecar("csv-sidecar-bad-yaml", "id: [mini\n", r"items\.meta\.yaml", r"line \d+"),
    csv_sidecar("csv-sidecar-is-list", "- id: mini\n", r"items\.meta\.yaml"),
    csv_sidecar("csv-sidecar-not-utf8", meta_yaml().replace("Mini test", "Mini tést").encode("latin-1"), r"items\.meta\.yaml", "UTF-8"),
    csv_sidecar("csv-sidecar-missing-scoring", meta_yaml().replace("scoring: keyed\n", ""), r"items", "scoring"),
    csv_sidecar("csv-sidecar-unknown-field", meta_yaml() + "scorign: keyed\n", r"items", "scorign"),
    csv_sidecar("csv-sidecar-alias-bomb", meta_yaml() + "x:\n  " + alias_bomb().replace("\n", "\n  "), r"items\.meta\.yaml", "alias"),
]  # fmt: skip


def _n_options(ws: Workspace, n: int) -> None:
    from eitest.instruments import load

    got = len(load(ws.path / "items.csv").item("q1").options)
    assert got == n, f"q1 read with {got} options, expected {n}"


FILE_CASES = [*YAML_CASES, *JSON_CASES, *CSV_CASES]
