"""Training: training samples in, a fitted :class:`~xr_landcover.LandcoverModel` out.

Pixels (or, with ``segments=``, segments) under the samples are gathered chunk by chunk
(:mod:`~xr_landcover.classification.samples`, :mod:`~xr_landcover.classification.segments`),
capped per class, and the estimator of the chosen method
(:mod:`~xr_landcover.classification.estimators`) is fitted on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._validate import DEFAULT_MAX_SAMPLES_PER_CLASS, require_cube
from ..errors import (
    InvalidInputTypeError,
    InvalidParameterError,
)
from ..indices import INDICES_ATTR
from .estimators import METHODS, make_estimator
from .model import LandcoverModel
from .time_features import feature_base_names, stack_dates

__all__ = ["check_method", "fit_estimator", "train"]


def check_method(method: str | None, estimator: Any, params: dict) -> str:
    """The method name (``"estimator"`` for ``estimator=``), after checking that ``method``,
    ``estimator`` and the extra parameters go together; the default is ``"svm"``."""
    if estimator is not None and method is not None:
        raise InvalidParameterError("give either method=... or estimator=..., not both")
    if estimator is not None and params:
        raise InvalidParameterError(
            f"extra parameters {sorted(params)} only go with method=...; set them on your "
            "estimator instead"
        )
    if estimator is not None and not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise InvalidInputTypeError(
            f"estimator must have fit and predict methods; got {type(estimator).__name__}"
        )
    if estimator is not None:
        _require_classifier(estimator)
    method = method or ("estimator" if estimator is not None else "svm")
    if estimator is None and method not in METHODS:
        raise InvalidParameterError(
            f"method must be one of {list(METHODS)} (or give estimator=...); got {method!r}"
        )
    return method


def fit_estimator(X: np.ndarray, y: np.ndarray, method: str, estimator: Any = None,
                  random_state: Any = None, **params: Any):
    """A fitted estimator: a clone of ``estimator``, or a new one of ``method`` (checked by
    :func:`check_method`) fitted on the pixels ``X`` labelled ``y``."""
    from sklearn.base import clone

    if estimator is not None:
        est = clone(estimator)
    else:
        seed = random_state if isinstance(random_state, int) else None
        _, sizes = np.unique(y, return_counts=True)
        est = make_estimator(method, len(sizes), random_state=seed,
                             min_class_size=int(sizes.min()), **params)
    try:
        est.fit(X, y)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"fitting the {method} estimator failed: {exc}") from exc
    return est



def _require_classifier(estimator) -> None:
    """Refuse an estimator that scikit-learn knows is no classifier (a clusterer such as
    ``KMeans``, a regressor, an outlier detector): it would fail deep in its own code or
    predict values that are no class. Estimators without scikit-learn's tags pass."""
    from sklearn.base import is_classifier, is_clusterer, is_outlier_detector, is_regressor

    try:
        if is_classifier(estimator):
            return
        kind = ("a clusterer (unsupervised: it ignores the training classes)"
                if is_clusterer(estimator) else "a regressor" if is_regressor(estimator)
                else "an outlier detector" if is_outlier_detector(estimator) else None)
    except AttributeError:  # not a scikit-learn estimator: no tags to read
        return
    if kind:
        unsupervised = (" For unsupervised classes use cube.landcover.cluster(n_classes, "
                        "method='kmeans' or 'isodata') (xr_landcover.cluster)."
                        if kind.startswith("a clusterer") else "")
        raise InvalidInputTypeError(
            f"estimator must be a classifier (fitted on the samples' classes); got "
            f"{type(estimator).__name__}, {kind}. Pass a scikit-learn classifier, e.g. "
            f"RandomForestClassifier(), or a method name (method='random_trees').{unsupervised}"
        )

