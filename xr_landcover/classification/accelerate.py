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
import warnings

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from .._forest_kernel import PackedForest, pack_forest

__all__ = ["accelerate", "rbf_ovo_decision", "RBFSupportVectorClassifier", "FittedPackedForest"]


def rbf_ovo_decision(x, support_vectors, gamma, n_support, dual_coef, intercept, votes):
    """libsvm's one-vs-one decision values of an RBF C-SVC, and its votes.

    Parameters
    ----------
    x : float64 array (n, features), C order
    support_vectors : float64 array (n_sv, features), C order
    gamma : float
    n_support : int64 array (classes,): support vectors per class (libsvm's order)
    dual_coef : float64 array (classes - 1, n_sv): libsvm's ``sv_coef``
    intercept : float64 array (pairs,): ``-rho``
    votes : int64 array (n,), written: libsvm's winning class index (first of the tied)

    Returns
    -------
    float64 array (n, pairs): the decision value of each pair ``(i, j)``, ``i < j``.

    Every value is computed with the same operations in the same order as libsvm's
    ``svm_predict_values``, so the results are bitwise identical on any CPU: each squared
    distance is the BLAS ``ddot`` that libsvm itself calls (scipy's ``cython_blas.ddot``, the
    same function in the same process, so the same OpenBLAS kernel, whichever the CPU selected)
    of the difference vector ``x - sv`` laid out as libsvm lays it out (a 16-byte-aligned
    buffer, as ``malloc`` gives it: some kernels sum differently at other alignments); then
    ``exp(-gamma * d)`` and the coefficient sums, class ``i`` first.
    """
    return _compiled_kernel()(x, support_vectors, gamma, n_support, dual_coef, intercept,
                              votes)


#: The name under which scipy's ``cython_blas.ddot`` is known to the compiled kernel.
DDOT_SYMBOL = "xr_landcover_scipy_ddot"


#: scipy's BLAS ``ddot`` as the compiled kernel sees it (Fortran convention: every argument a
#: pointer); set by :func:`_compiled_kernel` before it compiles.
_blas_ddot = None


