"""The one reader of the class-map convention: every shape a class map reaches us in is read
the same way, by every function that reads class maps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from conftest import synthetic_class_map

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classmap import ClassMap, class_areas, fill_value, hex_colors, open_classmap
from xr_landcover.errors import InvalidParameterError


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
    assert table.colors[EXPECTED_NAMES.index("water")] == (70, 107, 159)  # NLCD-like, by name
    assert classes.attrs["flag_colors"] == hex_colors(table.colors)  # CF: '#rrggbb ...'
    assert "colormap" not in classes.attrs  # a dict: netCDF cannot store it


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
    assert ClassMap.from_dataarray(back).colormap == ClassMap.from_dataarray(classes).colormap
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
    assert ClassMap.from_dataarray(back).colormap == {3: (10, 200, 30), 9: (250, 250, 0)}
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


def test_a_mask_of_a_class_map_has_none_of_its_classes_and_no_fill():
    """``landcover == 2`` keeps the class map's attrs (xarray keeps attrs on comparisons):
    its fill 0 would make every False pixel "no data", its classes 1..3 are not the mask's."""
    classes = synthetic_class_map(np.array([[0, 1], [2, 3]], "uint8"),
                                  colors=[(255, 0, 0), (0, 255, 0), (0, 0, 255)])
    mask = classes == 2
    assert mask.attrs["_FillValue"] == 0
    assert ClassMap.from_dataarray(mask) == ClassMap((), (), (), None)
    assert class_areas(mask)["pixels"].tolist() == [3, 1]  # False and True, none dropped
    binary = mask.copy()
    binary.attrs = {"flag_values": [0, 1], "flag_meanings": "other water", "_FillValue": 0}
    assert ClassMap.from_dataarray(binary) == ClassMap((0, 1), ("other", "water"),
                                                       (None, None), None)


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


def test_class_areas_one_table_per_time_step(no_compute):
    """A (time, y, x) map summed all dates (2,075 ha for a 519 ha scene): one table per step,
    counted in one small reduction."""
    first = np.array([[1, 1], [2, 0]], "uint8")
    second = np.array([[2, 2], [2, 2]], "uint8")
    series = synthetic_class_map(np.stack([first, second]), values=[1, 2], names=["a", "b"],
                                 time=["2000", "2020"], chunks={"y": 1}, res=100.0)
    no_compute.forbid = False
    areas = class_areas(series)
    assert no_compute.calls == 1
    assert areas.index.names == ["time", "value"]
    assert areas.loc["2000", "pixels"].tolist() == [2, 1]
    assert areas.loc["2020", "pixels"].tolist() == [0, 4]
    assert areas.loc["2020", "hectares"].tolist() == [0.0, 4.0]  # 1 ha pixels, never summed
    assert areas.loc["2000"].equals(class_areas(series.isel(time=0)))


def test_class_areas_on_a_geographic_crs_are_geodesic():
    """Lon/lat maps gave NaN hectares: each row's cells have their area on the ellipsoid."""
    import pyproj

    data = np.ones((30, 40), "uint8")
    data[:10] = 2
    data[25:, 30:] = 0
    res = 0.01
    m = synthetic_class_map(data, values=[1, 2], origin=(5.0, 60.0), res=res, crs="EPSG:4326")
    areas = class_areas(m)
    geod = pyproj.Geod(ellps="WGS84")
    expected = {1: 0.0, 2: 0.0}
    for row in range(30):
        top = 60.0 - row * res
        cell, _ = geod.polygon_area_perimeter([5.0, 5.0 + res, 5.0 + res, 5.0],
                                              [top, top, top - res, top - res])
        for v in (1, 2):
            expected[v] += abs(cell) * int((data[row] == v).sum()) / 1e4
    assert np.isfinite(areas["hectares"]).all()
    # geodesic edges vs parallels: a millionth apart on cells of 0.01 degree
    np.testing.assert_allclose(areas["hectares"].tolist(), [expected[1], expected[2]],
                               rtol=1e-5)
    for chunks in ({"y": 7, "x": 9}, {"y": 1}):  # row by row: the same sums in any chunks
        assert class_areas(m.chunk(chunks)).equals(areas)


def test_masked_class_map_is_written_as_the_class_map_it_is(tmp_path):
    """classes.where(classes != 1) is float with NaN: written back in the class dtype with the
    fill value, colour table and class names, not as an undeclared-NaN float32 file."""
    data = np.array([[1, 2, 3], [3, 2, 0]], "uint8")
    m = synthetic_class_map(data, values=[1, 2, 3], names=["water", "forest", "crops"],
                            colors=[(0, 0, 255), (0, 128, 0), (255, 255, 0)], chunks={"y": 1})
    m.attrs["flag_values"] = np.array([1, 2, 3], "uint8")
    masked = m.where(m != 1)
    assert masked.dtype.kind == "f"
    path = xr_landcover.to_geotiff(masked, tmp_path / "masked.tif")
    with rasterio.open(path) as src:
        assert src.dtypes[0] == "uint8" and src.nodata == 0
        assert src.read(1).tolist() == [[0, 2, 3], [3, 2, 0]]
        assert src.colormap(1)[2][:3] == (0, 128, 0)
        assert src.tags()["CLASS_3"] == "crops"
    back = open_classmap(path)
    assert class_areas(back)["pixels"].tolist() == [0, 2, 2]
    fractions = masked + 0.5
    with pytest.raises(InvalidParameterError, match="non-integer values"):
        xr_landcover.to_geotiff(fractions, tmp_path / "fractions.tif")
    assert not (tmp_path / "fractions.tif").exists()
    assert class_areas(masked)["pixels"].tolist() == [0, 2, 2]


