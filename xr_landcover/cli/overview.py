"""The commands of ``xr-landcover`` that show rather than make a product: ``info`` (a raster's
or a stack's summary, and each band's 0-based index and name: what ``segment --bands`` takes)
and ``demo`` (the whole workflow on the shipped sample data, by :mod:`xr_landcover.demo`).

Examples
--------
.. code-block:: bash

    xr-landcover info scene_B2.tif scene_B3.tif scene_B4.tif --nodata 0
    xr-landcover demo -o demo_output
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import Console, open_args

__all__ = ["cmd_demo", "cmd_info"]


def cmd_info(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover info``: the cube's summary, then the index and name of each band."""
    cube = open_args(args)
    console.say(cube.landcover.summary())
    # the 0-based index and the name of each band: what `segment --bands` takes, as the API
    width = max(len("index"), len(str(cube.sizes["band"] - 1)))
    console.say(f"{'index':<{width}}  band")
    for i, name in enumerate(cube.band.values):
        console.say(f"{i:<{width}}  {name}")
    return 0


def cmd_demo(args: argparse.Namespace, console: Console) -> int:
    """``xr-landcover demo``: the demo workflow, printing through the console."""
    from ..demo import run_demo

    run_demo(Path(args.output), console.say, console.progress)
    return 0
