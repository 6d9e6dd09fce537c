"""Shared fixtures: paths to the real scenes in ../shared/data and small generated rasters."""

from __future__ import annotations

from pathlib import Path

import dask
import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NC = SHARED / "nc_landsat7_2000"
L8_78 = SHARED / "l8_224078_20200518"
L8_77 = SHARED / "l8_224077_20200518"
RGBN = SHARED / "rgbn_timeseries"


def pytest_configure(config):
    if not SHARED.exists():
        raise pytest.UsageError(
            f"the shared data folder {SHARED} is missing: clone with ../shared beside"
        )


@pytest.fixture(scope="session")
def nc_band_files() -> list[Path]:
    return [NC / f"lsat7_2000_{b}.tif" for b in ("10", "20", "30", "40", "50", "70")]


@pytest.fixture(scope="session")
def nc_polygons_path() -> Path:
    return NC / "landsat96_polygons.shp"


@pytest.fixture(scope="session")
def l8_rgb_file() -> Path:
    return L8_78 / "LC08_L1TP_224078_20200518_20200518_01_RT.TIF"


@pytest.fixture(scope="session")
def l8_78_band_files() -> list[Path]:
    return [L8_78 / f"LC08_L1TP_224078_20200518_20200518_01_RT_{b}.TIF" for b in ("B2", "B3", "B4")]


@pytest.fixture(scope="session")
def l8_77_band_files() -> list[Path]:
    return [L8_77 / f"LC08_L1TP_224077_20200518_20200518_01_RT_{b}.TIF" for b in ("B2", "B3", "B4")]


class CountingScheduler:
    """A dask scheduler that counts calls; ``forbid=True`` raises on any compute."""

    def __init__(self, forbid: bool = False):
        self.calls = 0
        self.forbid = forbid

    def __call__(self, dsk, keys, **kwargs):
        self.calls += 1
        if self.forbid:
            raise AssertionError("something computed while it should have stayed lazy")
        return dask.get(dsk, keys, **kwargs)


@pytest.fixture
def no_compute():
    """Within the block, any dask compute raises."""
    scheduler = CountingScheduler(forbid=True)
    with dask.config.set(scheduler=scheduler):
        yield scheduler


def write_raster(
    path: Path,
    data: np.ndarray,
    *,
    crs="EPSG:32618",
    origin=(500000.0, 4000000.0),
    res=10.0,
    nodata=None,
    descriptions=None,
    **profile,
) -> Path:
    """Write ``data`` (bands, y, x) as a GeoTIFF; a helper for tests that build their own files."""
    data = np.asarray(data)
    if data.ndim == 2:
        data = data[None]
    meta = {
        "driver": "GTiff",
        "count": data.shape[0],
        "height": data.shape[1],
        "width": data.shape[2],
        "dtype": data.dtype,
        "crs": crs,
        "transform": from_origin(*origin, res, res),
        "nodata": nodata,
    }
    meta.update(profile)
    with rasterio.open(path, "w", **meta) as dst:
        dst.write(data)
        for i, d in enumerate(descriptions or [], start=1):
            dst.set_band_description(i, d)
    return path


@pytest.fixture(scope="module")
def polygons():
    """The shipped NC training polygons (a GeoDataFrame)."""
    from xr_landcover import datasets

    return datasets.nc_training_polygons()
