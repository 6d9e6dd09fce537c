"""change_table / change_map on generated class-map time series."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from conftest import synthetic_class_map

import xr_landcover
from xr_landcover.change import change_map, change_table
from xr_landcover.classmap import ClassMap


def _maps(chunks=None):
    rng = np.random.default_rng(3)
    first = rng.choice([1, 2, 5], size=(60, 80)).astype("uint8")
    second = first.copy()
    second[rng.random(first.shape) < 0.3] = 5
    second[:5] = 0  # nodata at the second date
    data = np.stack([first, second])
    maps = synthetic_class_map(
        data, values=[1, 2, 5], names=["water", "forest", "crops"],
        colors=[(0, 0, 255), (0, 128, 0), (255, 255, 0)], origin=(500.0, 1000.0), res=30.0,
        time=np.array(["2016-01-01", "2017-02-03"], dtype="datetime64[ns]"),
    )
    return (maps.chunk({"time": 1, "y": chunks, "x": chunks}) if chunks else maps), data


@pytest.mark.parametrize("chunks", [None, 16, 25])
def test_change_table_counts_pixels(chunks):
    maps, data = _maps(chunks)
    table = change_table(maps, "2016-01-01", "2017-02-03", units="pixels")
    valid = (data[0] > 0) & (data[1] > 0)
    for i, a in enumerate([1, 2, 5]):
        for j, b in enumerate([1, 2, 5]):
            expected = int(((data[0] == a) & (data[1] == b) & valid).sum())
            assert table.iloc[i, j] == expected
    assert table.loc["total", "total"] == valid.sum()
    assert list(table.index) == ["water", "forest", "crops", "total"]


@pytest.mark.parametrize("units, per_pixel", [("m2", 900.0), ("ha", 0.09), ("km2", 0.0009)])
def test_change_table_areas(units, per_pixel):
    """A 30 m pixel is 900 m2 = 0.09 ha = 0.0009 km2: every cell is its pixel count times that."""
    maps, data = _maps(16)
    area = change_table(maps, 0, -1, units=units)
    pixels = change_table(maps, 0, -1, units="pixels")
    np.testing.assert_allclose(area.to_numpy(), pixels.to_numpy() * per_pixel, rtol=1e-12)
    valid = (data[0] > 0) & (data[1] > 0)
    assert area.loc["total", "total"] == pytest.approx(valid.sum() * per_pixel, rel=1e-12)


def test_change_table_totals_are_row_and_column_sums():
    """The ``total`` column sums each row (area leaving a class), the ``total`` row each column
    (area ending in it); the two differ on this map, where crops grow."""
    maps, data = _maps()
    table = change_table(maps, 0, -1, units="pixels")
    cells = table.iloc[:3, :3].to_numpy()
    assert not np.array_equal(cells.sum(axis=1), cells.sum(axis=0))
    np.testing.assert_array_equal(table["total"].iloc[:3], cells.sum(axis=1))
    np.testing.assert_array_equal(table.loc["total"].iloc[:3], cells.sum(axis=0))
    assert table.loc["total", "total"] == cells.sum()


def _three_dates():
    """:func:`_maps` and a third date where forest became water: each pair of dates differs."""
    maps, data = _maps()
    third = maps.isel(time=[1]).assign_coords(
        time=np.array(["2018-03-04"], dtype="datetime64[ns]"))
    third = third.copy(data=np.where(data[1:] == 2, 1, data[1:]).astype("uint8"))
    return xr.concat([maps, third], dim="time")


def test_change_table_defaults_are_the_first_and_the_last_date():
    """On three dates, ``start=0, end=-1`` by default: the first to the last, not the second."""
    three = _three_dates()
    default = change_table(three, units="pixels")
    np.testing.assert_array_equal(default.to_numpy(),
                                  change_table(three, 0, 2, units="pixels").to_numpy())
    for other in [(0, 1), (1, 2), (2, 2), (0, 0)]:
        assert not np.array_equal(default.to_numpy(),
                                  change_table(three, *other, units="pixels").to_numpy()), other


@pytest.mark.filterwarnings("error::RuntimeWarning")  # no NumPy warning for values past the table
def test_change_table_with_class_zero_negative_nodata_and_unknown_values():
    """Class 0 is a class, the fill is -1, 7 is in no ``flag_values`` (left out like nodata), and
    nodata falls at either date: the table counts exactly the pixels valid at both."""
    rng = np.random.default_rng(5)
    data = rng.choice(np.array([-1, 0, 1, 2, 7], "int16"), size=(2, 30, 40),
                      p=[0.1, 0.3, 0.3, 0.2, 0.1])
    maps = synthetic_class_map(
        data, values=[0, 1, 2], names=["bare", "grass", "trees"], nodata=-1,
        time=np.array(["2016-01-01", "2017-01-01"], dtype="datetime64[ns]"), chunks={"y": 16})
    table = change_table(maps, units="pixels")
    for i in range(3):
        for j in range(3):
            assert table.iloc[i, j] == ((data[0] == i) & (data[1] == j)).sum(), (i, j)
    assert table.loc["total", "total"] == (np.isin(data, [0, 1, 2]).all(axis=0)).sum()
    codes = change_map(maps).values
    np.testing.assert_array_equal(codes == 0, ~np.isin(data, [0, 1, 2]).all(axis=0))
    np.testing.assert_array_equal(codes[codes > 0], 1 + data[0][codes > 0] * 3
                                  + data[1][codes > 0])


def test_change_table_of_a_binary_map_of_classes_0_and_1():
    """The largest class value is 1: the lookup of class positions still has its slot for
    values past the classes (with one slot too few, class 1 was counted as unknown)."""
    data = np.array([[[0, 1, 1], [0, 0, 9]], [[1, 1, 0], [0, 0, 1]]], "uint8")
    maps = synthetic_class_map(data, values=[0, 1], names=["dry", "wet"], nodata=9,
                               time=np.array(["2016-01-01", "2017-01-01"], "datetime64[ns]"))
    table = change_table(maps, units="pixels")
    np.testing.assert_array_equal(table.iloc[:2, :2].to_numpy(), [[2, 1], [1, 1]])
    np.testing.assert_array_equal(change_map(maps).values, [[2, 4, 3], [1, 1, 0]])


def test_change_table_default_units_are_hectares():
    maps, _ = _maps(16)
    np.testing.assert_array_equal(change_table(maps, 0, -1).to_numpy(),
                                  change_table(maps, 0, -1, units="ha").to_numpy())


def test_change_map_codes_and_colours():
    maps, data = _maps(16)
    change = change_map(maps, 0, 1)
    assert change.chunks is not None and change.dtype == np.uint16
    codes = change.values
    assert (codes[:5] == 0).all()
    # water (position 0) -> crops (position 2) is code 1 + 0*3 + 2 = 3
    mask = (data[0] == 1) & (data[1] == 5)
    assert (codes[mask] == 3).all()
    assert change.attrs["class_names"][2] == "water to crops"
    assert ClassMap.from_dataarray(change).colormap[3] == (255, 255, 0)
    assert ClassMap.from_dataarray(change).colormap[1] == (220, 220, 220)  # water unchanged
    assert "2016-01-01 to 2017-02-03" in change.attrs["long_name"]
    assert change.rio.crs == maps.rio.crs


def test_change_map_keeps_the_maps_coordinates_but_time():
    """Auxiliary coordinates (2-D latitudes, a scalar sensor name) carry over; the time
    coordinate does not, even when its name was made at run time (as read from a file)."""
    maps, _ = _maps()
    maps = maps.assign_coords(lat=(("y", "x"), np.arange(60 * 80.0).reshape(60, 80)),
                              sensor="landsat")
    change = change_map(maps, 0, 1)
    assert set(change.coords) == set(maps.coords) - {"time"}
    np.testing.assert_array_equal(change["lat"], maps["lat"])
    assert change["sensor"].item() == "landsat"
    name = "".join(["ti", "me"])  # equal to "time", not the same object
    renamed = maps.rename(time="t").rename(t=name)
    assert next(c for c in renamed.coords if c == "time") is not "time"  # noqa: F632
    assert "time" not in change_map(renamed, 0, 1).coords


def test_change_map_attributes_name_every_code():
    """Every code's value, name and colour, for a class map where only some classes have a
    colour: ``1 + i * K + j`` for classes i -> j, "<from> unchanged" on the diagonal only,
    grey there, the new class's colour off it, black for a class without one; fill 0; the
    map's x/y coordinates without the time; the CRS also when the map holds it as an attr."""
    maps, _ = _maps(16)
    maps.attrs["colormap"] = {1: (0, 0, 255), 5: (255, 255, 0)}  # forest (2) has none
    maps = maps.drop_vars("spatial_ref").assign_attrs(crs="EPSG:32618")
    change = change_map(maps)
    k, names = 3, ["water", "forest", "crops"]
    assert change.attrs["flag_values"] == list(range(1, k * k + 1))
    assert change.attrs["class_names"] == [
        f"{a} unchanged" if i == j else f"{a} to {b}"
        for i, a in enumerate(names) for j, b in enumerate(names)]
    colours = ClassMap.from_dataarray(change).colormap
    grey = (220, 220, 220)
    assert [colours[c] for c in range(1, 10)] == [grey, (0, 0, 0), (255, 255, 0),
                                                  (0, 0, 255), grey, (255, 255, 0),
                                                  (0, 0, 255), (0, 0, 0), grey]
    assert change.attrs["_FillValue"] == 0 and ClassMap.from_dataarray(change).nodata == 0
    assert set(change.coords) == {"y", "x", "spatial_ref"} and change.dims == ("y", "x")
    np.testing.assert_array_equal(change.x, maps.x)
    np.testing.assert_array_equal(change.y, maps.y)
    assert change.rio.crs == "EPSG:32618"


