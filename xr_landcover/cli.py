"""Command line interface: ``xr-landcover demo|info|train|classify|segment|accuracy|
cross-validate|inspect``.

Every error becomes one line ``error: ...`` on stderr and exit code 2 (``--debug`` shows the
traceback instead). Long computations show dask's progress bar unless ``--quiet``.

Examples
--------
.. code-block:: bash

    xr-landcover info scene_B2.tif scene_B3.tif scene_B4.tif --nodata 0
    xr-landcover train lsat7_2000_*.tif --samples polygons.shp -o model.skops
    xr-landcover classify lsat7_2000_*.tif --model model.skops -o landcover.tif --confidence
    xr-landcover segment rgb.tif -o segments.tif --spectral-detail 15.5 --spatial-detail 15
    xr-landcover accuracy landcover.tif --reference points.gpkg --csv report.csv
    xr-landcover cross-validate lsat7_2000_*.tif --samples polygons.shp --folds 5
    xr-landcover inspect lsat7_2000_*.tif --samples polygons.shp --model model.skops -o worst.gpkg
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]


class _Console:
    """Printing and progress, silenced by ``--quiet``."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def say(self, *parts: Any) -> None:
        if not self.quiet:
            print(*parts, flush=True)

    def progress(self, label: str) -> contextlib.AbstractContextManager:
        """dask's progress bar around a computation (threads/processes schedulers)."""
        if self.quiet:
            return contextlib.nullcontext()
        from dask.diagnostics import ProgressBar

        self.say(label)
        return ProgressBar(minimum=1.0, dt=0.5)


def _open(files: Sequence[str], nodata: float | None, chunks: int | None = None):
    from .io import open_image

    return open_image(files if len(files) > 1 else files[0], nodata=nodata, chunks=chunks)


def _indent(text: str) -> str:
    return "   " + str(text).replace("\n", "\n   ")


# --------------------------------------------------------------------------------------------
# subcommands
# --------------------------------------------------------------------------------------------


def _cmd_info(args: argparse.Namespace, console: _Console) -> int:
    cube = _open(args.files, args.nodata)
    console.say(cube.landcover.summary())
    return 0


def _cmd_train(args: argparse.Namespace, console: _Console) -> int:
    import pandas as pd

    from .classification.samples import read_samples, resolve_class_field

    cube = _open(args.files, args.nodata, args.chunks)
    samples = read_samples(args.samples)
    class_field, name_field = resolve_class_field(samples, args.class_field, args.name_field)
    if name_field is None:  # the one text column, if there is exactly one, names the classes
        text = [
            c
            for c in samples.columns
            if c not in (class_field, samples.geometry.name)
            and (pd.api.types.is_string_dtype(samples[c]) or samples[c].dtype == object)
        ]
        name_field = text[0] if len(text) == 1 else None
    console.say(
        f"samples: {len(samples)} features, class field '{class_field}'"
        + (f", name field '{name_field}'" if name_field else "")
    )
    with console.progress("reading training pixels and fitting ..."):
        model = cube.landcover.train(
            samples,
            class_field=class_field,
            name_field=name_field,
            method=args.method,
            max_samples_per_class=args.max_samples_per_class,
            random_state=args.random_state,
        )
    out = model.save(args.output, overwrite=args.overwrite)
    console.say(repr(model))
    console.say(f"model written to {out}")
    return 0


def _cmd_classify(args: argparse.Namespace, console: _Console) -> int:
    from .classification import LandcoverModel
    from .classmap import class_areas
    from .io import to_geotiffs

    model = LandcoverModel.load(args.model)
    cube = _open(args.files, args.nodata, args.chunks)
    result = cube.landcover.classify(model, confidence=args.confidence)
    classes = result["landcover"] if args.confidence else result
    layers = {args.output: classes}
    if args.confidence:
        conf_path = Path(args.output).with_name(Path(args.output).stem + "_confidence.tif")
        layers[conf_path] = result["confidence"]
    # one pass: the class map and the confidence come from the same predictions
    with console.progress(f"classifying {classes.sizes['y']} x {classes.sizes['x']} pixels ..."):
        out, *conf_out = to_geotiffs(layers, overwrite=args.overwrite)
    console.say(f"class map written to {out}")
    if conf_out:
        console.say(f"confidence written to {conf_out[0]}")
    from .classmap import open_classmap

    # class areas from the file, not a recompute
    console.say(class_areas(open_classmap(out)).to_string())
    return 0


def _pick_bands(cube, bands: Sequence[str] | None):
    """The bands named on the command line (indexes or names), default the first three."""
    if not bands:
        return cube.isel(band=list(range(min(3, cube.sizes["band"]))))
    if all(b.lstrip("-").isdigit() for b in bands):
        return cube.isel(band=[int(b) for b in bands])
    return cube.sel(band=list(bands))


def _cmd_segment(args: argparse.Namespace, console: _Console) -> int:
    import dask.array as dsa

    from .io import open_image, to_geotiff
    from .segment import segment_mean

    cube = _pick_bands(_open([args.file], args.nodata, args.chunks), args.bands)
    segments = cube.landcover.segment(
        bands=list(range(cube.sizes["band"])),
        spectral_detail=args.spectral_detail,
        spatial_detail=args.spatial_detail,
        min_segment_size=args.min_segment_size,
    )
    with console.progress(f"segmenting {segments.sizes['y']} x {segments.sizes['x']} pixels ..."):
        out = to_geotiff(segments, args.output, overwrite=args.overwrite)
    written = open_image(out, masked=False).isel(band=0, drop=True)
    n = int((dsa.unique(written.data) > 0).sum().compute())  # a small reduction of the file
    console.say(f"{n} segments; segment ids written to {out}")
    if args.mean_output:
        with console.progress("writing the mean-colour image ..."):
            mean = segment_mean(cube, written.rio.write_crs(cube.rio.crs))
            to_geotiff(mean, args.mean_output, overwrite=args.overwrite)
        console.say(f"mean-colour image written to {args.mean_output}")
    return 0


