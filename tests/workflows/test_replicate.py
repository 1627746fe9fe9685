"""eitest replicate schlegel2025: missing tests explained; imported ones run, analysed and reported."""

from __future__ import annotations

from pathlib import Path

import yaml
from conftest import run_cli
from outputs.page_text import page_text

from eitest.workflows.replicate import availability, load_design


def _items(n: int, n_options: int, weighted: bool) -> list[dict]:
    # Placeholder items in the published tests' structure (not their texts).
    items = []
    for i in range(n):
        opts = [{"id": c, "text": f"Option {c} of item {i + 1}"} for c in "abcde"[:n_options]]
        item = {
            "id": f"x{i + 1:02d}",
            "stem": f"Situation number {i + 1}, written for this test.",
            "question": "Which fits best?",
            "options": opts,
        }
        if weighted:
            item["weights"] = {"a": 0.1, "b": 0.6, "c": 0.2, "d": 0.1}
        else:
            item["key"] = "abcde"[i % n_options]
        items.append(item)
    return items


def test_design_is_complete_and_cited():
    d = load_design("schlegel2025")
    assert [t.id for t in d.tests] == ["steu", "stem", "gemok-blends", "geco-regulation", "geco-management"]
    mapped = {m.paper_name: m.litellm for m in d.models}
    assert mapped["ChatGPT-4"] == "openai/gpt-4o" and mapped["ChatGPT-o1"] == "openai/o1"
    assert mapped["Copilot 365"] is None
    assert d.paper.llm_mean.value == 0.81 and d.paper.human_mean.value == 0.56 and d.paper.study2_n.value == 467
    assert "choice of this replication" in d.design.why.lower() or "replication" in d.design.why.lower()


def test_replicate_without_items_says_how_to_import(tmp_path: Path):
    res = run_cli(
        "replicate", "schlegel2025", "--models", "eitest/oracle", "eitest/chance", "--out", str(tmp_path / "r")
    )
    assert res.returncode == 2
    for test in ("steu", "stem", "gemok-blends", "geco-regulation", "geco-management"):
        assert f"eitest instruments import {test} FILE" in res.stderr
    assert "Copilot 365" in res.stderr and "Traceback" not in res.stderr


def test_replicate_runs_imported_tests(tmp_path: Path, eitest_home: Path):
    steu = tmp_path / "steu.yaml"
    steu.write_text(yaml.safe_dump({"items": _items(42, 5, weighted=False)}))
    stem = tmp_path / "stem.yaml"
    stem.write_text(yaml.safe_dump({"items": _items(12, 4, weighted=True)}))
    env = {"EITEST_HOME": str(eitest_home)}
    assert run_cli("instruments", "import", "steu", str(steu), env=env).returncode == 0
    assert run_cli("instruments", "import", "stem", str(stem), env=env).returncode == 0
    assert [s.available for s in availability(load_design("schlegel2025"))] == [True, True, False, False, False]
    # A lab's own STEM norm on the proportion-of-maximum scale; the STEU keeps only the shipped N and alpha.
    (eitest_home / "human_norms").mkdir(exist_ok=True)
    (eitest_home / "human_norms" / "lab.yaml").write_text(
        "source: {id: lab, citation: 'A lab (2026)', checked: test}\nnorms:\n  - instrument: stem\n    sample: lab\n"
        "    scoring: weighted\n    score: proportion_of_max\n    n: {value: 100, where: t}\n"
        "    mean: {value: 0.5, where: t}\n    sd: {value: 0.1, where: t}\n"
    )

    dry = run_cli(
        "replicate",
        "schlegel2025",
        "--dry-run",
        "--out",
        str(tmp_path / "dry"),
        env=env,
        unset=("OPENAI_API_KEY", "GEMINI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY"),
    )
    assert dry.returncode == 0, dry.stderr
    assert "openai/gpt-4o" in dry.stdout and "estimated cost $" in dry.stdout and "set OPENAI_API_KEY" in dry.stdout
    assert not (tmp_path / "dry" / "eitest.db").exists()

    out = tmp_path / "rep"
    res = run_cli(
        "replicate",
        "schlegel2025",
        "--models",
        "eitest/oracle",
        "eitest/chance",
        "--reps",
        "2",
        "--out",
        str(out),
        "--yes",
        env=env,
    )
    assert res.returncode == 0, res.stderr
    assert "MISSING" in res.stderr and "eitest instruments import gemok-blends FILE" in res.stderr
    html = (out / "report.html").read_text()
    assert "Comparison with Schlegel" in html
    assert "81.0%" in html and "56.0%" in html  # the paper's aggregates beside this run's
    assert "(2 of 5 tests;" in html and "(1 of 5 tests)" in html
    text = page_text(html)
    assert "the paper's aggregates cover 5 tests and this run's mean covers 2 (STEU, STEM)" in text
    # This run's means: each test on its comparison scale, the humans and the LLMs over the same tests.
    from eitest.scoring.analysis import analyze
    from eitest.stats import apa

    scores = analyze(out / "eitest.db", n_boot=200).scores.set_index(["instrument", "model"])
    assert scores.loc["stem", "norm_scale"].iloc[0] == "proportion_of_max"
    assert scores.loc["steu", "norm_scale"].iloc[0] == "proportion_correct"  # the shipped norm: N and alpha, no mean
    per_test = {t: scores.loc[t, "compared_mean"].mean() for t in ("steu", "stem")}
    # beside the paper's 81 % (a share correct), this run's share correct over the tests it ran
    share_correct = apa.percent((scores.loc["steu", "accuracy"].mean() + scores.loc["stem", "accuracy"].mean()) / 2)
    assert (
        f"Mean of the LLMs 81.0% Abstract: mean accuracy of the six LLMs across the five tests (81 %) {share_correct} correct (2 of 5 tests;"
        in text
    )
    assert "Human mean 56.0%" in text and "50.0% (1 of 5 tests) STEM" in text
    assert (
        f"Mean of the LLMs over the same tests as the human mean — {apa.percent(per_test['stem'])} (1 of 5 tests) STEM"
        in text
    )
    assert "GEMOK-Blends (gemok-blends)" in html  # named as not run
    assert "2 repetitions (the design's 3, changed with --reps)" in text  # the run's repetitions, not the design's
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
