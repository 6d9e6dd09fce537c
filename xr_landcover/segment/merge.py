"""Small-region merging (OTB ``SmallRegionsMerging`` rule), mostly inside the blocks.

The rule: for ``s = 1 .. min_segment_size - 1``, every region of exactly ``s`` pixels merges
into the 4-adjacent region with the nearest mean (on the mean-shift input image; ties to the
neighbour whose first pixel comes first), all decisions of a pass taken on the state at its
start, then applied (chains and mutual choices become one region). The result depends neither
on order nor on tiling.

Most of this work is local. :func:`local_merge` runs the passes inside one block on the block's
regions and keeps every decision that provably does not depend on anything outside the block;
the rest becomes *units* handed to the global pass, :func:`global_merge`, which replays the
passes on those units only. A region is *tainted* (its future depends on the outside) when

* it touches the block's edge towards another block (it may continue there), from the start;
* at pass ``s`` it has ``s`` pixels and a tainted neighbour (its choice needs that neighbour's
  unknown mean), or a neighbour that may have ``s`` pixels and choose it: a tainted neighbour
  whose known size (a lower bound: sizes only grow) is at most ``s``, or an untainted neighbour
  of the first kind;
* it is linked by this pass's decisions to such a region (the union's outcome is unknown).

A region tainted at pass ``s`` becomes a unit with its exact state at the start of that pass
(size, exact sums, first pixel) and *enters* the global replay at ``s``; its own decision, when it
made one that pass from exact information, travels with it as a forced union. Units never come
back; regions never tainted are final inside the block. Every region that the global replay needs
at pass ``s`` (the neighbours of a region deciding there) has entered by ``s``, so the replay
gives exactly the whole-image result while holding only the units: a band along the block
edges, a few regions deep, instead of every region of the image.
"""

from __future__ import annotations

import numba
import numpy as np

from .kernels import find_root

__all__ = ["local_merge", "global_merge"]


@numba.njit(nogil=True, cache=True, inline="always")
def _dist2(tot, cnt, a, b):
    d = 0.0
    for k in range(tot.shape[1]):
        diff = np.float64(tot[a, k]) / cnt[a] - np.float64(tot[b, k]) / cnt[b]
        d += diff * diff
    return d


@numba.njit(nogil=True, cache=True, inline="always")
def _consider(best, bestd, fst, a, b, d):
    """Region ``a`` (small) considers neighbour ``b`` at squared mean distance ``d``."""
    if best[a] < 0 or d < bestd[a] or (d == bestd[a] and fst[b] < fst[best[a]]):
        bestd[a] = d
        best[a] = b


@numba.njit(nogil=True, cache=True, inline="always")
def _union(parent, cnt, tot, fst, a, b):
    a = find_root(parent, a)
    b = find_root(parent, b)
    if a == b:
        return
    if fst[b] < fst[a]:
        a, b = b, a
    parent[b] = a
    cnt[a] += cnt[b]
    for k in range(tot.shape[1]):
        tot[a, k] += tot[b, k]


