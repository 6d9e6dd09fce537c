"""The class-map convention, read and written in one place.

A *class map* is an integer ``DataArray`` ``(..., "y", "x")`` whose classes are described by
CF attributes (``flag_values``, ``flag_meanings``, ``flag_colors`` ``'#466b9f ...'``),
``class_names`` and a fill value (``_FillValue``): plain arrays and strings, so that netCDF,
Zarr and GeoTIFF tags store them as they are. The same facts reach us in other shapes: as
strings when a GeoTIFF we wrote is re-opened with ``rioxarray.open_rasterio``
(``flag_values='1 2 3'``, ``CLASS_1='water'`` tags), with the fill only in ``encoding`` or only
as rioxarray's nodata, as a ``colormap`` dict ``{value: (r, g, b)}`` (maps made before
``flag_colors``, or by hand), or as a GDAL colour table. :meth:`ClassMap.from_dataarray` reads every
one of those shapes the same way, so that two functions can never read one map differently;
:meth:`ClassMap.to_attrs` writes the attrs; :func:`class_areas` counts a map's classes and
:func:`open_classmap` reads a class-map GeoTIFF (ours or any paletted one) back with its names
and colours.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ._validate import CLASS_ATTRS, accessor_hint, require_class_map, require_whole_classes
from .colors import RGB, class_colors, flag_meanings
from .errors import (
    DimensionError,
    InvalidInputTypeError,
    RasterFileNotFoundError,
    RasterReadError,
)

__all__ = ["ClassMap", "ClassTable", "attr_colors", "class_areas", "class_map_attrs", "hex_colors",
           "open_classmap", "restore_class_dtype"]


def _numbers(value: Any) -> list[int]:
    """Class values from an array, a list or a GDAL/netCDF string such as ``'1 2 3'`` (or
    ``'[1 2 3]'``, the tag ``rio.to_raster`` writes for an array attr)."""
    if value is None:
        return []
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,\[\]()]+", value.strip()) if v]
        return [int(float(v)) for v in value]
    return [int(v) for v in np.atleast_1d(np.asarray(value))]


def _strings(value: Any) -> list[str] | None:
    """Names from a list, or from a string: a JSON or Python list (``'["open water", ...]'``,
    as GDAL tags hold a list attr written by ``rio.to_raster``) or space-separated names."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("[") and text.endswith("]"):
            import ast

            try:  # literal_eval reads literals only: nothing in the file is run
                parsed = ast.literal_eval(text)
            except (ValueError, SyntaxError, MemoryError, RecursionError):
                parsed = None
            if isinstance(parsed, list | tuple):
                return [str(v) for v in parsed]
        return text.split()
    return [str(v) for v in np.atleast_1d(np.asarray(value, dtype=object))]


def _colormap(value: Any) -> dict[int, RGB]:
    """``{value: (r, g, b)}`` from a dict of colours (extra alpha ignored), or from the
    ``[[value, r, g, b], ...]`` list a Zarr or JSON store holds."""
    if value is None or isinstance(value, str | bytes):
        return {}
    if isinstance(value, Mapping):
        return {int(k): tuple(int(c) for c in tuple(v)[:3]) for k, v in value.items()}
    try:
        rows = [tuple(int(c) for c in row) for row in value]
    except (TypeError, ValueError):
        return {}
    return {row[0]: row[1:4] for row in rows if len(row) >= 4}


def hex_colors(colors: Sequence[RGB]) -> str:
    """CF-style ``flag_colors``: one ``#rrggbb`` per class, space-separated (a string, so that
    netCDF, GDAL tags and Zarr store it as it is).

    Examples
    --------
    >>> hex_colors([(70, 107, 159), (56, 133, 56)])
    '#466b9f #388538'
    """
    return " ".join("#{:02x}{:02x}{:02x}".format(*(int(c) for c in rgb)) for rgb in colors)


def _flag_colors(value: Any) -> list[RGB | None]:
    """Colours from ``flag_colors`` (``'#466b9f #388538'`` or a list of such strings); an
    entry that is not a ``#rrggbb`` colour gives None."""
    items = _strings(value) or []
    out: list[RGB | None] = []
    for item in items:
        m = re.fullmatch(r"#?([0-9a-fA-F]{6})(?:[0-9a-fA-F]{2})?", item.strip())
        out.append(tuple(int(m.group(1)[i:i + 2], 16) for i in (0, 2, 4)) if m else None)
    return out


