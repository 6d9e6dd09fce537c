"""OTB parity: kernel "joint", colour space "none" against the otbcli_* applications.

Usage: ``python benchmarks/otb_parity.py [--size 400] [--hs 5] [--hr 15] [--minsize 20]``.
On a crop of the shipped 8-bit Landsat 8 scene:
  1. filtered values and displacements vs ``otbcli_MeanShiftSmoothing -spatialr hs -ranger hr
     -maxiter N -thres 0.1`` (``-fout``, ``-foutpos``, no ``-modesearch``): max |difference|;
  2. the partition vs ``otbcli_LargeScaleMeanShift -spatialr hs -ranger hr -minsize M
     -maxiter N``: share of pixels whose segment differs (each of our segments is matched to the
     OTB segment it overlaps most, and vice versa; a pixel counts as differing when it is
     outside the matched overlap, in either direction).
Writes benchmarks/results/otb_parity.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from _harness import machine_context

from xr_landcover import datasets, open_image
from xr_landcover.segment import mean_shift_filter, segment

HERE = Path(__file__).resolve().parent


def differing_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of pixels not in the largest overlap of their segment with the other partition."""
    def one_way(p, q):
        key = p.astype(np.int64) * (int(q.max()) + 1) + q
        uk, counts = np.unique(key, return_counts=True)
        seg = uk // (int(q.max()) + 1)
        order = np.lexsort((-counts, seg))
        first = np.unique(seg[order], return_index=True)[1]
        return 1.0 - counts[order][first].sum() / p.size
    return max(one_way(a, b), one_way(b, a))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=400)
    ap.add_argument("--hs", type=float, default=5)
    ap.add_argument("--hr", type=float, default=15)
    ap.add_argument("--minsize", type=int, default=20)
    ap.add_argument("--maxiter", type=int, default=10)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="otb_parity_"))
    scene = tmp / "scene.tif"
    src = datasets.l8_rgb_uint8().isel(y=slice(0, args.size), x=slice(0, args.size))
    src.rio.to_raster(scene)
    cube = open_image(scene, chunks={"y": 128, "x": 128})
    kw = dict(spatial_radius=args.hs, spectral_radius=args.hr, color_space="none",
              kernel="joint", maxiter=args.maxiter)

    fout, fpos = tmp / "fout.tif", tmp / "fpos.tif"
    smooth = ["otbcli_MeanShiftSmoothing", "-in", str(scene), "-fout", str(fout), "double",
              "-foutpos", str(fpos), "double", "-spatialr", str(int(args.hs)), "-ranger",
              str(args.hr), "-maxiter", str(args.maxiter), "-thres", "0.1", "-modesearch", "0"]
    subprocess.run(smooth, check=True, capture_output=True)
    ours = mean_shift_filter(cube, **kw).values
    with rasterio.open(fout) as f:
        otb_vals = f.read()
    with rasterio.open(fpos) as f:
        otb_pos = f.read()  # OTB: (dx, dy)
    dv = np.abs(ours[:3] - otb_vals)
    dp = np.abs(ours[3:][::-1] - otb_pos)

    lsms_out = tmp / "lsms.tif"
    lsms = ["otbcli_LargeScaleMeanShift", "-in", str(scene), "-spatialr", str(int(args.hs)),
            "-ranger", str(args.hr), "-minsize", str(args.minsize), "-mode", "raster",
            "-mode.raster.out", str(lsms_out), "uint32"]
    subprocess.run(lsms, check=True, capture_output=True)
    with rasterio.open(lsms_out) as f:
        otb_seg = f.read(1)
    # LargeScaleMeanShift has no -maxiter: it runs MeanShiftSmoothing's default, 100 steps.
    seg = segment(cube, min_segment_size=args.minsize, **{**kw, "maxiter": 100}).values
    result = {
        "size": args.size, "params": {**kw, "min_segment_size": args.minsize},
        "partition_maxiter": 100,
        "filtered_values_max_abs_diff": float(dv.max()),
        "filtered_values_share_over_1e-3": float((dv > 1e-3).any(axis=0).mean()),
        "displacement_max_abs_diff": float(dp.max()),
        "partition_share_of_pixels_differing": differing_share(seg, otb_seg),
        "segments_ours": int(np.unique(seg).size), "segments_otb": int(np.unique(otb_seg).size),
        "otb_commands": [" ".join(smooth), " ".join(lsms)],
        "context": machine_context(),
    }
    out = HERE / "results" / "otb_parity.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
