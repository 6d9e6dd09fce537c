"""Local rasters in: :func:`open_image` opens GeoTIFFs (and other GDAL rasters) as band cubes.

A *band cube* is an :class:`xarray.DataArray` with dims ``("band", "y", "x")`` (optionally a
leading ``time``), a ``band`` coordinate of band names, CRS and transform through rioxarray and a
dask array underneath.  Nothing here reads pixels but the file headers until the user computes:
each chunk is read by a :class:`RasterWindowReader`.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.windows
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from dask.base import tokenize as dask_tokenize

from ..errors import (
    GridMismatchError,
    InvalidInputTypeError,
    InvalidParameterError,
    RasterReadError,
)
from ._header import grid_text, raster_profile, same_grid
from ._paths import PathLike, check_raster_path

__all__ = ["DEFAULT_CHUNK_SIZE", "RasterWindowReader", "band_name_from_filename", "open_image"]

#: Target edge length, in pixels, of a chunk when the caller gives none.
DEFAULT_CHUNK_SIZE = 1024


_BAND_TOKEN = re.compile(r"(?:^|[_\-.])(B\d{1,2}[A-Z]?|\d{1,3})$", re.IGNORECASE)


def band_name_from_filename(path: PathLike) -> str:
    """Guess a band name from a single-band file's name.

    The last ``_``-separated token of the file's stem is used when it looks like a band
    (``B4``, ``B8A``, ``40``); otherwise the whole stem.

    Examples
    --------
    >>> band_name_from_filename("LC08_L1TP_224078_20200518_20200518_01_RT_B4.TIF")
    'B4'
    >>> band_name_from_filename("lsat7_2000_40.tif")
    '40'
    >>> band_name_from_filename("nir.tif")
    'nir'
    """
    stem = Path(path).stem
    match = _BAND_TOKEN.search(stem)
    return match.group(1).upper() if match else stem


def _default_chunks(profile: Mapping[str, Any], size: int = DEFAULT_CHUNK_SIZE) -> dict[str, int]:
    """A chunk shape that is a multiple of the file's internal blocks, near ``size`` pixels."""
    block_h, block_w = profile["block_shapes"][0]

    def multiple(block: int, extent: int) -> int:
        if block >= extent or block <= 0:  # striped along this axis, or a single block
            return min(size, extent)
        return max(block, (size // block) * block)

    return {
        "band": -1,
        "y": multiple(block_h, profile["height"]),
        "x": multiple(block_w, profile["width"]),
    }


def _normalise_chunks(chunks: Any, profile: Mapping[str, Any]) -> dict[str, Any]:
    if chunks is None or chunks == "auto":
        return _default_chunks(profile)
    if isinstance(chunks, int | np.integer):
        if chunks <= 0:
            raise InvalidParameterError(f"chunks must be a positive number of pixels, got {chunks}")
        return {"band": -1, "y": int(chunks), "x": int(chunks)}
    if isinstance(chunks, Mapping):
        return {"band": -1, **dict(chunks)}
    if isinstance(chunks, tuple) and len(chunks) in (2, 3):
        y, x = chunks[-2:]
        return {"band": -1 if len(chunks) == 2 else chunks[0], "y": y, "x": x}
    raise InvalidParameterError(
        "chunks must be None, 'auto', an int (pixels per chunk edge), a (y, x) tuple or a "
        f"mapping such as {{'y': 1024, 'x': 1024}}; got {chunks!r}"
    )


class RasterWindowReader:
    """An array-like view of a raster file that reads one window per ``__getitem__``.

    ``dask.array.from_array`` calls it once per chunk. Each call opens the file itself (no
    shared handle, so threads and processes read in parallel) and turns a read failure into a
    :class:`RasterReadError` that names the file and the window, instead of GDAL's bare
    "Read failed".
    """

    def __init__(self, path: PathLike, count: int, height: int, width: int, dtype: str):
        self.path = str(path)
        self.shape = (count, height, width)
        self.dtype = np.dtype(dtype)
        self.ndim = 3

    def __getitem__(self, key: tuple) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (3 - len(key))
        bands, rows, cols = (k if isinstance(k, slice) else slice(int(k), int(k) + 1) for k in key)
        b0, b1, _ = bands.indices(self.shape[0])
        r0, r1, _ = rows.indices(self.shape[1])
        c0, c1, _ = cols.indices(self.shape[2])
        window = rasterio.windows.Window(c0, r0, max(c1 - c0, 0), max(r1 - r0, 0))
        try:
            # No warnings.catch_warnings here: this runs in dask's worker threads, and
            # catch_warnings is not thread-safe (it can leave filters that hide the user's
            # warnings). A raster without georeferencing warns once, at most.
            with rasterio.open(self.path) as src:
                data = src.read(list(range(b0 + 1, b1 + 1)), window=window)
        except rasterio.errors.RasterioError as exc:
            raise RasterReadError(
                f"cannot read rows {r0}:{r1}, columns {c0}:{c1} (bands {b0 + 1}-{b1}) of "
                f"'{self.path}': {str(exc).rstrip('.')}. The file is corrupt or truncated "
                "in that window."
            ) from None
        # apply steps and integer indices the window could not express
        steps = tuple(slice(None, None, k.step) if isinstance(k, slice) else 0 for k in key)
        return data[steps]


def _pixel_centres(start: float, step: float, n: int) -> np.ndarray:
    return start + step * (np.arange(n) + 0.5)


def _open_one(profile: Mapping[str, Any], chunks: Mapping[str, Any]) -> xr.DataArray:
    import dask.array as dsa

    path = profile["path"]
    reader = RasterWindowReader(
        path, profile["count"], profile["height"], profile["width"], profile["dtype"]
    )
    band_chunk = chunks.get("band", -1)
    data = dsa.from_array(
        reader,
        chunks=(band_chunk, chunks["y"], chunks["x"]),
        lock=False,
        asarray=True,
        fancy=False,
        meta=np.empty((0, 0, 0), dtype=reader.dtype),
        name="open_image-"
        + dask_tokenize(path, os.path.getmtime(path), reader.shape, dict(chunks)),
    )
    t = profile["transform"]
    return xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={
            "band": np.arange(1, profile["count"] + 1),
            "y": _pixel_centres(t.f, t.e, profile["height"]),
            "x": _pixel_centres(t.c, t.a, profile["width"]),
        },
    )


def open_image(
    path_or_paths: PathLike | Sequence[PathLike],
    chunks: int | tuple | Mapping[str, int] | str | None = None,
    band_names: Sequence[str] | None = None,
    nodata: float | None = None,
    masked: bool = True,
) -> xr.DataArray:
    """Open one multi-band raster, or several single-band rasters on one grid, as a band cube.

    Nothing is read but the file headers: the result is backed by a dask array.

    Parameters
    ----------
    path_or_paths : str, path or sequence of them
        One raster file (all its bands are used) or a list of files on the same pixel grid
        (stacked along ``band`` in the order given).
    chunks : int, tuple, mapping, "auto" or None
        Chunk size in pixels. ``None``/"auto" uses a multiple of the file's internal blocks
        near 1024 px; all bands always sit in one chunk.
    band_names : sequence of str, optional
        Names for the ``band`` coordinate. By default band descriptions are used when the file
        has them, else a name taken from each file name (``..._B4.TIF`` → ``"B4"``,
        ``lsat7_2000_40.tif`` → ``"40"``), else ``"1"``, ``"2"``...
    nodata : float, optional
        The value that marks missing pixels, overriding (or supplying) what the files declare.
        The Landsat 8 sample declares none but has zeros outside its footprint: pass
        ``nodata=0``.
    masked : bool, default True
        If True and a nodata value is known, the cube is float32 with NaN for nodata (the
        original value stays in ``encoding["_FillValue"]``). If False the raw dtype is kept and
        ``cube.rio.nodata`` tells the nodata value.

    Returns
    -------
    xarray.DataArray
        Dims ``("band", "y", "x")``, dask-backed, with CRS and transform via rioxarray.

    Raises
    ------
    RasterFileNotFoundError
        A file does not exist (also a ``FileNotFoundError``).
    RasterReadError
        A file is not a readable raster.
    GridMismatchError
        Several files do not share one grid (they are never resampled silently).
    InvalidParameterError
        ``band_names`` has the wrong length, or ``chunks`` is malformed.

    Warns
    -----
    UserWarning
        A file is a class map (``flag_values`` or ``CLASS_<value>`` tags, as
        :func:`~xr_landcover.to_geotiff` writes): open it with
        :func:`~xr_landcover.open_classmap` to keep its classes, names and colours.

    Examples
    --------
    >>> import xr_landcover
    >>> from xr_landcover import datasets
    >>> cube = xr_landcover.open_image(datasets.nc_landsat7_path())
    >>> cube.dims
    ('band', 'y', 'x')
    >>> list(cube.band.values)
    ['blue', 'green', 'red', 'nir', 'swir1', 'swir2']
    >>> cube.dtype, cube.rio.crs is not None
    (dtype('float32'), True)
    """
    if isinstance(path_or_paths, str | os.PathLike):
        paths = [path_or_paths]
        single_file = True
    elif isinstance(path_or_paths, Iterable):
        paths = list(path_or_paths)
        single_file = len(paths) == 1
        if not paths:
            raise InvalidParameterError("open_image needs at least one path; got an empty list")
    else:
        raise InvalidInputTypeError(
            f"path_or_paths must be a path or a list of paths, got {type(path_or_paths).__name__}"
        )
    for p in paths:
        if not isinstance(p, str | os.PathLike):
            raise InvalidInputTypeError(f"each path must be a str or os.PathLike, got {p!r}")

    profiles = [raster_profile(check_raster_path(p)) for p in paths]
    first = profiles[0]
    for other in profiles[1:]:
        if not same_grid(first, other):
            raise GridMismatchError(
                "the rasters are not on one pixel grid:\n"
                f"  '{first['path']}': {grid_text(first)}\n"
                f"  '{other['path']}': {grid_text(other)}\n"
                "Resample one onto the other first (e.g. cube.rio.reproject_match); "
                "open_image never resamples silently."
            )
    maps = [str(p["path"]) for p in profiles if p["class_map"]]
    if maps:
        warnings.warn(
            f"{', '.join(repr(m) for m in maps)} holds a class map (class values and names in "
            "its tags); open_image opens it as a band of a cube"
            f"{' (float32, nodata as NaN)' if masked else ''}, without its class names and "
            "colours. To use it as a class map, open it with "
            "xr_landcover.open_classmap(path)",
            UserWarning, stacklevel=2)
    chunk_spec = _normalise_chunks(chunks, first)

    parts: list[xr.DataArray] = []
    names: list[str] = []
    for profile in profiles:
        da = _open_one(profile, chunk_spec)
        file_nodata = nodata if nodata is not None else profile["nodata"]
        if masked and file_nodata is not None:
            raw = da
            da = raw.astype("float32")
            if not np.isnan(file_nodata):
                da = da.where(raw != file_nodata)
        elif not masked and file_nodata is not None and parts:
            reference = parts[0].attrs.get("_xrl_nodata")
            if reference is not None and reference != file_nodata:
                # One cube has one nodata value: map this file's to the first file's.
                da = da.where(da != file_nodata, reference)
            file_nodata = reference if reference is not None else file_nodata
        da.attrs = {"_xrl_nodata": file_nodata}
        parts.append(da)
        descriptions = profile["descriptions"]
        if all(descriptions) and len(set(descriptions)) == len(descriptions):
            names.extend(descriptions)
        elif profile["count"] == 1 and not single_file:
            names.append(band_name_from_filename(profile["path"]))
        else:
            names.extend(str(i + 1) for i in range(profile["count"]))

    cube = parts[0] if len(parts) == 1 else xr.concat(parts, dim="band", join="override")
    file_nodata = parts[0].attrs["_xrl_nodata"]
    if masked:
        cube = cube.astype("float32") if file_nodata is not None else cube
    if band_names is not None:
        band_names = [str(b) for b in band_names]
        if len(band_names) != cube.sizes["band"]:
            raise InvalidParameterError(
                f"band_names has {len(band_names)} names but the raster(s) have "
                f"{cube.sizes['band']} bands"
            )
        names = band_names
    if len(set(names)) != len(names):
        names = [f"{n}_{i + 1}" for i, n in enumerate(names)]
    cube = cube.assign_coords(band=np.array(names, dtype=object))
    cube = cube.chunk({"band": -1}) if len(parts) > 1 else cube
    cube.attrs = {}
    cube.encoding = {}
    cube.name = Path(first["path"]).stem if single_file else "bands"
    cube = cube.rio.write_crs(first["crs"]) if first["crs"] is not None else cube
    cube = cube.rio.write_transform(first["transform"])
    if file_nodata is not None:
        cube = cube.rio.write_nodata(file_nodata, encoded=masked)
    return cube
