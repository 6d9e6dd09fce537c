"""Maps: class maps with legends, RGB composites, segment boundaries, folium web maps.

Every function here draws a *decimated overview* of its input: it keeps every ``step``-th pixel
along ``y`` and ``x`` (``step`` chosen so that the longest side has at most ``max_pixels``
pixels) and computes only that, so a dask-backed cube of any size costs one small compute.
Map extents come from the raster's transform, so vector layers (training polygons, reprojected to
the raster's CRS) overlay exactly.

Static maps use matplotlib and return the :class:`~matplotlib.axes.Axes` (or the
:class:`~matplotlib.figure.Figure` for :func:`compare`); web maps return a :class:`folium.Map`
following the ``GeoDataFrame.explore`` convention (no tile basemap unless ``tiles=`` is given;
``offline=True`` inlines the vendored Leaflet library so the saved HTML needs no network).
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import numpy as np
import xarray as xr
from affine import Affine

from .classmap import ClassMap, ClassTable
from .errors import (
    DimensionError,
    GridMismatchError,
    InvalidInputTypeError,
    InvalidParameterError,
    MissingCRSError,
    SamplesError,
)

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "overview",
    "plot_classes",
    "plot_rgb",
    "plot_segments",
    "compare",
    "explore_classes",
    "explore_rgb",
]

#: Longest side, in pixels, of the overview that maps draw (static and web maps alike).
DEFAULT_MAX_PIXELS = 1500

_DEFAULT_RGB = ("red", "green", "blue")


# --------------------------------------------------------------------------------------------
# Overviews, extents, class tables
# --------------------------------------------------------------------------------------------


def _check_max_pixels(max_pixels: int) -> int:
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int | np.integer):
        raise InvalidParameterError(f"max_pixels must be an integer >= 2, got {max_pixels!r}")
    if max_pixels < 2:
        raise InvalidParameterError(f"max_pixels must be >= 2, got {max_pixels}")
    return int(max_pixels)


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
    max_pixels = _check_max_pixels(max_pixels)
    if not isinstance(da, xr.DataArray):
        raise InvalidInputTypeError(f"expected an xarray.DataArray, got {type(da).__name__}")
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


def _extent(small: xr.DataArray) -> tuple[float, float, float, float]:
    """matplotlib ``imshow`` extent (left, right, bottom, top) of a raster drawn origin='upper'."""
    t = small.rio.transform()
    ny, nx = small.sizes["y"], small.sizes["x"]
    left, top = t.c, t.f
    right, bottom = t.c + t.a * nx, t.f + t.e * ny
    return (left, right, bottom, top)


def class_table(classes: xr.DataArray, small: xr.DataArray | None = None) -> ClassTable:
    """Read the class table of a class map from its attrs (``flag_values``, ``class_names``,
    ``flag_meanings``, ``colormap``, ``_FillValue``); missing colours get a default palette.

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
    return table.table(palette=_default_palette(len(table.values)))


def _default_palette(n: int) -> list[tuple[int, int, int]]:
    from matplotlib import colormaps

    cmap = colormaps["tab20"] if n > 10 else colormaps["tab10"]
    return [tuple(int(round(255 * c)) for c in cmap(i % cmap.N)[:3]) for i in range(n)]


# --------------------------------------------------------------------------------------------
# RGB composites
# --------------------------------------------------------------------------------------------


def _require_cube(cube: xr.DataArray) -> xr.DataArray:
    if not isinstance(cube, xr.DataArray):
        raise InvalidInputTypeError(f"expected an xarray.DataArray, got {type(cube).__name__}")
    if any(d not in cube.dims for d in ("band", "y", "x")):
        raise DimensionError(f"a band cube needs dims ('band', 'y', 'x'); this one has {cube.dims}")
    extra = [d for d in cube.dims if d not in ("band", "y", "x")]
    if extra:
        raise DimensionError(
            f"a map shows one image; select a single {extra} first, e.g. cube.isel({extra[0]}=0)"
        )
    return cube.transpose("band", "y", "x")


