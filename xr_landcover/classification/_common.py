"""Helpers shared by pixel and object-based classification (public names, one place each).

The class map's dtype and fill from the class values, matching a cube's bands to a model's,
the CRS warning, and the assembly of the outputs (class map with its CF attrs and colours,
and the optional confidence layer) that :func:`~xr_landcover.classify` returns for pixels and
for segments alike.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .._validate import same_crs
from ..classmap import class_map_attrs
from ..errors import BandMismatchError, InvalidParameterError
from .model import LandcoverModel

__all__ = ["class_map_dtype", "check_bands", "warn_if_other_crs", "wrap_like",
           "classification_output"]


def class_map_dtype(values) -> tuple[np.dtype, int]:
    """The smallest unsigned dtype holding the class values and a fill value outside them.

    Examples
    --------
    >>> class_map_dtype([1, 2, 7])
    (dtype('uint8'), 0)
    >>> class_map_dtype([0, 1, 2])
    (dtype('uint8'), 255)
    >>> class_map_dtype([1, 300])
    (dtype('uint16'), 0)
    """
    values = [int(v) for v in values]
    for dtype in (np.uint8, np.uint16):
        top = int(np.iinfo(dtype).max)
        if max(values) < top:
            fill = 0 if 0 not in values else top
            return np.dtype(dtype), fill
    raise InvalidParameterError(f"class values must be below 65535; got up to {max(values)}")


def check_bands(cube: xr.DataArray, model: LandcoverModel) -> xr.DataArray:
    """``cube`` with the model's bands in the model's order, or :class:`BandMismatchError`
    naming the missing and the extra bands."""
    have = [str(b) for b in cube.band.values]
    missing = [b for b in model.bands if b not in have]
    extra = [b for b in have if b not in model.bands]
    if missing or extra or len(have) != len(model.bands):
        raise BandMismatchError(
            f"the cube's bands {have} do not match the model's {list(model.bands)}"
            + (f"; missing: {missing}" if missing else "")
            + (f"; not in the model: {extra}" if extra else "")
            + ". Select or rename bands (cube.sel(band=[...]), cube.assign_coords(band=[...]))"
        )
    if have != list(model.bands):
        cube = cube.sel(band=list(model.bands))
    return cube


def wrap_like(data, template: xr.DataArray, name: str) -> xr.DataArray:
    """``data`` as a DataArray on ``template``'s dims, coordinates, CRS and transform."""
    da = xr.DataArray(data, dims=template.dims, coords=template.coords, name=name)
    if template.rio.crs is not None:
        da = da.rio.write_crs(template.rio.crs)
        da = da.rio.write_transform(template.rio.transform())
    return da


def warn_if_other_crs(cube: xr.DataArray, model: LandcoverModel) -> None:
    """Warn (once per call) when the cube's CRS is not the one the model was trained in."""
    if model.crs and cube.rio.crs is not None and not same_crs(cube.rio.crs, model.crs):
        warnings.warn(
            "the cube's CRS differs from the one the model was trained on; the spectral model "
            "still applies if the sensor and processing are the same",
            UserWarning,
            stacklevel=3,
        )


def classification_output(labels, confidence, cube: xr.DataArray, model: LandcoverModel,
                          fill) -> xr.DataArray | xr.Dataset:
    """What :func:`~xr_landcover.classify` returns: the class map ``"landcover"`` on the cube's
    grid with the model's classes as attrs and ``fill`` as nodata, and with ``confidence``
    (a lazy float32 array, or None) a Dataset that adds the layer ``"confidence"``."""
    template = cube.isel(band=0, drop=True)
    out = wrap_like(labels, template, "landcover")
    out.attrs.update(class_map_attrs(model.class_values, model.class_names,
                                     [c.color for c in model.classes], labels.dtype))
    out = out.rio.write_nodata(fill, encoded=False)
    if confidence is None:
        return out
    conf = wrap_like(confidence, template, "confidence")
    conf.attrs.update({"long_name": "probability of the winning class", "units": "1",
                       "valid_range": np.array([0.0, 1.0], dtype=np.float32)})
    conf = conf.rio.write_nodata(np.nan, encoded=False)
    return xr.Dataset({"landcover": out, "confidence": conf})
