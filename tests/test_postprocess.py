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

import xr_landcover
from xr_landcover.classmap import ClassMap
from xr_landcover.errors import (
    DimensionError,
    GridMismatchError,
    InvalidParameterError,
    LandcoverError,
)
from xr_landcover.postprocess._arithmetic import exp, log
from xr_landcover.postprocess.smoothing import bayes_posterior_logits

CHUNKINGS = [None, {"class": 1, "y": 7, "x": 9}, {"class": -1, "y": 16, "x": 5}]
SCHEDULERS = ["sync", "threads"]


def computed_everywhere(make, p):
    """``make(p)`` computed for each chunking of ``p`` and each scheduler: all must agree;
    returns the numpy result."""
    results = []
    for chunks in CHUNKINGS:
        q = p if chunks is None else p.chunk({k: v for k, v in chunks.items() if k in p.dims})
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


# -- reclassify ------------------------------------------------------------------------------

NAMES = ["developed", "herbaceous", "shrubland", "forest"]
COLORS = [(200, 0, 0), (220, 220, 100), (180, 150, 80), (30, 120, 30)]


@pytest.fixture
def class_map():
    rng = np.random.default_rng(3)
    data = rng.choice([0, 1, 3, 4, 5], size=(30, 40)).astype(np.uint8)
    return synthetic_class_map(data, values=[1, 3, 4, 5], names=NAMES, colors=COLORS)


def test_reclassify_values_merges_and_rebuilds_the_attrs(class_map, no_compute):
    out = class_map.chunk({"y": 8}).landcover.reclassify({3: 4, 5: 9})
    assert no_compute.calls == 0 and isinstance(out.data, dsa.Array)
    no_compute.forbid = False
    got = computed_everywhere(lambda m: m.landcover.reclassify({3: 4, 5: 9}), class_map)
    lut = {0: 0, 1: 1, 3: 4, 4: 4, 5: 9}
    np.testing.assert_array_equal(got, np.vectorize(lut.get)(class_map.values))
    assert out.dtype == np.uint8 and out.attrs["flag_values"].tolist() == [1, 4, 9]
    # a merged class keeps the name and colour of the class whose value it keeps
    assert out.attrs["class_names"] == ["developed", "shrubland", "forest"]
    assert ClassMap.from_dataarray(out).colormap == {1: COLORS[0], 4: COLORS[2], 9: COLORS[3]}
    assert out.rio.nodata == 0 and out.rio.crs == class_map.rio.crs
    assert out.attrs["flag_meanings"] == "developed shrubland forest"


def test_reclassify_by_names_groups_and_new_fill(class_map):
    out = class_map.landcover.reclassify({"vegetation": ["herbaceous", 4, "forest"]},
                                         colors={"vegetation": (0, 200, 0)})
    np.testing.assert_array_equal(out.values, np.where(np.isin(class_map.values, [3, 4, 5]), 3,
                                                       class_map.values))
    assert out.attrs["class_names"] == ["developed", "vegetation"]
    assert ClassMap.from_dataarray(out).colormap[3] == (0, 200, 0)
    # a class given value 0 moves the fill to 255; a value past 254 makes the map uint16
    zero = class_map.landcover.reclassify({1: 0}, names={0: "urban"})
    assert int(zero.attrs["_FillValue"]) == 255 and zero.rio.nodata == 255
    np.testing.assert_array_equal(
        zero.values, np.where(class_map.values == 0, 255,
                              np.where(class_map.values == 1, 0, class_map.values)))
    wide = class_map.landcover.reclassify({5: 300})
    assert wide.dtype == np.uint16 and int(wide.max()) == 300
    fresh = class_map.landcover.reclassify({3: 20, 4: 20})
    assert fresh.attrs["class_names"] == ["developed", "forest", "herbaceous+shrubland"]
    assert ClassMap.from_dataarray(fresh).colormap[20] == COLORS[1]


def test_reclassify_probabilities_sums_merged_classes(proba):
    p = proba.assign_attrs(class_names=NAMES)
    got = computed_everywhere(
        lambda q: q.landcover.reclassify({"vegetation": ["herbaceous", "shrubland"]}), p)
    v = p.values.astype(np.float64)
    expected = np.stack([v[0], v[1] + v[2], v[3]]).astype(np.float32)
    np.testing.assert_array_equal(got, expected)
    out = p.landcover.reclassify({"vegetation": ["herbaceous", "shrubland"]})
    assert out.dims == ("class", "y", "x") and out["class"].values.tolist() == [1, 2, 4]
    assert out.attrs["class_names"] == ["developed", "vegetation", "forest"]
    classes = out.landcover.label()
    assert classes.attrs["flag_values"].tolist() == [1, 2, 4]


