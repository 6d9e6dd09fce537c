"""The classifying commands of ``xr-landcover``: ``train`` (a model from training samples),
``classify`` (a class map, its confidence and probabilities, with a saved model) and
``cluster`` (unsupervised classes: k-means or ISODATA).

Each takes the parsed arguments and the console, checks its outputs before reading any input,
and returns the exit code.

Examples
--------
.. code-block:: bash

    xr-landcover train lsat7_2000_*.tif --samples polygons.shp -o model.skops
    xr-landcover classify lsat7_2000_*.tif --model model.skops -o landcover.tif --confidence
    xr-landcover cluster lsat7_2000_*.tif -o clusters.tif --classes 8 --method isodata
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import Console, check_outputs, estimator_params, open_args

__all__ = ["cmd_classify", "cmd_cluster", "cmd_train"]


def cmd_train(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover train``: fit a classifier on the pixels of the samples and save it."""
    import pandas as pd

    from ..classification.samples import read_samples, resolve_class_field

    check_outputs(args.overwrite, output=args.output)  # before reading or fitting anything
    params = estimator_params(args.method, args.param)
    cube = open_args(args)
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


def cmd_classify(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover classify``: the class map of a saved model (with its confidence and
    per-class probabilities if asked), written in one prediction pass; prints class areas."""
    from ..classification import LandcoverModel
    from ..classmap import class_areas
    from ..io import to_geotiffs

    conf_path = (Path(args.output).with_name(Path(args.output).stem + "_confidence.tif")
                 if args.confidence else None)
    check_outputs(args.overwrite, output=args.output, confidence=conf_path)  # both, first
    model = LandcoverModel.load(args.model)
    cube = open_args(args)
    probabilities = None
    if args.probabilities:
        # the class map is the label of the probabilities: one prediction pass for all layers
        from ..postprocess import label

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
    from ..classmap import open_classmap

    # class areas from the file, not a recompute
    console.say(class_areas(open_classmap(out)).to_string())
    return 0


def cmd_cluster(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover cluster``: k-means or ISODATA clusters of the pixels as a class map;
    prints class areas."""
    from ..classification.clustering import cluster
    from ..classmap import class_areas, open_classmap
    from ..io import to_geotiff

    check_outputs(args.overwrite, output=args.output)  # before reading anything
    cube = open_args(args)
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
