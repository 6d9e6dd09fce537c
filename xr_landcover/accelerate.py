"""Faster prediction for fitted estimators, with bit-for-bit the same results.

scikit-learn's RBF :class:`~sklearn.svm.SVC` predicts through libsvm, one pixel at a time,
evaluating the kernel against every support vector in a scalar loop. :func:`accelerate` returns
a copy of a fitted estimator in which every such SVC (also inside a
:class:`~sklearn.pipeline.Pipeline` or :class:`~sklearn.calibration.CalibratedClassifierCV`)
computes its one-vs-one decision values with :func:`rbf_ovo_decision`, a numba kernel that does
libsvm's arithmetic in libsvm's order (so the decision values, and hence the labels and
probabilities, are identical) but lays the loops out so the compiler can vectorise the squared
distances over the support vectors; it releases the GIL, so dask's threads run it in parallel.
Measured in ``benchmarks/README.md``.

The copy is checked when it is made: on probe pixels (the support vectors and points between
them) its decision values and labels must equal libsvm's exactly; otherwise (a future
scikit-learn storing its model differently) :func:`accelerate` keeps the original estimator.
The saved model is never changed: acceleration happens at classification time only.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

__all__ = ["accelerate", "rbf_ovo_decision", "RBFSupportVectorClassifier"]


def rbf_ovo_decision(x, support_vectors_t, gamma, n_support, dual_coef, intercept, votes):
    """libsvm's one-vs-one decision values of an RBF C-SVC, and its votes.

    Parameters
    ----------
    x : float64 array (n, features), C order
    support_vectors_t : float64 array (features, n_sv): the support vectors, transposed
    gamma : float
    n_support : int64 array (classes,): support vectors per class (libsvm's order)
    dual_coef : float64 array (classes - 1, n_sv): libsvm's ``sv_coef``
    intercept : float64 array (pairs,): ``-rho``
    votes : int64 array (n,), written: libsvm's winning class index (first of the tied)

    Returns
    -------
    float64 array (n, pairs): the decision value of each pair ``(i, j)``, ``i < j``.

    Every value is computed with the same operations in the same order as libsvm's
    ``svm_predict_values`` (``exp(-gamma * sum((x - sv)^2))``, features in order, then the
    coefficient sums class ``i`` first), so the results are bitwise identical.
    """
    return _compiled_kernel()(x, support_vectors_t, gamma, n_support, dual_coef, intercept,
                              votes)


def _rbf_ovo_decision(x, support_vectors_t, gamma, n_support, dual_coef, intercept, votes):
    """The body of :func:`rbf_ovo_decision`, compiled by numba on first use."""
    n, n_features = x.shape
    n_sv = support_vectors_t.shape[1]
    n_class = n_support.shape[0]
    start = np.zeros(n_class, np.int64)
    for i in range(1, n_class):
        start[i] = start[i - 1] + n_support[i - 1]
    out = np.empty((n, n_class * (n_class - 1) // 2))
    kvalue = np.empty(n_sv)
    count = np.empty(n_class, np.int64)
    neg_gamma = -gamma
    for p in range(n):
        kvalue[:] = 0.0
        for f in range(n_features):  # squared distances, vectorised over the support vectors
            xf = x[p, f]
            for s in range(n_sv):
                d = xf - support_vectors_t[f, s]
                kvalue[s] += d * d
        for s in range(n_sv):
            kvalue[s] = np.exp(neg_gamma * kvalue[s])
        count[:] = 0
        q = 0
        for i in range(n_class):
            for j in range(i + 1, n_class):
                si, sj = start[i], start[j]
                acc = 0.0
                for k in range(n_support[i]):
                    acc += dual_coef[j - 1, si + k] * kvalue[si + k]
                for k in range(n_support[j]):
                    acc += dual_coef[i, sj + k] * kvalue[sj + k]
                acc += intercept[q]  # libsvm: sum -= rho
                out[p, q] = acc
                if acc > 0:
                    count[i] += 1
                else:
                    count[j] += 1
                q += 1
        best = 0
        for i in range(1, n_class):
            if count[i] > count[best]:
                best = i
        votes[p] = best
    return out


@functools.cache
def _compiled_kernel():
    """:func:`_rbf_ovo_decision` compiled (GIL released, cached on disk). numba is imported
    here, not with the module, so classifying with other estimators never loads it."""
    import numba

    return numba.njit(nogil=True, cache=True)(_rbf_ovo_decision)


class RBFSupportVectorClassifier(SVC):
    """A fitted RBF :class:`~sklearn.svm.SVC` whose dense predictions use
    :func:`rbf_ovo_decision`: the same results as libsvm, faster. Made by :func:`accelerate`."""

    def _kernel_arguments(self, X):
        x = np.ascontiguousarray(X, dtype=np.float64)
        return (x, self._support_vectors_t, float(self._gamma),
                self._n_support.astype(np.int64),
                np.ascontiguousarray(self._dual_coef_, dtype=np.float64),
                np.ascontiguousarray(self._intercept_, dtype=np.float64),
                np.empty(x.shape[0], np.int64))

    def _dense_decision_function(self, X):
        return rbf_ovo_decision(*self._kernel_arguments(X))

    def _dense_predict(self, X):
        args = self._kernel_arguments(X)
        rbf_ovo_decision(*args)
        return args[-1].astype(np.float64)  # libsvm's label = class index (labels 0..k-1)


def _probe(svc) -> np.ndarray:
    """Pixels to compare libsvm and the kernel on: support vectors and points between them."""
    sv = np.asarray(svc.support_vectors_, dtype=np.float64)[:64]
    rng = np.random.default_rng(0)
    mixed = 0.5 * (sv + sv[rng.permutation(len(sv))])
    return np.concatenate([sv, mixed, sv + 0.25 * rng.standard_normal(sv.shape)])


def _accelerate_svc(svc):
    if (type(svc) is not SVC or svc.kernel != "rbf" or getattr(svc, "_sparse", True)
            or not hasattr(svc, "support_vectors_") or svc._impl != "c_svc"):
        return svc
    fast = RBFSupportVectorClassifier.__new__(RBFSupportVectorClassifier)
    fast.__dict__.update(svc.__dict__)
    fast._support_vectors_t = np.ascontiguousarray(svc.support_vectors_.T, dtype=np.float64)
    probe = _probe(svc)
    try:
        same = (np.array_equal(fast._dense_decision_function(probe),
                               svc._dense_decision_function(probe))
                and np.array_equal(fast.predict(probe), svc.predict(probe)))
    except Exception:  # noqa: BLE001 - any mismatch of internals: keep libsvm
        same = False
    return fast if same else svc


def accelerate(estimator):
    """A copy of a fitted estimator that predicts faster, with identical results.

    Every fitted RBF :class:`~sklearn.svm.SVC` in it (also inside a ``Pipeline`` or a
    ``CalibratedClassifierCV``) is replaced by a :class:`RBFSupportVectorClassifier`; other
    estimators are returned as they are. The original estimator is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.svm import SVC
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)); y = (X[:, 0] + X[:, 1] > 0).astype(int) + 2 * (X[:, 2] > 0)
    >>> svc = SVC().fit(X, y)
    >>> fast = accelerate(svc)
    >>> type(fast).__name__
    'RBFSupportVectorClassifier'
    >>> Xt = rng.normal(size=(1000, 4))
    >>> bool((fast.predict(Xt) == svc.predict(Xt)).all())
    True
    >>> bool((fast.decision_function(Xt) == svc.decision_function(Xt)).all())
    True
    """
    if type(estimator) is SVC:
        return _accelerate_svc(estimator)
    if isinstance(estimator, Pipeline):
        steps = [(name, accelerate(step)) for name, step in estimator.steps]
        if all(new is old for (_, new), (_, old) in zip(steps, estimator.steps)):
            return estimator
        out = copy.copy(estimator)
        out.steps = steps
        return out
    if isinstance(estimator, CalibratedClassifierCV) and hasattr(estimator,
                                                                 "calibrated_classifiers_"):
        parts = []
        for part in estimator.calibrated_classifiers_:
            new = copy.copy(part)
            new.estimator = accelerate(part.estimator)
            parts.append(new)
        old = estimator.calibrated_classifiers_
        if all(p.estimator is o.estimator for p, o in zip(parts, old)):
            return estimator
        out = copy.copy(estimator)
        out.calibrated_classifiers_ = parts
        return out
    return estimator
