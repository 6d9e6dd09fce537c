"""The leakage guard of :func:`~xr_landcover.accuracy`: reference samples on or next to the
training samples.

A reference pixel inside a training polygon was, in effect, seen by the classifier; one beside
it is nearly a copy of a training pixel (neighbouring pixels are alike). Either makes the
accuracy optimistic. :func:`near_training` counts the reference samples whose pixel centre lies
inside or within one pixel (the larger side of the map's pixel) of a training sample, so that
:func:`~xr_landcover.accuracy` can say how many there are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._warnings import warn

__all__ = ["near_training", "warn_if_near_training"]


def near_training(class_map: xr.DataArray, rows: np.ndarray, cols: np.ndarray,
                  training: Any) -> tuple[np.ndarray, float]:
    """Which of the reference samples at pixels ``(rows, cols)`` of ``class_map`` lie inside
    or within one pixel of a training sample, and that distance.

    Parameters
    ----------
    class_map : xarray.DataArray
        The map (its CRS and transform place the pixels).
    rows, cols : numpy.ndarray
        The reference samples' pixels.
    training : GeoDataFrame or path
        The training polygons or points (any CRS; read and checked as :func:`train` reads
        them).

    Returns
    -------
    (numpy.ndarray of bool, float)
        Per sample, whether it is near the training samples; the distance used (map units).
    """
    import geopandas as gpd
    import pyproj
    import shapely

    from ..classification.samples import read_samples

    gdf = read_samples(training)
    target = pyproj.CRS.from_wkt(class_map.rio.crs.to_wkt())
    geoms = gpd.GeoSeries(gdf.geometry.values, crs=gdf.crs).to_crs(target).values
    transform = class_map.rio.transform()
    pixel = float(max(abs(transform.a), abs(transform.e)))
    xs, ys = transform @ (np.asarray(cols) + 0.5, np.asarray(rows) + 0.5)
    tree = shapely.STRtree(np.asarray(geoms))
    hit, _ = tree.query(shapely.points(xs, ys), predicate="dwithin", distance=pixel)
    near = np.zeros(len(xs), dtype=bool)
    near[hit] = True
    return near, pixel


def warn_if_near_training(near: np.ndarray, pixel: float) -> None:
    """One warning with the count, when any reference sample is near the training samples."""
    n = int(near.sum())
    if n == 0:
        return
    warn(
        f"{n} of {near.size} reference samples lie inside or within one pixel ({pixel:g} map "
        "units) of the training samples, so the accuracy is optimistic: the classifier saw "
        "them or their neighbours. Assess with reference data collected apart from the "
        "training data (xr_landcover.accuracy_points), or estimate accuracy from the "
        "training samples with xr_landcover.cross_validate",
    )
