"""Minimum mapping unit: GDAL's sieve (``GDALSieveFilter``, ``rasterio.features.sieve``),
the same for any chunking.

GDAL's rule, read from ``alg/gdalsievefilter.cpp`` and checked against rasterio's GDAL
(tests/test_postprocess_sieve.py):

1. *Regions* are the connected sets of pixels of one value (4- or 8-connected); fill pixels
   belong to none, never change and are nobody's neighbour.
2. Every region's *biggest neighbour* is its adjacent region with the most pixels. Adjacent
   means 4-adjacent, or 8-adjacent with ``connectivity=8``. GDAL scans the pixels in raster
   order and, at each pixel, its up, up-left, up-right (8 only) and left neighbours, keeping the
   first biggest one met: ties go to the neighbour met first in that order.
3. A region of fewer than ``min_pixels`` pixels follows the chain of biggest neighbours (its
   own, then that one's, ...) until a region of at least ``min_pixels``, whose value it takes.
   When the chain meets a region twice, or a region without neighbours, it stays as it is. One
   pass: the regions are those of the input, their sizes are never updated.

Chunked, the rule needs the whole image's regions: a region may cross chunks and its size, its
neighbours and the chains through it are global. Done the dask-image way (as the segment ids
are): per block (:func:`block_regions`), label the regions and decide locally every region
whose outcome provably does not depend on anything outside the block; the rest (the regions
touching the block's edges towards other blocks, and the small ones whose chain reaches them)
become *nodes*, handed with their adjacency to one small global pass (:func:`solve_nodes`) that
joins the nodes across block faces and walks the chains; a last per-block pass relabels.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask
import dask.array as dsa
import numba
import numpy as np
import xarray as xr

from .._validate import check_choice, check_number, require_class_map
from ..classmap import fill_value
from ..errors import InvalidInputTypeError

__all__ = ["sieve", "BlockRegions", "block_regions", "solve_nodes", "face_links"]

# Outcome of a region inside a block.
_OPEN, _FOUND, _FAIL, _NODE, _BIG = 0, 1, 2, 3, 4


@numba.njit(nogil=True, cache=True, inline="always")
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@numba.njit(nogil=True, cache=True, inline="always")
def _union(parent, a, b):
    a = _find(parent, a)
    b = _find(parent, b)
    if a < b:
        parent[b] = a
    elif b < a:
        parent[a] = b


@numba.njit(nogil=True, cache=True)
def label_regions(values, valid, conn8):
    """Regions of equal value: int32 labels ``0 .. n - 1`` in order of first pixel, -1 fill."""
    rows, cols = values.shape
    parent = np.arange(rows * cols, dtype=np.int64)
    for i in range(rows):
        for j in range(cols):
            if not valid[i, j]:
                continue
            p = i * cols + j
            v = values[i, j]
            if j > 0 and valid[i, j - 1] and values[i, j - 1] == v:
                _union(parent, p, p - 1)
            if i > 0:
                if valid[i - 1, j] and values[i - 1, j] == v:
                    _union(parent, p, p - cols)
                if conn8:
                    if j > 0 and valid[i - 1, j - 1] and values[i - 1, j - 1] == v:
                        _union(parent, p, p - cols - 1)
                    if j + 1 < cols and valid[i - 1, j + 1] and values[i - 1, j + 1] == v:
                        _union(parent, p, p - cols + 1)
    labels = np.full((rows, cols), -1, dtype=np.int32)
    ids = np.full(rows * cols, -1, dtype=np.int64)
    n = 0
    for i in range(rows):
        for j in range(cols):
            if valid[i, j]:
                r = _find(parent, i * cols + j)
                if ids[r] < 0:
                    ids[r] = n
                    n += 1
                labels[i, j] = ids[r]
    return labels, n


@numba.njit(nogil=True, cache=True)
def _block_kernel(values, valid, conn8, row0, col0, width, top, bottom, left, right, min_pixels):
    """Label, find the biggest neighbours, decide locally; see :func:`block_regions`."""
    rows, cols = values.shape
    labels, n = label_regions(values, valid, conn8)
    size = np.zeros(n, dtype=np.int64)
    value = np.zeros(n, dtype=np.int64)
    border = np.zeros(n, dtype=np.bool_)
    for i in range(rows):
        for j in range(cols):
            a = labels[i, j]
            if a < 0:
                continue
            size[a] += 1
            value[a] = values[i, j]
            if (i == 0 and top) or (i == rows - 1 and bottom) or (j == 0 and left) or (
                    j == cols - 1 and right):
                border[a] = True
    # Biggest neighbours, met in GDAL's order (raster order; up, up-left, up-right, left).
    best = np.full(n, -1, dtype=np.int64)
    near_border = np.zeros(n, dtype=np.bool_)
    dys = np.array([-1, -1, -1, 0])
    dxs = np.array([0, -1, 1, -1])
    for i in range(rows):
        for j in range(cols):
            a = labels[i, j]
            if a < 0:
                continue
            for d in range(4):
                if not conn8 and (d == 1 or d == 2):
                    continue
                y, x = i + dys[d], j + dxs[d]
                if y < 0 or x < 0 or x >= cols:
                    continue
                b = labels[y, x]
                if b < 0 or b == a:
                    continue
                if best[a] < 0 or size[b] > size[best[a]]:
                    best[a] = b
                if best[b] < 0 or size[a] > size[best[b]]:
                    best[b] = a
                if border[b]:
                    near_border[a] = True
                if border[a]:
                    near_border[b] = True
    # Local outcomes: big, node (depends on the outside), isolated, or the chain's end.
    status = np.zeros(n, dtype=np.int8)
    term = value.copy()
    for r in range(n):
        if border[r]:  # may continue outside: its size and neighbours are global
            status[r] = _NODE
        elif size[r] >= min_pixels:
            status[r] = _BIG
        elif near_border[r]:  # its biggest neighbour may be one of those
            status[r] = _NODE
        elif best[r] < 0:
            status[r] = _FAIL
    stamp = np.zeros(n, dtype=np.int64)
    path = np.empty(n, dtype=np.int64)
    for r in range(n):
        if status[r] != _OPEN:
            continue
        npath = 1
        path[0] = r
        stamp[r] = r + 1
        cur = best[r]
        res = _FAIL
        val = 0
        while True:
            s = status[cur]
            if s == _BIG:
                res, val = _FOUND, value[cur]
                break
            if s != _OPEN:
                res, val = s, term[cur]
                break
            if stamp[cur] == r + 1:
                res = _FAIL
                break
            stamp[cur] = r + 1
            path[npath] = cur
            npath += 1
            cur = best[cur]
        for k in range(npath):
            p = path[k]
            status[p] = res
            if res == _FOUND:
                term[p] = val
    return labels, n, size, value, status, term


@numba.njit(nogil=True, cache=True)
def _node_edges(labels, conn8, row0, col0, width, node_of, small, leaf_of):
    """Contacts that a global chain may use: those with a small node at one end, as
    ``(node, node, key)`` and ``(node, leaf, key)`` rows (unsorted, with repeats)."""
    rows, cols = labels.shape
    nn = np.empty((16, 3), dtype=np.int64)
    nl = np.empty((16, 3), dtype=np.int64)
    knn = 0
    knl = 0
    dys = np.array([-1, -1, -1, 0])
    dxs = np.array([0, -1, 1, -1])
    for i in range(rows):
        for j in range(cols):
            a = labels[i, j]
            if a < 0:
                continue
            for d in range(4):
                if not conn8 and (d == 1 or d == 2):
                    continue
                y, x = i + dys[d], j + dxs[d]
                if y < 0 or x < 0 or x >= cols:
                    continue
                b = labels[y, x]
                if b < 0 or b == a:
                    continue
                na, nb = node_of[a], node_of[b]
                if na < 0 and nb < 0:
                    continue
                if not ((na >= 0 and small[na]) or (nb >= 0 and small[nb])):
                    continue
                key = ((row0 + i) * width + col0 + j) * 4 + d
                if na >= 0 and nb >= 0:
                    if knn == nn.shape[0]:
                        nn = np.concatenate((nn, np.empty_like(nn)))
                    nn[knn, 0], nn[knn, 1], nn[knn, 2] = na, nb, key
                    knn += 1
                else:
                    node, other = (na, b) if na >= 0 else (nb, a)
                    if knl == nl.shape[0]:
                        nl = np.concatenate((nl, np.empty_like(nl)))
                    nl[knl, 0], nl[knl, 1], nl[knl, 2] = node, leaf_of[other], key
                    knl += 1
    return nn[:knn].copy(), nl[:knl].copy()


def _min_key_per_pair(edges: np.ndarray) -> np.ndarray:
    """One row per (a, b) pair: the one with the smallest key (the contact GDAL meets first)."""
    if len(edges) == 0:
        return edges.reshape(0, 3)
    order = np.lexsort((edges[:, 2], edges[:, 1], edges[:, 0]))
    edges = edges[order]
    first = np.ones(len(edges), dtype=bool)
    first[1:] = (edges[1:, 0] != edges[:-1, 0]) | (edges[1:, 1] != edges[:-1, 1])
    return edges[first]


@dataclass
class BlockRegions:
    """One block's regions as the global pass needs them: its nodes and their contacts.

    Node arrays are indexed by the block's node number; leaves are regions decided inside the
    block that touch a small node (their size and outcome). Edge arrays hold, along each edge
    of the block, the node of each pixel (-1 fill) and its value.
    """

    node_size: np.ndarray  # int64 (nodes,), pixels inside this block
    node_value: np.ndarray  # int64 (nodes,)
    nn: np.ndarray  # int64 (k, 3): node, node, first-contact key
    nl: np.ndarray  # int64 (k, 3): node, leaf, first-contact key
    leaf_size: np.ndarray  # int64 (leaves,)
    leaf_found: np.ndarray  # bool (leaves,): the leaf's chain ends at a big region
    leaf_value: np.ndarray  # int64 (leaves,): the value that chain gives
    edges: dict  # "top" / "bottom" / "left" / "right" -> (nodes int64, values int64)


def _block_state(block, nodata, conn8, row0, col0, width, shared, min_pixels):
    values = np.ascontiguousarray(block).astype(np.int64, copy=False)
    valid = np.ones(values.shape, dtype=bool) if nodata is None else values != nodata
    labels, n, size, value, status, term = _block_kernel(
        values, valid, bool(conn8), int(row0), int(col0), int(width), *map(bool, shared),
        int(min_pixels))
    is_node = status == _NODE
    node_of = np.full(n, -1, dtype=np.int64)
    node_of[is_node] = np.arange(int(is_node.sum()))
    return values, labels, size, value, status, term, node_of


def block_regions(block, nodata, conn8, row0, col0, width, shared, min_pixels) -> BlockRegions:
    """The regions of one block and what the global pass needs of them.

    Parameters
    ----------
    block : numpy array (rows, cols)
        Integer class values.
    nodata : int or None
        Fill value (never a region).
    conn8 : bool
    row0, col0, width : int
        Position of the block in the image, and the image's width (keys are global).
    shared : tuple of 4 bool
        Whether the top, bottom, left, right edges face another block.
    min_pixels : int
    """
    values, labels, size, value, status, term, node_of = _block_state(
        block, nodata, conn8, row0, col0, width, shared, min_pixels)
    is_node = node_of >= 0
    small = size[is_node] < min_pixels
    leaf_of = np.full(len(size), -1, dtype=np.int64)
    nn, nl = _node_edges(labels, bool(conn8), int(row0), int(col0), int(width), node_of, small,
                         np.arange(len(size), dtype=np.int64))
    # nl's second column holds block regions: renumber the leaves that occur
    regions = np.unique(nl[:, 1]) if len(nl) else np.zeros(0, np.int64)
    leaf_of[regions] = np.arange(len(regions))
    if len(nl):
        nl = nl.copy()
        nl[:, 1] = leaf_of[nl[:, 1]]
    lo = np.minimum(nn[:, 0], nn[:, 1]) if len(nn) else np.zeros(0, np.int64)
    hi = np.maximum(nn[:, 0], nn[:, 1]) if len(nn) else np.zeros(0, np.int64)
    nn = _min_key_per_pair(np.stack([lo, hi, nn[:, 2]], axis=1) if len(nn) else nn)
    nl = _min_key_per_pair(nl)
    node_labels = np.append(node_of, -1)[labels]  # label -1 (fill) picks the appended -1
    sides = {"top": np.s_[0], "bottom": np.s_[-1], "left": np.s_[:, 0], "right": np.s_[:, -1]}
    edges = {k: (np.ascontiguousarray(node_labels[at]), np.ascontiguousarray(values[at]))
             for k, at in sides.items()}
    found = status[regions] != _FAIL  # leaves are big or found (their chain ended well)
    return BlockRegions(
        node_size=size[is_node], node_value=value[is_node], nn=nn, nl=nl,
        leaf_size=size[regions], leaf_found=found, leaf_value=term[regions], edges=edges)


@numba.njit(nogil=True, cache=True)
def face_links(nodes_a, values_a, nodes_b, values_b, conn8, pixel_b, step_b, pixel_a, step_a,
               straight_dir, diag_b, diag_a):
    """Pixel pairs across one block face: joins (same value) and contacts (other values).

    ``a`` is the row (column) before the face, ``b`` the one after it, both as long as the
    face; position ``k`` of ``b`` is the raster pixel ``pixel_b + k * step_b`` (likewise ``a``).
    Pair kinds, with GDAL's direction codes: ``b[k]``-``a[k]`` (``straight_dir``),
    ``b[k]``-``a[k - 1]`` (``diag_b``, the current pixel is ``b[k]``) and ``a[k]``-``b[k - 1]``
    (``diag_a``, the current pixel is ``a[k]``); the diagonals only with ``conn8``.
    Returns ``joins`` (k, 2) and ``contacts`` (k, 3) as node, node, key.
    """
    m = nodes_a.shape[0]
    joins = np.empty((3 * m, 2), dtype=np.int64)
    contacts = np.empty((3 * m, 3), dtype=np.int64)
    nj = 0
    nc = 0
    for k in range(m):
        for kind in range(3):
            if kind == 0:
                p, q, key = nodes_b[k], nodes_a[k], (pixel_b + k * step_b) * 4 + straight_dir
                vp, vq = values_b[k], values_a[k]
            elif not conn8 or k == 0:
                continue
            elif kind == 1:
                p, q, key = nodes_b[k], nodes_a[k - 1], (pixel_b + k * step_b) * 4 + diag_b
                vp, vq = values_b[k], values_a[k - 1]
            else:
                p, q, key = nodes_a[k], nodes_b[k - 1], (pixel_a + k * step_a) * 4 + diag_a
                vp, vq = values_a[k], values_b[k - 1]
            if p < 0 or q < 0:
                continue
            if vp == vq:
                joins[nj, 0], joins[nj, 1] = p, q
                nj += 1
            else:
                contacts[nc, 0], contacts[nc, 1], contacts[nc, 2] = p, q, key
                nc += 1
    return joins[:nj].copy(), contacts[:nc].copy()


@numba.njit(nogil=True, cache=True)
def solve_nodes(size, value, joins, nn, nl, leaf_size, leaf_found, leaf_value, min_pixels):
    """GDAL's biggest-neighbour chains on the nodes of all blocks.

    Parameters
    ----------
    size, value : int64 (nodes,)
        Pixels of each node inside its block, and its class value.
    joins : int64 (j, 2)
        Nodes that are one region (they continue across a block face).
    nn : int64 (k, 3)
        Node-node contacts with their keys (position in GDAL's scan; the smallest is met first).
    nl : int64 (k, 3)
        Node-leaf contacts with their keys.
    leaf_size, leaf_found, leaf_value : (leaves,)
        Regions decided inside their block: size, and where their own chain ends.
    min_pixels : int

    Returns
    -------
    int64 (nodes,)
        The value of each node after the sieve.
    """
    n = size.shape[0]
    parent = np.arange(n, dtype=np.int64)
    for e in range(joins.shape[0]):
        _union(parent, joins[e, 0], joins[e, 1])
    root = np.empty(n, dtype=np.int64)
    total = np.zeros(n, dtype=np.int64)
    for i in range(n):
        root[i] = _find(parent, i)
        total[root[i]] += size[i]
    # biggest neighbour per small region: kind 1 node, 2 leaf; most pixels, then smallest key
    kind = np.zeros(n, dtype=np.int8)
    best = np.full(n, -1, dtype=np.int64)
    bsize = np.zeros(n, dtype=np.int64)
    bkey = np.zeros(n, dtype=np.int64)
    for e in range(nn.shape[0]):
        ra, rb, key = root[nn[e, 0]], root[nn[e, 1]], nn[e, 2]
        if ra == rb:
            continue
        for r, o in ((ra, rb), (rb, ra)):
            if total[r] >= min_pixels:
                continue
            s = total[o]
            if kind[r] == 0 or s > bsize[r] or (s == bsize[r] and key < bkey[r]):
                kind[r], best[r], bsize[r], bkey[r] = 1, o, s, key
    for e in range(nl.shape[0]):
        r, leaf, key = root[nl[e, 0]], nl[e, 1], nl[e, 2]
        if total[r] >= min_pixels:
            continue
        s = leaf_size[leaf]
        if kind[r] == 0 or s > bsize[r] or (s == bsize[r] and key < bkey[r]):
            kind[r], best[r], bsize[r], bkey[r] = 2, leaf, s, key
    # walk the chains (memoised: every region on a path shares its end)
    status = np.zeros(n, dtype=np.int8)
    result = value.copy()
    for i in range(n):
        result[root[i]] = value[i]
    stamp = np.zeros(n, dtype=np.int64)
    path = np.empty(n, dtype=np.int64)
    for r in range(n):
        if root[r] != r or total[r] >= min_pixels or status[r] != _OPEN:
            continue
        npath = 1
        path[0] = r
        stamp[r] = r + 1
        k, cur = kind[r], best[r]
        res, val = _FAIL, 0
        while True:
            if k == 0:
                break
            if k == 2:
                if leaf_found[cur]:
                    res, val = _FOUND, leaf_value[cur]
                break
            if total[cur] >= min_pixels:
                res, val = _FOUND, value[cur]
                break
            if status[cur] != _OPEN:
                res, val = status[cur], result[cur]
                break
            if stamp[cur] == r + 1:
                break
            stamp[cur] = r + 1
            path[npath] = cur
            npath += 1
            k, cur = kind[cur], best[cur]
        for m in range(npath):
            p = path[m]
            status[p] = res
            if res == _FOUND:
                result[p] = val
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = result[root[i]]
    return out


def _solve(grid, conn8, min_pixels, width):
    """The global pass over the grid of :class:`BlockRegions`: node values per block."""
    nrow, ncol = len(grid), len(grid[0])
    offsets = np.zeros((nrow, ncol), dtype=np.int64)
    loffsets = np.zeros((nrow, ncol), dtype=np.int64)
    total, ltotal = 0, 0
    for i in range(nrow):
        for j in range(ncol):
            offsets[i, j], loffsets[i, j] = total, ltotal
            total += len(grid[i][j].node_size)
            ltotal += len(grid[i][j].leaf_size)
    flat = [(grid[i][j], int(offsets[i, j]), int(loffsets[i, j]))
            for i in range(nrow) for j in range(ncol)]
    empty3 = np.zeros((0, 3), np.int64)
    size = np.concatenate([b.node_size for b, _, _ in flat] + [np.zeros(0, np.int64)])
    value = np.concatenate([b.node_value for b, _, _ in flat] + [np.zeros(0, np.int64)])
    nn = [b.nn + np.array([o, o, 0]) for b, o, _ in flat]
    nl = [b.nl + np.array([o, lo, 0]) for b, o, lo in flat]
    leaf_size = np.concatenate([b.leaf_size for b, _, _ in flat] + [np.zeros(0, np.int64)])
    leaf_found = np.concatenate([b.leaf_found for b, _, _ in flat] + [np.zeros(0, bool)])
    leaf_value = np.concatenate([b.leaf_value for b, _, _ in flat] + [np.zeros(0, np.int64)])

    def shifted(block, off, side):
        nodes, vals = block.edges[side]
        return np.where(nodes >= 0, nodes + off, -1), vals

    joins = []
    # Horizontal faces: the whole image width at once, so diagonals across block corners too.
    row = 0
    for i in range(nrow - 1):
        row += grid[i][0].edges["left"][0].shape[0]
        above = [shifted(grid[i][j], int(offsets[i, j]), "bottom") for j in range(ncol)]
        below = [shifted(grid[i + 1][j], int(offsets[i + 1, j]), "top") for j in range(ncol)]
        a_nodes, a_vals = (np.concatenate(x) for x in zip(*above))
        b_nodes, b_vals = (np.concatenate(x) for x in zip(*below))
        # a = row - 1, b = row; b[k]-a[k] is "up", b[k]-a[k-1] "up-left", a[k]-b[k-1] is the
        # pair seen from b[k-1] as "up-right"
        jn, ct = face_links(a_nodes, a_vals, b_nodes, b_vals, conn8, row * width, 1,
                            (row - 1) * width, 1, 0, 1, 2)
        # the up-right pair is met at b[k - 1]: move its key there
        ct = _fix_up_right(ct, row, width)
        joins.append(jn)
        nn.append(ct)
    col = 0
    for j in range(ncol - 1):
        col += grid[0][j].edges["top"][0].shape[0]
        left = [shifted(grid[i][j], int(offsets[i, j]), "right") for i in range(nrow)]
        right = [shifted(grid[i][j + 1], int(offsets[i, j + 1]), "left") for i in range(nrow)]
        a_nodes, a_vals = (np.concatenate(x) for x in zip(*left))
        b_nodes, b_vals = (np.concatenate(x) for x in zip(*right))
        # a = column col - 1, b = column col: b[k]-a[k] is "left" (seen from b[k]),
        # b[k]-a[k-1] is "up-left" (from b[k]), a[k]-b[k-1] is "up-right" (from a[k])
        jn, ct = face_links(a_nodes, a_vals, b_nodes, b_vals, conn8, col, width,
                            col - 1, width, 3, 1, 2)
        joins.append(jn)
        nn.append(ct)
    joins = np.concatenate(joins + [np.zeros((0, 2), np.int64)])
    nn = np.concatenate(nn + [empty3])
    nl = np.concatenate(nl + [empty3])
    out = solve_nodes(size, value, joins, nn, nl, leaf_size, leaf_found, leaf_value,
                      int(min_pixels))
    return [out[int(offsets[i, j]):int(offsets[i, j]) + len(grid[i][j].node_size)]
            for i in range(nrow) for j in range(ncol)]


def _fix_up_right(contacts: np.ndarray, row: int, width: int) -> np.ndarray:
    """Across a horizontal face, :func:`face_links` keys the pair ``a[k]``-``b[k-1]`` at
    ``a[k]`` (row - 1); GDAL meets it at ``b[k - 1]`` (row) looking up-right."""
    if len(contacts) == 0:
        return contacts
    contacts = contacts.copy()
    up_right = contacts[:, 2] % 4 == 2
    pixel = contacts[up_right, 2] // 4  # (row - 1) * width + k
    k = pixel - (row - 1) * width
    contacts[up_right, 2] = (row * width + k - 1) * 4 + 2
    return contacts


def _apply(block, node_values, nodata, conn8, row0, col0, width, shared, min_pixels):
    """The block after the sieve: local outcomes and the global pass's node values."""
    values, labels, size, value, status, term, node_of = _block_state(
        block, nodata, conn8, row0, col0, width, shared, min_pixels)
    table = np.where(status == _FOUND, term, value)
    nodes = node_of >= 0
    table[nodes] = node_values[node_of[nodes]]
    out = np.where(labels >= 0, np.append(table, 0)[labels], values)
    return out.astype(block.dtype)


def sieve(classes: xr.DataArray, min_pixels: int, connectivity: int = 8) -> xr.DataArray:
    """Minimum mapping unit: regions smaller than ``min_pixels`` take the class of their
    biggest neighbouring region, exactly as GDAL's sieve.

    The result equals ``rasterio.features.sieve(map, size=min_pixels,
    connectivity=connectivity, mask=map != fill)`` computed on the whole map, for any chunking:
    regions that cross chunks are resolved globally (a small pass over the regions along the
    chunk edges), never by loading the whole map.

    Parameters
    ----------
    classes : xarray.DataArray
        Integer class map ``(y, x)``; fill pixels (``_FillValue``/nodata) never change and are
        nobody's neighbour.
    min_pixels : int
        Regions with fewer pixels are merged (GDAL's ``size`` / ``gdal_sieve.py -st``), >= 1.
    connectivity : {4, 8}, default 8
        Pixels of a region touch by an edge (4) or also by a corner (8); neighbouring regions
        likewise.

    Returns
    -------
    xarray.DataArray
        The sieved map: same dtype, coordinates, CRS and attrs.

    Notes
    -----
    GDAL's rule (one pass): a small region follows the chain of biggest neighbours (its own
    biggest neighbour, then that one's, ...) to the first region of at least ``min_pixels``
    and takes its value; ties between equally big neighbours go to the one GDAL's raster scan
    meets first. A small region whose chain loops, or that has no neighbour (e.g. surrounded by
    fill), stays as it is, so some small regions may remain.

    See Also
    --------
    xr_landcover.postprocess.majority_filter : smooth a map by majority vote.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[1, 1, 1, 2, 2],
    ...                            [1, 3, 1, 2, 2],
    ...                            [1, 1, 1, 2, 0]], "uint8"), dims=("y", "x"),
    ...                  attrs={"_FillValue": 0})
    >>> sieve(m, min_pixels=2).values
    array([[1, 1, 1, 2, 2],
           [1, 1, 1, 2, 2],
           [1, 1, 1, 2, 0]], dtype=uint8)
    """
    classes = require_class_map(classes, "classes")
    if not np.issubdtype(classes.dtype, np.integer):
        raise InvalidInputTypeError(
            f"classes must be an integer class map; got dtype {classes.dtype}. Convert it with "
            "classes.fillna(<fill>).astype('uint8') (or a wider integer type)"
        )
    check_number("min_pixels", min_pixels, 1, integer=True)
    check_choice("connectivity", connectivity, (4, 8))
    min_pixels, conn8 = int(min_pixels), int(connectivity) == 8
    nodata = fill_value(classes)
    data = classes.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(data, chunks=data.shape)
    height, width = data.shape
    ystarts = np.concatenate([[0], np.cumsum(data.chunks[0])]).astype(int)
    xstarts = np.concatenate([[0], np.cumsum(data.chunks[1])]).astype(int)
    blocks = data.to_delayed(optimize_graph=False)
    nrow, ncol = blocks.shape
    summarise = dask.delayed(block_regions, pure=True)
    apply = dask.delayed(_apply, pure=True)
    positions = {}
    grid = []
    for i in range(nrow):
        row = []
        for j in range(ncol):
            shared = (i > 0, i < nrow - 1, j > 0, j < ncol - 1)
            positions[i, j] = (int(ystarts[i]), int(xstarts[j]), shared)
            y0, x0, _ = positions[i, j]
            row.append(summarise(blocks[i, j], nodata, conn8, y0, x0, width, shared,
                                 min_pixels))
        grid.append(row)
    solved = dask.delayed(_solve, pure=True)(grid, conn8, min_pixels, width)
    out_blocks = []
    for i in range(nrow):
        row = []
        for j in range(ncol):
            y0, x0, shared = positions[i, j]
            task = apply(blocks[i, j], solved[i * ncol + j], nodata, conn8, y0, x0, width,
                         shared, min_pixels)
            row.append(dsa.from_delayed(task, shape=(data.chunks[0][i], data.chunks[1][j]),
                                        dtype=classes.dtype,
                                        meta=np.empty((0, 0), classes.dtype)))
        out_blocks.append(row)
    return classes.copy(data=dsa.block(out_blocks))
