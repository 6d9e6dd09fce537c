"""Unsupervised classes (xr_landcover.classification.clustering): k-means and ISODATA maps that
find the zones of a synthetic scene, do not depend on the chunking, the scheduler or the
OpenBLAS kernel, stay lazy after the fit, and refuse bad parameters by name."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys

import dask
import numpy as np
import pytest
from conftest import CountingScheduler, synthetic_cube

import xr_landcover
from xr_landcover import errors as E
from xr_landcover.classification.clustering import nearest_centre, sample_valid_pixels
from xr_landcover.classmap import ClassMap

N = 48


def zones() -> np.ndarray:
    """Zone of each pixel: 0 left half, 1 top right, 2 bottom right."""
    z = np.zeros((N, N), dtype=int)
    z[:, N // 2:] = 1
    z[N // 2:, N // 2:] = 2
    return z


def scene(seed=0) -> np.ndarray:
    """Three bands, three spectrally distinct zones, a NaN corner and a NaN pixel in one band."""
    rng = np.random.default_rng(seed)
    centres = np.array([[60.0, 60.0, 60.0], [140.0, 80.0, 30.0], [100.0, 140.0, 40.0]])
    values = centres[zones()].transpose(2, 0, 1) + rng.normal(0, 4.0, (3, N, N))
    values = values.astype(np.float32)
    values[:, :8, :8] = np.nan
    values[1, 30, 3] = np.nan
    return values


def cube(chunks=16, values=None):
    values = scene() if values is None else values
    return synthetic_cube(values, bands=["red", "green", "blue"],
                          chunks=None if chunks is None else {"band": -1, "y": chunks[0],
                                                              "x": chunks[1]}
                          if isinstance(chunks, tuple) else {"band": -1, "y": chunks,
                                                             "x": chunks})


def valid_mask() -> np.ndarray:
    return np.all(np.isfinite(scene()), axis=0)


@pytest.mark.parametrize("method", ["kmeans", "isodata"])
def test_finds_the_zones_with_class_map_attrs(method):
    kwargs = {"max_merge_distance": 1.0} if method == "isodata" else {}
    # ISODATA starts from 6 centres, merges those inside a zone, ends with 3
    k = 3 if method == "kmeans" else 6
    out = cube().landcover.cluster(k, method=method, random_state=0, **kwargs)
    assert out.dims == ("y", "x") and out.dtype == np.uint8 and out.name == "landcover"
    labels = out.values
    valid = valid_mask()
    assert np.all(labels[~valid] == 0) and np.all(labels[valid] > 0)
    classes = ClassMap.from_dataarray(out)
    assert classes.values == (1, 2, 3) and classes.nodata == 0
    assert classes.names == ("cluster 1", "cluster 2", "cluster 3")
    assert len(set(ClassMap.from_dataarray(out).colormap.values())) == 3
    assert out.attrs["cluster_method"].startswith(f"{method}, 3 clusters")
    assert out.rio.crs == cube().rio.crs
    # each zone is one cluster, each cluster one zone; the darkest zone (0) is cluster 1
    z = zones()
    for zone in range(3):
        assert len(np.unique(labels[valid & (z == zone)])) == 1
    assert len({int(labels[valid & (z == zone)][0]) for zone in range(3)}) == 3
    assert labels[valid & (z == 0)][0] == 1


@pytest.mark.parametrize("method", ["kmeans", "isodata"])
def test_identical_for_any_chunking_and_scheduler(method):
    maps = []
    for chunks in (16, (48, 7), None):
        for scheduler in ("synchronous", "threads"):
            with dask.config.set(scheduler=scheduler):
                out = cube(chunks).landcover.cluster(5, method=method, sample_size=500,
                                                     min_samples_per_cluster=5,
                                                     random_state=3)
                maps.append((out.values, out.attrs["cluster_method"]))
    for values, description in maps[1:]:
        np.testing.assert_array_equal(values, maps[0][0])
        assert description == maps[0][1]


def test_the_sample_does_not_depend_on_the_chunking():
    samples = [sample_valid_pixels(cube(chunks), 300, 7) for chunks in (5, (48, 3), None)]
    for values, index in samples[1:]:
        np.testing.assert_array_equal(index, samples[0][1])
        np.testing.assert_array_equal(values, samples[0][0])
    values, index = samples[0]
    assert len(index) == 300 and len(np.unique(index)) == 300
    assert np.all(valid_mask().ravel()[index])
    np.testing.assert_array_equal(values, scene().reshape(3, -1)[:, index].T)
    other, _ = sample_valid_pixels(cube(16), 300, 8)
    assert not np.array_equal(other, values)  # the seed matters
    # more than there are: every valid pixel, once
    everything, index = sample_valid_pixels(cube(16), 10 ** 6, 7)
    np.testing.assert_array_equal(index, np.flatnonzero(valid_mask().ravel()))
    # spread over the image, not taken from the first blocks
    _, index = samples[0]
    rows = index // N
    assert rows.min() < 12 and rows.max() > 36


def test_fit_reads_once_and_the_map_stays_lazy():
    counting = CountingScheduler()
    with dask.config.set(scheduler=counting):
        out = cube().landcover.cluster(3, random_state=0)
        assert counting.calls == 1  # the sample
        assert isinstance(out.data, dask.array.Array)
        assert out.data.chunks == ((16, 16, 16), (16, 16, 16))
        out.compute()
        assert counting.calls == 2


def test_nodata_value_pixels_are_not_clustered():
    values = np.nan_to_num(scene(), nan=-9999).astype(np.int16)
    out = cube(16, values).rio.write_nodata(-9999).landcover.cluster(3, random_state=0)
    labels = out.values
    assert np.all(labels[~valid_mask()] == 0) and np.all(labels[valid_mask()] > 0)


def test_nearest_centre_is_exact_and_ties_go_low():
    rng = np.random.default_rng(0)
    z, centres = rng.normal(size=(1000, 6)), rng.normal(size=(7, 6))
    d = ((z[:, None, :] - centres[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(nearest_centre(z, centres), np.argmin(d, axis=1))
    tie = nearest_centre(np.array([[0.0, 0.0]]), np.array([[1.0, 0.0], [-1.0, 0.0]]))
    assert tie.tolist() == [0]


def test_isodata_drops_small_clusters_and_min_samples():
    values = scene()
    values[:, 40:44, 2:4] = 300.0  # 8 outlying pixels: their own cluster only when allowed
    kept = cube(16, values).landcover.cluster(4, method="kmeans", random_state=0,
                                              sample_size=5000, min_samples_per_cluster=5)
    assert len(np.unique(kept.values[:, :])) == 5  # 4 clusters + fill
    dropped = cube(16, values).landcover.cluster(4, method="kmeans", random_state=0,
                                                 sample_size=5000, min_samples_per_cluster=20)
    assert dropped.attrs["flag_values"].tolist() == [1, 2, 3]
    # the outliers went to the nearest remaining centre rather than to nodata
    assert np.all(dropped.values[40:44, 2:4] > 0)
    with pytest.raises(E.NoSamplesError, match="min_samples_per_cluster=10000"):
        cube().landcover.cluster(3, random_state=0, min_samples_per_cluster=10000)


def test_isodata_merge_distance_controls_the_number_of_clusters():
    few = cube().landcover.cluster(8, method="isodata", random_state=1, max_merge_distance=1.0)
    many = cube().landcover.cluster(8, method="isodata", random_state=1, max_merge_distance=0.0)
    assert len(few.attrs["flag_values"]) == 3
    assert len(many.attrs["flag_values"]) == 8  # nothing merges: ISODATA keeps 8
    capped = cube().landcover.cluster(8, method="isodata", random_state=1,
                                      max_merge_distance=1.0, max_merge_per_iteration=1,
                                      max_iterations=2)
    assert len(capped.attrs["flag_values"]) == 7  # one merge in the only merging iteration


def test_errors_name_the_argument():
    c = cube()
    cases = [
        ({"n_classes": 1}, E.InvalidParameterError, "n_classes must be an integer in"),
        ({"n_classes": 3, "method": "dbscan"}, E.InvalidParameterError, "method must be one"),
        ({"n_classes": 3, "max_iterations": 0}, E.InvalidParameterError, "max_iterations"),
        ({"n_classes": 3, "sample_size": 2}, E.InvalidParameterError, "sample_size must be"),
        ({"n_classes": 3, "random_state": "a"}, E.InvalidInputTypeError, "random_state"),
        ({"n_classes": 3, "max_merge_distance": -1}, E.InvalidParameterError,
         "max_merge_distance"),
        ({"n_classes": 2.5}, E.InvalidParameterError, "n_classes"),
    ]
    for kwargs, error, words in cases:
        with pytest.raises(error, match=words):
            c.landcover.cluster(**kwargs)
    with pytest.raises(E.DimensionError, match=r"'time' has no coordinate values.*"
                       r"isel\(time=0\)"):
        xr_landcover.cluster(c.expand_dims(time=2), 3)
    empty = cube(16, np.full((3, N, N), np.nan, np.float32))
    with pytest.raises(E.NoSamplesError, match="0 valid pixels"):
        empty.landcover.cluster(3, random_state=0)


def test_train_with_a_clusterer_points_to_cluster(polygons):
    from sklearn.cluster import KMeans

    with pytest.raises(E.InvalidInputTypeError, match=r"KMeans, a clusterer.*"
                       r"landcover\.cluster"):
        xr_landcover.train(cube(), polygons, "id", estimator=KMeans(3))


SCRIPT = """
import hashlib, json, sys, threadpoolctl
sys.path.insert(0, {tests!r})
import test_clustering as t
out = {{}}
for method in ("kmeans", "isodata"):
    labels = t.cube().landcover.cluster(6, method=method, random_state=0).values
    out[method] = hashlib.sha256(labels.tobytes()).hexdigest()
