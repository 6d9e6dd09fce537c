"""load_stac on a local static STAC catalog built over the two adjacent Landsat 8 scenes."""

from __future__ import annotations

import numpy as np
import pystac
import pytest
import rasterio
from pyproj import Transformer

import xr_landcover
from xr_landcover.classmap import ClassMap
from xr_landcover.io import stac_item_from_rasters

ID_77 = "LC08_224077_20200518"
ID_78 = "LC08_224078_20200518"


@pytest.fixture(scope="module")
def l8_items(l8_77_band_files, l8_78_band_files):
    items = []
    for item_id, files in ((ID_77, l8_77_band_files), (ID_78, l8_78_band_files)):
        assets = {f.stem.rsplit("_", 1)[1]: f for f in files}  # B2, B3, B4
        items.append(stac_item_from_rasters(item_id, assets, "2020-05-18T13:40:00"))
    return items


@pytest.fixture(scope="module")
def catalog_path(l8_items, tmp_path_factory):
    root = tmp_path_factory.mktemp("stac")
    catalog = pystac.Catalog(id="l8-sample", description="two adjacent Landsat 8 scenes")
    collection = pystac.Collection(
        id="landsat-8-l1",
        description="Landsat 8 L1TP subsets",
        extent=pystac.Extent(
            pystac.SpatialExtent([[-60, -30, -50, -20]]),
            pystac.TemporalExtent([[l8_items[0].datetime, l8_items[0].datetime]]),
        ),
    )
    for item in l8_items:
        collection.add_item(item.clone())
    catalog.add_child(collection)
    catalog.normalize_hrefs(str(root))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.transform


def test_mosaic_over_the_overlap(l8_items, l8_77_band_files, l8_78_band_files, no_compute):
    cube = xr_landcover.load_stac(l8_items, bands=["B4", "B3", "B2"], nodata=0)
    assert no_compute.calls == 0  # lazy
    assert cube.dims == ("band", "y", "x")  # one date: no time dim
    assert list(cube.band.values) == ["B4", "B3", "B2"]
    assert cube.chunks[0] == (3,)
    assert cube.rio.crs.to_epsg() == 32621


def test_mosaic_values(l8_items, l8_77_band_files, l8_78_band_files):
    cube = xr_landcover.load_stac(l8_items, bands=["B2"], nodata=0)
    mosaic = cube.sel(band="B2").values
    transform = cube.rio.transform()
    raw77, t77 = _read(l8_77_band_files[0])
    raw78, t78 = _read(l8_78_band_files[0])

    def window(t, shape):
        row0 = round((t.f - transform.f) / transform.e)
        col0 = round((t.c - transform.c) / transform.a)
        return slice(row0, row0 + shape[0]), slice(col0, col0 + shape[1])

    w77, w78 = window(t77, raw77.shape), window(t78, raw78.shape)
    m77, m78 = mosaic[w77], mosaic[w78]
    # every valid pixel of each scene is in the mosaic, either from that scene or the other
    valid77 = raw77 > 0
    assert not np.isnan(m77[valid77]).any()
    valid78 = raw78 > 0
    assert not np.isnan(m78[valid78]).any()
    # the scenes overlap: where both are valid the mosaic holds one of the two values
    overlap = np.zeros(mosaic.shape, bool)
    overlap[w77] |= valid77
    both = np.zeros(mosaic.shape, bool)
    both[w78] = overlap[w78] & valid78
    assert both.sum() > 100_000
    v77 = np.full(mosaic.shape, np.nan)
    v77[w77] = np.where(valid77, raw77, np.nan)
    v78 = np.full(mosaic.shape, np.nan)
    v78[w78] = np.where(valid78, raw78, np.nan)
    assert np.all((mosaic[both] == v77[both]) | (mosaic[both] == v78[both]))
    # where only the row-78 scene has data, its values come through unchanged
    only78 = ~np.isnan(v78) & np.isnan(v77)
    np.testing.assert_array_equal(mosaic[only78], v78[only78])
    # nothing outside both footprints
    assert np.isnan(mosaic[np.isnan(v77) & np.isnan(v78)]).all()


def test_ids_select_scenes(l8_items, l8_78_band_files):
    cube = xr_landcover.load_stac(l8_items, ids=[ID_78], nodata=0)
    assert cube.sizes == {"band": 3, "y": 1860, "x": 2041}
    raw, transform = _read(l8_78_band_files[2])
    assert cube.rio.transform().almost_equals(transform)
    np.testing.assert_array_equal(
        np.nan_to_num(cube.sel(band="B4").values[900:964, 700:764]), raw[900:964, 700:764]
    )


