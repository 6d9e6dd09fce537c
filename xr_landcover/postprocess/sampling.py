"""Where to add training data: points at the most uncertain pixels, spread out.

:func:`uncertainty_points` picks pixels greedily, most uncertain first (ties: upper row, then
left column), keeping a pixel when its uncertainty is at least ``min_uncertainty``, it is no
pixel of ``exclude``, and it lies at least ``min_distance`` pixels (Euclidean, centre to
centre) from every point kept before it, until ``n`` points are kept.

The map is never gathered: one pass counts its pixels in 4096 uncertainty bins (a small
reduction); then the pixels of the top bins (about ``4 n`` of them) are read, sorted and
picked; only when they do not give ``n`` points are the next bins read. The bins only bound
memory: the greedy order is that of the whole image, so the points do not depend on the
chunking. (A bin holds every pixel of its range: a map with very many equal values reads them
at once.) The map is read at least twice: persist it, or write and reopen it, when it is
costly to compute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from .._validate import check_number, require_crs, require_dataarray
from .._warnings import warn
from ..errors import DimensionError, InvalidInputTypeError, InvalidParameterError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["uncertainty_points", "BINS"]

#: Uncertainty bins of the counting pass.
BINS = 4096
#: Label of a point that has no class yet (the accuracy points' ``GrndTruth`` convention).
UNLABELLED = -1


def _histogram(block, edges):
    values = block[np.isfinite(block)]
    return np.histogram(values, bins=edges)[0].astype(np.int64)


def _band(block, lo, hi, top, row0, col0, excluded):
    """Pixels of a block with ``lo <= u < hi`` (``<= hi`` for the top band): rows, cols, u."""
    inside = (block >= lo) & ((block <= hi) if top else (block < hi))
    rows, cols = np.nonzero(inside)
    rows, cols = rows + row0, cols + col0
    u = block[inside]
    if len(excluded):
        keys = rows.astype(np.int64) * (1 << 32) + cols
        keep = ~np.isin(keys, excluded)
        rows, cols, u = rows[keep], cols[keep], u[keep]
    return rows.astype(np.int64), cols.astype(np.int64), u.astype(np.float64)


def _excluded_pixels(exclude, grid: xr.DataArray) -> np.ndarray:
    """Sorted ``row * 2**32 + col`` keys of the pixels under ``exclude``'s points."""
    if exclude is None:
        return np.empty(0, np.int64)
    import geopandas as gpd

    if isinstance(exclude, gpd.GeoSeries):
        exclude = gpd.GeoDataFrame(geometry=exclude)
    if not isinstance(exclude, gpd.GeoDataFrame):
        raise InvalidInputTypeError(
            f"exclude must be a GeoDataFrame of points (e.g. accuracy_points(...)); got "
            f"{type(exclude).__name__}")
    if len(exclude) == 0:
        return np.empty(0, np.int64)
    if exclude.crs is None:
        raise InvalidParameterError("exclude has no CRS; set one with exclude.set_crs(...)")
    kinds = set(exclude.geom_type)
    if not kinds <= {"Point"}:
        raise InvalidParameterError(
            f"exclude must hold points; got {sorted(kinds)} (take their pixels first, e.g. "
            "with representative_point())")
    pts = exclude.to_crs(grid.rio.crs)
    inverse = ~grid.rio.transform()
    cols, rows = inverse * (pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy())
    rows, cols = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
    return np.unique(rows * (1 << 32) + cols)


