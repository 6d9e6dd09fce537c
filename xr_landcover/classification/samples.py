"""Training samples: polygons or points → labelled pixels of a band cube.

The geometries are reprojected to the cube's own CRS object (never to an EPSG code: the NC
scene's custom Lambert Conformal Conic CRS only loosely matches one), rasterized with
:mod:`rasterio.features` at pixel centres (``all_touched=False``, as GIS trainers do) chunk by
chunk, and only for the chunks whose bounds the geometries touch: the rest of the cube is never
read.  Pixels with nodata (NaN, or the cube's nodata value) in any band are dropped, then each
class is capped at ``max_samples_per_class`` pixels drawn with ``random_state``.

Everything is sorted (geometries by class value and shape, pixels by row and column) so that
the result depends neither on the order of the rows of the GeoDataFrame nor on the chunking.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import xarray as xr
from rasterio import features
from rasterio.transform import Affine

from .._threads import keep_warning_filters
from .._validate import DEFAULT_MAX_SAMPLES_PER_CLASS, require_cube
from .._warnings import short_list, warn
from ..colors import LandcoverClass, class_colors
from ..errors import (
    InvalidInputTypeError,
    InvalidParameterError,
    MissingCRSError,
    NoSamplesError,
    RasterFileNotFoundError,
    SamplesError,
)

__all__ = ["LandcoverClass", "TrainingSamples", "extract_samples", "read_samples",
           "read_vector_file"]

_ARCGIS_VALUE, _ARCGIS_NAME = "classvalue", "classname"
_MAX_CLASS_VALUE = 65534  # uint16 with 65535 left for the fill value


@dataclass
class TrainingSamples:
    """Labelled pixels gathered from a cube, ready for an estimator.

    Attributes
    ----------
    X : numpy.ndarray
        ``(n_pixels, n_bands)`` band values (float64), in band order ``bands``.
    y : numpy.ndarray
        ``(n_pixels,)`` class values.
    rows, cols : numpy.ndarray
        Pixel row and column of each sample in the cube.
    classes : list of LandcoverClass
        The classes kept (at least one pixel), sorted by value.
    bands : list of str
        Band names.
    available, used : dict
        Per class value: valid pixels found, and pixels kept after the cap.
    dropped : list of LandcoverClass
        Classes with no valid pixel (outside the image or on nodata).
    """

    X: np.ndarray
    y: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    classes: list[LandcoverClass]
    bands: list[str]
    available: dict[int, int]
    used: dict[int, int]
    dropped: list[LandcoverClass] = field(default_factory=list)
    max_samples_per_class: int | None = DEFAULT_MAX_SAMPLES_PER_CLASS
    random_state: Any = None


# --------------------------------------------------------------------------------------------
# Reading and checking the vector side
# --------------------------------------------------------------------------------------------


def read_samples(samples: gpd.GeoDataFrame | str | os.PathLike) -> gpd.GeoDataFrame:
    """A GeoDataFrame from a GeoDataFrame or a vector file path; checks geometries and CRS.

    Invalid polygons (self-intersecting "bowties", rings that cross) are repaired with
    :func:`shapely.make_valid`, keeping their polygonal parts, with a warning that names the
    rows: GIS users draw them by accident, and rasterizing them as they are would label pixels
    by an even-odd accident of the drawing. A polygon with no area left is an error.
    """
    if isinstance(samples, str | os.PathLike):
        samples = read_vector_file(samples)
    if not isinstance(samples, gpd.GeoDataFrame):
        raise InvalidInputTypeError(
            "samples must be a GeoDataFrame of polygons or points, or the path to a vector "
            f"file; got {type(samples).__name__}"
        )
    if len(samples) == 0:
        raise NoSamplesError("the samples have no rows")
    if samples.crs is None:
        raise MissingCRSError(
            "the samples have no CRS; set it with samples.set_crs('EPSG:....') (the CRS their "
            "coordinates are in)"
        )
    geoms = samples.geometry
    if geoms.isna().any() or geoms.is_empty.any():
        bad = list(samples.index[geoms.isna() | geoms.is_empty][:10])
        raise SamplesError(f"the samples have missing or empty geometries (rows {bad})")
    kinds = set(geoms.geom_type)
    allowed = {"Polygon", "MultiPolygon", "Point", "MultiPoint"}
    if not kinds <= allowed:
        raise SamplesError(
            f"samples must be polygons or points; found {sorted(kinds - allowed)}. "
            "Buffer lines into polygons first (samples.buffer(...))"
        )
    coords, owner = shapely.get_coordinates(geoms.to_numpy(), return_index=True)
    nonfinite = np.unique(owner[~np.isfinite(coords).all(axis=1)])
    if len(nonfinite):  # GEOS can neither test nor repair them
        bad = list(samples.index[nonfinite][:10])
        raise SamplesError(
            f"the samples have NaN or infinite coordinates (rows {bad}); drop or fix those rows"
        )
    invalid = ~geoms.is_valid.to_numpy()
    if invalid.any():
        samples = _repair(samples, invalid)
    return samples


def read_vector_file(path: str | os.PathLike) -> gpd.GeoDataFrame:
    """The features of the vector file ``path``, unchecked (the reading step of
    :func:`read_samples`, also used for accuracy reference data).

    Raises
    ------
    RasterFileNotFoundError
        No file at ``path``.
    SamplesError
        The file cannot be read as a vector file.
    """
    path = Path(path)
    if not path.exists():
        raise RasterFileNotFoundError(f"samples file not found: '{path}'")
    try:
        return gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types
        raise SamplesError(f"cannot read '{path}' as a vector file: {exc}") from None


def _repair(samples: gpd.GeoDataFrame, invalid: np.ndarray) -> gpd.GeoDataFrame:
    """``samples`` with its invalid polygons made valid (polygonal parts only), and a warning."""
    geoms = samples.geometry.to_numpy().copy()
    rows = list(samples.index[invalid])
    reasons = shapely.is_valid_reason(geoms[invalid])
    for i in np.flatnonzero(invalid):
        fixed = shapely.make_valid(geoms[i])
        # a collection may hold a MultiPolygon (a bowtie with a spike): flatten it too
        parts = [p for p in shapely.get_parts(shapely.get_parts(fixed))
                 if p.geom_type == "Polygon"]
        area = sum(p.area for p in parts)
        if not parts or area <= 0:
            raise SamplesError(
                f"the sample geometry in row {samples.index[i]!r} is invalid "
                f"({shapely.is_valid_reason(geoms[i])}) and has no area once repaired; "
                "fix or remove it"
            )
        geoms[i] = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    warn(
        f"{len(rows)} invalid sample geometr{'y' if len(rows) == 1 else 'ies'} (rows "
        f"[{short_list(rows)}]; first: {reasons[0]}) repaired with shapely.make_valid; check "
        "them in a GIS"
    )
    repaired = samples.copy()
    repaired[repaired.geometry.name] = gpd.GeoSeries(geoms, index=samples.index,
                                                     crs=samples.crs)
    return repaired


def _field(gdf: gpd.GeoDataFrame, name: str, role: str) -> str:
    """The column called ``name`` (exact, else case-insensitive), or a clear error."""
    if name in gdf.columns:
        return name
    lowered = {str(c).lower(): c for c in gdf.columns}
    if str(name).lower() in lowered:
        return lowered[str(name).lower()]
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    raise SamplesError(f"{role} '{name}' is not a column of the samples; columns: {columns}")


def resolve_class_field(gdf: gpd.GeoDataFrame, class_field, name_field):
    """The class and name columns: as given, ArcGIS's ``Classvalue``/``Classname``, or the
    one integer column; else :class:`SamplesError` listing the candidates."""
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    if class_field is not None:
        return _field(gdf, class_field, "class_field"), (
            _field(gdf, name_field, "name_field") if name_field is not None else None
        )
    lowered = {str(c).lower(): c for c in columns}
    if _ARCGIS_VALUE in lowered:
        name_col = name_field or lowered.get(_ARCGIS_NAME)
        if name_col is not None:
            name_col = _field(gdf, name_col, "name_field")
        return lowered[_ARCGIS_VALUE], name_col
    integer = [c for c in columns if pd.api.types.is_integer_dtype(gdf[c])]
    if len(integer) == 1:
        return integer[0], (_field(gdf, name_field, "name_field") if name_field else None)
    raise SamplesError(
        "cannot tell which column holds the class values: give class_field=... "
        f"(no 'Classvalue' column, and {len(integer)} integer columns {integer}); "
        f"candidate columns: {columns}"
    )


def _class_table(gdf, class_col, name_col, color_fields) -> tuple[np.ndarray, list]:
    """Per row class values, and the sorted list of classes with names and colours."""
    raw = gdf[class_col]
    if raw.isna().any():
        bad = list(gdf.index[raw.isna()][:10])
        raise SamplesError(f"class field '{class_col}' has null values (rows {bad})")
    if isinstance(raw.dtype, pd.CategoricalDtype):  # its categories say what it holds
        raw = raw.astype(raw.cat.categories.dtype)
    if pd.api.types.is_bool_dtype(raw):
        raise SamplesError(f"class field '{class_col}' is boolean; it must hold class values")
    if raw.dtype == object:
        kinds = {"number" if isinstance(v, int | float | np.number) and not isinstance(v, bool)
                 else "text" if isinstance(v, str) else type(v).__name__ for v in raw}
        if kinds != {"text"} and kinds != {"number"}:
            raise SamplesError(
                f"class field '{class_col}' mixes value types {sorted(kinds)}; it must hold "
                "either whole numbers (class values) or text (class names), not both"
            )
        if kinds == {"number"}:
            raw = pd.to_numeric(raw)
    if pd.api.types.is_numeric_dtype(raw):
        as_float = raw.to_numpy(dtype="float64")
        if not np.all(np.equal(np.round(as_float), as_float)):
            raise SamplesError(f"class field '{class_col}' must hold whole numbers")
        values = as_float.astype(np.int64)
        if values.min() < 0 or values.max() > _MAX_CLASS_VALUE:
            raise SamplesError(
                f"class values must lie in 0..{_MAX_CLASS_VALUE}; '{class_col}' has "
                f"{values.min()}..{values.max()}"
            )
        if name_col is None:
            names_by_value = {int(v): f"class {int(v)}" for v in np.unique(values)}
        else:
            names_by_value = {}
            for v, n in zip(values, gdf[name_col].astype(str)):
                known = names_by_value.setdefault(int(v), n)
                if known != n:
                    raise SamplesError(
                        f"class value {int(v)} has several names in '{name_col}': "
                        f"'{known}' and '{n}'"
                    )
    else:
        # Text classes (e.g. a `name` column): values 1..n in alphabetical order of the names.
        text = raw.astype(str).to_numpy()
        unique = sorted(set(text))
        lookup = {n: i + 1 for i, n in enumerate(unique)}
        values = np.array([lookup[t] for t in text], dtype=np.int64)
        names_by_value = {i + 1: n for i, n in enumerate(unique)}

    ordered = sorted(names_by_value)
    given = None
    if color_fields and all(any(str(c).lower() == str(f).lower() for c in gdf.columns)
                            for f in color_fields):
        cols = [_field(gdf, f, "color field") for f in color_fields]
        first = {}
        for v, rgb in zip(values, gdf[cols].to_numpy()):
            first.setdefault(int(v), None if pd.isna(rgb).any() else tuple(rgb))
        given = [first[v] for v in ordered]
    names = [names_by_value[v] for v in ordered]
    colors = class_colors(names, given)
    classes = [LandcoverClass(int(v), str(n), c) for v, n, c in zip(ordered, names, colors)]
    return values, classes


# --------------------------------------------------------------------------------------------
# Raster side: rasterize per touched chunk, gather valid pixels
# --------------------------------------------------------------------------------------------


def _chunk_starts(chunks: Sequence[int]) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(chunks)]).astype(int)


def _gather_block(block, shapes, out_shape, transform, row0, col0, nodata):
    """Rasterize ``shapes`` (geometry, class index + 1) on one block; return its labelled pixels."""
    # No warnings.catch_warnings here: this runs in dask's worker threads, where it is not
    # thread-safe (it can leave filters behind that hide the user's warnings).
    labels = features.rasterize(
        shapes, out_shape=out_shape, transform=transform, fill=0, all_touched=False,
        dtype="int32",
    )
    block = np.asarray(block)
    valid = labels > 0
    valid &= np.all(np.isfinite(block), axis=0)
    if nodata is not None and not np.isnan(nodata):
        valid &= np.all(block != nodata, axis=0)
    rows, cols = np.nonzero(valid)
    return (
        (rows + row0).astype(np.int64),
        (cols + col0).astype(np.int64),
        labels[rows, cols] - 1,
        block[:, rows, cols].T.astype(np.float64),
    )


def extract_samples(
    cube: xr.DataArray,
    samples: gpd.GeoDataFrame | str | os.PathLike,
    class_field: str | None = None,
    name_field: str | None = None,
    color_fields: Sequence[str] | None = ("Red", "Green", "Blue"),
    max_samples_per_class: int | None = DEFAULT_MAX_SAMPLES_PER_CLASS,
    random_state: int | np.random.Generator | None = None,
) -> TrainingSamples:
    """Gather labelled pixels under polygons or points, reading only the chunks they touch.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``("band", "y", "x")`` with a CRS.
    samples : GeoDataFrame or path
        Polygons or points, in any CRS (reprojected to ``cube.rio.crs``).
    class_field : str, optional
        Column of class values (whole numbers 0-65534, or text: then values 1..n are given in
        alphabetical order of the names). ``None``: ArcGIS's ``Classvalue``/``Classname`` when
        present, else the one integer column.
    name_field : str, optional
        Column of class names (default: ``Classname`` with ``Classvalue``, the text of a text
        ``class_field``, else ``"class <value>"``).
    color_fields : three str, optional
        Columns with each class's red, green, blue (ArcGIS training-sample schema); used when all
        three exist, else NLCD-like colours by class name, else a qualitative palette.
    max_samples_per_class : int or None, default 500
        At most this many pixels per class (ArcGIS ``maxSampleClass``); ``None`` or 0: all.
    random_state : int, Generator or None
        Seed of the draw of the capped pixels.

    Returns
    -------
    TrainingSamples

    Raises
    ------
    SamplesError
        Bad geometries (lines, empty), a missing field, null class values, fewer than two
        classes with pixels.
    NoSamplesError
        No valid pixel under any sample.

    Warns
    -----
    UserWarning
        For each class dropped because all its samples lie outside the image or on nodata.

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> cube, polygons = datasets.nc_landsat7(), datasets.nc_training_polygons()
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the agriculture polygon lies on nodata
    ...     s = extract_samples(cube, polygons, "id", "label", max_samples_per_class=100,
    ...                         random_state=0)
    >>> s.X.shape, [c.name for c in s.classes]
    ((557, 6), ['developed', 'herbaceous', 'shrubland', 'forest', 'water', 'sediment'])
    """
    cube = require_cube(cube, single_image="training")
    cap = check_cap(max_samples_per_class)
    gdf = read_samples(samples)
    class_col, name_col = resolve_class_field(gdf, class_field, name_field)
    row_values, classes = _class_table(gdf, class_col, name_col, color_fields)
    if len(classes) < 2:  # known before any pixel is read
        raise SamplesError(
            f"training needs at least two classes; class field '{class_col}' holds only "
            f"{[c.name for c in classes]}"
        )
    index_of = {c.value: i for i, c in enumerate(classes)}

    target = pyproj.CRS.from_wkt(cube.rio.crs.to_wkt())
    geoms = gpd.GeoSeries(gdf.geometry.values, crs=gdf.crs).to_crs(target).values
    burn = np.array([index_of[int(v)] + 1 for v in row_values], dtype=np.int64)
    # Deterministic order (where polygons overlap, the later one wins when rasterizing).
    order = sorted(range(len(geoms)), key=lambda i: (burn[i], shapely.to_wkb(geoms[i])))
    geoms, burn = geoms[order], burn[order]

    transform: Affine = cube.rio.transform()
    nodata = cube.rio.nodata
    data = cube.data
    if not isinstance(data, dask.array.Array):
        data = dask.array.from_array(np.asarray(data), chunks=(-1, -1, -1))
    data = data.rechunk({0: -1})
    tree = shapely.STRtree(geoms)
    y_starts, x_starts = _chunk_starts(data.chunks[1]), _chunk_starts(data.chunks[2])
    tasks = []
    for iy in range(len(y_starts) - 1):
        r0, r1 = int(y_starts[iy]), int(y_starts[iy + 1])
        for ix in range(len(x_starts) - 1):
            c0, c1 = int(x_starts[ix]), int(x_starts[ix + 1])
            left, top = transform @ (c0, r0)
            right, bottom = transform @ (c1, r1)
            box = shapely.box(min(left, right), min(top, bottom), max(left, right),
                              max(top, bottom))
            hits = np.sort(tree.query(box, predicate="intersects"))
            if hits.size == 0:
                continue  # this chunk is never read
            shapes = [(geoms[i], int(burn[i])) for i in hits]
            block_transform = transform @ Affine.translation(c0, r0)
            tasks.append(
                dask.delayed(_gather_block)(
                    data[:, r0:r1, c0:c1], shapes, (r1 - r0, c1 - c0), block_transform, r0, c0,
                    nodata,
                )
            )
    # A small reduction: only the labelled pixels of the touched chunks come back.
    with keep_warning_filters():  # rasterize's catch_warnings in the worker threads
        parts = dask.compute(*tasks) if tasks else []
    n_bands = cube.sizes["band"]
    rows = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, np.int64)
    cols = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, np.int64)
    idx = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.int64)
    X = np.concatenate([p[3] for p in parts]) if parts else np.empty((0, n_bands))
    sort = np.lexsort((cols, rows))  # raster order, whatever the chunking
    rows, cols, idx, X = rows[sort], cols[sort], idx[sort], X[sort]

    if rows.size == 0:
        raise NoSamplesError(
            "no valid pixel lies under the samples: are they inside the image "
            f"(image bounds {tuple(round(b, 1) for b in cube.rio.bounds())} in its CRS) and on "
            "data rather than nodata?"
        )
    counts = np.bincount(idx, minlength=len(classes))
    dropped = [c for c, n in zip(classes, counts) if n == 0]
    if dropped:  # one warning for the call, however many classes
        many = len(dropped) > 1
        warn(
            f"class{'es' if many else ''} {short_list(f'{c.value} {c.name!r}' for c in dropped)}"
            f" {'are' if many else 'is'} dropped: none of {'their' if many else 'its'} samples "
            "covers a valid pixel (outside the image, on nodata, or smaller than a pixel)"
        )
    kept = [i for i, n in enumerate(counts) if n > 0]
    if len(kept) < 2:
        names = [f"'{classes[i].name}'" for i in kept]
        raise SamplesError(
            f"training needs at least two classes with valid pixels; found {len(kept)} "
            f"({', '.join(names) or 'none'})"
            + (f"; dropped: {[c.name for c in dropped]}" if dropped else "")
        )

    chosen = draw_per_class([np.flatnonzero(idx == i) for i in kept], cap, random_state)
    take = np.concatenate(chosen)
    values = np.array([c.value for c in classes], dtype=np.int64)
    kept_classes = [classes[i] for i in kept]
    return TrainingSamples(
        X=X[take],
        y=values[idx[take]],
        rows=rows[take],
        cols=cols[take],
        classes=kept_classes,
        bands=[str(b) for b in cube.band.values],
        available={classes[i].value: int(counts[i]) for i in kept},
        used={classes[i].value: int(len(w)) for i, w in zip(kept, chosen)},
        dropped=dropped,
        max_samples_per_class=cap,
        random_state=random_state,
    )


def draw_per_class(members: list[np.ndarray], cap: int | None,
                   random_state) -> list[np.ndarray]:
    """At most ``cap`` of each class's members (indices), drawn without replacement with one
    generator seeded by ``random_state``, classes in order, each draw sorted; all when
    ``cap`` is None or the class is smaller.

    Examples
    --------
    >>> [w.tolist() for w in draw_per_class([np.arange(5), np.arange(5, 7)], 3, 0)]
    [[2, 3, 4], [5, 6]]
    """
    rng = np.random.default_rng(random_state)
    chosen = []
    for where in members:
        if cap and where.size > cap:
            where = np.sort(rng.choice(where, size=cap, replace=False))
        chosen.append(where)
    return chosen


def check_cap(cap) -> int | None:
    """``max_samples_per_class`` checked: a whole number, or None for all (0 means all)."""
    if cap is None or (isinstance(cap, int | np.integer) and cap == 0):
        return None
    if isinstance(cap, bool) or not isinstance(cap, int | np.integer):
        raise InvalidInputTypeError(
            f"max_samples_per_class must be a whole number, or None/0 for all pixels; got "
            f"{type(cap).__name__} {cap!r}"
        )
    if cap < 0:
        raise InvalidParameterError(
            f"max_samples_per_class must be a positive whole number, or None/0 for all pixels; "
            f"got {cap!r}"
        )
    return int(cap)
