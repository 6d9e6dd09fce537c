"""Same inputs and ``random_state``: byte-identical GeoTIFFs across runs and schedulers.

The whole chain runs under each scheduler (training reads its samples through dask too): the
threaded scheduler twice, the synchronous one, the multi-process one
(``dask.config.set(scheduler="processes")``) and a 2-process ``LocalCluster``. The files are
compared by SHA-256, so any difference (pixels, tile layout, metadata) fails.
"""

from __future__ import annotations

import hashlib

import dask
import numpy as np
import pytest
import rasterio
from helpers import quiet_train

import xr_landcover
from xr_landcover import datasets
from xr_landcover.segment import segment

SCHEDULERS = ["threads", "threads", "sync", "processes", "cluster"]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def class_map_file(path):
    cube = datasets.nc_landsat7(chunks=128)
    model = quiet_train(cube, datasets.nc_training_polygons(), "id", "label",
                        method="random_trees", max_samples_per_class=80, random_state=0,
                        n_estimators=10)
    both = xr_landcover.classify(cube, model, confidence=True)
    xr_landcover.to_geotiff(both["landcover"], path)
    return path


def segment_file(path):
    cube = datasets.l8_rgb_uint8().isel(y=slice(0, 96), x=slice(0, 96)).chunk({"y": 48, "x": 48})
    xr_landcover.to_geotiff(segment(cube, spatial_radius=3, min_segment_size=8), path)
    return path


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Each product written under each scheduler: {product: [(scheduler, path), ...]}."""
    from distributed import Client, LocalCluster

    tmp = tmp_path_factory.mktemp("determinism")
    made = {"classes": [], "segments": []}

    def run(label, i):
        made["classes"].append((label, class_map_file(tmp / f"classes_{i}_{label}.tif")))
        made["segments"].append((label, segment_file(tmp / f"segments_{i}_{label}.tif")))

    for i, scheduler in enumerate(SCHEDULERS):
        if scheduler == "cluster":
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster):
                run(scheduler, i)
        else:
            with dask.config.set(scheduler=scheduler):
                run(scheduler, i)
    return made


@pytest.mark.parametrize("product", ["classes", "segments"])
def test_byte_identical_across_runs_and_schedulers(outputs, product):
    """Determinism only: the files are the same bytes under every scheduler, not that they are
    right. Correctness comes from independent references elsewhere: labels against the bare
    estimator's ``predict`` (test_classify.py::test_labels_equal_bare_predict_and_nodata_is_fill),
    segments against a plain-loop reimplementation of the papers
    (test_segment.py::test_segmentation_matches_reference), files against the arrays written
    (test_geotiff.py)."""
    files = outputs[product]
    assert [label for label, _ in files] == SCHEDULERS
    digests = {f"{i}:{label}": sha256(path) for i, (label, path) in enumerate(files)}
    assert len(set(digests.values())) == 1, digests
    with rasterio.open(files[0][1]) as src:  # and the files hold a real result
        values = src.read(1)
    assert len(np.unique(values)) > (5 if product == "classes" else 20)
