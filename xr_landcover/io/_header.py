"""A raster file's header read once, and grid comparisons: shared by :func:`open_image` and
:func:`stac_item_from_rasters`."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import rasterio
import rasterio.errors

from ..errors import RasterReadError

__all__ = ["grid_text", "raster_profile", "same_grid"]


def raster_profile(path: Path) -> dict[str, Any]:
    """Read the header of ``path``; turn rasterio's errors into one clear message."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                return {
                    "path": path,
                    "count": src.count,
                    "width": src.width,
                    "height": src.height,
                    "crs": src.crs,
                    "transform": src.transform,
                    "nodata": src.nodata,
                    "nodatavals": src.nodatavals,
                    "dtype": src.dtypes[0],
                    "block_shapes": src.block_shapes,
                    "descriptions": src.descriptions,
                    # a class map (ours: CF flag_values, or CLASS_<value> tags)
                    "class_map": src.count == 1 and src.dtypes[0].startswith(("int", "uint"))
                    and any(k == "flag_values" or k.startswith("CLASS_")
                            for k in {**src.tags(), **src.tags(1)}),
                }
    except rasterio.errors.RasterioError as exc:
        raise RasterReadError(
            f"cannot read '{path}' as a raster: {exc}. Is it a GeoTIFF (or another "
            "GDAL-readable raster), complete and not corrupt?"
        ) from None


def grid_text(profile: Mapping[str, Any]) -> str:
    """The grid of a :func:`raster_profile` in words, for error messages."""
    t = profile["transform"]
    crs = profile["crs"].to_string() if profile["crs"] else None
    return (
        f"{profile['width']}x{profile['height']} px, CRS {crs}, "
        f"origin ({t.c:.3f}, {t.f:.3f}), pixel ({t.a:.3f}, {t.e:.3f})"
    )


def same_grid(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Whether two :func:`raster_profile` results describe one pixel grid."""
    return (
        a["width"] == b["width"]
        and a["height"] == b["height"]
        and a["crs"] == b["crs"]
        and a["transform"].almost_equals(b["transform"], precision=1e-9)
    )
