"""Per-class probabilities of a band cube, lazily: the *probability cube*.

:func:`predict_proba` gives, for every valid pixel, the estimator's ``predict_proba`` for each
of the model's classes, as a float32 DataArray ``(..., "class", "y", "x")`` named
``"probabilities"`` (the band axis of the cube becomes the class axis; leading dims such as
``time`` stay first). Each dask block ``(..., band, y, x)`` becomes a ``(pixels, bands)``
table of its valid pixels, predicted in batches of
:data:`~xr_landcover.classification.pixels.PREDICT_BATCH` pixels (memory set by the batch,
not the chunk), as :func:`~xr_landcover.classify` does; every pixel is predicted on its own, so
the values do not depend on the chunking. With ``segments=`` an object-based model predicts
once per segment and the ids are painted block by block.

The float32 values keep the float64 winner: where rounding to float32 would tie the winning
class with a class listed before it, the winner is raised by one unit in the last place, so
that :func:`xr_landcover.label` (the first largest probability) gives ``classify``'s labels.

:func:`probabilities_like` writes the probability-cube convention (``class`` coordinate =
class values, ``class_names`` and ``flag_colors`` attrs, NaN nodata); :func:`probability_classes`
reads it back. Both are used by :mod:`xr_landcover.postprocess`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from .._validate import require_crs, require_cube
from ..classmap import ClassMap, attr_colors, hex_colors
from ..errors import DimensionError, InvalidInputTypeError, InvalidParameterError
from ._common import (
    check_against_model,
    check_bands,
    model_features,
    valid_pixels,
    warn_if_other_crs,
)
from .model import LandcoverModel
from .pixels import PREDICT_BATCH

__all__ = ["predict_proba", "probabilities_like", "probability_classes",
           "float32_keeping_winner", "require_probabilities"]


def float32_keeping_winner(proba: np.ndarray) -> np.ndarray:
    """``proba`` ``(n, classes)`` as float32 whose first largest value is float64's.

    Rounding is monotone, so only a class *before* the winner can end up equal to it; there
    the winner is raised to the next float32 above (one unit in the last place).

    Examples
    --------
    >>> p = np.array([[0.3, 0.30000000001, 0.39999999999]])
    >>> q = float32_keeping_winner(p)
    >>> int(np.argmax(p)), int(np.argmax(q)), q.dtype
    (2, 2, dtype('float32'))
    >>> p = np.array([[0.4, 0.40000000001, 0.19999999999]])
    >>> int(np.argmax(float32_keeping_winner(p)))
    1
    """
    out = proba.astype(np.float32)
    if not len(out):
        return out
    rows = np.arange(len(out))
    win = np.argmax(proba, axis=1)
    earlier = np.arange(out.shape[1])[None, :] < win[:, None]
    rival = np.where(earlier, out, -np.inf).max(axis=1)
    clash = rival >= out[rows, win]
    if clash.any():
        out[rows[clash], win[clash]] = np.nextafter(rival[clash].astype(np.float32),
                                                    np.float32(np.inf))
    return out


def _columns(estimator_classes, class_values) -> np.ndarray:
    """Column of ``predict_proba`` for each model class (-1 for a class the estimator lacks)."""
    known = [int(c) for c in np.asarray(estimator_classes)]
    return np.array([known.index(v) if v in known else -1 for v in class_values], np.int64)


def _reorder(proba: np.ndarray, columns: np.ndarray) -> np.ndarray:
    out = np.zeros((len(proba), len(columns)), np.float64)
    have = columns >= 0
    out[:, have] = proba[:, columns[have]]
    return out


def _proba_block(block, estimator, *, columns, nodata):
    """Probabilities of one block ``(..., band, y, x)`` as ``(..., class, y, x)`` float32."""
    band_axis = block.ndim - 3
    valid = valid_pixels(block, band_axis, nodata)
    pixels = np.moveaxis(block, band_axis, -1)[valid]
    out = np.full(valid.shape + (len(columns),), np.nan, dtype=np.float32)
    if pixels.shape[0]:
        if not np.issubdtype(pixels.dtype, np.floating):
            pixels = pixels.astype(np.float64)
        parts = []
        for i in range(0, len(pixels), PREDICT_BATCH):
            proba = estimator.predict_proba(pixels[i:i + PREDICT_BATCH])
            parts.append(float32_keeping_winner(_reorder(proba, columns)))
        out[valid] = np.concatenate(parts)
    return np.moveaxis(out, -1, band_axis)


def probabilities_like(data, template: xr.DataArray, values: Sequence[int],
                       names: Sequence[str], colors: Sequence | None = None,
                       class_axis: int | None = None) -> xr.DataArray:
    """``data`` ``(..., class, y, x)`` as a probability cube on ``template``'s grid.

    ``template`` is ``(..., y, x)`` (its coordinates, CRS and transform are kept); the
    ``class`` dim goes before ``y`` (or at ``class_axis``) with the class values as its
    coordinate; attrs ``class_names`` and ``flag_colors`` (colours completed by name where
    missing), ``long_name``, ``units``; NaN as nodata.
    """
    table = ClassMap(tuple(int(v) for v in values), tuple(str(n) for n in names),
                     tuple(colors) if colors is not None else (None,) * len(values),
                     None).complete_colors()
    dims = list(template.dims)
    dims.insert(len(dims) - 2 if class_axis is None else class_axis, "class")
    coords = {k: v for k, v in template.coords.items()}
    coords["class"] = np.asarray(table.values, dtype=np.int64)
    out = xr.DataArray(data, dims=dims, coords=coords, name="probabilities")
    out.attrs.update({
        "long_name": "class probability",
        "units": "1",
        "class_names": list(table.names),
        "flag_colors": hex_colors(table.colors),
    })
    if template.rio.crs is not None:
        out = out.rio.write_crs(template.rio.crs)
        out = out.rio.write_transform(template.rio.transform())
    return out.rio.write_nodata(np.nan, encoded=False)


def require_probabilities(obj, name: str = "probabilities") -> xr.DataArray:
    """``obj`` as a probability cube ``(..., "class", "y", "x")`` of floats, or the error that
    says what it is instead (a class map, a band cube) and where probabilities come from.

    Examples
    --------
    >>> m = xr.DataArray(np.ones((2, 2), "uint8"), dims=("y", "x"))
    >>> require_probabilities(m)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    xr_landcover.errors.DimensionError: probabilities must be a probability cube ...
    """
    if not isinstance(obj, xr.DataArray):
        raise InvalidInputTypeError(
            f"{name} must be an xarray.DataArray (from xr_landcover.predict_proba); got "
            f"{type(obj).__name__}")
    missing = [d for d in ("class", "y", "x") if d not in obj.dims]
    if missing:
        found = ("a band cube (predict it first: xr_landcover.predict_proba(cube, model))"
                 if "band" in obj.dims else
                 "a class map (integer classes have no per-class probabilities)"
                 if np.issubdtype(obj.dtype, np.integer) else f"dims {obj.dims}")
        raise DimensionError(
            f"{name} must be a probability cube with dims (..., 'class', 'y', 'x') from "
            f"xr_landcover.predict_proba; got {found} (missing dims {missing})")
    if not np.issubdtype(obj.dtype, np.floating):
        raise InvalidInputTypeError(
            f"{name} must hold float probabilities; got dtype {obj.dtype}")
    if "class" not in obj.coords or not np.issubdtype(obj["class"].dtype, np.integer):
        raise InvalidParameterError(
            f"{name} needs an integer 'class' coordinate holding the class values (as "
            f"predict_proba writes); assign one with {name}.assign_coords({{'class': [...]}})")
    values = obj["class"].values
    if len(set(values.tolist())) != len(values) or (values < 0).any():
        raise InvalidParameterError(
            f"{name}'s class values must be distinct and >= 0; got {values.tolist()}")
    if obj.dims[-3:] != ("class", "y", "x"):
        obj = obj.transpose(..., "class", "y", "x")
    return obj


def probability_classes(probabilities: xr.DataArray) -> ClassMap:
    """The classes of a probability cube (values from the ``class`` coordinate, in its order;
    names and colours from the attrs, by value where given as a dict), ``nodata=None``."""
    values = tuple(int(v) for v in probabilities["class"].values)
    names = probabilities.attrs.get("class_names")
    if isinstance(names, str):
        names = names.split()
    if names is None or len(names) != len(values):
        names = [str(v) for v in values]
    colors = attr_colors(probabilities.attrs, values)
    return ClassMap(values, tuple(str(n) for n in names), colors, None)


# -- object-based --------------------------------------------------------------------------


def _segment_probabilities(attrs, estimator, features, columns):
    """Sorted segment ids and their class probabilities ``(n, classes)`` float32."""
    uid = attrs.index.to_numpy(np.int64)
    X = attrs[list(features)].to_numpy(np.float64)
    ok = np.isfinite(X).all(axis=1)
    proba = np.full((len(uid), len(columns)), np.nan, np.float32)
    if ok.any():
        proba[ok] = float32_keeping_winner(_reorder(estimator.predict_proba(X[ok]), columns))
    return uid, proba


def _paint_block(ids, table):
    uid, proba = table
    out = np.full((proba.shape[1],) + ids.shape, np.nan, np.float32)
    if len(uid):
        pos = np.minimum(np.searchsorted(uid, ids), len(uid) - 1)
        hit = (ids > 0) & (uid[pos] == ids)
        out[:, hit] = proba[pos[hit]].T
    return out


def _predict_segments(cube, model, segments, estimator, columns):
    from ..segment.attributes import attribute_table, check_grid
    from .segments import feature_names

    if cube.ndim != 3:
        raise DimensionError(
            f"object-based probabilities take one image, dims ('band', 'y', 'x'); cube has "
            f"{cube.dims}: select one first, e.g. cube.isel({cube.dims[0]}=0)")
    check_grid(cube, segments)
    features = tuple(model.attributes) or feature_names(model.bands)
    table = dask.delayed(_segment_probabilities, pure=True)(
        attribute_table(cube, segments), estimator, features, columns)
    ids = segments.transpose("y", "x").data
    if not isinstance(ids, dsa.Array):
        ids = dsa.from_array(np.asarray(ids), chunks=1024)
    return dsa.map_blocks(_paint_block, ids, table, new_axis=0,
                          chunks=((len(columns),), *ids.chunks), dtype=np.float32,
                          name="landcover-segment-proba-" + uuid.uuid4().hex)


def predict_proba(cube: xr.DataArray, model: LandcoverModel,
                  segments: xr.DataArray | None = None) -> xr.DataArray:
    """Probability of each of the model's classes at every pixel, lazily, block by block.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``(..., "band", "y", "x")`` with the model's band names (any order); extra
        leading dims such as ``time`` are kept.
    model : LandcoverModel
        From :func:`xr_landcover.train` or :meth:`LandcoverModel.load`; its estimator needs
        ``predict_proba`` (all of the package's methods have it).
    segments : xarray.DataArray, optional
        For an object-based model: the cube's segment map; each segment gets its
        probabilities once (the cube must then be ``("band", "y", "x")``).

    Returns
    -------
    xarray.DataArray
        ``"probabilities"``, float32, dims of the cube with ``band`` replaced by ``class``
        (coordinate: the class values), attrs ``class_names`` and ``flag_colors``, the cube's CRS
        and transform; NaN on nodata; the classes of a valid pixel sum to 1 (to float32
        rounding). Nothing is computed.

    Raises
    ------
    InvalidInputTypeError
        ``model`` is not a :class:`LandcoverModel`.
    InvalidParameterError
        The estimator has no ``predict_proba``; ``segments`` given to a pixel model or missing
        for an object-based one.
    BandMismatchError
        The cube's bands are not the model's.

    See Also
    --------
    xr_landcover.label : the class map of a probability cube.

    Examples
    --------
    >>> import warnings
    >>> import xr_landcover
    >>> from xr_landcover import datasets
    >>> cube = datasets.nc_landsat7(chunks=256)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     model = xr_landcover.train(cube, datasets.nc_training_polygons(), "id", "label",
    ...                                method="random_trees", max_samples_per_class=50,
    ...                                random_state=0)
    >>> p = xr_landcover.predict_proba(cube, model)
    >>> p.name, p.dims, p.dtype, p["class"].values.tolist()
    ('probabilities', ('class', 'y', 'x'), dtype('float32'), [1, 3, 4, 5, 6, 7])
    >>> total = p.sum("class", skipna=False)
    >>> bool(abs(total - 1).max() < 1e-6)
    True
    """
    if not isinstance(model, LandcoverModel):
        raise InvalidInputTypeError(
            f"model must be a LandcoverModel (from train or LandcoverModel.load); "
            f"got {type(model).__name__}")
    cube = model_features(require_cube(cube, crs=False), model)
    if not hasattr(model.estimator, "predict_proba"):
        raise InvalidParameterError(
            f"predict_proba needs an estimator with predict_proba; the model's "
            f"{type(model.estimator).__name__} has none (use classify for its labels)")
    if model.feature == "segments" and segments is None:
        raise InvalidParameterError(
            "this model classifies segments (it was trained with segments=): pass the cube's "
            "segment map, predict_proba(cube, model, segments=seg)")
    if model.feature != "segments" and segments is not None:
        raise InvalidParameterError(
            "this model was trained on pixels (feature='pixels'): call predict_proba without "
            "segments=, or train an object-based model with train(..., segments=seg)")
    cube = check_bands(require_crs(cube), model)
    warn_if_other_crs(cube, model)
    cube = check_against_model(cube, model)  # the model's nodata, undeclared fill, scale
    from .accelerate import accelerate

    fitted = accelerate(model.estimator) if segments is None else model.estimator
    columns = _columns(fitted.classes_, model.class_values)
    estimator = dask.delayed(fitted, name=f"landcover-estimator-{uuid.uuid4().hex}")
    template = cube.isel(band=0, drop=True)
    if segments is not None:
        data = _predict_segments(cube, model, segments, estimator, columns)
    else:
        data = cube.data
        if not isinstance(data, dsa.Array):
            data = dsa.from_array(np.asarray(data), chunks=-1)
        band_axis = data.ndim - 3
        data = data.rechunk({band_axis: -1})
        chunks = (*data.chunks[:band_axis], (len(columns),), *data.chunks[band_axis + 1:])
        data = dsa.map_blocks(_proba_block, data, estimator, columns=columns,
                              nodata=cube.rio.nodata, chunks=chunks, dtype=np.float32,
                              name="landcover-proba-" + uuid.uuid4().hex)
    return probabilities_like(data, template, model.class_values, model.class_names,
                              [c.color for c in model.classes])
