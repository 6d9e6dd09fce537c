"""The class-map convention, read and written in one place.

A *class map* is an integer ``DataArray`` ``(..., "y", "x")`` whose classes are described by
CF attributes (``flag_values``, ``flag_meanings``), ``class_names``, a ``colormap``
(``{value: (r, g, b)}``) and a fill value (``_FillValue``). The same facts reach us in other
shapes: as strings when a GeoTIFF we wrote is re-opened with ``rioxarray.open_rasterio``
(``flag_values='1 2 3'``, ``CLASS_1='water'`` tags), with the fill only in ``encoding`` or only
as rioxarray's nodata, or as a GDAL colour table. :meth:`ClassMap.from_dataarray` reads every
one of those shapes the same way, so that two functions can never read one map differently;
:meth:`ClassMap.to_attrs` writes the attrs; :func:`class_areas` counts a map's classes and
:func:`open_classmap` reads a class-map GeoTIFF (ours or any paletted one) back with its names
and colours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .colors import RGB, class_colors, flag_meanings
from .errors import InvalidInputTypeError, RasterFileNotFoundError, RasterReadError

__all__ = ["ClassMap", "ClassTable", "class_areas", "class_map_attrs", "open_classmap"]


def _numbers(value: Any) -> list[int]:
    """Class values from an array, a list or a GDAL/netCDF string such as ``'1 2 3'``."""
    if value is None:
        return []
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        value = [v for v in re.split(r"[\s,]+", value.strip()) if v]
        return [int(float(v)) for v in value]
    return [int(v) for v in np.atleast_1d(np.asarray(value))]


def _strings(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in np.atleast_1d(np.asarray(value, dtype=object))]


def _colormap(value: Any) -> dict[int, RGB]:
    """``{value: (r, g, b)}`` from a dict of colours (extra alpha ignored)."""
    if not value or not isinstance(value, Mapping):
        return {}
    return {int(k): tuple(int(c) for c in tuple(v)[:3]) for k, v in value.items()}


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
        decides, e.g. from the values present)."""
        if not isinstance(da, xr.DataArray):
            raise InvalidInputTypeError(
                f"a class map is an xarray.DataArray; got {type(da).__name__}"
            )
        attrs = da.attrs
        nodata = fill_value(da)
        colormap = _colormap(attrs.get("colormap"))
        tagged = {int(m.group(1)): str(v) for k, v in attrs.items()
                  if (m := re.fullmatch(r"CLASS_(-?\d+)", str(k)))}
        values = _numbers(attrs.get("flag_values"))
        if not values:
            values = sorted(colormap) or sorted(tagged)
        names = _strings(attrs.get("class_names"))
        if names is None:
            names = _strings(attrs.get("flag_meanings"))
        if names is None or len(names) != len(values):
            names = [tagged.get(v, str(v)) for v in values]
        keep = sorted((v, n) for v, n in zip(values, names) if v != nodata)
        return cls(values=tuple(v for v, _ in keep), names=tuple(n for _, n in keep),
                   colors=tuple(colormap.get(v) for v, _ in keep), nodata=nodata)

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
    """Attributes of a class map: CF ``flag_values``/``flag_meanings``, names and colours.

    Examples
    --------
    >>> attrs = class_map_attrs([1, 6], ["developed", "water"], [(222, 0, 0), (70, 107, 159)],
    ...                         "uint8")
    >>> attrs["flag_meanings"], attrs["colormap"][6]
    ('developed water', (70, 107, 159))
    """
    return {
        "long_name": "land cover class",
        "flag_values": np.asarray(values, dtype=dtype),
        "flag_meanings": flag_meanings(names),
        "class_names": [str(n) for n in names],
        "colormap": {int(v): tuple(int(c) for c in rgb) for v, rgb in zip(values, colors)},
    }


def _count_values(block: np.ndarray, nodata) -> dict[int, int]:
    values = np.asarray(block).ravel()
    ok = np.isfinite(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
    if nodata is not None:
        ok &= values != nodata
    present, counts = np.unique(values[ok], return_counts=True)
    return {int(v): int(c) for v, c in zip(present, counts)}


def count_classes(classes: xr.DataArray, nodata=None) -> dict[int, int]:
    """Pixels of each value present in ``classes`` (fill and NaN left out): one ``np.unique``
    per block, summed in a small reduction. The cost follows the values present, not the
    dtype's range."""
    import dask
    import dask.array as dsa

    data = classes.data
    if not isinstance(data, dsa.Array):
        return _count_values(np.asarray(data), nodata)
    parts = [dask.delayed(_count_values)(block, nodata) for block in data.to_delayed().ravel()]
    total: dict[int, int] = {}
    for part in dask.compute(*parts):  # small: one {value: count} per block
        for v, c in part.items():
            total[v] = total.get(v, 0) + c
    return total


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


def class_areas(classes: xr.DataArray) -> pd.DataFrame:
    """Pixels and area (hectares, when the CRS is in metres) of each class of a class map.

    The counts are one lazy ``np.unique`` per block, summed: a small reduction.

    Parameters
    ----------
    classes : xarray.DataArray
        A class map from :func:`~xr_landcover.classify` (or any integer map; its classes are
        read by :meth:`ClassMap.from_dataarray`).

    Returns
    -------
    pandas.DataFrame
        Index ``value``; columns ``name``, ``pixels``, ``hectares``, ``percent`` (of the
        classified pixels; nodata is left out): the classes of ``flag_values`` in order, then
        any other value present in the map, named by its value.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[1, 1], [2, 0]], dtype="uint8"), dims=("y", "x"),
    ...                  attrs={"flag_values": np.array([1, 2], "uint8"),
    ...                         "class_names": ["water", "forest"], "_FillValue": 0})
    >>> class_areas(m)["pixels"].tolist()
    [2, 1]
    """
    if not isinstance(classes, xr.DataArray) or not np.issubdtype(classes.dtype, np.integer):
        raise InvalidInputTypeError("class_areas needs an integer class map (a DataArray)")
    table = ClassMap.from_dataarray(classes)
    counts = count_classes(classes, table.nodata)
    # values present but not listed in flag_values are shown too (named by value): their
    # pixels never vanish from the table
    unlisted = [v for v in sorted(counts) if v not in table.values]
    values = list(table.values) + unlisted
    names = list(table.names) + [str(v) for v in unlisted]
    pixels = np.array([counts.get(v, 0) for v in values], dtype=np.int64)
    total = pixels.sum()
    return pd.DataFrame(
        {
            "name": names,
            "pixels": pixels,
            "hectares": pixels * pixel_area_m2(classes) / 1e4,
            "percent": 100.0 * pixels / total if total else np.zeros(len(values)),
        },
        index=pd.Index(values, name="value"),
    )


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
    >>> back.attrs["class_names"], back.attrs["colormap"][2], back.dtype.name
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
