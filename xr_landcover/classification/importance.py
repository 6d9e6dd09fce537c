"""Feature importance of a :class:`~xr_landcover.LandcoverModel`, by band (or segment
attribute) name.

* Without samples: the estimator's impurity importances (``feature_importances_``: mean
  decrease in impurity over the trees; random trees have them). Quick, but computed on the
  training pixels and biased towards features with many distinct values.
* With ``cube`` and ``samples``: permutation importance
  (:func:`sklearn.inspection.permutation_importance`), the drop in accuracy when one band's
  values are shuffled among the sample pixels, for any estimator. Pass samples the model was
  not trained on for an honest figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .._validate import DEFAULT_MAX_SAMPLES_PER_CLASS, check_number, require_cube
from ..errors import BandMismatchError, InvalidParameterError

__all__ = ["feature_importance"]


def _innermost(estimator):
    """The final estimator of a pipeline (or a wrapper's fitted estimator)."""
    steps = getattr(estimator, "steps", None)
    if steps:
        return _innermost(steps[-1][1])
    return estimator


def feature_importance(model, cube=None, samples=None, class_field: str | None = None,
                       n_repeats: int = 5,
                       max_samples_per_class: int | None = DEFAULT_MAX_SAMPLES_PER_CLASS,
                       random_state: Any = 0) -> pd.DataFrame:
    """Importance of each feature of ``model``: see :meth:`LandcoverModel.feature_importance`."""
    names = list(model.attributes) if model.feature == "segments" else list(model.bands)
    if cube is None and samples is None:
        est = _innermost(model.estimator)
        values = getattr(est, "feature_importances_", None)
        if values is None:
            raise InvalidParameterError(
                f"the {model.method} estimator ({type(est).__name__}) has no impurity "
                "importances; pass cube=... and samples=... for permutation importance"
            )
        df = pd.DataFrame({"importance": np.asarray(values, dtype=float)},
                          index=pd.Index(names, name="feature"))
        df.attrs["kind"] = "impurity"
        return df.sort_values("importance", ascending=False, kind="stable")
    if cube is None or samples is None:
        raise InvalidParameterError(
            "permutation importance needs both cube=... and samples=... (labelled pixels to "
            "shuffle); give neither for the impurity importances"
        )
    if model.feature != "pixels":
        raise InvalidParameterError(
            "permutation importance on samples is for pixel models; for an object-based model "
            "call feature_importance() without samples (impurity importances)"
        )
    check_number("n_repeats", n_repeats, 1, integer=True)
    from sklearn.inspection import permutation_importance

    from .samples import extract_samples

    cube = require_cube(cube, single_image="training")
    have = [str(b) for b in cube.band.values]
    missing = [b for b in model.bands if b not in have]
    if missing:  # (not _common.check_bands: it imports the model, which imports this)
        raise BandMismatchError(
            f"the cube lacks the model's bands {missing} (it has {have}); select or rename "
            "bands (cube.sel(band=[...]), cube.assign_coords(band=[...]))"
        )
    cube = cube.sel(band=list(model.bands))
    ts = extract_samples(cube, samples, class_field=class_field,
                         max_samples_per_class=max_samples_per_class, random_state=random_state)
    result = permutation_importance(model.estimator, ts.X, ts.y, n_repeats=int(n_repeats),
                                    random_state=random_state, n_jobs=1)
    df = pd.DataFrame({"importance": result.importances_mean, "std": result.importances_std},
                      index=pd.Index(names, name="feature"))
    df.attrs.update(kind="permutation", pixels=int(ts.y.size), n_repeats=int(n_repeats))
    return df.sort_values("importance", ascending=False, kind="stable")