def _band_positions(cube: xr.DataArray, bands) -> list[int]:
    names = [str(b) for b in cube["band"].values] if "band" in cube.coords else []
    n = cube.sizes["band"]
    if bands is None:
        if all(b in names for b in _DEFAULT_RGB):
            bands = _DEFAULT_RGB
        elif n in (1, 3):
            bands = list(range(n))
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
    out = []
    for b in bands:
        if isinstance(b, str):
            if b not in names:
                raise InvalidParameterError(f"band {b!r} is not in this cube; its bands: {names}")
            out.append(names.index(b))
        elif isinstance(b, int | np.integer) and not isinstance(b, bool):
            if not -n <= b < n:
                raise InvalidParameterError(f"band index {b} is out of range for {n} bands")
            out.append(int(b) % n)
        else:
            raise InvalidParameterError(f"bands are names or integer positions, got {b!r}")
    return out


def _check_stretch(stretch) -> tuple[float, float] | None:
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


def _rgb_overview(
    cube: xr.DataArray, bands, stretch, max_pixels: int
) -> tuple[np.ndarray, xr.DataArray]:
    """Stretched composite of the overview: float (y, x, 3) in [0, 1], NaN where nodata."""
    cube = _require_cube(cube)
    positions = _band_positions(cube, bands)
    stretch = _check_stretch(stretch)
    nodata = cube.rio.nodata
    small = overview(cube.isel(band=positions), max_pixels)
    data = np.asarray(small.values, dtype=np.float64)
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


def _rgba_float(rgb: np.ndarray) -> np.ndarray:
    valid = np.isfinite(rgb).all(axis=-1)
    rgba = np.zeros(rgb.shape[:-1] + (4,), dtype=np.float64)
    rgba[..., :3] = np.where(valid[..., None], rgb, 0)
    rgba[..., 3] = valid
    return rgba


# --------------------------------------------------------------------------------------------
# Static maps (matplotlib)
# --------------------------------------------------------------------------------------------


def _new_axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
        # The map keeps its true aspect by widening the data limits, not by shrinking the axes:
        # constrained layout then leaves exactly the room the outside legend needs.
        ax.set_adjustable("datalim")
    return ax


def _label_axes(ax, da: xr.DataArray, title: str | None) -> None:
    crs = da.rio.crs
    unit = ""
    if crs is not None:
        unit = crs.linear_units if crs.is_projected else "degree"
        unit = f" [{unit}]" if unit and unit != "unknown" else ""
    ax.set_xlabel(f"x{unit}")
    ax.set_ylabel(f"y{unit}")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.locator_params(nbins=5)  # projected coordinates have six or seven digits
    if title:
        ax.set_title(title)


def _class_legend(ax, table: ClassTable, title: str | None = None, **legend_kwds):
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=table.hex(i), edgecolor="0.3", linewidth=0.5, label=name)
        for i, name in enumerate(table.names)
    ]
    kwds = {
        "loc": "upper left",
        "bbox_to_anchor": (1.02, 1.0),
        "borderaxespad": 0.0,
        "frameon": False,
        "title": title,
    }
    kwds.update(legend_kwds)
    return ax.legend(handles=handles, **kwds)


def _draw_classes(ax, small: xr.DataArray, table: ClassTable, **imshow_kwds):
    from matplotlib.colors import BoundaryNorm, ListedColormap

    idx = table.index(small.values)
    n = max(len(table.values), 1)
    colors = table.colors / 255.0 if len(table.values) else [(0, 0, 0)]
    cmap = ListedColormap(colors).with_extremes(bad=(0, 0, 0, 0))
    norm = BoundaryNorm(np.arange(n + 1) - 0.5, n)
    kwds = {"interpolation": "nearest", "interpolation_stage": "data"}
    kwds.update(imshow_kwds)
    return ax.imshow(
        np.ma.masked_less(idx, 0),
        cmap=cmap,
        norm=norm,
        extent=_extent(small),
        origin="upper",
        **kwds,
    )


