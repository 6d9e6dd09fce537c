"""The argument parser of ``xr-landcover``: the global flags (``--debug``, ``--quiet``, taken
before or after the subcommand), the shared raster, output and ``--param`` options, and each
subcommand's flags, tied to its function in the command modules.

Examples
--------
>>> from xr_landcover.cli.parser import build_parser
>>> args = build_parser().parse_args(["sieve", "map.tif", "-o", "mmu.tif", "--min-pixels", "9"])
>>> args.command, args.min_pixels, args.connectivity, args.quiet
('sieve', 9, 8, False)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from .assessment import cmd_accuracy, cmd_accuracy_points, cmd_cross_validate, cmd_inspect
from .classification import cmd_classify, cmd_cluster, cmd_train
from .overview import cmd_demo, cmd_info
from .postprocess import cmd_majority, cmd_reclassify, cmd_sieve
from .segmentation import cmd_segment

__all__ = ["build_parser"]


def _positive_int(text: str) -> int:
    # argparse names this function in its usage error ("invalid _positive_int value: 'x'")
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``xr-landcover``."""

    from ..classification.estimators import METHODS

    def flags(defaults: bool) -> argparse.ArgumentParser:
        # The same flags work before and after the subcommand; the subcommand's copies must
        # not reset what was given before it, hence SUPPRESS there.
        p = argparse.ArgumentParser(add_help=False)
        default = {} if defaults else {"default": argparse.SUPPRESS}
        p.add_argument("--debug", action="store_true", help="show tracebacks", **default)
        p.add_argument("--quiet", "-q", action="store_true", help="no progress bar", **default)
        return p

    common = flags(defaults=False)
    parser = argparse.ArgumentParser(
        prog="xr-landcover",
        description="Land-cover classification and mean-shift segmentation of satellite images.",
        parents=[flags(defaults=True)],
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text, parents=[common])
        p.set_defaults(func=func)
        return p

    def raster_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--nodata", type=float, default=None, help="nodata value to declare")
        p.add_argument("--chunks", type=_positive_int, default=None, help="chunk edge in pixels")
        p.add_argument("--band-names", nargs="+", default=None, metavar="NAME",
                       help="names for the bands, in order (default: band descriptions or "
                            "file names)")

    def param_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--param", nargs="+", action="extend", default=None,
                       metavar="NAME=VALUE",
                       help="estimator option of --method, e.g. --param C=10 gamma=0.5 "
                            "(numbers, True/False, None or text)")

    def output_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--output", "-o", required=True, help="output file")
        p.add_argument("--overwrite", action="store_true", help="replace an existing output")

    demo = command("demo", cmd_demo, "run the whole workflow on the shipped sample data")
    demo.add_argument("--output", "-o", default="demo_output", help="output folder")

    info = command("info", cmd_info, "describe one raster or a stack of single-band rasters")
    info.add_argument("files", nargs="+", help="raster file(s) on one grid")
    raster_options(info)

    train = command("train", cmd_train, "train a classifier from training polygons or points")
    train.add_argument("files", nargs="+", help="raster file(s) on one grid")
    train.add_argument("--samples", required=True, help="vector file of training samples")
    train.add_argument("--class-field", default=None, help="class value column (auto)")
    train.add_argument("--name-field", default=None, help="class name column")
    train.add_argument(
        "--method",
        default="svm",
        choices=list(METHODS),
        help="classifier (default svm, as ArcGIS)",
    )
    train.add_argument("--max-samples-per-class", type=int, default=500, help="0 = all pixels")
    train.add_argument("--random-state", type=int, default=0)
    param_option(train)
    raster_options(train)
    output_options(train)

    classify = command("classify", cmd_classify, "classify rasters with a saved model")
    classify.add_argument("files", nargs="+", help="raster file(s) on one grid")
    classify.add_argument("--model", required=True, help="model file from `train`")
    classify.add_argument("--confidence", action="store_true", help="also write OUT_confidence.tif")
    classify.add_argument("--probabilities", default=None, metavar="PATH",
                          help="also write the per-class probabilities (one band per class)")
    raster_options(classify)
    output_options(classify)

    segment = command("segment", cmd_segment, "mean-shift segmentation (ArcGIS parameters)")
    segment.add_argument("files", nargs="+", help="raster file(s) on one grid")
    segment.add_argument("--spectral-detail", type=float, default=15.5, help="1-20")
    segment.add_argument("--spatial-detail", type=float, default=15, help="1-20")
    segment.add_argument("--min-segment-size", type=int, default=20, help="pixels")
    segment.add_argument("--bands", nargs="+", default=None,
                         help="bands to segment: names or 0-based indexes, as `info` prints "
                              "them (default the first three)")
    segment.add_argument("--max-segment-size", type=int, default=None,
                         help="cut segments larger than this (pixels) along a square grid")
    segment.add_argument("--spectral-radius", type=float, default=None,
                         help="range bandwidth in value units (overrides --spectral-detail)")
    segment.add_argument("--spatial-radius", type=float, default=None,
                         help="spatial bandwidth in pixels (overrides --spatial-detail)")
    segment.add_argument("--color-space", choices=["luv", "luv_linear", "none"], default=None,
                         help="default luv for 3 bands (sRGB to CIE L*u*v*), else none")
    segment.add_argument("--kernel", choices=["product", "joint"], default="product",
                         help="product (ArcGIS-like, default) or joint (Orfeo ToolBox)")
    segment.add_argument("--maxiter", type=int, default=10, help="mean-shift steps per pixel")
    segment.add_argument("--link-radius", type=float, default=None,
                         help="neighbours whose filtered values are closer join (default: "
                              "spectral radius / 16 with the product kernel, / 2 with joint)")
    segment.add_argument("--fuse-radius", type=float, default=None,
                         help="adjacent segments whose mean filtered values are closer merge "
                              "(default: 3/8 of the spectral radius with the product kernel, "
                              "0 with joint)")
    segment.add_argument("--mean-output", default=None, help="also write the mean-colour image")
    raster_options(segment)
    output_options(segment)

    acc = command("accuracy", cmd_accuracy, "assess a class map against reference data")
    acc.add_argument("map", help="class map GeoTIFF (from `classify`)")
    acc.add_argument("--reference", required=True, help="vector file of reference points")
    acc.add_argument("--class-field", default=None, help="reference class column (auto)")
    acc.add_argument("--name-field", default=None,
                     help="reference class name column (names classes the map does not name)")
    acc.add_argument("--csv", default=None, help="write the report table to this CSV file")
    acc.add_argument("--overwrite", action="store_true", help="replace an existing CSV file")

    maj = command("majority", cmd_majority,
                  "majority filter of a class map (OTB's ClassificationMapRegularization)")
    maj.add_argument("map", help="class map GeoTIFF (from `classify`)")
    maj.add_argument("--radius", type=_positive_int, default=1, help="ball radius in pixels")
    maj.add_argument("--ties", choices=["keep", "undecided"], default="keep",
                     help="tied pixels keep their class (default) or become --undecided-value")
    maj.add_argument("--undecided-value", type=int, default=0, help="label of tied pixels")
    maj.add_argument("--only-isolated", action="store_true", help="change isolated pixels only")
    maj.add_argument("--isolated-threshold", type=int, default=1,
                     help="isolated: at most this many pixels of the ball have its class")
    maj.add_argument("--neighbors", choices=["four", "eight"], default=None,
                     help="ArcGIS's Majority Filter rule: the neighbours looked at (default "
                          "four when --threshold is given)")
    maj.add_argument("--threshold", choices=["majority", "half"], default=None,
                     help="ArcGIS's rule: a contiguous majority or half of the neighbours "
                          "(default majority when --neighbors is given)")
    maj.add_argument("--chunks", type=_positive_int, default=None, help="chunk edge in pixels")
    output_options(maj)

    sv = command("sieve", cmd_sieve,
                 "merge regions smaller than a minimum mapping unit (GDAL's sieve)")
    sv.add_argument("map", help="class map GeoTIFF (from `classify`)")
    sv.add_argument("--min-pixels", type=_positive_int, required=True,
                    help="regions with fewer pixels take their biggest neighbour's class")
    sv.add_argument("--connectivity", type=int, choices=[4, 8], default=8)
    sv.add_argument("--chunks", type=_positive_int, default=None, help="chunk edge in pixels")
    output_options(sv)

    rc = command("reclassify", cmd_reclassify,
                 "give classes new values, merge, rename and recolour them")
    rc.add_argument("map", help="class map GeoTIFF (from `classify`)")
    rc.add_argument("--map", dest="mapping", nargs="+", required=True, metavar="OLD=NEW",
                    help="OLD=NEW class values (e.g. --map 1=10 2=10 3=20), or "
                         "NAME=OLD,OLD... (a new class of old values or names)")
    rc.add_argument("--names", nargs="+", default=None, metavar="NEW=NAME",
                    help="names of the new classes, e.g. --names 10=urban 20=vegetation")
    rc.add_argument("--colors", nargs="+", default=None, metavar="NEW=R,G,B",
                    help="colours of the new classes (value or name), e.g. 10=230,0,0")
    rc.add_argument("--chunks", type=_positive_int, default=None, help="chunk edge in pixels")
    output_options(rc)

    cl = command("cluster", cmd_cluster,
                 "unsupervised classification: k-means or ISODATA clusters as a class map")
    cl.add_argument("files", nargs="+", help="raster file(s) on one grid")
    cl.add_argument("--classes", type=_positive_int, required=True,
                    help="number of clusters (k-means) or the most clusters (ISODATA)")
    cl.add_argument("--method", choices=["kmeans", "isodata"], default="kmeans")
    cl.add_argument("--max-iterations", type=_positive_int, default=20)
    cl.add_argument("--min-samples-per-cluster", type=int, default=20,
                    help="clusters with fewer sample pixels are dropped (default 20)")
    cl.add_argument("--sample-size", type=_positive_int, default=20000,
                    help="valid pixels the clusters are fitted on (default 20000)")
    cl.add_argument("--random-state", type=int, default=0)
    cl.add_argument("--max-merge-distance", type=float, default=0.5,
                    help="ISODATA: centres closer than this (in standard deviations) merge")
    cl.add_argument("--max-merge-per-iteration", type=int, default=5, help="ISODATA")
    raster_options(cl)
    output_options(cl)

    ap = command("accuracy-points", cmd_accuracy_points,
                 "random points for an accuracy assessment (stratified by map class)")
    ap.add_argument("map", help="class map GeoTIFF (from `classify`)")
    ap.add_argument("--n", type=_positive_int, default=None,
                    help="number of points (default 500, or the sum of --allocation)")
    ap.add_argument("--strategy", choices=["stratified_random", "random"],
                    default="stratified_random")
    ap.add_argument("--allocation", nargs="+", default=["proportional"],
                    metavar="proportional|equal|CLASS=N",
                    help="points per class: proportional (default), equal, or CLASS=N ... "
                         "(class value or name)")
    ap.add_argument("--min-per-class", type=int, default=0,
                    help="each class gets at least this many points")
    ap.add_argument("--random-state", type=int, default=0)
    ap.add_argument("--output", "-o", required=True,
                    help="points file (.gpkg, .geojson or .fgb)")
    ap.add_argument("--overwrite", action="store_true", help="replace an existing output")

    cv = command("cross-validate", cmd_cross_validate,
                 "cross-validate a classifier on its samples, holding out whole polygons")
    cv.add_argument("files", nargs="+", help="raster file(s) on one grid")
    cv.add_argument("--samples", required=True, help="vector file of training samples")
    cv.add_argument("--class-field", default=None, help="class value column (auto)")
    cv.add_argument("--name-field", default=None, help="class name column")
    cv.add_argument("--method", default="svm", choices=list(METHODS), help="classifier")
    cv.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    cv.add_argument("--groups", default="polygon", choices=["polygon", "block", "pixel"],
                    help="what a fold holds: whole polygons (default), spatial blocks of "
                         "--block-size, or random pixels (optimistic)")
    cv.add_argument("--block-size", type=float, default=None, help="block side in metres")
    cv.add_argument("--max-samples-per-class", type=int, default=500, help="0 = all pixels")
    cv.add_argument("--random-state", type=int, default=0)
    param_option(cv)
    cv.add_argument("--csv", default=None, help="write the per-fold summary to this CSV file")
    cv.add_argument("--overwrite", action="store_true", help="replace an existing CSV file")
    raster_options(cv)

    ins = command("inspect", cmd_inspect,
                  "inspect training samples: how well a model classifies each one")
    ins.add_argument("files", nargs="+", help="raster file(s) on one grid")
    ins.add_argument("--samples", required=True, help="vector file of training samples")
    ins.add_argument("--model", required=True, help="model file from `train`")
    ins.add_argument("--class-field", default=None, help="class value column (auto)")
    ins.add_argument("--output", "-o", default=None,
                     help="write the samples with their accuracy (e.g. samples.gpkg)")
    ins.add_argument("--misclassified", default=None,
                     help="write the misclassified-pixel class map (GeoTIFF)")
    ins.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    raster_options(ins)
    return parser
