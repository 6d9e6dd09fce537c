"""STAC items in and out: :func:`load_stac` loads them as a band cube (odc-stac), or as a
class map when the asset carries the ``classification`` extension;
:func:`stac_item_from_rasters` describes local rasters as an item and :func:`stac_item` a
class-map GeoTIFF (classes, colours, grid)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from ..classmap import ClassMap, class_map_attrs, open_classmap
from ..errors import (
    GridMismatchError,
    InvalidInputTypeError,
    InvalidParameterError,
    RasterFileNotFoundError,
    STACError,
)
from ._header import raster_profile, same_grid
from ._paths import PathLike, check_raster_path
from .rasters import DEFAULT_CHUNK_SIZE

__all__ = ["CLASS_ASSET", "load_stac", "stac_item", "stac_item_from_rasters"]

#: The asset key of the class map in an item made by :func:`stac_item`.
CLASS_ASSET = "landcover"


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
        time step; dask-backed. When the one band loaded is an asset with
        ``classification:classes`` (an item of :func:`stac_item`), a class map instead:
        ``("y", "x")`` (or ``("time", "y", "x")``), its integer dtype and fill value kept
        whatever ``masked`` says, with the classes' names and colours as attrs.

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

    headers = _check_assets(found, bands)  # every file there and a raster: cheap, headers only

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
        # an item without geometry is placed by its bbox, else by its assets' headers
        footprint = odc.geo.geom.unary_union(
            [odc.geo.geom.Geometry(shape, crs="EPSG:4326") for item in found
             if (shape := _footprint(item, headers)) is not None]
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
    classes = _stac_classes(found, band_vars)
    if classes is not None:
        return _class_map(ds, band_vars[0], classes, nodata)
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


def _asset_names(key: str, asset: Any) -> set[str]:
    """The names a band of ``asset`` answers to: its key, ``key.N``, its ``eo:bands`` names."""
    names = {key}
    for i, band in enumerate(asset.extra_fields.get("eo:bands", []), start=1):
        names.add(f"{key}.{i}")
        names.update(str(band[f]) for f in ("name", "common_name") if band.get(f))
    return names


def _is_raster_asset(asset: Any) -> bool:
    """Whether odc-stac loads ``asset`` when no band is named: a data asset that is an image
    or declares raster bands (thumbnails and metadata are not loaded, so not checked)."""
    if {"thumbnail", "overview", "metadata"} & set(asset.roles or []):
        return False
    media = (asset.media_type or "").lower()
    return ("tiff" in media or "jp2" in media or "raster:bands" in asset.extra_fields
            or "eo:bands" in asset.extra_fields)


def _check_assets(items: Sequence[Any], bands: Sequence[str] | None) -> dict:
    """Open the header of every asset that will be loaded, so that a missing or unreadable
    file is reported now (naming the item, the asset and the file) rather than as a raw
    ``RasterioIOError`` when the cube is computed. Only headers are read.

    Returns ``{item id: (crs, bounds)}`` of each item's first checked asset (to place items
    that declare no geometry)."""
    from urllib.parse import urlparse

    import rasterio

    from ..errors import RasterReadError

    headers: dict = {}
    for item in items:
        for key, asset in item.assets.items():
            chosen = (_is_raster_asset(asset) if bands is None
                      else bool(_asset_names(key, asset) & set(bands)))
            if not chosen:
                continue
            href = asset.get_absolute_href() or asset.href
            url = urlparse(href)
            local = url.scheme in ("", "file") or len(url.scheme) == 1  # C:\ on Windows
            path = url.path if url.scheme == "file" else href
            fix = ("correct the asset's href (or restore the file), or leave the band out "
                   "with bands=[...]")
            if local and not Path(path).exists():
                raise RasterFileNotFoundError(
                    f"asset '{key}' of STAC item '{item.id}': file not found: '{path}'; {fix}"
                )
            try:
                with rasterio.open(path) as src:
                    headers.setdefault(item.id, (src.crs, tuple(src.bounds)))
            except rasterio.errors.RasterioError as exc:
                raise RasterReadError(
                    f"asset '{key}' of STAC item '{item.id}': cannot read '{href}' as a raster "
                    f"({str(exc).rstrip('.')}); {fix}"
                ) from exc
    return headers


def _footprint(item: Any, headers: dict) -> dict | None:
    """The item's footprint (GeoJSON, longitude/latitude): its geometry, else its bbox, else
    the bounds of its first asset's header."""
    from shapely.geometry import box, mapping

    if item.geometry:
        return item.geometry
    if item.bbox:
        west, south, *_ = item.bbox
        east, north = item.bbox[-3:-1] if len(item.bbox) == 6 else item.bbox[2:4]
        return mapping(box(west, south, east, north))
    if item.id in headers and headers[item.id][0] is not None:
        from rasterio.warp import transform_bounds

        crs, bounds = headers[item.id]
        return mapping(box(*transform_bounds(crs, "EPSG:4326", *bounds, densify_pts=21)))
    return None


