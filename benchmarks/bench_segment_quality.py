"""Segmentation quality, measured like the literature, for several methods in the same run.

Usage: ``python benchmarks/bench_segment_quality.py [--size 400] [--seeds 0 1 2 3 4]
[--generator pivot|field] [--out results/segment_quality.json]``.

On the synthetic centre-pivot scenes of ``tests/pivots.py`` (``make_pivot_scene(seed, size)``,
or with ``--generator field`` the harder, Landsat-like ``make_field_scene(seed, size)``; the
reference labels each pivot, the sand is unlabelled), for each seed:

* ours at the defaults (``segment(cube)``: spectral/spatial detail 15.5/15, min size 20);
* ``otbcli_LargeScaleMeanShift`` at its defaults (``-spatialr 5 -ranger 15 -minsize 50``) on
  the 8-bit RGB, and at the ArcGIS mapping (``-spatialr 7 -ranger 6.5 -minsize 20``) on the
  image converted to CIE L*u*v* with ``skimage.color.rgb2luv`` (standard sRGB decoding);
* scikit-image ``felzenszwalb(scale=100, sigma=0.5, min_size=20)``,
  ``slic(n_segments=size**2 // 400, compactness=10)`` and
  ``quickshift(kernel_size=5, max_dist=10, ratio=0.5)`` (fixed, untuned settings).

Each run gets :func:`xr_landcover.hoover_scores` (T = 0.8), :func:`xr_landcover.boundary_scores`
(tolerance 2 px), the share of pivots matched by one segment with IoU >= 0.5, its segment
count and wall time. Writes ``benchmarks/results/segment_quality.json`` (with the machine
context) and prints the Markdown table of ``benchmarks/README.md`` (mean over seeds, min-max
in brackets). Not part of the test suite; a few minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import rasterio
from _harness import machine_context

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from pivots import make_field_scene, make_pivot_scene, pivot_recovery  # noqa: E402

from xr_landcover import boundary_scores, hoover_scores  # noqa: E402
from xr_landcover.segment import segment  # noqa: E402

OTB_ENV = {**os.environ, "ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS": "2"}


def reference_of(scene) -> np.ndarray:
    ref = np.zeros(scene.image.shape[1:], np.uint32)
    for i, mask in enumerate(scene.masks):
        ref[mask] = i + 1
    return ref


def write(path: Path, bands: np.ndarray) -> Path:
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1],
                       count=bands.shape[0], dtype=bands.dtype.name) as dst:
        dst.write(bands)
    return path


def otb_lsms(image: np.ndarray, folder: Path, hs: int, hr: float, minsize: int) -> np.ndarray:
    """``otbcli_LargeScaleMeanShift`` in raster mode on ``image`` (bands, y, x)."""
    src = write(folder / f"in_{image.dtype.name}.tif", image)
    out = folder / "lsms.tif"
    cmd = ["otbcli_LargeScaleMeanShift", "-in", str(src), "-spatialr", str(hs), "-ranger",
           str(hr), "-minsize", str(minsize), "-mode", "raster", "-mode.raster.out", str(out),
           "uint32", "-tilesizex", "500", "-tilesizey", "500"]
    subprocess.run(cmd, check=True, capture_output=True, env=OTB_ENV, cwd=folder)
    with rasterio.open(out) as f:
        labels = f.read(1)
    return labels + 1 if labels.min() == 0 else labels  # 0 is the metrics' background


def methods(size: int):
    from skimage.color import rgb2luv
    from skimage.segmentation import felzenszwalb, quickshift, slic

    def ours(scene, folder):
        with_dask = segment(scene.cube({"y": 200, "x": 200}))
        return with_dask.values

    def lsms_defaults(scene, folder):
        return otb_lsms(scene.image, folder, 5, 15, 50)

    def lsms_arcgis(scene, folder):
        luv = rgb2luv(np.moveaxis(scene.image, 0, -1)).astype(np.float32)
        return otb_lsms(np.ascontiguousarray(np.moveaxis(luv, -1, 0)), folder, 7, 6.5, 20)

    def rgb(scene):
        return np.moveaxis(scene.image, 0, -1)

    return {
        "ours, defaults (15.5 / 15 / 20)": ours,
        "OTB LSMS defaults (5 / 15 / 50, RGB)": lsms_defaults,
        "OTB LSMS ArcGIS mapping (7 / 6.5 / 20, sRGB L*u*v*)": lsms_arcgis,
        "skimage felzenszwalb (100, 0.5, 20)": lambda s, f: felzenszwalb(
            rgb(s), scale=100, sigma=0.5, min_size=20) + 1,
        "skimage slic (size^2/400, 10)": lambda s, f: slic(
            rgb(s), n_segments=size * size // 400, compactness=10, start_label=1),
        "skimage quickshift (5, 10, 0.5)": lambda s, f: quickshift(
            rgb(s), kernel_size=5, max_dist=10, ratio=0.5) + 1,
    }


def summary_table(results: list[dict]) -> str:
    keys = [("found", "pivots found (IoU ≥ 0.5)", 3), ("correct", "correct", 1),
            ("over", "over", 1), ("under", "under", 1), ("missed", "missed", 1),
            ("noise", "noise", 1), ("segments", "segments", 0),
            ("boundary_precision", "boundary P (2 px)", 3),
            ("boundary_recall", "boundary R (2 px)", 3), ("seconds", "seconds", 2)]
    head = "| method | " + " | ".join(k[1] for k in keys) + " |"
    lines = [head, "|" + "---|" * (len(keys) + 1)]
    for name in dict.fromkeys(r["method"] for r in results):
        rows = [r for r in results if r["method"] == name]
        cells = []
        for key, _, digits in keys:
            v = np.array([r[key] for r in rows], float)
            cells.append(f"{v.mean():.{digits}f} [{v.min():.{digits}f}-{v.max():.{digits}f}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=400)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--generator", choices=["pivot", "field"], default="pivot",
                    help="tests/pivots.py's make_pivot_scene (older, 6-7 DN noise) or "
                         "make_field_scene (Landsat-like: radii 8-30, blur, 3 DN, fallow fifth)")
    ap.add_argument("--out", default=str(HERE / "results" / "segment_quality.json"))
    args = ap.parse_args()
    make_scene = make_pivot_scene if args.generator == "pivot" else make_field_scene
    import dask

    dask.config.set(scheduler="threads", num_workers=2)
    warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
    segment(make_pivot_scene(0, size=64).cube()).compute()  # numba compiles outside the timing
    results = []
    for seed in args.seeds:
        scene = make_scene(seed, size=args.size)
        ref = reference_of(scene)
        for name, run in methods(args.size).items():
            with tempfile.TemporaryDirectory(prefix="segq_") as folder:
                t0 = time.perf_counter()
                labels = np.asarray(run(scene, Path(folder))).astype(np.uint32)
                seconds = time.perf_counter() - t0
            h = hoover_scores(ref, labels, threshold=0.8)
            b = boundary_scores(ref, labels, tolerance=2)
            found, _ = pivot_recovery(scene, labels)
            results.append({
                "method": name, "seed": seed, "pivots": len(scene.masks), "found": found,
                "segments": int(np.unique(labels).size), "seconds": seconds,
                **{k: v for k, v in h.as_dict().items() if k != "threshold"},
                "boundary_precision": b.precision, "boundary_recall": b.recall,
                "boundary_f1": b.f1,
            })
            print(f"seed {seed} {name}: found {found:.3f}, correct {h.correct}, "
                  f"over {h.over}, under {h.under}, missed {h.missed}, "
                  f"{results[-1]['segments']} segments, {seconds:.1f} s", flush=True)
    table = summary_table(results)
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({
        "size": args.size, "seeds": args.seeds, "generator": args.generator,
        "hoover_threshold": 0.8,
        "boundary_tolerance_px": 2, "results": results, "table": table,
        "command": "python benchmarks/bench_segment_quality.py " + " ".join(sys.argv[1:]),
        "context": machine_context(),
    }, indent=2))
    print(table)


if __name__ == "__main__":
    main()
