"""The shape of one malformed-input case of issue 15, and what each case's input is built from.

A case is (name, how to build the input, the eitest command to run, the expected
outcome). The corpus lives in ``malformed_files.py`` and ``malformed_options.py``; the
runner is ``test_malformed_inputs.py``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from conftest import instrument_data


@dataclass(frozen=True)
class Refused:
    """A clear refusal: exit 2, an "Error:" line, no traceback, and every pattern of ``names`` in stderr.

    ``names`` are regular expressions: the file's basename, and the row, line, field or option
    where that applies.
    """

    names: tuple[str, ...]


@dataclass(frozen=True)
class Read:
    """Read correctly: exit 0, then ``check`` asserts what was read (raises AssertionError if not)."""

    check: Callable[[Workspace, Any], None]


Outcome = Refused | Read


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Workspace], Sequence[str]]  # writes the input, returns the eitest arguments
    expect: Outcome
    subprocess: bool = False  # run through the real entry point (bounded memory), not CliRunner
    root_defeats: bool = False  # the malformation is a permission that root ignores


def refused(*names: str) -> Refused:
    return Refused(tuple(names))


@dataclass
class Workspace:
    """A case's own folder; ``store()`` gives a copy of a finished store of the mini instrument."""

    path: Path
    store_template: Callable[[], Path] | None = None

    def write(self, name: str, content: str | bytes) -> Path:
        p = self.path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_bytes(content.encode("utf-8"))
        return p

    def directory(self, name: str) -> Path:
        p = self.path / name
        p.mkdir(parents=True, exist_ok=True)
        return p

    def store(self, name: str = "store.db") -> Path:
        assert self.store_template is not None, "this case needs the finished store"
        dest = self.path / name
        shutil.copy(self.store_template(), dest)
        return dest

    def instrument(self, name: str = "mini.yaml", data: dict | None = None) -> Path:
        return self.write(name, yaml.safe_dump(data or mini_data(), sort_keys=False, allow_unicode=True))


# --------------------------------------------------------------------------- the inputs' good versions


def mini_items(n: int = 3, options: str = "abc", key: str = "b") -> list[dict[str, Any]]:
    return [
        {
            "id": f"q{i}",
            "stem": f"Situation {i}: a friend moves away.",
            "question": "What does Mira feel?",
            "options": [{"id": o, "text": f"Feeling {o.upper()}"} for o in options],
            "key": key,
        }
        for i in range(1, n + 1)
    ]


def mini_data(**fields: Any) -> dict[str, Any]:
    data = instrument_data("mini", mini_items(), name="Mini test")
    items = data.pop("items")
    return {**data, **fields, "items": items}


def weighted_data() -> dict[str, Any]:
    items = mini_items()
    for it in items:
        del it["key"]
        it["weights"] = {"a": 0.2, "b": 1.0, "c": 0.0}
    return instrument_data("mini-weighted", items, name="Mini weighted", scoring="weighted")


def mini_yaml(**fields: Any) -> str:
    return yaml.safe_dump(mini_data(**fields), sort_keys=False, allow_unicode=True)


def meta_yaml() -> str:
    return yaml.safe_dump({k: v for k, v in mini_data().items() if k != "items"}, sort_keys=False)


CSV_HEADER = ["item_id", "stem", "question", "option_a", "option_b", "option_c", "key"]


def csv_rows(n: int = 3) -> list[list[str]]:
    return [
        [f"q{i}", f"Situation {i}: a friend moves away.", "What does Mira feel?", *FEEL, "b"] for i in range(1, n + 1)
    ]


FEEL = ["Feeling A", "Feeling B", "Feeling C"]


def csv_text(rows: list[list[str]] | None = None, header: list[str] | None = None, delimiter: str = ",") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header or CSV_HEADER)
    w.writerows(csv_rows() if rows is None else rows)
    return buf.getvalue()


def json_text(data: Any | None = None) -> str:
    return json.dumps(mini_data() if data is None else data, ensure_ascii=False)


def alias_bomb(levels: int = 5, width: int = 10) -> str:
    """A billion-laughs YAML block (``width ** levels`` leaves), small enough to expand in memory today."""
    lines = ['l0: &l0 "lol"']
    for n in range(1, levels + 1):
        lines.append(f"l{n}: &l{n} [{', '.join(f'*l{n - 1}' for _ in range(width))}]")
    return "\n".join(lines) + "\n"


def norm_data(instrument: str = "mini", **figures: Any) -> dict[str, Any]:
    norm = {
        "instrument": instrument,
        "sample": "Written for this test",
        "scale": "proportion",
        "n_items": 3,
        "n": {"value": 200, "where": "Table 1"},
        "mean": {"value": 0.6, "where": "Table 1"},
        "sd": {"value": 0.15, "where": "Table 1"},
        **figures,
    }
    return {"source": {"id": "test-norm", "citation": "A test norm (2026)."}, "norms": [norm]}


def norm_yaml(instrument: str = "mini", **figures: Any) -> str:
    return yaml.safe_dump(norm_data(instrument, **figures), sort_keys=False)


def responses_text(delimiter: str = ",", rows: list[list[str]] | None = None, header: list[str] | None = None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    w.writerow(header or ["participant", "q1", "q2", "q3"])
    answers = ["bba", "bcb", "abb", "bbb", "cab", "bbc"]
    w.writerows(rows if rows is not None else [[f"P{n}", *a] for n, a in enumerate(answers, start=1)])
    return buf.getvalue()


def study_yaml(**fields: Any) -> str:
    data = {"models": ["eitest/oracle"], "instruments": ["mini.yaml"], **fields}
    return yaml.safe_dump(data, sort_keys=False)


def design_data(**fields: Any) -> dict[str, Any]:
    return {
        "id": "mini-design",
        "title": "A design written for this test",
        "citation": "Nobody (2026). A test.",
        "tests": [{"id": "open-stem", "paper_name": "STEM"}],
        "models": [{"paper_name": "Oracle", "litellm": "eitest/oracle"}],
        **fields,
    }


def design_yaml(**fields: Any) -> str:
    return yaml.safe_dump(design_data(**fields), sort_keys=False)


# --------------------------------------------------------------------------- what was read


def validated_hash(result: Any) -> str:
    """The hash prefix ``eitest instruments validate`` printed for the one file it checked."""
    m = re.search(r": ok \(([^,]+), (\d+) items, hash ([0-9a-f]{12})\)", result.stdout)
    assert m, f"validate printed no 'ok' line: {result.stdout!r}"
    return m.group(3)


def same_instrument_as(plain: Callable[[Workspace], Path]) -> Callable[[Workspace, Any], None]:
    """The file read gives the same instrument (same content hash) as its plain version."""

    def check(ws: Workspace, result: Any) -> None:
        from eitest.instruments import load

        expected = load(plain(ws)).content_hash[:12]
        got = validated_hash(result)
        assert got == expected, f"read as a different instrument: hash {got}, the plain file gives {expected}"

    return check


def item_text(path_name: str, item: str, field_name: str, expected: str) -> Callable[[Workspace, Any], None]:
    """Validation passed and ``field_name`` of ``item`` was read exactly as ``expected``."""

    def check(ws: Workspace, result: Any) -> None:
        from eitest.instruments import load

        validated_hash(result)
        got = getattr(load(ws.path / path_name).item(item), field_name)
        assert got == expected, f"{item}.{field_name} read as {got[:80]!r}..., expected {expected[:80]!r}..."

    return check
