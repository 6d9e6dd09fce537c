"""Segmentation benchmark: xr_landcover vs otbcli_LargeScaleMeanShift on the same uint8 scene.

Usage: ``python benchmarks/bench_segment.py [--size 4000] [--chunk 1024] [--skip-otb]``, or
``python benchmarks/bench_segment.py --size 10000 --store-chunks 1024 2048`` (large scenes: the
output is streamed to a raw file, never held whole; peak RSS and the file's sha1 per chunking).
Builds a size x size x 3 uint8 GeoTIFF by tiling the shipped 8-bit Landsat 8 crop (mirrored
tiles, so no artificial seams), then runs, each in its own process (for a clean peak RSS):
  1. xr_landcover, OTB-equivalent: spatial_radius=5, spectral_radius=15, color_space="none",
     kernel="joint", min_segment_size=20, .compute();
  2. otbcli_LargeScaleMeanShift -spatialr 5 -ranger 15 -minsize 20 (defaults otherwise);
  3. xr_landcover ArcGIS defaults (spatial 7, spectral 6.5, L*u*v*, product kernel);
  4. otbcli_LargeScaleMeanShift at its own defaults (-spatialr 5 -ranger 15 -minsize 50).
Writes benchmarks/results/bench_segment.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from _harness import machine_context

HERE = Path(__file__).resolve().parent
RUNNER = r"""
import json, resource, sys, time
import dask
from xr_landcover import open_image
path, chunk, kw = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
dask.config.set(scheduler="threads", num_workers=2)
t = time.perf_counter()
cube = open_image(path, chunks={"y": chunk, "x": chunk})
seg = cube.landcover.segment(**kw)
if len(sys.argv) > 4:  # stream to a raw int64 file chunk by chunk, never the whole array
    import hashlib, os
    import dask.array as da
    class Raw:
        def __init__(self, path, width):
            self.fd, self.width = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC), width
        def __setitem__(self, key, value):
            ys, xs = key
            for r in range(value.shape[0]):
                os.pwrite(self.fd, value[r].tobytes(), ((ys.start + r) * self.width + xs.start) * 8)
    raw = Raw(sys.argv[4], seg.shape[1])
    da.store(seg.data, raw, lock=False)
    os.close(raw.fd)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    hwm = int(next(x for x in open("/proc/self/status") if x.startswith("VmHWM")).split()[1]) / 1024
    h = hashlib.sha1()
    with open(sys.argv[4], "rb") as f:
        for piece in iter(lambda: f.read(1 << 24), b""):
            h.update(piece)
    print(json.dumps({"wall_s": wall, "peak_rss_mb": peak, "vm_hwm_mb": hwm,
                      "sha1": h.hexdigest()}))
    sys.exit(0)
seg = seg.compute()
wall = time.perf_counter() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before np.unique below
import numpy as np
print(json.dumps({"wall_s": wall, "segments": int(np.unique(seg.values).size),
                  "peak_rss_mb": peak}))
"""


def _run(cmd, env=None):
    """Run ``cmd``; (stdout, wall seconds, the child's own peak RSS in MB via wait4)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env=env)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, cmd)
    return out, wall, usage.ru_maxrss / 1024


def make_scene(path: Path, size: int) -> None:
    from xr_landcover import datasets

    src = datasets.l8_rgb_uint8().values  # (3, 512, 512) uint8
    reps = -(-size // src.shape[1])
    rows = []
    for i in range(reps):
        row = []
        for j in range(reps):
            t = src[:, ::-1] if i % 2 else src
            row.append(t[:, :, ::-1] if j % 2 else t)
        rows.append(np.concatenate(row, axis=2))
    data = np.ascontiguousarray(np.concatenate(rows, axis=1)[:, :size, :size])
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 3, "dtype": "uint8",
               "crs": "EPSG:32621", "tiled": True, "blockxsize": 512, "blockysize": 512,
               "transform": rasterio.transform.from_origin(300000, 7000000, 30, 30)}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)