def plot_classes(
    classes: xr.DataArray,
    ax=None,
    *,
    legend: bool = True,
    title: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    figsize: tuple[float, float] | None = None,
    legend_kwds: Mapping[str, Any] | None = None,
    **imshow_kwds,
):
    """Draw a class map in its classes' colours, with a legend of class names.

    Colours come from the ``colormap`` attr (``{value: (r, g, b)}``), names from ``class_names``
    (or ``flag_meanings``); nodata (``_FillValue``) and values outside ``flag_values`` are
    transparent, so the axes background shows through.

    Parameters
    ----------
    classes : xarray.DataArray
        Class map ``("y", "x")``, NumPy- or dask-backed.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    legend : bool, default True
        Add a legend (one patch per class, right of the map).
    title : str, optional
        Axes title.
    max_pixels : int, default 1500
        Longest side of the overview that is drawn (see :func:`overview`).
    figsize : (float, float), optional
        Size of a new figure.
    legend_kwds : dict, optional
        Passed to :meth:`matplotlib.axes.Axes.legend` (e.g. ``loc``, ``title``).
    **imshow_kwds
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib.axes.Axes

    See Also
    --------
    compare : image and classes side by side, with the training polygons.
    explore_classes : the same map on an interactive web map.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, xarray as xr
    >>> from xr_landcover.plot import plot_classes
    >>> classes = xr.DataArray(
    ...     np.array([[1, 1, 2], [0, 2, 2]], np.uint8), dims=("y", "x"),
    ...     coords={"y": [15.0, 5.0], "x": [5.0, 15.0, 25.0]},
    ...     attrs={"flag_values": [1, 2], "class_names": ["water", "forest"], "_FillValue": 0,
    ...            "colormap": {1: (0, 0, 255), 2: (0, 128, 0)}})
    >>> ax = plot_classes(classes, title="classes")
    >>> [t.get_text() for t in ax.get_legend().get_texts()]
    ['water', 'forest']
    >>> ax.get_images()[0].get_extent()
    [0.0, 30.0, 0.0, 20.0]
    """
    ax, _ = _plot_classes(classes, ax, legend, title, max_pixels, figsize, legend_kwds, imshow_kwds)
    return ax


def _plot_classes(classes, ax, legend, title, max_pixels, figsize, legend_kwds, imshow_kwds):
    _require_map(classes, "class map")
    small = overview(classes, max_pixels)
    table = class_table(classes, small)
    ax = _new_axes(ax, figsize)
    _draw_classes(ax, small, table, **imshow_kwds)
    _label_axes(ax, classes, title)
    if legend:
        _class_legend(ax, table, **dict(legend_kwds or {}))
    return ax, table


def _require_map(da: xr.DataArray, what: str) -> None:
    if not isinstance(da, xr.DataArray):
        raise InvalidInputTypeError(
            f"expected a {what} (xarray.DataArray), got {type(da).__name__}"
        )
    if set(da.dims) != {"y", "x"}:
        hint = " (a band cube? use plot_rgb)" if "band" in da.dims else ""
        raise DimensionError(f"a {what} has dims ('y', 'x'); this array has {da.dims}{hint}")


def plot_rgb(
    cube: xr.DataArray,
    ax=None,
    *,
    bands: Sequence[str | int] | None = None,
    stretch: tuple[float, float] | None = (2, 98),
    title: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    figsize: tuple[float, float] | None = None,
    **imshow_kwds,
):
    """Draw a true- or false-colour composite of three bands (or one band in grey).

    Each band is stretched linearly between its ``stretch`` percentiles, computed on the valid
    pixels of the overview; pixels that are nodata (NaN, or the cube's nodata value) in any of
    the bands are transparent.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``("band", "y", "x")``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure by default.
    bands : sequence of str or int, optional
        Red, green, blue bands by name or position; default ``("red", "green", "blue")`` when
        the cube has them, else the cube's three (or one) bands.
    stretch : (float, float) or None, default (2, 98)
        Percentiles mapped to black and white. ``None``: integer data are scaled by their dtype's
        maximum (0-255 for uint8), float data are taken as 0-1 reflectance.
    title : str, optional
    max_pixels : int, default 1500
    figsize : (float, float), optional
    **imshow_kwds
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from xr_landcover import datasets
    >>> from xr_landcover.plot import plot_rgb
    >>> cube = datasets.nc_landsat7()
    >>> ax = plot_rgb(cube, bands=("nir", "red", "green"), title="false colour")
    >>> ax.get_images()[0].get_array().shape
    (443, 489, 4)
    """
    rgb, small = _rgb_overview(cube, bands, stretch, max_pixels)
    ax = _new_axes(ax, figsize)
    ax.imshow(_rgba_float(rgb), extent=_extent(small), origin="upper", **imshow_kwds)
    _label_axes(ax, small, title)
    return ax


