"""Run the accelerated-prediction checks in a fresh process under one OpenBLAS kernel.

``python tests/openblas_kernels.py`` prints one JSON line: the OpenBLAS kernel scipy's BLAS
selected (``OPENBLAS_CORETYPE`` chooses it), whether each accelerated estimator took the fast
path (and which way of summing the squared distances it found this ``ddot`` to use), whether
its results equal scikit-learn's bitwise, and how often this kernel's ``ddot``
differs from a plain left-to-right sum (which shows the check can tell kernels apart). Used by
``tests/test_accelerate.py``, which runs it under several kernels.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import threadpoolctl
from scipy.linalg.blas import ddot
from sklearn.svm import SVC

from xr_landcover.classification.accelerate import RBFSupportVectorClassifier, accelerate


def blas_architecture() -> str:
    """The kernel of the OpenBLAS that scipy (and so scikit-learn's libsvm) calls."""
    for info in threadpoolctl.threadpool_info():
        if info.get("internal_api") == "openblas" and "scipy" in info["filepath"].split("/")[-2]:
            return str(info.get("architecture"))
    return "unknown"


def ddot_differs_from_sequential(n_features: int) -> int:
    """Of 2,000 random squared norms, how many this kernel's ``ddot`` rounds differently from
    ``sum(d[i] * d[i] for i in order)``: where non-zero, a kernel that sums in the plain order
    (the first accelerated SVM did) cannot pass :func:`svm_checks`."""
    d = np.random.default_rng(0).normal(size=(2000, n_features))
    sequential = np.zeros(len(d))
    for f in range(n_features):
        sequential += d[:, f] * d[:, f]
    return int(sum(ddot(row, row) != s for row, s in zip(d, sequential)))


def svm_checks() -> list[dict]:
    results = []
    for n_classes, n_features, gamma in [(2, 6, "scale"), (3, 6, 0.5), (7, 6, "scale"),
                                         (4, 3, 0.1), (3, 20, "scale")]:
        rng = np.random.default_rng(n_classes * n_features)
        centres = rng.normal(0, 2, (n_classes, n_features))
        y = rng.integers(0, n_classes, 400)
        X = centres[y] + rng.normal(0, 1.2, (400, n_features))
        svc = SVC(gamma=gamma).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a fallback warning fails the check
            fast = accelerate(svc)
        Xt = np.concatenate([rng.normal(0, 3, (3000, n_features)), X[:50]])
        Xt32 = Xt.astype(np.float32)
        fast_path = isinstance(fast, RBFSupportVectorClassifier)
        results.append({
            "model": f"SVC {n_classes} classes, {n_features} features, gamma={gamma}",
            "fast_path": fast_path,
            "features": n_features,
            "arithmetic": ["ddot", "sequential", "fused"][fast._arithmetic] if fast_path else None,
            "equal": bool(fast_path
                          and np.array_equal(fast.decision_function(Xt),
                                             svc.decision_function(Xt))
                          and np.array_equal(fast.predict(Xt), svc.predict(Xt))
                          and np.array_equal(fast.predict(Xt32), svc.predict(Xt32))),
        })
    return results


if __name__ == "__main__":
    print(json.dumps({
        "architecture": blas_architecture(),
        "ddot_differs_from_sequential": {n: ddot_differs_from_sequential(n) for n in (3, 6, 20)},
        "checks": svm_checks(),
    }))
