"""``accuracy_points()``: the sampling design of the accuracy assessment.

Stratified random (the map classes are the strata, the design that
:meth:`~xr_landcover.AccuracyReport.area_estimates` assumes) or simple random points at pixel
centres, as ArcGIS's *Create Accuracy Assessment Points* draws them. Two reads of the map: one
pass counts the valid pixels of each class in each chunk (:func:`.reference.block_class_counts`,
a small table); the points are drawn as ranks within each class, mapped to chunks with those
counts, and only the chunks that receive a point are read again to find the pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import dask
import numpy as np
import xarray as xr

from .._validate import DEFAULT_ACCURACY_POINTS, check_choice, check_number, require_class_map
from ..classmap import fill_value
from ..errors import InvalidParameterError, NoSamplesError
from .reference import (
    UNLABELLED,
    as_dask,
    block_class_counts,
    map_classes,
    pixel_centres,
    valid_mask,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["accuracy_points"]


def _largest_remainder(shares: np.ndarray, n: int) -> np.ndarray:
    """Integers proportional to ``shares`` summing to ``n`` (Hamilton's method)."""
    exact = shares / shares.sum() * n
    out = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - out), kind="stable")
    out[order[: n - out.sum()]] += 1
    return out


def _given_allocation(allocation: Mapping, values: list[int], names: dict[int, str],
                      n: int | None) -> np.ndarray:
    """Points per class from a mapping keyed by class value or name (e.g.
    :attr:`SampleSize.allocation <xr_landcover.assessment.sample_sizing.SampleSize>`)."""
    by_key = {str(k): v for k, v in allocation.items()}
    known = {str(v) for v in values} | {names.get(v, str(v)) for v in values}
    unknown = sorted(k for k in by_key if k not in known)
    if unknown:
        raise InvalidParameterError(
            f"allocation names classes the map does not hold: {unknown}; map classes "
            f"{ {v: names.get(v, str(v)) for v in values} }"
        )
    out = []
    for v in values:
        k = by_key.get(str(v), by_key.get(names.get(v, str(v)), 0))
        check_number(f"allocation[{v}]", k, 0, integer=True)
        out.append(int(k))
    out = np.array(out, dtype=np.int64)
    if out.sum() == 0:
        raise InvalidParameterError("allocation gives no point to any class of the map")
    if n is not None and int(n) != int(out.sum()):
        raise InvalidParameterError(
            f"n={n} but allocation holds {int(out.sum())} points; leave n out (None) with an "
            "allocation mapping"
        )
    return out


def _allocate(pixels: np.ndarray, n: int, allocation: str, min_per_class: int) -> np.ndarray:
    k = len(pixels)
    if allocation == "proportional":
        alloc = _largest_remainder(pixels.astype(float), n)
    else:  # equal
        alloc = _largest_remainder(np.ones(k), n)
    alloc = np.maximum(alloc, min_per_class)
    return np.minimum(alloc, pixels)


