"""Malformed norm, response, study and replication-design files: the cases of issue 15's corpus."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from malformed_cases import (
    Case,
    Outcome,
    Read,
    Workspace,
    alias_bomb,
    design_data,
    design_yaml,
    norm_data,
    norm_yaml,
    refused,
    responses_text,
    study_yaml,
)

# --------------------------------------------------------------------------- norm files: eitest analyze --norms


def analyze_with(ws: Workspace, norm: Path) -> list[str]:
    return ["analyze", "--db", str(ws.store()), "--norms", str(norm), "--boot", "100", "--json"]


def norm_case(case_id: str, content: str | bytes | Callable[[], str | bytes], expect: Outcome) -> Case:
    def build(ws: Workspace) -> list[str]:
        body = content() if callable(content) else content
        return analyze_with(ws, ws.write("norm.yaml", body))

    return Case(case_id, build, expect)


def norm_refused(case_id: str, content: str | bytes | Callable[[], str | bytes], *names: str) -> Case:
    return norm_case(case_id, content, refused(r"norm\.yaml", *names))


def norm_figures(**figures: Any) -> Callable[[], str]:
    return lambda: norm_yaml(**figures)


def norm_without(*path: str) -> Callable[[], str]:
    def text() -> str:
        data = norm_data()
        node: Any = data
        for p in path[:-1]:
            node = node[0] if p == "0" else node[p]
        del node[path[-1]]
        return yaml.safe_dump(data, sort_keys=False)

    return text


def norm_used(ws: Workspace, result: Any) -> None:
    """The norm's mean (0.6) was placed beside the mini instrument's score."""
    assert "test-norm" in result.stdout, "the analysis does not show the norm given with --norms"


def noted(instrument: str) -> Callable[[Workspace, Any], None]:
    def check(ws: Workspace, result: Any) -> None:
        notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
        assert any(instrument in line for line in notes), f"no note names the norm's instrument {instrument!r}"

    return check


NORM_CASES = [
    norm_case("norm-plain", norm_yaml, Read(norm_used)),
    norm_case("norm-bom", lambda: "\ufeff" + norm_yaml(), Read(norm_used)),
    norm_case("norm-instrument-typo", lambda: norm_yaml("minni"), Read(noted("minni"))),
    norm_refused("norm-empty-file", ""),
    Case("norm-directory", lambda ws: analyze_with(ws, ws.directory("norm.yaml")), refused(r"norm\.yaml", "director")),
    norm_refused("norm-not-utf8", lambda: norm_yaml().replace("A test", "Ä test").encode("latin-1"), "UTF-8"),
    norm_refused("norm-nul-byte", lambda: norm_yaml().replace("Table 1", "Table\x001", 1), "line"),
    norm_refused("norm-top-level-list", lambda: yaml.safe_dump(norm_data()["norms"])),
    norm_refused("norm-bad-yaml", lambda: norm_yaml() + "  - [\n", r"line \d+"),
    norm_refused("norm-missing-source", norm_without("source"), "source"),
    norm_refused("norm-missing-norms", norm_without("norms"), "norms"),
    norm_refused("norm-missing-citation", norm_without("source", "citation"), "citation"),
    norm_refused("norm-missing-instrument", norm_without("norms", "0", "instrument"), "instrument"),
    norm_refused("norm-mean-above-1", norm_figures(mean={"value": 1.5, "where": "T1"}), "mean"),
    norm_refused("norm-mean-text", norm_figures(mean={"value": "high", "where": "T1"}), "mean"),
    norm_refused("norm-mean-nan", norm_figures(mean={"value": float("nan"), "where": "T1"}), "mean"),
    norm_refused("norm-sd-negative", norm_figures(sd={"value": -0.1, "where": "T1"}), "sd"),
    norm_refused("norm-sd-inf", norm_figures(sd={"value": float("inf"), "where": "T1"}), "sd"),
    norm_refused("norm-n-fraction", norm_figures(n={"value": 20.5, "where": "T1"}), "n"),
    norm_refused("norm-n-zero", norm_figures(n={"value": 0, "where": "T1"}), "n"),
    norm_refused("norm-figure-not-mapping", norm_figures(n=207), "n"),
    norm_refused("norm-figure-without-where", norm_figures(mean={"value": 0.6}), "where"),
    norm_refused("norm-scale-unknown", norm_figures(scale="percent"), "scale"),
    norm_refused("norm-unknown-field", norm_figures(meen={"value": 0.6, "where": "T1"}), "meen"),
    norm_refused("norm-duplicate-key", lambda: norm_yaml().replace("  sample:", "  scale: raw\n  sample:", 1), "scale"),
    norm_refused("norm-alias-bomb", lambda: norm_yaml() + "extra:\n  " + alias_bomb().replace("\n", "\n  "), "alias"),
]

# --------------------------------------------------------------------------- response files: eitest norms build


def build_with(ws: Workspace, responses: Path) -> list[str]:
    return ["norms", "build", str(responses), "-i", str(ws.instrument()), "--out", str(ws.path / "built.yaml")]


def resp_case(case_id: str, content: str | bytes | Callable[[], str | bytes], expect: Outcome) -> Case:
    def build(ws: Workspace) -> list[str]:
        body = content() if callable(content) else content
        return build_with(ws, ws.write("answers.csv", body))

    return Case(case_id, build, expect)


def resp_refused(case_id: str, content: str | bytes | Callable[[], str | bytes], *names: str) -> Case:
    return resp_case(case_id, content, refused(r"answers\.csv", *names))


def six_participants(ws: Workspace, result: Any) -> None:
    built = yaml.safe_load((ws.path / "built.yaml").read_text(encoding="utf-8"))
    n = built["norms"][0]["n"]["value"]
    assert n == 6, f"the norm was built from {n} participants, the file has 6"


def answers(*rows: list[str]) -> Callable[[], str]:
    return lambda: responses_text(rows=[list(r) for r in rows])


RESPONSE_CASES = [
    resp_case("responses-plain", responses_text, Read(six_participants)),
    resp_case("responses-bom", lambda: "\ufeff" + responses_text(), Read(six_participants)),
    resp_case("responses-crlf", lambda: responses_text().replace("\n", "\r\n"), Read(six_participants)),
    resp_case("responses-semicolon", lambda: responses_text(";"), Read(six_participants)),
    resp_case("responses-tab", lambda: responses_text("\t"), Read(six_participants)),
    resp_case("responses-blank-trailing-rows", lambda: responses_text() + ",,,\n" * 5, Read(six_participants)),
    resp_refused("responses-empty-file", ""),
    resp_refused("responses-header-only", lambda: responses_text(rows=[]), "participant|no"),
    Case(
        "responses-directory",
        lambda ws: build_with(ws, ws.directory("answers.csv")),
        refused(r"answers\.csv", "director"),
    ),
    resp_refused("responses-not-utf8", lambda: responses_text().replace("P1", "Pé").encode("latin-1"), "UTF-8"),
    resp_refused("responses-nul-byte", lambda: responses_text().replace("P2", "P\x002"), "line 3|row 3"),
    resp_refused(
        "responses-row-longer-than-header", lambda: responses_text().replace("P1,b,b,a", "P1,b,b,a,c"), "line 2|row 2"
    ),
    resp_refused(
        "responses-unknown-item-column", lambda: responses_text(header=["participant", "q1", "q2", "q9"]), "q9"
    ),
    resp_refused("responses-duplicate-column", lambda: responses_text(header=["participant", "q1", "q1", "q3"]), "q1"),
    resp_refused(
        "responses-answer-not-an-option", answers(["P1", "b", "z", "a"], ["P2", "b", "b", "b"]), "line 2|row 2", "q2"
    ),
    resp_refused("responses-duplicate-participant", answers(["P1", "b", "b", "a"], ["P1", "b", "c", "b"]), "P1"),
    resp_refused(
        "responses-200kB-cell", answers(["P1", "b" * 200_000, "b", "a"], ["P2", "b", "b", "b"]), "line 2|row 2", "q1"
    ),
    resp_refused("responses-unclosed-quote", lambda: responses_text().replace("P3", '"P3'), "line|row"),
]


def forms_case(case_id: str, content: Callable[[], str | bytes], expect: Outcome) -> Case:
    def build(ws: Workspace) -> list[str]:
        from malformed_cases import mini_data

        orig = ws.instrument("orig.yaml", mini_data())
        gen_data = mini_data()
        gen_data["id"] = "mini-gen"
        for it in gen_data["items"]:
            it["id"] = "g" + it["id"]
        gen = ws.instrument("gen.yaml", gen_data)
        path = ws.write("paired.csv", content())
        return ["compare-forms", "--original", str(orig), "--generated", str(gen), "--responses", str(path), "--json"]

    return Case(case_id, build, expect)


def paired(delimiter: str = ",", extra: str = "") -> str:
    rows = [
        [f"P{n}", *a]
        for n, a in enumerate(
            ["bbabba", "bcbbcc", "abbabb", "bbbbbb", "cabcab", "bbcbba", "abcabc", "bbbabb", "cbbcbb", "babbab"], 1
        )
    ]
    return responses_text(delimiter, rows, ["participant", "q1", "q2", "q3", "gq1", "gq2", "gq3"]) + extra


def ten_pairs(ws: Workspace, result: Any) -> None:
    import json

    n = json.loads(result.stdout)["n"]
    assert n == 10, f"compared {n} participants, the file has 10"


FORMS_CASES = [
    forms_case("forms-plain", paired, Read(ten_pairs)),
    forms_case("forms-bom-semicolon", lambda: "\ufeff" + paired(";"), Read(ten_pairs)),
    forms_case("forms-empty-file", lambda: "", refused(r"paired\.csv")),
    forms_case("forms-not-utf8", lambda: paired().replace("P1,", "Pé,").encode("cp1252"), refused(r"paired\.csv", "UTF-8")),
    forms_case("forms-row-longer", lambda: paired().replace("P1,b,b,a,b,b,a", "P1,b,b,a,b,b,a,x"), refused(r"paired\.csv", "line 2|row 2")),
    forms_case("forms-unknown-column", lambda: paired().replace("gq3", "age", 1), refused(r"paired\.csv", "age")),
]  # fmt: skip

# --------------------------------------------------------------------------- study files: eitest run STUDY


def study_case(case_id: str, content: str | bytes | Callable[[], str | bytes], expect: Outcome, **kw: Any) -> Case:
    def build(ws: Workspace) -> list[str]:
        ws.instrument()
        body = content() if callable(content) else content
        return ["run", str(ws.write("study.yaml", body)), "--yes", "--db", str(ws.path / "s.db")]

    return Case(case_id, build, expect, **kw)


def study_refused(case_id: str, content: str | bytes | Callable[[], str | bytes], *names: str, **kw: Any) -> Case:
    return study_case(case_id, content, refused(r"study\.yaml", *names), **kw)


def trials_stored(n: int) -> Callable[[Workspace, Any], None]:
    def check(ws: Workspace, result: Any) -> None:
        import sqlite3

        with sqlite3.connect(ws.path / "s.db") as con:
            got = con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
        assert got == n, f"{got} trials stored, the study asks for {n}"

    return check


STUDY_CASES = [
    study_case("study-plain", study_yaml, Read(trials_stored(3))),
    study_case("study-bom", lambda: "\ufeff" + study_yaml(), Read(trials_stored(3))),
    study_refused("study-empty-file", ""),
    Case(
        "study-directory",
        lambda ws: ["run", str(ws.directory("study.yaml")), "--yes", "--db", str(ws.path / "s.db")],
        refused(r"study\.yaml", "director"),
    ),
    study_refused("study-not-utf8", lambda: (study_yaml() + "# café\n").encode("latin-1"), "UTF-8"),
    study_refused("study-nul-byte", lambda: study_yaml() + "seed: 1\x00\n", "line"),
    study_refused("study-top-level-list", "- eitest/oracle\n"),
    study_refused("study-bad-yaml", lambda: study_yaml() + "reps: [1\n", r"line \d+"),
    study_refused("study-unknown-field", lambda: study_yaml(repetitions=3), r"line \d+", "repetitions"),
    study_refused("study-models-is-string", lambda: study_yaml(models="eitest/oracle"), "models"),
    study_refused("study-models-empty", lambda: study_yaml(models=[]), "models"),
    study_refused("study-instruments-missing", lambda: "models: [eitest/oracle]\n", "instruments"),
    study_refused("study-reps-zero", lambda: study_yaml(reps=0), "reps"),
    study_refused("study-reps-text", lambda: study_yaml(reps="three"), "reps"),
    study_refused("study-reps-1e9", lambda: study_yaml(reps=1_000_000_000), "reps", subprocess=True),
    study_refused("study-temperature-5", lambda: study_yaml(temperature=5), "temperature"),
    study_refused("study-temperature-negative", lambda: study_yaml(temperature=-1), "temperature"),
    study_refused("study-temperature-nan", lambda: study_yaml() + "temperature: .nan\n", "temperature"),
    study_refused("study-concurrency-zero", lambda: study_yaml(concurrency=0), "concurrency"),
    study_refused("study-timeout-zero", lambda: study_yaml(timeout_s=0), "timeout"),
    study_refused("study-timeout-negative", lambda: study_yaml(timeout_s=-5), "timeout"),
    study_refused("study-max-cost-nan", lambda: study_yaml() + "max_cost: .nan\n", "max_cost"),
    study_refused("study-max-cost-negative", lambda: study_yaml(max_cost=-1), "max_cost"),
    study_refused("study-protocol-unknown", lambda: study_yaml(protocol="chain"), "protocol"),
    study_refused("study-option-order-unknown", lambda: study_yaml(option_order="random"), "option_order"),
    study_refused("study-seed-float", lambda: study_yaml(seed=1.5), "seed"),
    study_refused("study-duplicate-key", lambda: study_yaml() + "models: [eitest/chance]\n", "models"),
    study_refused("study-alias-bomb", lambda: study_yaml() + "x:\n  " + alias_bomb().replace("\n", "\n  "), "alias"),
    Case(
        "study-instrument-file-missing",
        lambda ws: ["run", str(ws.write("study.yaml", study_yaml(instruments=["nosuch.yaml"]))), "--yes"],
        refused(r"nosuch\.yaml"),
    ),
]

# --------------------------------------------------------------------------- replication designs: eitest replicate FILE


def design_case(case_id: str, content: str | bytes | Callable[[], str | bytes], *names: str) -> Case:
    def build(ws: Workspace) -> list[str]:
        body = content() if callable(content) else content
        path = ws.write("design.yaml", body)
        return ["replicate", str(path), "--dry-run", "--out", str(ws.path / "rep")]

    return Case(case_id, build, refused(r"design\.yaml", *names))


def design_with(**fields: Any) -> Callable[[], str]:
    return lambda: design_yaml(**fields)


def design_without(name: str) -> Callable[[], str]:
    return lambda: yaml.safe_dump({k: v for k, v in design_data().items() if k != name})


DESIGN_CASES = [
    design_case("design-empty-file", ""),
    Case(
        "design-directory",
        lambda ws: ["replicate", str(ws.directory("design.yaml")), "--dry-run", "--out", str(ws.path / "rep")],
        refused(r"design\.yaml", "director"),
    ),
    design_case("design-not-utf8", lambda: design_yaml().replace("A design", "A désign").encode("latin-1"), "UTF-8"),
    design_case("design-top-level-list", "- open-stem\n"),
    design_case("design-bad-yaml", lambda: design_yaml() + "tests: [\n", r"line \d+"),
    design_case("design-missing-tests", design_without("tests"), "tests"),
    design_case("design-tests-is-string", design_with(tests="open-stem"), "tests"),
    design_case("design-unknown-field", design_with(modles=[]), "modles"),
    design_case("design-reps-zero", design_with(design={"reps": 0}), "reps"),
    design_case("design-duplicate-key", lambda: design_yaml() + "title: Another\n", "title"),
    design_case("design-alias-bomb", lambda: design_yaml() + "x:\n  " + alias_bomb().replace("\n", "\n  "), "alias"),
]

DATA_CASES = [*NORM_CASES, *RESPONSE_CASES, *FORMS_CASES, *STUDY_CASES, *DESIGN_CASES]
