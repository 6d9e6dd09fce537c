"""GeoTIFF writing: colour table, class names, nodata, tiles, atomic replace, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio

import xr_landcover
from xr_landcover import datasets
from xr_landcover.errors import OutputExistsError, RasterFileNotFoundError


@pytest.fixture(scope="module")
def cube():
    return datasets.nc_landsat7(chunks=100)


@pytest.fixture(scope="module")
def both(cube):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = xr_landcover.train(cube, datasets.nc_training_polygons(), "id", "label",
                                   method="random_trees", max_samples_per_class=50,
                                   random_state=0)
    return cube.landcover.classify(model, confidence=True)


def test_class_map_with_colour_table(both, tmp_path):
    classes = both.landcover
    out = classes.landcover.to_geotiff(tmp_path / "landcover.tif")
    with rasterio.open(out) as src:
        assert src.count == 1 and src.dtypes[0] == "uint8" and src.nodata == 0
        assert src.profile["tiled"] and src.block_shapes[0] == (256, 256)
        assert src.compression.name.lower() == "deflate"
        assert src.crs == classes.rio.crs and src.transform == classes.rio.transform()
        cmap = src.colormap(1)
        for value, rgb in classes.attrs["colormap"].items():
            assert cmap[value] == (*rgb, 255)
        assert cmap[0][3] == 0  # nodata is transparent
        assert src.tags()["CLASS_6"] == "water"
        assert src.tags(1)["flag_meanings"] == classes.attrs["flag_meanings"]
        assert src.tags(1)["flag_values"] == "1 3 4 5 6 7"
        assert src.descriptions == ("landcover",)
        np.testing.assert_array_equal(src.read(1), classes.values)
    assert [p.name for p in tmp_path.iterdir()] == ["landcover.tif"]


def test_float_confidence_and_band_cube(both, cube, tmp_path):
    out = xr_landcover.to_geotiff(both.confidence, tmp_path / "confidence.tif")
    with rasterio.open(out) as src:
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
        with pytest.raises(ValueError):
            src.colormap(1)
        np.testing.assert_array_equal(src.read(1), both.confidence.values)
    out = cube.landcover.to_geotiff(tmp_path / "cube.tif", compress="lzw")
    with rasterio.open(out) as src:
        assert src.count == 6 and src.descriptions == tuple(cube.band.values)
        np.testing.assert_array_equal(src.read(), cube.values)


def test_existing_file_and_missing_folder(both, tmp_path):
    target = tmp_path / "out.tif"
    target.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        xr_landcover.to_geotiff(both.landcover, target)
    assert target.read_bytes() == b"keep me"
    xr_landcover.to_geotiff(both.landcover, target, overwrite=True)
    with rasterio.open(target) as src:
        assert src.read(1).shape == (443, 489)
    with pytest.raises(RasterFileNotFoundError, match="folder"):
        xr_landcover.to_geotiff(both.landcover, tmp_path / "no" / "such" / "out.tif")
    with pytest.raises(TypeError, match="pick a variable"):
        xr_landcover.to_geotiff(both, tmp_path / "ds.tif")


def test_error_mid_way_leaves_nothing_behind(both, tmp_path):
    classes = both.landcover
    written = []

    def fail_late(block, block_info=None):
        location = block_info[0]["chunk-location"]
        if location == (3, 2):
            raise RuntimeError("disk on fire")
        written.append(location)
        return block

    broken = classes.copy(data=classes.data.map_blocks(fail_late, dtype=classes.dtype))
    target = tmp_path / "landcover.tif"
    with pytest.raises(RuntimeError, match="disk on fire"):
        xr_landcover.to_geotiff(broken, target)
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"previous result")
    with pytest.raises(RuntimeError, match="disk on fire"):
        xr_landcover.to_geotiff(broken, target, overwrite=True)
    assert target.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["landcover.tif"]
    assert written  # other blocks were computed and written before the failure


def test_written_block_by_block(both, tmp_path):
    seen = []

    def spy(block, block_info=None):
        if block.size:  # dask also calls it on empty arrays to infer metadata
            seen.append(block.shape)
        return block

    classes = both.landcover
    watched = classes.copy(data=classes.data.map_blocks(spy, dtype=classes.dtype))
    xr_landcover.to_geotiff(watched, tmp_path / "blocks.tif")
    assert len(seen) == 25 and max(seen) == (100, 100)
