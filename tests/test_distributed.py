"""The same results, byte for byte, on threads, processes and a real multi-process cluster.

One pipeline (train, pixel and object-based classify with confidence, segment,
segment_attributes, accuracy and accuracy points, to_geotiff, to_zarr) runs once under each
scheduler: dask's threaded scheduler, its processes scheduler and a
``distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`` started here
(one for the module, nothing mocked). Every product is compared as bytes with the threaded run.

Also: the estimator enters the task graph once, so the pickled graph of ``classify`` with a
100-tree forest over 400 chunks stays within the model's size plus a small amount per chunk.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import pickle
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cloudpickle
import dask
import numpy as np
import pytest
from helpers import fail_on_third_block, quiet_train

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classmap import ClassMap

SCHEDULERS = ["threads", "processes", "cluster"]

NC_SEGMENT = dict(bands=["red", "nir", "swir1"], color_space="none", spectral_detail=17,
                  spatial_detail=17, min_segment_size=10)


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        yield client


def _tree_bytes(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` (a Zarr store)."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def _frame_bytes(frame) -> bytes:
    """A DataFrame as bytes: index, columns, dtypes and every value."""
    return pickle.dumps((list(frame.index), list(frame.columns), list(map(str, frame.dtypes)),
                         [frame[c].to_numpy().tobytes() for c in frame.columns]))


def _pipeline(folder: Path) -> dict[str, object]:
    """Every product of the package on the NC sample, as bytes."""
    cube = datasets.nc_landsat7(chunks=128)  # 4 x 4 blocks
    polygons = datasets.nc_training_polygons()
    out: dict[str, object] = {}
    model = quiet_train(cube, polygons, "id", "label", method="random_trees",
                        max_samples_per_class=60, random_state=0, n_estimators=20)
    out["train"] = pickle.dumps((model.estimator, model.class_values, model.class_names))
    both = xr_landcover.classify(cube, model, confidence=True)
    labels, conf = dask.compute(both["landcover"].data, both["confidence"].data)
    out["classify"] = labels.tobytes()
    out["confidence"] = conf.tobytes()
    classes = xr_landcover.classify(cube, model)
    # an RBF SVM: classify sends the accelerated copy (classification.accelerate) to the workers
    svm = quiet_train(cube, polygons, "id", "label", method="svm", max_samples_per_class=40,
                      random_state=0)
    svm_both = xr_landcover.classify(cube, svm, confidence=True)
    out["classify_svm"] = b"".join(a.tobytes() for a in dask.compute(
        svm_both["landcover"].data, svm_both["confidence"].data))

    segments = cube.landcover.segment(**NC_SEGMENT)
    seg_values = segments.values
    out["segment"] = seg_values.tobytes()
    out["segment_attributes"] = _frame_bytes(xr_landcover.segment_attributes(cube, segments))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        objects = cube.landcover.train(polygons, "id", "label", method="random_trees",
                                       random_state=0, segments=segments, n_estimators=20)
    out["classify_objects"] = cube.landcover.classify(objects, segments=segments).values.tobytes()

    report = xr_landcover.accuracy(classes, polygons, "id")
    out["accuracy"] = _frame_bytes(report.confusion_matrix) + pickle.dumps(report.kappa)
    points = xr_landcover.accuracy_points(classes, n=200, random_state=0)
    out["accuracy_points"] = pickle.dumps((points.geometry.to_wkb().tolist(),
                                           points.drop(columns="geometry").to_dict("list")))

    tif = xr_landcover.to_geotiff(classes, folder / "classes.tif")
    out["to_geotiff"] = tif.read_bytes()
    out["to_geotiff_sidecar"] = (folder / "classes.tif.aux.xml").read_bytes()  # class names
    store = xr_landcover.to_zarr(classes, folder / "classes.zarr")
    out["to_zarr"] = _tree_bytes(store)
    out["to_zarr_cube"] = _tree_bytes(xr_landcover.to_zarr(cube, folder / "cube.zarr"))
    # what is left in the folder: the two outputs only, no staging or temporary files
    out["leftovers"] = sorted(p.name for p in folder.iterdir())
    return out


@pytest.fixture(scope="module")
def results(client, tmp_path_factory):
    runs = {}
    for name in SCHEDULERS:
        folder = tmp_path_factory.mktemp(name)
        if name == "cluster":
            with dask.config.set(scheduler=client):
                runs[name] = _pipeline(folder)
        elif name == "processes":
            # dask's processes scheduler, with one pool of 2 spawned processes kept for all the
            # computes of the pipeline (by default each compute would start a new pool)
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(2, mp_context=context) as pool, \
                    dask.config.set(scheduler="processes", pool=pool):
                runs[name] = _pipeline(folder)
        else:
            with dask.config.set(scheduler=name):
                runs[name] = _pipeline(folder)
    return runs


PRODUCTS = ["train", "classify", "confidence", "classify_svm", "segment", "segment_attributes",
            "classify_objects", "accuracy", "accuracy_points", "to_geotiff",
            "to_geotiff_sidecar", "to_zarr",
            "to_zarr_cube"]


@pytest.mark.parametrize("scheduler", ["processes", "cluster"])
@pytest.mark.parametrize("product", PRODUCTS)
def test_byte_identical_to_the_threaded_run(results, product, scheduler):
    """Determinism only: each product equals the threaded run's, byte for byte. What makes the
    threaded run right is checked against independent references elsewhere: scikit-learn's
    ``predict`` (test_classify.py), the plain-loop mean shift (test_segment.py), plain numpy
    attributes (test_attributes.py::test_equals_plain_numpy_on_a_small_image), scikit-learn's
    metrics and Olofsson et al. 2014 (test_accuracy.py, test_report.py)."""
    assert results[scheduler][product] == results["threads"][product]


def test_the_runs_did_real_work(results):
    threads = results["threads"]
    labels = np.frombuffer(threads["classify"], dtype=np.uint8)
    assert set(np.unique(labels)) == {0, 1, 3, 4, 5, 6, 7}
    segments = np.frombuffer(threads["segment"], dtype=np.uint32)  # ids are uint32
    assert len(np.unique(segments)) > 1000
    zarr_chunks = [k for k in threads["to_zarr"] if k.startswith("landcover/c/")]
    assert len(zarr_chunks) == 16  # one file per 128 x 128 block
    for run in results.values():
        assert run["leftovers"] == ["classes.tif", "classes.tif.aux.xml", "classes.zarr",
                                    "cube.zarr"]


def test_the_cluster_ran_in_two_other_processes(client):
    pids = client.run(os.getpid)
    assert len(pids) == 2 and os.getpid() not in pids.values()


def test_geotiff_lock_on_the_cluster_is_a_distributed_lock(client):
    from dask.utils import get_scheduler_lock
    from distributed import Lock

    classes = datasets.nc_landsat7(chunks=128).isel(band=0)
    with dask.config.set(scheduler=client):
        assert isinstance(get_scheduler_lock(classes.data), Lock)


# --------------------------------------------------------------------------------------------
# The estimator enters the graph once
# --------------------------------------------------------------------------------------------


def test_graph_of_400_chunks_holds_the_forest_once():
    cube = datasets.nc_landsat7(chunks=23)  # 20 x 22 = 440 blocks
    model = quiet_train(cube, datasets.nc_training_polygons(), "id", "label",
                        method="random_trees", n_estimators=100, max_samples_per_class=500,
                        random_state=0)
    assert len(model.estimator.estimators_) == 100
    classes = xr_landcover.classify(cube, model)
    chunks = classes.data.npartitions
    assert chunks >= 400
    graph = dict(classes.__dask_graph__())
    model_bytes = len(cloudpickle.dumps(model.estimator))
    graph_bytes = len(cloudpickle.dumps(graph))
    assert model_bytes > 400 * 4096  # a real forest: 400 copies could not fit the bound below
    assert graph_bytes < model_bytes + chunks * 4096, (
        f"graph {graph_bytes} B, model {model_bytes} B, "
        f"{(graph_bytes - model_bytes) / chunks:.0f} B per chunk")


# --------------------------------------------------------------------------------------------
# to_zarr: round trip, refusal, interrupted writes
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_map():
    cube = datasets.nc_landsat7(chunks=100)
    model = quiet_train(cube, datasets.nc_training_polygons(), "id", "label",
                        method="random_trees", max_samples_per_class=40, random_state=0,
                        n_estimators=10)
    return cube, xr_landcover.classify(cube, model)


def test_zarr_round_trip_keeps_values_crs_and_class_attrs(small_map, tmp_path):
    cube, classes = small_map
    store = classes.landcover.to_zarr(tmp_path / "classes.zarr")
    back = xr_landcover.open_zarr(store)
    assert back.name == "landcover" and back.dims == ("y", "x") and back.dtype == np.uint8
    assert back.chunks == classes.chunks  # one zarr chunk per dask chunk
    np.testing.assert_array_equal(back.values, classes.values)
    assert back.rio.crs == cube.rio.crs
    assert back.rio.transform() == cube.rio.transform()
    assert back.rio.nodata == 0
    for key in ("flag_values", "flag_meanings", "class_names", "flag_colors", "_FillValue",
                "long_name"):
        assert np.array_equal(back.attrs[key], classes.attrs[key]), key
    assert ClassMap.from_dataarray(back).colormap == ClassMap.from_dataarray(classes).colormap
    assert back.attrs["flag_values"].dtype == np.uint8


def test_zarr_round_trip_of_a_masked_cube_and_a_time_series(small_map, tmp_path):
    cube, classes = small_map
    back = xr_landcover.open_zarr(xr_landcover.to_zarr(cube, tmp_path / "cube.zarr"))
    np.testing.assert_array_equal(back.values, cube.values)  # NaN where nodata
    assert list(back.band.values) == list(cube.band.values)
    assert back.rio.encoded_nodata == cube.rio.encoded_nodata and np.isnan(back.rio.nodata)
    stack = classes.expand_dims(time=np.array(["2000-01-01", "2001-01-01"], "datetime64[ns]"))
    stack = stack.chunk({"time": 1})
    back = xr_landcover.open_zarr(xr_landcover.to_zarr(stack, tmp_path / "series.zarr"))
    assert back.dims == ("time", "y", "x")
    np.testing.assert_array_equal(back.values, stack.values)
    np.testing.assert_array_equal(back.time.values, stack.time.values)


def test_zarr_irregular_chunks_are_made_regular(small_map, tmp_path):
    _, classes = small_map
    odd = classes.chunk({"y": (50, 150, 100, 143), "x": 489})
    back = xr_landcover.open_zarr(xr_landcover.to_zarr(odd, tmp_path / "odd.zarr"))
    np.testing.assert_array_equal(back.values, classes.values)
    assert set(back.chunks[0][:-1]) == {50}


def test_zarr_existing_store_needs_overwrite(small_map, tmp_path):
    _, classes = small_map
    store = xr_landcover.to_zarr(classes, tmp_path / "classes.zarr")
    with pytest.raises(xr_landcover.OutputExistsError, match="overwrite=True"):
        xr_landcover.to_zarr(classes, store)
    flipped = (classes.where(classes == 0, 8 - classes)).astype(np.uint8)
    flipped.attrs = classes.attrs
    xr_landcover.to_zarr(flipped, store, overwrite=True)
    np.testing.assert_array_equal(xr_landcover.open_zarr(store).values, flipped.values)
    assert [p.name for p in tmp_path.iterdir()] == ["classes.zarr"]
    with pytest.raises(xr_landcover.RasterFileNotFoundError):
        xr_landcover.to_zarr(classes, tmp_path / "missing" / "classes.zarr")


@pytest.mark.parametrize("exception", [KeyboardInterrupt(), RuntimeError("disk on fire")],
                         ids=["KeyboardInterrupt", "RuntimeError"])
def test_zarr_interrupted_write_leaves_no_partial_store(small_map, tmp_path, exception):
    _, classes = small_map
    store = tmp_path / "classes.zarr"
    with dask.config.set(scheduler="threads"):
        xr_landcover.to_zarr(classes, store)
    before = _tree_bytes(store)
    broken = classes.copy(data=classes.data.map_blocks(fail_on_third_block(exception),
                                                       dtype=classes.dtype))
    with dask.config.set(scheduler="threads"), pytest.raises(type(exception)):
        xr_landcover.to_zarr(broken, store, overwrite=True)
    assert _tree_bytes(store) == before  # the previous store is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["classes.zarr"]
    broken = classes.copy(data=classes.data.map_blocks(fail_on_third_block(exception),
                                                       dtype=classes.dtype))
    with dask.config.set(scheduler="threads"), pytest.raises(type(exception)):
        xr_landcover.to_zarr(broken, tmp_path / "new.zarr")
    assert [p.name for p in tmp_path.iterdir()] == ["classes.zarr"]  # no partial new.zarr
