"""Per-class probabilities (classification/probabilities.py) and their class map (postprocess/
labels.py): laziness, metadata, equality with the bare estimator and with classify for every
method whose predict is the argmax of predict_proba, chunking and schedulers, time, segments,
errors."""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr
from conftest import synthetic_class_map, synthetic_cube, synthetic_probabilities
from helpers import quiet_train
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.svm import LinearSVC

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classification.probabilities import float32_keeping_winner, probability_classes
from xr_landcover.errors import (
    DimensionError,
    InvalidInputTypeError,
    InvalidParameterError,
    LandcoverError,
)

METHODS = ("random_trees", "svm", "knn", "max_likelihood")


@pytest.fixture(scope="module")
def cube():
    return datasets.nc_landsat7(chunks=(6, 128, 160))


@pytest.fixture(scope="module")
def models(cube, polygons):
    return {m: quiet_train(cube, polygons, "id", "label", method=m, max_samples_per_class=40,
                           random_state=0) for m in METHODS}


@pytest.fixture(scope="module")
def forest_proba(cube, models):
    return xr_landcover.predict_proba(cube, models["random_trees"]).compute()


def test_lazy_output_and_metadata(cube, models, no_compute):
    p = cube.landcover.predict_proba(models["random_trees"])
    assert no_compute.calls == 0
    assert isinstance(p.data, dsa.Array)
    assert p.name == "probabilities" and p.dims == ("class", "y", "x")
    assert p.dtype == np.float32
    assert p["class"].values.tolist() == [1, 3, 4, 5, 6, 7]
    assert p.attrs["class_names"] == ["developed", "herbaceous", "shrubland", "forest", "water",
                                      "sediment"]
    assert probability_classes(p).colormap[6] == (70, 107, 159)
    assert p.chunks[1:] == cube.chunks[1:] and p.chunks[0] == (6,)
    assert p.rio.crs == cube.rio.crs and p.rio.transform() == cube.rio.transform()
    assert np.isnan(p.rio.nodata)


def test_values_are_the_estimators_and_nan_on_nodata(cube, models, forest_proba):
    values = cube.values
    valid = np.isfinite(values).all(axis=0)
    expected = models["random_trees"].estimator.predict_proba(values[:, valid].T)
    got = forest_proba.values[:, valid].T
    np.testing.assert_allclose(got, expected, rtol=0, atol=6e-8)
    assert np.isnan(forest_proba.values[:, ~valid]).all()
    total = forest_proba.sum("class", skipna=False).values
    assert np.abs(total[valid] - 1).max() < 1e-6 and np.isnan(total[~valid]).all()


@pytest.mark.parametrize("method", METHODS)
def test_label_of_probabilities_is_classify(cube, models, method):
    """label(predict_proba) is classify, labels, dtype, attrs and confidence, for every method
    whose predict is the argmax of predict_proba (all four of the package's)."""
    model = models[method]
    mine = xr_landcover.label(xr_landcover.predict_proba(cube, model), confidence=True)
    theirs = xr_landcover.classify(cube, model, confidence=True)
    mine, theirs = dask.compute(mine, theirs)
    np.testing.assert_array_equal(mine["landcover"].values, theirs["landcover"].values)
    assert mine["landcover"].dtype == theirs["landcover"].dtype
    a, b = mine["landcover"].attrs, theirs["landcover"].attrs
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]))
        if key == "flag_values":
            assert a[key].dtype == b[key].dtype
    assert mine["landcover"].rio.nodata == theirs["landcover"].rio.nodata
    assert mine["landcover"].rio.transform() == theirs["landcover"].rio.transform()
    np.testing.assert_allclose(mine.confidence.values, theirs.confidence.values, rtol=0,
                               atol=1.2e-7)
    assert mine.confidence.attrs.keys() == theirs.confidence.attrs.keys()


@pytest.mark.parametrize("chunks,scheduler", [
    ({"band": 6, "y": 443, "x": 489}, "sync"),
    ({"band": 2, "y": 50, "x": 77}, "threads"),
    ({"band": 6, "y": 200, "x": 31}, "sync"),
])
def test_chunking_and_scheduler_do_not_change_the_values(cube, models, forest_proba, chunks,
                                                         scheduler):
    p = xr_landcover.predict_proba(cube.chunk(chunks), models["random_trees"])
    with dask.config.set(scheduler=scheduler):
        got = p.values
    np.testing.assert_array_equal(got, forest_proba.values)
    labels = xr_landcover.label(p.chunk({"class": 2, "y": 64, "x": 100}))
    with dask.config.set(scheduler=scheduler):
        labels = labels.values
    reference = xr_landcover.label(forest_proba).values
    np.testing.assert_array_equal(labels, reference)


def test_memory_is_bounded_by_the_batch(cube, models, monkeypatch):
    """Each predict_proba call sees at most PREDICT_BATCH pixels, whatever the chunk."""
    from xr_landcover.classification import probabilities

    monkeypatch.setattr(probabilities, "PREDICT_BATCH", 1000)
    seen = []
    model = models["knn"]
    original = model.estimator.predict_proba

    class Spy:
        classes_ = model.estimator.classes_

        def predict_proba(self, X):
            seen.append(len(X))
            return original(X)

    spy = type(model)(**{**vars(model), "estimator": Spy()})
    small = cube.isel(y=slice(200, 260), x=slice(200, 260)).chunk({"y": 60, "x": 60})
    got = xr_landcover.predict_proba(small, spy).values
    assert max(seen) == 1000 and sum(seen) == np.isfinite(small.values).all(axis=0).sum()
    np.testing.assert_array_equal(
        got, xr_landcover.predict_proba(small, model).values)


