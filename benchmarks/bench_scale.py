"""Scale benchmark: classify a large virtual cube with random trees and stream it to GeoTIFF.

The cube is the shipped NC scene (6 bands, 443 x 489) tiled lazily to ``--size`` x ``--size``:
each dask block is built on the worker from the scene by modular indexing, so nothing but the
scene itself (5 MB, read once per process) is ever held whole. The model is trained on the
scene's polygons (random trees, the package's defaults). The class map is written with
``to_geotiff`` (staging file, then compressed tiles). Peak RSS is this process's
``ru_maxrss`` (threads scheduler: all work happens in-process).

    python benchmarks/bench_scale.py --size 8000
    python benchmarks/bench_scale.py --size 40000 --workers 2    # the issue's size
    python benchmarks/bench_scale.py --size 4000 --cluster        # 1 vs 2 LocalCluster workers

Writes ``benchmarks/results/bench_scale_<size>.json`` (``bench_scale_cluster_<size>.json``).
With ``--cluster`` the class map is classified on a ``LocalCluster(n_workers=1 then 2,
threads_per_worker=1, processes=True)`` and reduced to per-class pixel counts
(``class_areas``: one bincount per block, so only counts travel back); each worker count is
timed ``--repeat`` times after one warm-up run, best kept.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import tempfile
import time
import warnings
from pathlib import Path

import dask
import dask.array as dsa
import numpy as np
import rasterio
import xarray as xr
from _harness import machine_context
from affine import Affine

import xr_landcover
from xr_landcover import datasets

RESULTS = Path(__file__).parent / "results"


@functools.lru_cache(maxsize=1)
def _scene() -> np.ndarray:
    with rasterio.open(datasets.nc_landsat7_path()) as src:
        data = src.read().astype(np.float32)
        nodata = src.nodata
    if nodata is not None:
        data[data == nodata] = np.nan
    return data


def _tile_block(block_info=None):
    (r0, r1), (c0, c1) = block_info[None]["array-location"][1:]
    scene = _scene()
    rows = np.arange(r0, r1) % scene.shape[1]
    cols = np.arange(c0, c1) % scene.shape[2]
    return scene[:, rows][:, :, cols]


def virtual_cube(size: int, chunk: int) -> xr.DataArray:
    """The NC scene tiled to ``size`` x ``size`` pixels, lazily."""
    base = datasets.nc_landsat7()
    data = dsa.map_blocks(_tile_block, dtype=np.float32,
                          chunks=((6,), *(dsa.core.normalize_chunks(chunk, (size, size)))),
                          meta=np.empty((0, 0, 0), np.float32))
    t = base.rio.transform()
    y = t.f + t.e * (np.arange(size) + 0.5)
    x = t.c + t.a * (np.arange(size) + 0.5)
    cube = xr.DataArray(data, dims=("band", "y", "x"),
                        coords={"band": base.band.values, "y": y, "x": x})
    cube = cube.rio.write_crs(base.rio.crs).rio.write_transform(Affine(*list(t)[:6]))
    return cube.rio.write_nodata(np.nan)


def cluster_speedup(args, model) -> dict:
    from distributed import Client, LocalCluster

    cube = virtual_cube(args.size, args.chunk)
    seconds, counts = {}, {}
    for workers in (1, 2):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            with dask.config.set(scheduler=client):
                xr_landcover.class_areas(xr_landcover.classify(virtual_cube(1024, 512), model))
                runs = []
                for _ in range(args.repeat):
                    load = os.getloadavg()
                    start = time.perf_counter()
                    areas = xr_landcover.class_areas(xr_landcover.classify(cube, model))
                    runs.append({"seconds": time.perf_counter() - start, "loadavg_before": load})
        seconds[workers] = runs
        counts[workers] = areas["pixels"].tolist()
    best = {w: min(r["seconds"] for r in runs) for w, runs in seconds.items()}
    return {
        "benchmark": "classify + class_areas on a LocalCluster, 1 vs 2 worker processes",
        "command": f"python benchmarks/bench_scale.py --size {args.size} --chunk {args.chunk} "
                   f"--cluster --repeat {args.repeat}",
        "cube": {"bands": 6, "y": args.size, "x": args.size, "chunk": args.chunk},
        "estimator": repr(model.estimator),
        "runs": seconds,
        "best_seconds": best,
        "speedup_2_over_1": best[1] / best[2],
        "same_counts": counts[1] == counts[2],
        "cores": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8000)
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cluster", action="store_true")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    load_before = os.getloadavg()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = xr_landcover.train(datasets.nc_landsat7(), datasets.nc_training_polygons(),
                                   "id", "label", method="random_trees", random_state=0)
    if args.cluster:
        result = cluster_speedup(args, model)
        RESULTS.mkdir(exist_ok=True)
        path = RESULTS / f"bench_scale_cluster_{args.size}.json"
        result["context"] = machine_context()
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result, indent=2))
        return
    cube = virtual_cube(args.size, args.chunk)
    classes = xr_landcover.classify(cube, model)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(dir=RESULTS) as folder:
        out = Path(folder) / "classes.tif"
        start = time.perf_counter()
        cpu0 = time.process_time()
        with dask.config.set(scheduler="threads", num_workers=args.workers):
            xr_landcover.to_geotiff(classes, out)
        wall = time.perf_counter() - start
        cpu = time.process_time() - cpu0
        size_mb = out.stat().st_size / 1e6
        with rasterio.open(out) as src:  # a spot check that the file holds classes
            corner = src.read(1, window=((0, 443), (0, 489)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    expected = xr_landcover.classify(datasets.nc_landsat7(), model).values
    pixels = args.size * args.size
    result = {
        "benchmark": "classify (random trees) a tiled NC cube and stream to GeoTIFF",
        "command": f"python benchmarks/bench_scale.py --size {args.size} --chunk {args.chunk} "
                   f"--workers {args.workers}",
        "cube": {"bands": 6, "y": args.size, "x": args.size, "chunk": args.chunk,
                 "dtype": "float32", "virtual_gb": 6 * 4 * pixels / 1e9},
        "estimator": repr(model.estimator),
        "threads": args.workers,
        "wall_s": wall,
        "cpu_s": cpu,
        "pixels_per_s": pixels / wall,
        "peak_rss_mb": peak,
        "rss_before_compute_mb": rss_before,
        "geotiff_mb": size_mb,
        "first_tile_equals_scene_classes": bool(np.array_equal(corner, expected)),
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "context": machine_context(),
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench_scale_{args.size}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
