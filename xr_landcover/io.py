"""Band cubes in and out: local rasters (rioxarray), STAC items (odc-stac), GeoTIFF writing.

A *band cube* is an :class:`xarray.DataArray` with dims ``("band", "y", "x")`` (optionally a
leading ``time``), a ``band`` coordinate of band names, CRS and transform through rioxarray and a
dask array underneath.  Nothing in this module reads pixels until the user computes.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.windows
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from dask.base import tokenize as dask_tokenize

from .errors import (
    DimensionError,
    GridMismatchError,
    InvalidInputTypeError,
    InvalidParameterError,
    OutputExistsError,
    OutputNotWritableError,
    RasterFileNotFoundError,
    RasterReadError,
    STACError,
)

__all__ = ["open_image", "load_stac", "stac_item_from_rasters", "DEFAULT_CHUNK_SIZE"]

#: Target edge length, in pixels, of a chunk when the caller gives none.
DEFAULT_CHUNK_SIZE = 1024

PathLike = str | os.PathLike


# --------------------------------------------------------------------------------------------
# Local rasters
# --------------------------------------------------------------------------------------------


def _check_raster_path(path: PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise RasterFileNotFoundError(f"raster file not found: '{path}'")
    if path.is_dir():
        raise RasterReadError(f"'{path}' is a folder, not a raster file")
    return path


def _raster_profile(path: Path) -> dict[str, Any]:
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
                }
    except rasterio.errors.RasterioError as exc:
        raise RasterReadError(
            f"cannot read '{path}' as a raster: {exc}. Is it a GeoTIFF (or another "
            "GDAL-readable raster), complete and not corrupt?"
        ) from None


def _grid_text(profile: Mapping[str, Any]) -> str:
    t = profile["transform"]
    crs = profile["crs"].to_string() if profile["crs"] else None
    return (
        f"{profile['width']}x{profile['height']} px, CRS {crs}, "
        f"origin ({t.c:.3f}, {t.f:.3f}), pixel ({t.a:.3f}, {t.e:.3f})"
    )


def _same_grid(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return (
        a["width"] == b["width"]
        and a["height"] == b["height"]
        and a["crs"] == b["crs"]
        and a["transform"].almost_equals(b["transform"], precision=1e-9)
    )


_BAND_TOKEN = re.compile(r"(?:^|[_\-.])(B\d{1,2}[A-Z]?|\d{1,3})$", re.IGNORECASE)


def band_name_from_filename(path: PathLike) -> str:
    """Guess a band name from a single-band file's name.

    The last ``_``-separated token of the file's stem is used when it looks like a band
    (``B4``, ``B8A``, ``40``); otherwise the whole stem.

    Examples
    --------
    >>> band_name_from_filename("LC08_L1TP_224078_20200518_20200518_01_RT_B4.TIF")
    'B4'
    >>> band_name_from_filename("lsat7_2000_40.tif")
    '40'
    >>> band_name_from_filename("nir.tif")
    'nir'
    """
    stem = Path(path).stem
    match = _BAND_TOKEN.search(stem)
    return match.group(1).upper() if match else stem


def _default_chunks(profile: Mapping[str, Any], size: int = DEFAULT_CHUNK_SIZE) -> dict[str, int]:
    """A chunk shape that is a multiple of the file's internal blocks, near ``size`` pixels."""
    block_h, block_w = profile["block_shapes"][0]

    def multiple(block: int, extent: int) -> int:
        if block >= extent or block <= 0:  # striped along this axis, or a single block
            return min(size, extent)
        return max(block, (size // block) * block)

    return {
        "band": -1,
        "y": multiple(block_h, profile["height"]),
        "x": multiple(block_w, profile["width"]),
    }


def _normalise_chunks(chunks: Any, profile: Mapping[str, Any]) -> dict[str, Any]:
    if chunks is None or chunks == "auto":
        return _default_chunks(profile)
    if isinstance(chunks, int | np.integer):
        if chunks <= 0:
            raise InvalidParameterError(f"chunks must be a positive number of pixels, got {chunks}")
        return {"band": -1, "y": int(chunks), "x": int(chunks)}
    if isinstance(chunks, Mapping):
        return {"band": -1, **dict(chunks)}
    if isinstance(chunks, tuple) and len(chunks) in (2, 3):
        y, x = chunks[-2:]
        return {"band": -1 if len(chunks) == 2 else chunks[0], "y": y, "x": x}
    raise InvalidParameterError(
        "chunks must be None, 'auto', an int (pixels per chunk edge), a (y, x) tuple or a "
        f"mapping such as {{'y': 1024, 'x': 1024}}; got {chunks!r}"
    )


class RasterWindowReader:
    """An array-like view of a raster file that reads one window per ``__getitem__``.

    ``dask.array.from_array`` calls it once per chunk. Each call opens the file itself (no
    shared handle, so threads and processes read in parallel) and turns a read failure into a
    :class:`RasterReadError` that names the file and the window, instead of GDAL's bare
    "Read failed".
    """

    def __init__(self, path: PathLike, count: int, height: int, width: int, dtype: str):
        self.path = str(path)
        self.shape = (count, height, width)
        self.dtype = np.dtype(dtype)
        self.ndim = 3

    def __getitem__(self, key: tuple) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (3 - len(key))
        bands, rows, cols = (k if isinstance(k, slice) else slice(int(k), int(k) + 1) for k in key)
        b0, b1, _ = bands.indices(self.shape[0])
        r0, r1, _ = rows.indices(self.shape[1])
        c0, c1, _ = cols.indices(self.shape[2])
        window = rasterio.windows.Window(c0, r0, max(c1 - c0, 0), max(r1 - r0, 0))
        try:
            # No warnings.catch_warnings here: this runs in dask's worker threads, and
            # catch_warnings is not thread-safe (it can leave filters that hide the user's
            # warnings). A raster without georeferencing warns once, at most.
            with rasterio.open(self.path) as src:
                data = src.read(list(range(b0 + 1, b1 + 1)), window=window)
        except rasterio.errors.RasterioError as exc:
            raise RasterReadError(
                f"cannot read rows {r0}:{r1}, columns {c0}:{c1} (bands {b0 + 1}-{b1}) of "
                f"'{self.path}': {str(exc).rstrip('.')}. The file is corrupt or truncated "
                "in that window."
            ) from None
        # apply steps and integer indices the window could not express
        steps = tuple(slice(None, None, k.step) if isinstance(k, slice) else 0 for k in key)
        return data[steps]


def _pixel_centres(start: float, step: float, n: int) -> np.ndarray:
    return start + step * (np.arange(n) + 0.5)


def _open_one(profile: Mapping[str, Any], chunks: Mapping[str, Any]) -> xr.DataArray:
    import dask.array as dsa

    path = profile["path"]
    reader = RasterWindowReader(
        path, profile["count"], profile["height"], profile["width"], profile["dtype"]
    )
    band_chunk = chunks.get("band", -1)
    data = dsa.from_array(
        reader,
        chunks=(band_chunk, chunks["y"], chunks["x"]),
        lock=False,
        asarray=True,
        fancy=False,
        meta=np.empty((0, 0, 0), dtype=reader.dtype),
        name="open_image-"
        + dask_tokenize(path, os.path.getmtime(path), reader.shape, dict(chunks)),
    )
    t = profile["transform"]
    return xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={
            "band": np.arange(1, profile["count"] + 1),
            "y": _pixel_centres(t.f, t.e, profile["height"]),
            "x": _pixel_centres(t.c, t.a, profile["width"]),
        },
    )


def open_image(
    path_or_paths: PathLike | Sequence[PathLike],
    chunks: int | tuple | Mapping[str, int] | str | None = None,
    band_names: Sequence[str] | None = None,
    nodata: float | None = None,
    masked: bool = True,
) -> xr.DataArray:
    """Open one multi-band raster, or several single-band rasters on one grid, as a band cube.

    Nothing is read but the file headers: the result is backed by a dask array.

    Parameters
    ----------
    path_or_paths : str, path or sequence of them
        One raster file (all its bands are used) or a list of files on the same pixel grid
        (stacked along ``band`` in the order given).
    chunks : int, tuple, mapping, "auto" or None
        Chunk size in pixels. ``None``/"auto" uses a multiple of the file's internal blocks
        near 1024 px; all bands always sit in one chunk.
    band_names : sequence of str, optional
        Names for the ``band`` coordinate. By default band descriptions are used when the file
        has them, else a name taken from each file name (``..._B4.TIF`` → ``"B4"``,
        ``lsat7_2000_40.tif`` → ``"40"``), else ``"1"``, ``"2"``...
    nodata : float, optional
        The value that marks missing pixels, overriding (or supplying) what the files declare.
        The Landsat 8 sample declares none but has zeros outside its footprint: pass
        ``nodata=0``.
    masked : bool, default True
        If True and a nodata value is known, the cube is float32 with NaN for nodata (the
        original value stays in ``encoding["_FillValue"]``). If False the raw dtype is kept and
        ``cube.rio.nodata`` tells the nodata value.

    Returns
    -------
    xarray.DataArray
        Dims ``("band", "y", "x")``, dask-backed, with CRS and transform via rioxarray.

    Raises
    ------
    RasterFileNotFoundError
        A file does not exist (also a ``FileNotFoundError``).
    RasterReadError
        A file is not a readable raster.
    GridMismatchError
        Several files do not share one grid (they are never resampled silently).
    InvalidParameterError
        ``band_names`` has the wrong length, or ``chunks`` is malformed.

    Examples
    --------
    >>> import xr_landcover
    >>> from xr_landcover import datasets
    >>> cube = xr_landcover.open_image(datasets.nc_landsat7_path())
    >>> cube.dims
    ('band', 'y', 'x')
    >>> list(cube.band.values)
    ['blue', 'green', 'red', 'nir', 'swir1', 'swir2']
    >>> cube.dtype, cube.rio.crs is not None
    (dtype('float32'), True)
    """
    if isinstance(path_or_paths, str | os.PathLike):
        paths = [path_or_paths]
        single_file = True
    elif isinstance(path_or_paths, Iterable):
        paths = list(path_or_paths)
        single_file = len(paths) == 1
        if not paths:
            raise InvalidParameterError("open_image needs at least one path; got an empty list")
    else:
        raise InvalidInputTypeError(
            f"path_or_paths must be a path or a list of paths, got {type(path_or_paths).__name__}"
        )
    for p in paths:
        if not isinstance(p, str | os.PathLike):
            raise InvalidInputTypeError(f"each path must be a str or os.PathLike, got {p!r}")

    profiles = [_raster_profile(_check_raster_path(p)) for p in paths]
    first = profiles[0]
    for other in profiles[1:]:
        if not _same_grid(first, other):
            raise GridMismatchError(
                "the rasters are not on one pixel grid:\n"
                f"  '{first['path']}': {_grid_text(first)}\n"
                f"  '{other['path']}': {_grid_text(other)}\n"
                "Resample one onto the other first (e.g. cube.rio.reproject_match); "
                "open_image never resamples silently."
            )
    chunk_spec = _normalise_chunks(chunks, first)

    parts: list[xr.DataArray] = []
    names: list[str] = []
    for profile in profiles:
        da = _open_one(profile, chunk_spec)
        file_nodata = nodata if nodata is not None else profile["nodata"]
        if masked and file_nodata is not None:
            raw = da
            da = raw.astype("float32")
            if not np.isnan(file_nodata):
                da = da.where(raw != file_nodata)
        elif not masked and file_nodata is not None and parts:
            reference = parts[0].attrs.get("_xrl_nodata")
            if reference is not None and reference != file_nodata:
                # One cube has one nodata value: map this file's to the first file's.
                da = da.where(da != file_nodata, reference)
            file_nodata = reference if reference is not None else file_nodata
        da.attrs = {"_xrl_nodata": file_nodata}
        parts.append(da)
        descriptions = profile["descriptions"]
        if all(descriptions) and len(set(descriptions)) == len(descriptions):
            names.extend(descriptions)
        elif profile["count"] == 1 and not single_file:
            names.append(band_name_from_filename(profile["path"]))
        else:
            names.extend(str(i + 1) for i in range(profile["count"]))

    cube = parts[0] if len(parts) == 1 else xr.concat(parts, dim="band", join="override")
    file_nodata = parts[0].attrs["_xrl_nodata"]
    if masked:
        cube = cube.astype("float32") if file_nodata is not None else cube
    if band_names is not None:
        band_names = [str(b) for b in band_names]
        if len(band_names) != cube.sizes["band"]:
            raise InvalidParameterError(
                f"band_names has {len(band_names)} names but the raster(s) have "
                f"{cube.sizes['band']} bands"
            )
        names = band_names
    if len(set(names)) != len(names):
        names = [f"{n}_{i + 1}" for i, n in enumerate(names)]
    cube = cube.assign_coords(band=np.array(names, dtype=object))
    cube = cube.chunk({"band": -1}) if len(parts) > 1 else cube
    cube.attrs = {}
    cube.encoding = {}
    cube.name = Path(first["path"]).stem if single_file else "bands"
    cube = cube.rio.write_crs(first["crs"]) if first["crs"] is not None else cube
    cube = cube.rio.write_transform(first["transform"])
    if file_nodata is not None:
        cube = cube.rio.write_nodata(file_nodata, encoded=masked)
    return cube


# --------------------------------------------------------------------------------------------
# STAC
# --------------------------------------------------------------------------------------------


def _items_from(items: Any) -> list:
    import pystac

    if isinstance(items, str | os.PathLike):
        path = Path(items)
        if not path.exists():
            raise RasterFileNotFoundError(f"STAC file not found: '{path}'")
        try:
            obj = pystac.read_file(str(path))
        except Exception as exc:  # pystac raises many types for bad JSON
            raise STACError(
                f"cannot read '{path}' as a STAC catalog, collection or item: {exc}"
            ) from None
        if isinstance(obj, pystac.Item):
            return [obj]
        if isinstance(obj, pystac.ItemCollection):
            return list(obj)
        if isinstance(obj, pystac.Catalog):  # Collection subclasses Catalog
            return list(obj.get_items(recursive=True))
        raise STACError(
            f"'{path}' is a STAC {type(obj).__name__}, not a catalog, collection or item"
        )
    if isinstance(items, pystac.Item):
        return [items]
    if isinstance(items, pystac.ItemCollection | Iterable):
        found = list(items)
        bad = [i for i in found if not isinstance(i, pystac.Item)]
        if bad:
            raise InvalidInputTypeError(
                f"items must be pystac.Item objects; got {type(bad[0]).__name__}"
            )
        return found
    raise InvalidInputTypeError(
        "items must be a list of pystac Items, an ItemCollection, or the path to a static "
        f"catalog/collection JSON; got {type(items).__name__}"
    )


def load_stac(
    items: Any,
    bands: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    bbox: Sequence[float] | None = None,
    bbox_crs: Any = None,
    crs: Any = None,
    resolution: float | None = None,
    chunks: int | Mapping[str, int] | None = None,
    groupby: str | None = "solar_day",
    nodata: float | None = None,
    masked: bool = True,
) -> xr.DataArray:
    """Load STAC items as a band cube, mosaicked and clipped by odc-stac.

    Parameters
    ----------
    items : list of pystac.Item, pystac.ItemCollection, or path
        The items, or the path to a static catalog, collection or item collection JSON file
        (items are gathered recursively).
    bands : sequence of str, optional
        Asset keys to load, in this order (default: every raster asset odc-stac finds).
    ids : sequence of str, optional
        Keep only the items with these ids (ArcGIS users pick "the scene by OBJECTID").
    bbox : (minx, miny, maxx, maxy), optional
        The analysis extent, in ``bbox_crs`` (default EPSG:4326, longitude/latitude).
    bbox_crs : CRS-like, optional
        CRS of ``bbox``, e.g. ``"EPSG:3857"`` for a Web Mercator extent.
    crs, resolution : optional
        Output CRS and pixel size; default the items' native grid.
    chunks : int or mapping, optional
        Chunk edge in pixels (default 1024).
    groupby : str, default "solar_day"
        How items are grouped into time steps (passed to :func:`odc.stac.load`).
    nodata : float, optional
        Nodata value to use where the items' metadata declare none (the Landsat 8 sample needs
        ``nodata=0``). Pixels equal to nodata are filled from overlapping items when mosaicking.
    masked : bool, default True
        Turn nodata into NaN (float32), as :func:`open_image` does.

    Returns
    -------
    xarray.DataArray
        Dims ``("time", "band", "y", "x")``, or ``("band", "y", "x")`` when there is one
        time step; dask-backed.

    Raises
    ------
    STACError
        No items (or none with the given ids / inside the bbox), or a band no item has.
    """
    import odc.geo.geom
    import odc.stac

    found = _items_from(items)
    if ids is not None:
        wanted = [str(i) for i in ([ids] if isinstance(ids, str) else ids)]
        by_id = {item.id: item for item in found}
        missing = [i for i in wanted if i not in by_id]
        if missing:
            raise STACError(f"no STAC item with id {missing}; available ids: {sorted(by_id)[:20]}")
        found = [by_id[i] for i in wanted]
    if not found:
        raise STACError("no STAC items to load (the list, catalog or collection is empty)")

    if bands is not None:
        bands = [bands] if isinstance(bands, str) else list(bands)
        known = _stac_band_names(found)
        unknown = [b for b in bands if b not in known]
        if unknown:
            raise STACError(
                f"band(s) {unknown} are not assets (or named bands of assets) of the items; "
                f"available: {sorted(known)}"
            )

    load_kwargs: dict[str, Any] = {
        "bands": bands,
        "groupby": groupby,
        "chunks": _stac_chunks(chunks),
        "fail_on_error": True,
    }
    if crs is not None:
        load_kwargs["crs"] = crs
    if resolution is not None:
        load_kwargs["resolution"] = resolution
    if nodata is not None:
        load_kwargs["nodata"] = nodata
    if bbox is not None:
        if len(bbox) != 4:
            raise InvalidParameterError(f"bbox must be (minx, miny, maxx, maxy), got {bbox!r}")
        minx, miny, maxx, maxy = (float(v) for v in bbox)
        if not (minx < maxx and miny < maxy):
            raise InvalidParameterError(f"bbox must have minx < maxx and miny < maxy, got {bbox!r}")
        geom = odc.geo.geom.box(minx, miny, maxx, maxy, crs=bbox_crs or "EPSG:4326")
        footprint = odc.geo.geom.unary_union(
            [
                odc.geo.geom.Geometry(item.geometry, crs="EPSG:4326")
                for item in found
                if item.geometry
            ]
        )
        if footprint is not None and not footprint.intersects(geom.to_crs("EPSG:4326")):
            raise STACError(
                f"the bbox {tuple(bbox)} ({bbox_crs or 'EPSG:4326'}) touches none of the items"
            )
        load_kwargs["geopolygon"] = geom

    try:
        ds = odc.stac.load(found, **load_kwargs)
    except ValueError as exc:
        raise STACError(f"odc-stac could not load the items: {exc}") from None

    band_vars = list(ds.data_vars)
    cube = ds[band_vars].to_dataarray("band").transpose("time", "band", "y", "x")
    cube = cube.chunk({"band": -1})
    cube = cube.assign_coords(band=np.array(band_vars, dtype=object))
    declared = [ds[b].attrs.get("nodata") for b in band_vars]
    fill = nodata if nodata is not None else next((v for v in declared if v is not None), None)
    if masked and fill is not None:
        raw = cube
        cube = raw.astype("float32")
        if not np.isnan(fill):
            cube = cube.where(raw != fill)
    crs_out = ds.odc.crs
    cube.attrs = {}
    cube.name = "bands"
    if cube.sizes["time"] == 1:
        cube = cube.isel(time=0, drop=True)
    cube = cube.rio.write_crs(str(crs_out))
    cube = cube.rio.write_transform(ds.odc.geobox.affine)
    if fill is not None:
        cube = cube.rio.write_nodata(fill, encoded=masked)
    return cube


def _stac_band_names(items: Sequence[Any]) -> set[str]:
    """Asset keys, plus the band names and ``asset.N`` aliases of multi-band assets."""
    names: set[str] = set()
    for item in items:
        for key, asset in item.assets.items():
            names.add(key)
            for i, band in enumerate(asset.extra_fields.get("eo:bands", []), start=1):
                names.add(f"{key}.{i}")
                names.update(str(band[f]) for f in ("name", "common_name") if band.get(f))
    return names


def _stac_chunks(chunks: Any) -> dict[str, int]:
    if chunks is None:
        return {"x": DEFAULT_CHUNK_SIZE, "y": DEFAULT_CHUNK_SIZE}
    if isinstance(chunks, int):
        return {"x": chunks, "y": chunks}
    if isinstance(chunks, Mapping):
        return {k: v for k, v in chunks.items() if k in ("x", "y", "time")}
    raise InvalidParameterError(f"chunks must be an int or a mapping, got {chunks!r}")


def stac_item_from_rasters(
    item_id: str,
    assets: Mapping[str, PathLike],
    datetime: Any,
    properties: Mapping[str, Any] | None = None,
    band_names: Mapping[str, Sequence[str]] | None = None,
) -> Any:
    """Describe local rasters as one STAC item (projection and raster extensions filled in).

    Handy to build a local static catalog for :func:`load_stac` from files on disk, e.g. in
    tests or air-gapped machines. Only file headers are read.

    Parameters
    ----------
    item_id : str
        The item's id.
    assets : mapping of band name to path
        One single-band (or multi-band) raster per asset, all on the same grid.
    datetime : datetime.datetime or str
        Acquisition time (ISO 8601 strings are parsed).
    properties : mapping, optional
        Extra item properties.
    band_names : mapping of asset name to band names, optional
        Names of the bands inside multi-band assets (written as ``eo:bands``), e.g.
        ``{"rgbn": ["red", "green", "blue", "nir"]}``.

    Returns
    -------
    pystac.Item

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> item = stac_item_from_rasters("nc", {"bands": datasets.nc_landsat7_path()}, "2000-05-24")
    >>> item.properties["proj:shape"]
    [443, 489]
    """
    import datetime as dt

    import pystac
    from pyproj import Transformer
    from shapely.geometry import box, mapping

    if isinstance(datetime, str):
        datetime = dt.datetime.fromisoformat(datetime)
    if datetime.tzinfo is None:
        datetime = datetime.replace(tzinfo=dt.UTC)
    profiles = {name: _raster_profile(_check_raster_path(p)) for name, p in assets.items()}
    first = next(iter(profiles.values()))
    for name, other in profiles.items():
        if not _same_grid(first, other):
            raise GridMismatchError(f"asset '{name}' is not on the grid of the item's first asset")
    t = first["transform"]
    left, top = t.c, t.f
    right, bottom = left + t.a * first["width"], top + t.e * first["height"]
    to_lonlat = Transformer.from_crs(first["crs"], "EPSG:4326", always_xy=True)
    xs = np.linspace(left, right, 21)
    ys = np.linspace(bottom, top, 21)
    edge_x = np.concatenate([xs, np.full(21, right), xs[::-1], np.full(21, left)])
    edge_y = np.concatenate([np.full(21, bottom), ys, np.full(21, top), ys[::-1]])
    lon, lat = to_lonlat.transform(edge_x, edge_y)
    footprint = box(min(lon), min(lat), max(lon), max(lat))
    props = dict(properties or {})
    epsg = first["crs"].to_epsg()
    if epsg is not None:
        props["proj:code"] = f"EPSG:{epsg}"
    else:
        props["proj:wkt2"] = first["crs"].to_wkt()
    props["proj:shape"] = [first["height"], first["width"]]
    props["proj:transform"] = list(t)[:6]
    item = pystac.Item(
        id=item_id,
        geometry=mapping(footprint),
        bbox=list(footprint.bounds),
        datetime=datetime,
        properties=props,
    )
    item.stac_extensions = [
        "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
        "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
        "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
    ]
    for name, profile in profiles.items():
        extra: dict[str, Any] = {
            "raster:bands": [
                {
                    "data_type": profile["dtype"],
                    **({"nodata": profile["nodata"]} if profile["nodata"] is not None else {}),
                }
            ]
            * profile["count"]
        }
        names = (band_names or {}).get(name)
        if profile["count"] > 1 or names:
            names = list(names or (f"{name}.{i + 1}" for i in range(profile["count"])))
            if len(names) != profile["count"]:
                raise InvalidParameterError(
                    f"band_names['{name}'] has {len(names)} names; the asset has "
                    f"{profile['count']} bands"
                )
            extra["eo:bands"] = [{"name": n} for n in names]
        item.add_asset(
            name,
            pystac.Asset(
                href=str(Path(profile["path"]).resolve()),
                media_type=pystac.MediaType.GEOTIFF,
                roles=["data"],
                extra_fields=extra,
            ),
        )
    return item


# --------------------------------------------------------------------------------------------
# GeoTIFF out
# --------------------------------------------------------------------------------------------

__all__ += ["to_geotiff", "to_geotiffs"]


class _WindowWriter:
    """A ``dask.array.store`` target writing each block as a window of a GeoTIFF on disk.

    The file is opened per block (under the store's lock), so the target holds only a path and
    also works with a distributed scheduler whose workers see the same disk.
    """

    def __init__(self, path: Path, has_band_dim: bool):
        self.path = str(path)
        self.has_band_dim = has_band_dim

    def __setitem__(self, key: tuple, value: np.ndarray) -> None:
        from rasterio.windows import Window

        ys, xs = key[-2], key[-1]
        window = Window(xs.start, ys.start, xs.stop - xs.start, ys.stop - ys.start)
        with rasterio.open(self.path, "r+") as dst:
            if self.has_band_dim:
                bands = range(key[0].start or 0, key[0].stop or dst.count)
                dst.write(value, indexes=[b + 1 for b in bands], window=window)
            else:
                dst.write(value, indexes=1, window=window)


def check_output_path(path: PathLike, overwrite: bool) -> Path:
    """``path`` as a Path, once its folder exists and it may be (over)written; else a clear error.

    Raises
    ------
    RasterFileNotFoundError
        The folder does not exist.
    OutputNotWritableError
        The "folder" is a file.
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    if not path.parent.exists():
        raise RasterFileNotFoundError(f"the output folder '{path.parent}' does not exist")
    if not path.parent.is_dir():
        raise OutputNotWritableError(
            f"cannot write '{path}': '{path.parent}' is a file, not a folder"
        )
    if path.exists() and not overwrite:
        raise OutputExistsError(f"'{path}' exists; pass overwrite=True to replace it")
    return path


#: GDAL block cache (MB) while the staging file is copied into the compressed GeoTIFF. GDAL's
#: default (5 % of the machine's memory) lets the cache grow with the file: 1.2 GB on a 24 GB
#: machine, reached by a 40000² class map. A small cache gives the same bytes at the same speed.
COPY_CACHE_MB = 64


def copy_cache_env() -> dict:
    """``{"GDAL_CACHEMAX": COPY_CACHE_MB}`` unless the user has set ``GDAL_CACHEMAX`` (in the
    environment or an active ``rasterio.Env``), whose choice is then kept.

    Examples
    --------
    >>> import rasterio
    >>> copy_cache_env() == {"GDAL_CACHEMAX": COPY_CACHE_MB}
    True
    >>> with rasterio.Env(GDAL_CACHEMAX=512):
    ...     copy_cache_env()
    {}
    """
    if "GDAL_CACHEMAX" in os.environ:
        return {}
    try:
        if "GDAL_CACHEMAX" in rasterio.env.getenv():
            return {}
    except rasterio.errors.EnvError:  # no rasterio.Env active
        pass
    return {"GDAL_CACHEMAX": COPY_CACHE_MB}


def to_geotiff(
    da: xr.DataArray,
    path: PathLike,
    overwrite: bool = False,
    compress: str = "deflate",
    tile_size: int = 256,
    lock: Any = None,
) -> Path:
    """Write a class map (or any band cube) as a tiled, compressed GeoTIFF, atomically.

    Blocks are computed and written one by one (``dask.array.store``, on any scheduler) into an
    uncompressed staging file in the same folder; that file is then copied, tile by tile in
    file order, into the compressed GeoTIFF, which replaces ``path`` only when complete. An
    error or interrupt mid-way leaves no partial file and an existing ``path`` untouched, and
    the same data give byte-identical files whatever the scheduler (blocks written directly
    would land in the file in the order they finish). The staging file needs the uncompressed
    size on disk for the duration of the write; the copy runs with a small GDAL block cache
    (:data:`COPY_CACHE_MB`, unless you set ``GDAL_CACHEMAX``), so memory does not grow with the
    file. A class map's ``colormap``
    becomes the GeoTIFF colour table, its class names GDAL metadata (``CLASS_<value>`` tags,
    CF ``flag_values``/``flag_meanings`` on the band) and its ``_FillValue`` the nodata value.

    Parameters
    ----------
    da : xarray.DataArray
        ``("y", "x")`` or ``("band", "y", "x")``, with CRS and transform (rioxarray).
    path : str or path
        Output file; its folder must exist.
    overwrite : bool, default False
        Replace an existing file.
    compress : str, default "deflate"
        GDAL compression (``"deflate"``, ``"lzw"``, ``"zstd"``, ``"none"``...).
    tile_size : int, default 256
        Tile edge in pixels (a multiple of 16).
    lock : optional
        Lock shared by the block writes (default the one dask picks for the active scheduler:
        a serializable lock for threads, a manager lock for processes, a
        ``distributed.Lock`` on a cluster).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    RasterFileNotFoundError
        The output folder does not exist.
    OutputNotWritableError
        The output folder cannot be written (read-only, or a file where a folder should be).
    DimensionError
        Dims other than ``(y, x)`` / ``(band, y, x)`` (select a time step first).

    Examples
    --------
    >>> import tempfile, pathlib, rasterio
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[1, 2], [2, 0]], "uint8"), dims=("y", "x"),
    ...                  coords={"y": [15.0, 5.0], "x": [5.0, 15.0]}, name="landcover",
    ...                  attrs={"colormap": {1: (70, 107, 159), 2: (56, 133, 56)},
    ...                         "flag_values": np.array([1, 2], "uint8"),
    ...                         "class_names": ["water", "forest"], "_FillValue": 0})
    >>> m = m.rio.write_crs("EPSG:32618")
    >>> out = to_geotiff(m, pathlib.Path(tempfile.mkdtemp()) / "classes.tif")
    >>> with rasterio.open(out) as src:
    ...     src.colormap(1)[1], src.nodata, src.tags()["CLASS_2"]
    ((70, 107, 159, 255), 0.0, 'forest')
    """
    return to_geotiffs({path: da}, overwrite=overwrite, compress=compress,
                       tile_size=tile_size, lock=lock)[0]


def to_geotiffs(
    layers: Mapping[PathLike, xr.DataArray],
    overwrite: bool = False,
    compress: str = "deflate",
    tile_size: int = 256,
    lock: Any = None,
) -> list[Path]:
    """Write several layers of one computation as GeoTIFFs, computing their graph once.

    :func:`to_geotiff` for each ``path: layer`` of ``layers``, except that every layer's blocks
    are stored by one ``dask.array.store`` call: layers that share work (the class map and the
    confidence of one :func:`~xr_landcover.classify` call) compute it once. Every path is
    checked before any work; the files replace their paths only once all are complete.

    Parameters
    ----------
    layers : mapping of path to xarray.DataArray
        Each as :func:`to_geotiff` takes it.
    overwrite, compress, tile_size, lock
        As in :func:`to_geotiff`, for every layer.

    Returns
    -------
    list of pathlib.Path, in the order of ``layers``.

    Raises
    ------
    Those of :func:`to_geotiff`; InvalidParameterError when two layers have the same path.

    Examples
    --------
    >>> import tempfile, pathlib, rasterio
    >>> import numpy as np, xarray as xr
    >>> grid = {"y": [15.0, 5.0], "x": [5.0, 15.0]}
    >>> a = xr.DataArray(np.array([[1, 2], [2, 1]], "uint8"), dims=("y", "x"), coords=grid)
    >>> a = a.rio.write_crs("EPSG:32618")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> paths = to_geotiffs({folder / "a.tif": a, folder / "b.tif": (a * 2).astype("uint8")})
    >>> with rasterio.open(paths[1]) as src:
    ...     src.read(1).tolist()
    [[2, 4], [4, 2]]
    """
    import uuid

    import dask.array as dsa
    import rasterio.shutil
    from dask.utils import get_scheduler_lock

    arrays = [_geotiff_layer(da) for da in layers.values()]
    if tile_size <= 0 or tile_size % 16:
        raise InvalidParameterError(f"tile_size must be a positive multiple of 16, got {tile_size}")
    paths = [check_output_path(path, overwrite) for path in layers]
    if len({p.resolve() for p in paths}) < len(paths):
        raise InvalidParameterError(f"two layers would be written to the same file: {paths}")
    token = uuid.uuid4().hex[:12]
    # per layer: an uncompressed stage (blocks land in any order), then the final bytes
    stages = [p.with_name(f".{p.name}.{token}.stage.tif") for p in paths]
    tmps = [p.with_name(f".{p.name}.{token}.tmp.tif") for p in paths]
    try:
        sources, targets = [], []
        for da, path, stage in zip(arrays, paths, stages):
            _create_stage(da, path, stage, tile_size)
            data = da.data
            if isinstance(data, dsa.Array):
                sources.append(data.astype(_geotiff_dtype(da)))
                targets.append(_WindowWriter(stage, da.dims[0] == "band"))
            else:
                with rasterio.open(stage, "r+") as dst:
                    arr = np.asarray(data, dtype=_geotiff_dtype(da))
                    dst.write(arr if da.dims[0] == "band" else arr[None])
        if sources:
            dsa.store(sources, targets,
                      lock=lock if lock is not None else get_scheduler_lock(sources[0]))
        # GDAL's CreateCopy writes the tiles in file order: the bytes depend on the data only.
        for stage, tmp in zip(stages, tmps):
            with warnings.catch_warnings(), rasterio.Env(**copy_cache_env()):
                warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
                rasterio.shutil.copy(
                    stage, tmp, driver="GTiff", tiled=True, blockxsize=tile_size,
                    blockysize=tile_size, compress=compress, sparse_ok=True,
                    bigtiff="IF_SAFER",
                )
            stage.unlink()
        for tmp, path in zip(tmps, paths):
            os.replace(tmp, path)
    except BaseException:
        for leftover in (*stages, *tmps):
            if leftover.exists():
                leftover.unlink()
        raise
    return paths


def _geotiff_layer(da: xr.DataArray) -> xr.DataArray:
    """``da`` as ``(y, x)`` or ``(band, y, x)``, or the error saying what to select."""
    if isinstance(da, xr.Dataset):
        raise InvalidInputTypeError(
            "to_geotiff writes one DataArray; pick a variable, e.g. ds['landcover']"
        )
    if not isinstance(da, xr.DataArray):
        raise InvalidInputTypeError(f"to_geotiff needs a DataArray, got {type(da).__name__}")
    if da.dims not in (("y", "x"), ("band", "y", "x")):
        if set(da.dims) in ({"y", "x"}, {"band", "y", "x"}):
            return da.transpose(..., "y", "x")
        raise DimensionError(
            f"to_geotiff writes ('y', 'x') or ('band', 'y', 'x') arrays; got {da.dims}. "
            "Select one time step first, e.g. da.isel(time=0)"
        )
    return da


def _geotiff_dtype(da: xr.DataArray) -> np.dtype:
    return np.dtype("uint8") if da.dtype == bool else da.dtype


def _create_stage(da: xr.DataArray, path: Path, stage: Path, tile_size: int) -> None:
    """The uncompressed staging GeoTIFF of ``da``, with its grid, nodata, band names, colour
    table and class names, ready for the blocks."""
    has_band = da.dims[0] == "band"
    count = da.sizes["band"] if has_band else 1
    dtype = _geotiff_dtype(da)
    if np.issubdtype(dtype, np.floating):
        nodata = da.rio.nodata if da.rio.nodata is not None else np.nan
    else:
        nodata = da.attrs.get("_FillValue", da.rio.nodata)
        if nodata is None:
            nodata = da.rio.encoded_nodata
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": da.sizes["x"],
        "height": da.sizes["y"],
        "count": count,
        "dtype": dtype.name,
        "crs": da.rio.crs,
        "transform": da.rio.transform(),
        "nodata": nodata,
        "tiled": True,
        "blockxsize": tile_size,
        "blockysize": tile_size,
        "sparse_ok": True,
    }
    colormap = da.attrs.get("colormap")
    values = [int(v) for v in np.atleast_1d(da.attrs.get("flag_values", []))]
    names = list(da.attrs.get("class_names", []))
    if not names and da.attrs.get("flag_meanings"):
        names = str(da.attrs["flag_meanings"]).split()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        try:
            dst = rasterio.open(stage, "w", **profile, compress="none", bigtiff="IF_NEEDED")
        except rasterio.errors.RasterioIOError as exc:
            raise OutputNotWritableError(
                f"cannot write '{path}': creating a file in '{path.parent}' failed "
                f"({str(exc).split(': ')[-1]}). Is the folder writable?"
            ) from None
        with dst:
            if has_band:
                for i, b in enumerate(da.band.values, start=1):
                    dst.set_band_description(i, str(b))
            elif da.name:
                dst.set_band_description(1, str(da.name))
            if colormap and count == 1 and dtype in (np.uint8, np.uint16):
                table = {int(v): (*(int(c) for c in rgb), 255) for v, rgb in colormap.items()}
                if nodata is not None and int(nodata) not in table:
                    table[int(nodata)] = (0, 0, 0, 0)
                dst.write_colormap(1, table)
            if values and len(names) == len(values):
                dst.update_tags(**{f"CLASS_{v}": str(n) for v, n in zip(values, names)})
                dst.update_tags(
                    1,
                    flag_values=" ".join(str(v) for v in values),
                    flag_meanings=da.attrs.get("flag_meanings", " ".join(names)),
                )


# --------------------------------------------------------------------------------------------
# Zarr out (and back in)
# --------------------------------------------------------------------------------------------

__all__ += ["to_zarr", "open_zarr"]


def _regular_chunks(da: xr.DataArray, size: int = DEFAULT_CHUNK_SIZE) -> xr.DataArray:
    """``da`` as dask with equal chunks along each dim (the last one may be smaller).

    Zarr chunks are regular; dask chunks that are not (after a ``sel`` or a ``concat``) are
    rechunked to the first chunk's size so that each task writes whole zarr chunks and no
    two tasks ever write the same chunk file.
    """
    if da.chunks is None:
        return da.chunk({d: (size if d in ("y", "x") else -1) for d in da.dims})
    target = {}
    for dim, sizes in zip(da.dims, da.chunks):
        if len(set(sizes[:-1])) > 1 or (len(sizes) > 1 and sizes[-1] > sizes[0]):
            target[dim] = sizes[0]
    return da.chunk(target) if target else da


def to_zarr(
    da: xr.DataArray,
    store: PathLike,
    overwrite: bool = False,
) -> Path:
    """Write a class map, band cube or any DataArray to a local Zarr store, chunk by chunk,
    atomically.

    The array is written with :meth:`xarray.Dataset.to_zarr` (one task per chunk, on whatever
    dask scheduler is active: threads, processes or a ``distributed`` cluster whose workers see
    the same disk) into a temporary store beside ``store``, which is renamed to ``store`` only
    when every chunk is written. An error or interrupt mid-way leaves no store at the target
    (and an existing one untouched); peak memory is set by the chunks, never the array. Each
    dask chunk becomes exactly one Zarr chunk (irregular dask chunks are first rechunked to a
    regular grid), so no lock is needed and the chunk files are byte-identical whatever the
    scheduler.

    The CRS and transform (rioxarray's ``spatial_ref`` grid mapping) and all attributes (class
    map ``flag_values``, ``flag_meanings``, ``class_names``, ``colormap``, ``_FillValue``) are
    kept; :func:`open_zarr` reads them back as they were. Any dims are allowed (e.g.
    ``("time", "y", "x")`` class maps).

    Parameters
    ----------
    da : xarray.DataArray
        The array; its ``name`` (default ``"data"``) names the Zarr array.
    store : str or path
        The store folder to create (a local path; its parent folder must exist).
    overwrite : bool, default False
        Replace an existing store. The old store is moved aside, the new one renamed into
        place, then the old one deleted.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputExistsError
        ``store`` exists and ``overwrite`` is False.
    RasterFileNotFoundError
        The parent folder does not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[1, 2], [2, 0]], "uint8"), dims=("y", "x"),
    ...                  coords={"y": [15.0, 5.0], "x": [5.0, 15.0]}, name="landcover",
    ...                  attrs={"colormap": {1: (70, 107, 159), 2: (56, 133, 56)},
    ...                         "flag_values": np.array([1, 2], "uint8"),
    ...                         "class_names": ["water", "forest"], "_FillValue": 0})
    >>> m = m.rio.write_crs("EPSG:32618")
    >>> out = to_zarr(m, pathlib.Path(tempfile.mkdtemp()) / "classes.zarr")
    >>> back = open_zarr(out)
    >>> back.rio.crs.to_epsg(), back.attrs["colormap"][2], back.values.tolist()
    (32618, (56, 133, 56), [[1, 2], [2, 0]])
    """
    import shutil
    import uuid

    if isinstance(da, xr.Dataset):
        raise InvalidInputTypeError(
            "to_zarr writes one DataArray; pick a variable, e.g. ds['landcover']"
        )
    if not isinstance(da, xr.DataArray):
        raise InvalidInputTypeError(f"to_zarr needs a DataArray, got {type(da).__name__}")
    store = check_output_path(store, overwrite)

    name = str(da.name) if da.name is not None else "data"
    da = _regular_chunks(da.rename(name))
    attrs = dict(da.attrs)
    fill = attrs.pop("_FillValue", None)
    if isinstance(attrs.get("colormap"), Mapping):  # JSON keys are strings: store [v, r, g, b]
        attrs["colormap"] = [[int(v), *(int(c) for c in rgb)]
                             for v, rgb in attrs["colormap"].items()]
    attrs["xr_landcover_attrs"] = sorted(attrs)  # which attrs to restore on open_zarr
    if fill is not None:
        attrs["xr_landcover_fill_value"] = fill.item() if hasattr(fill, "item") else fill
    encoded = da.rio.encoded_nodata  # a masked cube's original nodata value
    if encoded is not None:
        attrs["xr_landcover_encoded_nodata"] = float(encoded)
    da = da.copy(data=da.data)
    da.attrs = attrs
    da.encoding = {k: v for k, v in da.encoding.items() if k == "grid_mapping"}
    ds = da.to_dataset()
    if da.rio.crs is not None:
        grid_mapping = da.rio.grid_mapping
        ds = ds.rio.write_crs(da.rio.crs, grid_mapping_name=grid_mapping)
        if {"y", "x"} <= set(da.dims):
            ds = ds.rio.write_transform(da.rio.transform(), grid_mapping_name=grid_mapping)
    for var in ds.variables.values():
        var.encoding.pop("chunks", None)
        var.encoding.pop("preferred_chunks", None)

    token = uuid.uuid4().hex[:12]
    tmp = store.with_name(f".{store.name}.{token}.tmp")
    old = store.with_name(f".{store.name}.{token}.old")
    try:
        try:
            tmp.mkdir()
        except OSError as exc:
            raise OutputNotWritableError(
                f"cannot write '{store}': creating a folder in '{store.parent}' failed "
                f"({exc.strerror}). Is the folder writable?"
            ) from None
        ds.to_zarr(tmp, mode="w", consolidated=False)
        if store.exists():
            os.replace(store, old)
        os.replace(tmp, store)
    except BaseException:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        if old.exists() and not store.exists():
            os.replace(old, store)  # put the previous store back
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
    return store


def open_zarr(store: PathLike, name: str | None = None, chunks: Any = None) -> xr.DataArray:
    """Open a store written by :func:`to_zarr` as the DataArray it was, lazily.

    The dtype (no masking to float), the CRS and transform and the attributes (class map
    ``colormap`` as ``{value: (r, g, b)}``, ``flag_values``, ``_FillValue``...) come back as
    they were written.

    Parameters
    ----------
    store : str or path
        The Zarr store.
    name : str, optional
        The array to open (default the store's only data array).
    chunks : optional
        Passed to :func:`xarray.open_zarr` (default: one dask chunk per stored chunk).

    Returns
    -------
    xarray.DataArray
    """
    store = Path(store)
    if not store.exists():
        raise RasterFileNotFoundError(f"Zarr store not found: '{store}'")
    ds = xr.open_zarr(store, mask_and_scale=False, decode_coords="all", consolidated=False,
                      chunks={} if chunks is None else chunks)
    names = [str(v) for v in ds.data_vars]
    if name is None:
        if len(names) != 1:
            raise InvalidParameterError(f"the store holds {names}; pass name=")
        name = names[0]
    if name not in names:
        raise InvalidParameterError(f"no array '{name}' in the store; it holds {names}")
    da = ds[name]
    attrs = dict(da.attrs)
    restored = {k: attrs[k] for k in attrs.get("xr_landcover_attrs", attrs) if k in attrs}
    if "colormap" in restored and isinstance(restored["colormap"], list):
        restored["colormap"] = {int(v): tuple(int(c) for c in rgb)
                                for v, *rgb in restored["colormap"]}
    if "flag_values" in restored:
        restored["flag_values"] = np.asarray(restored["flag_values"], dtype=da.dtype)
    if "xr_landcover_fill_value" in attrs:
        restored["_FillValue"] = np.asarray(attrs["xr_landcover_fill_value"],
                                            dtype=da.dtype)[()]
    for key in ("xr_landcover_attrs", "xr_landcover_fill_value", "xr_landcover_encoded_nodata",
                "grid_mapping"):
        restored.pop(key, None)
    da.attrs = restored
    if "xr_landcover_encoded_nodata" in attrs:
        da = da.rio.write_nodata(attrs["xr_landcover_encoded_nodata"], encoded=True)
    text = {k: da[k].astype(object) for k in da.coords if da[k].dtype.kind == "T"}
    return da.assign_coords(text) if text else da
