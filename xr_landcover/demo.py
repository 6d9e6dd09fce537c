"""The end-to-end demo behind ``xr-landcover demo`` and ``make demo``, on the shipped samples.

1. Classification of the Raleigh NC Landsat 7 scene with an SVM trained on its polygons
   (reprojected from EPSG:3358), written as a GeoTIFF with a colour table; class areas.
2. Accuracy of an SVM trained on half of the polygons of each class, assessed on the other half
   (held-out polygons: a check of the workflow, not a probability sample of the map).
3. Mean-shift segmentation of the 8-bit Landsat 8 crop with ArcGIS's default parameters:
   segment ids and the mean-colour image as GeoTIFFs.
4. Maps: PNG class map with legend, image and classes side by side, segment boundaries, and an
   interactive HTML map.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd

__all__ = ["run_demo", "split_polygons"]


def split_polygons(polygons: gpd.GeoDataFrame, class_field: str) -> tuple:
    """Split polygons into training and held-out sets, alternating within each class.

    Classes with a single polygon stay in the training set only.

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> train, test = split_polygons(datasets.nc_training_polygons(), "id")
    >>> len(train), len(test)
    (20, 14)
    """
    order = polygons.groupby(class_field).cumcount()
    held_out = (order % 2 == 1).to_numpy()
    return polygons[~held_out], polygons[held_out]


def run_demo(
    output: Path,
    say: Callable[..., None] = print,
    progress: Callable[[str], contextlib.AbstractContextManager] | None = None,
) -> dict[str, Path]:
    """Run the demo, writing into ``output``; returns the paths written, by name."""
    from . import datasets
    from .classmap import class_areas
    from .io import to_geotiff

    progress = progress or (lambda label: contextlib.nullcontext())
    output.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    # -- 1. classification --------------------------------------------------------------------
    cube = datasets.nc_landsat7()
    polygons = datasets.nc_training_polygons()
    say("== 1. Classification: Landsat 7 ETM+ 2000, Raleigh NC (shipped sample)")
    say(_indent(cube.landcover.summary()))
    say(f"   training polygons: {len(polygons)}, CRS {polygons.crs.to_string()} (reprojected)")
    start = time.perf_counter()
    with progress("   training an SVM (max 500 pixels per class) ..."):
        model = cube.landcover.train(
            polygons, class_field="id", name_field="label", method="svm", random_state=0
        )
    say(_indent(repr(model)))
    classes = cube.landcover.classify(model)
    with progress("   classifying ..."):
        written["class map"] = to_geotiff(classes, output / "nc_landcover.tif", overwrite=True)
    written["model"] = model.save(output / "nc_svm.skops", overwrite=True)
    say(f"   done in {time.perf_counter() - start:.1f} s")
    say("   class areas:")
    say(_indent(class_areas(classes).to_string()))

    # -- 2. accuracy on held-out polygons ----------------------------------------------------
    from .assessment import accuracy

    say("== 2. Accuracy: SVM trained on half of each class's polygons, checked on the others")
    train_polys, test_polys = split_polygons(polygons, "id")
    with progress("   training and classifying ..."), warnings.catch_warnings():
        # the same class is dropped as in step 1, where it was said once
        warnings.filterwarnings("ignore", "class.* dropped", UserWarning)
        half_model = cube.landcover.train(
            train_polys, class_field="id", name_field="label", random_state=0
        )
        report = accuracy(cube.landcover.classify(half_model), test_polys, class_field="id")
    say(_indent(repr(report)))
    say("   error-adjusted areas (Olofsson et al. 2014), illustration only: held-out polygons are")
    say("   not the stratified random sample these estimators assume (use accuracy_points):")
    areas = report.area_estimates()
    columns = ["map_area", "area", "area_se", "area_lower", "area_upper", "users_accuracy"]
    say(_indent(areas[columns].round(2).to_string()))
    report.to_dataframe().to_csv(output / "nc_accuracy.csv")
    written["accuracy table"] = output / "nc_accuracy.csv"

    # -- 3. segmentation ----------------------------------------------------------------------
    from .segment import segment_mean

    rgb = datasets.l8_rgb_uint8()
    say("== 3. Segmentation: 8-bit Landsat 8 crop, spectral 15.5, spatial 15, min size 20")
    say(_indent(rgb.landcover.summary()))
    start = time.perf_counter()
    segments = rgb.landcover.segment(
        spectral_detail=15.5, spatial_detail=15, min_segment_size=20
    )
    with progress("   segmenting ..."):
        written["segments"] = to_geotiff(segments, output / "l8_segments.tif", overwrite=True)
    from .io import open_image

    ids = open_image(written["segments"], masked=False).isel(band=0, drop=True)
    ids = ids.rio.write_crs(rgb.rio.crs)
    n_segments = len(set(ids.values.ravel().tolist()) - {0})
    with progress("   mean-colour image ..."):
        mean = segment_mean(rgb, ids).round().astype("uint8")
        written["segment mean"] = to_geotiff(mean, output / "l8_segment_mean.tif", overwrite=True)
    say(f"   {n_segments} segments in {time.perf_counter() - start:.1f} s")

    # -- 4. maps --------------------------------------------------------------------------------
    written.update(_maps(output, cube, classes, polygons, rgb, ids, say))

    say(f"== Outputs in {output.resolve()}:")
    for name, path in written.items():
        say(f"   {name:<16} {path}")
    return written


def _maps(output, cube, classes, polygons, rgb, segments, say) -> dict[str, Path]:
    """PNG maps and the interactive HTML map (matplotlib Agg, folium)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plot import compare

    paths: dict[str, Path] = {}
    ax = classes.landcover.plot(title="Raleigh NC, 2000: SVM land cover")
    ax.figure.savefig(output / "nc_landcover.png", dpi=120, bbox_inches="tight")
    plt.close(ax.figure)
    paths["class map PNG"] = output / "nc_landcover.png"

    # the polygons of the classes the map has (not agriculture's, dropped in training)
    mapped = polygons[polygons["id"].isin(classes.attrs["flag_values"])]
    fig = compare(cube, classes, samples=mapped, bands=("red", "green", "blue"))
    fig = fig if hasattr(fig, "savefig") else fig[0].figure
    fig.savefig(output / "nc_compare.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    paths["side by side"] = output / "nc_compare.png"

    ax = segments.landcover.plot_segments(rgb)
    ax.figure.savefig(output / "l8_segments.png", dpi=120, bbox_inches="tight")
    plt.close(ax.figure)
    paths["segments PNG"] = output / "l8_segments.png"

    folium_map = classes.landcover.explore(samples=mapped, offline=True)
    folium_map.save(str(output / "nc_landcover.html"))
    paths["HTML map"] = output / "nc_landcover.html"
    return paths


def _indent(text: str) -> str:
    return "   " + str(text).replace("\n", "\n   ")
