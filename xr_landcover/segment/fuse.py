"""Mode fusion: adjacent segments whose mean *filtered* values are close become one segment.

Mean shift moves every pixel to a mode of the joint density; the labelling joins neighbours
whose modes are nearly equal (``link_radius``) and the small-region merge absorbs the crumbs.
A field that converged to several close modes (noise, a slow ramp) then lies in several
segments; this step joins adjacent segments whose mean filtered values (their modes) are
closer than ``fuse_radius`` (EDISON's region fusion of adjacent regions with close modes).
It is the connected components of the segment adjacency graph under that test: the test uses
only the two segments' complete statistics (pixel count and exact integer sums of the
filtered values, :data:`.kernels.SUM_SCALE`), so the result depends neither on order nor on
the chunking, and the id of a fused segment is, as always, ``1 +`` the raster index of its
first pixel (the smallest of its parts' ids).

Why not join on the pixels: linking at ``spectral_radius / 2`` (Orfeo ToolBox's rule) chains
along the blurred rim of a faint field, whose filtered values run in small steps from field to
background, and fuses the two; segments compare whole modes, and the rim pixels have already
been taken by one side or the other.

Chunked work: :func:`block_fuse` (per block, after the small-region merge of :mod:`.merge`)
decides the pairs of segments final inside the block and hands on the pairs that involve a
*unit* (a segment the global step completes) with the statistics they need; :func:`global_fuse`
(in the global step) decides those and returns the final ids. Only the segments next to units
travel: a band one segment deep along the block faces.
"""

from __future__ import annotations

import numba
import numpy as np

from .kernels import SUM_SCALE, find_root

__all__ = ["slot_sums", "block_fuse", "global_fuse", "close_modes"]


@numba.njit(nogil=True, cache=True)
def slot_sums(slots, filtered, nslot):
    """Pixel count and exact scaled sums of the filtered values (bands only) of each slot.

    ``slots`` int32 (rows, cols), 0 = nodata, 1..nslot; ``filtered`` (rows, cols, bands + 2).
    Returns int64 (nslot,) and int64 (nslot, bands) (index ``slot - 1``).
    """
    nrow, ncol = slots.shape
    nb = filtered.shape[2] - 2
    cnt = np.zeros(nslot, dtype=np.int64)
    tot = np.zeros((nslot, nb), dtype=np.int64)
    for y in range(nrow):
        for x in range(ncol):
            s = slots[y, x]
            if s == 0:
                continue
            cnt[s - 1] += 1
            for k in range(nb):
                tot[s - 1, k] += np.int64(np.round(np.float64(filtered[y, x, k]) * SUM_SCALE))
    return cnt, tot


@numba.njit(nogil=True, cache=True)
def close_modes(cnt_a, tot_a, cnt_b, tot_b, radius2):
    """True when two segments' mean filtered values are closer than ``sqrt(radius2)``.

    The same arithmetic wherever it runs (a block or the global step), and symmetric.

    Examples
    --------
    >>> import numpy as np
    >>> from xr_landcover.segment.kernels import SUM_SCALE
    >>> a = np.array([10.0, 20.0, 30.0]) * 4 * SUM_SCALE  # 4 pixels of mode (10, 20, 30)
    >>> b = np.array([12.0, 20.0, 30.0]) * 2 * SUM_SCALE  # 2 pixels of mode (12, 20, 30)
    >>> bool(close_modes(4, a.astype(np.int64), 2, b.astype(np.int64), 2.5 ** 2))
    True
    >>> bool(close_modes(4, a.astype(np.int64), 2, b.astype(np.int64), 1.5 ** 2))
    False
    """
    d = 0.0
    for k in range(tot_a.shape[0]):
        diff = (np.float64(tot_a[k]) / cnt_a - np.float64(tot_b[k]) / cnt_b) / SUM_SCALE
        d += diff * diff
    return d < radius2