# --------------------------------------------------------------------------------------------
# Training samples
# --------------------------------------------------------------------------------------------


def _sample_classes(samples, table: ClassTable, class_field: str | None) -> tuple[str, np.ndarray]:
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


def _samples_in_crs(samples, crs):
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


def _draw_samples(ax, samples, table: ClassTable, crs, class_field, *, filled: bool):
    samples = _samples_in_crs(samples, crs)
    field, pos = _sample_classes(samples, table, class_field)
    unknown = pos < 0
    if unknown.any():
        warnings.warn(
            f"{int(unknown.sum())} sample(s) have classes not in the map "
            f"({sorted(set(map(str, samples.loc[unknown, field])))}); drawn as grey outlines",
            UserWarning,
            stacklevel=3,
        )
    limits = ax.get_xlim(), ax.get_ylim()
    known = samples.loc[~unknown]
    if len(known):
        colors = [table.hex(i) for i in pos[~unknown]]
        if filled:
            known.plot(ax=ax, color=colors, edgecolor="black", linewidth=0.6, zorder=3)
        else:
            known.boundary.plot(ax=ax, color="black", linewidth=0.8, zorder=3)
    if unknown.any():
        samples.loc[unknown].boundary.plot(ax=ax, color="0.5", linewidth=0.8, zorder=3)
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    return field


def compare(
    rgb_cube: xr.DataArray,
    classes: xr.DataArray,
    samples=None,
    *,
    bands: Sequence[str | int] | None = None,
    stretch: tuple[float, float] | None = (2, 98),
    class_field: str | None = None,
    titles: tuple[str, str] = ("image", "classes"),
    max_pixels: int = DEFAULT_MAX_PIXELS,
    figsize: tuple[float, float] = (13, 5.5),
):
    """The image and its classification side by side, optionally with the training samples.

    The left axes show the RGB composite with the samples filled in their class colours; the right
    axes show the class map (legend on its right) with the samples' outlines in black, so one can
    check that each polygon got its class. Both axes share their extent and zoom together.

    Parameters
    ----------
    rgb_cube : xarray.DataArray
        Band cube on the same CRS as ``classes``.
    classes : xarray.DataArray
        Class map.
    samples : geopandas.GeoDataFrame, optional
        Training (or reference) polygons or points, in any CRS: they are reprojected to the
        class map's CRS.
    bands, stretch
        As in :func:`plot_rgb`.
    class_field : str, optional
        Column of ``samples`` with the class names or values; found automatically by default
        (the column whose values match the map's ``class_names`` or ``flag_values``).
    titles : (str, str)
        Titles of the two axes.
    max_pixels : int, default 1500
    figsize : (float, float)

    Returns
    -------
    matplotlib.figure.Figure
        With two axes: ``fig.axes[0]`` the image, ``fig.axes[1]`` the classes.

    Raises
    ------
    GridMismatchError
        The cube and the class map are not in the same CRS.
    SamplesError
        No column of ``samples`` matches the map's classes.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from xr_landcover import datasets
    >>> from xr_landcover.plot import compare
    >>> cube = datasets.nc_landsat7()
    >>> vegetation = cube.sel(band="nir") > cube.sel(band="red")
    >>> classes = vegetation.astype("uint8") + 1  # a toy 2-class map
    >>> classes.attrs = {"flag_values": [1, 2], "class_names": ["other", "vegetation"],
    ...                  "colormap": {1: (30, 30, 200), 2: (20, 150, 20)}}
    >>> fig = compare(cube, classes, titles=("Landsat 7", "toy classes"))
    >>> [ax.get_title() for ax in fig.axes]
    ['Landsat 7', 'toy classes']
    """
    import matplotlib.pyplot as plt

    _require_map(classes, "class map")
    rgb_crs, map_crs = rgb_cube.rio.crs, classes.rio.crs
    if rgb_crs is not None and map_crs is not None and rgb_crs != map_crs:
        raise GridMismatchError(
            "the cube and the class map are in different CRSs; reproject one of them, e.g. "
            "cube.rio.reproject_match(classes)"
        )
    fig, (ax_img, ax_cls) = plt.subplots(
        1, 2, figsize=figsize, sharex=True, sharey=True, layout="constrained"
    )
    plot_rgb(rgb_cube, ax_img, bands=bands, stretch=stretch, title=titles[0], max_pixels=max_pixels)
    _, table = _plot_classes(classes, ax_cls, True, titles[1], max_pixels, None, None, {})
    if samples is not None:
        crs = map_crs if map_crs is not None else rgb_crs
        _draw_samples(ax_img, samples, table, crs, class_field, filled=True)
        _draw_samples(ax_cls, samples, table, crs, class_field, filled=False)
    return fig