out["architectures"] = sorted({{str(i.get("architecture")) for i in
                                threadpoolctl.threadpool_info()
                                if i.get("internal_api") == "openblas"}})
print(json.dumps(out))
"""


def _cpu_flags() -> set[str]:
    try:
        text = open("/proc/cpuinfo").read()
    except OSError:
        return set()
    line = next((x for x in text.splitlines() if x.startswith("flags")), "")
    return set(line.split(":")[-1].split())


def test_same_map_under_each_openblas_kernel():
    """k-means is fitted with BLAS (scikit-learn's distances); the map is the same bits
    whichever OpenBLAS kernel the CPU selects (forced with OPENBLAS_CORETYPE)."""
    if platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the OpenBLAS core types forced here are x86-64 kernels")
    if "avx2" not in _cpu_flags():
        pytest.skip("this CPU lacks AVX2, which OpenBLAS's Haswell kernel needs")
    results = {}
    for core in ("Haswell", "Sandybridge"):
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        env["OPENBLAS_CORETYPE"] = core
        script = SCRIPT.format(tests=os.path.dirname(__file__))
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, timeout=300, cwd=os.path.dirname(os.path.dirname(
                                  os.path.abspath(__file__))))
        assert done.returncode == 0, done.stderr[-3000:]
        results[core] = json.loads(done.stdout.splitlines()[-1])
        assert core in results[core]["architectures"]  # the forced kernel really ran
    here = {m: hashlib.sha256(cube().landcover.cluster(6, method=m, random_state=0)
                              .values.tobytes()).hexdigest() for m in ("kmeans", "isodata")}
    for core, result in results.items():
        assert result["kmeans"] == here["kmeans"], core
        assert result["isodata"] == here["isodata"], core


def test_a_time_series_clusters_on_every_date():
    """Two dates. Rows alternate between two spectra on the first date; the left half keeps
    them on the second, the right half swaps them. Only both dates together tell the four
    kinds of pixel apart: 4 clusters of the series each lie in one half."""
    import xarray as xr

    rng = np.random.default_rng(0)
    a, b = np.array([60.0, 60.0, 60.0]), np.array([140.0, 80.0, 30.0])
    odd = (np.arange(N) % 2 == 1)[:, None] & np.ones((1, N), bool)
    right = np.zeros((N, N), bool)
    right[:, N // 2:] = True
    first = np.where(odd[..., None], b, a)
    second = np.where((odd ^ right)[..., None], b, a)
    dates = [cube(16, (v.transpose(2, 0, 1) + rng.normal(0, 3, (3, N, N))).astype(np.float32))
             for v in (first, second)]
    series = xr.concat(dates, dim="time").assign_coords(
        time=np.array(["2020-01-01", "2020-07-01"], dtype="datetime64[ns]"))
    series = series.rio.write_crs(dates[0].rio.crs)
    out = series.landcover.cluster(4, random_state=0, sample_size=3000)
    assert out.dims == ("y", "x") and len(out.attrs["flag_values"]) == 4
    labels = out.values
    for value in range(1, 5):
        assert len(np.unique(right[labels == value])) == 1


def test_prediction_uses_direct_differences_not_the_norm_expansion():
    """Far from the origin, ||x||^2 - 2 x.c + ||c||^2 (what BLAS-based predictors such as
    KMeans.predict compute) cancels catastrophically; the map's arithmetic (differences first)
    does not: every pixel 0.4 from centre 0 and 0.6 from centre 1 gets centre 0."""
    from xr_landcover.classification.clustering import _predict_block

    offset = 1e8
    centres = np.array([[offset, offset], [offset + 1.0, offset + 1.0]])
    block = np.full((2, 4, 5), offset + 0.4)
    block += np.linspace(-0.05, 0.05, 20).reshape(4, 5)
    labels = _predict_block(block, centres, np.zeros(2), np.ones(2), None, np.uint8, 0)
    assert np.all(labels == 1)  # cluster 1 = centre 0
