"""Per-segment mean of any cube: the mean-colour image ArcGIS shows after a segmentation."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
import xarray as xr

from .._validate import require_cube
from .attributes import check_grid

__all__ = ["segment_mean"]


def _block_sums(values, ids):
    """Per segment id in the block: counts and sums of the finite values of each band."""
    keep = ids > 0
    uid, inv = np.unique(ids[keep], return_inverse=True)
    nb = values.shape[0]
    counts = np.zeros((nb, len(uid)), dtype=np.int64)
    sums = np.zeros((nb, len(uid)), dtype=np.float64)
    for k in range(nb):
        v = values[k][keep].astype(np.float64)
        ok = np.isfinite(v)
        counts[k] = np.bincount(inv[ok], minlength=len(uid))
        sums[k] = np.bincount(inv[ok], weights=v[ok], minlength=len(uid))
    return uid, counts, sums


def _mean_table(parts):
    ids = np.concatenate([p[0] for p in parts])
    uid, inv = np.unique(ids, return_inverse=True)
    nb = parts[0][1].shape[0]
    counts = np.zeros((nb, len(uid)))
    sums = np.zeros((nb, len(uid)))
    for k in range(nb):
        counts[k] = np.bincount(inv, np.concatenate([p[1][k] for p in parts]), len(uid))
        sums[k] = np.bincount(inv, np.concatenate([p[2][k] for p in parts]), len(uid))
    with np.errstate(invalid="ignore", divide="ignore"):
        return uid, (sums / counts).astype(np.float32)


def _paint(ids, table, nb):
    uid, means = table
    out = np.full((nb,) + ids.shape, np.nan, dtype=np.float32)
    keep = ids > 0
    if keep.any() and len(uid):
        pos = np.searchsorted(uid, ids[keep])
        out[:, keep] = means[:, pos]
    return out


def segment_mean(cube: xr.DataArray, segments: xr.DataArray) -> xr.DataArray:
    """Replace every pixel by the mean of its segment, band by band, lazily.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``("band", "y", "x")`` on the same grid as ``segments`` (any bands, not only
        those segmented); NaN values are left out of the means.
    segments : xarray.DataArray
        Segment ids ``("y", "x")``, 0 = nodata, e.g. from :func:`xr_landcover.segment.segment`.

    Returns
    -------
    xarray.DataArray
        float32 ``("band", "y", "x")``; NaN where the segment id is 0. One small reduction
        (per-segment sums) sits in the graph; nothing is computed until you compute.

    Examples
    --------
    >>> from xr_landcover import datasets, segment_mean
    >>> cube = datasets.l8_rgb_uint8().isel(y=slice(0, 48), x=slice(0, 48))
    >>> seg = cube.landcover.segment(spatial_radius=3, min_segment_size=10)
    >>> rgb = segment_mean(cube, seg)
    >>> rgb.dims, str(rgb.dtype)
    (('band', 'y', 'x'), 'float32')
    """
    cube = require_cube(cube, crs=False, single_image="segment_mean")
    check_grid(cube, segments)
    ids = segments.transpose("y", "x").data
    if not isinstance(ids, da.Array):
        ids = da.from_array(ids, chunks=1024)
    values = cube.data
    if not isinstance(values, da.Array):
        values = da.from_array(values)
    values = values.rechunk((-1,) + ids.chunks)
    nb = values.shape[0]
    vblocks, iblocks = values.to_delayed()[0], ids.to_delayed()
    parts = [dask.delayed(_block_sums, pure=True)(vblocks[i, j], iblocks[i, j])
             for i in range(iblocks.shape[0]) for j in range(iblocks.shape[1])]
    table = dask.delayed(_mean_table, pure=True)(parts)  # one row per segment: small
    paint = dask.delayed(_paint, pure=True)
    out = da.block([
        [da.from_delayed(paint(iblocks[i, j], table, nb), shape=(nb, ny, nx), dtype=np.float32)
         for j, nx in enumerate(ids.chunks[1])]
        for i, ny in enumerate(ids.chunks[0])
    ])
    res = xr.DataArray(out, dims=("band", "y", "x"),
                       coords={"band": cube.band, "y": cube.y, "x": cube.x},
                       name="segment_mean", attrs={"long_name": "per-segment mean"})
    crs = segments.rio.crs or cube.rio.crs
    if crs is not None:
        res = res.rio.write_crs(crs)
    return res
