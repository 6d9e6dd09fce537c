"""Shared fixtures: paths to the real scenes in ../shared/data and small generated rasters."""

from __future__ import annotations

import importlib
import os
import pkgutil
from pathlib import Path

import dask
import numpy as np
import pytest
import rasterio
import xarray as xr
from hypothesis import settings
from rasterio.transform import from_origin

import xr_landcover

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NC = SHARED / "nc_landsat7_2000"
L8_78 = SHARED / "l8_224078_20200518"
L8_77 = SHARED / "l8_224077_20200518"
RGBN = SHARED / "rgbn_timeseries"

# Every module of the package imported before pytest collects the package's doctests: with
# --import-mode=importlib, pytest imports a module the package has not imported yet as a second
# module object, and the tests then see another module than the package's functions do
# (monkeypatch.setattr(pixels, ...) changed nothing; cloudpickle sent functions by value).
for _module in pkgutil.walk_packages(xr_landcover.__path__, "xr_landcover."):
    if not _module.name.endswith("__main__"):
        importlib.import_module(_module.name)

# Hypothesis profiles. "ci" (the default, and always when CI is set): derandomized, so every run
# draws the same examples and a failure replays as it is; no example database; 100 examples for
# the tests that leave the count to the profile (the cheap ones: the expensive ones pin a few
# with their own @settings). "explore": random draws and 1000 examples, to look for new
# failures by hand (HYPOTHESIS_PROFILE=explore); a failure prints the blob that replays it.
settings.register_profile("ci", derandomize=True, database=None, max_examples=100,
                          deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=1000, deadline=None,
                          print_blob=True)
settings.load_profile("ci" if os.environ.get("CI")
                      else os.environ.get("HYPOTHESIS_PROFILE", "ci"))


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


def rotated_transform(origin=(500000.0, 4000000.0), res=10.0, degrees=20.0):
    """The affine transform of a grid rotated by ``degrees`` about its top-left corner
    ``origin`` (a rotated GeoTIFF: ``write_raster(path, data, transform=...)``)."""
    from rasterio.transform import Affine

    return Affine.translation(*origin) * Affine.rotation(degrees) * Affine.scale(res, -res)


def grid_coords(ny: int, nx: int, origin=(500000.0, 4000000.0), res=10.0) -> dict:
    """Pixel-centre ``y`` (north to south) and ``x`` coordinates of a north-up grid whose
    top-left corner is ``origin``."""
    x0, y0 = origin
    return {"y": y0 - res * (np.arange(ny) + 0.5), "x": x0 + res * (np.arange(nx) + 0.5)}


def synthetic_cube(values, *, bands=None, origin=(500000.0, 4000000.0), res=10.0,
                   crs="EPSG:32618", nodata=None, chunks=None) -> xr.DataArray:
    """A band cube ``(band, y, x)`` of ``values`` on a georeferenced grid (CRS and transform
    written), bands named ``b0, b1, ...`` unless given; ``chunks`` as ``DataArray.chunk``
    takes them (None: numpy-backed)."""
    values = np.asarray(values)
    nb, ny, nx = values.shape
    cube = xr.DataArray(values, dims=("band", "y", "x"),
                        coords={"band": list(bands) if bands is not None
                                else [f"b{i}" for i in range(nb)],
                                **grid_coords(ny, nx, origin, res)})
    cube = cube.rio.write_crs(crs).rio.write_transform(from_origin(*origin, res, res))
    if nodata is not None:
        cube = cube.rio.write_nodata(nodata)
    return cube if chunks is None else cube.chunk(chunks)


def synthetic_class_map(data, *, values=None, names=None, colors=None, nodata=0,
                        origin=(500000.0, 4000000.0), res=10.0, crs="EPSG:32618",
                        chunks=None, time=None, name=None) -> xr.DataArray:
    """A class map ``(y, x)`` (``(time, y, x)`` with ``time`` coordinates) of ``data`` with
    the package's attrs: ``flag_values`` (default: the values present but the fill),
    ``flag_meanings``/``class_names`` (default ``class <v>``), ``colormap`` when ``colors``
    are given, ``_FillValue``; CRS and transform written. ``chunks`` as ``DataArray.chunk``
    takes them (None: numpy-backed)."""
    data = np.asarray(data)
    if values is None:
        values = [int(v) for v in np.unique(data) if v != nodata]
    names = list(names) if names is not None else [f"class_{v}" for v in values]
    ny, nx = data.shape[-2:]
    dims = ("y", "x") if time is None else ("time", "y", "x")
    coords = grid_coords(ny, nx, origin, res)
    if time is not None:
        coords["time"] = np.asarray(time)
    attrs = {"flag_values": list(values), "flag_meanings": " ".join(names),
             "class_names": names, "_FillValue": nodata}
    if colors is not None:
        attrs["colormap"] = {int(v): tuple(c) for v, c in zip(values, colors)}
    classes = xr.DataArray(data, dims=dims, coords=coords, attrs=attrs, name=name)
    classes = classes.rio.write_crs(crs).rio.write_transform(from_origin(*origin, res, res))
    if isinstance(chunks, tuple):  # per dimension, in order (xarray wants them by name)
        chunks = dict(zip(dims, chunks))
    return classes if chunks is None else classes.chunk(chunks)


@pytest.fixture(scope="module")
def polygons():
    """The shipped NC training polygons (a GeoDataFrame)."""
    from xr_landcover import datasets

    return datasets.nc_training_polygons()


def synthetic_probabilities(data, *, values=None, names=None, colors=None,
                            origin=(500000.0, 4000000.0), res=10.0, crs="EPSG:32618",
                            chunks=None) -> xr.DataArray:
    """A probability cube ``(class, y, x)`` (float32) of ``data`` with the attrs
    :func:`xr_landcover.predict_proba` writes: ``class`` coordinate (default 1..K),
    ``class_names`` (default ``class_<v>``), ``colormap`` when ``colors`` are given; CRS and
    transform written, NaN nodata. ``chunks`` as ``DataArray.chunk`` takes them."""
    data = np.asarray(data, dtype=np.float32)
    k, ny, nx = data.shape
    values = list(values) if values is not None else list(range(1, k + 1))
    names = list(names) if names is not None else [f"class_{v}" for v in values]
    attrs = {"long_name": "class probability", "units": "1", "class_names": names}
    if colors is not None:
        attrs["colormap"] = {int(v): tuple(c) for v, c in zip(values, colors)}
    p = xr.DataArray(data, dims=("class", "y", "x"), name="probabilities", attrs=attrs,
                     coords={"class": np.asarray(values, np.int64), **grid_coords(ny, nx,
                                                                                 origin, res)})
    p = p.rio.write_crs(crs).rio.write_transform(from_origin(*origin, res, res))
    p = p.rio.write_nodata(np.nan, encoded=False)
    return p if chunks is None else p.chunk(chunks)


def random_probabilities(rng, k, ny, nx, nodata_share=0.1, **kwargs) -> xr.DataArray:
    """:func:`synthetic_probabilities` of Dirichlet-random class probabilities (sharp, with
    near ties), NaN on about ``nodata_share`` of the pixels."""
    p = rng.dirichlet(np.full(k, 0.7), size=(ny, nx)).transpose(2, 0, 1)
    p[:, rng.random((ny, nx)) < nodata_share] = np.nan
    return synthetic_probabilities(p, **kwargs)


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MB tmpfs mounted for the test (root only), unmounted after it."""
    from helpers import mounted_tmpfs

    with mounted_tmpfs(tmp_path / "disk") as mount:
        yield mount
