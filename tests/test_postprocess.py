"""After classification (postprocess/): uncertainty, reclassify, combine, smoothing: each against
a plain-numpy statement of its definition, for several chunkings and both local schedulers,
lazily, with clear errors."""

from __future__ import annotations

import math

import dask
import dask.array as dsa
import numpy as np
import pytest
from conftest import random_probabilities, synthetic_class_map, synthetic_probabilities

from xr_landcover.errors import DimensionError, InvalidParameterError, LandcoverError
from xr_landcover.postprocess._arithmetic import exp, log

CHUNKINGS = [None, {"class": 1, "y": 7, "x": 9}, {"class": -1, "y": 16, "x": 5}]
SCHEDULERS = ["sync", "threads"]


def computed_everywhere(make, p):
    """``make(p)`` computed for each chunking of ``p`` and each scheduler: all must agree;
    returns the numpy result."""
    results = []
    for chunks in CHUNKINGS:
        q = p if chunks is None else p.chunk(chunks)
        for scheduler in SCHEDULERS:
            with dask.config.set(scheduler=scheduler):
                results.append(np.asarray(make(q).values))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
    return results[0]


@pytest.fixture
def proba():
    return random_probabilities(np.random.default_rng(1), 4, 30, 40)


# -- the CPU-independent log and exp -------------------------------------------------------


def test_log_and_exp_are_accurate():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.random(20000), rng.random(2000) * 1e-30,
                        np.exp(rng.uniform(-700, 700, 5000)), [1.0, 0.5, 2.0]])
    ref = np.array([math.log(v) for v in x])
    ulps = np.abs(log(x) - ref) / np.spacing(np.maximum(np.abs(ref), 1e-300))
    assert ulps.max() <= 4
    y = np.concatenate([rng.uniform(-40, 40, 20000), rng.uniform(-744, 709, 2000), [0.0]])
    ref = np.array([math.exp(v) for v in y])
    assert (np.abs(exp(y) - ref) / np.spacing(ref)).max() <= 4
    assert np.isnan(log(-1.0)) and log(0.0) == -np.inf and np.isnan(log(np.nan))
    assert exp(1000.0) == np.inf and exp(-1000.0) == 0.0 and np.isnan(exp(np.nan))


# -- uncertainty -----------------------------------------------------------------------------


def numpy_uncertainty(p, method):
    """sits' definitions, the plain way."""
    p = p.astype(np.float64)
    k = p.shape[0]
    if method == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log(p), 0.0)
        return -terms.sum(axis=0) / np.log(k)
    if method == "least":
        return 1 - p.max(axis=0)
    top = np.sort(p, axis=0)
    return 1 - (top[-1] - top[-2])


@pytest.mark.parametrize("method", ["entropy", "least", "margin"])
def test_uncertainty_is_sits_definition(proba, method, no_compute):
    u = proba.chunk({"y": 8}).landcover.uncertainty(method)
    assert no_compute.calls == 0 and isinstance(u.data, dsa.Array)
    no_compute.forbid = False
    assert u.name == "uncertainty" and u.dims == ("y", "x") and u.dtype == np.float32
    assert u.attrs["method"] == method and u.rio.crs == proba.rio.crs
    got = computed_everywhere(lambda q: q.landcover.uncertainty(method), proba)
    expected = numpy_uncertainty(proba.values, method)
    nodata = np.isnan(proba.values).any(axis=0)
    assert nodata.any() and np.isnan(got[nodata]).all()
    np.testing.assert_allclose(got[~nodata], expected[~nodata], rtol=2e-7, atol=1e-7)
    assert (got[~nodata] >= 0).all() and (got[~nodata] <= 1 + 1e-6).all()


def test_uncertainty_extremes_and_time():
    certain = np.zeros((3, 1, 3))
    certain[0, 0, 0] = certain[1, 0, 1] = 1.0
    certain[:, 0, 2] = 1 / 3
    p = synthetic_probabilities(certain)
    assert p.landcover.uncertainty("entropy").values.tolist() == [[0.0, 0.0, 1.0]]
    assert p.landcover.uncertainty("margin").values.tolist() == [[0.0, 0.0, 1.0]]
    stacked = p.expand_dims(time=[1, 2]).transpose("class", "time", "y", "x")
    u = stacked.landcover.uncertainty("least")
    assert u.dims == ("time", "y", "x")
    np.testing.assert_allclose(u.values[1], [[0.0, 0.0, 2 / 3]], atol=1e-7)


def test_uncertainty_errors(proba):
    with pytest.raises(InvalidParameterError, match="method must be one of"):
        proba.landcover.uncertainty("variance")
    classes = synthetic_class_map(np.ones((3, 3), np.uint8))
    with pytest.raises(DimensionError, match="a class map"):
        classes.landcover.uncertainty()
    with pytest.raises(InvalidParameterError, match="at least two classes"):
        proba.isel({"class": [0]}).landcover.uncertainty()
    assert issubclass(InvalidParameterError, LandcoverError)
