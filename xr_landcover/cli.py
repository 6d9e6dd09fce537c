"""Command line interface: ``xr-landcover demo|info|train|classify|segment|cluster|accuracy|
accuracy-points|cross-validate|inspect``, and the clean-up of class maps,
``majority|sieve|reclassify``.

Every error becomes one line ``error: ...`` on stderr and exit code 2 (``--debug`` shows the
traceback instead). Long computations show dask's progress bar unless ``--quiet`` (which
silences the progress only). Every output is checked before any input is read, and replaced
only with ``--overwrite``.

Examples
--------
.. code-block:: bash

    xr-landcover info scene_B2.tif scene_B3.tif scene_B4.tif --nodata 0
    xr-landcover train lsat7_2000_*.tif --samples polygons.shp -o model.skops
    xr-landcover classify lsat7_2000_*.tif --model model.skops -o landcover.tif --confidence
    xr-landcover segment rgb.tif -o segments.tif --spectral-detail 15.5 --spatial-detail 15
    xr-landcover accuracy landcover.tif --reference points.gpkg --csv report.csv
    xr-landcover majority landcover.tif -o smooth.tif --radius 2
    xr-landcover sieve landcover.tif -o mmu.tif --min-pixels 9 --connectivity 8
    xr-landcover reclassify landcover.tif -o merged.tif --map 3=4 5=4 --names 4=vegetation
    xr-landcover cluster lsat7_2000_*.tif -o clusters.tif --classes 8 --method isodata
    xr-landcover accuracy-points landcover.tif -o points.gpkg --n 300
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
    """Printing and progress; ``--quiet`` silences the progress (bars and their labels) only:
    results, summaries and the paths written are always printed."""

    def __init__(self, quiet: bool):
        self.quiet = quiet

    def say(self, *parts: Any) -> None:
        print(*parts, flush=True)

    def progress(self, label: str) -> contextlib.AbstractContextManager:
        """dask's progress bar around a computation (threads/processes schedulers)."""
        if self.quiet:
            return contextlib.nullcontext()
        from dask.diagnostics import ProgressBar

        self.say(label)
        return ProgressBar(minimum=1.0, dt=0.5)


def _open(files: Sequence[str], nodata: float | None, chunks: int | None = None,
          band_names: Sequence[str] | None = None):
    from .io import open_image

    return open_image(files if len(files) > 1 else files[0], nodata=nodata, chunks=chunks,
                      band_names=band_names)


def _open_args(args: argparse.Namespace):
    """The band cube of a command's raster files, with its ``--nodata``, ``--chunks`` and
    ``--band-names``."""
    return _open(args.files, args.nodata, args.chunks, args.band_names)


def _indent(text: str) -> str:
    return "   " + str(text).replace("\n", "\n   ")


def _check_outputs(overwrite: bool, **outputs: str | Path | None) -> None:
    """Every output of a command may be written (``--flag=path``), checked before any work: a
    command never writes part of its outputs and then refuses the rest."""
    from .errors import InvalidParameterError
    from .io import check_output_path

    given = {flag: check_output_path(path, overwrite, name=f"--{flag.replace('_', '-')}")
             for flag, path in outputs.items() if path is not None}
    resolved = [p.resolve() for p in given.values()]
    if len(set(resolved)) < len(resolved):
        raise InvalidParameterError(
            f"two outputs are the same file: {sorted(map(str, given.values()))}")


def _literal(text: str) -> Any:
    """A ``--param`` value: an int, float, bool (``True``/``true``), ``None`` or a string,
    read with :func:`ast.literal_eval` (never evaluated as code); anything else is the string
    itself."""
    import ast

    from .errors import InvalidParameterError

    lowered = {"true": True, "false": False, "none": None}
    if text.lower() in lowered:
        return lowered[text.lower()]
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    if value is not None and not isinstance(value, bool | int | float | str):
        raise InvalidParameterError(
            f"--param: {text!r} is a {type(value).__name__}; a value is a number, True/False, "
            "None or a string")
    return value


