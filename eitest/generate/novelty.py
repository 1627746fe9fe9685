"""Near-duplicate checks of new items against existing ones (used by :mod:`eitest.generate.drafting`).

Two measures, each on an item's stem + question:

- string similarity: ``rapidfuzz.fuzz.token_set_ratio`` after rapidfuzz's
  default processing (0-100; the open instruments' items reach at most ~71
  against each other);
- embedding similarity: cosine of the optional local model's embeddings
  (``eitest.client.local_model.embed``, all-MiniLM-L6-v2; the open instruments' items
  reach at most .62 against each other, a close paraphrase of an open-steu item
  in other words .83). Used only when that module and sentence-transformers are
  installed; otherwise skipped with a note.

An item is a near-duplicate when either measure reaches its threshold.
"""

from __future__ import annotations

from typing import Any

from eitest.instruments import Instrument, Item

DEFAULT_SIMILARITY_THRESHOLD = 85.0
DEFAULT_EMBEDDING_THRESHOLD = 0.80
SIMILARITY_METHOD = "rapidfuzz.token_set_ratio(stem + question)"


def similarity_text(item: Item) -> str:
    return f"{item.stem} {item.question}"


class DuplicateChecker:
    """Near-duplicate checks against the source items and the items accepted so far."""

    def __init__(self, source: Instrument, threshold: float, embedding_threshold: float, embeddings: bool = True):
        from rapidfuzz import utils

        self._process = utils.default_process
        self.threshold = threshold
        self.embedding_threshold = embedding_threshold
        self.pool: dict[str, str] = {it.id: self._process(similarity_text(it)) for it in source.items}
        self.notes: list[str] = []
        self._embed = _embedder(self.notes) if embeddings else None
        if not embeddings:
            self.notes.append("embedding similarity not used (turned off); string similarity was checked")
        self._vectors: dict[str, Any] = {}
        if self._embed is not None:
            try:
                self._add_vectors({it.id: similarity_text(it) for it in source.items})
            except Exception as exc:  # an optional model that fails to load must not stop generation
                self.notes.append(f"embedding similarity skipped: the local model failed ({type(exc).__name__}: {exc})")
                self._embed = None

    def _add_vectors(self, texts: dict[str, str]) -> None:
        import numpy as np

        if self._embed is None:
            return
        vecs = np.asarray(self._embed(list(texts.values())), dtype=np.float64)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        vecs = vecs / np.where(norms == 0, 1, norms)
        for key, vec in zip(texts, vecs, strict=True):
            self._vectors[key] = vec

    @property
    def uses_embeddings(self) -> bool:
        return self._embed is not None

    def check(self, item: Item) -> tuple[str | None, float | None, float | None]:
        """``(near_duplicate_of, string similarity, embedding similarity)``; the first is None when the item is new."""
        from rapidfuzz import fuzz, process

        text = self._process(similarity_text(item))
        best = process.extractOne(text, self.pool, scorer=fuzz.token_set_ratio, processor=None)
        match, score = (best[2], float(best[1])) if best else (None, None)
        emb_match, emb_score = None, None
        if self._embed is not None and self._vectors:
            import numpy as np

            vec = np.asarray(self._embed([similarity_text(item)]), dtype=float)[0]
            vec = vec / (np.linalg.norm(vec) or 1.0)
            keys = list(self._vectors)
            sims = np.stack([self._vectors[k] for k in keys]) @ vec
            i = int(np.argmax(sims))
            emb_match, emb_score = keys[i], float(sims[i])
        if score is not None and score >= self.threshold:
            return match, score, emb_score
        if emb_score is not None and emb_score >= self.embedding_threshold:
            return emb_match, score, emb_score
        return None, score, emb_score

    def add(self, item: Item) -> None:
        self.pool[item.id] = self._process(similarity_text(item))
        if self._embed is not None:
            self._add_vectors({item.id: similarity_text(item)})


def _embedder(notes: list[str]) -> Any:
    """``eitest.client.local_model.embed`` when the optional module and sentence-transformers are installed."""
    import importlib
    import importlib.util
    import sys

    skipped = "embedding similarity skipped: install the 'local' extra (eitest.client.local_model and sentence-transformers); string similarity was checked"
    try:
        local_model = importlib.import_module("eitest.client.local_model")
    except ImportError:
        notes.append(skipped)
        return None
    # Only look for sentence-transformers here: importing it (and torch) takes seconds, which embed() pays on first use.
    try:
        found = "sentence_transformers" in sys.modules or importlib.util.find_spec("sentence_transformers") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        notes.append(skipped)
        return None
    embed = getattr(local_model, "embed", None)
    if embed is None:
        notes.append("embedding similarity skipped: eitest.client.local_model has no embed(texts) function")
    return embed
