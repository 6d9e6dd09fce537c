"""Majority filter against OTB's ``otbcli_ClassificationMapRegularization`` on a 4000 x 4000
class map, in the same run; and the sieve against ``rasterio.features.sieve``.

Usage: ``python benchmarks/bench_postprocess.py [--size 4000] [--radius 1 2 3] [--chunk 1024]
[--min-pixels 9]``.

The map: uint8, 6 classes in patches of all sizes (Gaussian-smoothed noise cut at quantiles,
seed 0), 10 % speckle of random classes and 5 % fill (0), written as a tiled deflate GeoTIFF.
For each radius, file to file, both sides reading the same GeoTIFF and writing one:
``otbcli_ClassificationMapRegularization -ip.radius R`` (ITK's threads: all cores) against
``open_classmap(chunks=CHUNK) -> majority_filter(radius=R) -> to_geotiff`` (dask threads, 2
workers); the two outputs are compared pixel by pixel. Timings are wall clock, after an untimed
warm-up of ours (numba's cached kernels load on first use). The sieve: ``sieve`` of the whole
map in chunks against GDAL's on the array in memory, results compared.
Writes benchmarks/results/bench_postprocess.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import dask
import numpy as np
import rasterio
import rasterio.features
from _harness import machine_context
from rasterio.transform import from_origin
from scipy import ndimage

from xr_landcover import open_classmap, to_geotiff
from xr_landcover.postprocess import majority_filter, sieve

HERE = Path(__file__).resolve().parent


def make_map(size: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    noise = ndimage.gaussian_filter(rng.random((size, size), dtype=np.float32), 4)
    cuts = np.quantile(noise[::8, ::8], np.linspace(0, 1, 7)[1:-1])
    a = (np.digitize(noise, cuts) + 1).astype(np.uint8)
    speckle = rng.random((size, size)) < 0.10
    a[speckle] = rng.integers(1, 7, int(speckle.sum()))
    a[rng.random((size, size)) < 0.05] = 0
    return a


def write(path: Path, a: np.ndarray) -> None:
    with rasterio.open(path, "w", driver="GTiff", height=a.shape[0], width=a.shape[1], count=1,
                       dtype="uint8", crs="EPSG:32618", nodata=0, tiled=True, compress="deflate",
                       transform=from_origin(500000, 4000000, 10, 10)) as dst:
        dst.write(a, 1)


def read(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=4000)
    ap.add_argument("--radius", type=int, nargs="*", default=[1, 2, 3])
    ap.add_argument("--chunk", type=int, default=1024)
    ap.add_argument("--min-pixels", type=int, default=9)
    args = ap.parse_args()
    if shutil.which("otbcli_ClassificationMapRegularization") is None:
        raise SystemExit("otbcli_ClassificationMapRegularization not found: install otb-bin")
    dask.config.set(scheduler="threads", num_workers=2)
    tmp = Path(tempfile.mkdtemp(prefix="bench_postprocess_"))
    a = make_map(args.size)
    src = tmp / "map.tif"
    write(src, a)
    # warm-up, not timed
    small = open_classmap(src, chunks={"y": 256, "x": 256}).isel(y=slice(0, 300), x=slice(0, 300))
    majority_filter(small).compute()
    sieve(small, 4).compute()
    rows = []
    for radius in args.radius:
        otb_out = tmp / f"otb_r{radius}.tif"
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        subprocess.run(["otbcli_ClassificationMapRegularization", "-io.in", str(src),
                        "-io.out", str(otb_out), "uint8", "-ip.radius", str(radius),
                        "-ip.nodatalabel", "0"], check=True, capture_output=True)
        t_otb = time.perf_counter() - t0
        ours_out = tmp / f"ours_r{radius}.tif"
        t0 = time.perf_counter()
        classes = open_classmap(src, chunks={"y": args.chunk, "x": args.chunk})
        to_geotiff(majority_filter(classes, radius=radius), ours_out)
        t_ours = time.perf_counter() - t0
        differ = int((read(otb_out) != read(ours_out)).sum())
        rows.append({"radius": radius, "otb_s": round(t_otb, 2), "ours_s": round(t_ours, 2),
                     "ratio": round(t_ours / t_otb, 3), "pixels_differing": differ,
                     "load_1min_before": load})
        print(json.dumps(rows[-1]), flush=True)
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    gdal = rasterio.features.sieve(a, size=args.min_pixels, connectivity=8, mask=a != 0)
    t_gdal = time.perf_counter() - t0
    t0 = time.perf_counter()
    classes = open_classmap(src, chunks={"y": args.chunk, "x": args.chunk})
    ours = sieve(classes, args.min_pixels, 8).values
    t_sieve = time.perf_counter() - t0
    sieve_row = {"min_pixels": args.min_pixels, "connectivity": 8, "gdal_in_memory_s":
                 round(t_gdal, 2), "ours_from_file_s": round(t_sieve, 2),
                 "pixels_differing": int((ours != gdal).sum()), "load_1min_before": load}
    print(json.dumps(sieve_row), flush=True)
    shutil.rmtree(tmp)
    result = {"context": machine_context(), "size": args.size, "chunk": args.chunk,
              "majority": rows, "sieve": sieve_row}
    out = HERE / "results" / "bench_postprocess.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
