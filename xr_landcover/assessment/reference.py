"""Reference data as samples on the class map's grid, and the raster plumbing of the class map.

Two halves, both below the report (this module knows nothing of :class:`AccuracyReport`):

* **Reference data -> samples.** Points and polygons become ``(row, col, class)`` samples on the
  map's grid (:func:`vector_samples`): each point samples the pixel it falls in, each polygon
  every pixel whose centre it contains. A reference raster becomes per-chunk counts of
  ``(map value, reference value)`` pairs on the map's grid (:func:`raster_pairs`).
* **The class map's plumbing.** Valid masks, per-chunk class counts (the table
  :func:`~xr_landcover.accuracy_points` draws from), the class-area table that
  :meth:`AccuracyReport.area_estimates` asks for through its hook, and the map values at given
  pixels. The map's classes and fill value are read only through :mod:`xr_landcover.classmap`.

Reference vectors are read and checked by the training's reader,
:func:`xr_landcover.classification.samples.read_samples` (and its file step
:func:`~xr_landcover.classification.samples.read_vector_file`); an explicit ``class_field`` is
looked up by :func:`~xr_landcover.classification.samples.resolve_class_field`. Where those say
"samples" and the assessment always said "reference" (file missing, no feature, no CRS, a
line among the labelled features, an unknown ``class_field``), the check is made here first
with the assessment's message. The default class field is the assessment's own rule:
``GrndTruth`` (the column of :func:`~xr_landcover.accuracy_points`) before ``Classvalue`` and
``id``, and never ``Classified`` (the map's own value), where training takes ``Classvalue`` or
the one integer column.

Only small reductions are computed: the map values at the samples (only the chunks that hold
one are read), and per-chunk counts (a small table). geopandas, shapely and rasterio load on
first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dask
import dask.array as da
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from .._validate import check_choice, require_class_map, require_whole_classes
from ..classmap import ClassMap, class_areas, fill_value, pixel_area_m2
from ..errors import (
    DimensionError,
    InvalidInputTypeError,
    InvalidParameterError,
    MissingCRSError,
    NoSamplesError,
    RasterFileNotFoundError,
    SamplesError,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "UNLABELLED",
    "ReferenceSamples",
    "as_dask",
    "block_class_counts",
    "class_area_table",
    "is_raster_path",
    "map_classes",
    "map_values_at",
    "open_reference_raster",
    "pixel_centres",
    "raster_pairs",
    "read_reference",
    "valid_mask",
    "vector_samples",
]

#: Value of ``GrndTruth`` in points from :func:`accuracy_points` that nobody labelled yet.
UNLABELLED = -1

_RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".jp2", ".nc"}
_CLASS_FIELD_NAMES = ("GrndTruth", "Classvalue", "id")
_AREA_UNITS = {"pixels": None, "m2": 1.0, "ha": 1e4, "km2": 1e6}


# --------------------------------------------------------------------------------------------
# Class maps: valid pixels, class names, per-chunk counts, class areas
# --------------------------------------------------------------------------------------------


def valid_mask(values: np.ndarray, nodata: float | None) -> np.ndarray:
    """Pixels of ``values`` that hold a class: finite and not ``nodata``."""
    valid = np.ones(values.shape, dtype=bool)
    if values.dtype.kind == "f":
        valid &= np.isfinite(values)
    if nodata is not None:
        valid &= values != nodata
    return valid


def map_classes(class_map: xr.DataArray) -> dict[int, str]:
    """``{value: name}`` of the map's classes (:meth:`ClassMap.from_dataarray`)."""
    classes = ClassMap.from_dataarray(class_map)
    return dict(zip(classes.values, classes.names))


def as_dask(data: Any) -> da.Array:
    """``data`` as a dask array (one chunk when it is not one already)."""
    return data if isinstance(data, da.Array) else da.from_array(np.asarray(data), chunks=-1)