def train(
    cube: xr.DataArray,
    samples,
    class_field: str | None = None,
    name_field: str | None = None,
    method: str | None = None,
    max_samples_per_class: int | None = DEFAULT_MAX_SAMPLES_PER_CLASS,
    random_state: int | None = None,
    estimator: Any = None,
    color_fields: Sequence[str] | None = ("Red", "Green", "Blue"),
    segments: xr.DataArray | None = None,
    **params: Any,
) -> LandcoverModel:
    """Train a pixel (or, with ``segments``, object-based) classifier from training samples.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``("band", "y", "x")`` with a CRS (lazy; only chunks under samples are read),
        or a time series ``(time, band, y, x)``: then every date's bands are features, named
        ``band@date`` (:mod:`~xr_landcover.classification.time_features`), and the model
        classifies a cube with the same dates into one ``(y, x)`` map.
    samples : GeoDataFrame or path
        Training polygons or points in any CRS; see :func:`~.samples.extract_samples`
        for ``class_field``, ``name_field`` and ``color_fields``.
    method : {"svm", "random_trees", "max_likelihood", "knn", "gradient_boosting"}, default "svm"
        The classifier (see the module documentation); not with ``estimator``.
    max_samples_per_class : int or None, default 500
        ArcGIS ``maxSampleClass``; ``None`` or 0: every pixel.
    random_state : int, optional
        Seed for the per-class draw and the estimator.
    estimator : scikit-learn classifier, optional
        Any estimator with ``fit``/``predict`` (cloned, then fitted) instead of ``method``.
    segments : xarray.DataArray, optional
        The cube's segment map (:func:`xr_landcover.segment.segment`): train an object-based
        model. The samples then label the segments they cover (a segment takes the class whose
        sample pixels cover at least half of it), each labelled segment is one sample whose
        features are its attributes (band means, band standard deviations, count, compactness,
        rectangularity), and ``max_samples_per_class`` counts segments. See
        :mod:`~xr_landcover.classification.segments`. Classify with ``classify(..., segments=...)``.
    **params
        Passed to the estimator of ``method`` (e.g. ``C=10`` for svm, ``n_estimators=100``).

    Returns
    -------
    LandcoverModel

    Raises
    ------
    SamplesError, NoSamplesError
        See :func:`~xr_landcover.classification.samples.extract_samples` (and
        :func:`~xr_landcover.classification.segments.extract_segment_samples` with ``segments``).
    GridMismatchError
        ``segments`` is not on the cube's grid (shape, CRS, coordinates).
    InvalidParameterError
        Unknown method, bad parameters, or both ``method`` and ``estimator``.

    Examples
    --------
    >>> import warnings
    >>> import xr_landcover
    >>> from xr_landcover import datasets
    >>> cube, polygons = datasets.nc_landsat7(), datasets.nc_training_polygons()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # agriculture: its polygon lies on nodata
    ...     model = xr_landcover.train(cube, polygons, class_field="id", name_field="label",
    ...                                method="random_trees", max_samples_per_class=50,
    ...                                random_state=0)
    >>> model.class_names
    ['developed', 'herbaceous', 'shrubland', 'forest', 'water', 'sediment']
    >>> model.classifier_definition[0]
    {'ClassValue': 1, 'ClassName': 'developed', 'Red': 222, 'Green': 0, 'Blue': 0}
    """
    method = check_method(method, estimator, params)
    # a (time, band, y, x) cube: every date's bands are features, named band@date
    cube, time_dim = stack_dates(require_cube(cube))
    if segments is not None:
        from .segments import extract_segment_samples

        ts = extract_segment_samples(
            cube, segments, samples, class_field=class_field, name_field=name_field,
            color_fields=color_fields, max_samples_per_class=max_samples_per_class,
            random_state=random_state,
        )
    else:
        from .samples import extract_samples  # geopandas: imported when training

        ts = extract_samples(
            cube, samples, class_field=class_field, name_field=name_field,
            color_fields=color_fields, max_samples_per_class=max_samples_per_class,
            random_state=random_state,
        )
    est = fit_estimator(ts.X, ts.y, method, estimator, random_state, **params)
    res = cube.rio.resolution()
    # the spectral indices with_indices added (classify adds them to a cube without them)
    indices = tuple(i for i in cube.attrs.get(INDICES_ATTR, ())
                    if i in feature_base_names(ts.bands))
    # the fill value of the training cube: its nodata, or for a masked cube (NaN) the value
    # the file declared (open_image(..., nodata=0) keeps it as the encoded nodata)
    nodata = next((v for v in (cube.rio.nodata, cube.rio.encoded_nodata)
                   if v is not None and np.isfinite(v)), None)
    band_stats = None
    if segments is None:  # what classify compares a sample of the cube with
        low, median, high = np.percentile(ts.X, [1, 50, 99], axis=0)
        band_stats = {"low": tuple(low.tolist()), "median": tuple(median.tolist()),
                      "high": tuple(high.tolist())}
    return LandcoverModel(
        classes=tuple(ts.classes),
        bands=tuple(ts.bands),
        estimator=est,
        method=method,
        crs=cube.rio.crs.to_wkt() if cube.rio.crs is not None else None,
        resolution=(float(res[0]), float(res[1])),
        training={
            "available": ts.available,
            "used": ts.used,
            "max_samples_per_class": ts.max_samples_per_class,
            "random_state": random_state if isinstance(random_state, int) else None,
            "dropped": [c.name for c in ts.dropped],
        },
        feature="pixels" if segments is None else "segments",
        attributes=tuple(getattr(ts, "features", ())),
        indices=indices,
        time_dim=time_dim,
        nodata=None if nodata is None else float(nodata),
        band_stats=band_stats,
    )
