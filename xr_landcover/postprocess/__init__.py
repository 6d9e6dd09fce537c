"""After classification: probability cubes to class maps, uncertainty, smoothing, reclassifying,
ensembles, where to add training data, and the clean-up of class maps.

Modules: :mod:`~.labels` (:func:`label`), :mod:`~.uncertainties`, :mod:`~.smoothing`,
:mod:`~.reclassification`, :mod:`~.ensembles` (:func:`combine`), :mod:`~.sampling`
(:func:`uncertainty_points`), :mod:`~.majority` (:func:`majority_filter`), :mod:`~.sieve`
(:func:`sieve`, the minimum mapping unit). The probability cube itself comes from
:func:`xr_landcover.predict_proba` (:mod:`xr_landcover.classification.probabilities`).
"""

from __future__ import annotations

from .ensembles import COMBINE_METHODS, combine
from .labels import label
from .majority import majority_filter
from .reclassification import reclassify
from .sampling import uncertainty_points
from .sieve import sieve
from .smoothing import smooth
from .uncertainties import UNCERTAINTY_METHODS, uncertainty

__all__ = ["COMBINE_METHODS", "UNCERTAINTY_METHODS", "combine", "label", "majority_filter",
           "reclassify", "sieve", "smooth", "uncertainty", "uncertainty_points"]