@numba.njit(nogil=True, cache=True)
def local_merge(counts, sums, first, edges, border, min_size):
    """The merging passes inside one block; what depends on the outside becomes units.

    Parameters
    ----------
    counts, sums, first : int64 (n,), int64 (n, bands), int64 (n,)
        Per block region: pixel count, exact scaled sums, raster index of the first pixel.
    edges : int64 (m, 2)
        Unique adjacent pairs of block regions (0-based).
    border : bool (n,)
        Regions touching an edge shared with another block.
    min_size : int

    Returns
    -------
    slot : int64 (n,)
        Per region: ``1 + i`` for the local final segment ``i``, ``1 + nfinal + u`` for unit ``u``.
    final_ids : int64 (nfinal,)
        Id (``1 +`` first pixel) of each local final segment.
    unit_cnt, unit_sum, unit_first : the units' state when they entered.
    unit_entry : int64 (nunits,)
        Pass at which each unit enters the global replay.
    unit_skip : bool (nunits,)
        The unit decided locally at its entry pass (its choice is in ``forced``).
    unit_edges : int64 (k, 2)
        Adjacent unit pairs (with repeats).
    forced : int64 (f, 3)
        ``(pass, unit, unit)``: unions decided locally, applied by the replay at that pass.
    """
    n = counts.shape[0]
    nb = sums.shape[1]
    parent = np.arange(n, dtype=np.int64)
    cnt = counts.copy()
    tot = sums.copy()
    fst = first.copy()
    tainted = np.zeros(n, dtype=np.bool_)
    unit_of = np.full(n, -1, dtype=np.int64)
    unit_cnt = np.empty(n, dtype=np.int64)
    unit_sum = np.empty((n, nb), dtype=np.int64)
    unit_first = np.empty(n, dtype=np.int64)
    unit_entry = np.empty(n, dtype=np.int64)
    unit_skip = np.zeros(n, dtype=np.bool_)
    nunits = 0
    for i in range(n):
        if border[i]:
            tainted[i] = True
            unit_of[i] = nunits
            unit_cnt[nunits] = cnt[i]
            unit_sum[nunits] = tot[i]
            unit_first[nunits] = fst[i]
            unit_entry[nunits] = 1
            nunits += 1
    forced = np.empty((n, 3), dtype=np.int64)
    nforced = 0
    needs = np.zeros(n, dtype=np.bool_)
    dirty = np.zeros(n, dtype=np.bool_)
    best = np.full(n, -1, dtype=np.int64)
    bestd = np.full(n, np.inf)
    ne = edges.shape[0]
    for s in range(1, min_size):
        active = False
        for i in range(n):
            if parent[i] == i and cnt[i] <= s:
                active = True
                break
        if not active:  # nothing can decide, nor be chosen by a tainted region, at this pass
            continue
        # A: regions of s pixels with a tainted neighbour need the global replay.
        for e in range(ne):
            ra = find_root(parent, edges[e, 0])
            rb = find_root(parent, edges[e, 1])
            if ra == rb:
                continue
            if tainted[ra] and not tainted[rb] and cnt[rb] == s:
                needs[rb] = True
            elif tainted[rb] and not tainted[ra] and cnt[ra] == s:
                needs[ra] = True
        # B: regions at risk, and the exact decisions of the others.
        for e in range(ne):
            ra = find_root(parent, edges[e, 0])
            rb = find_root(parent, edges[e, 1])
            if ra == rb:
                continue
            ta = tainted[ra]
            tb = tainted[rb]
            if ta and tb:
                continue
            if ta:
                if cnt[ra] <= s:
                    dirty[rb] = True
                continue
            if tb:
                if cnt[rb] <= s:
                    dirty[ra] = True
                continue
            if needs[ra]:
                dirty[rb] = True
            if needs[rb]:
                dirty[ra] = True
            if cnt[ra] == s or cnt[rb] == s:
                d = _dist2(tot, cnt, ra, rb)
                if cnt[ra] == s and not needs[ra]:
                    _consider(best, bestd, fst, ra, rb, d)
                if cnt[rb] == s and not needs[rb]:
                    _consider(best, bestd, fst, rb, ra, d)
        # C: a decision links its two regions: one dirty, both dirty.
        for i in range(n):
            if needs[i]:
                dirty[i] = True
        changed = True
        while changed:
            changed = False
            for i in range(n):
                t = best[i]
                if t >= 0 and dirty[i] != dirty[t]:
                    dirty[i] = True
                    dirty[t] = True
                    changed = True
        # D: dirty regions become units (state at the start of the pass); clean decisions apply.
        for i in range(n):
            if dirty[i]:
                tainted[i] = True
                unit_of[i] = nunits
                unit_cnt[nunits] = cnt[i]
                unit_sum[nunits] = tot[i]
                unit_first[nunits] = fst[i]
                unit_entry[nunits] = s
                unit_skip[nunits] = best[i] >= 0
                nunits += 1
        for i in range(n):
            t = best[i]
            if t < 0:
                continue
            if dirty[i]:
                forced[nforced, 0] = s
                forced[nforced, 1] = unit_of[i]
                forced[nforced, 2] = unit_of[t]
                nforced += 1
        for i in range(n):
            t = best[i]
            if t >= 0 and not dirty[i]:
                _union(parent, cnt, tot, fst, i, t)
        for i in range(n):
            needs[i] = False
            dirty[i] = False
            best[i] = -1
            bestd[i] = np.inf
    # Slots: local final segments first (in order of first appearance), then units.
    root_slot = np.zeros(n, dtype=np.int64)
    final_ids = np.empty(n, dtype=np.int64)
    nfinal = 0
    for i in range(n):
        r = find_root(parent, i)
        if not tainted[r] and root_slot[r] == 0:
            final_ids[nfinal] = fst[r] + 1
            nfinal += 1
            root_slot[r] = nfinal
    slot = np.empty(n, dtype=np.int64)
    for i in range(n):
        r = find_root(parent, i)
        if tainted[r]:
            slot[i] = nfinal + 1 + unit_of[r]
        else:
            slot[i] = root_slot[r]
    unit_edges = np.empty((ne, 2), dtype=np.int64)
    nue = 0
    for e in range(ne):
        ra = find_root(parent, edges[e, 0])
        rb = find_root(parent, edges[e, 1])
        if ra != rb and tainted[ra] and tainted[rb]:
            unit_edges[nue, 0] = unit_of[ra]
            unit_edges[nue, 1] = unit_of[rb]
            nue += 1
    return (slot, final_ids[:nfinal].copy(), unit_cnt[:nunits].copy(),
            unit_sum[:nunits].copy(), unit_first[:nunits].copy(), unit_entry[:nunits].copy(),
            unit_skip[:nunits].copy(), unit_edges[:nue].copy(), forced[:nforced].copy())


