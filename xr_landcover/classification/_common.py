"""Helpers shared by pixel and object-based classification (public names, one place each).

The class map's dtype and fill from the class values, matching a cube's bands to a model's,
the CRS warning, what a sample of the cube is checked for against the model (the training
nodata applied to a cube that declares none, undeclared fill, another scale), and the
assembly of the outputs (class map with its CF attrs and colours, and the optional confidence
layer) that :func:`~xr_landcover.classify` returns for pixels and for segments alike.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._sample import declared_nodata, sample_pixels, valid_rows, warn_if_undeclared_fill
from .._validate import same_crs
from .._warnings import warn
from ..classmap import class_map_attrs
from ..errors import BandMismatchError, InvalidParameterError
from ..indices import add_indices
from .model import LandcoverModel
from .time_features import stack_dates

__all__ = ["class_map_dtype", "check_bands", "warn_if_other_crs", "wrap_like",
           "classification_output", "check_against_model", "SCALE_FACTOR"]

#: How far (a factor) a band's median in the cube may be from its training median, outside
#: the training range, before :func:`check_against_model` calls the cube off-scale.
SCALE_FACTOR = 4.0


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
    if len(set(have)) != len(have):
        twice = sorted({b for b in have if have.count(b) > 1})
        raise BandMismatchError(
            f"the cube's band coordinate names {twice} more than once ({have}); each band "
            "must have its own name: rename them, e.g. cube.assign_coords(band=[...])"
        )
    missing = [b for b in model.bands if b not in have]
    extra = [b for b in have if b not in model.bands]
    if missing or extra or len(have) != len(model.bands):
        raise BandMismatchError(
            f"the cube's bands {have} do not match the model's {list(model.bands)}"
            + (f"; missing: {missing}" if missing else "")
            + (f"; not in the model: {extra}" if extra else "")
            + ". Select or rename bands (cube.sel(band=[...]), cube.assign_coords(band=[...]))"
        )
    if have != list(model.bands):  # by label (names or rioxarray's 1, 2, 3), never position
        cube = cube.isel(band=[have.index(b) for b in model.bands])
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
        warn(
            "the cube's CRS differs from the one the model was trained on; the spectral model "
            "still applies if the sensor and processing are the same",
        )


def _fits(value: float, dtype: np.dtype) -> bool:
    """Whether ``value`` can occur in an array of ``dtype``."""
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return float(value).is_integer() and info.min <= value <= info.max
    return dtype.kind in "fc"


def check_against_model(cube: xr.DataArray, model: LandcoverModel) -> xr.DataArray:
    """``cube`` (bands in the model's order) checked against what the model knows of its
    training cube, from a cheap sample (:func:`~xr_landcover._sample.sample_pixels`).

    * The cube declares no nodata but the training cube did: the model's nodata is declared on
      the cube (and applied), with a warning (a value the cube's dtype cannot hold cannot occur:
      nothing to apply).
    * Still no nodata, but many pixels 0 in every band: the undeclared-fill warning.
    * A band whose median lies outside its training range (1-99 %) and :data:`SCALE_FACTOR`
      times away from its training median (or, where a median is not positive, farther than
      the range's width): a warning that the cube is on another scale.
    """
    if (model.nodata is not None and declared_nodata(cube) is None
            and _fits(model.nodata, cube.dtype)):
        warn(
            f"the cube declares no nodata; the model was trained on a cube whose nodata was "
            f"{model.nodata:g}, so pixels of that value in any band are left unclassified. "
            f"Declare the cube's own nodata (cube.rio.write_nodata(...), on the command line "
            f"--nodata) to choose another",
        )
        cube = cube.rio.write_nodata(model.nodata, encoded=False)
    pixels = sample_pixels(cube)
    warn_if_undeclared_fill(cube, pixels)
    stats = model.band_stats
    if pixels is None or not stats or model.feature != "pixels":
        return cube
    valid = valid_rows(pixels, cube.rio.nodata)
    if valid.shape[0] == 0:
        return cube
    median = np.median(valid, axis=0)
    low, mid, high = (np.asarray(stats[k], dtype=np.float64) for k in ("low", "median", "high"))
    outside = (median < low) | (median > high)
    positive = (median > 0) & (mid > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(positive, median / np.where(positive, mid, 1.0), 1.0)
    by_ratio = (ratio > SCALE_FACTOR) | (ratio < 1.0 / SCALE_FACTOR)
    by_width = np.abs(median - np.clip(median, low, high)) > np.maximum(high - low, 1e-12)
    far = outside & np.where(positive, by_ratio, by_width)
    if far.any():
        details = "; ".join(
            f"{b}: median {median[i]:.4g}, trained on {low[i]:.4g}..{high[i]:.4g}"
            for i, b in enumerate(model.bands) if far[i]
        )
        warn(
            f"the cube's values are far outside the range the model was trained on ({details};"
            " from a sample of the cube, training range 1-99 %): is the cube on another scale "
            "(reflectance 0-1 against digital numbers, a scale factor, another processing "
            "level)? The classes will be wrong; classify a cube prepared like the training one",
        )
    return cube


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


def valid_pixels(block: np.ndarray, band_axis: int, nodata) -> np.ndarray:
    """Pixels of ``block`` with a finite value, other than ``nodata``, in every band: the
    pixels :func:`~xr_landcover.classify` and :func:`~xr_landcover.predict_proba` predict."""
    valid = np.all(np.isfinite(block), axis=band_axis)
    if nodata is not None and not np.isnan(nodata):
        valid &= np.all(block != nodata, axis=band_axis)
    return valid


def model_features(cube: xr.DataArray, model: LandcoverModel) -> xr.DataArray:
    """``cube`` with the features ``model`` was trained on: its spectral indices added where
    the cube lacks them, and for a time-series model the dates' bands stacked as
    ``band@date``."""
    if model.indices:
        cube = add_indices(cube, model.indices)
    if model.time_dim:
        cube = stack_dates(cube, model.time_dim)[0]
    return cube
