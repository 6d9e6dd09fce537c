"""Accuracy before and after the map clean-ups, on held-out polygons of the shipped NC scene.

Used for the figures of docs/postprocess.md ("Does it help?")::

    .venv/bin/python scripts/postprocess_accuracy.py                 # the tables
    .venv/bin/python scripts/postprocess_accuracy.py --figure docs/images/nc_postprocess.png

The 34 training polygons are split into three folds of whole polygons (``cross_validate``'s
stratified ``assignment``, ``random_state=0``). For each fold in turn, a classifier is trained
on the other two and every map below is compared with the fold's polygons, which it never saw:
the raw map, the Bayesian-smoothed probabilities, the majority filter and the sieve. The pooled
row sums the three folds' confusion matrices (each sample pixel is tested once).
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import xr_landcover  # noqa: E402
from xr_landcover import datasets  # noqa: E402

FOLDS = 3


def clean_maps(proba) -> dict:
    """The raw map and its clean-ups, computed."""
    raw = xr_landcover.label(proba).compute()
    smooth = proba.landcover.smooth(window_size=9, neigh_fraction=0.5, smoothness=20)
    return {
        "raw": raw,
        "smooth (window 9, smoothness 20)": smooth.landcover.label().compute(),
        "majority filter, radius 1": raw.landcover.majority_filter(radius=1).compute(),
        "majority filter, radius 2": raw.landcover.majority_filter(radius=2).compute(),
        "sieve, 9 pixels": raw.landcover.sieve(min_pixels=9).compute(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", default="random_trees",
                        help="classifier (default: %(default)s)")
    parser.add_argument("--figure", type=Path, help="also write the maps of fold 0 to this PNG")
    args = parser.parse_args(argv)

    cube, polygons = datasets.nc_landsat7(), datasets.nc_training_polygons()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # agriculture: its only polygon lies on nodata
        cv = xr_landcover.cross_validate(cube, polygons, "id", "label", method=args.method,
                                         folds=FOLDS, random_state=0)
    rows, pooled = [], {}
    for fold in range(FOLDS):
        held_out = (cv.assignment == fold).to_numpy(dtype=bool, na_value=False)
        test, train = polygons[held_out], polygons[~held_out]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = cube.landcover.train(train, "id", "label", method=args.method, random_state=0)
        maps = clean_maps(cube.landcover.predict_proba(model))
        for name, m in maps.items():
            report = xr_landcover.accuracy(m, test, class_field="id")
            counts = np.asarray(report.counts)
            total = pooled.setdefault(name, [0, 0])
            total[0] += int(np.trace(counts))
            total[1] += int(counts.sum())
            rows.append({"fold": fold, "map": name, "overall_accuracy": report.overall_accuracy,
                         "kappa": report.kappa, "test_pixels": report.n_samples,
                         "test_polygons": len(test)})
        if fold == 0 and args.figure:
            window = {"y": slice(150, 300), "x": slice(150, 300)}
            shown = {k: maps[k] for k in ("raw", "smooth (window 9, smoothness 20)",
                                          "majority filter, radius 2", "sieve, 9 pixels")}
            fig, axes = plt.subplots(1, 4, figsize=(21, 5.5), gridspec_kw={"wspace": 0.3})
            for ax, (name, m) in zip(axes, shown.items(), strict=True):
                m.isel(window).landcover.plot(ax=ax, title=name, legend=ax is axes[-1])
            fig.savefig(args.figure, dpi=60, bbox_inches="tight")
            plt.close(fig)
            print(f"{args.figure} ({args.figure.stat().st_size // 1024} KiB)")
    table = pd.DataFrame(rows)
    print(f"method {args.method}; held-out polygons, {FOLDS} folds of whole polygons")
    print(table.round(3).to_string(index=False))
    print("pooled over the folds (overall accuracy, test pixels):")
    for name, (correct, n) in pooled.items():
        print(f"  {name:34s} {correct / n:.3f}  {n}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
