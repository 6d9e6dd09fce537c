"""Static maps (matplotlib): class maps with legends, RGB composites, the two side by side with
the training samples, segment boundaries.

Each function returns the :class:`~matplotlib.axes.Axes` it drew on (the
:class:`~matplotlib.figure.Figure` for :func:`compare`). matplotlib is imported inside the
functions, so importing this module costs nothing; folium is never imported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._validate import require_same_grid
from .._warnings import short_list, warn
from ..classmap import ClassTable
from ..errors import GridMismatchError, InvalidParameterError
from ._common import (
    DEFAULT_MAX_PIXELS,
    class_table,
    overview,
    require_image,
    require_map,
    rgb_overview,
    sample_classes,
    samples_in_crs,
)

__all__ = ["plot_classes", "plot_rgb", "compare", "plot_segments"]


def _extent(small: xr.DataArray) -> tuple[float, float, float, float]:
    """matplotlib ``imshow`` extent (left, right, bottom, top) of a raster drawn origin='upper'."""
    t = small.rio.transform()
    ny, nx = small.sizes["y"], small.sizes["x"]
    left, top = t.c, t.f
    right, bottom = t.c + t.a * nx, t.f + t.e * ny
    return (left, right, bottom, top)


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


# --------------------------------------------------------------------------------------------
# Class maps and RGB composites
# --------------------------------------------------------------------------------------------


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

    Colours come from the ``flag_colors`` attr (or a ``colormap`` dict ``{value: (r, g, b)}``),
    names from ``class_names`` (or ``flag_meanings``); nodata (``_FillValue``) and values
    outside ``flag_values`` are transparent, so the axes background shows through.

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
    require_map(classes, "classes", "class map")
    small = overview(classes, max_pixels)
    table = class_table(classes, small)
    ax = _new_axes(ax, figsize)
    _draw_classes(ax, small, table, **imshow_kwds)
    _label_axes(ax, classes, title)
    if legend:
        _class_legend(ax, table, **dict(legend_kwds or {}))
    return ax, table


def _rgba_float(rgb: np.ndarray) -> np.ndarray:
    valid = np.isfinite(rgb).all(axis=-1)
    rgba = np.zeros(rgb.shape[:-1] + (4,), dtype=np.float64)
    rgba[..., :3] = np.where(valid[..., None], rgb, 0)
    rgba[..., 3] = valid
    return rgba


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
    rgb, small = rgb_overview(cube, bands, stretch, max_pixels)
    ax = _new_axes(ax, figsize)
    ax.imshow(_rgba_float(rgb), extent=_extent(small), origin="upper", **imshow_kwds)
    _label_axes(ax, small, title)
    return ax


# --------------------------------------------------------------------------------------------
# Image and classes side by side, with training samples
# --------------------------------------------------------------------------------------------


def _plot_outlines(gdf, ax, color) -> None:
    """Polygon outlines; points as hollow markers (a point's boundary is empty)."""
    points = gdf.geom_type.isin(["Point", "MultiPoint"]).to_numpy()
    if (~points).any():
        gdf[~points].boundary.plot(ax=ax, color=color, linewidth=0.8, zorder=3)
    if points.any():
        gdf[points].plot(ax=ax, facecolor="none", edgecolor=color, linewidth=0.8, zorder=3)


def _draw_samples(ax, samples, table: ClassTable, crs, class_field, *, filled: bool,
                  warn_unknown: bool = True):
    samples = samples_in_crs(samples, crs)
    field, pos = sample_classes(samples, table, class_field)
    unknown = pos < 0
    if unknown.any() and warn_unknown:
        found = sorted(set(map(str, samples.loc[unknown, field])))
        warn(
            f"{int(unknown.sum())} sample(s) have classes not in the map ({field}: "
            f"{short_list(found)}); drawn as grey outlines. Pass the training samples of this "
            "map, or class_field= the column that holds its class names or values"
        )
    limits = ax.get_xlim(), ax.get_ylim()
    known = samples.loc[~unknown]
    if len(known):
        colors = [table.hex(i) for i in pos[~unknown]]
        if filled:
            known.plot(ax=ax, color=colors, edgecolor="black", linewidth=0.6, zorder=3)
        else:
            _plot_outlines(known, ax, "black")
    if unknown.any():
        _plot_outlines(samples.loc[unknown], ax, "0.5")
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

    require_map(classes, "classes", "class map")
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
        # the same samples: warned about once, above
        _draw_samples(ax_cls, samples, table, crs, class_field, filled=False,
                      warn_unknown=False)
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

    require_map(segments, "segments", "segment map")
    if fill not in ("image", "mean"):
        raise InvalidParameterError(f"fill must be 'image' or 'mean', got {fill!r}")
    if mode not in ("inner", "outer", "thick", "subpixel"):
        raise InvalidParameterError(f"mode must be inner, outer, thick or subpixel, got {mode!r}")
    cube = require_image(rgb_cube, "rgb_cube")
    require_same_grid(cube, segments)
    rgb, small = rgb_overview(cube, bands, stretch, max_pixels, "rgb_cube")
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
