"""Bayesian smoothing of a probability cube (Camara et al.; sits' ``sits_smooth``, written here
from its documentation).

For each pixel ``i`` and class ``k``:

1. ``x = logit(p) = log(p / (1 - p))``, with ``p`` clipped to ``[1e-6, 1 - 1e-6]`` (forests
   give probabilities of exactly 0 and 1, whose logits are infinite).
2. In the ``window_size x window_size`` window centred on ``i`` (the pixel itself included;
   nodata pixels left out), the ``ceil(neigh_fraction * n)`` of the ``n`` valid pixels with the
   highest probability of ``k`` give the prior: their logits' mean ``m`` and variance ``s2``
   (divided by the count minus one; 0 for a single value).
3. The posterior logit is ``w * x + (1 - w) * m`` with ``w = s2 / (s2 + smoothness_k)``: where
   the neighbours disagree (high ``s2``) the pixel keeps its own value, where they agree the
   pixel moves to them. ``smoothness`` is one number or one per class.
4. Back through the logistic ``1 / (1 + exp(-logit))``, then scaled so that each pixel's
   classes sum to 1 (the scaling keeps the classes' order).

Edges: beyond the image border the window is mirrored, the edge pixel repeated first
(``numpy.pad(mode="symmetric")``: the mirror sits' index arithmetic describes); nodata pixels
inside the image are left out of the window rather than mirrored. A nodata pixel stays NaN.

Chunk-exact: the dask driver is ``map_overlap`` with a halo of ``window_size // 2`` pixels and
that same mirror at the image border, so every window sees the pixels it sees unchunked; the
kernel uses only ``+ - * /`` and a sort (no fused multiply-add), and the logit and logistic use
:mod:`~xr_landcover.postprocess._arithmetic`: the same bits on every CPU and for every chunking.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence

import dask.array as dsa
import numba
import numpy as np
import xarray as xr

from .._validate import check_number
from ..classification.probabilities import (
    float32_keeping_winner,
    probabilities_like,
    probability_classes,
    require_probabilities,
)
from ..errors import InvalidParameterError
from ._arithmetic import exp, log

__all__ = ["smooth", "bayes_posterior_logits", "CLIP"]

#: Probabilities are clipped to ``[CLIP, 1 - CLIP]`` before the logit.
CLIP = 1e-6


@numba.njit(nogil=True, cache=True)
def _lower_bound(window, n, value):
    """First index of the sorted ``window[:n]`` whose value is not below ``value``."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if window[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@numba.njit(nogil=True, cache=True)
def _insert(window, n, value):
    """``value`` into the sorted ``window[:n]``; returns the new count."""
    at = _lower_bound(window, n, value)
    for t in range(n, at, -1):
        window[t] = window[t - 1]
    window[at] = value
    return n + 1


@numba.njit(nogil=True, cache=True)
def _remove(window, n, value):
    """One ``value`` (present) out of the sorted ``window[:n]``; returns the new count."""
    at = _lower_bound(window, n, value)
    for t in range(at, n - 1):
        window[t] = window[t + 1]
    return n - 1


@numba.njit(nogil=True, cache=True)
def _replace(window, n, old, new):
    """One ``old`` (present) in the sorted ``window[:n]`` replaced by ``new``, kept sorted:
    only the values between the two places move."""
    gone = _lower_bound(window, n, old)
    at = _lower_bound(window, n, new)
    if at > gone:
        at -= 1
        for t in range(gone, at):
            window[t] = window[t + 1]
    else:
        for t in range(gone, at, -1):
            window[t] = window[t - 1]
    window[at] = new


@numba.njit(nogil=True, cache=True)
def _kernel(logits, half, fraction, smoothness, out):
    """Posterior logits of the interior pixels of ``logits`` ``(layers, classes, ny, nx)``.

    Along each row the window's valid logits are kept sorted: a step to the right removes the
    column that leaves and inserts the one that enters (a binary search and a shift each)
    instead of sorting the whole window again. The sorted values are those a full sort gives,
    and the prior's sums run over them in the same order (highest first), so the bits are
    those of sorting every window.
    """
    layers, k_classes, ny, nx = logits.shape
    size = 2 * half + 1
    window = np.empty(size * size)
    for layer in range(layers):
        for k in range(k_classes):
            for i in range(half, ny - half):
                n = 0
                for di in range(-half, half + 1):
                    for dj in range(size):
                        v = logits[layer, k, i + di, dj]
                        if np.isfinite(v):
                            n = _insert(window, n, v)
                for j in range(half, nx - half):
                    if j > half:
                        for di in range(-half, half + 1):
                            old = logits[layer, k, i + di, j - half - 1]
                            new = logits[layer, k, i + di, j + half]
                            if np.isfinite(old) and np.isfinite(new):
                                _replace(window, n, old, new)
                            else:
                                if np.isfinite(old):
                                    n = _remove(window, n, old)
                                if np.isfinite(new):
                                    n = _insert(window, n, new)
                    if not np.isfinite(logits[layer, 0, i, j]):
                        out[layer, k, i, j] = np.nan
                        continue
                    used = max(1, min(n, math.ceil(fraction * n)))
                    total = 0.0
                    for t in range(used):  # highest first
                        total += window[n - 1 - t]
                    mean = total / used
                    var = 0.0
                    if used > 1:
                        for t in range(used):
                            d = window[n - 1 - t] - mean
                            var += d * d
                        var = var / (used - 1)
                    w = var / (var + smoothness[k])
                    out[layer, k, i, j] = w * logits[layer, k, i, j] + (1.0 - w) * mean
    return out