# --------------------------------------------------------------------------------------------
# Segments
# --------------------------------------------------------------------------------------------


def plot_segments(
    rgb_cube: xr.DataArray,
    segments: xr.DataArray,
    ax=None,
    *,
    bands: Sequence[str | int] | None = None,
    stretch: tuple[float, float] | None = (2, 98),
    fill: str = "image",
    color: tuple[float, float, float] = (1.0, 1.0, 0.0),
    mode: str = "inner",
    title: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    figsize: tuple[float, float] | None = None,
):
    """Segment boundaries over an RGB composite (:func:`skimage.segmentation.mark_boundaries`).

    Parameters
    ----------
    rgb_cube : xarray.DataArray
        Band cube on the same pixel grid as ``segments``.
    segments : xarray.DataArray
        Segment map ``("y", "x")`` of ids, 0 = nodata (transparent).
    ax : matplotlib.axes.Axes, optional
    bands, stretch
        As in :func:`plot_rgb`.
    fill : {"image", "mean"}, default "image"
        Inside the segments, the composite itself or each segment's mean colour (the
        "segmented image" look).
    color : (float, float, float), default yellow
        Boundary colour, RGB in 0-1.
    mode : str, default "inner"
        ``mark_boundaries`` mode: ``"inner"``, ``"outer"``, ``"thick"`` or ``"subpixel"``.
    title : str, optional
    max_pixels : int, default 1500
        Boundaries are those of the overview's segments (at the overview's resolution).
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np, xarray as xr
    >>> from xr_landcover import datasets
    >>> from xr_landcover.plot import plot_segments
    >>> cube = datasets.l8_rgb_uint8()
    >>> # four quadrants as toy segments, on the cube's grid
    >>> ids = 1 + (np.arange(512)[:, None] >= 256) * 2 + (np.arange(512)[None, :] >= 256)
    >>> seg = xr.DataArray(ids.astype("int64"), coords={"y": cube.y, "x": cube.x},
    ...                    dims=("y", "x"), name="segment_id")
    >>> ax = plot_segments(cube, seg, fill="mean")
    >>> ax.get_images()[0].get_array().shape
    (512, 512, 4)
    """
    from skimage.segmentation import mark_boundaries

    _require_map(segments, "segment map")
    if fill not in ("image", "mean"):
        raise InvalidParameterError(f"fill must be 'image' or 'mean', got {fill!r}")
    if mode not in ("inner", "outer", "thick", "subpixel"):
        raise InvalidParameterError(f"mode must be inner, outer, thick or subpixel, got {mode!r}")
    cube = _require_cube(rgb_cube)
    _check_same_grid(cube, segments)
    rgb, small = _rgb_overview(cube, bands, stretch, max_pixels)
    labels = np.asarray(overview(segments, max_pixels).values).astype(np.int64)
    valid = np.isfinite(rgb).all(axis=-1) & (labels != 0)
    image = np.where(valid[..., None], rgb, 0.0)
    if fill == "mean":
        ids, inverse = np.unique(labels, return_inverse=True)
        inverse = inverse.reshape(labels.shape)
        counts = np.bincount(inverse[valid], minlength=len(ids))
        for c in range(3):
            sums = np.bincount(inverse[valid], weights=image[..., c][valid], minlength=len(ids))
            image[..., c] = (sums / np.maximum(counts, 1))[inverse]
    marked = mark_boundaries(image, labels, color=color, mode=mode)
    if mode == "subpixel":
        valid = np.repeat(np.repeat(valid, 2, axis=0), 2, axis=1)[
            : marked.shape[0], : marked.shape[1]
        ]
    rgba = np.concatenate([marked, valid[..., None].astype(float)], axis=-1)
    ax = _new_axes(ax, figsize)
    ax.imshow(rgba, extent=_extent(small), origin="upper", interpolation="nearest")
    _label_axes(ax, small, title)
    return ax


