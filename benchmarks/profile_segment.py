"""Where a segmentation's CPU time goes: per-stage thread CPU time, one process, one thread.

Usage: ``python benchmarks/profile_segment.py SIZE CHUNK {otb,def}`` from the repository root
(e.g. ``1000 1024 otb``). Builds the ``bench_segment.py`` scene (the shipped L8 crop tiled,
mirrored) at SIZE², segments it with OTB's parameters (5, 15, "none", "joint", 20) or the
defaults on the synchronous scheduler, and prints the process CPU time, the wall time and the
thread CPU seconds spent in each stage (kernels, local merging, preparation, global step,
relabel); ``block_stage`` is the whole per-block task. Prints only; nothing is written.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import dask
from bench_segment import make_scene

from xr_landcover import open_image
from xr_landcover.segment import kernels, labels, segmentation


def main() -> None:
    size, chunk, which = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    path = Path(tempfile.gettempdir()) / f"profile_segment_scene_{size}.tif"
    if not path.exists():
        make_scene(path, size)
    dask.config.set(scheduler="synchronous")
    timers: dict[str, float] = {}

    def wrap(module, name):
        func = getattr(module, name)

        def timed(*args, **kwargs):
            t = time.thread_time()
            out = func(*args, **kwargs)
            timers[name] = timers.get(name, 0.0) + time.thread_time() - t
            return out

        setattr(module, name, timed)

    for name in ("mean_shift_block", "label_block", "block_region_tables"):
        wrap(kernels, name)
    for name in ("local_merge", "solve_regions", "relabel_block", "block_stage"):
        wrap(labels, name)
    wrap(segmentation, "prepare_pixels")
    kw = ({"spatial_radius": 5, "spectral_radius": 15, "color_space": "none",
           "kernel": "joint", "min_segment_size": 20} if which == "otb" else {})
    cpu, wall = time.process_time(), time.perf_counter()
    open_image(str(path), chunks={"y": chunk, "x": chunk}).landcover.segment(**kw).compute()
    print(which, size, chunk, "process CPU", round(time.process_time() - cpu, 2), "s, wall",
          round(time.perf_counter() - wall, 2), "s")
    print({k: round(v, 2) for k, v in timers.items()})


if __name__ == "__main__":
    main()