@pytest.fixture
def spaced(tmp_path):
    """A class map whose names hold spaces, with colours and a fill, written by to_geotiff."""
    data = np.array([[1, 2, 2, 7], [7, 0, 1, 2], [2, 2, 7, 1]], "uint8")
    m = synthetic_class_map(data, values=[1, 2, 7], names=["open water", "forest", "crops"],
                            colors=[(70, 107, 159), (56, 133, 56), (220, 200, 0)],
                            name="landcover")
    m.attrs["flag_values"] = np.array([1, 2, 7], "uint8")
    m.attrs["flag_meanings"] = "open_water forest crops"  # CF: no spaces inside a name
    return m, xr_landcover.to_geotiff(m, tmp_path / "spaced.tif")


def test_our_reader_and_plain_rioxarray_read_the_same_class_map(spaced):
    """values, names (spaces kept), colours from the colour table and fill: the same through
    open_classmap and through rioxarray.open_rasterio, masked or not (rioxarray reads tags,
    not the colour table: the colours are a flag_colors tag too)."""
    m, path = spaced
    expected = ClassMap.from_dataarray(m)
    assert expected.names == ("open water", "forest", "crops")
    with rasterio.open(path) as src:  # the colour table holds the same colours
        assert [src.colormap(1)[v][:3] for v in (1, 2, 7)] == list(expected.colors)
    ours = open_classmap(path)
    plain = rioxarray.open_rasterio(path).squeeze("band", drop=True)
    masked = rioxarray.open_rasterio(path, masked=True).squeeze("band", drop=True)
    for back in (ours, plain, masked):
        assert ClassMap.from_dataarray(back) == expected
        np.testing.assert_array_equal(back.fillna(0).values, m.values)
    assert plain.dtype == ours.dtype == m.dtype
    from xr_landcover.plot import class_table

    tables = [class_table(b) for b in (m, ours, plain, masked)]
    for t in tables[1:]:
        assert t.names == tables[0].names
        assert [t.hex(i) for i in range(3)] == ["#466b9f", "#388538", "#dcc800"]
    for back in (plain, masked):
        assert class_areas(back).equals(class_areas(m))


def test_every_map_function_takes_a_class_map_opened_with_plain_rioxarray(spaced):
    import matplotlib

    matplotlib.use("Agg")
    m, path = spaced
    plain = rioxarray.open_rasterio(path).squeeze("band", drop=True)
    ax = xr_landcover.plot_classes(plain)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["open water", "forest", "crops"]
    web = xr_landcover.explore_classes(plain)
    assert "open water" in web.get_root().render()
    points = xr_landcover.accuracy_points(plain, n=6, random_state=0)
    assert len(points) == 6
    cube = synthetic_class_map(m.values).astype("float32").expand_dims(band=["b0"])
    xr_landcover.compare(cube, plain)
    matplotlib.pyplot.close("all")


def test_a_single_band_file_not_squeezed_is_told_how_to_select_its_band(spaced):
    from xr_landcover.errors import DimensionError

    _, path = spaced
    raw = rioxarray.open_rasterio(path)  # ("band", "y", "x") with one band
    for call in (xr_landcover.plot_classes, xr_landcover.accuracy_points):
        with pytest.raises(DimensionError, match=r"squeeze\('band', drop=True\)"):
            call(raw)


def test_class_names_and_colours_in_their_string_forms():
    """GDAL tags of a list attr written by rio.to_raster ("['open water', 'forest']"), JSON
    lists and CF flag_colors strings are read as the lists they stand for."""
    m = xr.DataArray(np.array([[1, 2]], "uint8"), dims=("y", "x"),
                     attrs={"flag_values": "1 2", "class_names": "['open water', 'forest']",
                            "flag_colors": "#466b9f #388538"})
    assert ClassMap.from_dataarray(m) == ClassMap((1, 2), ("open water", "forest"),
                                                  ((70, 107, 159), (56, 133, 56)), None)
    m.attrs["class_names"] = '["open water", "forest"]'
    assert ClassMap.from_dataarray(m).names == ("open water", "forest")
    m.attrs["flag_colors"] = "#466b9f not-a-colour"  # a bad entry: that class has none
    assert ClassMap.from_dataarray(m).colors == ((70, 107, 159), None)
    m.attrs["flag_colors"] = "#466b9f"  # not one per class: ignored
    assert ClassMap.from_dataarray(m).colors == (None, None)


