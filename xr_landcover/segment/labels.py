"""Region labels that are global and independent of the chunking, built the dask-image way.

1. Per block (:func:`block_stage`): mean-shift filter the interior, label its 4-connected
   regions with the LSMS joining rule (union-find), and keep small tables: per-region counts,
   sums and first pixel, adjacent pairs, and the four edge rows/columns of the block.
2. Once (:func:`solve_regions`): offset the block labels to be unique, join the regions that
   meet across block faces (same rule, same arithmetic as inside a block), run connected
   components on that small graph, merge small regions (:mod:`.merge`), and give each final
   segment the id ``1 + raster index of its first pixel``: the same ids for any chunking.
3. Per block (:func:`relabel_block`): a lookup table turns local labels into final ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from . import kernels
from .merge import merge_regions

__all__ = ["BlockResult", "block_stage", "solve_regions", "relabel_block"]


@dataclass
class BlockResult:
    """What one block hands to the global pass (tables) and to the relabel step (labels)."""

    labels: np.ndarray  # int32 (rows, cols), local labels 1..n, 0 = nodata
    nlabels: int
    counts: np.ndarray  # int64 (n,)
    sums: np.ndarray  # int64 (n, bands), exact scaled sums (kernels.SUM_SCALE)
    first: np.ndarray  # int64 (n,), raster index of each region's first pixel
    pairs: np.ndarray  # int64 (m, 2), adjacent local labels
    # Edge rows/columns of the filtered block (values + displacement) and of the labels.
    top: np.ndarray
    bottom: np.ndarray
    left: np.ndarray
    right: np.ndarray
    top_labels: np.ndarray
    bottom_labels: np.ndarray
    left_labels: np.ndarray
    right_labels: np.ndarray


def block_stage(halo, r0, r1, c0, c1, row0, col0, width, hs, hr, maxiter, threshold, joint):
    """Filter, label and summarise one block (called by :func:`.tiles.map_overlap_blocks`)."""
    halo = np.ascontiguousarray(halo, dtype=np.float32)
    valid_halo = np.isfinite(halo).all(axis=-1)
    filtered = kernels.mean_shift_block(halo, valid_halo, r0, r1, c0, c1, float(hs), float(hr),
                                        int(maxiter), float(threshold), bool(joint))
    valid = valid_halo[r0:r1, c0:c1]
    labels, n = kernels.label_block(filtered, valid, (hr / 2.0) ** 2, (hs / 2.0) ** 2)
    img = np.ascontiguousarray(halo[r0:r1, c0:c1])
    counts, sums, first, pairs = kernels.block_region_tables(labels, n, img, row0, col0, width)
    return BlockResult(
        labels=labels, nlabels=int(n), counts=counts, sums=sums, first=first, pairs=pairs,
        top=filtered[0].copy(), bottom=filtered[-1].copy(),
        left=filtered[:, 0].copy(), right=filtered[:, -1].copy(),
        top_labels=labels[0].copy(), bottom_labels=labels[-1].copy(),
        left_labels=labels[:, 0].copy(), right_labels=labels[:, -1].copy(),
    )


@numba.njit(nogil=True, cache=True)
def _face_links(fa, la, fb, lb, hr_half2, hs_half2):
    """Pairs across a block face: (joined pairs, adjacent-only pairs) of global region indices.

    ``fa``/``fb`` are the facing rows (n, bands + 2); ``la``/``lb`` their global region indices
    (-1 = nodata). The joining test is :func:`kernels.joins`, as inside blocks.
    """
    n = la.shape[0]
    stacked = np.empty((2, n, fa.shape[1]), dtype=np.float32)
    stacked[0] = fa
    stacked[1] = fb
    joined = np.empty((n, 2), dtype=np.int64)
    adjacent = np.empty((n, 2), dtype=np.int64)
    nj = 0
    na = 0
    for i in range(n):
        if la[i] < 0 or lb[i] < 0:
            continue
        if kernels.joins(stacked, 0, i, 1, i, hr_half2, hs_half2):
            joined[nj, 0] = la[i]
            joined[nj, 1] = lb[i]
            nj += 1
        else:
            adjacent[na, 0] = la[i]
            adjacent[na, 1] = lb[i]
            na += 1
    return joined[:nj].copy(), adjacent[:na].copy()


def _global(local: np.ndarray, offset: int) -> np.ndarray:
    """Local labels (1.., 0 = nodata) to global region indices (offset.., -1 = nodata)."""
    local = local.astype(np.int64)
    return np.where(local > 0, local - 1 + offset, -1)


def solve_regions(grid, hs, hr, min_segment_size):
    """The small global pass: from the grid of :class:`BlockResult` to per-block lookup tables.

    Returns a nested list (same shape as ``grid``) of int64 arrays ``lut`` with ``lut[0] = 0``
    and ``lut[k]`` the final segment id of local label ``k``.
    """
    nrow, ncol = len(grid), len(grid[0])
    offsets = np.zeros((nrow, ncol), dtype=np.int64)
    total = 0
    for i in range(nrow):
        for j in range(ncol):
            offsets[i, j] = total
            total += grid[i][j].nlabels
    flat = [grid[i][j] for i in range(nrow) for j in range(ncol)]
    nb = flat[0].sums.shape[1]
    counts = np.concatenate([b.counts for b in flat]) if total else np.zeros(0, np.int64)
    sums = (np.concatenate([b.sums for b in flat]) if total
            else np.zeros((0, nb), np.int64))
    first = np.concatenate([b.first for b in flat]) if total else np.zeros(0, np.int64)

    hr_half2, hs_half2 = (hr / 2.0) ** 2, (hs / 2.0) ** 2
    joined, adjacent = [], []
    for i in range(nrow):
        for j in range(ncol):
            b, off = grid[i][j], int(offsets[i, j])
            if b.pairs.size:
                adjacent.append(b.pairs - 1 + off)
            faces = []
            if i + 1 < nrow:
                below = grid[i + 1][j]
                faces.append((b.bottom, _global(b.bottom_labels, off), below.top,
                              _global(below.top_labels, int(offsets[i + 1, j]))))
            if j + 1 < ncol:
                right = grid[i][j + 1]
                faces.append((b.right, _global(b.right_labels, off), right.left,
                              _global(right.left_labels, int(offsets[i, j + 1]))))
            for fa, la, fb, lb in faces:
                jn, ad = _face_links(fa, la, fb, lb, hr_half2, hs_half2)
                joined.append(jn)
                adjacent.append(ad)

    joined = np.concatenate(joined) if joined else np.zeros((0, 2), np.int64)
    adjacent = np.concatenate(adjacent) if adjacent else np.zeros((0, 2), np.int64)

    # Regions that meet across faces are one region: connected components of a small graph.
    graph = scipy.sparse.coo_matrix(
        (np.ones(len(joined), dtype=np.int8), (joined[:, 0], joined[:, 1])), shape=(total, total)
    )
    ncomp, comp = scipy.sparse.csgraph.connected_components(graph, directed=False)
    comp = comp.astype(np.int64)

    final_index = merge_regions(comp, ncomp, counts, sums, first, adjacent, min_segment_size)
    # final_index: per pre-region, the id of its final segment (1 + raster index of first pixel)
    luts = []
    for i in range(nrow):
        row = []
        for j in range(ncol):
            off, n = int(offsets[i, j]), grid[i][j].nlabels
            lut = np.zeros(n + 1, dtype=np.int64)
            lut[1:] = final_index[off:off + n]
            row.append(lut)
        luts.append(row)
    return luts


def relabel_block(block: BlockResult, lut: np.ndarray) -> np.ndarray:
    """Final segment ids of one block (int64, 0 = nodata)."""
    return lut[block.labels]