def test_reclassify_errors(class_map, proba):
    bad = [
        ({7: 1}, "7 .* is not a class"),
        ({"x": ["water"]}, "names no class"),
        ({"a": [3], "b": [3, 4]}, "in both 'a' and 'b'"),
        ({3: 4, "b": [5]}, "all old class values"),
        ({3: 70000}, "must be an integer in"),
        ({3: 1}, None),  # fine: merges into developed
        ({3: 20, 4: 21}, None),
    ]
    for mapping, message in bad:
        if message is None:
            class_map.landcover.reclassify(mapping)
            continue
        with pytest.raises(InvalidParameterError, match=message):
            class_map.landcover.reclassify(mapping)
    with pytest.raises(InvalidParameterError, match="several classes the name"):
        class_map.landcover.reclassify({3: 20}, names={20: "forest"})
    with pytest.raises(InvalidParameterError, match="names: \\[8\\]"):
        class_map.landcover.reclassify({3: 20}, names={8: "x"})
    with pytest.raises(LandcoverError, match="mapping must be a non-empty dict"):
        class_map.landcover.reclassify([(3, 4)])
    with pytest.raises(DimensionError, match="band cube"):
        class_map.expand_dims(band=[1]).landcover.reclassify({3: 4})
    with pytest.raises(LandcoverError, match="integer class map"):
        class_map.astype(np.float32).landcover.reclassify({3: 4})
    stray = class_map.copy(data=np.where(class_map.values == 5, 6, class_map.values))
    lazy = stray.chunk({"y": 10}).landcover.reclassify({3: 4})
    with pytest.raises(InvalidParameterError, match="holds value 6"):
        lazy.compute()


# -- combine ---------------------------------------------------------------------------------


@pytest.fixture
def three(proba):
    rng = np.random.default_rng(7)
    others = [random_probabilities(rng, 4, 30, 40, nodata_share=0.05) for _ in range(2)]
    return [proba] + others


def numpy_combine(cubes, method, weights=None, uncertainty_method="entropy"):
    p = np.stack([c.values.astype(np.float64) for c in cubes])
    w = np.ones(len(cubes)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    out = np.full(p.shape[1:], np.nan)
    for y in range(p.shape[2]):
        for x in range(p.shape[3]):
            px = p[:, :, y, x]
            if np.isnan(px).any():
                continue
            if method == "average":
                out[:, y, x] = (w[:, None] * px).sum(axis=0)
                continue
            u = np.array([numpy_uncertainty(q[:, None], uncertainty_method)[0] for q in px])
            if (u == 0).any():
                local = np.where(u == 0, w, 0.0)
            else:
                local = w / u
            out[:, y, x] = (local[:, None] * px).sum(axis=0) / local.sum()
    return out


@pytest.mark.parametrize("method,weights,umethod", [
    ("average", None, "entropy"), ("average", [1, 0, 3], "entropy"),
    ("uncertainty", None, "entropy"), ("uncertainty", [2, 1, 1], "margin"),
])
def test_combine_is_the_weighted_average(three, method, weights, umethod, no_compute):
    lazy = xr_landcover.combine(three, method=method, weights=weights,
                                uncertainty_method=umethod)
    assert no_compute.calls == 0 and isinstance(lazy.data, dsa.Array)
    no_compute.forbid = False
    mixed = [three[0].chunk({"y": 11}), three[1].chunk({"x": 7}), three[2]]
    with dask.config.set(scheduler="threads"):
        got = xr_landcover.combine(mixed, method=method, weights=weights,
                                   uncertainty_method=umethod).values
    np.testing.assert_array_equal(got, lazy.values)
    expected = numpy_combine(three, method, weights, umethod)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=3e-7, atol=1e-7, equal_nan=True)
    assert lazy.name == "probabilities" and lazy["class"].values.tolist() == [1, 2, 3, 4]