def _find_in_block(
    block: np.ndarray, targets: list[tuple[int | None, np.ndarray]], nodata: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions (C order) and values of the ``ranks``-th valid pixels of each class."""
    flat = np.asarray(block).ravel()
    valid = valid_mask(flat, nodata)
    out = []
    for value, ranks in targets:
        # value None: any valid pixel (simple random sampling)
        positions = np.flatnonzero(valid if value is None else valid & (flat == value))
        out.append(positions[ranks])
    positions = np.concatenate(out)
    return positions, flat[positions].astype(np.int64)


def accuracy_points(
    class_map: xr.DataArray,
    n: int | None = None,
    strategy: str = "stratified_random",
    allocation: str | Mapping = "proportional",
    min_per_class: int = 0,
    random_state: int | np.random.Generator | None = 0,
) -> gpd.GeoDataFrame:
    """Random accuracy-assessment points at pixel centres, as ArcGIS's tool of the same name.

    Work is done in two steps: one pass over the map counts the valid pixels of each class in
    each chunk (a small table); the points are then drawn as ranks within each class, mapped to
    chunks with those counts, and only the chunks that receive a point are read again to find
    the pixels.  Nodata pixels are never drawn; pixels are drawn without replacement.

    Parameters
    ----------
    class_map : xarray.DataArray
        2-D integer class map with a CRS and a nodata value.
    n : int, optional
        Number of points (before ``min_per_class`` raises small classes); default 500, or
        the sum of an ``allocation`` mapping.
    strategy : {"stratified_random", "random"}
        ``"stratified_random"``: a simple random sample within each class (the map classes
        are the strata, the design that :meth:`AccuracyReport.area_estimates` assumes);
        ``"random"``: a simple random sample of all valid pixels.
    allocation : {"proportional", "equal"} or mapping
        Points per class for ``"stratified_random"``: proportional to the class's pixel count
        (largest remainders, so they sum to ``n``), the same for every class, or a mapping
        ``{class value or name: points}`` such as ``sample_size(class_map).allocation``
        (:func:`~xr_landcover.sample_size`); classes it leaves out get none.
    min_per_class : int
        Each class gets at least this many points (or all its pixels if it has fewer);
        Olofsson et al. (2014) suggest 50 to 100 for rare classes.
    random_state : int or numpy.random.Generator, optional
        Seed; the same seed gives the same points.

    Returns
    -------
    geopandas.GeoDataFrame
        In the map's CRS, sorted by class then row and column: ``Classified`` (map class
        value), ``GrndTruth`` (``-1``, to be filled with the reference class),
        ``class_name``, and point geometries at pixel centres.  Once ``GrndTruth`` is
        filled, pass the frame to :func:`accuracy`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> data = np.array([[1] * 8, [1] * 8, [2] * 8, [0] * 8], dtype="uint8")
    >>> m = xr.DataArray(data, dims=("y", "x"), attrs={"_FillValue": 0},
    ...                  coords={"y": [35.0, 25.0, 15.0, 5.0], "x": np.arange(8) * 10 + 5.0})
    >>> m = m.rio.write_crs("EPSG:32618")
    >>> pts = accuracy_points(m, n=6, random_state=1)
    >>> pts["Classified"].value_counts().sort_index().tolist()
    [4, 2]
    >>> sorted(set(pts["GrndTruth"]))
    [-1]
    """
    import geopandas as gpd

    class_map = require_class_map(class_map, crs=True)
    check_choice("strategy", strategy, ("stratified_random", "random"))
    given = isinstance(allocation, Mapping)
    if not given:
        check_choice("allocation", allocation, ("proportional", "equal"))
    if n is not None:
        check_number("n", n, 1, integer=True)
    if given and strategy != "stratified_random":
        raise InvalidParameterError(
            "an allocation mapping needs strategy='stratified_random' (the classes are the strata)"
        )
    check_number("min_per_class", min_per_class, 0, integer=True)
    rng = np.random.default_rng(random_state)

    block_counts = block_class_counts(class_map)  # the one full pass: chunks x classes
    if block_counts.to_numpy().sum() == 0:  # no column, or (never seen) only zero counts
        raise NoSamplesError("the class map has no valid (non-nodata) pixel")
    values = [int(v) for v in block_counts.columns]
    if strategy == "random":
        strata = {None: block_counts.sum(axis=1).to_numpy()}
        alloc = [min(int(n or DEFAULT_ACCURACY_POINTS), int(block_counts.to_numpy().sum()))]
    else:
        strata = {v: block_counts[v].to_numpy() for v in values}
        pixels = np.array([s.sum() for s in strata.values()])
        if given:
            wanted = _given_allocation(allocation, values, map_classes(class_map), n)
            alloc = np.minimum(np.maximum(wanted, int(min_per_class)), pixels)
        else:
            alloc = _allocate(pixels, int(n or DEFAULT_ACCURACY_POINTS), allocation,
                              int(min_per_class))

    # ranks within each stratum -> (chunk, rank within the chunk)
    per_block: dict[int, list[tuple[int | None, np.ndarray]]] = {}
    for (value, per_chunk), k in zip(strata.items(), alloc):
        if k == 0:
            continue
        ranks = np.sort(rng.choice(int(per_chunk.sum()), size=int(k), replace=False))
        starts = np.concatenate([[0], np.cumsum(per_chunk)])
        chunk = np.searchsorted(starts, ranks, side="right") - 1
        for b in np.unique(chunk):
            per_block.setdefault(int(b), []).append((value, ranks[chunk == b] - starts[b]))

    data = as_dask(class_map.data)
    nodata = fill_value(class_map)
    blocks = data.to_delayed().ravel()
    block_ids = sorted(per_block)
    # only the chunks that receive a point are read again
    found = dask.compute(
        *[dask.delayed(_find_in_block)(blocks[b], per_block[b], nodata) for b in block_ids]
    )
    row_starts = np.concatenate([[0], np.cumsum(data.chunks[0])])
    col_starts = np.concatenate([[0], np.cumsum(data.chunks[1])])
    n_col_blocks = len(data.chunks[1])
    rows_l, cols_l, classes_l = [], [], []
    for b, (flat, classes) in zip(block_ids, found):
        bi, bj = divmod(b, n_col_blocks)
        width = data.chunks[1][bj]
        r, c = np.divmod(np.asarray(flat, dtype=np.int64), width)
        rows_l.append(r + row_starts[bi])
        cols_l.append(c + col_starts[bj])
        classes_l.append(classes)
    rows = np.concatenate(rows_l)
    cols = np.concatenate(cols_l)
    classified = np.concatenate(classes_l)
    order = np.lexsort((cols, rows, classified))
    rows, cols, classified = rows[order], cols[order], classified[order]
    xs, ys = pixel_centres(class_map, rows, cols)
    names = map_classes(class_map)
    return gpd.GeoDataFrame(
        {
            "Classified": classified,
            "GrndTruth": np.full(len(rows), UNLABELLED, dtype=np.int64),
            "class_name": [names.get(int(v), str(int(v))) for v in classified],
        },
        geometry=gpd.points_from_xy(xs, ys),
        crs=class_map.rio.crs,
    )
