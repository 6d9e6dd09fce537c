"""Lazy block-wise classification of a band cube with a :class:`~xr_landcover.LandcoverModel`.

(The module is ``classification``, not ``classify``, so that importing it can never shadow the
function ``xr_landcover.classify`` on the package.)

Each dask block ``(..., band, y, x)`` becomes a ``(pixels, bands)`` table of its *valid*
pixels (no NaN, no nodata value in any band), which goes to ``estimator.predict`` (and
``predict_proba`` for the confidence); invalid pixels get the class map's fill value. The
estimator enters the dask graph once, as a single key that every block task depends on, so a
large random forest is not copied into each task. Every pixel is classified on its own, so the
labels do not depend on the chunking. RBF SVMs predict through
:func:`~.accelerate.accelerate` (libsvm's arithmetic, bitwise the same labels, faster).
"""

from __future__ import annotations

import uuid

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from .._validate import require_crs, require_cube
from ..errors import (
    InvalidInputTypeError,
    InvalidParameterError,
)
from ._common import (
    check_against_model,
    check_bands,
    class_map_dtype,
    classification_output,
    model_features,
    valid_pixels,
    warn_if_other_crs,
)
from .model import LandcoverModel

__all__ = ["classify", "labels_follow_probabilities", "PREDICT_BATCH"]


#: Pixels per ``predict`` call. An estimator's temporaries grow with the pixels of one call (a
#: forest's ``predict_proba`` holds n_pixels x n_classes float64 per tree and for the sum), so a
#: block is predicted in batches of this many pixels: memory set by the batch, not the chunk.
#: Every pixel is predicted on its own, so the labels do not depend on it. (65,536 was measured
#: 1.5x slower than one call per chunk inside dask.distributed worker processes, though not
#: under threads; 262,144 costs about 10 % there. See benchmarks/README.md.)
PREDICT_BATCH = 262144


def _batches(rows: np.ndarray):
    """``rows`` in consecutive slices of at most :data:`PREDICT_BATCH` rows (views, no copy)."""
    return [rows[i:i + PREDICT_BATCH] for i in range(0, len(rows), PREDICT_BATCH)]


