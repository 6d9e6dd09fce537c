"""What the static and the web maps share: overviews, class tables, argument checks.

Every map draws a *decimated overview* of its input (:func:`overview`), reads the classes of a
class map through :mod:`xr_landcover.classmap` (:func:`class_table`), picks and stretches the
bands of a composite (:func:`rgb_overview`) and matches training samples to the map's classes
(:func:`sample_classes`) the same way, so a static map and a web map of one array agree. Nothing
here imports matplotlib or folium.
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr
from affine import Affine

from .._sample import warn_if_undeclared_fill
from .._validate import (
    DEFAULT_MAX_PIXELS,
    check_number,
    require_cube,
    require_dataarray,
    single_band_hint,
)
from .._validate import band_positions as band_positions_of
from ..classmap import ClassMap, ClassTable
from ..errors import (
    DimensionError,
    InvalidInputTypeError,
    InvalidParameterError,
    MissingCRSError,
    SamplesError,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_RGB",
    "overview",
    "class_table",
    "default_palette",
    "require_map",
    "require_image",
    "band_positions",
    "check_stretch",
    "rgb_overview",
    "sample_classes",
    "samples_in_crs",
]


#: Bands of a true-colour composite, when the cube has bands of these names.
DEFAULT_RGB = ("red", "green", "blue")


# --------------------------------------------------------------------------------------------
# Overviews and class tables
# --------------------------------------------------------------------------------------------


def overview(da: xr.DataArray, max_pixels: int = DEFAULT_MAX_PIXELS) -> xr.DataArray:
    """A computed, decimated copy of ``da`` whose longest side is at most ``max_pixels``.

    Every ``step``-th pixel is kept along ``y`` and ``x`` (starting at ``step // 2``, so each kept
    pixel sits near the middle of the ``step`` x ``step`` block it stands for), and the transform
    is set so that each overview pixel covers its block, centred on the kept pixel: the
    footprint is ``da``'s within one ``step`` (exactly when ``step`` is odd and divides the
    size). Only the kept pixels are computed; for a dask array that is one compute of a small
    array.

    Parameters
    ----------
    da : xarray.DataArray
        Any raster with ``y`` and ``x`` dims (band cube, class map, segment map).
    max_pixels : int, default 1500
        Longest side of the result, in pixels.

    Returns
    -------
    xarray.DataArray
        NumPy-backed, same attrs and CRS, coarser transform (``step`` times the pixel size).

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> from xr_landcover.plot import overview
    >>> small = overview(datasets.nc_landsat7(), max_pixels=100)
    >>> dict(small.sizes), small.rio.resolution()
    ({'band': 6, 'y': 89, 'x': 98}, (142.5, -142.5))
    """
    check_number("max_pixels", max_pixels, 2, integer=True)
    max_pixels = int(max_pixels)
    require_dataarray(da, "da")
    missing = [d for d in ("y", "x") if d not in da.dims]
    if missing:
        raise DimensionError(f"a raster needs dims 'y' and 'x'; this array has {da.dims}")
    transform = da.rio.transform()
    step = max(1, math.ceil(max(da.sizes["y"], da.sizes["x"]) / max_pixels))
    offset = step // 2
    small = da.isel(y=slice(offset, None, step), x=slice(offset, None, step))
    # The one compute: a decimated view, at most max_pixels on a side.
    small = small.compute()
    # Pixel (i, j) of the overview is centred on pixel (offset + i*step, offset + j*step).
    shift = offset + 0.5 - step / 2
    small = small.rio.write_transform(
        transform @ Affine.translation(shift, shift) @ Affine.scale(step)
    )
    small.attrs = dict(da.attrs)
    return small


def class_table(classes: xr.DataArray, small: xr.DataArray | None = None) -> ClassTable:
    """Read the class table of a class map from its attrs (``flag_values``, ``class_names``,
    ``flag_meanings``, ``flag_colors`` or a ``colormap`` dict, ``_FillValue``); missing colours
    get a default palette.

    Without ``flag_values`` or ``colormap`` the classes are the distinct values of ``small`` (the
    overview), so a bare integer raster still plots.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xr_landcover.plot import class_table
    >>> da = xr.DataArray(np.zeros((2, 2), np.uint8), dims=("y", "x"), attrs={
    ...     "flag_values": [1, 2], "flag_meanings": "water forest", "_FillValue": 0,
    ...     "colormap": {1: (0, 0, 255), 2: (0, 128, 0)}})
    >>> t = class_table(da)
    >>> t.names, t.hex(1), t.nodata
    (['water', 'forest'], '#008000', 0)
    """
    table = ClassMap.from_dataarray(classes)
    if not table.values:
        if small is None:
            raise InvalidParameterError(
                "the class map has no flag_values or colormap attrs; pass its values"
            )
        data = np.asarray(small.values).ravel()
        present = np.unique(data[table.valid(data)])
        if len(present) > 256:
            raise InvalidParameterError(
                f"this raster has {len(present)} distinct values and no flag_values: it does not "
                "look like a class map (for a segment map use plot_segments)"
            )
        values = tuple(int(v) for v in present)
        table = ClassMap(values, tuple(str(v) for v in values), (None,) * len(values),
                         table.nodata)
    return table.table(palette=default_palette(len(table.values)))


# matplotlib's "tab10" and "tab20" colour maps (Vega's category10 and category20) in 0-255,
# written out so that a web map of a class map without colours needs no matplotlib.
_TAB10 = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)
_TAB20 = (
    (31, 119, 180), (174, 199, 232), (255, 127, 14), (255, 187, 120), (44, 160, 44),
    (152, 223, 138), (214, 39, 40), (255, 152, 150), (148, 103, 189), (197, 176, 213),
    (140, 86, 75), (196, 156, 148), (227, 119, 194), (247, 182, 210), (127, 127, 127),
    (199, 199, 199), (188, 189, 34), (219, 219, 141), (23, 190, 207), (158, 218, 229),
)


def default_palette(n: int) -> list[tuple[int, int, int]]:
    """``n`` colours for classes that have none: matplotlib's tab10, or tab20 past ten classes
    (repeated past twenty).

    Examples
    --------
    >>> default_palette(2)
    [(31, 119, 180), (255, 127, 14)]
    """
    colors = _TAB20 if n > 10 else _TAB10
    return [colors[i % len(colors)] for i in range(n)]


# --------------------------------------------------------------------------------------------
# Arguments of both back ends: maps, cubes, bands, stretch
# --------------------------------------------------------------------------------------------


def require_map(da: xr.DataArray, name: str, what: str) -> None:
    """Refuse anything but a ``("y", "x")`` DataArray: ``name`` is the argument, ``what`` says
    what it holds ("class map", "segment map"); a band cube is pointed to :func:`plot_rgb`."""
    require_dataarray(da, name)
    if set(da.dims) != {"y", "x"}:
        hint = (single_band_hint(da, name) or " (a band cube? use plot_rgb)"
                if "band" in da.dims else "")
        raise DimensionError(f"a {what} has dims ('y', 'x'); this array has {da.dims}{hint}")


def require_image(cube: xr.DataArray, name: str = "cube") -> xr.DataArray:
    """``cube`` as a single-image band cube ``("band", "y", "x")`` (``name``: the argument): a
    map shows one image, so extra dims such as ``time`` are refused with the selection that
    fixes it. No CRS is needed for a static map."""
    return require_cube(cube, name, crs=False, single_image="a map")


def band_positions(cube: xr.DataArray, bands) -> list[int]:
    """Positions of the 1 or 3 ``bands`` (names or indices) of a composite; by default red,
    green, blue by name, else the cube's own 3 (or 1) bands."""
    names = [str(b) for b in cube["band"].values] if "band" in cube.coords else []
    n = cube.sizes["band"]
    if bands is None:
        if all(b in names for b in DEFAULT_RGB):
            bands = DEFAULT_RGB
        elif n in (1, 3):
            return list(range(n))
        else:
            raise InvalidParameterError(
                f"this cube has no bands named red, green, blue (it has {names or n} bands): "
                "choose three with bands=('nir', 'red', 'green') or bands=(3, 2, 1)"
            )
    if isinstance(bands, str | int | np.integer):
        bands = [bands]
    bands = list(bands)
    if len(bands) not in (1, 3):
        raise InvalidParameterError(f"bands must name 1 or 3 bands, got {bands!r}")
    return band_positions_of(cube, bands)


