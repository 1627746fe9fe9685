from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import REPO, run_cli

from eitest.instruments import InstrumentError, norms


@pytest.mark.parametrize("path", sorted((REPO / "human_norms").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_norm_files_load_and_every_figure_is_cited(path: Path):
    nf = norms.load_norm_file(path)
    assert nf.source.citation and nf.source.checked
    for n in nf.norms:
        for name in norms.FIGURES:
            fig = getattr(n, name)
            if fig.value is not None:
                assert fig.where, f"{path.name}: {n.instrument}.{name} has no 'where'"


def test_known_figures_on_file():
    every = norms.all_norms()
    steu_b = next(n for n in every if n.instrument == "steu-b")
    assert steu_b.value("n") == 822 and steu_b.value("alpha") == 0.63
    stem_b = next(n for n in every if n.instrument == "stem-b")
    assert stem_b.value("n") == 900 and stem_b.value("alpha") == 0.84
    steu = [n for n in every if n.instrument == "steu" and n.value("n") == 207]
    assert steu and steu[0].value("alpha") == 0.71
    agg = next(n for n in every if n.instrument == "all")
    assert agg.value("mean") == pytest.approx(0.56)


def _norm_file(**norm) -> dict:
    base = {"instrument": "open-steu", "sample": "test sample", "scale": "proportion"}
    return {"source": {"id": "t", "citation": "Test (2026)"}, "norms": [{**base, **norm}]}


def test_uncited_or_impossible_figures_are_refused():
    with pytest.raises(InstrumentError, match="must say where"):
        norms.parse_norm_file(_norm_file(mean={"value": 0.6}), "n.yaml")
    with pytest.raises(InstrumentError, match="not a proportion"):
        norms.parse_norm_file(_norm_file(mean={"value": 56, "where": "T1"}), "n.yaml")
    with pytest.raises(InstrumentError, match="norm #1 \\(open-steu\\): colour: unknown field"):
        norms.parse_norm_file(_norm_file(colour="red"), "n.yaml")


def test_raw_scale_converts_with_item_count(tmp_path: Path):
    nf = norms.parse_norm_file(
        _norm_file(
            scale="raw",
            n_items=40,
            mean={"value": 24, "where": "T1"},
            sd={"value": 4, "where": "T1"},
            n={"value": 100, "where": "M"},
        ),
        "n.yaml",
    )
    n = nf.norms[0]
    assert n.as_proportion("mean") == pytest.approx(0.6)
    assert n.as_proportion("sd") == pytest.approx(0.1)
    assert n.missing() == []
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(_norm_file(mean={"value": 0.6, "where": "p. 3"})))
    mine = norms.norm_for("open-steu", extra=[path])
    assert mine.value("mean") == 0.6 and mine.missing() == ["sd", "n"]


def test_cli_norms_list_and_show():
    res = run_cli("norms", "list", "--json")
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert any(r["instrument"] == "stem-b" and r["n"] == 900 for r in rows)
    res = run_cli("norms", "show", "steu-b")
    assert res.returncode == 0 and "822" in res.stdout and "not on file" in res.stdout
    res = run_cli("norms", "show", "nothing-like-this")
    assert res.returncode == 2
