"""Small-region merging on the in-memory region graph (OTB ``SmallRegionsMerging`` rule).

The graph comes from per-block reductions (counts, exact sums, first pixels, adjacent pairs);
the image itself is never needed here. Each region of exactly ``s`` pixels, for
``s = 1 .. min_segment_size - 1``, merges into the 4-adjacent region with the nearest mean
(on the mean-shift input image; ties to the smallest id), all decisions of a pass taken on the
state at its start (:func:`.kernels.merge_small_regions`).
"""

from __future__ import annotations

import numba
import numpy as np

from .kernels import merge_small_regions

__all__ = ["merge_regions", "region_tables"]


@numba.njit(nogil=True, cache=True)
def region_tables(comp, ncomp, counts, sums, first):
    """Aggregate pre-region tables into region tables (``comp`` maps pre-region -> region)."""
    nb = sums.shape[1]
    rc = np.zeros(ncomp, dtype=np.int64)
    rs = np.zeros((ncomp, nb), dtype=np.int64)
    rf = np.full(ncomp, np.iinfo(np.int64).max, dtype=np.int64)
    for i in range(comp.shape[0]):
        c = comp[i]
        rc[c] += counts[i]
        for k in range(nb):
            rs[c, k] += sums[i, k]
        if first[i] < rf[c]:
            rf[c] = first[i]
    return rc, rs, rf


def _unique_edges(comp: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Map pre-region pairs to region pairs; drop self-pairs and repeats; ``a < b``."""
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    a, b = comp[pairs[:, 0]], comp[pairs[:, 1]]
    keep = a != b
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    key = np.unique(lo * (int(comp.max()) + 1) + hi)
    n = int(comp.max()) + 1
    return np.stack([key // n, key % n], axis=1).astype(np.int64)


def merge_regions(comp, ncomp, counts, sums, first, pairs, min_segment_size) -> np.ndarray:
    """Final segment id of every pre-region: ``1 + raster index of the segment's first pixel``.

    Parameters
    ----------
    comp : int64 (n,)
        Region (connected component) of each pre-region.
    ncomp : int
        Number of regions.
    counts, sums, first : per pre-region tables (see :func:`.kernels.block_region_tables`).
    pairs : int64 (m, 2)
        Adjacent pre-region pairs.
    min_segment_size : int
        Regions smaller than this are merged (1 = no merging).

    Returns
    -------
    int64 (n,)
    """
    if len(comp) == 0:
        return np.zeros(0, dtype=np.int64)
    rc, rs, rf = region_tables(comp, ncomp, counts, sums, first)
    edges = _unique_edges(comp, pairs)
    roots = merge_small_regions(rc, rs, rf, edges, int(min_segment_size))
    seg_first = np.full(ncomp, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(seg_first, roots, rf)
    return seg_first[roots[comp]] + 1
