"""GeoTIFFs out: :func:`to_geotiff` and :func:`to_geotiffs` write class maps and band cubes as
tiled, compressed GeoTIFFs, block by block and atomically.

The steps: check each layer (:func:`_geotiff_layer`) and path, create an uncompressed staging
GeoTIFF with the grid, nodata, band names and colour table (:func:`_create_stage`), store the
dask blocks into it as windows (:class:`_WindowWriter`), then copy it, tile by tile in file
order and with a small GDAL cache (:func:`copy_cache_env`), into the compressed file that
replaces the target. The stage is a :func:`~xr_landcover.io._atomic.scratch_path` and the
compressed file an :func:`~xr_landcover.io._atomic.atomic_file`: both are hidden beside the
target until the end, and removed on any error or interrupt.
"""

from __future__ import annotations

import errno
import os
import warnings
from collections.abc import Mapping
from contextlib import ExitStack
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from .._validate import accessor_hint
from ..classmap import ClassMap, hex_colors, restore_class_dtype
from ..colors import flag_meanings
from ..errors import (
    DimensionError,
    InvalidInputTypeError,
    InvalidParameterError,
    OutputNotWritableError,
)
from ._atomic import (
    atomic_file,
    disk_full_error,
    nearly_full,
    reporting_disk_full,
    scratch_path,
)
from ._pam import class_counts, count_classes_per_block, pam_xml, replacing_sidecar
from ._paths import PathLike, check_output_path

__all__ = ["COMPRESSIONS", "COPY_CACHE_MB", "OVERVIEW_RESAMPLINGS", "copy_cache_env",
           "metadata_tags", "overview_factors", "supported_compressions", "to_geotiff",
           "to_geotiffs"]

#: The lossless GeoTIFF compressions ``compress=`` may name (those GDAL was built with, see
#: :func:`supported_compressions`). Lossy ones (JPEG, WebP) would change a class map's values.
COMPRESSIONS = ("deflate", "lzw", "zstd", "lzma", "packbits", "lerc", "lerc_deflate",
                "lerc_zstd", "none")


#: What ``overviews=`` may name: ``"auto"`` (mode for class maps, nearest for other integer
#: maps such as segment labels, average for continuous layers), GDAL's overview resamplings,
#: or None for no overviews.
OVERVIEW_RESAMPLINGS = ("auto", "nearest", "mode", "average", "rms", "bilinear", "cubic",
                        "cubicspline", "lanczos", "gauss")