def attr_colors(attrs: Mapping, values: Sequence[int]) -> tuple[RGB | None, ...]:
    """The colour of each of ``values`` from ``attrs``: a ``colormap`` dict (by value), else
    ``flag_colors`` (in the order of ``values``, used only when it has one entry per value);
    None where neither gives one.

    Examples
    --------
    >>> attr_colors({"flag_colors": "#466b9f #388538"}, [1, 2])
    ((70, 107, 159), (56, 133, 56))
    >>> attr_colors({"colormap": {2: (1, 2, 3)}}, [1, 2])
    (None, (1, 2, 3))
    """
    colormap = _colormap(attrs.get("colormap"))
    if not colormap:
        listed = _flag_colors(attrs.get("flag_colors"))
        if len(listed) == len(values):
            colormap = {int(v): c for v, c in zip(values, listed) if c is not None}
    return tuple(colormap.get(int(v)) for v in values)


def fill_value(da: xr.DataArray) -> int | float | None:
    """The map's fill value: the first of ``attrs['_FillValue']``, ``encoding['_FillValue']``,
    rioxarray's nodata and encoded nodata that is a number (NaN, the float maps' own marker
    of "no class", is passed over).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.zeros((1, 1), "uint8"), dims=("y", "x"))
    >>> m.encoding["_FillValue"] = 255
    >>> fill_value(m)
    255
    """
    def candidates():
        yield da.attrs.get("_FillValue")
        yield da.encoding.get("_FillValue")
        try:  # rioxarray's: it raises on an integer map whose encoded nodata is masked
            yield da.rio.nodata
        except ValueError:
            pass
        yield da.rio.encoded_nodata

    for value in candidates():
        if value is None:
            continue
        value = value.item() if isinstance(value, np.generic) else value
        if isinstance(value, float) and np.isnan(value):
            continue
        return int(value) if float(value).is_integer() else float(value)
    return None


