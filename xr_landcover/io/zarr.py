"""Zarr out and back in: :func:`to_zarr` writes any DataArray to a local store, chunk by chunk
and atomically; :func:`open_zarr` reads it back as it was (dtype, CRS, attributes)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from .._settled import compute_settled
from ..errors import (
    InvalidInputTypeError,
    InvalidParameterError,
    OutputExistsError,
    RasterFileNotFoundError,
)
from ._atomic import atomic_directory
from ._paths import PathLike, check_output_path
from .rasters import DEFAULT_CHUNK_SIZE

__all__ = ["open_zarr", "to_zarr", "written_by_to_zarr"]


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
        Replace an existing store written by :func:`to_zarr`. The old store is moved aside,
        the new one renamed into place, then the old one deleted. Anything else at ``store``
        (an ordinary folder, another tool's store, a file) is refused, never deleted.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    OutputExistsError
        ``store`` exists and ``overwrite`` is False, or it is not a store written by
        :func:`to_zarr`.
    RasterFileNotFoundError
        The parent folder does not exist.
    OutputNotWritableError
        The parent folder cannot be written (read-only, or a file where a folder should be).

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
    if isinstance(da, xr.Dataset):
        raise InvalidInputTypeError(
            "to_zarr writes one DataArray; pick a variable, e.g. ds['landcover']"
        )
    if not isinstance(da, xr.DataArray):
        raise InvalidInputTypeError(f"to_zarr needs a DataArray, got {type(da).__name__}")
    store = check_output_path(store, overwrite, name="store", kind="store")
    if store.exists() and not written_by_to_zarr(store):  # only our own stores are replaced
        what = "a folder" if store.is_dir() else "a file"
        raise OutputExistsError(
            f"'{store}' is {what} that is not a Zarr store written by to_zarr; overwrite=True "
            "only replaces those (nothing else is ever deleted): give another store path, or "
            "move or remove it yourself"
        )

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

    with atomic_directory(store, overwrite) as staging:
        # every started chunk write ends before a failure reaches the clean-up: a chunk
        # written after the stage was removed would create it again
        compute_settled(ds.to_zarr(staging, mode="w", consolidated=False, compute=False))
    return store


def written_by_to_zarr(store: PathLike) -> bool:
    """Whether ``store`` is a Zarr store written by :func:`to_zarr` (a group holding an array
    that carries the ``xr_landcover_attrs`` attribute :func:`to_zarr` always writes).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np, xarray as xr
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> store = to_zarr(xr.DataArray(np.zeros((2, 2), "uint8"), dims=("y", "x")),
    ...                 folder / "classes.zarr")
    >>> written_by_to_zarr(store), written_by_to_zarr(folder)
    (True, False)
    """
    import zarr

    store = Path(store)
    if not store.is_dir():
        return False
    try:
        group = zarr.open_group(str(store), mode="r")
        return any("xr_landcover_attrs" in array.attrs for _, array in group.arrays())
    except Exception:  # anything zarr cannot open as a group is not ours
        return False


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
