"""The clean-up commands of ``xr-landcover`` on a class map file: ``majority`` (OTB's
ClassificationMapRegularization, or ArcGIS's Majority Filter rule), ``sieve`` (GDAL's minimum
mapping unit) and ``reclassify`` (new values, merged, renamed and recoloured classes).

Each refuses to write over its input, checks its output before reading the map, and writes a
class map with the input's names, colours and fill.

Examples
--------
.. code-block:: bash

    xr-landcover majority landcover.tif -o smooth.tif --radius 2
    xr-landcover sieve landcover.tif -o mmu.tif --min-pixels 9 --connectivity 8
    xr-landcover reclassify landcover.tif -o merged.tif --map 3=4 5=4 --names 4=vegetation

>>> from xr_landcover.cli.postprocess import rgb
>>> rgb("230,0,0", "--colors 10"), rgb("#33a02c", "--colors 20")
((230, 0, 0), (51, 160, 44))
"""

from __future__ import annotations

import argparse

from ._common import Console, check_outputs, class_key, pairs

__all__ = ["cmd_majority", "cmd_reclassify", "cmd_sieve", "open_map_for_cleanup",
           "reclass_mapping", "rgb", "write_map"]


def open_map_for_cleanup(args: argparse.Namespace):
    """The input class map, once its output is known to be writable and not the input."""
    from pathlib import Path

    from ..classmap import open_classmap
    from ..errors import InvalidParameterError

    source, target = Path(args.map), Path(args.output)
    if target.exists() and source.exists() and target.resolve() == source.resolve():
        raise InvalidParameterError(
            f"--output '{target}' is the input map: write the result to another file"
        )
    check_outputs(args.overwrite, output=args.output)  # as every other writing command
    chunks = {"y": args.chunks, "x": args.chunks} if args.chunks else None
    return open_classmap(source, chunks=chunks)


def write_map(result, args: argparse.Namespace, console: Console, what: str) -> int:
    """``result`` written to ``--output``, under a progress bar labelled ``what``."""
    from ..io import to_geotiff

    with console.progress(f"{what} {result.sizes['y']} x {result.sizes['x']} pixels ..."):
        out = to_geotiff(result, args.output, overwrite=args.overwrite)
    console.say(f"class map written to {out}")
    return 0


def cmd_majority(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover majority``: the majority filter of a class map."""
    classes = open_map_for_cleanup(args)
    result = classes.landcover.majority_filter(
        radius=args.radius, ties=args.ties, undecided_value=args.undecided_value,
        only_isolated=args.only_isolated, isolated_threshold=args.isolated_threshold,
        neighbors=args.neighbors, threshold=args.threshold)
    return write_map(result, args, console, "majority filter over")


def cmd_sieve(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover sieve``: regions below ``--min-pixels`` merged into a neighbour."""
    classes = open_map_for_cleanup(args)
    result = classes.landcover.sieve(args.min_pixels, connectivity=args.connectivity)
    return write_map(result, args, console, "sieving")


def reclass_mapping(args: argparse.Namespace) -> tuple[dict, dict, dict]:
    """``--map``, ``--names`` and ``--colors`` as :func:`~xr_landcover.reclassify` takes them:
    ``OLD=NEW`` (class values) or ``NAME=OLD,OLD...`` (a new class of old values or names)."""
    from ..errors import InvalidParameterError

    mapping: dict = {}
    for key, value in pairs(args.mapping, "--map", "--map 1=10 2=10 3=20, or --map "
                                                "vegetation=herbaceous,shrubland"):
        old = class_key(key)
        if old in mapping:
            raise InvalidParameterError(f"--map: {key} is given twice")
        members = [class_key(m.strip()) for m in value.split(",") if m.strip()]
        if isinstance(old, int):
            if len(members) != 1 or not isinstance(members[0], int):
                raise InvalidParameterError(
                    f"--map {key}={value}: an old class value takes one new value (an integer, "
                    f"e.g. {key}=10); to name a merged class use NAME=OLD,OLD or --names")
            mapping[old] = members[0]
        else:
            mapping[old] = members
    names = {}
    for key, value in pairs(args.names, "--names", "--names 10=urban 20=vegetation"):
        new = class_key(key)
        if not isinstance(new, int):
            raise InvalidParameterError(
                f"--names {key}={value}: the key is a new class value (an integer)")
        names[new] = value
    colors = {}
    for key, value in pairs(args.colors, "--colors", "--colors 10=230,0,0 20=#33a02c"):
        colors[class_key(key)] = rgb(value, f"--colors {key}")
    return mapping, names, colors


def rgb(text: str, flag: str) -> tuple[int, int, int]:
    """``R,G,B`` (0-255) or ``#rrggbb`` as a colour, or an error naming the flag."""
    from ..errors import InvalidParameterError

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


def cmd_reclassify(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover reclassify``: new values, names and colours; prints the new classes."""
    mapping, names, colors = reclass_mapping(args)  # the arguments first, then the output
    classes = open_map_for_cleanup(args)
    result = classes.landcover.reclassify(mapping, names=names or None, colors=colors or None)
    write_map(result, args, console, "reclassifying")
    for value, name in zip(result.attrs["flag_values"], result.attrs["class_names"]):
        console.say(f"   {value}  {name}")
    return 0