@dataclass(frozen=True)
class ClassMap:
    """The classes of a class map: values, names, colours and the fill value.

    Attributes
    ----------
    values : tuple of int
        The class values, ascending, without the fill value.
    names : tuple of str
        One name per value (the value itself where the map names none).
    colors : tuple of (r, g, b) or None
        One colour per value; None where the map gives none.
    nodata : int, float or None
        The fill value (pixels of no class); None when the map declares none. NaN pixels of
        a float map are never a class, whatever this says.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[1, 2], [2, 0]], "uint8"), dims=("y", "x"),
    ...                  attrs={"flag_values": "1 2", "flag_meanings": "water forest",
    ...                         "_FillValue": 0})
    >>> ClassMap.from_dataarray(m)
    ClassMap(values=(1, 2), names=('water', 'forest'), colors=(None, None), nodata=0)
    """

    values: tuple[int, ...]
    names: tuple[str, ...]
    colors: tuple[RGB | None, ...]
    nodata: int | float | None

    @classmethod
    def from_dataarray(cls, da: xr.DataArray) -> ClassMap:
        """Read the classes of ``da`` from its attrs and encoding, in any of the shapes named
        in the module docstring. Without ``flag_values`` the values are the ``colormap``'s,
        else those named by ``CLASS_<value>`` tags, else none (``values == ()``: the caller
        decides, e.g. from the values present). A boolean ``da`` (a mask) has no fill value
        and no classes but 0 and 1: the attrs it inherited from a class map are not its own."""
        if not isinstance(da, xr.DataArray):
            raise InvalidInputTypeError(
                f"a class map is an xarray.DataArray; got {type(da).__name__}{accessor_hint(da)}"
            )
        attrs = da.attrs
        nodata = fill_value(da)
        colormap = _colormap(attrs.get("colormap"))
        tagged = {int(m.group(1)): str(v) for k, v in attrs.items()
                  if (m := re.fullmatch(r"CLASS_(-?\d+)", str(k)))}
        values = _numbers(attrs.get("flag_values"))
        if not values:
            values = sorted(colormap) or sorted(tagged)
        if da.dtype == bool:
            # a mask such as ``landcover == 3`` keeps the attrs of the map it was compared
            # from (xarray keeps attrs): they describe that map, not the mask. Every pixel of
            # a mask is data (a fill of 0 would make False "no data"), and only classes 0
            # and 1 can be its own.
            nodata = None
            if not set(values) <= {0, 1}:
                values = []
        colors = dict(zip(values, attr_colors(attrs, values)))
        names = _strings(attrs.get("class_names"))
        if (names is None or len(names) != len(values)) and values and all(
                v in tagged for v in values):
            names = [tagged[v] for v in values]  # GDAL tags keep the spaces of a name
        if names is None or len(names) != len(values):
            names = _strings(attrs.get("flag_meanings"))
        if names is None or len(names) != len(values):
            names = [tagged.get(v, str(v)) for v in values]
        keep = sorted((v, n) for v, n in zip(values, names) if v != nodata)
        return cls(values=tuple(v for v, _ in keep), names=tuple(n for _, n in keep),
                   colors=tuple(colors.get(v) for v, _ in keep), nodata=nodata)

    @property
    def colormap(self) -> dict[int, RGB]:
        """``{value: (r, g, b)}`` of the classes that have a colour.

        Examples
        --------
        >>> import numpy as np, xarray as xr
        >>> m = xr.DataArray(np.array([[1, 2]], "uint8"), dims=("y", "x"),
        ...                  attrs={"flag_values": "1 2", "flag_colors": "#466b9f #388538"})
        >>> ClassMap.from_dataarray(m).colormap
        {1: (70, 107, 159), 2: (56, 133, 56)}
        """
        return {v: c for v, c in zip(self.values, self.colors) if c is not None}

    def complete_colors(self, palette: Sequence[RGB] | None = None) -> ClassMap:
        """This class map with a colour for every class: the missing ones from ``palette``
        (in order), else NLCD-like by name or the qualitative palette
        (:func:`xr_landcover.colors.class_colors`)."""
        if all(c is not None for c in self.colors):
            return self
        if palette is None:
            colors = class_colors(list(self.names), list(self.colors))
        else:
            colors = [c if c is not None else tuple(palette[i % len(palette)])
                      for i, c in enumerate(self.colors)]
        return ClassMap(self.values, self.names, tuple(colors), self.nodata)

    def valid(self, values: np.ndarray) -> np.ndarray:
        """Pixels of ``values`` that hold a class: finite and not the fill value."""
        values = np.asarray(values)
        ok = np.isfinite(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
        if self.nodata is not None:
            ok &= values != self.nodata
        return ok

    def to_attrs(self, dtype) -> dict:
        """The attrs a class map of these classes carries (see :func:`class_map_attrs`)."""
        full = self.complete_colors()
        return class_map_attrs(full.values, full.names, full.colors, dtype)

    def table(self, palette: Sequence[RGB] | None = None) -> ClassTable:
        """The numpy view used to draw the map: every class with a colour."""
        full = self.complete_colors(palette)
        return ClassTable(values=np.array(full.values, dtype=np.int64), names=list(full.names),
                          colors=np.array(full.colors, dtype=np.uint8).reshape(-1, 3),
                          nodata=self.nodata)


@dataclass(frozen=True)
class ClassTable:
    """The classes of a class map as arrays, for drawing: values, names, colours (0-255) and
    the nodata value. Made by :meth:`ClassMap.table`."""

    values: np.ndarray
    names: list[str]
    colors: np.ndarray
    nodata: float | None

    def hex(self, i: int) -> str:
        r, g, b = (int(c) for c in self.colors[i])
        return f"#{r:02x}{g:02x}{b:02x}"

    def index(self, arr: np.ndarray) -> np.ndarray:
        """Position of each pixel's class in the table; -1 for nodata and unknown values."""
        arr = np.asarray(arr)
        out = np.full(arr.shape, -1, dtype=np.int32)
        if len(self.values) == 0:
            return out
        finite = np.isfinite(arr) if arr.dtype.kind == "f" else np.ones(arr.shape, bool)
        pos = np.searchsorted(self.values, np.where(finite, arr, self.values[0]))
        pos = np.clip(pos, 0, len(self.values) - 1)
        hit = finite & (self.values[pos] == arr)
        if self.nodata is not None and not (
            isinstance(self.nodata, float) and np.isnan(self.nodata)
        ):
            hit &= arr != self.nodata
        out[hit] = pos[hit]
        return out

    def rgba(self, arr: np.ndarray) -> np.ndarray:
        """uint8 RGBA image of the class map ``arr``: class colours, alpha 0 elsewhere."""
        idx = self.index(arr)
        rgba = np.zeros(idx.shape + (4,), dtype=np.uint8)
        ok = idx >= 0
        rgba[ok, :3] = self.colors[idx[ok]]
        rgba[ok, 3] = 255
        return rgba


def class_map_attrs(
    values: Sequence[int],
    names: Sequence[str],
    colors: Sequence[RGB],
    dtype,
) -> dict:
    """Attributes of a class map: CF ``flag_values``/``flag_meanings``, ``class_names`` (the
    names as given, spaces kept) and CF-style ``flag_colors`` (one ``#rrggbb`` per value).

    Every value is an array, a list of strings or a string, so that the map goes to netCDF
    (``to_netcdf``), Zarr and GeoTIFF tags as it is. ``{value: (r, g, b)}`` is
    :attr:`ClassMap.colormap`; a ``colormap`` dict attr (older maps) is read all the same.

    Examples
    --------
    >>> attrs = class_map_attrs([1, 6], ["developed", "water"], [(222, 0, 0), (70, 107, 159)],
    ...                         "uint8")
    >>> attrs["flag_meanings"], attrs["flag_colors"]
    ('developed water', '#de0000 #466b9f')
    """
    return {
        "long_name": "land cover class",
        "flag_values": np.asarray(values, dtype=dtype),
        "flag_meanings": flag_meanings(names),
        "class_names": [str(n) for n in names],
        "flag_colors": hex_colors(colors),
    }


def _count_values(block: np.ndarray, nodata, row0: int | None = None) -> dict:
    """``{value: pixels}`` of a block; with ``row0`` (the block's first row) ``{(value, row):
    pixels}``, for maps whose pixel area changes with the row (a geographic CRS)."""
    values = np.asarray(require_whole_classes(block, "class map"))
    ok = np.isfinite(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
    if nodata is not None:
        ok &= values != nodata
    if row0 is None:
        present, counts = np.unique(values[ok], return_counts=True)
        return {int(v): int(c) for v, c in zip(present, counts)}
    rows = np.broadcast_to(np.arange(row0, row0 + values.shape[0])[:, None], values.shape)
    pairs = np.stack([values[ok].astype(np.int64), rows[ok]])
    present, counts = np.unique(pairs, axis=1, return_counts=True)
    return {(int(v), int(r)): int(c) for (v, r), c in zip(present.T, counts)}


def _count_parts(classes: xr.DataArray, nodata, by_row: bool) -> list:
    """One delayed :func:`_count_values` per block of ``classes``."""
    import dask
    import dask.array as dsa

    data = classes.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=-1)
    row_starts = np.concatenate([[0], np.cumsum(data.chunks[0])])
    blocks = data.to_delayed()
    return [dask.delayed(_count_values)(blocks[index], nodata,
                                        int(row_starts[index[0]]) if by_row else None)
            for index in np.ndindex(blocks.shape)]


def _sum_counts(parts) -> dict:
    total: dict = {}
    for part in parts:
        for v, c in part.items():
            total[v] = total.get(v, 0) + c
    return total


def count_classes(classes: xr.DataArray, nodata=None, *, by_row: bool = False) -> dict:
    """Pixels of each value present in ``classes`` (fill and NaN left out): one ``np.unique``
    per block, summed in a small reduction. The cost follows the values present, not the
    dtype's range. ``by_row``: ``{(value, row): pixels}`` of a ``("y", "x")`` map instead.
    A float map's values must be whole (:func:`~xr_landcover._validate.require_whole_classes`).
    """
    import dask

    return _sum_counts(dask.compute(*_count_parts(classes, nodata, by_row)))  # small


def pixel_area_m2(classes: xr.DataArray) -> float:
    """Area of one pixel in square metres, or NaN when the CRS is missing or not projected."""
    if classes.rio.crs is None:
        return np.nan
    try:
        rx, ry = classes.rio.resolution()
        factor = classes.rio.crs.linear_units_factor[1]
        return abs(rx * ry) * factor**2
    except Exception:  # no transform or angular units: leave the area unknown
        return np.nan


def row_areas_m2(classes: xr.DataArray) -> np.ndarray:
    """Area in square metres of one pixel of each row of a map on a geographic (longitude,
    latitude) CRS, on its ellipsoid.

    A cell bounded by two meridians and two parallels maps to an exact rectangle in the
    cylindrical equal-area projection of the same ellipsoid, so its area there is its area on
    the ellipsoid (no approximation of the cell's edges by geodesics).
    """
    import pyproj

    crs = pyproj.CRS.from_wkt(classes.rio.crs.to_wkt())
    ellipsoid = crs.ellipsoid
    cea = pyproj.Proj(proj="cea", a=ellipsoid.semi_major_metre,
                      b=ellipsoid.semi_minor_metre, lon_0=0)
    t = classes.rio.transform()
    unit = crs.geodetic_crs.axis_info[0].unit_conversion_factor  # radians per unit
    to_degrees = np.degrees(unit)
    edges = t.f + t.e * np.arange(classes.sizes["y"] + 1)  # latitudes of the row edges
    lat = np.clip(edges * to_degrees, -90.0, 90.0)
    _, y = cea(np.zeros_like(lat), lat)
    x0, _ = cea(0.0, 0.0)
    x1, _ = cea(abs(t.a) * to_degrees, 0.0)
    return np.abs(np.diff(y)) * abs(x1 - x0)


def _geographic(classes: xr.DataArray) -> bool:
    crs = classes.rio.crs
    return crs is not None and crs.is_geographic


def _class_table_2d(classes: xr.DataArray, table: ClassMap, counts: dict,
                    row_areas: np.ndarray | None) -> pd.DataFrame:
    if row_areas is not None:  # counts per (value, row): the area of each row's pixels
        pixels_of: dict[int, int] = {}
        area_of: dict[int, list] = {}
        for (v, r), c in sorted(counts.items()):  # rows in order: the same sum for any chunks
            pixels_of[v] = pixels_of.get(v, 0) + c
            area_of.setdefault(v, []).append(c * row_areas[r])
        counts = pixels_of
    # values present but not listed in flag_values are shown too (named by value): their
    # pixels never vanish from the table
    unlisted = [v for v in sorted(counts) if v not in table.values]
    values = list(table.values) + unlisted
    names = list(table.names) + [str(v) for v in unlisted]
    pixels = np.array([counts.get(v, 0) for v in values], dtype=np.int64)
    if row_areas is None:
        hectares = pixels * pixel_area_m2(classes) / 1e4
    else:
        hectares = np.array([math.fsum(area_of.get(v, [])) / 1e4 for v in values])
    total = pixels.sum()
    return pd.DataFrame(
        {
            "name": names,
            "pixels": pixels,
            "hectares": hectares,
            "percent": 100.0 * pixels / total if total else np.zeros(len(values)),
        },
        index=pd.Index(values, name="value"),
    )


def class_areas(classes: xr.DataArray) -> pd.DataFrame:
    """Pixels and area (hectares) of each class of a class map.

    The counts are one lazy ``np.unique`` per block, summed: a small reduction. On a
    projected CRS a pixel's area is its size in the CRS's units; on a geographic CRS
    (longitude, latitude) it is the cell's area on the CRS's ellipsoid, row by row; without
    a CRS the hectares are NaN.

    Parameters
    ----------
    classes : xarray.DataArray
        A class map from :func:`~xr_landcover.classify` (or any integer map; its classes are
        read by :meth:`ClassMap.from_dataarray`), ``("y", "x")``, or with one leading dim
        such as ``time`` (one table per step). A float map counts only when it is a class
        map masked with ``where`` (class attributes kept, NaN = no class, whole values).

    Returns
    -------
    pandas.DataFrame
        Index ``value``; columns ``name``, ``pixels``, ``hectares``, ``percent`` (of the
        classified pixels; nodata is left out): the classes of ``flag_values`` in order, then
        any other value present in the map, named by its value. A map with a leading dim
        gives one table per step, stacked: index ``(<dim>, value)``.

    Raises
    ------
    InvalidInputTypeError
        Not a DataArray, or a float array without class attributes (a confidence layer).
    InvalidParameterError
        A float map holds values with a fraction.
    DimensionError
        More than one dim besides ``("y", "x")``.
    GridMismatchError
        The map's grid is rotated or sheared.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[1, 1], [2, 0]], dtype="uint8"), dims=("y", "x"),
    ...                  attrs={"flag_values": np.array([1, 2], "uint8"),
    ...                         "class_names": ["water", "forest"], "_FillValue": 0})
    >>> class_areas(m)["pixels"].tolist()
    [2, 1]
    """
    import dask

    if not isinstance(classes, xr.DataArray):
        raise InvalidInputTypeError(
            f"class_areas needs a class map (an xarray.DataArray); got {type(classes).__name__}"
            f"{accessor_hint(classes)}"
        )
    extra = [d for d in classes.dims if d not in ("y", "x")]
    if len(extra) > 1:
        raise DimensionError(
            f"class_areas counts a ('y', 'x') map, or one table per step of one leading dim; "
            f"classes has dims {classes.dims}: select steps first, e.g. "
            f"classes.isel({extra[0]}=0)"
        )
    steps = ([classes] if not extra
             else [classes.isel({extra[0]: i}) for i in range(classes.sizes[extra[0]])])
    steps = [require_class_map(s, "classes") for s in steps]
    table = ClassMap.from_dataarray(classes)
    row_areas = row_areas_m2(steps[0]) if _geographic(steps[0]) else None
    # one small reduction for every step together: a {value: count} per block
    parts = [_count_parts(s, table.nodata, row_areas is not None) for s in steps]
    done = dask.compute(*[p for step in parts for p in step])
    counted, start = [], 0
    for step in parts:
        counted.append(_sum_counts(done[start:start + len(step)]))
        start += len(step)
    tables = [_class_table_2d(s, table, c, row_areas) for s, c in zip(steps, counted)]
    if not extra:
        return tables[0]
    dim = extra[0]
    keys = (classes[dim].values.tolist() if dim in classes.coords
            else list(range(classes.sizes[dim])))
    return pd.concat(tables, keys=keys, names=[dim])


def _to_classes(block: np.ndarray, fill, dtype) -> np.ndarray:
    block = require_whole_classes(block, "class map")
    return np.where(np.isfinite(block), block, fill).astype(dtype)


def restore_class_dtype(da: xr.DataArray) -> xr.DataArray:
    """A class map made float by masking (``classes.where(classes != 1)``: class attributes
    kept, NaN where masked) back in its integer class dtype, NaN as the fill value; any other
    array as it is.

    The dtype is that of ``flag_values`` (else the smallest unsigned one that holds the
    classes); the fill value the map's own, else 0 when 0 is no class, else the dtype's
    largest value. Lazy: each block is converted when written, and a value with a fraction
    raises :class:`~xr_landcover.errors.InvalidParameterError` then rather than being
    truncated.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[1, 2], [2, 3]], "uint8"), dims=("y", "x"),
    ...                  attrs={"flag_values": np.array([1, 2, 3], "uint8")})
    >>> back = restore_class_dtype(m.where(m != 1))
    >>> back.dtype.name, back.values.tolist(), int(back.rio.nodata)
    ('uint8', [[0, 2], [2, 3]], 0)
    """
    if (da.dtype.kind != "f" or set(da.dims) != {"y", "x"}
            or not any(k in da.attrs for k in CLASS_ATTRS)):
        return da
    import dask.array as dsa

    classes = ClassMap.from_dataarray(da)
    declared = np.asarray(da.attrs.get("flag_values", []))
    values = list(classes.values)
    if declared.dtype.kind in "iu":
        dtype = declared.dtype
    else:
        high = max(values, default=0)
        dtype = np.dtype("int16" if min(values, default=0) < 0 else
                         "uint8" if high < 255 else "uint16" if high < 65535 else "uint32")
    info = np.iinfo(dtype)
    fill = classes.nodata
    if fill is None or not float(fill).is_integer() or not info.min <= fill <= info.max:
        fill = 0 if 0 not in values and info.min <= 0 else info.max
    if fill in values:
        raise InvalidInputTypeError(
            f"this float class map (NaN = no class) cannot go back to {dtype}: every value "
            f"of it is a class; convert it yourself with da.fillna(<fill>).astype(...) and "
            "declare the fill with .rio.write_nodata(<fill>)"
        )
    data = da.data if isinstance(da.data, dsa.Array) else dsa.from_array(np.asarray(da.data),
                                                                         chunks=-1)
    out = da.copy(data=data.map_blocks(_to_classes, int(fill), dtype, dtype=dtype))
    out.attrs = {**{k: v for k, v in da.attrs.items() if k != "colormap"},
                 **classes.to_attrs(dtype), "_FillValue": int(fill)}
    out.encoding.pop("_FillValue", None)
    return out.rio.write_nodata(int(fill), encoded=False)


def open_classmap(path, chunks: Any = None) -> xr.DataArray:
    """Open a class-map GeoTIFF with its classes: names and colours back as attrs.

    Works for the files :func:`~xr_landcover.to_geotiff` writes (``CLASS_<value>`` tags,
    ``flag_values``/``flag_meanings``, colour table, nodata) and for any paletted single-band
    raster (classes from its colour table's entries that are not black, named by value).

    Parameters
    ----------
    path : str or path
    chunks : optional
        dask chunks (rioxarray's ``chunks``); default one chunk per 1024 x 1024 pixels.

    Returns
    -------
    xarray.DataArray
        ``("y", "x")``, the file's integer dtype, named ``"landcover"``, with the class-map
        attrs (:meth:`ClassMap.to_attrs`) and ``_FillValue`` = the file's nodata.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np, xarray as xr
    >>> import xr_landcover
    >>> m = xr.DataArray(np.array([[1, 2], [2, 0]], "uint8"), dims=("y", "x"),
    ...                  coords={"y": [15.0, 5.0], "x": [5.0, 15.0]}, name="landcover",
    ...                  attrs={"colormap": {1: (70, 107, 159), 2: (56, 133, 56)},
    ...                         "flag_values": np.array([1, 2], "uint8"),
    ...                         "class_names": ["water", "forest"], "_FillValue": 0})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "classes.tif"
    >>> _ = xr_landcover.to_geotiff(m.rio.write_crs("EPSG:32618"), path)
    >>> back = open_classmap(path)
    >>> back.attrs["class_names"], ClassMap.from_dataarray(back).colormap[2], back.dtype.name
    (['water', 'forest'], (56, 133, 56), 'uint8')
    """
    import rasterio
    import rioxarray

    path = Path(path)
    if not path.exists():
        raise RasterFileNotFoundError(f"class map file not found: '{path}'")
    try:
        with rasterio.open(path) as src:
            if src.count != 1 or not np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
                raise InvalidInputTypeError(
                    f"'{path}' is not a class map: a class map has one integer band; this file "
                    f"has {src.count} band(s) of {src.dtypes[0]}"
                )
            try:
                table = {int(k): tuple(v[:3]) for k, v in src.colormap(1).items()}
            except ValueError:  # no colour table
                table = {}
            tags = {**src.tags(), **src.tags(1)}
            nodata = src.nodata
        da = rioxarray.open_rasterio(path, chunks=chunks or {"y": 1024, "x": 1024},
                                     masked=False).squeeze("band", drop=True)
    except rasterio.errors.RasterioIOError as exc:
        raise RasterReadError(f"cannot read the class map '{path}': {exc}") from exc
    probe = xr.DataArray(np.zeros((1, 1), da.dtype), dims=("y", "x"), attrs=dict(tags))
    if nodata is not None:
        probe.attrs["_FillValue"] = nodata
    classes = ClassMap.from_dataarray(probe)
    if not classes.values and table:
        # a paletted raster of another origin: its classes are the colour table's entries;
        # a TIFF table has an entry for every value of the dtype, those of no class black
        probe.attrs["colormap"] = {v: c for v, c in table.items() if c != (0, 0, 0)}
        classes = ClassMap.from_dataarray(probe)
    colors = tuple(table.get(v, c) for v, c in zip(classes.values, classes.colors))
    classes = ClassMap(classes.values, classes.names, colors, classes.nodata)
    attrs = classes.to_attrs(da.dtype)
    da = da.rename("landcover")
    da.attrs = attrs
    if nodata is not None:
        da.attrs["_FillValue"] = classes.nodata
        da = da.rio.write_nodata(classes.nodata, encoded=False)
    da.encoding.pop("_FillValue", None)
    return da
