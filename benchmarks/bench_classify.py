"""Benchmark: lazy block-wise ``classify`` against the bare estimator's ``predict``.

The shipped NC Landsat 7 scene is tiled to at least ``--size`` x ``--size`` pixels (6 bands),
held in memory as a dask array with ``--chunk`` chunks, and classified with a model trained on
the shipped polygons (cap 500, seed 0):

* ``bare``: ``model.estimator.predict(X)`` on the valid pixels of the tiled cube, already in
  memory as one ``(pixels, bands)`` array (float32, as the cube), in row-major order;
* ``classify_1``: ``classify(cube, model).compute()`` on dask's threaded scheduler, 1 thread;
* ``classify_2``: the same with 2 threads.

Goals (issue 3): ``classify_1 / bare <= 1.15`` for random trees; ``classify_1 / classify_2 >=
1.7``. The labels of both paths are checked to be identical.

The default chunks are row strips (``--chunk-rows 256``, whole rows), which hand the estimator
the pixels in the same row-major order as the bare call. Square chunks
(``--chunk-rows 512 --chunk-cols 512``) change the order, and a random forest's cost depends on
it: the tiled scene repeats every 489 columns, so row-major order revisits the same tree
branches while they are still in the CPU caches; see ``benchmarks/README.md``.

Usage::

    .venv/bin/python benchmarks/bench_classify.py --method random_trees --size 4000

Results go to ``benchmarks/results/bench_classify_<method>_<chunks>.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import warnings
from pathlib import Path

import dask
import dask.array as dsa
import numpy as np
import xarray as xr
from _harness import machine_context

import xr_landcover
from xr_landcover import datasets

RESULTS = Path(__file__).resolve().parent / "results"


def tiled_cube(size: int, chunk_rows: int, chunk_cols: int = -1) -> xr.DataArray:
    """The NC scene tiled to size x size pixels, in memory, chunked (chunk_rows, chunk_cols)."""
    base = datasets.nc_landsat7()
    arr = base.values  # 6 x 443 x 489 float32, NaN = nodata
    reps_y, reps_x = math.ceil(size / arr.shape[1]), math.ceil(size / arr.shape[2])
    data = dsa.tile(dsa.from_array(arr, chunks=-1), (1, reps_y, reps_x))[:, :size, :size]
    data = data.rechunk((6, chunk_rows, chunk_cols)).persist()
    res = 28.5
    left, top = base.rio.bounds()[0], base.rio.bounds()[3]
    cube = xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={
            "band": base.band.values,
            "y": top - res * (np.arange(size) + 0.5),
            "x": left + res * (np.arange(size) + 0.5),
        },
        name="nc_tiled",
    )
    return cube.rio.write_crs(base.rio.crs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="random_trees")
    parser.add_argument("--size", type=int, default=4000)
    parser.add_argument("--chunk-rows", type=int, default=256)
    parser.add_argument("--chunk-cols", type=int, default=-1, help="-1: whole rows (strips)")
    parser.add_argument("--repeat", type=int, default=3, help="best of N rounds per timing")
    args = parser.parse_args()

    load_before = os.getloadavg()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # agriculture: on nodata, dropped
        model = xr_landcover.train(datasets.nc_landsat7(), datasets.nc_training_polygons(),
                                   "id", "label", method=args.method,
                                   max_samples_per_class=500, random_state=0)
    cube = tiled_cube(args.size, args.chunk_rows, args.chunk_cols)

    # The same valid pixels, in memory, for the bare estimator.
    values = cube.data.compute()
    valid = np.isfinite(values).all(axis=0)
    X = np.ascontiguousarray(values[:, valid].T)
    del values

    def classify_with(threads: int) -> np.ndarray:
        with dask.config.set(scheduler="threads", num_workers=threads):
            return xr_landcover.classify(cube, model).compute().values

    # Interleaved rounds, best of each: other processes on a shared machine slow some runs.
    runs = {"bare": [], 1: [], 2: []}
    cpu = {"bare": [], 1: []}
    for _ in range(args.repeat):
        for key, fn in (("bare", lambda: model.estimator.predict(X)),
                        (1, lambda: classify_with(1)), (2, lambda: classify_with(2))):
            c0, t0 = time.process_time(), time.perf_counter()
            out = fn()
            runs[key].append(time.perf_counter() - t0)
            if key in cpu:
                cpu[key].append(time.process_time() - c0)
            if key == "bare":
                predicted = out
            else:
                labels = out
                assert np.array_equal(labels[valid], predicted), "classify and predict disagree"
                assert (labels[~valid] == 0).all()
    t_bare = min(runs["bare"])
    results = {1: min(runs[1]), 2: min(runs[2])}

    record = {
        "benchmark": "classify vs bare predict",
        "command": f"python benchmarks/bench_classify.py --method {args.method} "
                   f"--size {args.size} --chunk-rows {args.chunk_rows} "
                   f"--chunk-cols {args.chunk_cols} --repeat {args.repeat}",
        "method": args.method,
        "cube": {"bands": 6, "y": args.size, "x": args.size,
                 "chunks": [args.chunk_rows, args.chunk_cols],
                 "valid_pixels": int(valid.sum()), "dtype": "float32"},
        "seconds": {"bare_predict": t_bare, "classify_1_thread": results[1],
                    "classify_2_threads": results[2]},
        "all_runs_seconds": {str(k): v for k, v in runs.items()},
        "cpu_seconds_best": {"bare_predict": min(cpu["bare"]),
                             "classify_1_thread": min(cpu[1])},
        "ratio_classify_1_thread_over_bare": results[1] / t_bare,
        "speedup_2_threads_over_1": results[1] / results[2],
        "goals": {"ratio_max": 1.15, "speedup_min": 1.7},
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "context": machine_context(),
    }
    RESULTS.mkdir(exist_ok=True)
    cols = "strips" if args.chunk_cols == -1 else f"x{args.chunk_cols}"
    out = RESULTS / f"bench_classify_{args.method}_{args.chunk_rows}{cols}.json"
    out.write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