def _estimator_params(method: str, given: Sequence[str] | None) -> dict[str, Any]:
    """The ``--param NAME=VALUE`` options as keyword arguments of ``method``'s estimator,
    checked before any work: an unknown name is an error listing the estimator's parameters."""
    from .classification.estimators import make_estimator
    from .errors import InvalidParameterError

    params: dict[str, Any] = {}
    for item in given or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise InvalidParameterError(
                f"--param: {item!r} is not NAME=VALUE (e.g. --param C=10 gamma=0.5)")
        if name in params:
            raise InvalidParameterError(f"--param: {name} is given twice")
        params[name] = _literal(value.strip())
    for name, value in params.items():
        try:  # the library's own construction decides what the method accepts
            make_estimator(method, 2, min_class_size=5, **{name: value})
        except InvalidParameterError as exc:
            est = make_estimator(method, 2, min_class_size=5)
            while hasattr(est, "steps") or hasattr(est, "estimator"):  # pipeline, calibration
                est = est.steps[-1][1] if hasattr(est, "steps") else est.estimator
            raise InvalidParameterError(
                f"--param {name}: method {method!r} ({type(est).__name__}) has no parameter "
                f"{name!r}; its parameters: {', '.join(sorted(est.get_params(deep=False)))}"
            ) from exc
    return params


def _report_table(report):
    """The accuracy report's table with the confusion-matrix counts (and totals) as integers:
    ``to_dataframe`` holds them as floats beside the accuracies."""
    table = report.to_dataframe().astype(object)
    counts = report.confusion_matrix
    for row in counts.index:
        for column in counts.columns:
            table.loc[row, column] = int(counts.loc[row, column])
    return table


#: Vector formats a command writes, by file suffix: single-file formats, so that a write is
#: atomic (a shapefile is several files).
_VECTOR_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON",
                   ".fgb": "FlatGeobuf"}


def _vector_driver(path: str | None, flag: str) -> str | None:
    """The OGR driver of a vector output, by its suffix, or an error naming the flag."""
    from .errors import InvalidParameterError

    if path is None:
        return None
    driver = _VECTOR_DRIVERS.get(Path(path).suffix.lower())
    if driver is None:
        raise InvalidParameterError(
            f"{flag} {path!r}: write a GeoPackage (.gpkg), GeoJSON (.geojson) or FlatGeobuf "
            "(.fgb) file; convert it afterwards if needed, e.g. ogr2ogr out.shp "
            f"{Path(path).with_suffix('.gpkg').name}")
    return driver


def _write_vector(frame, path: str, overwrite: bool, flag: str) -> None:
    """``frame`` as a vector file at ``path`` (its format from the suffix), atomically."""
    import warnings

    from .io._atomic import atomic_file

    driver = _vector_driver(path, flag)
    with atomic_file(path, overwrite=overwrite) as staging, warnings.catch_warnings():
        # the staging name ends in .tmp, which GDAL's GeoPackage driver remarks on
        warnings.filterwarnings("ignore", "The filename extension should be", RuntimeWarning)
        frame.to_file(staging, driver=driver, layer=Path(path).stem)


def _write_table(table, path: str, overwrite: bool) -> None:
    """``table`` as a CSV file at ``path``, written atomically (all or nothing)."""
    from .io._atomic import atomic_file

    with atomic_file(path, overwrite=overwrite) as staging:
        table.to_csv(staging)


# --------------------------------------------------------------------------------------------
# subcommands
# --------------------------------------------------------------------------------------------


def _cmd_info(args: argparse.Namespace, console: _Console) -> int:
    cube = _open_args(args)
    console.say(cube.landcover.summary())
    # the 0-based index and the name of each band: what `segment --bands` takes, as the API
    width = max(len("index"), len(str(cube.sizes["band"] - 1)))
    console.say(f"{'index':<{width}}  band")
    for i, name in enumerate(cube.band.values):
        console.say(f"{i:<{width}}  {name}")
    return 0


def _cmd_train(args: argparse.Namespace, console: _Console) -> int:
    import pandas as pd

    from .classification.samples import read_samples, resolve_class_field

    _check_outputs(args.overwrite, output=args.output)  # before reading or fitting anything
    params = _estimator_params(args.method, args.param)
    cube = _open_args(args)
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
            **params,
        )
    out = model.save(args.output, overwrite=args.overwrite)
    console.say(repr(model))
    console.say(f"model written to {out}")
    return 0


