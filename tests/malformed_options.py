"""Bad option values and damaged stores, for every command: the cases of issue 15's corpus."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import yaml
from malformed_cases import Case, Read, Workspace, design_yaml, mini_data, refused, responses_text


def run_args(ws: Workspace, *extra: str, instrument: str | None = None) -> list[str]:
    inst = str(ws.instrument()) if instrument is None else instrument
    return ["run", "-m", "eitest/oracle", "-i", inst, "--yes", "--db", str(ws.path / "s.db"), *extra]


def run_refused(case_id: str, extra: Sequence[str], *names: str, **kw: Any) -> Case:
    return Case(case_id, lambda ws: run_args(ws, *extra), refused(*names), **kw)


# Stores that are not what they claim to be.
def random_bytes(ws: Workspace) -> str:
    return str(ws.write("store.db", os.urandom(8192)))


def truncated(ws: Workspace) -> str:
    path = ws.store()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return str(path)


def read_only(ws: Workspace) -> str:
    path = ws.store()
    path.chmod(0o444)
    return str(path)


def zero_bytes(ws: Workspace) -> str:
    return str(ws.write("store.db", b""))


def not_eitest(ws: Workspace) -> str:
    path = ws.path / "store.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE notes (x TEXT)")
    return str(path)


def under_a_file(ws: Workspace, name: str = "out.html") -> str:
    ws.write("plain-file", "not a folder")
    return str(ws.path / "plain-file" / name)


STORES: dict[str, Callable[[Workspace], str]] = {
    "random-bytes": random_bytes,
    "truncated": truncated,
    "zero-bytes": zero_bytes,
    "not-an-eitest-store": not_eitest,
}


def store_cases() -> list[Case]:
    commands: dict[str, Callable[[Workspace, str], list[str]]] = {
        "run": lambda ws, db: ["run", "-m", "eitest/oracle", "-i", str(ws.instrument()), "--yes", "--db", db],
        "analyze": lambda ws, db: ["analyze", "--db", db, "--boot", "100"],
        "report": lambda ws, db: ["report", "--db", db, "--out", str(ws.path / "r.html")],
        "export": lambda ws, db: ["export", "--db", db, "--format", "csv", "--out", str(ws.path / "x")],
        "runs-list": lambda ws, db: ["runs", "list", "--db", db],
    }
    cases = []
    for cmd, args in commands.items():
        for kind, make in STORES.items():
            if kind == "zero-bytes" and cmd == "run":
                continue  # an empty file is a fine place to start a new store
            cases.append(
                Case(
                    f"{cmd}-db-{kind}", lambda ws, a=args, m=make: a(ws, m(ws)), refused(r"store\.db", "store|database")
                )
            )
        cases.append(
            Case(
                f"{cmd}-db-directory",
                lambda ws, a=args: a(ws, str(ws.directory("store.db"))),
                refused(r"store\.db", "director"),
            )
        )
    cases.append(
        Case("run-db-read-only", lambda ws: run_args(ws)[:-1] + [read_only(ws)], refused(r"store\.db", "read-only|permission"), root_defeats=True)
    )  # fmt: skip
    cases.append(
        Case("run-db-under-a-file", lambda ws: run_args(ws)[:-1] + [under_a_file(ws, "s.db")], refused("plain-file"))
    )
    for cmd in ("analyze", "runs-list"):
        cases.append(
            Case(f"{cmd}-db-missing", lambda ws, a=commands[cmd]: a(ws, str(ws.path / "none.db")), refused(r"none\.db"))
        )
    return cases


def collapsed(ws: Workspace, result: Any) -> None:
    with sqlite3.connect(ws.path / "s.db") as con:
        got = con.execute("SELECT COUNT(*) FROM trials").fetchone()[0]
    assert got == 3, f"{got} trials stored for 1 model x 3 items (a repeated value was not collapsed)"


def shown_literally(text: str) -> Callable[[Workspace, Any], None]:
    def check(ws: Workspace, result: Any) -> None:
        assert text in result.stdout + result.stderr, f"{text!r} is not shown as written"

    return check


def no_escape_bytes(ws: Workspace, result: Any) -> None:
    out = result.stdout + result.stderr
    assert "\x1b" not in out and "\x07" not in out, "control characters from the instrument reached the terminal"


def odd_instrument(ws: Workspace, **fields: Any) -> str:
    data = {**mini_data(), **fields}
    return str(ws.write("odd.yaml", yaml.safe_dump(data, allow_unicode=True)))


def many_options_run(n: int) -> Case:
    def build(ws: Workspace) -> list[str]:
        data = mini_data()
        ids = [f"o{k}" for k in range(1, n + 1)]
        for it in data["items"]:
            it["options"] = [{"id": o, "text": f"Feeling number {o}"} for o in ids]
            it["key"] = ids[-1]
        return run_args(ws, instrument=str(ws.write("many.yaml", yaml.safe_dump(data))))

    def every_option_shown(ws: Workspace, result: Any) -> None:
        import json

        with sqlite3.connect(ws.path / "s.db") as con:
            prompts = [r[0] for r in con.execute("SELECT prompt FROM trials")]
        assert prompts, "no trial stored"
        for p in prompts:
            text = "\n".join(m["content"] for m in json.loads(p))
            missing = [k for k in range(1, n + 1) if f"Feeling number o{k}\n" not in text + "\n"]
            assert not missing, f"options {missing} are not in the prompt"

    expect = Read(every_option_shown) if n <= 26 else refused("many.yaml", "26 at most")
    return Case(f"run-{n}-options-keyed-last", build, expect)


def option_line_forgery(ws: Workspace) -> list[str]:
    data = mini_data()
    data["items"][0]["options"][0]["text"] = "Feeling A\nB) Forged option"
    return run_args(ws, instrument=str(ws.write("forge.yaml", yaml.safe_dump(data))))


def no_forged_line(ws: Workspace, result: Any) -> None:
    import json

    with sqlite3.connect(ws.path / "s.db") as con:
        prompts = [json.loads(r[0]) for r in con.execute("SELECT prompt FROM trials WHERE item_id = 'q1'")]
    text = "\n".join(m["content"] for m in prompts[0])
    assert "\nB) Forged option" not in text, "an option text forged an option line in the prompt"


OTHER = [
    ("analyze-boot-below-minimum", ["analyze", "--boot", "5"], "boot"),
    ("analyze-run-unknown", ["analyze", "--run", "nosuchrun"], "nosuchrun"),
    ("report-out-under-a-file", ["report", "--out", "@under"], "plain-file"),
    ("report-pdf-under-a-file", ["report", "--out", "@html", "--pdf", "@under"], "plain-file"),
    ("report-pdf-directory", ["report", "--out", "@html", "--pdf", "@dir"], "pdfdir"),
    ("report-out-directory", ["report", "--out", "@dir"], "pdfdir"),
    ("export-out-under-a-file", ["export", "--format", "csv", "--out", "@under"], "plain-file"),
    ("export-out-is-a-file", ["export", "--format", "csv", "--out", "@file"], "plain-file"),
    ("export-format-unknown", ["export", "--format", "xlsx", "--out", "@html"], "format"),
    ("runs-show-unknown", ["runs", "show", "nosuchrun"], "nosuchrun"),
]


def store_command(case_id: str, args: list[str], name: str, **kw: Any) -> Case:
    def build(ws: Workspace) -> list[str]:
        db = str(ws.store())
        subs = {
            "@under": lambda: under_a_file(ws),
            "@html": lambda: str(ws.path / "r.html"),
            "@dir": lambda: str(ws.directory("pdfdir")),
            "@file": lambda: str(ws.write("plain-file", "x")),
        }
        return [*[subs[a]() if a in subs else a for a in args], "--db", db]

    return Case(case_id, build, refused(name), **kw)


def design(ws: Workspace) -> str:
    return str(ws.write("design.yaml", design_yaml()))


def norms_build(ws: Workspace, *extra: str) -> list[str]:
    answers = ws.write("answers.csv", responses_text())
    return ["norms", "build", str(answers), "-i", str(ws.instrument()), *extra]


def forms(ws: Workspace, *extra: str) -> list[str]:
    path = ws.write("p.csv", "participant,q1,q2,q3,q1b\nP1,a,b,c,a\n")
    inst = str(ws.instrument())
    return ["compare-forms", "--original", inst, "--generated", inst, "--responses", str(path), *extra]


OPTION_CASES = [
    run_refused("run-temperature-5", ["--temperature", "5"], "--temperature|temperature"),
    run_refused("run-temperature-negative", ["--temperature", "-1"], "temperature"),
    run_refused("run-temperature-nan", ["--temperature", "nan"], "temperature"),
    run_refused("run-temperature-inf", ["--temperature", "inf"], "temperature"),
    run_refused("run-max-cost-nan", ["--max-cost", "nan"], "max-cost|max_cost"),
    run_refused("run-max-cost-negative", ["--max-cost", "-1"], "max-cost|max_cost"),
    run_refused("run-timeout-zero", ["--timeout", "0"], "timeout"),
    run_refused("run-timeout-negative", ["--timeout", "-5"], "timeout"),
    run_refused("run-timeout-nan", ["--timeout", "nan"], "timeout"),
    run_refused("run-reps-zero", ["--reps", "0"], "reps"),
    run_refused("run-reps-1e9", ["--reps", "1000000000"], "reps", subprocess=True),
    run_refused("run-concurrency-zero", ["--concurrency", "0"], "concurrency"),
    run_refused("run-max-tokens-zero", ["--max-tokens", "0"], "max-tokens"),
    run_refused("run-retries-negative", ["--retries", "-1"], "retries"),
    run_refused("run-seed-text", ["--seed", "abc"], "seed"),
    run_refused("run-protocol-unknown", ["--protocol", "chain"], "protocol"),
    run_refused("run-model-empty", ["--model", ""], "model"),
    run_refused("run-model-unknown-provider", ["--model", "nosuchprovider/x"], "nosuchprovider"),
    Case("run-instrument-empty", lambda ws: run_args(ws, instrument=""), refused("instrument")),
    Case("run-instrument-unknown", lambda ws: run_args(ws, instrument="no-such-test"), refused("no-such-test")),
    Case("run-instrument-directory", lambda ws: run_args(ws, instrument=str(ws.directory("inst.yaml"))), refused(r"inst\.yaml")),
    Case("run-model-repeated", lambda ws: run_args(ws, "-m", "eitest/oracle"), Read(collapsed)),
    Case("run-instrument-repeated", lambda ws: run_args(ws, "-i", str(ws.path / "mini.yaml")), Read(collapsed)),
    Case("run-instrument-id-rich-markup", lambda ws: run_args(ws, instrument=odd_instrument(ws, id="mini[/]x")),
         Read(shown_literally("mini[/]x"))),
    Case("run-model-rich-markup", lambda ws: run_args(ws, "-m", "eitest/oracle[/]"), refused(r"eitest/oracle\[/\]")),
    Case("run-instrument-name-ansi-osc", lambda ws: run_args(ws, instrument=odd_instrument(ws, id="mini-ansi", name="Mini \x1b]0;owned\x07\x1b[31mred")),
         Read(no_escape_bytes)),
    Case("instruments-show-name-ansi", lambda ws: ["instruments", "show", odd_instrument(ws, name="Mini \x1b[2J\x1b[31mred")],
         Read(no_escape_bytes)),
    many_options_run(12),
    many_options_run(30),
    Case("run-option-text-forges-a-line", option_line_forgery, Read(no_forged_line)),
    *[store_command(cid, args, name) for cid, args, name in OTHER],
    Case("norms-build-out-directory", lambda ws: norms_build(ws, "--out", str(ws.directory("o"))), refused("o")),
    Case("norms-build-out-under-a-file", lambda ws: norms_build(ws, "--out", under_a_file(ws, "n.yaml")), refused("plain-file")),
    Case("norms-build-items-out-under-a-file", lambda ws: norms_build(ws, "--out", str(ws.path / "n.yaml"), "--items-out", under_a_file(ws, "i.yaml")), refused("plain-file")),
    Case("norms-build-instrument-unknown", lambda ws: ["norms", "build", str(ws.write("a.csv", responses_text())), "-i", "nosuch"], refused("nosuch")),
    Case("compare-forms-bound-zero", lambda ws: forms(ws, "--bound", "0"), refused("bound")),
    Case("compare-forms-bound-nan", lambda ws: forms(ws, "--bound", "nan"), refused("bound")),
    Case("compare-forms-alpha-nan", lambda ws: forms(ws, "--alpha", "nan"), refused("alpha")),
    Case("survey-out-under-a-file", lambda ws: ["survey", "export", "-i", str(ws.instrument()), "--format", "csv", "--out", under_a_file(ws, "s.csv")], refused("plain-file")),
    Case("survey-out-directory", lambda ws: ["survey", "export", "-i", str(ws.instrument()), "--format", "html", "--out", str(ws.directory("sv"))], refused("sv")),
    Case("replicate-reps-zero", lambda ws: ["replicate", design(ws), "--reps", "0", "--dry-run", "--out", str(ws.path / "r")], refused("reps")),
    Case("replicate-concurrency-zero", lambda ws: ["replicate", design(ws), "--concurrency", "0", "--dry-run", "--out", str(ws.path / "r")], refused("concurrency")),
    Case("replicate-max-cost-nan", lambda ws: ["replicate", design(ws), "--max-cost", "nan", "--dry-run", "--out", str(ws.path / "r")], refused("max-cost")),
    Case("replicate-unknown-design", lambda ws: ["replicate", "nosuchpaper", "--dry-run", "--out", str(ws.path / "r")], refused("nosuchpaper")),
    Case("demo-out-under-a-file", lambda ws: ["demo", "--out", under_a_file(ws, "d"), "--no-pdf", "--reps", "1"], refused("plain-file")),
    Case("generate-n-zero", lambda ws: ["generate", "-i", str(ws.instrument()), "--n", "0", "--out", str(ws.path / "g.yaml"), "-m", "eitest/oracle"], refused("--n|n")),
    *store_cases(),
]  # fmt: skip
