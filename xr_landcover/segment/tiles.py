"""The overlap driver: each output block sees its pixels plus a halo wide enough to be exact.

A pixel's mean-shift result depends only on pixels within ``maxiter * hs`` of it (every step
moves at most ``hs`` and the last window reaches ``hs`` further), so a halo of
:func:`stability_margin` pixels makes every pixel's result equal to the unchunked result. Only
the interior of a block is filtered: the halo is read, never filtered, so the cost of the margin
is memory and I/O, not computation. At the image edges there is no halo (``boundary="none"``):
the kernel's window is cut there, exactly as for the whole image; nothing is ever reflect-padded.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np

from . import kernels

__all__ = ["stability_margin", "map_overlap_blocks", "mean_shift_array"]


def stability_margin(spatial_radius: float, maxiter: int) -> int:
    """Halo width (pixels) that makes chunked mean shift exact: ``ceil(maxiter * hs) + 2``.

    Examples
    --------
    >>> stability_margin(7, 10)
    72
    """
    return int(math.ceil(maxiter * spatial_radius)) + 2


def _overlapping(starts: np.ndarray, lo: int, hi: int) -> range:
    """Indices of the chunks (boundaries ``starts``) that intersect ``[lo, hi)``."""
    first = int(np.searchsorted(starts, lo, side="right")) - 1
    last = int(np.searchsorted(starts, hi, side="left"))
    return range(first, last)


def _call_with_halo(func, parts, crop, prepare, prepare_args, *args):
    """Assemble the halo block from its neighbouring chunks, crop, prepare it, call ``func``."""
    (y0, y1), (x0, x1) = crop
    rows = [np.concatenate(row, axis=1) if len(row) > 1 else row[0] for row in parts]
    halo = np.concatenate(rows, axis=0) if len(rows) > 1 else rows[0]
    halo = halo[y0:y1, x0:x1]
    if prepare is not None:
        halo = prepare(halo, *prepare_args)
    return func(halo, *args)


def map_overlap_blocks(
    image: da.Array, depth: int, func: Callable[..., Any], *args: Any,
    prepare: Callable[..., np.ndarray] | None = None, prepare_args: tuple = (),
) -> list[list[Any]]:
    """Call ``func`` lazily on every block of ``image`` (y, x, ...) with a halo of ``depth``.

    ``func(halo_block, r0, r1, c0, c1, row0, col0, *args)`` receives the block with its halo as
    a numpy array, the interior ``[r0:r1, c0:c1]`` in halo coordinates and the interior's
    position ``(row0, col0)`` in the image. Returns the grid of :class:`dask.delayed.Delayed`
    results, one per block of ``image``'s chunks.

    One task per block: it takes the chunks its halo overlaps (``image.to_delayed()`` keys, so
    the graph grows linearly with the number of blocks) and assembles the halo itself.

    ``prepare(halo, *prepare_args)``, when given, must be pixel-wise; it is applied to the
    assembled halo inside the block's task, before ``func``. The chunks that several blocks
    share (and that a scheduler may hold until the last of them has run) then stay in
    ``image``'s own, usually smaller, dtype: for an 8-bit scene, a quarter of the float32
    prepared values. ``prepare_args`` may hold delayed values (e.g. stretch limits).
    """
    if any(len(c) != 1 for c in image.chunks[2:]):
        image = image.rechunk({k: -1 for k in range(2, image.ndim)})
    height, width = image.shape[:2]
    ystarts = np.concatenate([[0], np.cumsum(image.chunks[0])]).astype(np.int64)
    xstarts = np.concatenate([[0], np.cumsum(image.chunks[1])]).astype(np.int64)
    chunks = image.to_delayed(optimize_graph=False).reshape(image.numblocks[:2])
    call = dask.delayed(_call_with_halo, pure=True)
    grid = []
    for i in range(len(image.chunks[0])):
        row = []
        y0, y1 = int(ystarts[i]), int(ystarts[i + 1])
        hy0, hy1 = max(0, y0 - depth), min(height, y1 + depth)
        bi = _overlapping(ystarts, hy0, hy1)
        for j in range(len(image.chunks[1])):
            x0, x1 = int(xstarts[j]), int(xstarts[j + 1])
            hx0, hx1 = max(0, x0 - depth), min(width, x1 + depth)
            bj = _overlapping(xstarts, hx0, hx1)
            parts = [[chunks[a, b] for b in bj] for a in bi]
            oy, ox = int(ystarts[bi[0]]), int(xstarts[bj[0]])
            crop = ((hy0 - oy, hy1 - oy), (hx0 - ox, hx1 - ox))
            row.append(call(func, parts, crop, prepare, prepare_args,
                            y0 - hy0, y1 - hy0, x0 - hx0, x1 - hx0, y0, x0, *args))
        grid.append(row)
    return grid


def _filter_block(halo, r0, r1, c0, c1, row0, col0, hs, hr, maxiter, threshold, joint):
    halo = np.ascontiguousarray(halo, dtype=np.float32)
    valid = np.isfinite(halo).all(axis=-1)
    return kernels.mean_shift_block(halo, valid, r0, r1, c0, c1, float(hs), float(hr),
                                    int(maxiter), float(threshold), bool(joint))


def mean_shift_array(
    image: da.Array, hs: float, hr: float, maxiter: int, threshold: float, joint: bool,
    prepare: Callable[..., np.ndarray] | None = None, prepare_args: tuple = (),
) -> da.Array:
    """Lazily mean-shift filter ``image`` (y, x, bands), exact for any chunking.

    Returns a float32 dask array (y, x, bands + 2): filtered values then displacement (dy, dx),
    NaN where any band of the input is NaN. ``prepare``: see :func:`map_overlap_blocks`.
    """
    depth = stability_margin(hs, maxiter)
    nb = image.shape[2]
    grid = map_overlap_blocks(image, depth, _filter_block, hs, hr, maxiter, threshold, joint,
                              prepare=prepare, prepare_args=prepare_args)
    blocks = [
        [
            [da.from_delayed(d, shape=(ny, nx, nb + 2), dtype=np.float32)]
            for d, nx in zip(row, image.chunks[1])
        ]
        for row, ny in zip(grid, image.chunks[0])
    ]
    return da.block(blocks)