def bayes_posterior_logits(logits: np.ndarray, half: int, neigh_fraction: float,
                           smoothness: np.ndarray) -> np.ndarray:
    """Posterior logits (numpy, ``(layers, classes, ny, nx)`` float64, NaN = nodata) of every
    pixel whose whole window lies in ``logits``; the ``half``-pixel rim is NaN."""
    out = np.full(logits.shape, np.nan)
    return _kernel(np.ascontiguousarray(logits, np.float64), int(half),
                       float(neigh_fraction), np.asarray(smoothness, np.float64), out)


def logit(p: np.ndarray) -> np.ndarray:
    """``log(p / (1 - p))`` of ``p`` clipped to ``[CLIP, 1 - CLIP]`` (float64)."""
    p = np.clip(np.asarray(p, np.float64), CLIP, 1.0 - CLIP)
    return log(p / (1.0 - p))


def _smooth_block(block, half, neigh_fraction, smoothness):
    """One overlapped block ``(..., class, y, x)`` -> smoothed probabilities, same shape
    (the rim of ``half`` pixels is NaN: map_overlap trims it)."""
    shape = block.shape
    flat = block.reshape((-1,) + shape[-3:])
    posterior = bayes_posterior_logits(logit(flat), half, neigh_fraction, smoothness)
    with np.errstate(over="ignore"):
        p = 1.0 / (1.0 + exp(-posterior))
    total = p[:, 0].copy()
    for k in range(1, p.shape[1]):  # in class order
        total = total + p[:, k]
    p = p / total[:, None]
    rows = np.moveaxis(p, 1, -1).reshape(-1, p.shape[1])
    valid = np.isfinite(rows).all(axis=1)
    out = np.full(rows.shape, np.nan, np.float32)
    out[valid] = float32_keeping_winner(rows[valid])
    return np.moveaxis(out.reshape(p.shape[:1] + p.shape[2:] + p.shape[1:2]), -1, 1).reshape(
        shape)


def smooth(probabilities: xr.DataArray, window_size: int = 9, neigh_fraction: float = 0.5,
           smoothness: float | Sequence[float] = 20.0) -> xr.DataArray:
    """Bayesian smoothing of a probability cube, lazily and the same for any chunking.

    Parameters
    ----------
    probabilities : xarray.DataArray
        ``(..., "class", "y", "x")`` from :func:`xr_landcover.predict_proba`.
    window_size : int, default 9
        Side of the square window, odd, from 3 to 21 (sits' range).
    neigh_fraction : float, default 0.5
        Share (0, 1] of the window's pixels, those most likely for the class, that give the
        prior.
    smoothness : float or list of float, default 20
        The prior variance ``sigma^2`` of the logits, one number or one per class (in the
        order of the ``class`` coordinate); larger = smoother.

    Returns
    -------
    xarray.DataArray
        Smoothed ``"probabilities"``, the same dims, classes and attrs; float32 summing to 1
        per valid pixel, NaN on nodata. :func:`xr_landcover.label` turns it into a map.

    Raises
    ------
    InvalidParameterError
        ``window_size`` even or out of [3, 21], ``neigh_fraction`` out of (0, 1],
        ``smoothness`` not > 0 or of the wrong length.
    DimensionError
        ``probabilities`` is not a probability cube.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> import xr_landcover
    >>> p = np.full((2, 5, 5), 0.1, "float32")
    >>> p[0] = 0.9
    >>> p[:, 2, 2] = [0.4, 0.6]  # a lone pixel of class 2 among class 1
    >>> cube = xr.DataArray(p, dims=("class", "y", "x"), coords={"class": [1, 2]})
    >>> xr_landcover.label(cube).values[2, 2], xr_landcover.label(
    ...     cube.landcover.smooth(window_size=3, smoothness=10)).values[2, 2]
    (np.uint8(2), np.uint8(1))
    """
    probabilities = require_probabilities(probabilities)
    check_number("window_size", window_size, 3, 21, integer=True)
    if int(window_size) % 2 == 0:
        raise InvalidParameterError(f"window_size must be odd (3, 5, ..., 21); got {window_size}")
    check_number("neigh_fraction", neigh_fraction, 0, 1, low_open=True)
    k = probabilities.sizes["class"]
    sigma = np.atleast_1d(np.asarray(smoothness, dtype=np.float64))
    if sigma.shape == (1,):
        sigma = np.repeat(sigma, k)
    if sigma.shape != (k,) or not np.isfinite(sigma).all() or (sigma <= 0).any():
        raise InvalidParameterError(
            f"smoothness must be a number > 0 or {k} of them (one per class); got "
            f"{smoothness!r}")
    half = int(window_size) // 2
    data = probabilities.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=-1)
    axis = data.ndim - 3
    data = data.rechunk({axis: -1})
    depth = {i: 0 for i in range(data.ndim)}
    depth[data.ndim - 2] = depth[data.ndim - 1] = half
    boundary = {i: "none" for i in range(data.ndim)}
    boundary[data.ndim - 2] = boundary[data.ndim - 1] = "reflect"
    out = dsa.map_overlap(_smooth_block, data, depth=depth, boundary=boundary, trim=True,
                          dtype=np.float32, half=half, neigh_fraction=float(neigh_fraction),
                          smoothness=sigma, name=f"landcover-smooth-{uuid.uuid4().hex}")
    table = probability_classes(probabilities)
    result = probabilities_like(out, probabilities.isel({"class": 0}, drop=True), table.values,
                                table.names, table.colors)
    result.attrs.update({
        "long_name": "class probability (Bayesian smoothing)",
        "smoothing": f"bayes window_size={int(window_size)} neigh_fraction="
                     f"{float(neigh_fraction)} smoothness={sigma.tolist()}",
    })
    return result
