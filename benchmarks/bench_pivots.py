"""Pivot quality at the default (ArcGIS) parameters, over the seeds of the synthetic generator.

Usage: ``python benchmarks/bench_pivots.py [--seeds 0 1 2 3 4 5] [--size 400] [--quick]``.

For each seed of ``tests/pivots.make_field_scene`` (400 x 400, pivots of radius 8-30 px, some
touching, a fifth fallow: sand darkened by 12-25 DN; PSF blur 0.8 px, sensor noise 3 DN) and
each variant, segments the scene and counts the pivots *found*: one segment overlaps the pivot
with IoU >= 0.5. Also reports segments per real object (segments / (pivots + 1 background)).
Variants: our defaults (tight linking ``h_r / 16`` then fusion of adjacent segments whose
modes are closer than ``3 h_r / 8``, sRGB L*u*v*), the OTB linking rule (``h_r / 2``, no
fusion: the default before) with the sRGB and the linear reading, tight linking without
fusion, a finer ``spectral_detail``, the joint kernel; some also on the noisier, unblurred
generator of the older tests (``make_pivot_scene``, 256 x 256) and on the shipped Landsat 8
demo crop (``datasets.l8_rgb_uint8``, segment counts). Prints a Markdown table; writes
benchmarks/results/bench_pivots.json (machine context from ``_harness``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import dask
import numpy as np
from _harness import machine_context

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from pivots import make_field_scene, make_pivot_scene, pivot_recovery  # noqa: E402

from xr_landcover import datasets  # noqa: E402
from xr_landcover.segment import segment  # noqa: E402

#: The OTB linking rule (the default before issue 18's fusion): link at h_r / 2, no fusion.
OTB_LINK = {"link_radius": 6.5 / 2, "fuse_radius": 0.0}
VARIANTS = {
    "defaults (link h_r/16, fuse 3h_r/8, sRGB L*u*v*)": {},
    "OTB linking (link h_r/2, no fusion), sRGB": OTB_LINK,
    "OTB linking, linear-read L*u*v*": {**OTB_LINK, "color_space": "luv_linear"},
    "link h_r/16, no fusion": {"link_radius": 6.5 / 16, "fuse_radius": 0.0},
    "defaults, linear-read L*u*v*": {"color_space": "luv_linear"},
    "defaults, spectral_detail=17.5": {"spectral_detail": 17.5},
    "kernel=joint (OTB rule)": {"kernel": "joint"},
}
#: Variants also run on the older generator (make_pivot_scene) and on the Landsat crop.
ALSO_OLD = ["defaults (link h_r/16, fuse 3h_r/8, sRGB L*u*v*)",
            "OTB linking (link h_r/2, no fusion), sRGB", "OTB linking, linear-read L*u*v*",
            "defaults, linear-read L*u*v*"]


def run(scene, kwargs) -> dict:
    t0 = time.perf_counter()
    seg = segment(scene.cube({"y": -1, "x": -1}), **kwargs).values
    wall = time.perf_counter() - t0
    share, ious = pivot_recovery(scene, seg)
    kinds = np.asarray(scene.kinds)
    nseg = int(len(np.unique(seg)))
    return {"found": share, "pivots": len(ious), "segments": nseg,
            "segments_per_object": nseg / (len(ious) + 1),
            "missed_by_kind": {k: int(np.sum((kinds == k) & (ious < 0.5)))
                               for k in sorted(set(scene.kinds))},
            "wall_s": round(wall, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2, 3, 4, 5])
    ap.add_argument("--size", type=int, default=400)
    ap.add_argument("--quick", action="store_true",
                    help="the first two variants only (defaults, OTB linking)")
    args = ap.parse_args()
    dask.config.set(scheduler="threads", num_workers=1)
    variants = dict(list(VARIANTS.items())[:2]) if args.quick else VARIANTS
    rows = []
    for name, kwargs in variants.items():
        for seed in args.seeds:
            out = run(make_field_scene(seed, size=args.size), kwargs)
            rows.append({"generator": "make_field_scene", "variant": name, "seed": seed,
                         "kwargs": kwargs, **out})
            print(json.dumps(rows[-1]), flush=True)
    old = [n for n in ALSO_OLD if n in variants]
    for name in old:
        for seed in range(4):
            out = run(make_pivot_scene(seed), VARIANTS[name])
            rows.append({"generator": "make_pivot_scene", "variant": name, "seed": seed,
                         "kwargs": VARIANTS[name], **out})
            print(json.dumps(rows[-1]), flush=True)
    demo = datasets.l8_rgb_uint8()
    demo_counts = {name: int(len(np.unique(segment(demo, **VARIANTS[name]).values)))
                   for name in old}

    print("\n| generator | variant | found: mean | min | max | segments per object (max) |")
    print("|---|---|---|---|---|---|")
    summary = []
    for gen in ("make_field_scene", "make_pivot_scene"):
        for name in variants:
            sel = [r for r in rows if r["generator"] == gen and r["variant"] == name]
            if not sel:
                continue
            found = np.array([r["found"] for r in sel])
            spo = max(r["segments_per_object"] for r in sel)
            summary.append({"generator": gen, "variant": name, "seeds": [r["seed"] for r in sel],
                            "found_mean": float(found.mean()), "found_min": float(found.min()),
                            "found_max": float(found.max()), "segments_per_object_max": spo})
            print(f"| {gen} | {name} | {found.mean():.3f} | {found.min():.3f} | "
                  f"{found.max():.3f} | {spo:.2f} |")
    print("\nper seed, found (make_field_scene):")
    for name in variants:
        sel = [r for r in rows if r["generator"] == "make_field_scene" and r["variant"] == name]
        print(f"  {name}: " + ", ".join(f"{r['seed']}: {r['found']:.3f} ({r['segments']})"
                                         for r in sel))
    print(f"\ndemo scene l8_rgb_uint8 segments: {demo_counts}")
    result = {"context": machine_context(), "size": args.size, "rows": rows,
              "summary": summary, "demo_segments": demo_counts}
    out = HERE / "results" / "bench_pivots.json"
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
