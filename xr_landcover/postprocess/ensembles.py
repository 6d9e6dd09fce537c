"""Ensembles: one probability cube from the probability cubes of several models (sits'
``sits_combine_predictions``).

``"average"``
    ``sum_i w_i p_i`` with the weights ``w_i`` (default equal) scaled to sum to 1.
``"uncertainty"``
    Each pixel weights each model by the inverse of its uncertainty there
    (:func:`~xr_landcover.postprocess.uncertainties.uncertainty`, ``uncertainty_method``),
    times ``weights`` when given: ``w_i(x) = (weights_i / u_i(x)) / sum_j (weights_j / u_j(x))``.
    Where some models are certain (``u = 0``) they share the pixel (the limit of that rule).

The cubes must have the same classes (in any order: they are matched by value) and lie on one
grid. A pixel that is nodata (NaN) in any cube is nodata in the ensemble. Computed per pixel
in float64, models in list order, stored as float32: no chunking changes the result.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import dask.array as dsa
import numpy as np
import xarray as xr

from .._validate import check_choice, require_same_grid
from ..classification.probabilities import (
    probabilities_like,
    probability_classes,
    require_probabilities,
)
from ..errors import GridMismatchError, InvalidInputTypeError, InvalidParameterError
from .uncertainties import UNCERTAINTY_METHODS, uncertainty_of

__all__ = ["COMBINE_METHODS", "combine"]

#: The ways :func:`combine` knows.
COMBINE_METHODS = ("average", "uncertainty")


def _combine_block(*blocks, weights, method, uncertainty_method):
    axis = blocks[0].ndim - 3
    p = np.stack([np.asarray(b, np.float64) for b in blocks])  # (models, ..., class, y, x)
    w = np.asarray(weights, np.float64).reshape((-1,) + (1,) * (p.ndim - 1))
    if method == "uncertainty":
        u = np.stack([uncertainty_of(b, uncertainty_method, axis=axis) for b in p])
        u = np.expand_dims(u, axis + 1)  # (models, ..., 1, y, x)
        certain = (u == 0) & (w > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            inverse = np.where(certain.any(axis=0), certain * w, w / u)
        w = inverse / inverse.sum(axis=0)
    total = w[0] * p[0]
    for i in range(1, len(p)):  # in list order: the same sum whatever the chunks
        total = total + w[i] * p[i]
    return total.astype(np.float32)  # NaN anywhere (even at weight 0) propagates: nodata


def combine(probabilities: Sequence[xr.DataArray], method: str = "average",
            weights: Sequence[float] | None = None,
            uncertainty_method: str = "entropy") -> xr.DataArray:
    """One probability cube from several models' probability cubes, lazily.

    Parameters
    ----------
    probabilities : list of xarray.DataArray
        Two or more cubes ``(..., "class", "y", "x")`` from :func:`xr_landcover.predict_proba`
        with the same classes, on one grid.
    method : {"average", "uncertainty"}, default "average"
        A weighted average, or a per-pixel average weighted by each model's inverse
        uncertainty (see :mod:`~xr_landcover.postprocess.ensembles`).
    weights : list of float, optional
        One non-negative weight per cube (default all equal); scaled to sum to 1.
    uncertainty_method : {"entropy", "least", "margin"}, default "entropy"
        The uncertainty of ``method="uncertainty"``.

    Returns
    -------
    xarray.DataArray
        ``"probabilities"`` on the first cube's grid and classes (in its order), float32; NaN
        where any cube is NaN.

    Raises
    ------
    InvalidParameterError
        Fewer than two cubes, other classes, a bad ``method``, bad ``weights``.
    GridMismatchError
        The cubes are not on one grid (or differ in other dims).
    DimensionError
        An item is not a probability cube (a class map, a band cube).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> import xr_landcover
    >>> def cube(a):
    ...     return xr.DataArray(np.array(a, "float32")[:, None, None],
    ...                         dims=("class", "y", "x"), coords={"class": [1, 2]})
    >>> both = xr_landcover.combine([cube([0.9, 0.1]), cube([0.3, 0.7])], weights=[1, 3])
    >>> both.values.ravel().round(2).tolist()
    [0.45, 0.55]
    """
    if isinstance(probabilities, xr.DataArray) or not isinstance(probabilities, Sequence):
        raise InvalidInputTypeError(
            "probabilities must be a list of probability cubes (from predict_proba); got "
            f"{type(probabilities).__name__}")
    if len(probabilities) < 2:
        raise InvalidParameterError(
            f"combine needs at least two probability cubes; got {len(probabilities)}")
    check_choice("method", method, COMBINE_METHODS)
    check_choice("uncertainty_method", uncertainty_method, UNCERTAINTY_METHODS)
    cubes = [require_probabilities(p, f"probabilities[{i}]") for i, p in enumerate(probabilities)]
    first = cubes[0]
    values = [int(v) for v in first["class"].values]
    for i, p in enumerate(cubes[1:], start=1):
        other = [int(v) for v in p["class"].values]
        if sorted(other) != sorted(values):
            raise InvalidParameterError(
                f"probabilities[{i}] has classes {other}, probabilities[0] {values}: combine "
                "cubes of models trained on the same classes (or reclassify them first)")
        if other != values:
            cubes[i] = p = p.sel({"class": values})
        require_same_grid(first, p, names=("probabilities[0]", f"probabilities[{i}]"))
        if p.sizes != first.sizes:
            raise GridMismatchError(
                f"probabilities[{i}] has sizes {dict(p.sizes)}, probabilities[0] "
                f"{dict(first.sizes)}: select the same times or other dims first")
    if weights is None:
        weights = [1.0] * len(cubes)
    try:
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"weights must be numbers; got {weights!r}") from exc
    if (w.shape != (len(cubes),) or not np.isfinite(w).all() or (w < 0).any()
            or w.sum() <= 0):
        raise InvalidParameterError(
            f"weights must be {len(cubes)} finite numbers >= 0, not all 0 (one per cube); "
            f"got {weights!r}")
    w = w / w.sum()
    data = []
    for p in cubes:
        d = p.data
        if not isinstance(d, dsa.Array):
            d = dsa.from_array(np.asarray(d), chunks=-1)
        data.append(d)
    axis = data[0].ndim - 3
    data[0] = data[0].rechunk({axis: -1})
    data = [data[0]] + [d.rechunk(data[0].chunks) for d in data[1:]]
    out = dsa.map_blocks(_combine_block, *data, weights=tuple(w.tolist()), method=method,
                         uncertainty_method=uncertainty_method, dtype=np.float32,
                         name=f"landcover-combine-{uuid.uuid4().hex}")
    table = probability_classes(first)
    result = probabilities_like(out, first.isel({"class": 0}, drop=True), table.values,
                                table.names, table.colors)
    result.attrs["long_name"] = f"class probability ({method} of {len(cubes)} models)"
    return result
