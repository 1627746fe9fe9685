"""The uniform draws of one seed, made once and shared by every randomization test that starts from that seed.

Each position-bias test starts ``numpy.random.default_rng(seed)`` afresh with the
analysis' one seed, and a shuffled design draws its re-shuffles as consecutive
uniforms of that stream (``rng.random((designs, trials))``, chunk after chunk). So
every model x test reads a prefix of the same stream: drawn once, and once turned into
positions per option count, the 250 tests of 50 models x 5 tests no longer draw two
billion numbers. The values are exactly those each test would draw itself.

A test needs only how many of each design's draws fall at each position. Those counts
are differences of running counts along the stream (:func:`shuffled_counts`), kept once
per option count, so a test costs a few thousand look-ups instead of a pass over its
millions of draws.
"""

from __future__ import annotations

import numpy as np

MAX_CELLS = (
    16_000_000  # positions kept per option count (16 MB): 2,000 designs x 8,000 trials; larger tests draw their own
)
_BLOCK = 1_000_000  # uniforms drawn at a time: the stream is the same drawn in consecutive blocks
_cache: dict[tuple[int, int], np.ndarray] = {}  # (seed, options) -> positions, int8
# (seed, options) -> (the positions they count, their running counts every _STEP draws): see _checkpoints
_running: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
_STEP = 16  # draws between two kept running counts (int32, k - 1 per step: about the draws' own memory); <= 15 counted per end


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


def shuffled_counts(seed: int, n_designs: int, n_trials: int, n_options: int) -> np.ndarray | None:
    """How many of each design's draws of :func:`shuffled_positions` fall at each position: ``int64``, designs x options.

    Row ``d``, column ``j`` is ``(shuffled_positions(...)[d] == j).sum()``, read as the
    difference of the running counts at the design's two ends. None where
    :func:`shuffled_positions` gives None.
    """
    if shuffled_positions(seed, n_designs, n_trials, n_options) is None:
        return None
    kept = _cache[(seed, n_options)]
    counted, checkpoints = _running.get((seed, n_options), (None, None))
    if counted is not kept or checkpoints is None:  # the draws were made again (more of them, or another seed)
        for key in [k for k, (c, _) in _running.items() if _cache.get(k) is not c]:  # counts of draws let go
            del _running[key]
        checkpoints = _checkpoints(kept, n_options)
        _running[(seed, n_options)] = (kept, checkpoints)
    before = _counts_before(kept, checkpoints, np.arange(n_designs + 1) * n_trials, n_options)
    counts = np.empty((n_designs, n_options), dtype=np.int64)
    counts[:, :-1] = np.diff(before, axis=0)
    counts[:, -1] = n_trials - counts[:, :-1].sum(axis=1)  # every draw is below n_options
    return counts


def _checkpoints(positions: np.ndarray, n_options: int) -> np.ndarray:
    """Row ``i``, column ``j``: draws at position ``j`` among ``positions[: i * _STEP]``, for j < n_options - 1."""
    blocks = positions[: positions.size // _STEP * _STEP].reshape(-1, _STEP)
    out = np.zeros((blocks.shape[0] + 1, n_options - 1), dtype=np.int32)  # MAX_CELLS fits
    for j in range(n_options - 1):
        np.cumsum(np.count_nonzero(blocks == j, axis=1), out=out[1:, j])
    return out


def _counts_before(positions: np.ndarray, checkpoints: np.ndarray, ends: np.ndarray, n_options: int) -> np.ndarray:
    """Row ``e``, column ``j``: draws at position ``j`` among ``positions[: ends[e]]``: the checkpoint, then the rest."""
    start = ends // _STEP
    out = checkpoints[start].astype(np.int64)
    offsets = np.arange(_STEP)
    beyond = start[:, None] * _STEP + offsets
    inside = offsets < (ends - start * _STEP)[:, None]  # the draws between the checkpoint and the end
    rest = positions[np.minimum(beyond, positions.size - 1)]
    for j in range(n_options - 1):
        out[:, j] += np.count_nonzero((rest == j) & inside, axis=1)
    return out