def _check_same_grid(cube: xr.DataArray, other: xr.DataArray) -> None:
    same = cube.sizes["y"] == other.sizes["y"] and cube.sizes["x"] == other.sizes["x"]
    if same and all(d in cube.coords and d in other.coords for d in ("y", "x")):
        same = np.allclose(cube["y"].values, other["y"].values) and np.allclose(
            cube["x"].values, other["x"].values
        )
    if not same:
        raise GridMismatchError(
            f"the segments ({other.sizes['y']} x {other.sizes['x']} px) are not on the cube's "
            f"pixel grid ({cube.sizes['y']} x {cube.sizes['x']} px); use "
            "segments.rio.reproject_match(cube, resampling=Resampling.nearest)"
        )


# --------------------------------------------------------------------------------------------
# Web maps (folium)
# --------------------------------------------------------------------------------------------


def _png_data_url(rgba: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), mode="RGBA").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _to_web_mercator(small: xr.DataArray, nodata, resampling) -> xr.DataArray:
    if small.rio.crs is None:
        raise MissingCRSError("the raster has no CRS; set one with da.rio.write_crs('EPSG:....')")
    small = small.rio.write_nodata(nodata, encoded=False)
    return small.rio.reproject("EPSG:3857", resampling=resampling, nodata=nodata)


def _latlon_bounds(merc: xr.DataArray) -> list[list[float]]:
    from pyproj import Transformer

    left, bottom, right, top = merc.rio.bounds()
    to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    (west, east), (south, north) = to_ll.transform([left, right], [bottom, top])
    return [[float(south), float(west)], [float(north), float(east)]]


def _new_map(m, tiles, offline: bool, map_kwds):
    import folium

    if m is None:
        m = folium.Map(tiles=tiles, control_scale=True, **map_kwds)
    elif map_kwds or tiles is not None:
        raise InvalidParameterError("tiles and map keywords apply to a new map, not to m=")
    if offline:
        _inline_leaflet(m)
    return m


def _finish_map(m, bounds, layer_control: bool):
    import folium

    m.fit_bounds(bounds)
    if layer_control:
        # One control, last: its script refers to every layer, so it must follow them all.
        for key, child in list(m._children.items()):
            if isinstance(child, folium.LayerControl):
                del m._children[key]
        folium.LayerControl(collapsed=False).add_to(m)
    return m


def _static_file(*parts: str) -> bytes:
    return resources.files("xr_landcover").joinpath("static", *parts).read_bytes()


