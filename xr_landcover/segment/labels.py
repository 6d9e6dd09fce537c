"""Region labels that are global and independent of the chunking, built the dask-image way.

1. Per block (:func:`block_stage`): mean-shift filter the interior, label its 4-connected
   regions with the LSMS joining rule (union-find), and run the small-region merging passes
   inside the block (:func:`.merge.local_merge`): regions whose fate provably does not depend on
   other blocks are final there; the others become *units*. The block keeps only small tables
   (the units' state, their adjacency, the locally decided unions, the four edge rows/columns)
   and its per-pixel slots, zlib-compressed (a few hundred kB for a 1024² block).
2. Once (:func:`solve_regions`): offset the unit indices to be unique, join the units that meet
   across block faces (same rule, same arithmetic as inside a block), replay the merging passes
   on the units (:func:`.merge.global_merge`) and give each final segment the id
   ``1 + raster index of its first pixel``: the same ids for any chunking.
3. Per block (:func:`relabel_block`): a lookup table turns slots into final ids, uint32
   (uint64 past 4,294,967,295 pixels: :func:`segment_id_dtype`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from . import kernels
from .fuse import block_fuse, global_fuse, slot_sums
from .merge import global_merge, local_merge

__all__ = ["BlockResult", "block_stage", "solve_regions", "relabel_block", "segment_id_dtype"]


def segment_id_dtype(height: int, width: int) -> np.dtype:
    """The dtype of the segment ids of a ``height`` x ``width`` image: uint32, or uint64 when
    an id (``1 +`` a raster index, at most ``height * width``) does not fit in 32 bits.

    uint32 is the widest integer GeoTIFF type that GIS tools commonly read (QGIS, ArcGIS and
    OTB read uint32 label images; many cannot read 64-bit integers); it holds the ids of any
    image up to 4,294,967,295 pixels (65,535 x 65,537).

    Examples
    --------
    >>> segment_id_dtype(40000, 40000), segment_id_dtype(65536, 65536)
    (dtype('uint32'), dtype('uint64'))
    """
    fits = int(height) * int(width) <= np.iinfo(np.uint32).max
    return np.dtype(np.uint32) if fits else np.dtype(np.uint64)


@dataclass
class BlockResult:
    """What one block hands to the global pass (small tables) and to the relabel step."""

    shape: tuple  # (rows, cols) of the block
    slots: bytes  # zlib-compressed int32 (rows, cols): 0 nodata, 1.. final ids / units
    final_ids: np.ndarray  # int64 (nfinal,), ids of the segments final inside the block
    nunits: int
    unit_cnt: np.ndarray  # int64 (u,)
    unit_sum: np.ndarray  # int64 (u, bands), exact scaled sums (kernels.SUM_SCALE)
    unit_first: np.ndarray  # int64 (u,), raster index of the unit's first pixel
    unit_entry: np.ndarray  # int64 (u,), pass at which the unit enters the global replay
    unit_skip: np.ndarray  # bool (u,), decided locally at its entry pass
    unit_edges: np.ndarray  # int64 (k, 2), adjacent units (unique)
    forced: np.ndarray  # int64 (f, 3), (pass, unit, unit) unions decided locally
    # Edge rows/columns of the filtered block (values + displacement) and their units (-1 none).
    top: np.ndarray
    bottom: np.ndarray
    left: np.ndarray
    right: np.ndarray
    top_units: np.ndarray
    bottom_units: np.ndarray
    left_units: np.ndarray
    right_units: np.ndarray
    # Mode fusion (:mod:`.fuse`); empty when fuse_radius is 0.
    unit_fcnt: np.ndarray  # int64 (u,), pixels of each unit
    unit_ftot: np.ndarray  # int64 (u, bands), exact scaled sums of its filtered values
    fuse_keys: np.ndarray  # int64 (e,), per (final segment, unit) adjacency: component id
    fuse_cnt: np.ndarray  # int64 (e,), the final segment's pixels
    fuse_tot: np.ndarray  # int64 (e, bands), its filtered sums
    fuse_units: np.ndarray  # int64 (e,), the unit (block index)


def _unique_pairs(pairs: np.ndarray, n: int) -> np.ndarray:
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    lo = np.minimum(pairs[:, 0], pairs[:, 1])
    hi = np.maximum(pairs[:, 0], pairs[:, 1])
    key = np.unique(lo * (n + 1) + hi)
    return np.stack([key // (n + 1), key % (n + 1)], axis=1).astype(np.int64)


def block_stage(halo, r0, r1, c0, c1, row0, col0, shape, hs, hr, maxiter, threshold, joint,
                min_segment_size, link_radius, fuse_radius):
    """Filter, label, merge locally and summarise one block (via :func:`.tiles.map_overlap_blocks`).

    ``shape`` is the image's (rows, cols); 4-neighbours join when their filtered values are
    closer than ``link_radius`` (``hr / 2`` by default) and their displacements closer
    than ``hs / 2``; then adjacent segments whose mean filtered values are closer than
    ``fuse_radius`` fuse (:mod:`.fuse`; 0: no fusion).
    """
    height, width = shape
    halo = np.ascontiguousarray(halo, dtype=np.float32)
    valid_halo = np.isfinite(halo).all(axis=-1)
    filtered = kernels.mean_shift_block(halo, valid_halo, r0, r1, c0, c1, float(hs), float(hr),
                                        int(maxiter), float(threshold), bool(joint))
    valid = valid_halo[r0:r1, c0:c1]
    del valid_halo
    labels, n = kernels.label_block(filtered, valid, float(link_radius) ** 2,
                                     (hs / 2.0) ** 2)
    img = np.ascontiguousarray(halo[r0:r1, c0:c1])
    del halo
    counts, sums, first, pairs = kernels.block_region_tables(labels, n, img, row0, col0, width)
    del img
    edges = _unique_pairs(pairs - 1, n)
    del pairs
    rows, cols = labels.shape
    touch = np.zeros(n + 1, dtype=bool)
    if row0 > 0:
        touch[labels[0]] = True
    if row0 + rows < height:
        touch[labels[-1]] = True
    if col0 > 0:
        touch[labels[:, 0]] = True
    if col0 + cols < width:
        touch[labels[:, -1]] = True
    (slot, final_ids, unit_cnt, unit_sum, unit_first, unit_entry, unit_skip, unit_edges,
     forced) = local_merge(counts, sums, first, edges, touch[1:], int(min_segment_size))
    table = np.zeros(n + 1, dtype=np.int32)
    table[1:] = slot
    slots = table[labels]
    del labels
    nfinal = len(final_ids)
    nb = filtered.shape[2] - 2
    nunits = len(unit_cnt)
    fuse = _no_fusion(nb)
    if fuse_radius > 0:
        fcnt, ftot = slot_sums(slots, filtered, nfinal + nunits)
        spairs = slot[edges]
        spairs = _unique_pairs(spairs[spairs[:, 0] != spairs[:, 1]], nfinal + nunits + 1)
        final_ids, exposed = block_fuse(final_ids, spairs, fcnt, ftot, float(fuse_radius) ** 2)
        f = exposed[:, 0]
        fuse = dict(unit_fcnt=fcnt[nfinal:], unit_ftot=ftot[nfinal:], fuse_keys=final_ids[f],
                    fuse_cnt=fcnt[f], fuse_tot=ftot[f], fuse_units=exposed[:, 1])

    def units(edge):
        return np.where(edge > nfinal, edge.astype(np.int64) - nfinal - 1, -1)

    return BlockResult(
        shape=(rows, cols), slots=zlib.compress(slots.tobytes(), 1), final_ids=final_ids,
        nunits=len(unit_cnt), unit_cnt=unit_cnt, unit_sum=unit_sum, unit_first=unit_first,
        unit_entry=unit_entry, unit_skip=unit_skip,
        unit_edges=_unique_pairs(unit_edges, len(unit_cnt)), forced=forced,
        top=filtered[0].copy(), bottom=filtered[-1].copy(),
        left=filtered[:, 0].copy(), right=filtered[:, -1].copy(),
        top_units=units(slots[0]), bottom_units=units(slots[-1]),
        left_units=units(slots[:, 0]), right_units=units(slots[:, -1]), **fuse,
    )


def _no_fusion(nb):
    empty = np.zeros(0, np.int64)
    return dict(unit_fcnt=empty, unit_ftot=np.zeros((0, nb), np.int64), fuse_keys=empty,
                fuse_cnt=empty, fuse_tot=np.zeros((0, nb), np.int64), fuse_units=empty)


def solve_regions(grid, hs, link_radius, min_segment_size, fuse_radius):
    """The small global pass: from the grid of :class:`BlockResult` to per-block lookup tables.

    Regions meet across block faces by the same joining test as inside the blocks
    (``link_radius``, ``hs / 2``).

    Returns a nested list (same shape as ``grid``) of ``(unit_ids, keys, fused)``: the final
    id of each unit of the block, and the fused id of each of its exposed components
    (:mod:`.fuse`; empty without fusion).
    """
    nrow, ncol = len(grid), len(grid[0])
    offsets = np.zeros((nrow, ncol), dtype=np.int64)
    total = 0
    for i in range(nrow):
        for j in range(ncol):
            offsets[i, j] = total
            total += grid[i][j].nunits
    flat = [grid[i][j] for i in range(nrow) for j in range(ncol)]
    offs = [int(offsets[i, j]) for i in range(nrow) for j in range(ncol)]
    nb = flat[0].unit_sum.shape[1]
    cnt = np.concatenate([b.unit_cnt for b in flat] + [np.zeros(0, np.int64)])
    tot = np.concatenate([b.unit_sum for b in flat] + [np.zeros((0, nb), np.int64)])
    fst = np.concatenate([b.unit_first for b in flat] + [np.zeros(0, np.int64)])
    entry = np.concatenate([b.unit_entry for b in flat] + [np.zeros(0, np.int64)])
    skip = np.concatenate([b.unit_skip for b in flat] + [np.zeros(0, bool)])
    forced = [b.forced + np.array([0, off, off]) for b, off in zip(flat, offs)]
    forced = np.concatenate(forced + [np.zeros((0, 3), np.int64)])

    hr_half2, hs_half2 = float(link_radius) ** 2, (hs / 2.0) ** 2
    joined, adjacent = [], []
    for i in range(nrow):
        for j in range(ncol):
            b, off = grid[i][j], int(offsets[i, j])
            if len(b.unit_edges):
                adjacent.append(b.unit_edges + off)
            faces = []
            if i + 1 < nrow:
                below = grid[i + 1][j]
                faces.append((b.bottom, _shift(b.bottom_units, off), below.top,
                              _shift(below.top_units, int(offsets[i + 1, j]))))
            if j + 1 < ncol:
                right = grid[i][j + 1]
                faces.append((b.right, _shift(b.right_units, off), right.left,
                              _shift(right.left_units, int(offsets[i, j + 1]))))
            for fa, la, fb, lb in faces:
                jn, ad = kernels.face_links(fa, la, fb, lb, hr_half2, hs_half2)
                joined.append(jn)
                adjacent.append(ad)
    joined = np.concatenate(joined + [np.zeros((0, 2), np.int64)])
    adjacent = np.concatenate(adjacent + [np.zeros((0, 2), np.int64)])
    ids = global_merge(cnt, tot, fst, entry, skip, adjacent, joined, forced,
                       int(min_segment_size))
    empty = np.zeros(0, np.int64)
    block_keys = [[empty for _ in range(ncol)] for _ in range(nrow)]
    block_fused = [[empty for _ in range(ncol)] for _ in range(nrow)]
    if fuse_radius > 0:
        keys, fused = global_fuse(
            ids, np.concatenate([b.unit_fcnt for b in flat] + [empty]),
            np.concatenate([b.unit_ftot for b in flat] + [np.zeros((0, nb), np.int64)]),
            adjacent, np.concatenate([b.fuse_keys for b in flat] + [empty]),
            np.concatenate([b.fuse_cnt for b in flat] + [empty]),
            np.concatenate([b.fuse_tot for b in flat] + [np.zeros((0, nb), np.int64)]),
            np.concatenate([b.fuse_units + off for b, off in zip(flat, offs)] + [empty]),
            float(fuse_radius) ** 2)
        ids = fused[np.searchsorted(keys, ids)]
        for i in range(nrow):
            for j in range(ncol):
                k = np.unique(grid[i][j].fuse_keys)
                block_keys[i][j] = k
                block_fused[i][j] = fused[np.searchsorted(keys, k)]
    return [[(ids[int(offsets[i, j]):int(offsets[i, j]) + grid[i][j].nunits],
              block_keys[i][j], block_fused[i][j])
             for j in range(ncol)] for i in range(nrow)]


def _shift(units: np.ndarray, offset: int) -> np.ndarray:
    """Block unit indices (-1 = none) to global ones."""
    return np.where(units >= 0, units + offset, -1)


def relabel_block(block: BlockResult, lut, dtype=np.uint32) -> np.ndarray:
    """Final segment ids of one block (``dtype``, :func:`segment_id_dtype`; 0 = nodata).

    ``lut`` is the block's entry of :func:`solve_regions`.
    """
    unit_ids, keys, fused = lut
    slots = np.frombuffer(zlib.decompress(block.slots), dtype=np.int32).reshape(block.shape)
    final_ids = block.final_ids
    if len(keys):
        pos = np.minimum(np.searchsorted(keys, final_ids), len(keys) - 1)
        final_ids = np.where(keys[pos] == final_ids, fused[pos], final_ids)
    table = np.concatenate([np.zeros(1, np.int64), final_ids, unit_ids])
    return table.astype(dtype)[slots]
