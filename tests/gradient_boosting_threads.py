"""Fit and apply ``method="gradient_boosting"`` in a fresh process and print what it gave.

``python tests/gradient_boosting_threads.py`` prints one JSON line: the OpenMP thread count
scikit-learn's ``HistGradientBoostingClassifier`` runs with (``OMP_NUM_THREADS`` sets it), the
OpenBLAS kernel (``OPENBLAS_CORETYPE``), and SHA-256 digests of the fitted trees, of
``predict_proba`` and of the labels and confidence ``xr_landcover.classify`` writes for a cube
(dask threads call the model, each with that many OpenMP threads). Used by
``tests/test_estimators.py``, which runs it under several thread counts and kernels: equal
digests mean bit-identical models and results.
"""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np
import threadpoolctl
import xarray as xr

import xr_landcover
from xr_landcover.classification.estimators import make_estimator


def digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def library(api: str, name: str = "") -> dict:
    for info in threadpoolctl.threadpool_info():
        if info.get("internal_api") == api and name in info["filepath"]:
            return info
    return {}


def overlapping_classes(n: int, seed: int):
    """Five classes of 6 bands, overlapping (the trees need many splits, probabilities are
    far from 0/1) and with tied values (binned features)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1.5, (5, 6))
    y = rng.integers(0, 5, n)
    X = centres[y] + rng.normal(0, 1.0, (n, 6))
    X[:, 0] = np.round(X[:, 0], 1)
    return X.astype(np.float32), y


def bare_estimator() -> dict:
    X, y = overlapping_classes(24_000, 0)  # above 10,000: early stopping on a validation split
    model = make_estimator("gradient_boosting", 5, random_state=0, max_iter=40).fit(X, y)
    Xt, _ = overlapping_classes(20_000, 1)
    trees = [p.nodes for it in model._predictors for p in it]
    return {"n_iter": int(model.n_iter_), "early_stopping": bool(model.do_early_stopping_),
            "trees": digest(*trees, model._baseline_prediction),
            "proba": digest(model.predict_proba(Xt)), "labels": digest(model.predict(Xt))}


def through_classify() -> dict:
    rng = np.random.default_rng(2)
    X, y = overlapping_classes(100 * 120, 3)
    order = np.argsort(y, kind="stable")  # class blocks, so training polygons can hold them
    cube = xr.DataArray(X[order].T.reshape(6, 100, 120), dims=("band", "y", "x"),
                        coords={"band": [f"b{i}" for i in range(6)],
                                "y": 4_000_000.0 - 10 * np.arange(100) - 5,
                                "x": 500_000.0 + 10 * np.arange(120) + 5})
    cube = cube.rio.write_crs("EPSG:32618").chunk({"y": 30, "x": 40})
    labels = y[order].reshape(100, 120)
    import geopandas as gpd
    from shapely.geometry import box

    rows = []
    for r0 in range(0, 100, 20):
        for c0 in range(0, 120, 40):
            cls = int(np.bincount(labels[r0:r0 + 20, c0:c0 + 40].ravel()).argmax()) + 1
            x0, y0 = 500_000.0 + 10 * c0, 4_000_000.0 - 10 * r0
            rows.append({"cls": cls, "geometry": box(x0, y0 - 200, x0 + 400, y0)})
    samples = gpd.GeoDataFrame(rows, crs="EPSG:32618").iloc[rng.permutation(len(rows))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = xr_landcover.train(cube, samples, "cls", method="gradient_boosting",
                                   random_state=0, max_samples_per_class=None, max_iter=40)
    both = xr_landcover.classify(cube, model, confidence=True).compute()
    return {"labels": digest(both["classes"].values) if "classes" in both else
            digest(*[both[v].values for v in both.data_vars]),
            "trees": digest(*[p.nodes for it in model.estimator._predictors for p in it])}


if __name__ == "__main__":
    result = {"bare": bare_estimator(), "classify": through_classify()}
    result["omp_threads"] = library("openmp").get("num_threads")  # loaded by now
    result["architecture"] = str(library("openblas", "scipy").get("architecture"))
    result["package"] = xr_landcover.__file__
    print(json.dumps(result))