def test_combine_uncertainty_prefers_the_confident_model():
    sure = synthetic_probabilities(np.array([[[1.0]], [[0.0]]]))
    unsure = synthetic_probabilities(np.array([[[0.4]], [[0.6]]]))
    got = xr_landcover.combine([sure, unsure], method="uncertainty").values.ravel()
    assert got.tolist() == [1.0, 0.0]
    assert xr_landcover.combine([sure, unsure]).values.ravel().tolist() == [0.699999988079071,
                                                                         0.30000001192092896]


def test_combine_matches_classes_by_value_and_errors(three):
    reordered = three[1].isel({"class": [2, 0, 3, 1]})
    np.testing.assert_array_equal(xr_landcover.combine([three[0], reordered]).values,
                                  xr_landcover.combine(three[:2]).values)
    with pytest.raises(InvalidParameterError, match="at least two"):
        xr_landcover.combine(three[:1])
    with pytest.raises(LandcoverError, match="must be a list"):
        xr_landcover.combine(three[0])
    with pytest.raises(InvalidParameterError, match="method must be one of"):
        xr_landcover.combine(three, method="vote")
    with pytest.raises(InvalidParameterError, match="weights must be 3"):
        xr_landcover.combine(three, weights=[1, 2])
    with pytest.raises(InvalidParameterError, match="weights must be 3"):
        xr_landcover.combine(three, weights=[1, -1, 1])
    with pytest.raises(InvalidParameterError, match="has classes"):
        xr_landcover.combine([three[0], three[1].isel({"class": [0, 1, 2]})])
    with pytest.raises(GridMismatchError, match="probabilities\\[1\\]"):
        xr_landcover.combine([three[0], three[1].isel(x=slice(1, None))])
    classes = synthetic_class_map(np.ones((30, 40), np.uint8))
    with pytest.raises(DimensionError, match="probabilities\\[1\\] must be a probability cube"):
        xr_landcover.combine([three[0], classes])


# -- Bayesian smoothing ----------------------------------------------------------------------


def numpy_smooth(p, window_size, neigh_fraction, smoothness):
    """The documented algorithm, one pixel and class at a time, with numpy's own log/exp and
    the image mirrored at its border (numpy.pad 'symmetric')."""
    k, ny, nx = p.shape
    half = window_size // 2
    sigma = np.broadcast_to(np.asarray(smoothness, np.float64), (k,))
    q = np.clip(p.astype(np.float64), 1e-6, 1 - 1e-6)
    x = np.log(q / (1 - q))
    padded = np.pad(x, ((0, 0), (half, half), (half, half)), mode="symmetric")
    post = np.full(x.shape, np.nan)
    for i in range(ny):
        for j in range(nx):
            if np.isnan(x[0, i, j]):
                continue
            for c in range(k):
                window = padded[c, i:i + window_size, j:j + window_size].ravel()
                window = np.sort(window[np.isfinite(window)])[::-1]
                top = window[:max(1, math.ceil(neigh_fraction * len(window)))]
                m = top.mean()
                s2 = top.var(ddof=1) if len(top) > 1 else 0.0
                w = s2 / (s2 + sigma[c])
                post[c, i, j] = w * x[c, i, j] + (1 - w) * m
    out = 1 / (1 + np.exp(-post))
    return out / out.sum(axis=0)


@pytest.mark.parametrize("window_size,neigh_fraction,smoothness", [
    (3, 0.5, 20.0), (5, 1.0, [5.0, 10.0, 20.0, 40.0]), (7, 0.3, 2.0),
])
def test_smooth_is_the_documented_algorithm(proba, window_size, neigh_fraction, smoothness,
                                            no_compute):
    lazy = proba.chunk({"y": 10}).landcover.smooth(window_size, neigh_fraction, smoothness)
    assert no_compute.calls == 0 and isinstance(lazy.data, dsa.Array)
    no_compute.forbid = False
    got = computed_everywhere(
        lambda q: q.landcover.smooth(window_size, neigh_fraction, smoothness), proba)
    expected = numpy_smooth(proba.values, window_size, neigh_fraction, smoothness)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, equal_nan=True)
    # chunks smaller than the halo, and a time dim
    tiny = proba.chunk({"y": 2, "x": 3}).landcover.smooth(window_size, neigh_fraction,
                                                          smoothness)
    np.testing.assert_array_equal(tiny.values, got)
    series = proba.expand_dims(time=[1, 2]).chunk({"time": 1, "y": 13})
    both = series.landcover.smooth(window_size, neigh_fraction, smoothness)
    assert both.dims == ("time", "class", "y", "x")
    np.testing.assert_array_equal(both.values[1], got)


