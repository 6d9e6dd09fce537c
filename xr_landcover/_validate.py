"""Checks shared by every public function, and the defaults the functions and the accessor share.

Each check raises the package's error (:mod:`xr_landcover.errors`) with a message that names
the argument, says what was found and how to fix it; the functions call them once, early, and
the ``.landcover`` accessor uses the same ones, so one kind of bad input reads the same
everywhere. This module imports nothing of the package but :mod:`~xr_landcover.errors`.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

import numpy as np
import xarray as xr

from .errors import (
    DimensionError,
    GridMismatchError,
    InvalidInputTypeError,
    InvalidParameterError,
    MissingCRSError,
)

__all__ = [
    "DEFAULT_MAX_SAMPLES_PER_CLASS",
    "DEFAULT_SPECTRAL_DETAIL",
    "DEFAULT_SPATIAL_DETAIL",
    "DEFAULT_MIN_SEGMENT_SIZE",
    "DEFAULT_ACCURACY_POINTS",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_CLUSTER_SAMPLE_SIZE",
    "require_dataarray",
    "accessor_hint",
    "require_cube",
    "require_crs",
    "require_class_map",
    "single_band_hint",
    "require_north_up",
    "require_whole_classes",
    "CLASS_ATTRS",
    "require_same_grid",
    "same_crs",
    "check_number",
    "check_choice",
    "require_unique_bands",
    "band_positions",
]

#: Training pixels drawn per class (ArcGIS's ``maxSampleClass``); 0 or None = all.
DEFAULT_MAX_SAMPLES_PER_CLASS = 500
#: Mean-shift spectral detail, 1-20 (ArcGIS's default; range radius ``22 - detail``).
DEFAULT_SPECTRAL_DETAIL = 15.5
#: Mean-shift spatial detail, 1-20 (ArcGIS's default; spatial radius ``22 - detail`` px).
DEFAULT_SPATIAL_DETAIL = 15
#: Smallest segment, in pixels (ArcGIS's default).
DEFAULT_MIN_SEGMENT_SIZE = 20
#: Points drawn by ``accuracy_points``.
DEFAULT_ACCURACY_POINTS = 500
#: Valid pixels that unsupervised clusters are fitted on.
DEFAULT_CLUSTER_SAMPLE_SIZE = 20000
#: Longest side, in pixels, of the overview that maps draw (static and web maps alike).
DEFAULT_MAX_PIXELS = 1500

CUBE_DIMS = ("band", "y", "x")


def require_dataarray(obj: Any, name: str) -> xr.DataArray:
    """``obj`` if it is a DataArray, else :class:`InvalidInputTypeError` naming ``name``.

    Examples
    --------
    >>> require_dataarray([1, 2], "cube")
    Traceback (most recent call last):
    ...
    xr_landcover.errors.InvalidInputTypeError: cube must be an xarray.DataArray, got list
    """
    if not isinstance(obj, xr.DataArray):
        raise InvalidInputTypeError(f"{name} must be an xarray.DataArray, got "
                                    f"{type(obj).__name__}{accessor_hint(obj)}")
    return obj


def accessor_hint(obj: Any) -> str:
    """For ``ds.landcover`` passed where a DataArray goes (it is the Dataset's ``.landcover``
    accessor, not its variable ``landcover``), the fix; else ``""``."""
    if type(obj).__name__ == "LandcoverDatasetAccessor":
        return (": ds.landcover of a Dataset is its .landcover accessor, not its variable; "
                "pass the variable, ds['landcover']")
    return ""


def require_crs(da: xr.DataArray, name: str = "cube") -> xr.DataArray:
    """``da`` if it has a CRS (rioxarray), else :class:`MissingCRSError` saying how to set it."""
    if da.rio.crs is None:
        raise MissingCRSError(
            f"the {name} has no CRS; set one with {name}.rio.write_crs('EPSG:....')"
        )
    return da


def require_north_up(da: xr.DataArray, name: str = "cube") -> xr.DataArray:
    """``da`` if its grid is north-up (no rotation or shear in its affine transform), else
    :class:`GridMismatchError` naming the transform and the fix.

    A rotated or sheared GeoTIFF opens with 1-D ``x``/``y`` coordinates that are not the
    pixels' positions; every function here works on north-up grids, so such a grid is refused
    at call time (before any pixel is read) rather than half supported.

    Examples
    --------
    >>> import numpy as np, xarray as xr, rioxarray
    >>> from affine import Affine
    >>> da = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"))
    >>> da = da.rio.write_transform(Affine.rotation(30) * Affine.scale(10, -10))
    >>> require_north_up(da)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xr_landcover.errors.GridMismatchError: the cube's grid is rotated or sheared ...
    """
    try:
        t = da.rio.transform()
    except Exception:  # noqa: BLE001  (no spatial dims or coordinates: nothing to check)
        return da
    scale = max(abs(t.a), abs(t.e), abs(t.b), abs(t.d))
    if scale and max(abs(t.b), abs(t.d)) > 1e-9 * scale:
        terms = ", ".join(f"{v:.6g}" for v in (t.a, t.b, t.c, t.d, t.e, t.f))
        raise GridMismatchError(
            f"the {name}'s grid is rotated or sheared (affine transform a, b, c, d, e, f = "
            f"{terms}; b and d must be 0): xr_landcover works on north-up grids only. Warp "
            "the file to a north-up grid first and open that, e.g. gdalwarp -of VRT in.tif "
            "north_up.vrt (a small file, no pixel copied) or rio warp in.tif north_up.tif"
        )
    return da


def require_cube(cube: Any, name: str = "cube", *, crs: bool = True,
                 single_image: str | None = None) -> xr.DataArray:
    """``cube`` as a band cube ``(..., "band", "y", "x")``, or the error that says why not.

    Parameters
    ----------
    cube : object
        The argument to check.
    name : str
        Its name in the caller's signature (used in the messages).
    crs : bool, default True
        Require a CRS.
    single_image : str, optional
        When given, leading dims such as ``time`` are refused: this names what takes a single
        image (``"training"``, ``"a map"``...). Otherwise they are kept, first.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> flat = xr.DataArray(np.zeros((2, 2)), dims=("y", "x"))
    >>> require_cube(flat, crs=False)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xr_landcover.errors.DimensionError: a band cube needs dims ('band', 'y', 'x'); cube has ...
    """
    cube = require_dataarray(cube, name)
    missing = [d for d in CUBE_DIMS if d not in cube.dims]
    if missing:
        raise DimensionError(
            f"a band cube needs dims ('band', 'y', 'x'); {name} has {cube.dims} (missing "
            f"{missing}). Open rasters with xr_landcover.open_image, or rename dims with "
            ".rename(...)"
        )
    extra = [d for d in cube.dims if d not in CUBE_DIMS]
    if extra and single_image:
        raise DimensionError(
            f"{single_image} takes one image, dims ('band', 'y', 'x'): {name} has extra dims "
            f"{extra}; select one first, e.g. {name}.isel({extra[0]}=0)"
        )
    if cube.dims[-3:] != CUBE_DIMS:
        cube = cube.transpose(..., *CUBE_DIMS)
    require_north_up(cube, name)
    require_unique_bands(cube, name)
    return require_crs(cube, name) if crs else cube


def require_unique_bands(cube: xr.DataArray, name: str = "cube") -> None:
    """:class:`DimensionError` when the ``band`` coordinate names a band twice (then which
    one a name means is a matter of position, and swapping them changes results).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> cube = xr.DataArray(np.zeros((2, 1, 1)), dims=("band", "y", "x"),
    ...                     coords={"band": ["red", "red"]})
    >>> require_unique_bands(cube)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xr_landcover.errors.DimensionError: the cube's band coordinate names ['red'] more than ...
    """
    if "band" not in cube.coords:
        return
    names = [str(b) for b in np.atleast_1d(cube["band"].values)]
    twice = sorted({b for b in names if names.count(b) > 1})
    if twice:
        raise DimensionError(
            f"the {name}'s band coordinate names {twice} more than once ({names}); each band "
            f"needs its own name: rename them, e.g. {name}.assign_coords(band=[...])"
        )


def band_positions(cube: xr.DataArray, bands: Collection, name: str = "bands") -> list[int]:
    """Positions in ``cube`` of ``bands``, given by name or by integer.

    An integer is a position (0-based), except on a cube whose band labels are integers
    (rioxarray's 1, 2, 3 ...): there it is a label, as ``cube.sel(band=...)`` reads it, so
    ``bands=[1, 2, 3]`` and a reordered band coordinate pick the labelled bands. Anything
    else is :class:`InvalidParameterError` naming ``name``, the bands and the rule.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> cube = xr.DataArray(np.zeros((3, 1, 1)), dims=("band", "y", "x"),
    ...                     coords={"band": [3, 1, 2]})
    >>> band_positions(cube, [1, 2, 3])
    [1, 2, 0]
    >>> band_positions(cube.assign_coords(band=["r", "g", "b"]), [2, "r"])
    [2, 0]
    """
    labels = np.atleast_1d(cube["band"].values) if "band" in cube.coords else np.arange(0)
    n = cube.sizes["band"]
    by_label = labels.size > 0 and labels.dtype.kind in "iu"
    names = [str(b) for b in labels]
    out = []
    for b in bands:
        if isinstance(b, bool) or not isinstance(b, str | int | np.integer):
            raise InvalidParameterError(
                f"{name}: {b!r} is neither a band name nor an integer band; the bands: {names}"
            )
        if isinstance(b, str):
            if b not in names:
                raise InvalidParameterError(f"{name}: {b!r} is not in this cube; its "
                                            f"bands: {names}")
            out.append(names.index(b))
        elif by_label:
            hits = np.flatnonzero(labels == int(b))
            if hits.size != 1:
                raise InvalidParameterError(
                    f"{name}: {b} is not a band label of this cube; its band labels are the "
                    f"integers {labels.tolist()}, and integers select by label, as "
                    "cube.sel(band=...) does, not by position"
                )
            out.append(int(hits[0]))
        else:
            if not -n <= b < n:
                raise InvalidParameterError(
                    f"{name}: index {b} is out of range for a cube of {n} bands (0..{n - 1}); "
                    f"its bands: {names}"
                )
            out.append(int(b) % n)
    return out


def require_class_map(classes: Any, name: str = "class_map", *, crs: bool = False) -> xr.DataArray:
    """``classes`` as a ``("y", "x")`` map, or the error that says why not (a band cube or a
    time series is named as such, with the selection that fixes it).

    A class map holds integer classes; a float array is one only when it carries class
    attributes (:data:`CLASS_ATTRS`: a map masked with ``where``, NaN = no class), and its
    values are then checked to be whole where they are counted
    (:func:`require_whole_classes`). A float array without them (a confidence layer, a band)
    is refused. A rotated grid is refused (:func:`require_north_up`)."""
    classes = require_dataarray(classes, name)
    if classes.ndim != 2 or set(classes.dims) != {"y", "x"}:
        hint = (single_band_hint(classes, name) or " (a band cube? classify it first)"
                if "band" in classes.dims else "")
        raise DimensionError(
            f"a class map must have dims ('y', 'x'); {name} has {classes.dims}{hint}. "
            f"Select one time step or band first, e.g. {name}.isel(time=0)"
        )
    kind = classes.dtype.kind
    if kind not in "iub" and not (kind == "f" and any(k in classes.attrs for k in CLASS_ATTRS)):
        what = classes.attrs.get("long_name") or classes.name
        what = f" ('{what}')" if what else ""
        raise InvalidInputTypeError(
            f"{name} must be a class map of integer classes; got a {classes.dtype} array"
            f"{what} without class attributes (flag_values): a continuous layer such as a "
            "confidence or a band is not a class map. Pass the class map from classify "
            f"(e.g. result['landcover']), or convert whole-number classes with "
            f"{name}.astype('uint8')"
        )
    if classes.dims != ("y", "x"):
        classes = classes.transpose("y", "x")
    require_north_up(classes, name)
    return require_crs(classes, name) if crs else classes


def single_band_hint(da: xr.DataArray, name: str) -> str:
    """For a ``("band", "y", "x")`` array of one band (a class-map GeoTIFF opened with
    ``rioxarray.open_rasterio``), the selection that makes it a map; else ``""``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> one = xr.DataArray(np.zeros((1, 2, 2)), dims=("band", "y", "x"))
    >>> "classes.squeeze('band', drop=True)" in single_band_hint(one, "classes")
    True
    """
    if set(da.dims) != {"band", "y", "x"} or da.sizes["band"] != 1:
        return ""
    return (f" (one band, as rioxarray.open_rasterio returns a file: select it with "
            f"{name}.squeeze('band', drop=True), or open the file with "
            "xr_landcover.open_classmap)")


#: Attributes that make a float array a (masked) class map rather than a measurement.
CLASS_ATTRS = ("flag_values", "class_names", "flag_colors", "colormap")


def require_whole_classes(values: np.ndarray, name: str = "class_map") -> np.ndarray:
    """``values`` if none of its finite values has a fraction, else
    :class:`InvalidParameterError` naming ``name``: class values of a float array (a map
    masked with ``where``, a float reference raster) are never truncated to integers.

    Examples
    --------
    >>> require_whole_classes(np.array([1.0, np.nan, 2.0]))
    array([ 1., nan,  2.])
    >>> require_whole_classes(np.array([1.7, 2.0]), "reference")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xr_landcover.errors.InvalidParameterError: the reference holds non-integer values (1.7 ...
    """
    values = np.asarray(values)
    if values.dtype.kind == "f":
        finite = values[np.isfinite(values)]
        fraction = finite[finite != np.round(finite)]
        if fraction.size:
            shown = ", ".join(f"{v:g}" for v in np.unique(fraction)[:3])
            raise InvalidParameterError(
                f"the {name} holds non-integer values ({shown} ...): class values are whole "
                "numbers, and these would be truncated. Pass integer classes (a class map or "
                "class raster), not a continuous layer such as a confidence or a band"
            )
    return values


def require_same_grid(a: xr.DataArray, b: xr.DataArray, names: tuple[str, str] = ("cube",
                      "segments"), fix: str | None = None) -> None:
    """:class:`GridMismatchError` unless ``b`` lies on ``a``'s pixel grid: the same size, the
    same CRS where both have one, and the same pixel coordinates (to a millionth of a pixel).

    ``names`` name the two arrays in the messages; ``fix`` is the advice they end with (by
    default: ``reproject_match`` with nearest resampling).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> a = xr.DataArray(np.zeros((2, 3)), dims=("y", "x"))
    >>> require_same_grid(a, a.isel(x=slice(0, 2)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xr_landcover.errors.GridMismatchError: the cube (2 x 3 px) and the segments (2 x 2 px) are \
not on the same grid; ...
    """
    first, second = names
    require_north_up(a, first)
    require_north_up(b, second)
    if fix is None:
        fix = (f"bring the {second} onto the {first}'s pixel grid with "
               f"{second}.rio.reproject_match({first}, resampling=Resampling.nearest)")
    shape_a = (a.sizes["y"], a.sizes["x"])
    shape_b = (b.sizes["y"], b.sizes["x"])
    if shape_a != shape_b:
        raise GridMismatchError(
            f"the {first} ({shape_a[0]} x {shape_a[1]} px) and the {second} ({shape_b[0]} x "
            f"{shape_b[1]} px) are not on the same grid; {fix}"
        )
    crs_a, crs_b = a.rio.crs, b.rio.crs
    if crs_a is not None and crs_b is not None and not same_crs(crs_a, crs_b):
        raise GridMismatchError(
            f"the {first}'s CRS ({crs_a.to_string()}) and the {second}' CRS "
            f"({crs_b.to_string()}) differ; {fix}"
        )
    for dim in ("y", "x"):
        if dim in a.coords and dim in b.coords:
            ca = np.asarray(a[dim].values, dtype=np.float64)
            cb = np.asarray(b[dim].values, dtype=np.float64)
            step = abs(ca[1] - ca[0]) if len(ca) > 1 else 1.0
            if not np.allclose(ca, cb, rtol=0.0, atol=1e-6 * step):
                raise GridMismatchError(
                    f"the {first}'s and the {second}' {dim} coordinates differ (shifted or "
                    f"resampled grid); {fix}"
                )


def same_crs(a: Any, b: Any) -> bool:
    """Whether two CRSs (rasterio, pyproj or WKT) are the same, axis order aside. (Comparing
    EPSG codes is not enough: the NC scene's custom Lambert CRS matches EPSG:32119 only
    loosely.)

    Examples
    --------
    >>> same_crs("EPSG:4326", "OGC:CRS84"), same_crs("EPSG:32618", "EPSG:32619")
    (True, False)
    """
    import pyproj

    def as_pyproj(crs):
        return pyproj.CRS.from_wkt(crs.to_wkt()) if hasattr(crs, "to_wkt") else pyproj.CRS(crs)

    return as_pyproj(a).equals(as_pyproj(b), ignore_axis_order=True)


def check_number(name: str, value: Any, low: float | None = None, high: float | None = None, *,
                 integer: bool = False, low_open: bool = False) -> None:
    """A number in range, else an error naming ``name``, the range and the value: a wrong type
    is :class:`InvalidInputTypeError` (a ``TypeError``), a bad value
    :class:`InvalidParameterError` (a ``ValueError``).

    Examples
    --------
    >>> check_number("spectral_detail", 21, 1, 20)
    Traceback (most recent call last):
    ...
    xr_landcover.errors.InvalidParameterError: spectral_detail must be a number in [1, 20]; got 21
    >>> check_number("tile_size", "256", 16, integer=True)
    Traceback (most recent call last):
    ...
    xr_landcover.errors.InvalidInputTypeError: tile_size must be an integer >= 16; got '256'
    """
    is_number = (isinstance(value, int | float | np.integer | np.floating)
                 and not isinstance(value, bool))
    ok = is_number
    if ok and integer:
        ok = float(value) == int(value)
    if ok:
        ok = math.isfinite(float(value))
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) <= high
    if not ok:
        kind = "an integer" if integer else "a number"
        if low is not None and high is not None:
            rng = f"in [{low}, {high}]"
        elif low is not None:
            rng = f"> {low}" if low_open else f">= {low}"
        else:
            rng = ""
        message = f"{name} must be {kind} {rng}; got {value!r}".replace("  ", " ")
        if not is_number:
            raise InvalidInputTypeError(message)  # a wrong type is a TypeError, not a bad value
        raise InvalidParameterError(message)


def check_choice(name: str, value: Any, choices: Collection) -> None:
    """``value`` one of ``choices``, else :class:`InvalidParameterError` listing them.

    Examples
    --------
    >>> check_choice("kernel", "gauss", ("product", "joint"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xr_landcover.errors.InvalidParameterError: kernel must be one of [...]; got 'gauss'
    """
    try:
        ok = value in choices
    except TypeError:  # unhashable
        ok = False
    if not ok:
        raise InvalidParameterError(f"{name} must be one of {list(choices)}; got {value!r}")