def overview_factors(width: int, height: int, tile_size: int) -> list[int]:
    """The overview factors of a COG, as GDAL's COG driver picks them: 2, 4, 8... while the
    last level, its size divided by the factor rounded down, exceeds a tile on a side (so a
    513-pixel image gets one level, of 257 pixels, as in GDAL; tested against GDAL).

    Examples
    --------
    >>> overview_factors(1000, 600, 256), overview_factors(256, 100, 256)
    ([2, 4], [])
    >>> overview_factors(513, 20, 256), overview_factors(1025, 1, 256)
    ([2], [2, 4])
    """
    factors, factor = [], 2
    while max(width // (factor // 2), height // (factor // 2)) > tile_size:
        factors.append(factor)
        factor *= 2
    return factors


def _overview_resampling(da: xr.DataArray, overviews: str) -> str:
    """The resampling of the overviews of ``da``: ``overviews``, or what ``"auto"`` picks."""
    if overviews != "auto":
        return overviews
    if da.dims == ("y", "x") and np.issubdtype(_geotiff_dtype(da), np.integer):
        return "mode" if ClassMap.from_dataarray(da).values else "nearest"
    return "average"


def _check_overviews(overviews: Any) -> str | None:
    name = overviews.lower() if isinstance(overviews, str) else overviews
    if name is not None and name not in OVERVIEW_RESAMPLINGS:
        error = InvalidParameterError if isinstance(overviews, str) else InvalidInputTypeError
        raise error(
            f"overviews must be None (no overviews) or one of {list(OVERVIEW_RESAMPLINGS)} "
            f"(how the overviews are resampled); got {overviews!r}")
    return name


def _finish_stage(stage: Path, colormap: dict | None, factors: list[int],
                  resampling: str | None) -> None:
    """Build the stage's internal overviews (the COG copy takes them as they are) and write
    its colour table: after the overviews, so that GDAL resamples values, not colours."""
    from rasterio.enums import Resampling

    if not factors and colormap is None:
        return
    with rasterio.Env(**copy_cache_env()), rasterio.open(stage, "r+") as dst:
        if factors:
            dst.build_overviews(factors, Resampling[resampling.replace("cubicspline",
                                                                         "cubic_spline")])
        if colormap is not None:
            dst.write_colormap(1, colormap)


class _WindowWriter:
    """A ``dask.array.store`` target writing each block as a window of a GeoTIFF on disk.

    The file is opened per block (under the store's lock), so the target holds only a path and
    also works with a distributed scheduler whose workers see the same disk.
    """

    def __init__(self, path: Path, has_band_dim: bool):
        self.path = str(path)
        self.has_band_dim = has_band_dim

    def __setitem__(self, key: tuple, value: np.ndarray) -> None:
        from rasterio.windows import Window

        ys, xs = key[-2], key[-1]
        window = Window(xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start)
        with rasterio.open(self.path, "r+") as dst:
            if self.has_band_dim:
                bands = range(key[0].start or 0, key[0].stop or dst.count)
                dst.write(value, indexes=[b + 1 for b in bands], window=window)
            else:
                dst.write(value, indexes=1, window=window)


#: GDAL block cache (MB) while the staging file is copied into the compressed GeoTIFF. GDAL's
#: default (5 % of the machine's memory) lets the cache grow with the file: 1.2 GB on a 24 GB
#: machine, reached by a 40000² class map. A small cache gives the same bytes at the same speed.
COPY_CACHE_MB = 64


def copy_cache_env() -> dict:
    """``{"GDAL_CACHEMAX": COPY_CACHE_MB}`` unless the user has set ``GDAL_CACHEMAX`` (in the
    environment or an active ``rasterio.Env``), whose choice is then kept.

    Examples
    --------
    >>> import rasterio
    >>> copy_cache_env() == {"GDAL_CACHEMAX": COPY_CACHE_MB}
    True
    >>> with rasterio.Env(GDAL_CACHEMAX=512):
    ...     copy_cache_env()
    {}
    """
    if "GDAL_CACHEMAX" in os.environ:
        return {}
    try:
        if "GDAL_CACHEMAX" in rasterio.env.getenv():
            return {}
    except rasterio.errors.EnvError:  # no rasterio.Env active
        pass
    return {"GDAL_CACHEMAX": COPY_CACHE_MB}


@cache
def _gdal_compresses(name: str) -> bool:
    """Whether this GDAL writes GeoTIFFs with compression ``name`` (a 16 x 16 probe in memory:
    GDAL ignores an unknown name with a mere warning, and some codecs are build options)."""
    from rasterio.io import MemoryFile

    if name == "none":
        return True
    try:
        with warnings.catch_warnings(), MemoryFile() as mem:
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with mem.open(driver="GTiff", width=16, height=16, count=1, dtype="uint8",
                          compress=name) as dst:
                dst.write(np.zeros((1, 16, 16), "uint8"))
            with mem.open() as src:
                found = src.tags(ns="IMAGE_STRUCTURE").get("COMPRESSION", "")
    except rasterio.errors.RasterioError:
        return False
    return found.lower() == name


def supported_compressions() -> list[str]:
    """The lossless compressions (:data:`COMPRESSIONS`) this GDAL build writes.

    Examples
    --------
    >>> {"deflate", "lzw", "none"} <= set(supported_compressions())
    True
    """
    return [name for name in COMPRESSIONS if _gdal_compresses(name)]


def _check_compress(compress: Any) -> str:
    """``compress`` as GDAL's lower-case name, or the error listing the valid ones."""
    name = compress.lower() if isinstance(compress, str) else None
    if name not in COMPRESSIONS or not _gdal_compresses(name):
        error = InvalidParameterError if isinstance(compress, str) else InvalidInputTypeError
        raise error(
            f"compress must be one of {supported_compressions()} (lossless GeoTIFF "
            f"compressions this GDAL writes); got {compress!r}"
        )
    return name


def to_geotiff(
    da: xr.DataArray,
    path: PathLike,
    overwrite: bool = False,
    compress: str = "deflate",
    tile_size: int = 256,
    lock: Any = None,
    overviews: str | None = "auto",
) -> Path:
    """Write a class map (or any band cube) as a cloud-optimised GeoTIFF (COG), atomically.

    Blocks are computed and written one by one (``dask.array.store``, on any scheduler) into an
    uncompressed staging file in the same folder; that file is then copied, tile by tile in
    file order, into the compressed GeoTIFF, which replaces ``path`` only when complete. An
    error or interrupt mid-way leaves no partial file and an existing ``path`` untouched, and
    the same data give byte-identical files whatever the scheduler (blocks written directly
    would land in the file in the order they finish). The staging file needs the uncompressed
    size on disk for the duration of the write; the copy runs with a small GDAL block cache
    (:data:`COPY_CACHE_MB`, unless you set ``GDAL_CACHEMAX``), so memory does not grow with the
    file. The file is a COG (GDAL's COG driver): tiled, with internal overviews (halvings
    until the smallest fits in one tile, :func:`overview_factors`), metadata first and the
    overviews' tiles before the full image's, so that a GIS draws a large map at any zoom
    without reading it all, also over HTTP. The overviews are built in the stage, before the
    copy: one more read of it. A class map's colours become the GeoTIFF colour table, its
    classes GDAL metadata (``CLASS_<value>`` tags, CF ``flag_values``/``flag_meanings``/
    ``flag_colors`` on the band, which ``rioxarray.open_rasterio`` returns as attrs) and its
    ``_FillValue`` the nodata value. Any other layer's plain attrs (e.g. a segment map's
    parameters) become GDAL metadata (:func:`metadata_tags`).
    Its classes also go into GDAL's sidecar ``<path>.aux.xml`` (a GeoTIFF has no place for
    them): category names and a raster attribute table (``Value``, ``ClassName``, ``Red``,
    ``Green``, ``Blue``, ``Count``, the pixels counted from the blocks as they are written), so
    that ``gdalinfo`` and QGIS show the class names. The sidecar is replaced with the file:
    ``overwrite=True`` replaces (or, for a layer without classes, removes) the old file's
    sidecar, and a sidecar without its file is refused without ``overwrite``.

    Parameters
    ----------
    da : xarray.DataArray
        ``("y", "x")`` or ``("band", "y", "x")``, with CRS and transform (rioxarray).
    path : str or path
        Output file; its folder must exist.
    overwrite : bool, default False
        Replace an existing file.
    compress : str, default "deflate"
        Lossless GDAL compression, one of :data:`COMPRESSIONS` that this GDAL writes
        (:func:`supported_compressions`): ``"deflate"``, ``"lzw"``, ``"zstd"``, ``"none"``...
        Anything else is refused (GDAL would silently write an uncompressed file; JPEG or
        WebP would change the values).
    tile_size : int, default 256
        Tile edge in pixels (a multiple of 16).
    lock : optional
        Lock shared by the block writes (default the one dask picks for the active scheduler:
        a serializable lock for threads, a manager lock for processes, a
        ``distributed.Lock`` on a cluster).
    overviews : str or None, default "auto"
        How the overviews are resampled: ``"auto"`` takes the majority class (``"mode"``)
        for a class map, the nearest pixel for another integer map (segment labels: never a
        label that is not there) and ``"average"`` for continuous layers (confidence,
        band cubes); or one of :data:`OVERVIEW_RESAMPLINGS` (``"nearest"`` is the cheapest
        for a class map); None writes no overviews.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False, or ``path`` is a folder.
    RasterFileNotFoundError
        The output folder does not exist.
    OutputNotWritableError
        The output folder cannot be written (read-only, or a file where a folder should be).
    DiskFullError
        The disk filled up part-way; the message names the disk and what the write needs.
    DimensionError
        Dims other than ``(y, x)`` / ``(band, y, x)`` (select a time step first).
    InvalidParameterError, InvalidInputTypeError
        A bad ``compress``, ``tile_size``, ``overviews`` or ``path``, or a dtype GeoTIFF
        cannot hold.

    Notes
    -----
    GeoTIFF has no 16-bit float type: a float16 array is written as float32 (exactly: every
    float16 value is a float32 value) and reads back as float32.

    Examples
    --------
    >>> import tempfile, pathlib, rasterio
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[1, 2], [2, 0]], "uint8"), dims=("y", "x"),
    ...                  coords={"y": [15.0, 5.0], "x": [5.0, 15.0]}, name="landcover",
    ...                  attrs={"colormap": {1: (70, 107, 159), 2: (56, 133, 56)},
    ...                         "flag_values": np.array([1, 2], "uint8"),
    ...                         "class_names": ["water", "forest"], "_FillValue": 0})
    >>> m = m.rio.write_crs("EPSG:32618")
    >>> out = to_geotiff(m, pathlib.Path(tempfile.mkdtemp()) / "classes.tif")
    >>> with rasterio.open(out) as src:
    ...     src.colormap(1)[1], src.nodata, src.tags()["CLASS_2"]
    ((70, 107, 159, 255), 0.0, 'forest')
    """
    return to_geotiffs({path: da}, overwrite=overwrite, compress=compress,
                       tile_size=tile_size, lock=lock, overviews=overviews)[0]


def to_geotiffs(
    layers: Mapping[PathLike, xr.DataArray],
    overwrite: bool = False,
    compress: str = "deflate",
    tile_size: int = 256,
    lock: Any = None,
    overviews: str | None = "auto",
) -> list[Path]:
    """Write several layers of one computation as GeoTIFFs, computing their graph once.

    :func:`to_geotiff` for each ``path: layer`` of ``layers``, except that every layer's blocks
    are stored by one ``dask.array.store`` call: layers that share work (the class map and the
    confidence of one :func:`~xr_landcover.classify` call) compute it once. Every path is
    checked before any work; the files replace their paths only once all are complete.

    Parameters
    ----------
    layers : mapping of path to xarray.DataArray
        Each as :func:`to_geotiff` takes it.
    overwrite, compress, tile_size, lock, overviews
        As in :func:`to_geotiff`, for every layer (``"auto"`` picks per layer).

    Returns
    -------
    list of pathlib.Path, in the order of ``layers``.

    Raises
    ------
    Those of :func:`to_geotiff`; InvalidParameterError when two layers have the same path.

    Examples
    --------
    >>> import tempfile, pathlib, rasterio
    >>> import numpy as np, xarray as xr
    >>> grid = {"y": [15.0, 5.0], "x": [5.0, 15.0]}
    >>> a = xr.DataArray(np.array([[1, 2], [2, 1]], "uint8"), dims=("y", "x"), coords=grid)
    >>> a = a.rio.write_crs("EPSG:32618")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> paths = to_geotiffs({folder / "a.tif": a, folder / "b.tif": (a * 2).astype("uint8")})
    >>> with rasterio.open(paths[1]) as src:
    ...     src.read(1).tolist()
    [[2, 4], [4, 2]]
    """
    import dask
    import dask.array as dsa
    import rasterio.shutil
    from dask.utils import get_scheduler_lock

    if not isinstance(layers, Mapping):
        raise InvalidInputTypeError(
            f"layers must be a mapping of path to DataArray; got {type(layers).__name__}")
    arrays = [_geotiff_layer(da) for da in layers.values()]
    if not isinstance(tile_size, int | np.integer) or isinstance(tile_size, bool):
        raise InvalidInputTypeError(
            f"tile_size must be a positive multiple of 16, an int such as 256; got "
            f"{type(tile_size).__name__} {tile_size!r}")
    if tile_size <= 0 or tile_size % 16:
        raise InvalidParameterError(f"tile_size must be a positive multiple of 16, got {tile_size}")
    tile_size = int(tile_size)
    compress = _check_compress(compress)
    overviews = _check_overviews(overviews)
    factors = [[] if overviews is None else
               overview_factors(da.sizes["x"], da.sizes["y"], tile_size) for da in arrays]
    resamplings = [None if overviews is None else _overview_resampling(da, overviews)
                   for da in arrays]
    paths = [check_output_path(path, overwrite, name="path") for path in layers]
    if len({p.resolve() for p in paths}) < len(paths):
        raise InvalidParameterError(f"two layers would be written to the same file: {paths}")
    tables = [_rat_classes(da) for da in arrays]
    with ExitStack() as staged:
        # per layer: GDAL's PAM sidecar (class names, attribute table), replaced after the file
        # (entered first: exits last); the final file, renamed onto its path only when every
        # layer is complete (the stack exits without error), and the uncompressed stage it is
        # copied from (blocks land in the stage in any order); an error or interrupt removes all
        sidecars = [staged.enter_context(replacing_sidecar(path, overwrite)) for path in paths]
        finals = [staged.enter_context(atomic_file(path, overwrite)) for path in paths]
        stages = [staged.enter_context(scratch_path(path)) for path in paths]
        # a full disk is told as such while the stages still fill it (entered last: exits first)
        # the stage holds the overviews too: a third more at most
        sizes = [da.size * _geotiff_dtype(da).itemsize * (1 + sum(f ** -2 for f in fs))
                 for da, fs in zip(arrays, factors)]
        sizes = [int(size) for size in sizes]
        for path in paths:
            staged.enter_context(reporting_disk_full(path, sum(sizes) + max(sizes)))
        sources, targets = [], []
        counts: list = [None] * len(arrays)  # per class map: the pixels of each class
        lazy_counts = {}
        colormaps = []
        for i, (da, path, stage, table) in enumerate(zip(arrays, paths, stages, tables)):
            colormaps.append(_create_stage(da, path, stage, tile_size))
            data = da.data
            if isinstance(data, dsa.Array):
                source = data.astype(_geotiff_dtype(da))
                sources.append(source)
                targets.append(_WindowWriter(stage, da.dims[0] == "band"))
                if table is not None:  # counted from the blocks as they are written
                    lazy_counts[i] = count_classes_per_block(source, table.values)
            else:
                with rasterio.open(stage, "r+") as dst:
                    arr = np.asarray(data, dtype=_geotiff_dtype(da))
                    dst.write(arr if da.dims[0] == "band" else arr[None])
                if table is not None:
                    counts[i] = class_counts(arr, table.values)
        if sources:
            stored = dsa.store(sources, targets, compute=False,
                               lock=lock if lock is not None else get_scheduler_lock(sources[0]))
            _, counted = dask.compute(stored, lazy_counts)  # one pass: the blocks once
            counts = [counted.get(i, c) for i, c in enumerate(counts)]
        for stage, colormap, fs, resampling in zip(stages, colormaps, factors, resamplings):
            _finish_stage(stage, colormap, fs, resampling)
        # GDAL may fail to write a tile to a full disk without raising (libtiff only prints
        # "No space left on device"): a stage whose disk has less than a tile free is suspect
        for da, path, stage in zip(arrays, paths, stages):
            count = da.sizes["band"] if da.dims[0] == "band" else 1
            if nearly_full(path.parent, tile_size ** 2 * count * _geotiff_dtype(da).itemsize):
                raise disk_full_error(path, sum(sizes) + max(sizes)) from OSError(
                    errno.ENOSPC, os.strerror(errno.ENOSPC), str(stage))
        # GDAL's COG driver copies the stage and its overviews into a cloud-optimised GeoTIFF
        # (metadata first, then the overviews, smallest first, then the full image), tile by
        # tile in file order: the bytes depend on the data only.
        for stage, final, path, fs in zip(stages, finals, paths, factors):
            # GDAL deletes a copy that failed, giving the space back: a copy that failed with
            # less free than the stage's size (the most it needs) ran out of space
            margin = stage.stat().st_size + (1 << 16)
            with (warnings.catch_warnings(), rasterio.Env(**copy_cache_env()),
                  reporting_disk_full(path, sum(sizes) + max(sizes), margin)):
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                rasterio.shutil.copy(
                    stage, final, driver="COG", blocksize=tile_size, compress=compress,
                    sparse_ok=True, bigtiff="IF_SAFER",
                    overviews="FORCE_USE_EXISTING" if fs else "NONE",
                )
            stage.unlink()  # its disk space is free for the next layer's copy
        for sidecar, table, count in zip(sidecars, tables, counts):
            if table is not None:
                sidecar.staging.write_bytes(pam_xml(table, count))
        for sidecar in sidecars:  # last: no file is ever paired with another's sidecar
            sidecar.set_aside()
    return paths


def _rat_classes(da: xr.DataArray) -> ClassMap | None:
    """The classes of a class map (one integer band with classes declared) that get a
    raster attribute table; None for any other layer."""
    if da.dims != ("y", "x") or not np.issubdtype(_geotiff_dtype(da), np.integer):
        return None
    classes = ClassMap.from_dataarray(da)
    return classes if classes.values else None


def _geotiff_layer(da: xr.DataArray) -> xr.DataArray:
    """``da`` as ``(y, x)`` or ``(band, y, x)``, or the error saying what to select."""
    if isinstance(da, xr.Dataset):
        raise InvalidInputTypeError(
            "to_geotiff writes one DataArray; pick a variable, e.g. ds['landcover']"
        )
    if not isinstance(da, xr.DataArray):
        raise InvalidInputTypeError(
            f"to_geotiff needs a DataArray, got {type(da).__name__}{accessor_hint(da)}")
    if da.dims not in (("y", "x"), ("band", "y", "x")):
        if set(da.dims) in ({"y", "x"}, {"band", "y", "x"}):
            return _geotiff_layer(da.transpose(..., "y", "x"))
        raise DimensionError(
            f"to_geotiff writes ('y', 'x') or ('band', 'y', 'x') arrays; got {da.dims}. "
            "Select one time step first, e.g. da.isel(time=0)"
        )
    # a class map masked with where() (float, NaN) is written as the class map it is
    da = restore_class_dtype(da)
    from rasterio.dtypes import check_dtype

    if not check_dtype(_geotiff_dtype(da)):
        raise InvalidInputTypeError(
            f"to_geotiff cannot write {da.dtype} data: a GeoTIFF holds integers (uint8 ... "
            f"int64), floats (float32, float64) or complex numbers. Convert it first, e.g. "
            f"da.astype('float32')"
        )
    return da


def _geotiff_dtype(da: xr.DataArray) -> np.dtype:
    """The file's dtype: booleans as uint8, float16 (no GeoTIFF type) as float32, exactly."""
    if da.dtype == bool:
        return np.dtype("uint8")
    if da.dtype == np.float16:
        return np.dtype("float32")
    return da.dtype


#: attrs that are not written as tags by :func:`metadata_tags`: written another way (nodata,
#: colour table, class names, band descriptions) or describing the array's encoding.
_NOT_TAGS = frozenset({"_FillValue", "missing_value", "nodata", "scale_factor", "add_offset",
                       "colormap", "class_names", "flag_values", "flag_meanings", "grid_mapping",
                       "long_name", "coordinates", "AREA_OR_POINT"})


def metadata_tags(da: xr.DataArray) -> dict[str, str]:
    """The attrs of a layer that is not a class map, as GDAL metadata (dataset tags).

    Plain values (text, numbers, booleans, and lists of them) are written as text, lists as
    JSON: the parameters a segment map was made with (``spatial_radius``, ``kernel``,
    ``bands``...) travel with the GeoTIFF. A class map's attrs are not written (its classes go
    in ``CLASS_<value>`` tags), nor the keys written another way (:data:`_NOT_TAGS`).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> seg = xr.DataArray(np.ones((2, 2), "uint32"), dims=("y", "x"),
    ...                    attrs={"kernel": "product", "maxiter": 10, "bands": ["red", "green"],
    ...                           "_FillValue": 0, "colormap": {1: (0, 0, 0)}})
    >>> metadata_tags(seg)
    {'kernel': 'product', 'maxiter': '10', 'bands': '["red", "green"]'}
    """
    import json

    if "flag_values" in da.attrs:
        return {}

    def plain(value):
        return isinstance(value, str | bool | int | float | np.integer | np.floating)

    tags = {}
    for key, value in da.attrs.items():
        if not isinstance(key, str) or key in _NOT_TAGS:
            continue
        if isinstance(value, list | tuple) and all(plain(v) for v in value):
            tags[key] = json.dumps([v.item() if isinstance(v, np.generic) else v for v in value])
        elif plain(value):
            tags[key] = str(value.item() if isinstance(value, np.generic) else value)
    return tags


def _create_stage(da: xr.DataArray, path: Path, stage: Path, tile_size: int) -> dict | None:
    """The uncompressed staging GeoTIFF of ``da``, with its grid, nodata, band names and class
    names, ready for the blocks; returns its colour table (or None), to be written once the
    overviews are built (:func:`_finish_stage`)."""
    colormap = None
    has_band = da.dims[0] == "band"
    count = da.sizes["band"] if has_band else 1
    dtype = _geotiff_dtype(da)
    classes = None  # a class map's classes, read the one way (xr_landcover.classmap)
    if np.issubdtype(dtype, np.floating):
        nodata = da.rio.nodata if da.rio.nodata is not None else np.nan
    else:
        classes = ClassMap.from_dataarray(da)
        nodata = classes.nodata
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": da.sizes["x"],
        "height": da.sizes["y"],
        "count": count,
        "dtype": dtype.name,
        "crs": da.rio.crs,
        "transform": da.rio.transform(),
        "nodata": nodata,
        "tiled": True,
        "blockxsize": tile_size,
        "blockysize": tile_size,
        "sparse_ok": True,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        try:
            dst = rasterio.open(stage, "w", **profile, compress="none", bigtiff="IF_NEEDED")
        except rasterio.errors.RasterioIOError as exc:
            raise OutputNotWritableError(
                f"cannot write '{path}': creating a file in '{path.parent}' failed "
                f"({str(exc).split(': ')[-1]}). Is the folder writable?"
            ) from None
        with dst:
            if has_band:
                for i, b in enumerate(da.band.values, start=1):
                    dst.set_band_description(i, str(b))
            elif da.name:
                dst.set_band_description(1, str(da.name))
            colors = {} if classes is None else {
                v: rgb for v, rgb in zip(classes.values, classes.colors) if rgb is not None}
            if colors and count == 1 and dtype in (np.uint8, np.uint16):
                table = {v: (*rgb, 255) for v, rgb in colors.items()}
                if nodata is not None and int(nodata) not in table:
                    table[int(nodata)] = (0, 0, 0, 0)
                colormap = table  # written once the overviews are built (they are of values)
            tags = metadata_tags(da)
            if tags:
                dst.update_tags(**tags)
            if classes is not None and classes.values and "flag_values" in da.attrs:
                values, names = classes.values, classes.names
                dst.update_tags(**{f"CLASS_{v}": str(n) for v, n in zip(values, names)})
                dst.update_tags(
                    1,
                    flag_values=" ".join(str(v) for v in values),
                    flag_meanings=da.attrs.get("flag_meanings", flag_meanings(names)),
                )
                if all(c is not None for c in classes.colors):
                    # the colours as a tag too: rioxarray.open_rasterio reads tags, not the
                    # colour table (and a colour table holds uint8/uint16 maps only)
                    dst.update_tags(1, flag_colors=hex_colors(classes.colors))
    return colormap