def sorted_window_posterior_logits(logits, half, neigh_fraction, smoothness):
    """The posterior logits with every window sorted anew (``sorted``) and the prior's sums
    taken highest first in Python floats: the operations, in order, that the kernel's sliding
    sorted window must reproduce bit for bit."""
    layers, k, ny, nx = logits.shape
    out = np.full(logits.shape, np.nan)
    for layer, c, i, j in np.ndindex(layers, k, ny - 2 * half, nx - 2 * half):
        i, j = i + half, j + half
        if not np.isfinite(logits[layer, 0, i, j]):
            continue
        window = logits[layer, c, i - half:i + half + 1, j - half:j + half + 1].ravel()
        top = sorted((float(v) for v in window if np.isfinite(v)), reverse=True)
        used = max(1, min(len(top), math.ceil(neigh_fraction * len(top))))
        total = 0.0
        for v in top[:used]:
            total += v
        mean = total / used
        var = 0.0
        if used > 1:
            for v in top[:used]:
                var += (v - mean) * (v - mean)
            var = var / (used - 1)
        w = var / (var + smoothness[c])
        out[layer, c, i, j] = w * logits[layer, c, i, j] + (1.0 - w) * mean
    return out


@pytest.mark.parametrize("half,neigh_fraction", [(1, 0.5), (2, 1.0), (4, 0.3)])
def test_sliding_window_kernel_equals_sorting_every_window_bit_for_bit(half, neigh_fraction):
    """Independent reference: each window sorted from scratch. The logits hold nodata holes
    (a whole column block, lone pixels, a class-only NaN) and many exact ties (probabilities
    rounded to tenths), which the insert/remove/replace steps must keep in order."""
    rng = np.random.default_rng(half)
    p = rng.dirichlet(np.full(3, 0.7), size=(2, 23, 31)).transpose(0, 3, 1, 2)
    p[1] = np.round(p[1] * 10) / 10
    p[:, :, 5:9, 11:14] = np.nan
    p[:, :, rng.random((23, 31)) < 0.08] = np.nan
    p[0, 2, 15, 20] = np.nan  # one class missing at one pixel: left out of that class's windows
    q = np.clip(p, 1e-6, 1 - 1e-6)
    logits = np.log(q / (1 - q))
    smoothness = np.array([2.0, 20.0, 40.0])
    got = bayes_posterior_logits(logits, half, neigh_fraction, smoothness)
    expected = sorted_window_posterior_logits(logits, half, neigh_fraction, smoothness)
    assert np.isfinite(expected).sum() > 500
    assert got.tobytes() == expected.tobytes()


def test_smooth_removes_a_lone_pixel_and_keeps_attrs(proba):
    p = np.full((2, 9, 9), 0.2, np.float32)
    p[0] = 0.8
    p[:, 4, 4] = [0.45, 0.55]
    cube = synthetic_probabilities(p, names=["grass", "water"], colors=[(0, 200, 0),
                                                                         (0, 0, 200)])
    out = cube.landcover.smooth(window_size=5)
    assert xr_landcover.label(cube).values[4, 4] == 2
    assert (xr_landcover.label(out).values == 1).all()
    assert out.attrs["class_names"] == ["grass", "water"] and out.rio.crs == cube.rio.crs
    total = out.sum("class").values
    np.testing.assert_allclose(total, 1, atol=1e-6)


def test_smooth_errors(proba):
    for kwargs, message in [
        ({"window_size": 4}, "window_size must be odd"),
        ({"window_size": 23}, "window_size must be an integer in"),
        ({"neigh_fraction": 0}, "neigh_fraction must be a number"),
        ({"smoothness": -1}, "smoothness must be a number > 0"),
        ({"smoothness": [1, 2]}, "or 4 of them"),
    ]:
        with pytest.raises(InvalidParameterError, match=message):
            proba.landcover.smooth(**kwargs)
    with pytest.raises(DimensionError, match="a class map"):
        synthetic_class_map(np.ones((3, 3), np.uint8)).landcover.smooth()


# -- uncertainty_points ----------------------------------------------------------------------