@numba.njit(nogil=True, cache=True)
def global_merge(cnt, tot, fst, entry, skip, edges, joined, forced, min_size):
    """Replay the merging passes on the units of all blocks; returns each unit's final id.

    ``joined`` pairs (regions that continue across block faces) are one region from the start;
    a unit takes part from its ``entry`` pass on; ``skip`` units decided locally at their entry
    pass, and ``forced`` ``(pass, unit, unit)`` holds those decisions.
    """
    n = cnt.shape[0]
    parent = np.arange(n, dtype=np.int64)
    cnt = cnt.copy()
    tot = tot.copy()
    fst = fst.copy()
    for e in range(joined.shape[0]):
        _union(parent, cnt, tot, fst, joined[e, 0], joined[e, 1])
    best = np.full(n, -1, dtype=np.int64)
    bestd = np.full(n, np.inf)
    for s in range(1, min_size):
        for e in range(edges.shape[0]):
            a = edges[e, 0]
            b = edges[e, 1]
            if entry[a] > s or entry[b] > s:
                continue
            ra = find_root(parent, a)
            rb = find_root(parent, b)
            if ra == rb:
                continue
            sa = cnt[ra] == s and not (skip[ra] and entry[ra] == s)
            sb = cnt[rb] == s and not (skip[rb] and entry[rb] == s)
            if sa or sb:
                d = _dist2(tot, cnt, ra, rb)
                if sa:
                    _consider(best, bestd, fst, ra, rb, d)
                if sb:
                    _consider(best, bestd, fst, rb, ra, d)
        for i in range(n):
            t = best[i]
            if t >= 0:
                best[i] = -1
                bestd[i] = np.inf
                _union(parent, cnt, tot, fst, i, t)
        for f in range(forced.shape[0]):
            if forced[f, 0] == s:
                _union(parent, cnt, tot, fst, forced[f, 1], forced[f, 2])
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = fst[find_root(parent, i)] + 1
    return out
