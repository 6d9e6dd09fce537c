"""Throughput and peak memory of Bayesian smoothing (``smooth``) and ``uncertainty`` on a
probability cube, for several chunk sizes: peak memory follows the chunk, not the cube.

Usage: ``python benchmarks/bench_smoothing.py [--size 4000] [--classes 6] [--chunk 256 512
1024 2048] [--workers 2] [--window 9]``.

The cube: ``(class, y, x)`` float32 probabilities, ``--classes`` classes, ``--size`` squared
pixels (4000 x 4000 x 6: 384 MB), generated lazily block by block (a softmax of smooth
patches plus per-pixel pseudo-random speckle, 2 % nodata; each pixel a function of its
position, so every chunking sees the same cube), so that nothing but the operation under test
holds memory. Each (operation, chunk) runs in a
fresh process (``_harness.run_child``): an untimed warm-up on a 64 x 64 cube (numba's kernels
load), the baseline peak RSS (``VmHWM``), then the whole cube through the lazy operation,
streamed by ``dask.array.store`` into a sink that keeps only a checksum (no output array), on
the threaded scheduler with ``--workers`` threads. Reported: wall seconds, megapixels per
second, peak RSS and its rise above the baseline, against the chunk's bytes.

The peer the issue names, sits (R, ``sits_smooth``), is not run: no R here (and sits is GPL;
the implementation follows its documentation). Writes benchmarks/results/bench_smoothing.json
(``--out`` to choose).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OPERATIONS = ("smooth", "uncertainty_entropy", "uncertainty_margin")


class Sink:
    """A ``dask.array.store`` target that keeps a checksum of what it is given, nothing else."""

    def __init__(self, shape):
        self.shape = shape
        self.total = 0.0
        self.lock = threading.Lock()

    def __setitem__(self, key, value):
        import numpy as np

        first = value.reshape((-1,) + value.shape[-2:])[0]  # class 1, or the uncertainty
        s = float(np.nansum(first, dtype=np.float64))
        with self.lock:
            self.total += s


def probability_cube(size: int, classes: int, chunk: int):
    """The lazy synthetic probability cube as a DataArray ``(class, y, x)``: each pixel a
    function of its position only (the same cube for any chunking, so the checksums agree)."""
    import dask.array as dsa
    import numpy as np
    import xarray as xr

    def hashed(y, x, k):  # a deterministic pseudo-random number in [0, 1) per pixel and layer
        v = np.sin(y * 12.9898 + x * 78.233 + k * 37.719) * 43758.5453
        return v - np.floor(v)

    def block(block_info=None):
        (_, _), (y0, y1), (x0, x1) = block_info[None]["array-location"]
        y, x = np.meshgrid(np.arange(y0, y1, dtype=np.float64),
                           np.arange(x0, x1, dtype=np.float64), indexing="ij")
        k = np.arange(classes, dtype=np.float64)[:, None, None]
        logits = (3 * np.sin(x / 60 + 2.1 * k) * np.cos(y / 80 - 1.3 * k)  # patches
                  + 1.5 * hashed(y, x, k))                                   # speckle
        p = np.exp(logits - logits.max(axis=0))
        p /= p.sum(axis=0)
        p[:, hashed(y, x, -1.0) < 0.02] = np.nan  # 2 % nodata
        return p.astype(np.float32)

    data = dsa.map_blocks(block, dtype=np.float32,
                          chunks=((classes,), *[tuple(min(chunk, size - s)
                                                      for s in range(0, size, chunk))] * 2),
                          meta=np.empty((0, 0, 0), np.float32))
    return xr.DataArray(data, dims=("class", "y", "x"),
                        coords={"class": np.arange(1, classes + 1), "y": np.arange(size),
                                "x": np.arange(size)}, name="probabilities")


def apply(op: str, cube, window: int):
    if op == "smooth":
        return cube.landcover.smooth(window_size=window)
    return cube.landcover.uncertainty(method=op.split("_", 1)[1])


def child(op: str, size: int, classes: int, chunk: int, workers: int, window: int) -> None:
    import dask
    import dask.array as dsa
    from _harness import vm_hwm_mb

    import xr_landcover  # (the accessor)

    dask.config.set(scheduler="threads", num_workers=workers)
    apply(op, probability_cube(64, classes, 32), window).compute()  # warm-up
    baseline = vm_hwm_mb()
    out = apply(op, probability_cube(size, classes, chunk), window)
    sink = Sink(out.shape)
    t0 = time.perf_counter()
    dsa.store(out.data, sink, lock=False)
    seconds = time.perf_counter() - t0
    print(json.dumps({"op": op, "chunk": chunk, "package": xr_landcover.__file__,
                      "seconds": round(seconds, 2),
                      "megapixels_per_s": round(size * size / seconds / 1e6, 3),
                      "baseline_rss_mb": round(baseline, 1), "peak_rss_mb": round(vm_hwm_mb(), 1),
                      "rise_mb": round(vm_hwm_mb() - baseline, 1),
                      "chunk_input_mb": round(classes * chunk * chunk * 4 / 2**20, 1),
                      "checksum": round(sink.total, 3)}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--classes", type=int, default=6)
    ap.add_argument("--chunk", type=int, nargs="*", default=[256, 512, 1024, 2048])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--window", type=int, default=9)
    ap.add_argument("--op", nargs="*", default=list(OPERATIONS), choices=OPERATIONS)
    ap.add_argument("--out", default=str(HERE / "results" / "bench_smoothing.json"))
    ap.add_argument("--child", nargs=2, metavar=("OP", "CHUNK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.size, args.classes, int(args.child[1]), args.workers,
              args.window)
        return
    import os

    from _harness import ROOT, machine_context, run_child

    # the children import the package of this checkout, not whichever one is installed
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    rows = []
    for op in args.op:
        for chunk in args.chunk:
            row = run_child([sys.executable, __file__, "--child", op, str(chunk), "--size",
                             str(args.size), "--classes", str(args.classes), "--workers",
                             str(args.workers), "--window", str(args.window)], env=env)
            rows.append(row)
            print(json.dumps(row), flush=True)
    result = {"context": machine_context(), "size": args.size, "classes": args.classes,
              "cube_mb": round(args.classes * args.size ** 2 * 4 / 2**20, 1),
              "workers": args.workers, "window": args.window, "runs": rows,
              "peer": "sits (R) not run: R is not installed here"}
    out = Path(args.out)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
