"""Command line interface: ``xr-landcover demo|info|train|classify|segment|cluster|accuracy|
accuracy-points|cross-validate|inspect``, and the clean-up of class maps,
``majority|sieve|reclassify``.

Every error becomes one line ``error: ...`` on stderr and exit code 2 (``--debug`` shows the
traceback instead). Long computations show dask's progress bar unless ``--quiet`` (which
silences the progress only). Every output is checked before any input is read, and replaced
only with ``--overwrite``.

The package holds :mod:`~xr_landcover.cli.parser` (the argument parser), the commands by
concept (:mod:`~xr_landcover.cli.overview`: info, demo; :mod:`~xr_landcover.cli.classification`:
train, classify, cluster; :mod:`~xr_landcover.cli.segmentation`: segment;
:mod:`~xr_landcover.cli.postprocess`: majority, sieve, reclassify;
:mod:`~xr_landcover.cli.assessment`: accuracy, accuracy-points, cross-validate, inspect) and
``_common`` (what they share: console, output checks, writers, error messages).

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

import sys
from collections.abc import Sequence

from ._common import Console, cli_message
from .parser import build_parser

__all__ = ["main", "build_parser"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xr-landcover`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(args.quiet)
    try:
        return args.func(args, console)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line, unless --debug
        if args.debug:
            raise
        print(f"error: {cli_message(exc)}", file=sys.stderr)
        return 2
