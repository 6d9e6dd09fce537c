"""Sample pixels traced back to their samples: the shared step of
:mod:`~.cross_validation` and :mod:`~.inspection`.

:func:`sample_pixels` gathers every valid pixel under the samples with
:func:`~xr_landcover.classification.samples.extract_samples` (raster order, whatever the
chunking) and finds the sample row each pixel came from (:func:`sample_of_pixel`), which
``extract_samples`` does not keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import SamplesError

__all__ = ["SamplePixels", "class_column", "row_classes", "sample_of_pixel", "sample_pixels"]


@dataclass(frozen=True)
class SamplePixels:
    """Every valid pixel under the samples, and its sample.

    Attributes
    ----------
    samples : geopandas.GeoDataFrame
        The samples as read (invalid polygons repaired), in their own CRS and index.
    geometries : numpy.ndarray
        Their geometries in the cube's CRS.
    row_class : numpy.ndarray
        The class value of each sample row (``-1`` for a class that was dropped).
    pixels : TrainingSamples
        The pixels (no cap).
    owner : numpy.ndarray
        Per pixel, the position (0-based) of its sample row.
    """

    samples: Any
    geometries: np.ndarray
    row_class: np.ndarray
    pixels: Any
    owner: np.ndarray


def sample_pixels(cube: xr.DataArray, samples, class_field=None, name_field=None,
                  color_fields=("Red", "Green", "Blue"), random_state=None) -> SamplePixels:
    """Every valid pixel under ``samples`` and the sample row it came from."""
    import geopandas as gpd
    import pyproj

    from ..classification.samples import extract_samples, read_samples

    gdf = read_samples(samples)  # once: its repairs (and their warning) are not repeated
    ts = extract_samples(cube, gdf, class_field=class_field, name_field=name_field,
                         color_fields=color_fields, max_samples_per_class=None,
                         random_state=random_state)
    geoms = np.asarray(gpd.GeoSeries(gdf.geometry.values, crs=gdf.crs).to_crs(
        pyproj.CRS.from_wkt(cube.rio.crs.to_wkt())).values)
    row_class = row_classes(gdf, ts, class_field, name_field)
    owner = sample_of_pixel(cube, geoms, row_class, ts.rows, ts.cols, ts.y)
    return SamplePixels(samples=gdf, geometries=geoms, row_class=row_class, pixels=ts,
                        owner=owner)


def sample_of_pixel(cube: xr.DataArray, geoms: np.ndarray, row_class: np.ndarray,
                     rows: np.ndarray, cols: np.ndarray, pixel_class: np.ndarray) -> np.ndarray:
    """Position (in ``geoms``) of the sample each pixel came from.

    A pixel comes from a polygon that holds its centre (``extract_samples`` rasterizes at pixel
    centres) or from a point inside it. Where samples overlap, the first of the pixel's class
    is taken; a pixel whose centre misses every polygon by a rounding hair (a hundredth of a
    pixel) takes the nearest polygon of its class.
    """
    import shapely

    transform = cube.rio.transform()
    xs, ys = transform @ (cols + 0.5, rows + 0.5)
    owner = np.full(rows.size, -1, dtype=np.int64)
    is_point = np.isin(shapely.get_type_id(geoms), (0, 4))  # Point, MultiPoint
    # points: the pixel each point (part) falls in
    if is_point.any():
        where = {}
        inverse = ~transform
        for g in np.flatnonzero(is_point):
            for part in shapely.get_parts(geoms[g]):
                c, r = inverse @ (shapely.get_x(part), shapely.get_y(part))
                where.setdefault((int(np.floor(r)), int(np.floor(c))), []).append(g)
        for i, (r, c) in enumerate(zip(rows.tolist(), cols.tolist())):
            for g in where.get((r, c), ()):
                if row_class[g] == pixel_class[i]:
                    owner[i] = g
                    break
    polygons = np.flatnonzero(~is_point)
    if polygons.size:
        tree = shapely.STRtree(geoms[polygons])
        centres = shapely.points(xs, ys)
        pix, hit = tree.query(centres, predicate="intersects")
        hit = polygons[hit]
        same = row_class[hit] == pixel_class[pix]
        pix, hit = pix[same], hit[same]
        order = np.lexsort((hit, pix))
        pix, hit = pix[order], hit[order]
        first = np.r_[True, pix[1:] != pix[:-1]] if pix.size else np.zeros(0, bool)
        free = owner[pix[first]] < 0
        owner[pix[first][free]] = hit[first][free]
        hair = 0.01 * min(abs(transform.a), abs(transform.e))
        for i in np.flatnonzero(owner < 0):
            candidates = polygons[row_class[polygons] == pixel_class[i]]
            if candidates.size:
                d = shapely.distance(geoms[candidates], centres[i])
                if d.min() <= hair:
                    owner[i] = candidates[int(np.argmin(d))]
    if (owner < 0).any():  # a bug, not the user's: every sample pixel lies under a sample
        raise SamplesError(
            f"{int((owner < 0).sum())} sample pixels could not be traced back to their sample"
        )
    return owner


def class_column(gdf, class_field, name_field) -> tuple[str, bool]:
    """The class column (as :func:`extract_samples` finds it) and whether it holds text
    (class names) rather than class values."""
    from ..classification.samples import resolve_class_field

    column, _ = resolve_class_field(gdf, class_field, name_field)
    raw = gdf[column]
    numbers = pd.api.types.is_numeric_dtype(raw) or all(
        isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in raw)
    return column, not numbers


def row_classes(gdf, ts, class_field, name_field) -> np.ndarray:
    """The class value of each sample row as :func:`extract_samples` gave it (``-1`` for rows
    of a class it dropped): class values as they are, text classes through their names."""
    column, text = class_column(gdf, class_field, name_field)
    raw = gdf[column]
    if text:
        by_name = {c.name: c.value for c in ts.classes}
        return np.array([by_name.get(str(t), -1) for t in raw], dtype=np.int64)
    return pd.to_numeric(raw).to_numpy(dtype="float64").astype(np.int64)
