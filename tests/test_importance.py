"""Tests of method="gradient_boosting" (estimators, the safe loader) and of
LandcoverModel.feature_importance (classification/importance.py)."""

from __future__ import annotations

import fractions
import warnings

import geopandas as gpd
import numpy as np
import pytest
import skops.io as sio
from conftest import synthetic_cube
from shapely.geometry import box
from sklearn.ensemble import HistGradientBoostingClassifier

import xr_landcover
from xr_landcover import LandcoverModel
from xr_landcover.classification.model import TRUSTED_TYPES
from xr_landcover.errors import BandMismatchError, InvalidParameterError, ModelFileError

ORIGIN, RES = (500000.0, 4000000.0), 10.0


@pytest.fixture(scope="module")
def data():
    """Bands "signal" (separates the classes), "weak" (a little) and "noise" (not at all)."""
    rng = np.random.default_rng(0)
    ny, nx = 30, 40
    cls = np.where(np.arange(nx) < 20, 1, 2)[None, :].repeat(ny, 0)
    signal = cls * 3.0 + rng.normal(0, 0.5, (ny, nx))
    weak = cls * 0.5 + rng.normal(0, 1.0, (ny, nx))
    noise = rng.normal(0, 1.0, (ny, nx))
    cube = synthetic_cube(np.stack([signal, weak, noise]).astype("float32"),
                          bands=["signal", "weak", "noise"], origin=ORIGIN, res=RES)
    x0, y0 = ORIGIN
    gdf = gpd.GeoDataFrame(
        {"cls": [1, 2, 1, 2]},
        geometry=[box(x0 + 12, y0 - 140, x0 + 148, y0 - 12),
                  box(x0 + 252, y0 - 140, x0 + 388, y0 - 12),
                  box(x0 + 12, y0 - 288, x0 + 148, y0 - 162),
                  box(x0 + 252, y0 - 288, x0 + 388, y0 - 162)],
        crs="EPSG:32618")
    return cube, gdf


def train(cube, gdf, method, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return xr_landcover.train(cube, gdf.iloc[:2], "cls", method=method, random_state=0,
                                  **kw)


def test_gradient_boosting_by_name(data, tmp_path):
    cube, gdf = data
    model = train(cube, gdf, "gradient_boosting", max_iter=20)
    assert "gradient_boosting" in xr_landcover.classification.METHODS
    assert isinstance(model.estimator, HistGradientBoostingClassifier)
    assert model.estimator.max_iter == 20 and model.estimator.random_state == 0
    labels = xr_landcover.classify(cube.chunk({"y": 7, "x": 9}), model).values
    assert (labels[:, :20] == 1).mean() > 0.95 and (labels[:, 20:] == 2).mean() > 0.95
    # the safe loader trusts what a gradient-boosting model holds, and nothing more
    path = model.save(tmp_path / "gb.skops")
    loaded = LandcoverModel.load(path)
    np.testing.assert_array_equal(xr_landcover.classify(cube, loaded).values, labels)
    found = set(sio.get_untrusted_types(file=path))
    assert found and found <= set(TRUSTED_TYPES)
    # early stopping (above 10,000 pixels) stores nothing else
    many = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(
        np.random.default_rng(0).normal(size=(12000, 3)), np.arange(12000) % 3)
    assert many.do_early_stopping_
    assert set(sio.get_untrusted_types(data=sio.dumps(many))) <= set(TRUSTED_TYPES)


def test_loader_still_refuses_other_types(data, tmp_path):
    cube, gdf = data
    model = train(cube, gdf, "gradient_boosting", max_iter=5)
    path = model.save(tmp_path / "gb.skops")
    payload = model._payload()
    payload["extra"] = fractions.Fraction(1, 3)  # a type skops does not trust
    evil = tmp_path / "evil.skops"
    sio.dump(payload, evil)
    with pytest.raises(ModelFileError, match="not trusted"):
        LandcoverModel.load(evil)
    assert LandcoverModel.load(path).method == "gradient_boosting"


def test_impurity_importance(data):
    cube, gdf = data
    model = train(cube, gdf, "random_trees")
    imp = model.feature_importance()
    assert imp.attrs["kind"] == "impurity"
    assert list(imp.index) == ["signal", "weak", "noise"]          # sorted, named by band
    np.testing.assert_allclose(
        imp.loc[list(model.bands), "importance"], model.estimator.feature_importances_)
    assert imp["importance"].sum() == pytest.approx(1.0)


def test_permutation_importance_for_any_method(data):
    cube, gdf = data
    for method in ("gradient_boosting", "knn", "svm"):
        model = train(cube, gdf, method)
        imp = model.feature_importance(cube, gdf.iloc[2:], class_field="cls", n_repeats=3)
        assert imp.attrs["kind"] == "permutation" and imp.attrs["pixels"] > 100
        assert imp.index[0] == "signal", method
        assert imp.loc["signal", "importance"] > 0.2
        assert abs(imp.loc["noise", "importance"]) < 0.05
        assert set(imp.columns) == {"importance", "std"}
    # reproducible, and the band order of the cube does not matter
    again = model.feature_importance(cube.sel(band=["noise", "weak", "signal"]), gdf.iloc[2:],
                                     class_field="cls", n_repeats=3)
    np.testing.assert_allclose(again.loc[imp.index, "importance"], imp["importance"])


def test_importance_errors(data):
    cube, gdf = data
    knn = train(cube, gdf, "knn")
    with pytest.raises(InvalidParameterError, match="has no impurity importances; pass cube"):
        knn.feature_importance()
    with pytest.raises(InvalidParameterError, match="needs both cube"):
        knn.feature_importance(cube=cube)
    with pytest.raises(InvalidParameterError, match="n_repeats"):
        knn.feature_importance(cube, gdf, class_field="cls", n_repeats=0)
    with pytest.raises(BandMismatchError, match="lacks the model's bands \\['noise'\\]"):
        knn.feature_importance(cube.isel(band=[0, 1]), gdf, class_field="cls")
