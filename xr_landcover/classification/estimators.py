"""Classifier methods by name: the scikit-learn estimator each ArcGIS-style method stands for.

Methods (ArcGIS *Train Classifier* names in brackets):

``"svm"`` (Support Vector Machine, ArcGIS's default)
    An RBF-kernel :class:`~sklearn.svm.SVC` on standardized bands (each band scaled to zero
    mean and unit variance: the RBF kernel measures distances, and bands with a large range
    would otherwise dominate), wrapped in :class:`~sklearn.calibration.CalibratedClassifierCV`
    (``ensemble=False``: one SVC fitted on all pixels plus a sigmoid fitted on cross-validated
    decision values) so that it gives class probabilities for ``confidence=True``.
``"random_trees"`` (Random Trees)
    :class:`~sklearn.ensemble.RandomForestClassifier` with ArcGIS's defaults: 50 trees
    (``max_num_trees``), depth 30 (``max_tree_depth``).
``"max_likelihood"`` (Maximum Likelihood)
    Gaussian maximum likelihood: one multivariate normal with its own full covariance matrix per
    class, a pixel goes to the class of highest likelihood, classes equally likely a priori.
    This *is* quadratic discriminant analysis with equal priors, so it is implemented as
    :class:`~sklearn.discriminant_analysis.QuadraticDiscriminantAnalysis` with
    ``priors`` all equal (QDA's default priors are the class frequencies in the samples, which
    GIS tools do not use).
``"knn"``
    :class:`~sklearn.neighbors.KNeighborsClassifier` (5 neighbours) on standardized bands.
``"gradient_boosting"``
    :class:`~sklearn.ensemble.HistGradientBoostingClassifier` with scikit-learn's defaults
    (100 boosting iterations, early stopping on a seeded 10 % validation split above 10,000
    pixels); bands are binned, so no scaling is needed. Pass ``max_iter=``,
    ``learning_rate=``, ``max_leaf_nodes=``...
``estimator=...``
    Any scikit-learn-compatible classifier (``fit``/``predict``, and ``predict_proba`` for
    confidence); it is cloned, then fitted.

Estimators run single-threaded (``n_jobs=1``): classification gets its parallelism from dask,
one block per thread or worker. ``HistGradientBoostingClassifier`` has no ``n_jobs``: it runs
OpenMP threads (``OMP_NUM_THREADS``), and gives bit-identical trees and probabilities for any
count (tests/test_estimators.py), so only the speed depends on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import (
    InvalidParameterError,
    SamplesError,
)

__all__ = ["METHODS", "make_estimator"]

#: Classifier methods known by name.
METHODS = ("svm", "random_trees", "max_likelihood", "knn", "gradient_boosting")

_ARCGIS_ALIASES = {"max_num_trees": "n_estimators", "max_tree_depth": "max_depth"}


def make_estimator(
    method: str, n_classes: int, random_state: int | None = None, min_class_size: int = 5,
    **params: Any,
):
    """A fresh, unfitted scikit-learn estimator for a method name.

    Parameters
    ----------
    method : {"svm", "random_trees", "max_likelihood", "knn", "gradient_boosting"}
    n_classes : int
        Number of classes (for the equal priors of maximum likelihood).
    random_state : int, optional
        Seed for the methods that draw random numbers.
    min_class_size : int
        Pixels in the smallest class (the SVM's probability calibration uses up to 5 folds).
    **params
        Passed to the estimator (``SVC``, ``RandomForestClassifier``,
        ``QuadraticDiscriminantAnalysis``, ``KNeighborsClassifier``,
        ``HistGradientBoostingClassifier``). ArcGIS's
        ``max_num_trees``/``max_tree_depth`` are accepted for random trees.

    Examples
    --------
    >>> make_estimator("random_trees", 3, random_state=0)
    RandomForestClassifier(max_depth=30, n_estimators=50, n_jobs=1, random_state=0)
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.discriminant_analysis import QuadraticDiscriminantAnalysis
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    if method not in METHODS:
        raise InvalidParameterError(
            f"method must be one of {list(METHODS)} (or give estimator=...); got {method!r}"
        )
    try:
        if method == "svm":
            folds = min(5, int(min_class_size))
            if folds < 2:
                raise SamplesError(
                    "the svm method needs at least 2 pixels per class (its probabilities are "
                    "calibrated by cross-validation); use method='random_trees' or 'knn' for "
                    "so few samples"
                )
            svc = SVC(**{"kernel": "rbf", "gamma": "scale", "random_state": random_state,
                         **params})
            calibrated = CalibratedClassifierCV(svc, method="sigmoid", cv=folds, ensemble=False)
            return Pipeline([("scale", StandardScaler()), ("svm", calibrated)])
        if method == "random_trees":
            params = {_ARCGIS_ALIASES.get(k, k): v for k, v in params.items()}
            defaults = {"n_estimators": 50, "max_depth": 30, "n_jobs": 1,
                        "random_state": random_state}
            return RandomForestClassifier(**{**defaults, **params})
        if method == "gradient_boosting":
            return HistGradientBoostingClassifier(**{"random_state": random_state, **params})
        if method == "max_likelihood":
            priors = np.full(n_classes, 1.0 / n_classes)
            return QuadraticDiscriminantAnalysis(**{"priors": priors, **params})
        knn = KNeighborsClassifier(**{"n_neighbors": 5, "n_jobs": 1, **params})
        return Pipeline([("scale", StandardScaler()), ("knn", knn)])
    except TypeError as exc:
        raise InvalidParameterError(f"bad parameter for method {method!r}: {exc}") from None