def _cmd_accuracy(args: argparse.Namespace, console: _Console) -> int:
    from .assessment import accuracy
    from .classmap import open_classmap

    class_map = open_classmap(args.map)  # values, names, colours and fill from the file
    with console.progress("sampling the map at the reference ..."):
        report = accuracy(class_map, args.reference, class_field=args.class_field)
    console.say(repr(report))
    if args.csv:
        report.to_dataframe().to_csv(args.csv)
        console.say(f"report written to {args.csv}")
    return 0


def _cmd_cross_validate(args: argparse.Namespace, console: _Console) -> int:
    from .assessment.cross_validation import cross_validate

    cube = _open(args.files, args.nodata, args.chunks)
    with console.progress("reading the sample pixels ..."):
        cv = cross_validate(cube, args.samples, class_field=args.class_field,
                            name_field=args.name_field, method=args.method, folds=args.folds,
                            groups=None if args.groups == "pixel" else args.groups,
                            block_size=args.block_size, random_state=args.random_state,
                            max_samples_per_class=args.max_samples_per_class)
    console.say(repr(cv))
    console.say(repr(cv.overall))
    if args.csv:
        cv.summary().to_csv(args.csv)
        console.say(f"fold summary written to {args.csv}")
    return 0


def _cmd_inspect(args: argparse.Namespace, console: _Console) -> int:
    from .assessment.inspection import inspect_samples
    from .classification import LandcoverModel
    from .io import to_geotiff

    model = LandcoverModel.load(args.model)
    cube = _open(args.files, args.nodata, args.chunks)
    with console.progress("classifying the sample pixels ..."):
        found = inspect_samples(cube, args.samples, model, class_field=args.class_field)
    console.say(repr(found))
    if args.output:
        out = Path(args.output)
        if out.exists() and not args.overwrite:
            from .errors import OutputExistsError

            raise OutputExistsError(f"'{out}' exists; pass --overwrite to replace it")
        found.samples.to_file(out)
        console.say(f"samples with their accuracy written to {out}")
    if args.misclassified:
        written = to_geotiff(found.misclassified, args.misclassified, overwrite=args.overwrite)
        console.say(f"misclassified pixels written to {written}")
    return 0


def _cmd_demo(args: argparse.Namespace, console: _Console) -> int:
    from .demo import run_demo

    run_demo(Path(args.output), console.say, console.progress)
    return 0


# --------------------------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``xr-landcover``."""

    from .classification.estimators import METHODS

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

    def output_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--output", "-o", required=True, help="output file")
        p.add_argument("--overwrite", action="store_true", help="replace an existing output")

    demo = command("demo", _cmd_demo, "run the whole workflow on the shipped sample data")
    demo.add_argument("--output", "-o", default="demo_output", help="output folder")

    info = command("info", _cmd_info, "describe one raster or a stack of single-band rasters")
    info.add_argument("files", nargs="+", help="raster file(s) on one grid")
    raster_options(info)

    train = command("train", _cmd_train, "train a classifier from training polygons or points")
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
    raster_options(train)
    output_options(train)

    classify = command("classify", _cmd_classify, "classify rasters with a saved model")
    classify.add_argument("files", nargs="+", help="raster file(s) on one grid")
    classify.add_argument("--model", required=True, help="model file from `train`")
    classify.add_argument("--confidence", action="store_true", help="also write OUT_confidence.tif")
    raster_options(classify)
    output_options(classify)

    segment = command("segment", _cmd_segment, "mean-shift segmentation (ArcGIS parameters)")
    segment.add_argument("file", help="raster file")
    segment.add_argument("--spectral-detail", type=float, default=15.5, help="1-20")
    segment.add_argument("--spatial-detail", type=float, default=15, help="1-20")
    segment.add_argument("--min-segment-size", type=int, default=20, help="pixels")
    segment.add_argument("--bands", nargs="+", default=None, help="band indexes or names")
    segment.add_argument("--mean-output", default=None, help="also write the mean-colour image")
    raster_options(segment)
    output_options(segment)

    acc = command("accuracy", _cmd_accuracy, "assess a class map against reference data")
    acc.add_argument("map", help="class map GeoTIFF (from `classify`)")
    acc.add_argument("--reference", required=True, help="vector file of reference points")
    acc.add_argument("--class-field", default=None, help="reference class column (auto)")
    acc.add_argument("--csv", default=None, help="write the report table to this CSV file")

    cv = command("cross-validate", _cmd_cross_validate,
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
    cv.add_argument("--csv", default=None, help="write the per-fold summary to this CSV file")
    raster_options(cv)

    ins = command("inspect", _cmd_inspect,
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


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xr-landcover`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    console = _Console(args.quiet)
    try:
        return args.func(args, console)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line, unless --debug
        if args.debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        message = message.replace("pass overwrite=True", "pass --overwrite")
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