def _stac_band_names(items: Sequence[Any]) -> set[str]:
    """Asset keys, plus the band names and ``asset.N`` aliases of multi-band assets."""
    return {name for item in items for key, asset in item.assets.items()
            for name in _asset_names(key, asset)}


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

    if not isinstance(assets, Mapping):
        raise InvalidInputTypeError(
            "assets must be a mapping of band name to raster path, e.g. {'red': 'B4.tif'}; "
            f"got {type(assets).__name__}"
        )
    if not assets:
        raise InvalidParameterError(
            "assets is empty: an item needs at least one raster, e.g. "
            "stac_item_from_rasters('scene', {'red': 'B4.tif'}, '2020-05-18')"
        )
    if isinstance(datetime, str):
        datetime = dt.datetime.fromisoformat(datetime)
    if datetime.tzinfo is None:
        datetime = datetime.replace(tzinfo=dt.UTC)
    profiles = {name: raster_profile(check_raster_path(p)) for name, p in assets.items()}
    first = next(iter(profiles.values()))
    for name, other in profiles.items():
        if not same_grid(first, other):
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


def _stac_classes(items: Sequence[Any], band_vars: Sequence[str]) -> ClassMap | None:
    """The classes of the one loaded band when its asset (in the first item that has it)
    carries ``classification:classes``; else None."""
    if len(band_vars) != 1:
        return None
    asset = next((item.assets[band_vars[0]] for item in items
                  if band_vars[0] in item.assets), None)
    if asset is None:
        return None
    found = asset.extra_fields.get("classification:classes")
    if not found:  # the extension also allows them per band
        bands = asset.extra_fields.get("raster:bands") or [{}]
        found = bands[0].get("classification:classes")
    if not found:
        return None
    rows = sorted((c for c in found if not c.get("nodata")), key=lambda c: int(c["value"]))
    names = tuple(str(c.get("title") or c.get("name") or c.get("description") or c["value"])
                  for c in rows)
    colors = tuple(tuple(int(c["color_hint"][i:i + 2], 16) for i in (0, 2, 4))
                   if c.get("color_hint") else None for c in rows)
    fill = next((int(c["value"]) for c in found if c.get("nodata")), None)
    return ClassMap(tuple(int(c["value"]) for c in rows), names, colors, fill)


def _class_map(ds: xr.Dataset, band: str, classes: ClassMap, nodata: Any) -> xr.DataArray:
    """The loaded band ``band`` of ``ds`` as a class map: its dtype, fill and classes."""
    da = ds[band]
    fill = next((v for v in (nodata, da.attrs.get("nodata"), classes.nodata)
                 if v is not None), None)
    crs_out, transform = ds.odc.crs, ds.odc.geobox.affine
    if da.sizes.get("time") == 1:
        da = da.isel(time=0, drop=True)
    da = da.rename(CLASS_ASSET)
    full = classes.complete_colors()  # the fill, if any, is written below
    da.attrs = class_map_attrs(full.values, full.names, full.colors, da.dtype)
    da = da.rio.write_crs(str(crs_out)).rio.write_transform(transform)
    if fill is not None:
        da.attrs["_FillValue"] = int(fill)
        da = da.rio.write_nodata(int(fill), encoded=False)
    return da