def test_change_map_defaults_are_the_first_and_the_last_date_and_the_last_is_in_range():
    three = _three_dates()
    np.testing.assert_array_equal(change_map(three).values, change_map(three, 0, 2).values)
    assert not np.array_equal(change_map(three).values, change_map(three, 0, 1).values)
    change_map(three, -3, 2)  # the first and the last positions are in range
    for end in (3, -4):
        with pytest.raises(xr_landcover.InvalidParameterError, match=f"end={end} is out of range"):
            change_map(three, 0, end)


@pytest.mark.parametrize("k, dtype", [(255, np.uint16), (256, np.uint32), (258, np.uint32)])
def test_change_map_of_more_than_255_classes_is_uint32(k, dtype):
    """256 classes make 65,536 codes: past uint16 (where class 256 to class 256 wrapped to 0,
    nodata); 258 also go past the integers Python caches (an ``is`` comparison of positions)."""
    data = np.stack([np.arange(1, k + 1).reshape(1, k)] * 2)
    data[1, 0, :3] = [5, 6, 7]  # classes 1, 2, 3 change; the others stay
    maps = synthetic_class_map(data.astype("uint16"), time=np.array(
        ["2016-01-01", "2017-01-01"], dtype="datetime64[ns]"))
    change = change_map(maps)
    assert change.dtype == dtype
    positions = data - 1
    np.testing.assert_array_equal(change.values, 1 + positions[0] * k + positions[1])
    last = k * k  # the last class unchanged
    assert change.attrs["class_names"][last - 1] == f"class_{k} unchanged"
    assert ClassMap.from_dataarray(change).colormap[last] == (220, 220, 220)


def test_errors():
    maps, _ = _maps()
    with pytest.raises(xr_landcover.DimensionError, match="time"):
        change_table(maps.isel(time=0))
    with pytest.raises(xr_landcover.InvalidParameterError,
                       match=r"not a time step .*available: \['2016-01-01', '2017-02-03'\]$"):
        change_table(maps, "2001-01-01", -1)
    with pytest.raises(xr_landcover.InvalidParameterError, match="out of range"):
        change_map(maps, 0, 5)
    with pytest.raises(xr_landcover.InvalidParameterError, match="units"):
        change_table(maps, units="acres")
    bare = maps.copy()
    bare.attrs = {}
    with pytest.raises(xr_landcover.InvalidParameterError, match="flag_values"):
        change_table(bare)