def _count_block(block: np.ndarray, nodata: float | None) -> pd.Series:
    values = require_whole_classes(block[valid_mask(block, nodata)], "class_map")
    uniq, counts = np.unique(values.astype(np.int64), return_counts=True)
    return pd.Series(counts, index=uniq, dtype=np.int64)


def block_class_counts(class_map: xr.DataArray) -> pd.DataFrame:
    """Pixels per class in each chunk: rows are chunks (C order), columns class values.

    One pass over the map; the result is a small table (chunks x classes), the only thing
    computed.
    """
    data = as_dask(class_map.data)
    nodata = fill_value(class_map)
    blocks = data.to_delayed().ravel()
    counts = dask.compute(*[dask.delayed(_count_block)(b, nodata) for b in blocks])
    table = pd.DataFrame(list(counts)).fillna(0).astype(np.int64)
    return table.reindex(columns=sorted(table.columns), fill_value=0)


def _metre_units(class_map: xr.DataArray) -> bool:
    crs = class_map.rio.crs
    try:
        return crs.is_projected and crs.linear_units_factor[1] == 1.0
    except Exception:  # noqa: BLE001  (a CRS without a linear unit)
        return False


def _area_unit(class_map: xr.DataArray | None, unit: str | None) -> str:
    if unit is None:
        return "ha" if class_map is not None and _metre_units(class_map) else "pixels"
    check_choice("unit", unit, _AREA_UNITS)
    if unit != "pixels" and class_map is not None and not _metre_units(class_map):
        raise InvalidParameterError(
            f"unit={unit!r} needs a projected CRS in metres; this map's CRS is "
            f"{class_map.rio.crs.to_string()}. Use unit='pixels'"
        )
    return unit


def class_area_table(class_map: xr.DataArray, unit: str | None = None) -> pd.DataFrame:
    """Pixels, area (in ``unit``) and share of each class: one counting pass over the map.

    This is the table :meth:`AccuracyReport.area_estimates` asks for through its
    ``map_area_table`` hook: :func:`xr_landcover.class_areas` (the one count of a map's
    classes) in the unit asked for.

    Parameters
    ----------
    class_map : xarray.DataArray
        The class map (``("y", "x")``, with a CRS).
    unit : {"ha", "km2", "m2", "pixels"}, optional
        Default hectares for a CRS in metres, else pixels; the areas in metres need such a CRS.

    Returns
    -------
    pandas.DataFrame
        Index ``class`` (names); columns ``value``, ``pixels``, ``area``, ``proportion``;
        ``attrs["unit"]`` the unit used.
    """
    class_map = require_class_map(class_map, crs=True)
    unit = _area_unit(class_map, unit)
    table = class_areas(class_map)
    values, names = table.index.tolist(), dict(zip(table.index, table["name"]))
    pixels = table["pixels"].to_numpy(np.int64)
    factor = _AREA_UNITS[unit]
    # a CRS in metres here (_area_unit), so pixel_area_m2 is the pixel's area in its own unit
    area = pixels * (1.0 if factor is None else pixel_area_m2(class_map) / factor)
    df = pd.DataFrame(
        {
            "value": values,
            "pixels": pixels,
            "area": area,
            "proportion": pixels / max(pixels.sum(), 1),
        },
        index=pd.Index([names.get(v, str(v)) for v in values], name="class"),
    )
    df.attrs["unit"] = unit
    return df


def _apply(t, x, y) -> tuple[np.ndarray, np.ndarray]:
    """An affine transform applied to coordinate arrays."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


def pixel_centres(class_map: xr.DataArray, rows: np.ndarray,
                  cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` (map CRS) of the centres of the pixels at ``rows``, ``cols``."""
    return _apply(class_map.rio.transform(), np.asarray(cols) + 0.5, np.asarray(rows) + 0.5)