def test_what_classify_returns_goes_to_netcdf_as_it_is(classes, tmp_path):
    """to_netcdf failed on the colormap dict ("Invalid value for attr 'colormap'"): the
    colours are CF-style flag_colors, and the map reads back (xr.open_dataarray, with the
    grid mapping as a coordinate) as the same class map, which plots with its names and
    colours and is written back to GeoTIFF as the integer map it was."""
    from xr_landcover.plot import class_table

    path = tmp_path / "classes.nc"
    classes.to_netcdf(path)
    back = xr.open_dataarray(path, decode_coords="all")
    assert back.rio.crs == classes.rio.crs
    assert ClassMap.from_dataarray(back) == ClassMap.from_dataarray(classes)
    np.testing.assert_array_equal(back.fillna(0).values, classes.values)  # fill -> NaN
    tables = class_table(back), class_table(classes)
    assert tables[0].names == tables[1].names
    np.testing.assert_array_equal(tables[0].colors, tables[1].colors)
    assert class_areas(back).equals(class_areas(classes))
    tif = xr_landcover.to_geotiff(back, tmp_path / "again.tif")
    again = open_classmap(tif)
    assert again.dtype == classes.dtype
    np.testing.assert_array_equal(again.values, classes.values)
    back.close()


def test_a_map_written_with_rio_to_raster_plots_with_its_names_and_colours(classes, tmp_path):
    """rio.to_raster writes the attrs as tags of their str(): '[1 3 4 5 6 7]', a Python list
    of names; both are read as what they stand for."""
    from xr_landcover.plot import class_table

    path = tmp_path / "rio.tif"
    classes.rio.to_raster(path)
    plain = rioxarray.open_rasterio(path).squeeze("band", drop=True)
    assert plain.attrs["flag_values"] == "[1 3 4 5 6 7]"
    assert ClassMap.from_dataarray(plain) == ClassMap.from_dataarray(classes)
    assert class_table(plain).names == list(EXPECTED_NAMES)


def test_older_maps_with_a_colormap_dict_are_read_and_can_be_made_netcdf_safe(tmp_path):
    """A colormap dict (maps made before flag_colors, or by hand) still gives the colours; the
    documented one-liner turns it into attrs that netCDF stores."""
    m = synthetic_class_map(np.array([[1, 2], [2, 0]], "uint8"), names=["water", "forest"],
                            colors=[(70, 107, 159), (56, 133, 56)])
    assert ClassMap.from_dataarray(m).colormap == {1: (70, 107, 159), 2: (56, 133, 56)}
    with pytest.raises(TypeError, match="colormap"):
        m.to_netcdf(tmp_path / "dict.nc")
    m.attrs = {k: v for k, v in m.attrs.items() if k != "colormap"} | ClassMap.from_dataarray(
        m).to_attrs(m.dtype)
    m.to_netcdf(tmp_path / "safe.nc")
    with xr.open_dataarray(tmp_path / "safe.nc", decode_coords="all") as back:
        assert ClassMap.from_dataarray(back).colormap == {1: (70, 107, 159), 2: (56, 133, 56)}


def test_a_masked_map_whose_zero_is_a_class_gets_the_largest_value_as_fill(tmp_path):
    data = np.array([[0, 1, 2], [2, 1, 0]], "uint8")
    m = synthetic_class_map(data, values=[0, 1, 2], names=["bare", "water", "forest"],
                            colors=[(200, 200, 200), (0, 0, 255), (0, 128, 0)], nodata=None,
                            chunks={"x": 2})
    del m.attrs["_FillValue"]
    m.attrs["flag_values"] = np.array([0, 1, 2], "uint8")
    masked = m.where(m != 1)
    path = xr_landcover.to_geotiff(masked, tmp_path / "masked.tif")
    with rasterio.open(path) as src:
        assert src.dtypes[0] == "uint8" and src.nodata == 255
        assert src.read(1).tolist() == [[0, 255, 2], [2, 255, 0]]
        assert src.colormap(1)[0][:3] == (200, 200, 200) and src.colormap(1)[255][3] == 0
    assert class_areas(masked)["pixels"].tolist() == [2, 0, 2]


def test_a_masked_map_with_no_value_left_for_the_fill_is_told_the_one_line_fix(tmp_path):
    """every uint8 value the fill could take is a class: an error naming the fix, no file."""
    from xr_landcover.errors import InvalidInputTypeError

    m = synthetic_class_map(np.array([[0, 5, 255]], "uint8"), values=[0, 5, 255], nodata=None)
    del m.attrs["_FillValue"]
    m.attrs["flag_values"] = np.array([0, 5, 255], "uint8")
    with pytest.raises(InvalidInputTypeError, match=r"fillna\(<fill>\)\.astype"):
        xr_landcover.to_geotiff(m.where(m != 5), tmp_path / "full.tif")
    assert not (tmp_path / "full.tif").exists()