def numpy_points(u, n, min_uncertainty, min_distance, excluded=()):
    """The greedy rule over the whole image, the plain way."""
    rows, cols = np.nonzero(np.isfinite(u) & (u >= min_uncertainty))
    order = np.lexsort((cols, rows, -u[rows, cols].astype(np.float64)))
    kept = []
    for k in order:
        r, c = rows[k], cols[k]
        if (r, c) in excluded:
            continue
        if all((r - a) ** 2 + (c - b) ** 2 >= min_distance ** 2 for a, b in kept):
            kept.append((r, c))
        if len(kept) == n:
            break
    return kept


def pixels_of(points, grid):
    inverse = ~grid.rio.transform()
    cols, rows = inverse * (points.geometry.x.to_numpy(), points.geometry.y.to_numpy())
    return list(zip(np.floor(rows).astype(int).tolist(), np.floor(cols).astype(int).tolist()))


def test_uncertainty_points_are_the_greedy_rule(proba, monkeypatch):
    from xr_landcover.postprocess import sampling

    u = proba.landcover.uncertainty("margin").compute()
    expected = numpy_points(u.values, 25, 0.5, 4.0)
    for chunks, bins in [(None, 4096), ({"y": 7, "x": 11}, 4096), ({"y": 16}, 3)]:
        monkeypatch.setattr(sampling, "BINS", bins)  # 3 bins: several bands are read
        grid = u if chunks is None else u.chunk(chunks)
        pts = grid.landcover.uncertainty_points(n=25, min_uncertainty=0.5, min_distance=4)
        assert pixels_of(pts, u) == expected
    assert list(pts.columns) == ["Classvalue", "Classname", "uncertainty", "geometry"]
    assert (pts["Classvalue"] == -1).all() and pts.crs == u.rio.crs
    np.testing.assert_array_equal(pts["uncertainty"], [u.values[r, c] for r, c in expected])
    assert (np.diff(pts["uncertainty"]) <= 0).all()


def test_uncertainty_points_avoid_exclude_and_warn_when_short(proba):
    u = proba.landcover.uncertainty("entropy").compute()
    first = u.landcover.uncertainty_points(n=10, min_uncertainty=0.3, min_distance=3)
    accuracy = first.iloc[:4][["geometry"]]
    pts = u.landcover.uncertainty_points(n=10, min_uncertainty=0.3, min_distance=3,
                                         exclude=accuracy.to_crs("EPSG:4326"))
    taken = set(pixels_of(accuracy, u))
    assert not taken & set(pixels_of(pts, u))
    assert pixels_of(pts, u) == numpy_points(u.values, 10, 0.3, 3.0, taken)
    with pytest.warns(UserWarning, match="only .* of the 500 points"):
        few = u.landcover.uncertainty_points(n=500, min_uncertainty=0.3, min_distance=8)
    assert 0 < len(few) < 500
    d = np.array(pixels_of(few, u), float)
    gaps = np.sqrt(((d[:, None] - d[None]) ** 2).sum(-1)) + np.eye(len(d)) * 99
    assert gaps.min() >= 8


def test_uncertainty_points_errors(proba):
    u = proba.landcover.uncertainty()
    with pytest.raises(DimensionError, match="take its uncertainty first"):
        proba.landcover.uncertainty_points()
    with pytest.raises(LandcoverError, match="must hold floats"):
        synthetic_class_map(np.ones((3, 3), np.uint8)).landcover.uncertainty_points()
    with pytest.raises(InvalidParameterError, match="min_uncertainty must be a number in"):
        u.landcover.uncertainty_points(min_uncertainty=2)
    with pytest.raises(InvalidParameterError, match="n must be an integer >= 1"):
        u.landcover.uncertainty_points(n=0)
    import geopandas as gpd
    from shapely.geometry import box

    with pytest.raises(InvalidParameterError, match="exclude must hold points"):
        u.landcover.uncertainty_points(exclude=gpd.GeoDataFrame(
            geometry=[box(0, 0, 1, 1)], crs=u.rio.crs))


def test_uncertainty_points_break_ties_by_row_then_column():
    flat = synthetic_probabilities(np.full((2, 12, 12), 0.5)).landcover.uncertainty("margin")
    for chunks in (None, {"y": 5, "x": 3}):
        grid = flat if chunks is None else flat.chunk(chunks)
        pts = grid.landcover.uncertainty_points(n=6, min_distance=5)
        assert pixels_of(pts, flat) == [(0, 0), (0, 5), (0, 10), (5, 0), (5, 5), (5, 10)]
