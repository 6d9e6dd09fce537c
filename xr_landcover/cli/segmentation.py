"""The segmenting command of ``xr-landcover``: ``segment`` (mean-shift segments with ArcGIS's
parameters, and their mean-colour image), with the ``--bands`` choice it reads as the API
does: band names or 0-based indexes, as ``xr-landcover info`` prints them.

Examples
--------
.. code-block:: bash

    xr-landcover segment rgb.tif -o segments.tif --spectral-detail 15.5 --spatial-detail 15
    xr-landcover segment scene.tif -o segments.tif --bands 3 2 1 --mean-output mean.tif
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ._common import Console, check_outputs, open_args

__all__ = ["cmd_segment", "pick_bands"]


def pick_bands(cube, bands: Sequence[str] | None, source: str):
    """The bands named on the command line, as the API reads them: a band name, or a 0-based
    index (negative from the end); default the first three. An integer that is both a band
    name and the index of another band (bands named 1, 2, 3, 4) is refused as ambiguous; an
    unknown one is an error that lists the indexes and names the file has."""
    import re

    from ..errors import InvalidParameterError
    from ..segment.prepare import select_bands

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


def cmd_segment(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover segment``: the segment ids (and the mean-colour image if asked) of the
    chosen bands; prints the number of segments, counted from the file written."""
    import dask.array as dsa

    from ..io import open_image, to_geotiff
    from ..segment import segment_mean

    check_outputs(args.overwrite, output=args.output, mean_output=args.mean_output)
    source = args.files[0] if len(args.files) == 1 else f"the {len(args.files)} files given"
    cube = pick_bands(open_args(args), args.bands, source)
    segments = cube.landcover.segment(
        bands=list(range(cube.sizes["band"])),
        spectral_detail=args.spectral_detail,
        spatial_detail=args.spatial_detail,
        min_segment_size=args.min_segment_size,
        max_segment_size=args.max_segment_size,
        spectral_radius=args.spectral_radius,
        spatial_radius=args.spatial_radius,
        color_space=args.color_space,
        kernel=args.kernel,
        maxiter=args.maxiter,
        link_radius=args.link_radius,
        fuse_radius=args.fuse_radius,
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
