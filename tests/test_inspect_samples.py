"""Tests of xr_landcover.assessment.inspection: inspect_samples() ranks training samples by
how well the model classifies their pixels and maps the misclassified ones."""

from __future__ import annotations

import dataclasses
import warnings

import dask.array as da
import geopandas as gpd
import numpy as np
import pytest
import rasterio.features
from conftest import synthetic_cube
from shapely.geometry import Point, box

import xr_landcover
from xr_landcover import inspect_samples
from xr_landcover.errors import (
    BandMismatchError,
    InvalidInputTypeError,
    InvalidParameterError,
    SamplesError,
)

ORIGIN, RES = (500000.0, 4000000.0), 10.0
NY, NX = 30, 40
NAMES = {1: "water", 2: "forest", 3: "field"}


def scene():
    """Three classes in vertical bands (columns 0-13, 14-26, 27-39) with mild noise,
    training squares inside each band, a square across water and forest, and one over the forest
    band labelled water (a labelling mistake)."""
    rng = np.random.default_rng(1)
    level = np.zeros((NY, NX))
    level[:, 14:27] = 1.0
    level[:, 27:] = 2.0
    values = np.stack([level * 4, -level * 3, level * 2]) + rng.normal(0, 0.3, (3, NY, NX))
    x0, y0 = ORIGIN

    def square(r0, c0, size):
        # corners a quarter pixel inside: centres never on an edge
        return box(x0 + (c0 + 0.25) * RES, y0 - (r0 + size - 0.25) * RES,
                   x0 + (c0 + size - 0.25) * RES, y0 - (r0 + 0.25) * RES)

    geoms = [square(2, 2, 5), square(15, 3, 5), square(2, 18, 5), square(15, 18, 4),
             square(2, 30, 5), square(15, 31, 5), square(24, 19, 4),     # the wrong one
             square(24, 12, 5)]                                          # 2/5 water, 3/5 forest
    classes = [1, 1, 2, 2, 3, 3, 1, 1]
    gdf = gpd.GeoDataFrame({"cls": classes, "name": [NAMES[c] for c in classes]},
                           geometry=geoms, crs="EPSG:32618")
    gdf.index = [f"s{i}" for i in range(len(gdf))]
    return synthetic_cube(values.astype("float32"), origin=ORIGIN, res=RES), gdf


@pytest.fixture(scope="module")
def data():
    cube, gdf = scene()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = xr_landcover.train(cube, gdf.iloc[:6], "cls", "name", method="knn",
                                   random_state=0)
    return cube, gdf, model


def test_worst_first_with_pixels_and_majority(data):
    cube, gdf, model = data
    result = inspect_samples(cube, gdf, model, class_field="cls")
    s = result.samples
    assert list(s.index[:2]) == ["s6", "s7"]            # the wrong label, then the mixed one
    assert s.loc["s6", "accuracy"] == 0 and s.loc["s6", "predicted_name"] == "forest"
    assert s.loc["s6", "predicted"] == 2 and s.loc["s6", "class_value"] == 1
    assert s.loc["s7", "accuracy"] == pytest.approx(0.4, abs=0.1)  # 2 of 5 columns water
    assert s.loc["s7", "predicted_name"] == "forest"
    assert (s["accuracy"].iloc[2:] == 1).all()
    assert s["accuracy"].is_monotonic_increasing
    # pixels are those whose centre the polygon holds; accuracy = predictions that agree
    transform = cube.rio.transform()
    X = cube.values.reshape(3, -1).T
    for label, geom, cls in zip(gdf.index, gdf.geometry, gdf["cls"]):
        inside = rasterio.features.geometry_mask([geom], (NY, NX), transform, invert=True)
        pred = model.estimator.predict(X[inside.ravel()])
        assert s.loc[label, "pixels"] == inside.sum()
        assert s.loc[label, "correct"] == (pred == cls).sum()
        assert s.loc[label, "accuracy"] == pytest.approx((pred == cls).mean())
        found, counts = np.unique(pred, return_counts=True)
        assert s.loc[label, "predicted"] == found[np.argmax(counts)]
    assert result.overall_accuracy == pytest.approx(s["correct"].sum() / s["pixels"].sum())
    assert s.crs == gdf.crs and "name" in s.columns
    assert "worst first" in repr(result)


def test_misclassified_map(data):
    cube, gdf, model = data
    result = inspect_samples(cube.chunk({"y": 8, "x": 9}), gdf, model, class_field="cls")
    m = result.misclassified
    assert isinstance(m.data, da.Array) and m.dims == ("y", "x")
    assert m.attrs["class_names"] == model.class_names and m.rio.nodata == 0
    values = m.values
    full = xr_landcover.classify(cube, model).values
    wrong = values != 0
    assert wrong.sum() == (result.samples["pixels"] - result.samples["correct"]).sum()
    np.testing.assert_array_equal(values[wrong], full[wrong])
    # every wrong pixel lies in s6 or s7, none elsewhere
    transform = cube.rio.transform()
    bad = rasterio.features.geometry_mask(list(gdf.geometry[6:]), (NY, NX), transform,
                                          invert=True)
    assert not (wrong & ~bad).any()
    # independent of the chunking
    whole = inspect_samples(cube, gdf, model, class_field="cls").misclassified.values
    np.testing.assert_array_equal(values, whole)


def test_points_score_zero_or_one(data):
    cube, gdf, model = data
    pts = gdf.copy()
    pts["geometry"] = [Point(g.centroid.x, g.centroid.y) for g in gdf.geometry]
    s = inspect_samples(cube, pts, model, class_field="cls").samples
    assert set(s["accuracy"]) <= {0.0, 1.0}
    assert s.loc["s6", "accuracy"] == 0 and (s["pixels"] == 1).all()


def test_class_names_match_the_model(data):
    cube, gdf, model = data
    by_name = inspect_samples(cube, gdf, model, class_field="name").samples
    by_value = inspect_samples(cube, gdf, model, class_field="cls").samples
    assert list(by_name.index) == list(by_value.index)
    np.testing.assert_array_equal(by_name["accuracy"], by_value["accuracy"])
    assert list(by_name["class_value"]) == list(by_value["class_value"])


def test_errors(data):
    cube, gdf, model = data
    with pytest.raises(InvalidInputTypeError, match="model must be a LandcoverModel"):
        inspect_samples(cube, gdf, "model.skops")
    with pytest.raises(InvalidParameterError, match="takes a pixel model"):
        inspect_samples(cube, gdf, dataclasses.replace(model, feature="segments"))
    with pytest.raises(BandMismatchError):
        inspect_samples(cube.isel(band=[0, 1]), gdf, model, class_field="cls")
    other = gdf.assign(cls=gdf["cls"] + 10)
    with pytest.raises(SamplesError, match="not classes of the model"):
        inspect_samples(cube, other, model, class_field="cls")
    renamed = gdf.assign(name=gdf["name"].str.upper())
    with pytest.raises(SamplesError, match="not class names of the model"):
        inspect_samples(cube, renamed, model, class_field="name")