def map_values_at(class_map: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Map values at (row, col): a point-wise index that reads only the chunks holding points."""
    data = class_map.data
    if len(rows) == 0:
        return np.empty(0, dtype=class_map.dtype)
    if isinstance(data, da.Array):
        # vindex builds one task per chunk that holds a point; the others are never read
        return np.asarray(data.vindex[rows, cols].compute())
    return np.asarray(data)[rows, cols]


# --------------------------------------------------------------------------------------------
# Reference vectors -> (row, col, class) samples
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReferenceSamples:
    """Reference samples on the map's grid.

    Attributes
    ----------
    rows, cols : numpy.ndarray
        Pixel of each sample (inside the map; a pixel inside two polygons appears twice).
    classes : numpy.ndarray
        Reference class value of each sample (int64).
    names : dict
        ``{value: name}`` of reference classes named by the reference (``name_field``, or
        class names the map does not know).
    excluded : dict
        Features or samples left out so far: ``"outside"``, ``"nodata"`` (0 here: the map is
        read later), ``"unlabelled"``, ``"no_pixel_centre"``.
    """

    rows: np.ndarray
    cols: np.ndarray
    classes: np.ndarray
    names: dict[int, str]
    excluded: dict[str, int]


def read_reference(reference: Any) -> gpd.GeoDataFrame:
    """Reference vectors as a GeoDataFrame (a GeoDataFrame, or a vector file read by the
    training's :func:`~xr_landcover.classification.samples.read_vector_file`), with a CRS and
    at least one feature; the errors in the assessment's words."""
    import geopandas as gpd

    from ..classification.samples import read_vector_file

    if isinstance(reference, gpd.GeoSeries):
        raise InvalidInputTypeError("a GeoSeries has no class column; pass a GeoDataFrame with one")
    if isinstance(reference, gpd.GeoDataFrame):
        gdf = reference
    else:
        path = Path(reference)
        if not path.exists():
            raise RasterFileNotFoundError(f"reference file not found: '{path}'")
        try:
            gdf = read_vector_file(path)
        except SamplesError as exc:  # the library's reason follows the reader's words
            reason = str(exc).removeprefix(f"cannot read '{path}' as a vector file: ")
            raise SamplesError(
                f"reference: cannot read '{path}' as a vector file of points or polygons "
                f"({_reason(reason)}). Pass a vector file GDAL reads "
                "(.gpkg, .shp, .geojson...), a raster of class values (.tif, .vrt...) or a "
                "GeoDataFrame"
            ) from exc
    if len(gdf) == 0:
        raise NoSamplesError("the reference holds no feature")
    if gdf.crs is None:
        raise MissingCRSError(
            "the reference has no CRS; set one with reference.set_crs('EPSG:....')"
        )
    return gdf


def _checked_geometries(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The (labelled) features with points or polygons only, checked as training samples are:
    :func:`~xr_landcover.classification.samples.read_samples` refuses missing and empty
    geometries and repairs invalid polygons, with a warning."""
    import shapely

    from ..classification.samples import read_samples

    geoms = gdf.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    if not np.all(np.isin(kinds, [0, 3, 4, 6]) | shapely.is_empty(geoms)):
        raise SamplesError("reference geometries must be points or polygons")
    return read_samples(gdf)


def _class_field(gdf: gpd.GeoDataFrame, class_field: str | None) -> str:
    """The reference's class column: ``class_field`` (looked up as training does), else the
    first of ``GrndTruth``, ``Classvalue``, ``id``, else the one integer column but
    ``Classified``."""
    from ..classification.samples import resolve_class_field

    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    if class_field is not None:
        try:
            found, _ = resolve_class_field(gdf, class_field, None)
        except SamplesError:
            found = None
        if found not in columns:  # the geometry column is no class field either
            raise SamplesError(
                f"class_field {class_field!r} is not a column of the reference; columns: {columns}"
            )
        return found
    lower = {c.lower(): c for c in columns}
    for name in _CLASS_FIELD_NAMES:
        if name.lower() in lower:
            return lower[name.lower()]
    integer = [
        c for c in columns if pd.api.types.is_integer_dtype(gdf[c]) and c.lower() != "classified"
    ]
    if len(integer) == 1:
        return integer[0]
    raise SamplesError(
        "cannot tell which column holds the reference class: pass class_field=...; "
        f"integer columns: {integer}, all columns: {columns}"
    )


def _class_codes(
    gdf: gpd.GeoDataFrame, class_field: str, name_field: str | None, map_names: dict[int, str]
) -> tuple[np.ndarray, dict[int, str]]:
    """Integer class per feature (``UNLABELLED`` where missing) and names seen in the reference."""
    col = gdf[class_field]
    if isinstance(col.dtype, pd.CategoricalDtype):  # its categories say what it holds
        col = col.astype(col.cat.categories.dtype)
    if col.dtype == object and all(isinstance(v, int | float | np.number)
                                   and not isinstance(v, bool) for v in col.dropna()):
        col = pd.to_numeric(col)  # numbers in an object column are class values, not names
    ref_names: dict[int, str] = {}
    if pd.api.types.is_numeric_dtype(col):
        values = col.to_numpy(dtype=float)
        if np.any(np.isfinite(values) & (values != np.round(values))):
            raise SamplesError(f"class_field {class_field!r} holds non-integer values")
        codes = np.where(np.isfinite(values), values, UNLABELLED).astype(np.int64)
        if name_field is not None:
            if name_field not in gdf.columns:
                raise SamplesError(f"name_field {name_field!r} is not a column of the reference")
            for code, name in zip(codes, gdf[name_field]):
                if code != UNLABELLED and pd.notna(name):
                    ref_names.setdefault(int(code), str(name))
        return codes, ref_names
    # class names in the reference: match them to the map's names, new values for the rest
    by_name = {name: value for value, name in map_names.items()}
    next_value = max([*map_names, 0]) + 1
    codes = np.full(len(gdf), UNLABELLED, dtype=np.int64)
    for i, name in enumerate(col):
        if name is None or (isinstance(name, float) and np.isnan(name)) or str(name) == "":
            continue
        name = str(name)
        if name not in by_name:
            by_name[name] = next_value
            ref_names[next_value] = name
            next_value += 1
        codes[i] = by_name[name]
    return codes, ref_names


def _grid_index(class_map: xr.DataArray, x: np.ndarray, y: np.ndarray):
    """Row and column of points in the map's grid, and whether they fall inside it."""
    inv = ~class_map.rio.transform()
    col_f, row_f = _apply(inv, x, y)
    col = np.floor(col_f).astype(np.int64)
    row = np.floor(row_f).astype(np.int64)
    inside = (row >= 0) & (row < class_map.sizes["y"]) & (col >= 0) & (col < class_map.sizes["x"])
    inside &= np.isfinite(col_f) & np.isfinite(row_f)
    return row, col, inside


def _polygon_pixels(class_map: xr.DataArray, geom) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels whose centres lie inside ``geom`` (map CRS)."""
    inv = ~class_map.rio.transform()
    minx, miny, maxx, maxy = geom.bounds
    corners = np.array([[minx, miny], [minx, maxy], [maxx, miny], [maxx, maxy]])
    cols, rows = _apply(inv, corners[:, 0], corners[:, 1])
    r0 = max(int(np.floor(np.min(rows))), 0)
    r1 = min(int(np.ceil(np.max(rows))), class_map.sizes["y"])
    c0 = max(int(np.floor(np.min(cols))), 0)
    c1 = min(int(np.ceil(np.max(cols))), class_map.sizes["x"])
    if r0 >= r1 or c0 >= c1:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rr, cc = np.mgrid[r0:r1, c0:c1]
    rr = rr.ravel()
    cc = cc.ravel()
    xs, ys = pixel_centres(class_map, rr, cc)
    import shapely

    inside = shapely.contains_xy(geom, np.asarray(xs), np.asarray(ys))
    return rr[inside], cc[inside]


def vector_samples(
    class_map: xr.DataArray,
    reference: Any,
    class_field: str | None,
    name_field: str | None,
    map_names: dict[int, str],
) -> ReferenceSamples:
    """Points and polygons (GeoDataFrame or vector file, any CRS) as samples on the map's grid.

    Features without a class (missing or ``UNLABELLED``) are left out, the rest reprojected to
    the map's CRS object; reference class names are matched to ``map_names``, unknown ones get
    new values.

    Raises
    ------
    NoSamplesError
        No feature, none labelled, or none inside the map.
    SamplesError
        No class field, a bad one, or geometries other than points and polygons.
    MissingCRSError
        The reference has no CRS.
    """
    gdf = read_reference(reference)
    field_name = _class_field(gdf, class_field)
    codes, ref_names = _class_codes(gdf, field_name, name_field, map_names)
    labelled = codes != UNLABELLED
    if not labelled.any():
        raise NoSamplesError(
            f"no reference feature is labelled: {field_name!r} is missing or {UNLABELLED} "
            "everywhere (fill GrndTruth with the reference class of each point)"
        )
    gdf = _checked_geometries(gdf.loc[labelled]).to_crs(class_map.rio.crs)
    codes = codes[labelled]
    excluded = {
        "outside": 0,
        "nodata": 0,
        "unlabelled": int((~labelled).sum()),
        "no_pixel_centre": 0,
    }

    geoms = gdf.geometry.to_numpy()
    import shapely

    kinds = shapely.get_type_id(geoms)
    is_point = np.isin(kinds, [0, 4])  # Point, MultiPoint
    is_area = np.isin(kinds, [3, 6])  # Polygon, MultiPolygon

    rows_l, cols_l, cls_l = [], [], []
    n_points_outside = 0
    if is_point.any():
        parts, index = shapely.get_parts(geoms[is_point], return_index=True)
        x, y = shapely.get_x(parts), shapely.get_y(parts)
        row, col, inside = _grid_index(class_map, x, y)
        n_points_outside = int((~inside).sum())
        rows_l.append(row[inside])
        cols_l.append(col[inside])
        cls_l.append(codes[is_point][index][inside])
    n_polygons_outside = 0
    map_box = shapely.box(*class_map.rio.bounds())
    for geom, code in zip(geoms[is_area], codes[is_area]):
        rr, cc = _polygon_pixels(class_map, geom)
        if len(rr) == 0:
            if geom.intersects(map_box):  # inside, but smaller than a pixel
                excluded["no_pixel_centre"] += 1
            else:
                n_polygons_outside += 1
        rows_l.append(rr)
        cols_l.append(cc)
        cls_l.append(np.full(len(rr), code, dtype=np.int64))
    excluded["outside"] = n_points_outside + n_polygons_outside
    rows = np.concatenate(rows_l) if rows_l else np.empty(0, np.int64)
    cols = np.concatenate(cols_l) if cols_l else np.empty(0, np.int64)
    ref = np.concatenate(cls_l) if cls_l else np.empty(0, np.int64)
    if len(rows) == 0:
        bounds = tuple(round(v, 3) for v in class_map.rio.bounds())
        ref_bounds = tuple(round(float(v), 3) for v in gdf.total_bounds)
        raise NoSamplesError(
            f"no reference feature falls inside the class map: map bounds {bounds}, reference "
            f"bounds {ref_bounds} (both in the map's CRS {class_map.rio.crs.to_string()}). "
            "Do the reference and the map cover the same place?"
        )
    return ReferenceSamples(rows=rows, cols=cols, classes=ref, names=ref_names,
                            excluded=excluded)


# --------------------------------------------------------------------------------------------
# Reference rasters -> (map value, reference value) pair counts
# --------------------------------------------------------------------------------------------


def is_raster_path(reference: Any) -> bool:
    """Whether ``reference`` is a path with a raster suffix (``.tif``, ``.vrt``, ``.nc``...)."""
    return isinstance(reference, str | os.PathLike) and (
        Path(reference).suffix.lower() in _RASTER_SUFFIXES
    )


def _reason(exc: BaseException | str) -> str:
    """The first sentence of a library's message, without its advice."""
    return str(exc).split(";")[0].strip().rstrip(".")


def open_reference_raster(path: str | os.PathLike) -> xr.DataArray:
    """A reference raster file, lazily (1024 x 1024 chunks), its values as stored."""
    import rasterio

    if not Path(path).exists():
        raise RasterFileNotFoundError(f"reference raster not found: '{path}'")
    try:
        return rioxarray.open_rasterio(path, chunks={"band": 1, "y": 1024, "x": 1024},
                                       masked=False)
    except (rasterio.errors.RasterioError, OSError) as exc:
        raise SamplesError(
            f"reference: cannot read '{path}' as a raster of class values ({_reason(exc)}). "
            "Pass a GeoTIFF (or any raster GDAL reads) of integer classes, a vector file of "
            "points or polygons, or a GeoDataFrame"
        ) from exc


def _pair_counts(
    m: np.ndarray, r: np.ndarray, m_nodata: float | None, r_nodata: float | None
) -> tuple[pd.Series, int]:
    m_valid = valid_mask(m, m_nodata)
    r_valid = valid_mask(r, r_nodata)
    both = m_valid & r_valid
    require_whole_classes(m[both], "class_map")
    require_whole_classes(r[r_valid], "reference")  # a float raster is never truncated
    pairs = pd.Series(
        1, index=pd.MultiIndex.from_arrays([m[both].astype(np.int64), r[both].astype(np.int64)])
    )
    return pairs.groupby(level=[0, 1]).sum(), int((r_valid & ~m_valid).sum())


def raster_pairs(class_map: xr.DataArray, reference: xr.DataArray) -> tuple[pd.Series, int]:
    """Counts of ``(map value, reference value)`` over the pixels valid in both, and the number
    of valid reference pixels on nodata of the map.

    A reference on another grid is reprojected onto the map's (nearest neighbour; rioxarray
    reads it whole for that). One pass over both, chunk by chunk; the counts (a small Series
    indexed by the pairs, empty when no pixel is valid in both) are the only thing computed.
    """
    if "band" in reference.dims:
        if reference.sizes["band"] != 1:
            raise DimensionError("a reference raster must have a single band")
        reference = reference.squeeze("band", drop=True)
    if reference.ndim != 2:
        raise DimensionError(f"a reference raster must have dims ('y', 'x'), got {reference.dims}")
    if reference.rio.crs is None:
        raise MissingCRSError(
            "the reference raster has no CRS; set one with reference.rio.write_crs(...)"
        )
    r_nodata = fill_value(reference)
    same_grid = (
        reference.rio.crs == class_map.rio.crs
        and reference.shape == class_map.shape
        and reference.rio.transform().almost_equals(class_map.rio.transform(), precision=1e-9)
    )
    if not same_grid:
        from rasterio.enums import Resampling

        # NaN marks nodata and the area beyond the reference through the resampling
        ref_f = reference.astype("float32")
        if r_nodata is not None:
            ref_f = ref_f.where(reference != r_nodata)
        ref_f = ref_f.rio.write_nodata(np.nan, encoded=False)
        # the reference is read whole here (rioxarray reprojects in memory)
        reference = ref_f.rio.reproject_match(class_map, resampling=Resampling.nearest)
        r_nodata = None
    m_data = as_dask(class_map.data)
    r_data = as_dask(reference.data).rechunk(m_data.chunks)
    m_nodata = fill_value(class_map)
    parts = dask.compute(
        *[
            dask.delayed(_pair_counts)(a, b, m_nodata, r_nodata)
            for a, b in zip(m_data.to_delayed().ravel(), r_data.to_delayed().ravel())
        ]
    )
    nodata = sum(p[1] for p in parts)
    pairs = pd.concat([p[0] for p in parts])
    if len(pairs):
        pairs = pairs.groupby(level=[0, 1]).sum()
    return pairs, int(nodata)