def run_ours(path: Path, chunk: int, kw: dict, store: Path | None = None) -> dict:
    cmd = [sys.executable, "-c", RUNNER, str(path), str(chunk), json.dumps(kw)]
    load_before = os.getloadavg()
    out, _, _ = _run(cmd + ([str(store)] if store else []))
    return {**json.loads(out.strip().splitlines()[-1]), "loadavg_before": load_before,
            "loadavg_after": os.getloadavg()}


def run_otb(path: Path, out: Path, minsize: int = 20) -> dict:
    cmd = ["otbcli_LargeScaleMeanShift", "-in", str(path), "-spatialr", "5", "-ranger", "15",
           "-minsize", str(minsize), "-mode", "raster", "-mode.raster.out", str(out), "uint32"]
    env = dict(os.environ, ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS="2",
               OMP_NUM_THREADS="2")
    _, wall, peak = _run(cmd, env=env)  # this child's own peak (not RUSAGE_CHILDREN's max)
    with rasterio.open(out) as src:
        nseg = int(np.unique(src.read(1)).size)
    return {"wall_s": wall, "peak_rss_mb": peak, "segments": nseg, "command": " ".join(cmd)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--skip-otb", action="store_true")
    ap.add_argument("--skip-defaults", action="store_true")
    ap.add_argument("--out", default=None, help="default benchmarks/results/bench_segment.json")
    ap.add_argument("--store-chunks", type=int, nargs="*", default=None,
                    help="instead: OTB parameters only, output streamed to a raw file chunk by "
                         "chunk, once per chunk size given; reports peak RSS and the file's sha1")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_segment_"))
    scene = tmp / f"scene_{args.size}.tif"
    make_scene(scene, args.size)
    otb_kw = {"spatial_radius": 5, "spectral_radius": 15, "color_space": "none",
              "kernel": "joint", "min_segment_size": 20}
    result = {"size": args.size, "chunk": args.chunk, "context": machine_context(),
              "scene": "shipped L8 crop tiled (mirrored)"}
    if args.store_chunks:
        runs = {str(c): run_ours(scene, c, otb_kw, tmp / "seg.raw") for c in args.store_chunks}
        result.update(params=otb_kw, streamed=runs,
                      identical=len({r["sha1"] for r in runs.values()}) == 1)
        out = HERE / "results" / f"bench_segment_stream_{args.size}.json"
        out.write_text(json.dumps(result, indent=2))
        print(json.dumps(result, indent=2))
        shutil.rmtree(tmp, ignore_errors=True)
        return
    # numba kernels are cached on disk (cache=True): run the tests or a small size once first.
    result["xr_landcover_otb_params"] = {**run_ours(scene, args.chunk, otb_kw), "params": otb_kw}
    if not args.skip_otb and shutil.which("otbcli_LargeScaleMeanShift"):
        result["otb_lsms"] = run_otb(scene, tmp / "otb.tif")
        result["ratio_wall"] = (result["xr_landcover_otb_params"]["wall_s"]
                                / result["otb_lsms"]["wall_s"])
        result["ratio_peak_rss"] = (result["xr_landcover_otb_params"]["peak_rss_mb"]
                                    / result["otb_lsms"]["peak_rss_mb"])
    if not args.skip_defaults:
        result["xr_landcover_arcgis_defaults"] = {**run_ours(scene, args.chunk, {}),
                                                  "params": "defaults (7, 6.5, 20, luv, product)"}
        if not args.skip_otb and shutil.which("otbcli_LargeScaleMeanShift"):
            # OTB LSMS at its own defaults: -spatialr 5 -ranger 15 -minsize 50
            result["otb_lsms_defaults"] = run_otb(scene, tmp / "otb_defaults.tif", minsize=50)
            result["ratio_wall_defaults"] = (result["xr_landcover_arcgis_defaults"]["wall_s"]
                                             / result["otb_lsms_defaults"]["wall_s"])
    out = Path(args.out) if args.out else HERE / "results" / "bench_segment.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