def labels_follow_probabilities(estimator) -> bool:
    """Whether ``estimator.predict(X)`` is, by its code, ``classes_[argmax(predict_proba(X))]``.

    True for scikit-learn's forests (``RandomForestClassifier``, ``ExtraTreesClassifier``, single
    output), ``CalibratedClassifierCV`` (the package's ``svm``), a ``Pipeline`` ending in one of
    them and their accelerated copies (:class:`~xr_landcover._forest_kernel.PackedForest`):
    their ``predict`` is literally that expression, so the
    labels and the winning-class probability can come from one ``predict_proba`` pass. A
    subclass that overrides ``predict`` is not trusted.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> [labels_follow_probabilities(e) for e in (RandomForestClassifier(),
    ...                                           KNeighborsClassifier())]
    [True, False]
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble._forest import ForestClassifier
    from sklearn.pipeline import Pipeline

    def defined_by(base, *names) -> bool:  # the methods are base's own, not overridden
        mro = type(estimator).__mro__
        return all(next(k for k in mro if name in vars(k)) is base for name in names)

    from .._forest_kernel import PackedForest

    if isinstance(estimator, PackedForest):  # predict is classes_[argmax(predict_proba)]
        return True
    if isinstance(estimator, Pipeline):
        return (defined_by(Pipeline, "predict", "predict_proba")
                and labels_follow_probabilities(estimator.steps[-1][1]))
    if isinstance(estimator, ForestClassifier):
        return defined_by(ForestClassifier, "predict") and getattr(estimator, "n_outputs_", 1) == 1
    if isinstance(estimator, CalibratedClassifierCV):
        return defined_by(CalibratedClassifierCV, "predict")
    return False


def _predict_block(block, estimator, *, out_dtype, fill, confidence, nodata):
    """Classify one block ``(..., band, y, x)``; return ``(..., y, x)`` (or 2 stacked maps)."""
    band_axis = block.ndim - 3
    valid = valid_pixels(block, band_axis, nodata)
    pixels = np.moveaxis(block, band_axis, -1)[valid]  # (n_valid, bands)
    labels = np.full(valid.shape, fill, dtype=out_dtype)
    if confidence:
        conf = np.full(valid.shape, np.nan, dtype=np.float32)
    if pixels.shape[0]:
        # float32 cubes stay float32 (what the estimators' own input checks convert to anyway)
        if not np.issubdtype(pixels.dtype, np.floating):
            pixels = pixels.astype(np.float64)
        if confidence and labels_follow_probabilities(estimator):
            # one pass: predict() is classes_[argmax(predict_proba)] for these estimators
            predicted, winning = [], []
            for part in _batches(pixels):
                proba = estimator.predict_proba(part)
                best = np.argmax(proba, axis=1)
                predicted.append(estimator.classes_.take(best, axis=0))
                winning.append(proba[np.arange(len(part)), best])
            labels[valid] = np.concatenate(predicted)
            conf[valid] = np.concatenate(winning)
        else:
            predicted = np.concatenate([estimator.predict(part) for part in _batches(pixels)])
            labels[valid] = predicted
            if confidence:
                winning = []
                for part, labels_part in zip(_batches(pixels), _batches(predicted)):
                    proba = estimator.predict_proba(part)
                    column = np.searchsorted(estimator.classes_, labels_part)
                    winning.append(proba[np.arange(len(part)), column])
                conf[valid] = np.concatenate(winning)
    if confidence:
        return np.stack([labels.astype(np.float32), conf])
    return labels


def classify(
    cube: xr.DataArray,
    model: LandcoverModel,
    confidence: bool = False,
    segments: xr.DataArray | None = None,
) -> xr.DataArray | xr.Dataset:
    """Classify every pixel of a band cube, lazily, block by block.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``(..., "band", "y", "x")`` with the model's band names (any order); extra
        leading dims such as ``time`` are kept. For a model trained on a time series
        (``model.time_dim``), a ``(time, band, y, x)`` cube with the same dates: the map is
        then one ``(y, x)``.
    model : LandcoverModel
        From :func:`xr_landcover.train` or :meth:`LandcoverModel.load`.
    confidence : bool, default False
        Also return the probability of the winning class (needs ``predict_proba``).
    segments : xarray.DataArray, optional
        For an object-based model (``train(..., segments=...)``): the cube's segment map. Each
        segment is classified once from its attributes and the ids are mapped to classes
        block by block, lazily (see :mod:`~xr_landcover.classification.segments`); the cube
        must then be ``("band", "y", "x")`` on the segments' grid.

    Returns
    -------
    xarray.DataArray or xarray.Dataset
        The class map ``"landcover"`` (dims of the cube without ``band``; uint8 when the
        class values fit, else uint16; the fill value on nodata) with attrs ``flag_values``,
        ``flag_meanings``, ``class_names``, ``flag_colors``, ``_FillValue`` and the cube's CRS
        and transform. With ``confidence=True``, a Dataset with ``landcover`` and
        ``confidence`` (float32 in [0, 1], NaN on nodata). Nothing is computed.

    Raises
    ------
    BandMismatchError
        A band of the model is missing from the cube, or the cube has other bands.
    InvalidParameterError
        ``confidence=True`` but the estimator has no ``predict_proba``; ``segments`` given to
        a pixel model, or missing for an object-based one.
    GridMismatchError
        ``segments`` is not on the cube's grid.

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
    >>> classes = xr_landcover.classify(cube, model)
    >>> classes.dims, classes.dtype, int(classes.attrs["_FillValue"])
    (('y', 'x'), dtype('uint8'), 0)
    >>> classes.attrs["flag_meanings"]
    'developed herbaceous shrubland forest water sediment'
    >>> sorted(set(classes.values.ravel().tolist()))
    [0, 1, 3, 4, 5, 6, 7]
    """
    if not isinstance(model, LandcoverModel):
        raise InvalidInputTypeError(
            f"model must be a LandcoverModel (from train or LandcoverModel.load); "
            f"got {type(model).__name__}"
        )
    # the model's spectral indices added where the cube lacks them; a time-series model's
    # dates stacked as band@date
    cube = model_features(require_cube(cube, crs=False), model)
    if segments is not None or model.feature == "segments":
        from .segments import classify_segments

        return classify_segments(cube, model, segments, confidence=confidence)
    if model.feature != "pixels":
        raise InvalidParameterError(
            f"this model classifies {model.feature!r} features, not pixels"
        )
    if confidence and not hasattr(model.estimator, "predict_proba"):
        raise InvalidParameterError(
            f"confidence=True needs an estimator with predict_proba; "
            f"{type(model.estimator).__name__} has none"
        )
    cube = check_bands(require_crs(cube), model)
    warn_if_other_crs(cube, model)
    cube = check_against_model(cube, model)

    data = cube.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=-1)
    band_axis = data.ndim - 3
    data = data.rechunk({band_axis: -1})
    dtype, fill = class_map_dtype(model.class_values)
    nodata = cube.rio.nodata
    # One key for the estimator: each block task refers to it instead of embedding a copy.
    # accelerate: the same estimator with faster, bitwise-identical predictions (RBF SVMs).
    from .accelerate import accelerate

    estimator = dask.delayed(accelerate(model.estimator),
                             name=f"landcover-estimator-{uuid.uuid4().hex}")
    kwargs = {"out_dtype": dtype, "fill": fill, "confidence": confidence, "nodata": nodata}
    if confidence:
        stacked = dsa.map_blocks(
            _predict_block, data, estimator, **kwargs,
            drop_axis=band_axis, new_axis=0, dtype=np.float32,
            chunks=((2,), *data.chunks[:band_axis], *data.chunks[band_axis + 1:]),
            name="landcover-classify-" + uuid.uuid4().hex,
        )
        labels, conf = stacked[0].astype(dtype), stacked[1]
    else:
        labels = dsa.map_blocks(
            _predict_block, data, estimator, **kwargs, drop_axis=band_axis, dtype=dtype,
            name="landcover-classify-" + uuid.uuid4().hex,
        )
    return classification_output(labels, conf if confidence else None, cube, model, fill)


