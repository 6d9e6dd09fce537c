"""Time series as features (xr_landcover.classification.time_features): a (time, band, y, x)
cube trains on every date's bands (``band@date``) and classifies to one (y, x) map; the
single-date path is unchanged."""

from __future__ import annotations

import warnings

import dask
import geopandas as gpd
import numpy as np
import pytest
import shapely
import skops.io as sio
import xarray as xr
from conftest import CountingScheduler, synthetic_cube

import xr_landcover
from xr_landcover import errors as E
from xr_landcover.classification.model import LandcoverModel
from xr_landcover.classification.time_features import date_labels, stack_dates

N = 24
DATES = np.array(["2020-01-01", "2020-07-01"], dtype="datetime64[ns]")
BANDS = ["red", "nir"]


def series(chunks=None) -> xr.DataArray:
    """Two dates, classes that only both dates tell apart: rows alternate bright and dark in
    January; the left half (class 1) keeps its level in July, the right half (class 2)
    swaps it. Each date alone shows both classes bright and dark alike."""
    rng = np.random.default_rng(0)
    january = np.where(np.arange(N)[:, None] % 2 == 0, 0.6, 0.2) * np.ones((1, N))
    july = january.copy()
    july[:, N // 2:] = 0.8 - january[:, N // 2:]
    values = np.stack([np.stack([january, january]), np.stack([july, july])])
    values = (values + rng.normal(0, 0.02, values.shape)).astype(np.float32)
    dates = [synthetic_cube(values[t], bands=BANDS) for t in range(2)]
    cube = xr.concat(dates, dim="time").assign_coords(time=DATES)
    cube = cube.rio.write_crs(dates[0].rio.crs).rio.write_transform(dates[0].rio.transform())
    return cube if chunks is None else cube.chunk(chunks)


def samples() -> gpd.GeoDataFrame:
    x0, y0 = 500000.0, 4000000.0
    return gpd.GeoDataFrame(
        {"id": [1, 2]}, crs="EPSG:32618",
        geometry=[shapely.box(x0 + 10, y0 - 230, x0 + 100, y0 - 10),
                  shapely.box(x0 + 140, y0 - 230, x0 + 230, y0 - 10)])


def quiet_train(cube, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return xr_landcover.train(cube, samples(), "id", method="knn", random_state=0, **kwargs)


def halves() -> np.ndarray:
    truth = np.ones((N, N), dtype=np.uint8)
    truth[:, N // 2:] = 2
    return truth


def test_features_are_every_dates_bands_and_the_map_is_one_image():
    model = quiet_train(series(chunks={"time": 1, "y": 8, "x": 8}))
    assert model.bands == ("red@2020-01-01", "nir@2020-01-01", "red@2020-07-01",
                           "nir@2020-07-01")
    assert model.time_dim == "time"
    assert "band@date along 'time'" in repr(model)
    classes = xr_landcover.classify(series(chunks={"time": 1, "y": 8, "x": 8}), model)
    assert classes.dims == ("y", "x")
    np.testing.assert_array_equal(classes.values, halves())
    # any chunking (the dates in one chunk or two), band order within the cube's dates
    other = series(chunks={"time": -1, "y": 5, "x": 24}).isel(band=[1, 0])
    np.testing.assert_array_equal(xr_landcover.classify(other, model).values, halves())


def test_lazy_after_training():
    model = quiet_train(series())
    with dask.config.set(scheduler=CountingScheduler(forbid=True)):
        classes = xr_landcover.classify(series(chunks={"y": 8}), model)
    assert classes.chunks == ((8, 8, 8), (24,))


def test_one_date_alone_cannot_separate_what_the_series_does():
    """Each date alone gives a coin toss (the check that every date reaches the estimator:
    the series above is exact)."""
    for t in range(2):
        one = series().isel(time=t, drop=True)
        accuracy = (xr_landcover.classify(one, quiet_train(one)).values == halves()).mean()
        assert accuracy < 0.8


def test_single_date_models_still_classify_each_date():
    first = series().isel(time=0, drop=True)
    model = quiet_train(first)
    assert model.time_dim is None and model.bands == tuple(BANDS)
    per_date = xr_landcover.classify(series(), model)
    assert per_date.dims == ("time", "y", "x")
    np.testing.assert_array_equal(per_date.isel(time=0).values,
                                  xr_landcover.classify(first, model).values)


def test_dates_must_match_and_errors_name_the_fix():
    model = quiet_train(series())
    moved = series().assign_coords(time=DATES + np.timedelta64(1, "D"))
    with pytest.raises(E.BandMismatchError, match=r"missing: \['red@2020-01-01'"):
        xr_landcover.classify(moved, model)
    with pytest.raises(E.DimensionError, match=r"trained on a time series \(dim 'time'"):
        xr_landcover.classify(series().isel(time=0, drop=True), model)
    no_coords = series().drop_vars("time")
    with pytest.raises(E.DimensionError, match=r"no coordinate values.*isel\(time=0\)"):
        quiet_train(no_coords)
    twice = series().assign_coords(time=[DATES[0], DATES[0]])
    with pytest.raises(E.DimensionError, match="repeats"):
        quiet_train(twice)
    two_extra = series().expand_dims(scene=["a"])
    with pytest.raises(E.DimensionError, match=r"one extra dim.*\['scene', 'time'\]"):
        quiet_train(two_extra)


def test_saved_model_keeps_the_time_dim_and_old_files_load(tmp_path):
    model = quiet_train(series())
    loaded = LandcoverModel.load(model.save(tmp_path / "m.skops"))
    assert loaded.time_dim == "time" and loaded.bands == model.bands
    np.testing.assert_array_equal(xr_landcover.classify(series(), loaded).values, halves())
    payload = model._payload()
    del payload["time_dim"]  # a file from before time series
    sio.dump(payload, tmp_path / "old.skops")
    assert LandcoverModel.load(tmp_path / "old.skops").time_dim is None


def test_indices_over_dates_are_features_and_added_at_classify():
    series_nir = series().assign_coords(band=["red", "nir"])
    indexed = series_nir.landcover.with_indices(["ndvi"])
    model = quiet_train(indexed)
    assert model.indices == ("ndvi",)
    assert "ndvi@2020-07-01" in model.bands
    np.testing.assert_array_equal(xr_landcover.classify(series_nir, model).values, halves())


def test_date_labels_and_stacking_order():
    assert date_labels(np.array(["2020-01-01T10:30"], dtype="datetime64[ns]")) == [
        "2020-01-01T10:30:00"]
    stacked, dim = stack_dates(series())
    assert dim == "time" and stacked.dims == ("band", "y", "x")
    np.testing.assert_array_equal(stacked.sel(band="nir@2020-07-01").values,
                                  series().isel(time=1).sel(band="nir").values)
    same, none = stack_dates(series().isel(time=0, drop=True))
    assert none is None and list(same.band.values) == BANDS