def _inline_leaflet(m) -> None:
    """Replace the map's CDN links by the vendored Leaflet JS and CSS, inlined in the page.

    Only Leaflet itself is inlined: folium's other default links (jQuery, Bootstrap, the
    awesome-markers plug-in) serve popups and markers, which these maps do not use.
    """
    from branca.element import Element

    js = _static_file("leaflet", "leaflet.js").decode("utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    css = _static_file("leaflet", "leaflet.css").decode("utf-8")

    def image_url(match: re.Match) -> str:
        data = base64.b64encode(_static_file("leaflet", "images", match.group(1))).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", image_url, css)
    # Instance attributes: folium's own lists are class attributes shared by every map.
    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
    header.add_child(Element(f"<script>{js}</script>"), name="leaflet")


def _legend_html(table: ClassTable, title: str | None) -> str:
    rows = []
    if title:
        rows.append(f'<div class="xr-landcover-legend-title">{html.escape(title)}</div>')
    for i, name in enumerate(table.names):
        rows.append(
            '<div class="xr-landcover-legend-item">'
            f'<span class="xr-landcover-swatch" style="background:{table.hex(i)}"></span>'
            f"{html.escape(name)}</div>"
        )
    return "".join(rows)


_LEGEND_CSS = """
<style>
.xr-landcover-legend { background: rgba(255, 255, 255, 0.92); padding: 6px 10px;
  border-radius: 4px; box-shadow: 0 0 4px rgba(0, 0, 0, 0.35);
  font: 13px/1.5 "Helvetica Neue", Arial, sans-serif; color: #222; }
.xr-landcover-legend-title { font-weight: bold; margin-bottom: 3px; }
.xr-landcover-swatch { display: inline-block; width: 16px; height: 16px; margin-right: 7px;
  vertical-align: -3px; border: 1px solid #555; }
</style>
"""


def _legend_element(table: ClassTable, title: str | None, position: str):
    from branca.element import Element, MacroElement
    from jinja2 import Template

    class Legend(MacroElement):
        _template = Template(
            """
            {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function (map) {
                var div = L.DomUtil.create("div", "xr-landcover-legend");
                div.innerHTML = {{ this.html|tojson }};
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
            {% endmacro %}
            """
        )

        def __init__(self):
            super().__init__()
            self._name = "XrLandcoverLegend"
            self.html = _legend_html(table, title)
            self.position = position

        def render(self, **kwargs):
            self.get_root().header.add_child(Element(_LEGEND_CSS), name="xr_landcover_legend_css")
            super().render(**kwargs)

    return Legend()


def _add_overlay(m, rgba: np.ndarray, bounds, opacity: float, name: str, *, pixelated: bool):
    """Add an RGBA image (embedded as a PNG) over ``bounds`` to the folium map ``m``."""
    import folium

    folium.raster_layers.ImageOverlay(
        _png_data_url(rgba), bounds=bounds, opacity=opacity, name=name, pixelated=pixelated,
        interactive=False,
    ).add_to(m)
    return m


def explore_classes(
    classes: xr.DataArray,
    *,
    tiles: str | None = None,
    samples=None,
    class_field: str | None = None,
    opacity: float = 0.8,
    name: str | None = None,
    legend: bool = True,
    legend_position: str = "bottomright",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    offline: bool = False,
    m=None,
    layer_control: bool = True,
    **map_kwds,
):
    """An interactive web map of a class map: image overlay, legend, optional training samples.

    The overview is reprojected to Web Mercator (nearest neighbour), coloured with the classes'
    colours (nodata fully transparent) and added as a PNG
    :class:`folium.raster_layers.ImageOverlay`.
    The legend is a Leaflet control listing class names with colour swatches.

    Parameters
    ----------
    classes : xarray.DataArray
        Class map ``("y", "x")`` with a CRS.
    tiles : str, optional
        Basemap, as in :class:`folium.Map` (``"OpenStreetMap"``, ``"CartoDB positron"``, a URL
        template...). None (default): no basemap, so the map needs no network.
    samples : geopandas.GeoDataFrame, optional
        Training samples, any CRS, drawn as a GeoJSON layer in their class colours.
    class_field : str, optional
        Column of ``samples`` with the classes (found automatically by default).
    opacity : float, default 0.8
        Opacity of the class overlay.
    name : str, optional
        Layer name (default: the array's name, or "classes"); also the legend title.
    legend : bool, default True
    legend_position : str, default "bottomright"
        A Leaflet control position.
    max_pixels : int, default 1500
    offline : bool, default False
        Inline the vendored Leaflet library (``xr_landcover/static/leaflet``, BSD-2) in the page
        instead of linking folium's CDN copies: the saved HTML then works without network.
    m : folium.Map, optional
        Add the layers to this map instead of a new one.
    layer_control : bool, default True
        Add a layer control (once per map).
    **map_kwds
        Passed to :class:`folium.Map`.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xr_landcover.plot import explore_classes
    >>> classes = xr.DataArray(
    ...     np.array([[1, 2], [2, 0]], np.uint8), dims=("y", "x"),
    ...     coords={"y": [4000015.0, 4000005.0], "x": [500005.0, 500015.0]},
    ...     attrs={"flag_values": [1, 2], "class_names": ["water", "forest"], "_FillValue": 0,
    ...            "colormap": {1: (0, 0, 255), 2: (0, 128, 0)}}).rio.write_crs("EPSG:32618")
    >>> m = explore_classes(classes, name="land cover")
    >>> page = m.get_root().render()
    >>> "forest" in page and "L.imageOverlay" in page
    True
    """
    from rasterio.enums import Resampling

    _require_map(classes, "class map")
    small = overview(classes, max_pixels)
    table = class_table(classes, small)
    index = xr.DataArray(
        table.index(small.values).astype(np.int16), coords=small.coords, dims=("y", "x")
    )
    index = index.rio.write_transform(small.rio.transform())
    merc = _to_web_mercator(index, -1, Resampling.nearest)
    rgba = np.zeros(merc.shape + (4,), dtype=np.uint8)
    idx = merc.values
    ok = idx >= 0
    rgba[ok, :3] = table.colors[idx[ok]]
    rgba[ok, 3] = 255
    bounds = _latlon_bounds(merc)
    name = name or (str(classes.name) if classes.name else "classes")
    m = _add_overlay(_new_map(m, tiles, offline, map_kwds), rgba, bounds, opacity, name,
                     pixelated=True)
    if samples is not None:
        _samples_layer(samples, table, class_field).add_to(m)
    if legend:
        m.add_child(_legend_element(table, name, legend_position))
    return _finish_map(m, bounds, layer_control)


def _samples_layer(samples, table: ClassTable, class_field):
    import folium

    samples = _samples_in_crs(samples, "EPSG:4326")
    field, pos = _sample_classes(samples, table, class_field)
    gdf = samples[[field, samples.geometry.name]].copy()
    gdf[field] = gdf[field].astype(str)
    gdf["_color"] = [table.hex(i) if i >= 0 else "#808080" for i in pos]

    def style(feature):
        color = feature["properties"]["_color"]
        return {"color": "#000000", "weight": 1, "fillColor": color, "fillOpacity": 0.9}

    return folium.GeoJson(
        gdf.to_json(drop_id=True),
        name="training samples",
        style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=[field]),
    )


