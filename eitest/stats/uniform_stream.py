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

MAX_CELLS = 16_000_000  # uniforms kept (128 MB): 2,000 designs x 8,000 answered trials; larger tests draw their own
_cache: dict[int, tuple[np.ndarray, dict[int, np.ndarray | None]]] = {}


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
    uniforms, by_options = _cache.get(seed, (np.zeros(0), {}))
    if uniforms.size < cells:
        uniforms = np.random.default_rng(seed).random(min(MAX_CELLS, max(cells, 2 * uniforms.size)))
        by_options = {}
        _cache.clear()  # one seed at a time: an analysis uses one
        _cache[seed] = (uniforms, by_options)
    if n_options not in by_options:
        drawn = (uniforms * n_options).astype(np.int8)
        by_options[n_options] = None if (drawn >= n_options).any() else drawn
    positions = by_options[n_options]
    return None if positions is None else positions[:cells].reshape(n_designs, n_trials)