def stac_item(
    class_map_path: PathLike,
    item_id: str | None = None,
    datetime: Any = None,
    properties: Mapping[str, Any] | None = None,
) -> Any:
    """Describe a class-map GeoTIFF as a STAC item with its classes.

    :func:`stac_item_from_rasters` of the file (``proj`` fields: ``proj:code``,
    ``proj:shape``, ``proj:transform``; ``raster:bands``; the footprint in WGS84 as geometry
    and bbox), plus the ``classification`` extension on the asset: one
    ``classification:classes`` entry per class (``value``, ``name``, ``title``,
    ``color_hint``) and one for the fill value (``nodata: true``). :func:`load_stac` of the
    item gives the class map back with its names and colours. Only the file's header is read.

    Parameters
    ----------
    class_map_path : str or path
        A class map written by :func:`~xr_landcover.to_geotiff` (or any paletted one-band
        integer raster: :func:`~xr_landcover.open_classmap` reads its classes).
    item_id : str, optional
        Default the file's name without its suffix.
    datetime : datetime.datetime or str, optional
        The time the map shows (the imagery's date); default the file's modification time.
    properties : mapping, optional
        Extra item properties.

    Returns
    -------
    pystac.Item
        The class map is the asset ``"landcover"`` (:data:`CLASS_ASSET`).

    Raises
    ------
    RasterFileNotFoundError, RasterReadError, InvalidInputTypeError
        No such file, not a raster, or not a class map (one integer band).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np, xarray as xr
    >>> import xr_landcover
    >>> m = xr.DataArray(np.array([[1, 2], [2, 0]], "uint8"), dims=("y", "x"),
    ...                  coords={"y": [15.0, 5.0], "x": [5.0, 15.0]}, name="landcover",
    ...                  attrs={"colormap": {1: (70, 107, 159), 2: (56, 133, 56)},
    ...                         "flag_values": np.array([1, 2], "uint8"),
    ...                         "class_names": ["water", "forest"], "_FillValue": 0})
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "classes.tif"
    >>> _ = xr_landcover.to_geotiff(m.rio.write_crs("EPSG:32618"), path)
    >>> item = stac_item(path, datetime="2020-05-18")
    >>> [(c["value"], c["name"], c.get("color_hint"))
    ...  for c in item.assets["landcover"].extra_fields["classification:classes"]]
    [(0, 'nodata', None), (1, 'water', '466B9F'), (2, 'forest', '388538')]
    """
    import datetime as dt
    import re

    from pystac.extensions.classification import Classification, ClassificationExtension

    path = check_raster_path(class_map_path)
    classes = ClassMap.from_dataarray(open_classmap(path)).complete_colors()
    if datetime is None:
        datetime = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
    item = stac_item_from_rasters(item_id or path.stem, {CLASS_ASSET: path}, datetime,
                                  properties)
    entries = []
    if classes.nodata is not None:
        entries.append(Classification.create(value=int(classes.nodata), name="nodata",
                                             description="no class", nodata=True))
    for value, name, rgb in zip(classes.values, classes.names, classes.colors):
        entries.append(Classification.create(
            value=int(value), name=re.sub(r"[^0-9A-Za-z_-]+", "_", str(name)) or str(value),
            title=str(name), color_hint="{:02X}{:02X}{:02X}".format(*rgb)))
    asset = item.assets[CLASS_ASSET]
    asset.roles = ["data"]
    asset.title = "land cover classes"
    ClassificationExtension.ext(asset, add_if_missing=True).classes = entries
    return item
