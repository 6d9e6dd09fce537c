"""``max_segment_size``: cut segments larger than a limit along a regular grid of square cells.

Cells have a side of ``ceil(sqrt(max_segment_size))`` pixels and are aligned on the image's
first pixel, so the cut does not depend on the chunking. Each piece (the part of a large
segment inside one cell) gets the id ``1 +`` the raster index of its first pixel, like every
segment. Two small reductions: segment sizes, then each piece's first pixel.
"""

from __future__ import annotations

import math

import dask
import dask.array as da
import numpy as np

__all__ = ["split_large_segments"]


def _block_sizes(block):
    ids, counts = np.unique(block[block > 0], return_counts=True)
    return ids, counts


def _large_ids(parts, max_size):
    ids = np.concatenate([p[0] for p in parts])
    counts = np.concatenate([p[1] for p in parts])
    uid, inv = np.unique(ids, return_inverse=True)
    total = np.bincount(inv, weights=counts)
    return uid[total > max_size]


def _piece_keys(block, row0, col0, width, side, large):
    rows, cols = np.nonzero(np.isin(block, large))
    keys = np.stack(
        [block[rows, cols].astype(np.int64), (rows + row0) // side, (cols + col0) // side], axis=1
    ).astype(np.int64)
    return keys, (rows + row0).astype(np.int64) * width + cols + col0


def _block_pieces(block, row0, col0, width, side, large):
    keys, index = _piece_keys(block, row0, col0, width, side, large)
    if len(keys) == 0:
        return np.zeros((0, 3), np.int64), np.zeros(0, np.int64)
    ukeys, inv = np.unique(keys, axis=0, return_inverse=True)
    first = np.full(len(ukeys), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, inv.ravel(), index)
    return ukeys, first


def _piece_table(parts):
    keys = np.concatenate([p[0] for p in parts])
    first = np.concatenate([p[1] for p in parts])
    if len(keys) == 0:
        return keys, first
    ukeys, inv = np.unique(keys, axis=0, return_inverse=True)
    out = np.full(len(ukeys), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, inv.ravel(), first)
    return ukeys, out


def _relabel(block, row0, col0, width, side, large, table):
    ukeys, first = table
    keys, _ = _piece_keys(block, row0, col0, width, side, large)
    if len(keys) == 0:
        return block
    out = block.copy()
    # Row lookup in the sorted unique keys (np.unique sorts rows lexicographically).
    view = np.ascontiguousarray(ukeys).view([("a", np.int64), ("b", np.int64), ("c", np.int64)])
    kview = np.ascontiguousarray(keys).view(view.dtype)
    pos = np.searchsorted(view.ravel(), kview.ravel())
    rows, cols = np.nonzero(np.isin(block, large))
    out[rows, cols] = first[pos] + 1
    return out


def split_large_segments(ids: da.Array, max_size: int) -> da.Array:
    """Cut the segments of ``ids`` (unsigned integer y, x) larger than ``max_size`` pixels,
    lazily; the ids keep their dtype (each piece's id is at most the image's size, as all)."""
    side = max(1, math.ceil(math.sqrt(max_size)))
    width = ids.shape[1]
    blocks = ids.to_delayed()
    ystarts = np.concatenate([[0], np.cumsum(ids.chunks[0])]).astype(int)
    xstarts = np.concatenate([[0], np.cumsum(ids.chunks[1])]).astype(int)
    sizes = [dask.delayed(_block_sizes, pure=True)(b) for b in blocks.ravel()]
    large = dask.delayed(_large_ids, pure=True)(sizes, max_size)
    pieces = [
        dask.delayed(_block_pieces, pure=True)(blocks[i, j], int(ystarts[i]), int(xstarts[j]),
                                               width, side, large)
        for i in range(blocks.shape[0]) for j in range(blocks.shape[1])
    ]
    table = dask.delayed(_piece_table, pure=True)(pieces)
    relabel = dask.delayed(_relabel, pure=True)
    return da.block([
        [
            da.from_delayed(relabel(blocks[i, j], int(ystarts[i]), int(xstarts[j]), width, side,
                                    large, table), shape=(ny, nx), dtype=ids.dtype)
            for j, nx in enumerate(ids.chunks[1])
        ]
        for i, ny in enumerate(ids.chunks[0])
    ])
