"""Supervised classification: training samples, estimators, the model, pixel and object-based
classification, and exact faster prediction.

Modules: :mod:`~.model` (:class:`LandcoverModel`, its files), :mod:`~.estimators` (methods by
name), :mod:`~.samples` (training pixels from polygons/points), :mod:`~.segments`
(object-based training and classification), :mod:`~.training`, :mod:`~.pixels`
(:func:`classify`), :mod:`~.clustering` (:func:`cluster`: unsupervised classes),
:mod:`~.time_features` (a time series' dates as features, ``band@date``),
:mod:`~.accelerate` (exact fast kernels), :mod:`~._common` (helpers shared
by pixels and segments). The subpackage is called ``classification``, not ``classify``, so that
importing it never shadows the function :func:`xr_landcover.classify` on the package
(likewise ``training`` for :func:`train`; :mod:`~.accelerate` is not re-exported here, so the
name stays the module).
Sample reading (geopandas) loads on first use.
"""

from __future__ import annotations

import importlib

from .clustering import cluster
from .estimators import METHODS, make_estimator
from .model import FORMAT_VERSION, LandcoverModel
from .pixels import PREDICT_BATCH, classify, labels_follow_probabilities
from .training import train

_LAZY = {
    "extract_samples": ".samples",
    "read_samples": ".samples",
    "TrainingSamples": ".samples",
    "extract_segment_samples": ".segments",
    "classify_segments": ".segments",
}

__all__ = ["cluster", "FORMAT_VERSION", "LandcoverModel", "METHODS", "PREDICT_BATCH",
           "classify", "labels_follow_probabilities", "make_estimator", "train", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value