def _cmd_classify(args: argparse.Namespace, console: _Console) -> int:
    from .classification import LandcoverModel
    from .classmap import class_areas
    from .io import to_geotiffs

    conf_path = (Path(args.output).with_name(Path(args.output).stem + "_confidence.tif")
                 if args.confidence else None)
    _check_outputs(args.overwrite, output=args.output, confidence=conf_path)  # both, first
    model = LandcoverModel.load(args.model)
    cube = _open_args(args)
    probabilities = None
    if args.probabilities:
        # the class map is the label of the probabilities: one prediction pass for all layers
        from .postprocess import label

        probabilities = cube.landcover.predict_proba(model)
        result = label(probabilities, confidence=args.confidence)
    else:
        result = cube.landcover.classify(model, confidence=args.confidence)
    classes = result["landcover"] if args.confidence else result
    layers = {args.output: classes}
    if probabilities is not None:
        # one float32 band per class, named by the class (band descriptions), NaN = nodata
        bands = probabilities.rename({"class": "band"}).assign_coords(
            band=list(probabilities.attrs["class_names"]))
        bands.attrs = {"long_name": "class probability"}
        layers[args.probabilities] = bands.rio.write_nodata(float("nan"), encoded=False)
    if args.confidence:
        layers[conf_path] = result["confidence"]
    # one pass: the class map and the confidence come from the same predictions
    with console.progress(f"classifying {classes.sizes['y']} x {classes.sizes['x']} pixels ..."):
        written = dict(zip(layers, to_geotiffs(layers, overwrite=args.overwrite)))
    out = written[args.output]
    console.say(f"class map written to {out}")
    if args.confidence:
        console.say(f"confidence written to {written[conf_path]}")
    if probabilities is not None:
        console.say(f"probabilities written to {written[args.probabilities]}")
    from .classmap import open_classmap

    # class areas from the file, not a recompute
    console.say(class_areas(open_classmap(out)).to_string())
    return 0


def _pick_bands(cube, bands: Sequence[str] | None, source: str):
    """The bands named on the command line, as the API reads them: a band name, or a 0-based
    index (negative from the end); default the first three. An integer that is both a band
    name and the index of another band (bands named 1, 2, 3, 4) is refused as ambiguous; an
    unknown one is an error that lists the indexes and names the file has."""
    import re

    from .errors import InvalidParameterError
    from .segment.prepare import select_bands

    if not bands:
        return select_bands(cube, None)
    n, names = cube.sizes["band"], [str(b) for b in cube.band.values]
    positions = []
    for b in bands:
        index = int(b) if re.fullmatch(r"[+-]?\d+", b.strip()) else None
        in_range = index is not None and -n <= index < n
        if b in names and in_range and names.index(b) != index % n:
            raise InvalidParameterError(
                f"--bands: {b!r} is ambiguous: the bands of {source} are named by integers "
                f"{names}, and {b} is the name of band {names.index(b)} but the 0-based "
                f"index of band {names[index]!r}; rename the bands (--band-names, e.g. "
                f"--band-names {' '.join(f'b{i}' for i in range(n))}) and choose them by name"
            )
        if b in names:
            positions.append(names.index(b))
        elif in_range:
            positions.append(index % n)
        else:
            raise InvalidParameterError(
                f"--bands: {b!r} is not a band of {source}; it has {n} bands: indexes "
                f"0..{n - 1} or names {names}"
            )
    return cube.isel(band=positions)


def _cmd_segment(args: argparse.Namespace, console: _Console) -> int:
    import dask.array as dsa

    from .io import open_image, to_geotiff
    from .segment import segment_mean

    _check_outputs(args.overwrite, output=args.output, mean_output=args.mean_output)
    source = args.files[0] if len(args.files) == 1 else f"the {len(args.files)} files given"
    cube = _pick_bands(_open_args(args), args.bands, source)
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

    _check_outputs(args.overwrite, csv=args.csv)  # before sampling the map
    class_map = open_classmap(args.map)  # values, names, colours and fill from the file
    with console.progress("sampling the map at the reference ..."):
        report = accuracy(class_map, args.reference, class_field=args.class_field,
                          name_field=args.name_field)
    console.say(repr(report))
    if args.csv:
        _write_table(_report_table(report), args.csv, args.overwrite)
        console.say(f"report written to {args.csv}")
    return 0