def check_stretch(stretch) -> tuple[float, float] | None:
    """``stretch`` as ``(low, high)`` percentiles with ``0 <= low < high <= 100``, or None."""
    if stretch is None:
        return None
    try:
        lo, hi = (float(v) for v in stretch)
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"stretch must be two percentiles (low, high) or None, got {stretch!r}"
        ) from None
    if not 0 <= lo < hi <= 100:
        raise InvalidParameterError(
            f"stretch percentiles need 0 <= low < high <= 100, got {stretch}"
        )
    return lo, hi


def rgb_overview(
    cube: xr.DataArray, bands, stretch, max_pixels: int, name: str = "cube"
) -> tuple[np.ndarray, xr.DataArray]:
    """Stretched composite of the overview: float (y, x, 3) in [0, 1], NaN where nodata
    (``name``: the cube's argument, for the messages)."""
    cube = require_image(cube, name)
    positions = band_positions(cube, bands)
    stretch = check_stretch(stretch)
    nodata = cube.rio.nodata
    small = overview(cube.isel(band=positions), max_pixels)
    data = np.asarray(small.values, dtype=np.float64)
    # the overview is the cheap sample: undeclared fill would also skew the stretch
    warn_if_undeclared_fill(cube, data.reshape(data.shape[0], -1).T, name)
    invalid = ~np.isfinite(data)
    if nodata is not None and not np.isnan(nodata):
        invalid |= data == nodata
    invalid = invalid.any(axis=0)
    data[:, invalid] = np.nan
    out = np.empty_like(data)
    for i, band in enumerate(data):
        valid = band[~invalid]
        if stretch is not None:
            lo, hi = np.percentile(valid, stretch) if valid.size else (0.0, 1.0)
        elif cube.dtype.kind in "ui":
            lo, hi = 0.0, float(np.iinfo(cube.dtype).max)
        else:
            lo, hi = 0.0, 1.0
        out[i] = np.clip((band - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(band)
        out[i][invalid] = np.nan
    if out.shape[0] == 1:
        out = np.repeat(out, 3, axis=0)
    return np.moveaxis(out, 0, -1), small


# --------------------------------------------------------------------------------------------
# Training samples
# --------------------------------------------------------------------------------------------


def sample_classes(samples, table: ClassTable, class_field: str | None) -> tuple[str, np.ndarray]:
    """Which column of ``samples`` holds the classes, and each row's position in ``table``.

    A column matches when its values are the class names (case-insensitive) or class values;
    without ``class_field`` the column matching most rows wins (names before values on a tie).
    Rows of unknown classes get -1.
    """
    import pandas as pd

    lookup_names = {n.lower(): i for i, n in enumerate(table.names)}
    lookup_values = {int(v): i for i, v in enumerate(table.values)}

    def positions(column: pd.Series) -> np.ndarray:
        out = np.full(len(column), -1, dtype=np.int64)
        for k, value in enumerate(column.to_numpy()):
            if isinstance(value, str):
                out[k] = lookup_names.get(value.strip().lower(), -1)
            elif isinstance(value, int | float | np.integer | np.floating) and not pd.isna(value):
                if float(value).is_integer():
                    out[k] = lookup_values.get(int(value), -1)
        return out

    columns = [c for c in samples.columns if c != samples.geometry.name]
    if class_field is not None:
        if class_field not in columns:
            raise SamplesError(
                f"class_field {class_field!r} is not a column of the samples; columns: {columns}"
            )
        return class_field, positions(samples[class_field])
    best = None
    for col in columns:
        pos = positions(samples[col])
        score = ((pos >= 0).sum(), samples[col].dtype == object)
        if best is None or score > best[0]:
            best = (score, col, pos)
    if best is None or best[0][0] == 0:
        raise SamplesError(
            f"no column of the samples holds the map's classes {table.names} (names) or "
            f"{table.values.tolist()} (values); columns: {columns}. Pass class_field=..."
        )
    return best[1], best[2]


def samples_in_crs(samples, crs):
    import geopandas as gpd
    import pyproj

    if not isinstance(samples, gpd.GeoDataFrame):
        raise InvalidInputTypeError(
            f"samples must be a geopandas.GeoDataFrame, got {type(samples).__name__}"
        )
    if samples.crs is None:
        raise MissingCRSError("the samples have no CRS; set one with samples.set_crs(...)")
    if crs is None:
        raise MissingCRSError("the map has no CRS; set one with da.rio.write_crs(...)")
    target = pyproj.CRS.from_user_input(crs)
    return samples if samples.crs == target else samples.to_crs(target)
