"""Per-segment attributes (ArcGIS *Compute Segment Attributes*) from per-block partial sums.

Each block of the segment map (with a one-pixel halo, so that the edges a segment shares with
the next block are seen from both sides) gives, per segment id present in it: the pixel count,
per band the count of valid values, their mean and their sum of squared deviations from that
mean, the sums of row and column indices, the bounding box, and the number of pixel edges on
the segment's outline. The partials are combined with the pairwise formulas of Chan, Golub &
LeVeque (1979), ``M2 = sum(M2_i) + sum(n_i (mean_i - mean)^2)``, which do not suffer the
cancellation of ``sum(x^2) - n mean^2``; counts, index sums, bounding boxes and perimeters are
integers and combine exactly. So a segment spanning several chunks gets the numbers it gets
unchunked (exactly for the shape attributes, to rounding for means and standard deviations).
Only the small per-segment tables travel; the image is never gathered.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask
import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from .._validate import require_same_grid
from ..errors import DimensionError, InvalidInputTypeError
from .prepare import select_bands

__all__ = ["segment_attributes", "attribute_table", "SHAPE_COLUMNS"]

#: Columns that do not depend on the bands, in the order of the table.
SHAPE_COLUMNS = ("count", "perimeter", "compactness", "rectangularity",
                 "centroid_x", "centroid_y")


# --------------------------------------------------------------------------------------------
# Per block (numpy only)
# --------------------------------------------------------------------------------------------


def _block_partials(values, padded_ids, row0, col0, nodata):
    """Partial statistics of one block.

    ``values`` is ``(bands, ny, nx)``; ``padded_ids`` is ``(ny + 2, nx + 2)``: the block's ids
    with the neighbouring blocks' pixels around it (0 outside the image).
    """
    ids = padded_ids[1:-1, 1:-1]
    # Outline edges of each pixel: 4-neighbours holding another id (or outside / nodata).
    edges = (
        (padded_ids[:-2, 1:-1] != ids).astype(np.int64)
        + (padded_ids[2:, 1:-1] != ids)
        + (padded_ids[1:-1, :-2] != ids)
        + (padded_ids[1:-1, 2:] != ids)
    )
    keep = ids > 0
    rows, cols = np.nonzero(keep)
    uid, inv = np.unique(ids[keep], return_inverse=True)
    n = len(uid)
    count = np.bincount(inv, minlength=n).astype(np.int64)
    perimeter = np.bincount(inv, weights=edges[keep], minlength=n).astype(np.int64)
    row_sum = np.bincount(inv, weights=rows, minlength=n).astype(np.int64) + row0 * count
    col_sum = np.bincount(inv, weights=cols, minlength=n).astype(np.int64) + col0 * count
    order = np.argsort(inv, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(inv[order]) != 0]) if n else np.empty(0, int)
    r_sorted, c_sorted = rows[order], cols[order]
    bbox = np.empty((4, n), dtype=np.int64)
    if n:
        bbox[0] = np.minimum.reduceat(r_sorted, starts) + row0
        bbox[1] = np.maximum.reduceat(r_sorted, starts) + row0
        bbox[2] = np.minimum.reduceat(c_sorted, starts) + col0
        bbox[3] = np.maximum.reduceat(c_sorted, starts) + col0

    nb = values.shape[0]
    vcount = np.zeros((nb, n), dtype=np.int64)
    mean = np.zeros((nb, n), dtype=np.float64)
    m2 = np.zeros((nb, n), dtype=np.float64)
    for k in range(nb):
        v = values[k][keep].astype(np.float64)
        ok = np.isfinite(v)
        if nodata is not None and not np.isnan(nodata):
            ok &= v != nodata
        vi, vv = inv[ok], v[ok]
        vcount[k] = np.bincount(vi, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            mk = np.bincount(vi, weights=vv, minlength=n) / vcount[k]
        mk[vcount[k] == 0] = 0.0
        mean[k] = mk
        # Two passes inside the block: deviations from the block's own segment means.
        m2[k] = np.bincount(vi, weights=(vv - mk[vi]) ** 2, minlength=n)
    return uid, count, perimeter, row_sum, col_sum, bbox, vcount, mean, m2


def _combine(parts, nb):
    """Merge the partials of all blocks into one row per segment id (sorted)."""
    parts = [p for p in parts if len(p[0])]
    if not parts:
        empty_i = np.empty(0, dtype=np.int64)
        return {"uid": empty_i, "count": empty_i, "perimeter": empty_i, "row_sum": empty_i,
                "col_sum": empty_i, "bbox": np.empty((4, 0), np.int64),
                "vcount": np.empty((nb, 0), np.int64), "mean": np.empty((nb, 0)),
                "m2": np.empty((nb, 0))}
    ids = np.concatenate([p[0] for p in parts])
    uid, inv = np.unique(ids, return_inverse=True)
    n = len(uid)

    def add(i):
        out = np.zeros(n, dtype=np.int64)
        np.add.at(out, inv, np.concatenate([p[i] for p in parts]))
        return out

    count, perimeter, row_sum, col_sum = add(1), add(2), add(3), add(4)
    boxes = np.concatenate([p[5] for p in parts], axis=1)
    bbox = np.empty((4, n), dtype=np.int64)
    for k, (ufunc, start) in enumerate(((np.minimum, np.iinfo(np.int64).max),
                                        (np.maximum, -1),
                                        (np.minimum, np.iinfo(np.int64).max),
                                        (np.maximum, -1))):
        bbox[k] = start
        ufunc.at(bbox[k], inv, boxes[k])
    vcounts = np.concatenate([p[6] for p in parts], axis=1)
    means = np.concatenate([p[7] for p in parts], axis=1)
    m2s = np.concatenate([p[8] for p in parts], axis=1)
    vcount = np.zeros((nb, n), dtype=np.int64)
    mean = np.zeros((nb, n))
    m2 = np.zeros((nb, n))
    for k in range(nb):
        np.add.at(vcount[k], inv, vcounts[k])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean[k] = np.bincount(inv, vcounts[k] * means[k], n) / vcount[k]
        dev = means[k] - mean[k][inv]
        m2[k] = np.bincount(inv, m2s[k] + vcounts[k] * np.where(vcounts[k] > 0, dev, 0) ** 2, n)
    return {"uid": uid, "count": count, "perimeter": perimeter, "row_sum": row_sum,
            "col_sum": col_sum, "bbox": bbox, "vcount": vcount, "mean": mean, "m2": m2}


def _to_frame(table, band_names, transform):
    """The combined partials as the documented DataFrame."""
    count = table["count"].astype(np.float64)
    perimeter = table["perimeter"].astype(np.float64)
    bbox = table["bbox"]
    box_area = (bbox[1] - bbox[0] + 1) * (bbox[3] - bbox[2] + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        row_c = table["row_sum"] / count + 0.5  # pixel centres
        col_c = table["col_sum"] / count + 0.5
        cols = {
            "count": table["count"],
            "perimeter": table["perimeter"],
            "compactness": 4.0 * np.pi * count / perimeter**2,
            "rectangularity": count / box_area,
            "centroid_x": transform.c + transform.a * col_c + transform.b * row_c,
            "centroid_y": transform.f + transform.d * col_c + transform.e * row_c,
        }
        vcount = table["vcount"]
        for k, name in enumerate(band_names):
            cols[f"mean_{name}"] = np.where(vcount[k] > 0, table["mean"][k], np.nan)
        for k, name in enumerate(band_names):
            cols[f"std_{name}"] = np.where(vcount[k] > 0,
                                           np.sqrt(table["m2"][k] / vcount[k]), np.nan)
    return pd.DataFrame(cols, index=pd.Index(table["uid"], name="segment_id"))


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def check_grid(cube: xr.DataArray, segments: xr.DataArray) -> None:
    """Raise :class:`GridMismatchError` unless ``segments`` lies on the pixel grid of ``cube``."""
    if not isinstance(segments, xr.DataArray):
        raise InvalidInputTypeError(
            f"segments must be an xarray.DataArray of segment ids, got {type(segments).__name__}"
        )
    if set(segments.dims) != {"y", "x"}:
        raise DimensionError(f"a segment map needs dims ('y', 'x'); got {segments.dims}")
    if not np.issubdtype(segments.dtype, np.integer):
        raise InvalidInputTypeError(
            f"segments must hold integer segment ids (0 = nodata); got dtype {segments.dtype}"
        )
    require_same_grid(cube, segments, fix=(
        "segment this very cube (cube.landcover.segment(...)), or bring the segment map onto "
        "its grid with segments.rio.reproject_match(cube, resampling=Resampling.nearest)"))


def _band_subset(cube: xr.DataArray, bands) -> xr.DataArray:
    if bands is None:
        return cube
    return select_bands(cube, bands)


def attribute_table(cube: xr.DataArray, segments: xr.DataArray, bands=None):
    """The lazy (``dask.delayed``) attribute DataFrame of :func:`segment_attributes`.

    Use it to keep the attribute pass in the same graph as what consumes it (as
    :func:`xr_landcover.classify` does with ``segments=``).
    """
    if not isinstance(cube, xr.DataArray):
        raise InvalidInputTypeError(f"cube must be an xarray.DataArray, got {type(cube).__name__}")
    missing = [d for d in ("band", "y", "x") if d not in cube.dims]
    extra = [d for d in cube.dims if d not in ("band", "y", "x")]
    if missing or extra:
        raise DimensionError(
            f"segment attributes need a cube with dims ('band', 'y', 'x'); got {cube.dims}"
            + (f": select one {extra[0]} first, e.g. cube.isel({extra[0]}=0)" if extra else "")
        )
    check_grid(cube, segments)
    cube = _band_subset(cube.transpose("band", "y", "x"), bands)
    names = [str(b) for b in cube.band.values]
    ids = segments.transpose("y", "x").data
    if not isinstance(ids, da.Array):
        ids = da.from_array(np.asarray(ids), chunks=1024)
    values = cube.data
    if not isinstance(values, da.Array):
        values = da.from_array(np.asarray(values))
    values = values.rechunk((-1,) + ids.chunks)
    # A one-pixel halo of the neighbouring blocks' ids (0 outside the image): outline edges
    # along chunk borders are then counted exactly once, by the block that owns the pixel.
    halo = da.overlap.overlap(ids, depth={0: 1, 1: 1}, boundary={0: 0, 1: 0})
    hblocks = halo.to_delayed()
    vblocks = values.to_delayed()[0]
    y0 = np.r_[0, np.cumsum(ids.chunks[0])]
    x0 = np.r_[0, np.cumsum(ids.chunks[1])]
    nodata = cube.rio.nodata
    nodata = None if nodata is None else float(nodata)
    partial = dask.delayed(_block_partials, pure=True)
    parts = [partial(vblocks[i, j], hblocks[i, j], int(y0[i]), int(x0[j]), nodata)
             for i in range(len(ids.chunks[0])) for j in range(len(ids.chunks[1]))]
    table = dask.delayed(_combine, pure=True)(parts, len(names))
    try:
        transform = segments.rio.transform()
    except Exception:  # no usable coordinates: centroids in pixel units
        from affine import Affine

        transform = Affine.identity()
    return dask.delayed(_to_frame, pure=True)(table, names, transform)


def segment_attributes(
    cube: xr.DataArray,
    segments: xr.DataArray,
    bands: Sequence[int | str] | None = None,
) -> pd.DataFrame:
    """Attributes of every segment: band means and standard deviations, size, shape, centroid.

    The attributes of ArcGIS's *Compute Segment Attributes* (``MEAN``, ``STD``, ``COUNT``,
    ``COMPACTNESS``, ``RECTANGULARITY``) plus the perimeter and the centroid. ArcGIS describes
    compactness ("1 is a circle") and rectangularity ("1 is a rectangle") without formulas;
    the definitions used here are:

    - ``perimeter``: the number of pixel edges between the segment and any other segment,
      nodata, or the image border (4-neighbour outline, in pixel edges).
    - ``compactness``: the isoperimetric quotient ``4 pi count / perimeter**2``. With an
      outline made of pixel edges it does not reach 1: a square gets ``pi / 4`` (0.785), a
      digitized disc about ``pi**2 / 16`` (0.62); thin or ragged segments get less.
    - ``rectangularity``: ``count /`` the area of the segment's **axis-aligned** bounding box
      (not the minimum-area rotated rectangle): 1 for a filled axis-aligned rectangle, about
      0.785 for a disc, less for rotated, hollow or branching segments.

    Shape attributes are measured on the pixel grid (square pixels assumed). ``std`` is the
    population standard deviation (``ddof=0``). A value that is NaN or the cube's nodata is
    left out of its band's mean and std (NaN if a band has no valid value in a segment) but
    the pixel still counts in ``count``.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``("band", "y", "x")`` on the grid of ``segments`` (any bands, not only the
        segmented ones).
    segments : xarray.DataArray
        Integer segment ids ``("y", "x")``, 0 = nodata, e.g. from
        :func:`xr_landcover.segment.segment`.
    bands : sequence of int or str, optional
        Bands by position or name; default all bands of the cube.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``segment_id`` (sorted), columns ``count``, ``perimeter``, ``compactness``,
        ``rectangularity``, ``centroid_x``, ``centroid_y`` (map coordinates of the mean pixel
        centre), then ``mean_<band>`` for each band, then ``std_<band>``. Computing it is one
        pass over the blocks whose per-block tables (a row per segment present) are combined:
        a small reduction.

    Raises
    ------
    GridMismatchError
        ``segments`` is not on the cube's grid (shape, CRS or coordinates differ).
    DimensionError, InvalidInputTypeError
        Wrong dims or types.

    See Also
    --------
    xr_landcover.segment.segment_mean : the per-segment mean painted back as an image.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xr_landcover import segment_attributes
    >>> seg = xr.DataArray(np.array([[1, 1, 2], [1, 1, 2]]), dims=("y", "x"))
    >>> cube = xr.DataArray(np.arange(6.0).reshape(1, 2, 3), dims=("band", "y", "x"),
    ...                     coords={"band": ["nir"]})
    >>> attrs = segment_attributes(cube, seg)
    >>> attrs[["count", "perimeter", "rectangularity", "mean_nir", "std_nir"]].round(4)
                count  perimeter  rectangularity  mean_nir  std_nir
    segment_id
    1               4          8             1.0       2.0   1.5811
    2               2          6             1.0       3.5   1.5000
    """
    # A small reduction: one row per segment.
    return attribute_table(cube, segments, bands).compute()