#: Python advice in the library's messages, and what a command-line user does instead.
_CLI_ADVICE = [
    (r"set (?:it|one) with (samples|reference)\.set_crs\([^)]*\)(?: \(the CRS their "
     r"coordinates are in\))?",
     r"write the CRS of their coordinates into the \1 file, e.g. ogr2ogr -a_srs EPSG:.... "
     "fixed.gpkg IN_FILE"),
    (r"set one with \w+\.rio\.write_crs\([^)]*\)",
     "define it in the raster file, e.g. gdal_edit.py -a_srs EPSG:.... FILE.tif"),
    (r"Select or rename bands \(cube\.sel\(band=\[\.\.\.\]\), "
     r"cube\.assign_coords\(band=\[\.\.\.\]\)\)",
     "Give the raster files of the bands the model was trained on (see `xr-landcover info` "
     "for the bands a file has)"),
    (r"\bband_names has (\d+) names", r"--band-names has \1 names"),
    (r"^mapping: ", "--map: "),
    (r"^mapping keys must be all old class values .*; got (.*)$",
     r"--map: give all OLD=NEW (class values) or all NAME=OLD,OLD... (new classes); got \1"),
    (r"^(names|colors): (.*) are not new class", r"--\1: \2 are not new class"),
    (r"pass names=\{value: name\}", "pass --names VALUE=NAME"),
    # the library's argument names that are flags of cluster and accuracy-points
    (r"\bn_classes\b", "--classes"),
    (r"\b(sample_size|min_samples_per_cluster|max_merge_distance|max_merge_per_iteration|"
     r"min_per_class|max_iterations)\b", lambda m: "--" + m.group(1).replace("_", "-")),
    (r"pass overwrite=True", "pass --overwrite"),
    (r"overwrite=True", "--overwrite"),
]


def _cli_message(exc: BaseException) -> str:
    """The one-line message of ``exc`` with the library's Python advice translated into the
    command line's (flags, GDAL tools)."""
    import re

    message = " ".join(str(exc).split()) or type(exc).__name__
    for pattern, replacement in _CLI_ADVICE:
        message = re.sub(pattern, replacement, message)
    return message


def _open_map_for_cleanup(args: argparse.Namespace):
    """The input class map, once its output is known to be writable and not the input."""
    from .classmap import open_classmap
    from .errors import InvalidParameterError

    source, target = Path(args.map), Path(args.output)
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise InvalidParameterError(
            f"--output '{target}' is the input map: write the result to another file"
        )
    _check_outputs(args.overwrite, output=args.output)  # as every other writing command
    chunks = {"y": args.chunks, "x": args.chunks} if args.chunks else None
    return open_classmap(source, chunks=chunks)


def _write_map(result, args: argparse.Namespace, console: _Console, what: str) -> int:
    from .io import to_geotiff

    with console.progress(f"{what} {result.sizes['y']} x {result.sizes['x']} pixels ..."):
        out = to_geotiff(result, args.output, overwrite=args.overwrite)
    console.say(f"class map written to {out}")
    return 0


def _cmd_majority(args: argparse.Namespace, console: _Console) -> int:
    classes = _open_map_for_cleanup(args)
    result = classes.landcover.majority_filter(
        radius=args.radius, ties=args.ties, undecided_value=args.undecided_value,
        only_isolated=args.only_isolated, isolated_threshold=args.isolated_threshold,
        neighbors=args.neighbors, threshold=args.threshold)
    return _write_map(result, args, console, "majority filter over")


def _cmd_sieve(args: argparse.Namespace, console: _Console) -> int:
    classes = _open_map_for_cleanup(args)
    result = classes.landcover.sieve(args.min_pixels, connectivity=args.connectivity)
    return _write_map(result, args, console, "sieving")