@numba.njit(nogil=True, cache=True)
def block_fuse(final_ids, pairs, cnt, tot, radius2):
    """Fuse the segments final inside a block; list what the global step must decide.

    Parameters
    ----------
    final_ids : int64 (nfinal,)
        Ids of the block's final segments (slots ``1..nfinal``).
    pairs : int64 (m, 2)
        Adjacent slot pairs (1-based slots, both non-zero, distinct).
    cnt, tot : from :func:`slot_sums` (all slots: final segments, then units).
    radius2 : float
        ``fuse_radius ** 2``.

    Returns
    -------
    new_ids : int64 (nfinal,)
        Each final segment's id after the local fusion: the smallest id of its local component.
    exposed : int64 (e, 2)
        ``(segment, unit)``: a final segment (0-based) next to a unit (0-based); the global
        step decides it.

    Examples
    --------
    Three final segments in a row (ids 1, 5, 9; modes 10, 11, 30) and a unit next to the
    last: the first two fuse (id 1), the third waits for the global step.

    >>> import numpy as np
    >>> from xr_landcover.segment.kernels import SUM_SCALE
    >>> cnt = np.array([4, 4, 4, 4])
    >>> tot = (np.array([[10.0], [11.0], [30.0], [31.0]]) * 4 * SUM_SCALE).astype(np.int64)
    >>> pairs = np.array([[1, 2], [2, 3], [3, 4]])
    >>> new_ids, exposed = block_fuse(np.array([1, 5, 9]), pairs, cnt, tot, 2.0 ** 2)
    >>> new_ids.tolist(), exposed.tolist()
    ([1, 1, 9], [[2, 0]])
    """
    nfinal = final_ids.shape[0]
    parent = np.arange(nfinal, dtype=np.int64)
    exposed = np.empty((pairs.shape[0], 2), dtype=np.int64)
    ne = 0
    for e in range(pairs.shape[0]):
        a = pairs[e, 0] - 1
        b = pairs[e, 1] - 1
        if a >= nfinal and b >= nfinal:
            continue
        if a >= nfinal or b >= nfinal:
            f, u = (a, b - nfinal) if b >= nfinal else (b, a - nfinal)
            exposed[ne, 0] = f
            exposed[ne, 1] = u
            ne += 1
            continue
        if close_modes(cnt[a], tot[a], cnt[b], tot[b], radius2):
            ra = find_root(parent, a)
            rb = find_root(parent, b)
            if ra != rb:
                if final_ids[rb] < final_ids[ra]:
                    ra, rb = rb, ra
                parent[rb] = ra
    new_ids = np.empty(nfinal, dtype=np.int64)
    for i in range(nfinal):
        new_ids[i] = final_ids[find_root(parent, i)]
    return new_ids, exposed[:ne].copy()


def global_fuse(unit_ids, unit_cnt, unit_tot, unit_pairs, seg_keys, seg_cnt, seg_tot, seg_units,
                radius2):
    """Fusion across the blocks: the final id of every unit and of every exposed component.

    Parameters
    ----------
    unit_ids : int64 (u,)
        Each unit's segment id after the small-region merge (units of one segment share it).
    unit_cnt, unit_tot : the units' pixel counts and filtered sums (:func:`slot_sums`).
    unit_pairs : int64 (k, 2)
        Adjacent units (global indices), inside blocks and across faces.
    seg_keys, seg_cnt, seg_tot, seg_units : int64 (e,), (e,), (e, bands), (e,)
        One row per (final segment, unit) adjacency: the id of the segment's local component
        (:func:`block_fuse`), the segment's own count and sums, the unit.
    radius2 : float

    Returns
    -------
    keys, fused : int64 (n,)
        The sorted keys (unit segment ids and exposed component ids) and the fused id of each.
    """
    nb = unit_tot.shape[1]
    seg_of, inv = np.unique(unit_ids, return_inverse=True)
    nseg = len(seg_of)
    cnt = np.zeros(nseg, dtype=np.int64)
    np.add.at(cnt, inv, unit_cnt)
    tot = np.zeros((nseg, nb), dtype=np.int64)
    np.add.at(tot, inv, unit_tot)
    keys = np.unique(np.concatenate([seg_of, seg_keys]))
    pairs = []
    if len(unit_pairs):
        a, b = inv[unit_pairs[:, 0]], inv[unit_pairs[:, 1]]
        keep = a != b
        a, b = a[keep], b[keep]
        ok = _close_rows(cnt[a], tot[a], cnt[b], tot[b], radius2)
        pairs.append(np.stack([seg_of[a[ok]], seg_of[b[ok]]], axis=1))
    if len(seg_keys):
        b = inv[seg_units]
        ok = _close_rows(seg_cnt, seg_tot, cnt[b], tot[b], radius2)
        pairs.append(np.stack([seg_keys[ok], seg_of[b[ok]]], axis=1))
    pairs = np.concatenate(pairs + [np.zeros((0, 2), np.int64)])
    root = _components(np.searchsorted(keys, pairs), len(keys))
    return keys, keys[root]


@numba.njit(nogil=True, cache=True)
def _close_rows(cnt_a, tot_a, cnt_b, tot_b, radius2):
    out = np.empty(cnt_a.shape[0], dtype=np.bool_)
    for i in range(cnt_a.shape[0]):
        out[i] = close_modes(cnt_a[i], tot_a[i], cnt_b[i], tot_b[i], radius2)
    return out


@numba.njit(nogil=True, cache=True)
def _components(pairs, n):
    """Root (the smallest index, i.e. the smallest key) of each of ``n`` nodes."""
    parent = np.arange(n, dtype=np.int64)
    for e in range(pairs.shape[0]):
        a = find_root(parent, pairs[e, 0])
        b = find_root(parent, pairs[e, 1])
        if a != b:
            if b < a:
                a, b = b, a
            parent[b] = a
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = find_root(parent, i)
    return out