def test_bbox_in_web_mercator(l8_items):
    to_3857 = Transformer.from_crs("EPSG:32621", "EPSG:3857", always_xy=True)
    # an analysis extent of about 15 x 12 km inside the row-78 scene, given in Web Mercator
    (x0, x1), (y0, y1) = to_3857.transform([740000, 755000], [-2800000, -2788000])
    cube = xr_landcover.load_stac(l8_items, bbox=(x0, y0, x1, y1), bbox_crs="EPSG:3857", nodata=0)
    left, bottom, right, top = cube.rio.bounds()
    assert cube.rio.crs.to_epsg() == 32621
    assert 738000 < left < 741000 and 754000 < right < 757000
    assert -2802000 < bottom < -2799000 and -2789000 < top < -2786000
    assert cube.sizes["x"] < 600 and cube.sizes["y"] < 600


def test_static_catalog_path(catalog_path):
    cube = xr_landcover.load_stac(catalog_path, ids=[ID_77], nodata=0)
    assert cube.sizes == {"band": 3, "y": 1515, "x": 2006}


def test_time_dimension_for_several_dates(l8_items):
    later = l8_items[1].clone()
    later.id = "LC08_224078_20200603"
    later.datetime = later.datetime.replace(month=6, day=3)
    cube = xr_landcover.load_stac([l8_items[1], later], nodata=0)
    assert cube.dims == ("time", "band", "y", "x") and cube.sizes["time"] == 2