def _pairs(items: Sequence[str] | None, flag: str, example: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` items of a flag, split, or an error naming the flag with an example."""
    from .errors import InvalidParameterError

    out = []
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidParameterError(f"{flag}: {item!r} is not KEY=VALUE (e.g. {example})")
        out.append((key.strip(), value.strip()))
    return out


def _class_key(text: str) -> int | str:
    """A class given on the command line: its value (an integer) or its name."""
    import re

    return int(text) if re.fullmatch(r"[+-]?\d+", text) else text


def _reclass_mapping(args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """``--map``, ``--names`` and ``--colors`` as :func:`~xr_landcover.reclassify` takes them:
    ``OLD=NEW`` (class values) or ``NAME=OLD,OLD...`` (a new class of old values or names)."""
    from .errors import InvalidParameterError

    mapping: dict = {}
    for key, value in _pairs(args.mapping, "--map", "--map 1=10 2=10 3=20, or --map "
                                                 "vegetation=herbaceous,shrubland"):
        old = _class_key(key)
        if old in mapping:
            raise InvalidParameterError(f"--map: {key} is given twice")
        members = [_class_key(m.strip()) for m in value.split(",") if m.strip()]
        if isinstance(old, int):
            if len(members) != 1 or not isinstance(members[0], int):
                raise InvalidParameterError(
                    f"--map {key}={value}: an old class value takes one new value (an integer, "
                    f"e.g. {key}=10); to name a merged class use NAME=OLD,OLD or --names")
            mapping[old] = members[0]
        else:
            mapping[old] = members
    names = {}
    for key, value in _pairs(args.names, "--names", "--names 10=urban 20=vegetation"):
        new = _class_key(key)
        if not isinstance(new, int):
            raise InvalidParameterError(
                f"--names {key}={value}: the key is a new class value (an integer)")
        names[new] = value
    colors = {}
    for key, value in _pairs(args.colors, "--colors", "--colors 10=230,0,0 20=#33a02c"):
        colors[_class_key(key)] = _rgb(value, f"--colors {key}")
    return mapping, names, colors


def _rgb(text: str, flag: str) -> tuple[int, int, int]:
    """``R,G,B`` (0-255) or ``#rrggbb`` as a colour, or an error naming the flag."""
    from .errors import InvalidParameterError

    try:
        if text.startswith("#") and len(text) == 7:
            rgb = tuple(int(text[i:i + 2], 16) for i in (1, 3, 5))
        else:
            rgb = tuple(int(c) for c in text.split(","))
    except ValueError:
        rgb = ()
    if len(rgb) != 3 or not all(0 <= c <= 255 for c in rgb):
        raise InvalidParameterError(f"{flag}: {text!r} is not a colour: give R,G,B (0-255) or "
                                    "#rrggbb")
    return rgb  # type: ignore[return-value]


def _cmd_reclassify(args: argparse.Namespace, console: _Console) -> int:
    mapping, names, colors = _reclass_mapping(args)  # the arguments first, then the output
    classes = _open_map_for_cleanup(args)
    result = classes.landcover.reclassify(mapping, names=names or None, colors=colors or None)
    _write_map(result, args, console, "reclassifying")
    for value, name in zip(result.attrs["flag_values"], result.attrs["class_names"]):
        console.say(f"   {value}  {name}")
    return 0


def _cmd_cluster(args: argparse.Namespace, console: _Console) -> int:
    from .classification.clustering import cluster
    from .classmap import class_areas, open_classmap
    from .io import to_geotiff

    _check_outputs(args.overwrite, output=args.output)  # before reading anything
    cube = _open_args(args)
    with console.progress("sampling the pixels and fitting the clusters ..."):
        classes = cluster(cube, args.classes, method=args.method,
                          max_iterations=args.max_iterations,
                          min_samples_per_cluster=args.min_samples_per_cluster,
                          sample_size=args.sample_size, random_state=args.random_state,
                          max_merge_distance=args.max_merge_distance,
                          max_merge_per_iteration=args.max_merge_per_iteration)
    with console.progress(f"classifying {classes.sizes['y']} x {classes.sizes['x']} pixels ..."):
        out = to_geotiff(classes, args.output, overwrite=args.overwrite)
    console.say(f"{len(classes.attrs['flag_values'])} clusters ({args.method}); class map "
                f"written to {out}")
    console.say(class_areas(open_classmap(out)).to_string())  # from the file, not a recompute
    return 0


def _allocation(items: Sequence[str]) -> str | dict:
    """``--allocation``: ``proportional``, ``equal``, or ``CLASS=N ...`` (value or name)."""
    from .errors import InvalidParameterError

    if len(items) == 1 and "=" not in items[0]:
        return items[0]
    out = {}
    for key, value in _pairs(items, "--allocation", "--allocation forest=100 water=50"):
        try:
            out[_class_key(key)] = int(value)
        except ValueError:
            raise InvalidParameterError(
                f"--allocation {key}={value}: the number of points is an integer") from None
    return out


def _cmd_accuracy_points(args: argparse.Namespace, console: _Console) -> int:
    from .assessment import accuracy_points
    from .classmap import open_classmap

    _vector_driver(args.output, "--output")
    _check_outputs(args.overwrite, output=args.output)  # before reading the map
    allocation = _allocation(args.allocation)
    class_map = open_classmap(args.map)
    with console.progress("counting the pixels of each class and drawing the points ..."):
        points = accuracy_points(class_map, n=args.n, strategy=args.strategy,
                                 allocation=allocation, min_per_class=args.min_per_class,
                                 random_state=args.random_state)
    _write_vector(points, args.output, args.overwrite, "--output")
    counts = points.groupby(["Classified", "class_name"]).size().rename("points")
    console.say(counts.reset_index().to_string(index=False))
    console.say(f"{len(points)} points written to {args.output}; fill GrndTruth with the "
                "reference class of each, then run `xr-landcover accuracy` with them")
    return 0


def _cmd_cross_validate(args: argparse.Namespace, console: _Console) -> int:
    from .assessment.cross_validation import cross_validate

    _check_outputs(args.overwrite, csv=args.csv)  # before reading anything
    params = _estimator_params(args.method, args.param)
    cube = _open_args(args)
    with console.progress("reading the sample pixels ..."):
        cv = cross_validate(cube, args.samples, class_field=args.class_field,
                            name_field=args.name_field, method=args.method, folds=args.folds,
                            groups=None if args.groups == "pixel" else args.groups,
                            block_size=args.block_size, random_state=args.random_state,
                            max_samples_per_class=args.max_samples_per_class, **params)
    console.say(repr(cv))
    console.say(repr(cv.overall))
    if args.csv:
        _write_table(cv.summary(), args.csv, args.overwrite)
        console.say(f"fold summary written to {args.csv}")
    return 0


def _cmd_inspect(args: argparse.Namespace, console: _Console) -> int:
    from .assessment.inspection import inspect_samples
    from .classification import LandcoverModel
    from .io import to_geotiff

    # both outputs checked before the model or the cube is read
    _vector_driver(args.output, "--output")
    _check_outputs(args.overwrite, output=args.output, misclassified=args.misclassified)
    model = LandcoverModel.load(args.model)
    cube = _open_args(args)
    with console.progress("classifying the sample pixels ..."):
        found = inspect_samples(cube, args.samples, model, class_field=args.class_field)
    console.say(repr(found))
    if args.output:
        _write_vector(found.samples, args.output, args.overwrite, "--output")
        console.say(f"samples with their accuracy written to {args.output}")
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
    param_option(train)
    raster_options(train)
    output_options(train)

    classify = command("classify", _cmd_classify, "classify rasters with a saved model")
    classify.add_argument("files", nargs="+", help="raster file(s) on one grid")
    classify.add_argument("--model", required=True, help="model file from `train`")
    classify.add_argument("--confidence", action="store_true", help="also write OUT_confidence.tif")
    classify.add_argument("--probabilities", default=None, metavar="PATH",
                          help="also write the per-class probabilities (one band per class)")
    raster_options(classify)
    output_options(classify)

    segment = command("segment", _cmd_segment, "mean-shift segmentation (ArcGIS parameters)")
    segment.add_argument("files", nargs="+", help="raster file(s) on one grid")
    segment.add_argument("--spectral-detail", type=float, default=15.5, help="1-20")
    segment.add_argument("--spatial-detail", type=float, default=15, help="1-20")
    segment.add_argument("--min-segment-size", type=int, default=20, help="pixels")
    segment.add_argument("--bands", nargs="+", default=None,
                         help="bands to segment: names or 0-based indexes, as `info` prints "
                              "them (default the first three)")
    segment.add_argument("--mean-output", default=None, help="also write the mean-colour image")
    raster_options(segment)
    output_options(segment)

    acc = command("accuracy", _cmd_accuracy, "assess a class map against reference data")
    acc.add_argument("map", help="class map GeoTIFF (from `classify`)")
    acc.add_argument("--reference", required=True, help="vector file of reference points")
    acc.add_argument("--class-field", default=None, help="reference class column (auto)")
    acc.add_argument("--name-field", default=None,
                     help="reference class name column (names classes the map does not name)")
    acc.add_argument("--csv", default=None, help="write the report table to this CSV file")
    acc.add_argument("--overwrite", action="store_true", help="replace an existing CSV file")

    maj = command("majority", _cmd_majority,
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

    sv = command("sieve", _cmd_sieve,
                 "merge regions smaller than a minimum mapping unit (GDAL's sieve)")
    sv.add_argument("map", help="class map GeoTIFF (from `classify`)")
    sv.add_argument("--min-pixels", type=_positive_int, required=True,
                    help="regions with fewer pixels take their biggest neighbour's class")
    sv.add_argument("--connectivity", type=int, choices=[4, 8], default=8)
    sv.add_argument("--chunks", type=_positive_int, default=None, help="chunk edge in pixels")
    output_options(sv)

    rc = command("reclassify", _cmd_reclassify,
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

    cl = command("cluster", _cmd_cluster,
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

    ap = command("accuracy-points", _cmd_accuracy_points,
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
    param_option(cv)
    cv.add_argument("--csv", default=None, help="write the per-fold summary to this CSV file")
    cv.add_argument("--overwrite", action="store_true", help="replace an existing CSV file")
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
        print(f"error: {_cli_message(exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