def _rbf_ovo_decision(x, support_vectors, gamma, n_support, dual_coef, intercept, votes):
    """The body of :func:`rbf_ovo_decision`, compiled by numba on first use."""
    n, n_features = x.shape
    n_sv = support_vectors.shape[0]
    n_class = n_support.shape[0]
    start = np.zeros(n_class, np.int64)
    for i in range(1, n_class):
        start[i] = start[i - 1] + n_support[i - 1]
    out = np.empty((n, n_class * (n_class - 1) // 2))
    kvalue = np.empty(n_sv)
    count = np.empty(n_class, np.int64)
    neg_gamma = -gamma
    # The difference vector, starting on a 16-byte boundary (as libsvm's malloc'ed one does).
    buffer = np.empty(n_features + 1)
    shift = (-buffer.ctypes.data % 16) // 8
    diff = buffer[shift:shift + n_features]
    vector = buffer.ctypes.data + 8 * shift
    blas_ints = np.array([n_features, 1], np.int32)  # ddot's n and increment
    n_ptr = blas_ints.ctypes.data
    inc_ptr = n_ptr + 4
    for p in range(n):
        for s in range(n_sv):
            for f in range(n_features):
                diff[f] = x[p, f] - support_vectors[s, f]  # libsvm: x - sv
            kvalue[s] = _blas_ddot(n_ptr, vector, inc_ptr, vector, inc_ptr)
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
    """:func:`_rbf_ovo_decision` compiled (GIL released, cached on disk), calling scipy's
    ``ddot``. numba is imported here, not with the module, so classifying with other
    estimators never loads it. The BLAS function is bound by symbol name, not by address, so
    the on-disk cache stays valid from one process to the next."""
    import llvmlite.binding
    import numba
    from numba import types
    from numba.extending import get_cython_function_address

    address = get_cython_function_address("scipy.linalg.cython_blas", "ddot")
    llvmlite.binding.add_symbol(DDOT_SYMBOL, address)
    global _blas_ddot
    _blas_ddot = types.ExternalFunction(DDOT_SYMBOL, types.float64(*[types.voidptr] * 5))
    return numba.njit(nogil=True, cache=True)(_rbf_ovo_decision)


class RBFSupportVectorClassifier(SVC):
    """A fitted RBF :class:`~sklearn.svm.SVC` whose dense predictions use
    :func:`rbf_ovo_decision`: the same results as libsvm, faster. Made by :func:`accelerate`."""

    def _kernel_arguments(self, X):
        x = np.ascontiguousarray(X, dtype=np.float64)
        return (x, self._support_vectors, float(self._gamma),
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


def _accelerate_svc(svc, fallbacks: list[str]):
    if type(svc) is not SVC or svc.kernel != "rbf" or not hasattr(svc, "support_vectors_"):
        return svc  # not an RBF SVC, or not fitted: nothing to accelerate
    if getattr(svc, "_sparse", True) or svc._impl != "c_svc":
        fallbacks.append(f"an RBF SVC {'fitted on sparse data' if svc._sparse else svc._impl} "
                         "is predicted by libsvm")
        return svc
    fast = RBFSupportVectorClassifier.__new__(RBFSupportVectorClassifier)
    fast.__dict__.update(svc.__dict__)
    fast._support_vectors = np.ascontiguousarray(svc.support_vectors_, dtype=np.float64)
    probe = _probe(svc)
    try:
        same = (np.array_equal(fast._dense_decision_function(probe),
                               svc._dense_decision_function(probe))
                and np.array_equal(fast.predict(probe), svc.predict(probe)))
        reason = "its decision values differ from libsvm's on probe pixels"
    except Exception as exc:  # noqa: BLE001 - any mismatch of internals: keep libsvm
        same, reason = False, f"the kernel failed on probe pixels ({type(exc).__name__}: {exc})"
    if not same:
        fallbacks.append(f"an RBF SVC is predicted by libsvm: {reason}")
        return svc
    return fast


def _accelerate_forest(forest, fallbacks: list[str]):
    if not getattr(forest, "estimators_", None):
        return forest  # not fitted: nothing to accelerate
    packed, reason = pack_forest(forest)
    if packed is None:
        fallbacks.append(f"a {type(forest).__name__} is predicted by scikit-learn: {reason}")
        return forest
    fitted = FittedPackedForest.__new__(FittedPackedForest)
    fitted.__dict__.update(packed.__dict__)
    fitted.forest_tags = forest.__sklearn_tags__()
    return fitted


class FittedPackedForest(PackedForest):
    """A :class:`~xr_landcover._forest_kernel.PackedForest` that scikit-learn's pipelines take
    as a fitted estimator: it stands in for the forest it was packed from. Made by
    :func:`accelerate`."""

    def fit(self, X, y=None):
        raise NotImplementedError("a packed forest is fitted already: fit the original forest")

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __sklearn_tags__(self):
        return self.forest_tags  # those of the forest it stands in for


def _accelerated(estimator, fallbacks: list[str]):
    """:func:`accelerate`'s walk through the estimator; why a part was not accelerated is
    appended to ``fallbacks``."""
    if type(estimator) is SVC:
        return _accelerate_svc(estimator, fallbacks)
    if type(estimator) in (RandomForestClassifier, ExtraTreesClassifier):
        return _accelerate_forest(estimator, fallbacks)
    if isinstance(estimator, Pipeline):
        steps = [(name, _accelerated(step, fallbacks)) for name, step in estimator.steps]
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
            new.estimator = _accelerated(part.estimator, fallbacks)
            parts.append(new)
        old = estimator.calibrated_classifiers_
        if all(p.estimator is o.estimator for p, o in zip(parts, old)):
            return estimator
        out = copy.copy(estimator)
        out.calibrated_classifiers_ = parts
        return out
    return estimator


def accelerate(estimator):
    """A copy of a fitted estimator that predicts faster, with identical results.

    Every fitted RBF :class:`~sklearn.svm.SVC` in it (also inside a ``Pipeline`` or a
    ``CalibratedClassifierCV``) is replaced by a :class:`RBFSupportVectorClassifier`, every
    fitted single-output ``RandomForestClassifier`` / ``ExtraTreesClassifier`` by a
    :class:`~xr_landcover._forest_kernel.PackedForest` (labels and probabilities bitwise those
    of the forest with ``n_jobs=1``); other estimators are returned as they are. The original
    estimator is not modified.

    Each replacement is checked on probe pixels when it is made; where a part that could be
    accelerated is kept as it is (the check found a difference, or the part was fitted in a
    way the fast kernels do not cover), one :class:`UserWarning` says which and why: the
    predictions are then scikit-learn's own, correct but slower.

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
    fallbacks: list[str] = []
    out = _accelerated(estimator, fallbacks)
    if fallbacks:
        unique = list(dict.fromkeys(fallbacks))
        warnings.warn(
            "accelerate: not every part of the estimator gets the fast exact kernels ("
            + "; ".join(unique) + "); those parts predict with scikit-learn itself: the same "
            "results, slower",
            UserWarning, stacklevel=2,
        )
    return out
