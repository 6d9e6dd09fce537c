"""Segmentation graph size and time vs chunk size, on the shipped NC Landsat 7 cube.

Usage: ``python benchmarks/bench_segment_graph.py [--chunks 0 256 128 64]`` (0 = one chunk).
Segments the 443 x 489 NC cube (float32 with NaN, so the percent-clip stretch is in the graph)
with ``bands=["red", "nir", "swir1"], color_space="none", spectral_detail=17,
spatial_detail=17, min_segment_size=10`` for each chunk size; prints the number of tasks of the
graph (``len(dict(seg.data.__dask_graph__()))``), tasks per block, the wall time of
``seg.values`` (threads, 2 workers; after an untimed warm-up) and whether the result equals
the first chunking's.
Writes benchmarks/results/bench_segment_graph.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import dask
import numpy as np
from _harness import machine_context

from xr_landcover import datasets
from xr_landcover.segment import segment

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, nargs="*", default=[0, 256, 128, 64])
    args = ap.parse_args()
    dask.config.set(scheduler="threads", num_workers=2)
    # Warm-up (numba's cached kernels load on first use), not timed.
    segment(datasets.nc_landsat7().isel(y=slice(0, 64), x=slice(0, 64)), color_space="none",
            spatial_radius=3).compute()
    rows, ref = [], None
    for chunk in args.chunks:
        cube = datasets.nc_landsat7(chunks=chunk or 1024)  # 1024 > the scene: one chunk
        seg = segment(cube, bands=["red", "nir", "swir1"], color_space="none",
                      spectral_detail=17, spatial_detail=17, min_segment_size=10)
        ntasks = len(dict(seg.data.__dask_graph__()))
        nblocks = seg.data.npartitions
        t = time.perf_counter()
        values = seg.values
        wall = time.perf_counter() - t
        ref = values if ref is None else ref
        row = {"chunk": chunk or "one", "blocks": nblocks, "tasks": ntasks,
               "tasks_per_block": round(ntasks / nblocks, 1), "wall_s": round(wall, 2),
               "identical_to_first": bool(np.array_equal(values, ref)),
               "loadavg_after": os.getloadavg()[0]}
        print(json.dumps(row), flush=True)
        rows.append(row)
    out = HERE / "results" / "bench_segment_graph.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"context": machine_context(), "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
