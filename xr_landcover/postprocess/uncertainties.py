"""How uncertain each pixel's classification is, from its class probabilities (sits' three
measures).

With ``p`` the ``K`` class probabilities of a pixel, sorted so that ``p1 >= p2 >= ...``:

``"entropy"``
    ``-sum(p log p) / log K`` (``0 log 0 = 0``): 0 when one class has all the probability,
    1 when all classes are equally likely.
``"least"`` (least confidence)
    ``1 - p1``.
``"margin"``
    ``1 - (p1 - p2)``: 1 when the two most likely classes tie.

Each pixel on its own, in float64 from the float32 probabilities (with this package's
CPU-independent ``log``), stored as float32; NaN where a probability is NaN.
"""

from __future__ import annotations

import uuid

import dask.array as dsa
import numpy as np
import xarray as xr

from .._validate import check_choice
from ..classification._common import wrap_like
from ..classification.probabilities import require_probabilities
from ..errors import InvalidParameterError
from ._arithmetic import log

__all__ = ["UNCERTAINTY_METHODS", "uncertainty", "uncertainty_of"]

#: The measures :func:`uncertainty` knows.
UNCERTAINTY_METHODS = ("entropy", "least", "margin")


def uncertainty_of(p: np.ndarray, method: str, axis: int = 0) -> np.ndarray:
    """The uncertainty (float64) of the probabilities ``p`` along ``axis`` (numpy only).

    Examples
    --------
    >>> p = np.array([0.5, 0.3, 0.2])
    >>> [round(float(uncertainty_of(p, m)), 4) for m in UNCERTAINTY_METHODS]
    [0.9372, 0.5, 0.8]
    """
    p = np.moveaxis(np.asarray(p, dtype=np.float64), axis, 0)
    k = p.shape[0]
    if method == "entropy":
        total = np.zeros(p.shape[1:])
        for row in p:  # classes in order: the same sum whatever the chunks
            total = total - np.where(row > 0, row * log(np.where(row > 0, row, 1.0)), 0.0)
        out = total / float(log(float(k)))
    elif method == "least":
        out = 1.0 - p.max(axis=0)
    else:
        top = np.sort(p, axis=0)
        out = 1.0 - (top[-1] - top[-2])
    return np.where(np.isnan(p).any(axis=0), np.nan, out)


def _uncertainty_block(block, method):
    return uncertainty_of(block, method, axis=block.ndim - 3).astype(np.float32)


def uncertainty(probabilities: xr.DataArray, method: str = "entropy") -> xr.DataArray:
    """The uncertainty of each pixel's classification, lazily (sits' measures).

    Parameters
    ----------
    probabilities : xarray.DataArray
        ``(..., "class", "y", "x")`` from :func:`xr_landcover.predict_proba`, with at least
        two classes.
    method : {"entropy", "least", "margin"}, default "entropy"
        ``-sum(p log p) / log K``, ``1 - max p``, or ``1 - (p1 - p2)`` of the two largest
        (see :mod:`~xr_landcover.postprocess.uncertainties`).

    Returns
    -------
    xarray.DataArray
        ``"uncertainty"`` ``(..., "y", "x")``, float32 in [0, 1] (0 = certain), NaN on
        nodata; attrs ``method``, ``long_name``, ``units``, ``valid_range``.

    Raises
    ------
    InvalidParameterError
        ``method`` is not one of the three; fewer than two classes.
    DimensionError
        ``probabilities`` is not a probability cube (a class map, a band cube).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> import xr_landcover
    >>> p = xr.DataArray(np.array([[[1.0, 0.5]], [[0.0, 0.5]]], "float32"),
    ...                  dims=("class", "y", "x"), coords={"class": [1, 2]})
    >>> p.landcover.uncertainty("margin").values.tolist()
    [[0.0, 1.0]]
    """
    probabilities = require_probabilities(probabilities)
    check_choice("method", method, UNCERTAINTY_METHODS)
    if probabilities.sizes["class"] < 2:
        raise InvalidParameterError(
            f"uncertainty needs at least two classes; probabilities has "
            f"{probabilities.sizes['class']}")
    data = probabilities.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=-1)
    class_axis = data.ndim - 3
    data = data.rechunk({class_axis: -1})
    out = dsa.map_blocks(_uncertainty_block, data, method, drop_axis=class_axis,
                         dtype=np.float32, name=f"landcover-uncertainty-{uuid.uuid4().hex}")
    result = wrap_like(out, probabilities.isel({"class": 0}, drop=True), "uncertainty")
    result.attrs.update({"long_name": f"classification uncertainty ({method})", "units": "1",
                         "method": method,
                         "valid_range": np.array([0.0, 1.0], dtype=np.float32)})
    return result.rio.write_nodata(np.nan, encoded=False)
