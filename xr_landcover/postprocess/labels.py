"""From a probability cube to the class map: the class of the largest probability.

:func:`label` gives the class map that :func:`~xr_landcover.classify` gives (same dtype, fill,
CF flags, names and colours) from the probabilities of
:func:`~xr_landcover.predict_proba`: per pixel, the class of the first largest probability;
the fill value where any probability is NaN. One block at a time (each pixel on its own), so
the map does not depend on the chunking.
"""

from __future__ import annotations

import uuid

import dask.array as dsa
import numpy as np
import xarray as xr

from ..classification._common import class_map_dtype, wrap_like
from ..classification.probabilities import probability_classes, require_probabilities
from ..classmap import class_map_attrs

__all__ = ["label"]


def _label_block(block, values, fill, dtype, confidence):
    """``(..., class, y, x)`` probabilities -> ``(..., y, x)`` labels (and the winning
    probability stacked first when ``confidence``)."""
    class_axis = block.ndim - 3
    valid = np.all(np.isfinite(block), axis=class_axis)
    best = np.argmax(np.where(np.isfinite(block), block, -np.inf), axis=class_axis)
    labels = np.where(valid, values.take(best), fill).astype(dtype)
    if not confidence:
        return labels
    top = np.take_along_axis(block, np.expand_dims(best, class_axis), class_axis)
    top = np.where(valid, np.squeeze(top, class_axis), np.nan).astype(np.float32)
    return np.stack([labels.astype(np.float32), top])


def label(probabilities: xr.DataArray, confidence: bool = False) -> xr.DataArray | xr.Dataset:
    """The class map of a probability cube: the class of the largest probability, lazily.

    Parameters
    ----------
    probabilities : xarray.DataArray
        ``(..., "class", "y", "x")`` from :func:`xr_landcover.predict_proba` (or
        :func:`~xr_landcover.combine`, :meth:`~xr_landcover.LandcoverAccessor.smooth`...).
    confidence : bool, default False
        Also return the largest probability (the ``confidence`` layer of ``classify``).

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        The class map ``"landcover"`` ``(..., "y", "x")`` as :func:`xr_landcover.classify`
        returns it (uint8 where the class values fit, else uint16; ``flag_values``,
        ``flag_meanings``, ``class_names``, ``flag_colors``, ``_FillValue``); the fill where a
        probability is NaN. Ties go to the class listed first. With ``confidence=True`` a
        Dataset with ``landcover`` and ``confidence``.

    Raises
    ------
    DimensionError
        ``probabilities`` has no ``class`` dim (a class map or a band cube).
    InvalidInputTypeError
        Not a DataArray, or not floats.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> import xr_landcover
    >>> p = xr.DataArray(np.array([[[0.7, 0.2]], [[0.3, 0.8]]], "float32"),
    ...                  dims=("class", "y", "x"), coords={"class": [1, 6]},
    ...                  attrs={"class_names": ["developed", "water"]})
    >>> classes = xr_landcover.label(p)
    >>> classes.values.tolist(), classes.attrs["flag_meanings"], classes.dtype
    ([[1, 6]], 'developed water', dtype('uint8'))
    """
    probabilities = require_probabilities(probabilities)
    table = probability_classes(probabilities).complete_colors()
    values = np.asarray(table.values, np.int64)
    dtype, fill = class_map_dtype(values)
    data = probabilities.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=-1)
    class_axis = data.ndim - 3
    data = data.rechunk({class_axis: -1})
    token = uuid.uuid4().hex
    if confidence:
        stacked = dsa.map_blocks(
            _label_block, data, values, fill, dtype, True, drop_axis=class_axis, new_axis=0,
            chunks=((2,), *data.chunks[:class_axis], *data.chunks[class_axis + 1:]),
            dtype=np.float32, name="landcover-label-" + token)
        labels, conf = stacked[0].astype(dtype), stacked[1]
    else:
        labels = dsa.map_blocks(_label_block, data, values, fill, dtype, False,
                                drop_axis=class_axis, dtype=dtype,
                                name="landcover-label-" + token)
    template = probabilities.isel({"class": 0}, drop=True)
    out = wrap_like(labels, template, "landcover")
    out.attrs.update(class_map_attrs(table.values, table.names, table.colors, dtype))
    out = out.rio.write_nodata(fill, encoded=False)
    if not confidence:
        return out
    conf = wrap_like(conf, template, "confidence")
    conf.attrs.update({"long_name": "probability of the winning class", "units": "1",
                       "valid_range": np.array([0.0, 1.0], dtype=np.float32)})
    conf = conf.rio.write_nodata(np.nan, encoded=False)
    return xr.Dataset({"landcover": out, "confidence": conf})
