"""Band cubes in and out: local rasters, STAC items, GeoTIFF and Zarr.

What lives where (every public name is re-exported here, so ``from xr_landcover.io import
open_image`` keeps working):

* :mod:`~xr_landcover.io.rasters`: :func:`open_image` (local rasters as a lazy band cube),
  :class:`RasterWindowReader`, :func:`band_name_from_filename`, :data:`DEFAULT_CHUNK_SIZE`.
* :mod:`~xr_landcover.io.stac`: :func:`load_stac` (odc-stac), :func:`stac_item_from_rasters`.
* :mod:`~xr_landcover.io.geotiff`: :func:`to_geotiff`, :func:`to_geotiffs`,
  :func:`copy_cache_env` and :data:`COPY_CACHE_MB` (the GDAL cache of the compressing copy).
* :mod:`~xr_landcover.io.zarr`: :func:`to_zarr`, :func:`open_zarr`.
* Shared helpers: :mod:`~xr_landcover.io._paths` (``PathLike``, :func:`check_raster_path`,
  :func:`check_output_path`), :mod:`~xr_landcover.io._header` (a raster's header and grid
  comparisons), :mod:`~xr_landcover.io._atomic` (``atomic_file``, ``atomic_directory``,
  ``scratch_path``: every file or store written appears complete or not at all, staged as
  ``.<name>.<token>.<pid>@<host>.tmp`` beside it; what a killed writer left is removed at the
  next write of the same target; a full disk is a ``DiskFullError``), :mod:`~xr_landcover.io._pam`
  (GDAL's ``.aux.xml`` sidecar of a class map: category names and raster attribute table).

A *band cube* is an :class:`xarray.DataArray` with dims ``("band", "y", "x")`` (optionally a
leading ``time``), a ``band`` coordinate of band names, CRS and transform through rioxarray and a
dask array underneath.  Nothing here reads pixels until the user computes.
"""

from __future__ import annotations

from ._paths import PathLike, check_output_path
from .geotiff import COPY_CACHE_MB, copy_cache_env, to_geotiff, to_geotiffs
from .rasters import DEFAULT_CHUNK_SIZE, RasterWindowReader, band_name_from_filename, open_image
from .stac import load_stac, stac_item, stac_item_from_rasters
from .zarr import open_zarr, to_zarr

__all__ = [
    "open_image",
    "load_stac",
    "stac_item",
    "stac_item_from_rasters",
    "to_geotiff",
    "to_geotiffs",
    "to_zarr",
    "open_zarr",
    "band_name_from_filename",
    "RasterWindowReader",
    "check_output_path",
    "copy_cache_env",
    "COPY_CACHE_MB",
    "DEFAULT_CHUNK_SIZE",
    "PathLike",
]
