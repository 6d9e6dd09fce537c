"""Command line interface: ``xr-landcover demo|info ...``.

Every error becomes one line ``error: ...`` on stderr and exit code 2 (``--debug`` shows the
traceback instead).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _cmd_info(args: argparse.Namespace) -> int:
    from .io import open_image

    cube = open_image(args.files if len(args.files) > 1 else args.files[0], nodata=args.nodata)
    print(cube.landcover.summary())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from . import datasets

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    say = print if not args.quiet else (lambda *a, **k: None)

    cube = datasets.nc_landsat7()
    polygons = datasets.nc_training_polygons()
    say("== Sample scene: Landsat 7 ETM+ 2000, Raleigh NC (shipped with the package)")
    say(f"   file: {datasets.nc_landsat7_path()}")
    say("   " + cube.landcover.summary().replace("\n", "\n   "))
    say(f"== Training polygons: {len(polygons)} polygons, CRS {polygons.crs.to_string()}")
    classes = polygons.groupby(["id", "label"]).size().rename("polygons").reset_index()
    for row in classes.itertuples():
        say(f"   class {row.id}: {row.label:<12} {row.polygons} polygons")
    seg_cube = datasets.l8_rgb_uint8()
    say("== Sample scene for segmentation: 8-bit Landsat 8 crop")
    say("   " + seg_cube.landcover.summary().replace("\n", "\n   "))
    say(f"== Outputs go to {out.resolve()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xr-landcover",
        description="Land-cover classification and mean-shift segmentation of satellite images.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress or chatter")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run the whole workflow on the shipped sample data")
    demo.add_argument("--output", "-o", default="demo_output", help="output folder")
    demo.set_defaults(func=_cmd_demo)

    info = sub.add_parser("info", help="describe one raster or a stack of single-band rasters")
    info.add_argument("files", nargs="+", help="raster file(s) on one grid")
    info.add_argument("--nodata", type=float, default=None, help="nodata value to declare")
    info.set_defaults(func=_cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xr-landcover`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line, unless --debug
        if args.debug:
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
