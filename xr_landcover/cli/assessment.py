"""The assessing commands of ``xr-landcover``: ``accuracy`` (a class map against reference
data), ``accuracy-points`` (random points to collect the reference at), ``cross-validate`` (a
classifier on its own samples, holding out whole polygons) and ``inspect`` (how well a model
classifies each training sample).

Examples
--------
.. code-block:: bash

    xr-landcover accuracy landcover.tif --reference points.gpkg --csv report.csv
    xr-landcover accuracy-points landcover.tif -o points.gpkg --n 300
    xr-landcover cross-validate lsat7_2000_*.tif --samples polygons.shp --folds 5
    xr-landcover inspect lsat7_2000_*.tif --samples polygons.shp --model model.skops -o worst.gpkg

>>> from xr_landcover.cli.assessment import allocation
>>> allocation(["equal"]), allocation(["forest=100", "2=50"])
('equal', {'forest': 100, 2: 50})
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._common import (
    Console,
    check_outputs,
    class_key,
    estimator_params,
    open_args,
    pairs,
    vector_driver,
    write_table,
    write_vector,
)

__all__ = ["allocation", "cmd_accuracy", "cmd_accuracy_points", "cmd_cross_validate",
           "cmd_inspect", "report_table"]


def report_table(report):
    """The accuracy report's table with the confusion-matrix counts (and totals) as integers:
    ``to_dataframe`` holds them as floats beside the accuracies."""
    table = report.to_dataframe().astype(object)
    counts = report.confusion_matrix
    for row in counts.index:
        for column in counts.columns:
            table.loc[row, column] = int(counts.loc[row, column])
    return table


def cmd_accuracy(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover accuracy``: the accuracy report of a class map file; ``--csv`` writes
    its table."""
    from ..assessment import accuracy
    from ..classmap import open_classmap

    check_outputs(args.overwrite, csv=args.csv)  # before sampling the map
    class_map = open_classmap(args.map)  # values, names, colours and fill from the file
    with console.progress("sampling the map at the reference ..."):
        report = accuracy(class_map, args.reference, class_field=args.class_field,
                          name_field=args.name_field)
    console.say(repr(report))
    if args.csv:
        write_table(report_table(report), args.csv, args.overwrite)
        console.say(f"report written to {args.csv}")
    return 0


def allocation(items: Sequence[str]) -> str | dict:
    """``--allocation``: ``proportional``, ``equal``, or ``CLASS=N ...`` (value or name)."""
    from ..errors import InvalidParameterError

    if len(items) == 1 and "=" not in items[0]:
        return items[0]
    out = {}
    for key, value in pairs(items, "--allocation", "--allocation forest=100 water=50"):
        try:
            out[class_key(key)] = int(value)
        except ValueError:
            raise InvalidParameterError(
                f"--allocation {key}={value}: the number of points is an integer") from None
    return out


def cmd_accuracy_points(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover accuracy-points``: random (stratified) points of a class map, written
    as a vector file; prints the points per class."""
    from ..assessment import accuracy_points
    from ..classmap import open_classmap

    vector_driver(args.output, "--output")
    check_outputs(args.overwrite, output=args.output)  # before reading the map
    points_per_class = allocation(args.allocation)
    class_map = open_classmap(args.map)
    with console.progress("counting the pixels of each class and drawing the points ..."):
        points = accuracy_points(class_map, n=args.n, strategy=args.strategy,
                                 allocation=points_per_class, min_per_class=args.min_per_class,
                                 random_state=args.random_state)
    write_vector(points, args.output, args.overwrite, "--output")
    counts = points.groupby(["Classified", "class_name"]).size().rename("points")
    console.say(counts.reset_index().to_string(index=False))
    console.say(f"{len(points)} points written to {args.output}; fill GrndTruth with the "
                "reference class of each, then run `xr-landcover accuracy` with them")
    return 0


def cmd_cross_validate(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover cross-validate``: the folds and the pooled report; ``--csv`` writes the
    fold summary."""
    from ..assessment.cross_validation import cross_validate

    check_outputs(args.overwrite, csv=args.csv)  # before reading anything
    params = estimator_params(args.method, args.param)
    cube = open_args(args)
    with console.progress("reading the sample pixels ..."):
        cv = cross_validate(cube, args.samples, class_field=args.class_field,
                            name_field=args.name_field, method=args.method, folds=args.folds,
                            groups=None if args.groups == "pixel" else args.groups,
                            block_size=args.block_size, random_state=args.random_state,
                            max_samples_per_class=args.max_samples_per_class, **params)
    console.say(repr(cv))
    console.say(repr(cv.overall))
    if args.csv:
        write_table(cv.summary(), args.csv, args.overwrite)
        console.say(f"fold summary written to {args.csv}")
    return 0


def cmd_inspect(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover inspect``: each sample's share of pixels the model classifies as its
    class, worst first; writes the samples and the misclassified-pixel map if asked."""
    from ..assessment.inspection import inspect_samples
    from ..classification import LandcoverModel
    from ..io import to_geotiff

    # both outputs checked before the model or the cube is read
    vector_driver(args.output, "--output")
    check_outputs(args.overwrite, output=args.output, misclassified=args.misclassified)
    model = LandcoverModel.load(args.model)
    cube = open_args(args)
    with console.progress("classifying the sample pixels ..."):
        found = inspect_samples(cube, args.samples, model, class_field=args.class_field)
    console.say(repr(found))
    if args.output:
        write_vector(found.samples, args.output, args.overwrite, "--output")
        console.say(f"samples with their accuracy written to {args.output}")
    if args.misclassified:
        written = to_geotiff(found.misclassified, args.misclassified, overwrite=args.overwrite)
        console.say(f"misclassified pixels written to {written}")
    return 0