def test_time_dim_is_kept(cube, models):
    model = models["knn"]
    small = cube.isel(y=slice(100, 180), x=slice(50, 140))
    series = xr.concat([small, small * 1.01], dim="time").assign_coords(time=[2000, 2001])
    p = xr_landcover.predict_proba(series, model)
    assert p.dims == ("time", "class", "y", "x") and p["time"].values.tolist() == [2000, 2001]
    for t, image in enumerate([small, small * 1.01]):
        np.testing.assert_array_equal(p.isel(time=t).values,
                                      xr_landcover.predict_proba(image, model).values)
    labels = xr_landcover.label(p)
    assert labels.dims == ("time", "y", "x")
    np.testing.assert_array_equal(labels.values,
                                  xr_landcover.classify(series, model).values)


def test_object_based_probabilities(polygons):
    cube = datasets.nc_landsat7()
    # square 6 x 6 segments (any segment map will do; a mean-shift one is slow to make)
    rows, cols = np.indices((cube.sizes["y"], cube.sizes["x"]))
    ids = (rows // 6) * 1000 + cols // 6 + 1
    ids[~np.isfinite(cube.values).all(axis=0)] = 0
    seg = xr.DataArray(ids.astype(np.uint32), dims=("y", "x"),
                       coords={"y": cube.y, "x": cube.x}, name="segment_id")
    seg = seg.rio.write_crs(cube.rio.crs).rio.write_transform(cube.rio.transform())
    model = quiet_train(cube, polygons, "id", "label", method="random_trees", random_state=0,
                        segments=seg)
    p = cube.landcover.predict_proba(model, segments=seg.chunk({"y": 100, "x": 130}))
    assert p.dims == ("class", "y", "x") and isinstance(p.data, dsa.Array)
    p = p.compute()
    theirs = cube.landcover.classify(model, segments=seg, confidence=True).compute()
    mine = xr_landcover.label(p, confidence=True)
    np.testing.assert_array_equal(mine["landcover"].values, theirs["landcover"].values)
    np.testing.assert_allclose(mine.confidence.values, theirs.confidence.values, atol=1.2e-7)
    # one probability vector per segment
    ids = seg.values
    some = np.unique(ids[ids > 0])[:20]
    for i in some:
        inside = p.values[:, ids == i]
        assert (inside == inside[:, :1]).all() or np.isnan(inside).all()
    assert np.isnan(p.values[:, ids == 0]).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=6), st.integers(0, 5),
       st.floats(0, 1e-7))
def test_float32_keeps_the_float64_winner(weights, where, step):
    """Near ties (closer than float32 resolves) keep the float64 argmax."""
    p = np.asarray(weights, np.float64)
    where = where % len(p)
    p[where] = p.max() + step
    p = p[None] / max(p.sum(), 1e-300)
    got = float32_keeping_winner(p)
    assert np.argmax(got) == np.argmax(p)
    np.testing.assert_allclose(got, p, rtol=2.4e-7, atol=1e-37)


def test_errors(cube, models):
    model = models["knn"]
    with pytest.raises(InvalidInputTypeError, match="model must be a LandcoverModel"):
        xr_landcover.predict_proba(cube, "model.skops")
    linear = quiet_train(cube, datasets.nc_training_polygons(), "id", "label",
                         estimator=LinearSVC(), max_samples_per_class=20, random_state=0)
    with pytest.raises(InvalidParameterError, match="has none"):
        xr_landcover.predict_proba(cube, linear)
    seg = xr.zeros_like(cube.isel(band=0, drop=True), dtype=np.uint32)
    with pytest.raises(InvalidParameterError, match="without segments="):
        xr_landcover.predict_proba(cube, model, segments=seg)
    with pytest.raises(DimensionError, match="a band cube needs dims"):
        xr_landcover.predict_proba(cube.isel(band=0), model)
    classes = synthetic_class_map(np.ones((4, 4), np.uint8))
    with pytest.raises(DimensionError, match="got a class map") as info:
        xr_landcover.label(classes)
    assert "probabilities" in str(info.value) and isinstance(info.value, LandcoverError)
    with pytest.raises(DimensionError, match="got a band cube"):
        xr_landcover.label(synthetic_cube(np.zeros((2, 3, 3))))
    with pytest.raises(DimensionError, match="probability cube"):
        classes.landcover.label()
    ints = synthetic_probabilities(np.zeros((2, 3, 3))).astype(np.int16)
    with pytest.raises(InvalidInputTypeError, match="float probabilities"):
        xr_landcover.label(ints)
    with pytest.raises(InvalidInputTypeError, match="DataArray"):
        xr_landcover.label(np.zeros((2, 3, 3)))
    bad = synthetic_probabilities(np.zeros((2, 3, 3)), values=[4, 4])
    with pytest.raises(InvalidParameterError, match="distinct"):
        xr_landcover.label(bad)


def test_label_ties_nan_and_uint16():
    data = np.array([[[0.5, np.nan, 0.2]], [[0.5, 0.5, 0.3]], [[0.0, 0.5, 0.5]]])
    p = synthetic_probabilities(data, values=[2, 300, 9])
    classes = p.landcover.label()
    assert classes.dtype == np.uint16 and int(classes.attrs["_FillValue"]) == 0
    # a tie goes to the class listed first; a NaN makes the pixel nodata
    assert classes.values.tolist() == [[2, 0, 9]]
