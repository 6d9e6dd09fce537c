"""Render the images of docs/maps.md from the shipped samples: `python scripts/make_gallery.py`.

Writes small PNGs into docs/images/ (committed). Uses the package's own train / classify / segment,
so the images show what the current code produces.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import xr_landcover as xl  # noqa: E402
from xr_landcover import datasets  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"


def save(fig, name: str, out: Path, dpi: int = 80) -> None:
    path = out / name
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    print(f"{path} ({path.stat().st_size // 1024} KiB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=OUT)
    out = parser.parse_args().output
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    cube = datasets.nc_landsat7()
    polygons = datasets.nc_training_polygons()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # agriculture lies on nodata: dropped
        model = cube.landcover.train(polygons, "id", "label", method="svm", random_state=0)
    classes = cube.landcover.classify(model)

    ax = cube.landcover.plot_rgb(bands=("nir", "red", "green"), title="false colour (4-3-2)")
    save(ax.figure, "nc_false_colour.png", out)
    ax = classes.landcover.plot(title="SVM classification")
    save(ax.figure, "nc_classes.png", out)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the agriculture polygon: grey outline
        fig = xl.compare(cube, classes, polygons, titles=("Landsat 7 (3-2-1)", "SVM classes"))
    save(fig, "nc_compare.png", out, dpi=70)

    rgb = datasets.l8_rgb_uint8()
    crop = rgb.isel(y=slice(0, 256), x=slice(0, 256))
    segments = crop.landcover.segment()
    fig, axes = plt.subplots(1, 2, figsize=(11, 5.2), layout="constrained")
    segments.landcover.plot_segments(crop, ax=axes[0], title="segment boundaries")
    segments.landcover.plot_segments(crop, ax=axes[1], fill="mean", color=(0, 0, 0),
                                     title="segments, mean colour")
    save(fig, "l8_segments.png", out, dpi=70)
    print(f"done in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