def test_errors(l8_items, tmp_path):
    with pytest.raises(xr_landcover.STACError, match="no STAC item with id"):
        xr_landcover.load_stac(l8_items, ids=["nope"])
    with pytest.raises(xr_landcover.STACError, match="not assets"):
        xr_landcover.load_stac(l8_items, bands=["B9"])
    with pytest.raises(xr_landcover.STACError, match="touches none"):
        xr_landcover.load_stac(l8_items, bbox=(0, 0, 1, 1))
    with pytest.raises(xr_landcover.STACError, match="no STAC items"):
        xr_landcover.load_stac([])
    with pytest.raises(xr_landcover.RasterFileNotFoundError):
        xr_landcover.load_stac(tmp_path / "catalog.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(xr_landcover.STACError, match="cannot read"):
        xr_landcover.load_stac(bad)
    with pytest.raises(xr_landcover.InvalidInputTypeError):
        xr_landcover.load_stac(42)


@pytest.fixture(scope="module")
def rgbn_items():
    from conftest import RGBN

    items = []
    for path in sorted(RGBN.glob("rgbn_2*.tif")):
        day = path.stem.split("_")[1]
        items.append(
            stac_item_from_rasters(
                f"rgbn_{day}",
                {"rgbn": path},
                f"{day[:4]}-{day[4:6]}-{day[6:]}",
                band_names={"rgbn": ["red", "green", "blue", "nir"]},
            )
        )
    return items


def test_time_series_of_multiband_assets(rgbn_items):
    from conftest import RGBN

    cube = xr_landcover.load_stac(rgbn_items, bands=["nir", "red"])
    assert cube.dims == ("time", "band", "y", "x")
    assert cube.sizes == {"time": 4, "band": 2, "y": 403, "x": 515}
    assert list(cube.band.values) == ["nir", "red"]
    assert str(cube.time.values[2])[:10] == "2016-05-17"
    with rasterio.open(RGBN / "rgbn_20160517.tif") as src:
        nir = src.read(4)
    np.testing.assert_array_equal(cube.isel(time=2).sel(band="nir").values, nir)


def test_band_names_must_match_band_count():
    from conftest import RGBN

    with pytest.raises(xr_landcover.InvalidParameterError, match="has 2 names"):
        stac_item_from_rasters(
            "x", {"rgbn": RGBN / "rgbn.tif"}, "2016-01-01", band_names={"rgbn": ["a", "b"]}
        )


def _small_item(folder, names=("red", "green")):
    from conftest import write_raster

    values = np.arange(2 * 16 * 16, dtype="uint8").reshape(2, 16, 16) + 1
    assets = {n: write_raster(folder / f"{n}.tif", values[i]) for i, n in enumerate(names)}
    return stac_item_from_rasters("small", assets, "2020-05-18"), assets


def test_item_without_geometry_is_placed_by_its_assets(tmp_path, no_compute):
    """No geometry and a bbox far away gave a cube of zeros: the assets' headers place it."""
    item, assets = _small_item(tmp_path)
    west, south, east, north = item.bbox
    item.geometry, item.bbox = None, None
    with pytest.raises(xr_landcover.STACError, match="touches none of the items"):
        xr_landcover.load_stac([item], bbox=(10.0, 10.0, 11.0, 11.0))
    cube = xr_landcover.load_stac([item], bbox=(west, south, east, north))  # still loads
    assert no_compute.calls == 0
    no_compute.forbid = False
    np.testing.assert_array_equal(cube.sel(band="red").values, _read(assets["red"])[0])


def test_missing_or_broken_asset_is_reported_at_load_time(tmp_path, no_compute):
    """A missing asset file surfaced only at compute time as a raw RasterioIOError."""
    item, assets = _small_item(tmp_path)
    assets["green"].unlink()
    with pytest.raises(xr_landcover.RasterFileNotFoundError,
                       match=r"asset 'green' of STAC item 'small': file not found: .*green.tif"):
        xr_landcover.load_stac([item])
    assert xr_landcover.load_stac([item], bands=["red"]).sizes["band"] == 1  # left out: fine
    assets["green"].write_text("not a raster")
    with pytest.raises(xr_landcover.RasterReadError, match="cannot read .*green.tif") as info:
        xr_landcover.load_stac([item], bands=["green"])
    assert isinstance(info.value.__cause__, rasterio.errors.RasterioIOError)
    assert no_compute.calls == 0


def test_item_from_no_rasters_is_refused():
    with pytest.raises(xr_landcover.InvalidParameterError, match="assets is empty"):
        stac_item_from_rasters("none", {}, "2020-05-18")


def test_stac_item_of_a_class_map_and_back(tmp_path):
    """stac_item describes a class map written by to_geotiff (classification, raster and
    proj fields; the footprint in WGS84); load_stac of it, also through its JSON, gives the
    class map back with its values, names, colours and fill."""
    from conftest import synthetic_class_map
    from pystac.extensions.classification import ClassificationExtension
    from rasterio.warp import transform_bounds

    rng = np.random.default_rng(0)
    data = rng.integers(0, 4, (64, 80)).astype("uint8")  # 0 = no class
    classes = synthetic_class_map(data, values=[1, 2, 3],
                                  names=["water", "low vegetation", "forest"],
                                  colors=[(70, 107, 159), (200, 220, 100), (56, 133, 56)],
                                  chunks=32)
    path = xr_landcover.to_geotiff(classes, tmp_path / "landcover.tif")
    item = xr_landcover.stac_item(path, datetime="2020-05-18")
    assert item.id == "landcover" and item.datetime.year == 2020
    asset = item.assets["landcover"]
    found = ClassificationExtension.ext(asset).classes
    assert [(c.value, c.title, c.color_hint, c.nodata) for c in found] == [
        (0, None, None, True), (1, "water", "466B9F", None),
        (2, "low vegetation", "C8DC64", None), (3, "forest", "388538", None)]
    assert [c.name for c in found] == ["nodata", "water", "low_vegetation", "forest"]
    assert any("classification" in uri for uri in item.stac_extensions)
    assert asset.extra_fields["raster:bands"] == [{"data_type": "uint8", "nodata": 0}]
    props = item.properties
    with rasterio.open(path) as src:
        assert props["proj:code"] == "EPSG:32618"
        assert props["proj:shape"] == [64, 80]
        assert props["proj:transform"] == list(src.transform)[:6]
        west, south, east, north = transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    np.testing.assert_allclose(item.bbox, [west, south, east, north], atol=1e-4)
    item_file = tmp_path / "item.json"
    item.save_object(dest_href=str(item_file), include_self_link=False)
    for source in (item, pystac.Item.from_file(str(item_file))):
        back = xr_landcover.load_stac(source)
        assert back.dims == ("y", "x") and back.dtype == np.uint8
        np.testing.assert_array_equal(back.values, data)
        assert back.attrs["class_names"] == ["water", "low vegetation", "forest"]
        assert ClassMap.from_dataarray(back).colormap[2] == (200, 220, 100)
        assert back.attrs["_FillValue"] == 0 and back.rio.nodata == 0
        assert back.rio.crs == "EPSG:32618" and back.rio.transform() == classes.rio.transform()
        areas = xr_landcover.class_areas(back)
        assert areas.loc[3, "name"] == "forest"
        assert areas["pixels"].tolist() == [int((data == v).sum()) for v in (1, 2, 3)]


def test_stac_item_needs_a_class_map(tmp_path):
    from conftest import synthetic_cube

    from xr_landcover.errors import InvalidInputTypeError, RasterFileNotFoundError

    with pytest.raises(RasterFileNotFoundError):
        xr_landcover.stac_item(tmp_path / "missing.tif")
    cube = xr_landcover.to_geotiff(synthetic_cube(np.zeros((2, 4, 4), "float32")),
                                   tmp_path / "cube.tif")
    with pytest.raises(InvalidInputTypeError, match="is not a class map"):
        xr_landcover.stac_item(cube)