def explore_rgb(
    cube: xr.DataArray,
    *,
    bands: Sequence[str | int] | None = None,
    stretch: tuple[float, float] | None = (2, 98),
    tiles: str | None = None,
    opacity: float = 1.0,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    offline: bool = False,
    m=None,
    layer_control: bool = True,
    **map_kwds,
):
    """An interactive web map of an RGB composite (overview, Web Mercator, bilinear).

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube with a CRS.
    bands, stretch
        As in :func:`plot_rgb`.
    tiles, name, max_pixels, offline, m, layer_control, **map_kwds
        As in :func:`explore_classes`.
    opacity : float, default 1.0

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> from xr_landcover.plot import explore_rgb
    >>> m = explore_rgb(datasets.nc_landsat7(), bands=("nir", "red", "green"), max_pixels=200)
    >>> "L.imageOverlay" in m.get_root().render()
    True
    """
    from rasterio.enums import Resampling

    rgb, small = _rgb_overview(cube, bands, stretch, max_pixels)
    stretched = xr.DataArray(
        np.moveaxis(rgb, -1, 0),
        coords={"band": [0, 1, 2], "y": small.y, "x": small.x},
        dims=("band", "y", "x"),
    ).rio.write_crs(small.rio.crs)
    stretched = stretched.rio.write_transform(small.rio.transform())
    merc_da = _to_web_mercator(stretched, np.nan, Resampling.bilinear)
    merc = merc_da.values
    valid = np.isfinite(merc).all(axis=0)
    rgba = np.zeros(merc.shape[1:] + (4,), dtype=np.uint8)
    rgba[..., :3] = np.moveaxis(np.round(np.nan_to_num(merc) * 255), 0, -1).astype(np.uint8)
    rgba[..., 3] = np.where(valid, 255, 0)
    bounds = _latlon_bounds(merc_da)
    name = name or (str(cube.name) if cube.name else "image")
    m = _add_overlay(_new_map(m, tiles, offline, map_kwds), rgba, bounds, opacity, name,
                     pixelated=False)
    return _finish_map(m, bounds, layer_control)
