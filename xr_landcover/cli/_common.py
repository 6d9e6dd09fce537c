"""What the commands of ``xr-landcover`` share: the console, opening the input rasters, the
checks of the outputs before any work, atomic vector and table writes, ``KEY=VALUE`` options,
the ``--param`` estimator options, and the translation of the library's error messages into
the command line's.

A ``_``-prefixed module whose names are public: the command modules and the parser import
them (no module takes another module's ``_private`` name).

Examples
--------
>>> from xr_landcover.cli._common import class_key, cli_message, pairs
>>> pairs(["forest=100", "2=50"], "--allocation", "--allocation forest=100")
[('forest', '100'), ('2', '50')]
>>> class_key("2"), class_key("forest")
(2, 'forest')
>>> cli_message(ValueError("the output exists; pass overwrite=True to replace it"))
'the output exists; pass --overwrite to replace it'
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["CLI_ADVICE", "VECTOR_DRIVERS", "Console", "check_outputs", "class_key",
           "cli_message", "estimator_params", "literal", "open_args", "open_files", "pairs",
           "vector_driver", "write_table", "write_vector"]


class Console:
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


def open_files(files: Sequence[str], nodata: float | None, chunks: int | None = None,
               band_names: Sequence[str] | None = None):
    """The band cube of one raster file or a stack of single-band files on one grid."""
    from ..io import open_image

    return open_image(files if len(files) > 1 else files[0], nodata=nodata, chunks=chunks,
                      band_names=band_names)


def open_args(args: argparse.Namespace):
    """The band cube of a command's raster files, with its ``--nodata``, ``--chunks`` and
    ``--band-names``."""
    return open_files(args.files, args.nodata, args.chunks, args.band_names)


def check_outputs(overwrite: bool, **outputs: str | Path | None) -> None:
    """Every output of a command may be written (``--flag=path``), checked before any work: a
    command never writes part of its outputs and then refuses the rest."""
    from ..errors import InvalidParameterError
    from ..io import check_output_path

    given = {flag: check_output_path(path, overwrite, name=f"--{flag.replace('_', '-')}")
             for flag, path in outputs.items() if path is not None}
    resolved = [p.resolve() for p in given.values()]
    if len(set(resolved)) < len(resolved):
        raise InvalidParameterError(
            f"two outputs are the same file: {sorted(map(str, given.values()))}")


def literal(text: str) -> Any:
    """A ``--param`` value: an int, float, bool (``True``/``true``), ``None`` or a string,
    read with :func:`ast.literal_eval` (never evaluated as code); anything else is the string
    itself."""
    import ast

    from ..errors import InvalidParameterError

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


def estimator_params(method: str, given: Sequence[str] | None) -> dict[str, Any]:
    """The ``--param NAME=VALUE`` options as keyword arguments of ``method``'s estimator,
    checked before any work: an unknown name is an error listing the estimator's parameters."""
    from ..classification.estimators import make_estimator
    from ..errors import InvalidParameterError

    params: dict[str, Any] = {}
    for item in given or ():
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise InvalidParameterError(
                f"--param: {item!r} is not NAME=VALUE (e.g. --param C=10 gamma=0.5)")
        if name in params:
            raise InvalidParameterError(f"--param: {name} is given twice")
        params[name] = literal(value.strip())
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


def pairs(items: Sequence[str] | None, flag: str, example: str) -> list[tuple[str, str]]:
    """``KEY=VALUE`` items of a flag, split, or an error naming the flag with an example."""
    from ..errors import InvalidParameterError

    out = []
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InvalidParameterError(f"{flag}: {item!r} is not KEY=VALUE (e.g. {example})")
        out.append((key.strip(), value.strip()))
    return out


def class_key(text: str) -> int | str:
    """A class given on the command line: its value (an integer) or its name."""
    import re

    return int(text) if re.fullmatch(r"[+-]?\d+", text) else text


#: Vector formats a command writes, by file suffix: single-file formats, so that a write is
#: atomic (a shapefile is several files).
VECTOR_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON",
                  ".fgb": "FlatGeobuf"}


def vector_driver(path: str | None, flag: str) -> str | None:
    """The OGR driver of a vector output, by its suffix, or an error naming the flag."""
    from ..errors import InvalidParameterError

    if path is None:
        return None
    driver = VECTOR_DRIVERS.get(Path(path).suffix.lower())
    if driver is None:
        raise InvalidParameterError(
            f"{flag} {path!r}: write a GeoPackage (.gpkg), GeoJSON (.geojson) or FlatGeobuf "
            "(.fgb) file; convert it afterwards if needed, e.g. ogr2ogr out.shp "
            f"{Path(path).with_suffix('.gpkg').name}")
    return driver


def write_vector(frame, path: str, overwrite: bool, flag: str) -> None:
    """``frame`` as a vector file at ``path`` (its format from the suffix), atomically."""
    import warnings

    from ..io._atomic import atomic_file

    driver = vector_driver(path, flag)
    with atomic_file(path, overwrite=overwrite) as staging, warnings.catch_warnings():
        # the staging name ends in .tmp, which GDAL's GeoPackage driver remarks on
        warnings.filterwarnings("ignore", "The filename extension should be", RuntimeWarning)
        frame.to_file(staging, driver=driver, layer=Path(path).stem)


def write_table(table, path: str, overwrite: bool) -> None:
    """``table`` as a CSV file at ``path``, written atomically (all or nothing)."""
    from ..io._atomic import atomic_file

    with atomic_file(path, overwrite=overwrite) as staging:
        table.to_csv(staging)


#: Python advice in the library's messages, and what a command-line user does instead.
CLI_ADVICE = [
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


def cli_message(exc: BaseException) -> str:
    """The one-line message of ``exc`` with the library's Python advice translated into the
    command line's (flags, GDAL tools)."""
    import re

    message = " ".join(str(exc).split()) or type(exc).__name__
    for pattern, replacement in CLI_ADVICE:
        message = re.sub(pattern, replacement, message)
    return message
