"""The one reader of the class-map convention: every shape a class map reaches us in is read
the same way, by every function that reads class maps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classmap import ClassMap, class_areas, fill_value, open_classmap


@pytest.fixture(scope="module")
def classes():
    cube = datasets.nc_landsat7(chunks=128)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = xr_landcover.train(cube, datasets.nc_training_polygons(), "id", "label",
                                   method="random_trees", max_samples_per_class=40,
                                   random_state=0)
    return xr_landcover.classify(cube, model).compute()


@pytest.fixture(scope="module")
def written(classes, tmp_path_factory):
    return xr_landcover.to_geotiff(classes, tmp_path_factory.mktemp("classmap") / "c.tif")


EXPECTED_VALUES = (1, 3, 4, 5, 6, 7)
EXPECTED_NAMES = ("developed", "herbaceous", "shrubland", "forest", "water", "sediment")


def test_our_class_map(classes):
    table = ClassMap.from_dataarray(classes)
    assert table.values == EXPECTED_VALUES and table.names == EXPECTED_NAMES
    assert table.nodata == 0
    assert table.colors == tuple(classes.attrs["colormap"][v] for v in EXPECTED_VALUES)


def test_a_file_we_wrote_read_back_through_plain_rioxarray(classes, written):
    # rioxarray gives the tags back as strings ('1 3 4 5 6 7', CLASS_6='water') and the
    # nodata as _FillValue; that used to break class_areas, plot, compare with a raw
    # "invalid literal for int()" error
    plain = rioxarray.open_rasterio(written).squeeze("band", drop=True)
    assert isinstance(plain.attrs["flag_values"], str)
    table = ClassMap.from_dataarray(plain)
    assert table.values == EXPECTED_VALUES and table.names == EXPECTED_NAMES
    assert table.nodata == 0
    expected = class_areas(classes)
    got = class_areas(plain)
    assert got["pixels"].tolist() == expected["pixels"].tolist()
    assert got["name"].tolist() == list(EXPECTED_NAMES)
    from xr_landcover.plot import class_table

    assert class_table(plain).names == list(EXPECTED_NAMES)
    report = xr_landcover.accuracy(plain, classes.rename("reference"))
    assert report.overall_accuracy == 1.0 and list(report.class_names) == list(EXPECTED_NAMES)


def test_open_classmap_gives_back_names_and_colours(classes, written):
    back = open_classmap(written)
    assert back.dtype == classes.dtype and back.dims == ("y", "x")
    for key in ("class_names", "flag_meanings"):
        assert back.attrs[key] == classes.attrs[key]
    assert back.attrs["flag_values"].tolist() == list(EXPECTED_VALUES)
    assert back.attrs["colormap"] == classes.attrs["colormap"]
    assert back.attrs["_FillValue"] == 0 and back.rio.nodata == 0
    assert back.rio.crs == classes.rio.crs
    np.testing.assert_array_equal(back.values, classes.values)
    assert ClassMap.from_dataarray(back) == ClassMap.from_dataarray(classes)


def test_open_classmap_on_a_foreign_paletted_raster(tmp_path):
    path = tmp_path / "paletted.tif"
    data = np.array([[3, 3], [9, 0]], "uint8")
    with rasterio.open(path, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint8",
                       crs="EPSG:32618", transform=rasterio.transform.from_origin(0, 20, 10, 10),
                       nodata=0) as dst:
        dst.write(data, 1)
        dst.write_colormap(1, {3: (10, 200, 30, 255), 9: (250, 250, 0, 255)})
    back = open_classmap(path)
    assert back.attrs["flag_values"].tolist() == [3, 9]
    assert back.attrs["class_names"] == ["3", "9"]
    assert back.attrs["colormap"] == {3: (10, 200, 30), 9: (250, 250, 0)}
    assert class_areas(back)["pixels"].tolist() == [2, 1]


def test_open_classmap_refuses_what_is_not_a_class_map(tmp_path):
    from xr_landcover.errors import InvalidInputTypeError, RasterFileNotFoundError

    with pytest.raises(RasterFileNotFoundError, match="class map file not found"):
        open_classmap(tmp_path / "missing.tif")
    with pytest.raises(InvalidInputTypeError, match="6 band"):
        open_classmap(datasets.nc_landsat7_path())


def test_the_fill_value_wherever_it_is_held():
    base = xr.DataArray(np.array([[1, 2], [255, 1]], "uint8"), dims=("y", "x"),
                        attrs={"flag_values": [1, 2]})
    in_encoding = base.copy()
    in_encoding.encoding["_FillValue"] = 255
    as_rio = base.rio.write_nodata(255, encoded=False)
    as_encoded = base.rio.write_nodata(255, encoded=True)
    for da in (in_encoding, as_rio, as_encoded):
        assert fill_value(da) == 255
        assert ClassMap.from_dataarray(da).nodata == 255
        assert class_areas(da)["pixels"].tolist() == [2, 1]
    floats = base.astype("float32").where(base != 255)  # the masking idiom: NaN, no fill
    assert fill_value(floats) is None
    assert ClassMap.from_dataarray(floats).valid(floats.values).tolist() == [[True, True],
                                                                            [False, True]]


def test_counting_follows_the_values_present_not_the_dtype():
    # a bincount over the dtype's range allocated 16 GiB for an int32 map; an int16 map with
    # fill -1 raised a raw dask error
    big = xr.DataArray(np.full((48, 48), 2_000_000_000, "int32"), dims=("y", "x"))
    big[0, 0] = 7
    assert class_areas(big.chunk(16))["pixels"].tolist() == [1, 48 * 48 - 1]
    signed = xr.DataArray(np.array([[-1, 4], [4, 5]], "int16"), dims=("y", "x"),
                          attrs={"_FillValue": -1})
    areas = class_areas(signed.chunk(1))
    assert areas.index.tolist() == [4, 5] and areas["pixels"].tolist() == [2, 1]


def test_values_present_but_not_listed_are_counted_not_dropped():
    m = xr.DataArray(np.array([[1, 9], [9, 0]], "uint8"), dims=("y", "x"),
                     attrs={"flag_values": [1, 2], "class_names": ["water", "forest"],
                            "_FillValue": 0})
    areas = class_areas(m)
    assert areas.index.tolist() == [1, 2, 9]
    assert areas["name"].tolist() == ["water", "forest", "9"]
    assert areas["pixels"].tolist() == [1, 0, 2]