def uncertainty_points(uncertainty: xr.DataArray, n: int = 100, min_uncertainty: float = 0.4,
                       min_distance: float = 10, exclude: gpd.GeoDataFrame | None = None,
                       ) -> gpd.GeoDataFrame:
    """Points at the most uncertain pixels, at least ``min_distance`` pixels apart.

    Parameters
    ----------
    uncertainty : xarray.DataArray
        ``("y", "x")`` from :meth:`~xr_landcover.LandcoverAccessor.uncertainty`, with a CRS.
    n : int, default 100
        Points wanted.
    min_uncertainty : float, default 0.4
        Pixels less uncertain than this are never picked.
    min_distance : float, default 10
        Least distance between two points, in pixels (0: any).
    exclude : geopandas.GeoDataFrame, optional
        Points whose pixels are never picked: the accuracy-assessment points, so that the
        probability sample of the area estimates stays untouched.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per point, most uncertain first, at pixel centres in the map's CRS, in the
        training-sample schema: ``Classvalue`` (-1: label it), ``Classname`` (empty), and
        ``uncertainty``. Label the points and pass them to :func:`xr_landcover.train`.

    Warns
    -----
    UserWarning
        Fewer than ``n`` pixels qualify (the message says how many and what to relax).

    Raises
    ------
    DimensionError
        ``uncertainty`` is not ``("y", "x")`` (a probability cube: take its uncertainty first).
    InvalidParameterError
        ``n`` < 1, ``min_uncertainty`` out of [0, 1], ``min_distance`` < 0; ``exclude``
        without CRS or with other geometries than points.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from rasterio.transform import from_origin
    >>> u = np.zeros((20, 20), "float32")
    >>> u[5, 5], u[5, 7], u[15, 15] = 0.9, 0.8, 0.7
    >>> m = xr.DataArray(u, dims=("y", "x"), coords={"y": 19.5 - np.arange(20.0),
    ...                                               "x": np.arange(20.0) + 0.5})
    >>> m = m.rio.write_crs("EPSG:32618").rio.write_transform(from_origin(0, 20, 1, 1))
    >>> pts = m.landcover.uncertainty_points(n=2, min_distance=5)
    >>> pts["uncertainty"].round(2).tolist(), [(p.x, p.y) for p in pts.geometry]
    ([0.9, 0.7], [(5.5, 14.5), (15.5, 4.5)])
    """
    import geopandas as gpd

    uncertainty = require_dataarray(uncertainty, "uncertainty")
    if uncertainty.ndim != 2 or set(uncertainty.dims) != {"y", "x"}:
        hint = (": take its uncertainty first, probabilities.landcover.uncertainty()"
                if "class" in uncertainty.dims else "")
        raise DimensionError(
            f"uncertainty must be a map with dims ('y', 'x'); got {uncertainty.dims}{hint}")
    if not np.issubdtype(uncertainty.dtype, np.floating):
        raise InvalidInputTypeError(
            f"uncertainty must hold floats in [0, 1]; got dtype {uncertainty.dtype} (a class "
            "map? use probabilities.landcover.uncertainty())")
    uncertainty = require_crs(uncertainty.transpose("y", "x"), "uncertainty")
    check_number("n", n, 1, integer=True)
    check_number("min_uncertainty", min_uncertainty, 0, 1)
    check_number("min_distance", min_distance, 0)
    excluded = _excluded_pixels(exclude, uncertainty)
    data = uncertainty.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=-1)
    edges = np.linspace(float(min_uncertainty), 1.0, BINS + 1)
    offsets = [np.cumsum((0,) + c[:-1]) for c in data.chunks]
    blocks = [(data.blocks[i, j], offsets[0][i], offsets[1][j])
              for i in range(data.numblocks[0]) for j in range(data.numblocks[1])]
    # small reduction: per-bin pixel counts
    counts = sum(dask.compute(*[dask.delayed(_histogram)(b, edges) for b, _, _ in blocks]))
    kept_r, kept_c, kept_u = [], [], []
    limit2 = float(min_distance) ** 2
    hi_bin = BINS
    while hi_bin > 0 and len(kept_u) < n:
        lo_bin = hi_bin - 1
        while lo_bin > 0 and counts[lo_bin:hi_bin].sum() < 4 * n:
            lo_bin -= 1
        lo, hi, top = edges[lo_bin], edges[hi_bin], hi_bin == BINS
        parts = dask.compute(*[dask.delayed(_band)(b, lo, hi, top, r0, c0, excluded)
                               for b, r0, c0 in blocks])
        rows = np.concatenate([p[0] for p in parts])
        cols = np.concatenate([p[1] for p in parts])
        u = np.concatenate([p[2] for p in parts])
        for k in np.lexsort((cols, rows, -u)):
            if kept_r and limit2 > 0:
                dr = np.asarray(kept_r) - rows[k]
                dc = np.asarray(kept_c) - cols[k]
                if (dr * dr + dc * dc < limit2).any():
                    continue
            kept_r.append(int(rows[k]))
            kept_c.append(int(cols[k]))
            kept_u.append(float(u[k]))
            if len(kept_u) == n:
                break
        hi_bin = lo_bin
    if len(kept_u) < n:
        warn(
            f"only {len(kept_u)} of the {n} points asked for: no more pixels have an "
            f"uncertainty >= {min_uncertainty} at least {min_distance} pixels from the others"
            " (and off exclude); lower min_uncertainty or min_distance")
    xs, ys = uncertainty.rio.transform() * (np.asarray(kept_c, float) + 0.5,
                                            np.asarray(kept_r, float) + 0.5)
    return gpd.GeoDataFrame(
        {"Classvalue": np.full(len(kept_u), UNLABELLED, np.int64),
         "Classname": [""] * len(kept_u),
         "uncertainty": np.asarray(kept_u, np.float64)},
        geometry=gpd.points_from_xy(np.atleast_1d(xs), np.atleast_1d(ys)),
        crs=uncertainty.rio.crs)
