"""The uniform draws of one seed, made once and shared by every randomization test that starts from that seed.

Each position-bias test starts ``numpy.random.default_rng(seed)`` afresh with the
analysis' one seed, and a shuffled design draws its re-shuffles as consecutive
uniforms of that stream (``rng.random((designs, trials))``, chunk after chunk). So
every model x test reads a prefix of the same stream: drawn once, and once turned into
positions per option count, the 250 tests of 50 models x 5 tests no longer draw two
billion numbers. The values are exactly those each test would draw itself.
"""

from __future__ import annotations

import numpy as np

MAX_CELLS = (
    16_000_000  # positions kept per option count (16 MB): 2,000 designs x 8,000 trials; larger tests draw their own
)
_BLOCK = 1_000_000  # uniforms drawn at a time: the stream is the same drawn in consecutive blocks
_cache: dict[tuple[int, int], np.ndarray] = {}  # (seed, options) -> positions, int8


def shuffled_positions(seed: int, n_designs: int, n_trials: int, n_options: int) -> np.ndarray | None:
    """The chosen positions ``floor(u * n_options)`` of ``n_designs`` re-drawn designs of ``n_trials`` trials each.

    ``u`` are the first ``n_designs * n_trials`` uniforms of ``default_rng(seed)``, laid
    out design by design: the positions ``(rng.random((n_designs, n_trials)) *
    n_options).astype(int)`` gives. Returns an ``int8`` array (designs x trials), or None
    when the draws are more than :data:`MAX_CELLS` (or a draw rounded up to
    ``n_options``), for the caller to draw them itself.
    """
    cells = n_designs * n_trials
    if cells > MAX_CELLS or not 1 < n_options < 128:
        return None
    kept = _cache.get((seed, n_options))
    if kept is None or kept.size < cells:
        kept = _positions(seed, n_options, min(MAX_CELLS, max(cells, 2 * (0 if kept is None else kept.size))))
        if kept is None:
            return None
        for key in [k for k in _cache if k[0] != seed]:  # one seed at a time: an analysis uses one
            del _cache[key]
        _cache[(seed, n_options)] = kept
    return kept[:cells].reshape(n_designs, n_trials)


def _positions(seed: int, n_options: int, size: int) -> np.ndarray | None:
    rng = np.random.default_rng(seed)
    out = np.empty(size, dtype=np.int8)
    for start in range(0, size, _BLOCK):
        block = rng.random(min(_BLOCK, size - start))
        out[start : start + block.size] = (block * n_options).astype(np.int8)  # the int64 truncation, for 0..k
    return None if (out >= n_options).any() else out
