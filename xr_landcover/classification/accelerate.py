"""Faster prediction for fitted estimators, with bit-for-bit the same results on every CPU.

scikit-learn's RBF :class:`~sklearn.svm.SVC` predicts through libsvm, one pixel at a time,
evaluating the kernel against every support vector in a scalar loop. :func:`accelerate` returns
a copy of a fitted estimator in which every such SVC (also inside a
:class:`~sklearn.pipeline.Pipeline` or :class:`~sklearn.calibration.CalibratedClassifierCV`)
computes its one-vs-one decision values with :func:`rbf_ovo_decision`, a numba kernel that does
libsvm's arithmetic in libsvm's order (so the decision values, and hence the labels and
probabilities, are identical). The one step whose rounding depends on the CPU, the BLAS
``ddot`` of each squared distance, is either that very ``ddot`` or, where
:func:`ddot_arithmetic` finds this process's ``ddot`` to be a plain left-to-right sum (with or
without fused multiply-adds), that sum vectorised over the support vectors. Every fitted
single-output random forest / extra trees becomes a
:class:`~xr_landcover._forest_kernel.PackedForest` (the same probabilities and labels as the
forest with ``n_jobs=1``). The kernels release the GIL, so dask's threads run them in parallel.
Measured in ``benchmarks/README.md``.

Each copy is checked when it is made: on probe pixels its results must equal scikit-learn's
exactly; otherwise (a future scikit-learn storing its model differently) :func:`accelerate`
keeps that part as it is and says so in one ``UserWarning``. The saved model is never
changed: acceleration happens at classification time only.
"""

from __future__ import annotations

import copy
import functools

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC

from .._forest_kernel import PackedForest, pack_forest
from .._warnings import warn

#: :func:`rbf_ovo_decision`'s ways of summing a squared distance: scipy's ``ddot`` itself, or a
#: left-to-right sum without (``SEQUENTIAL``) or with (``FUSED``) fused multiply-adds.
DDOT, SEQUENTIAL, FUSED = 0, 1, 2

__all__ = ["accelerate", "rbf_ovo_decision", "RBFSupportVectorClassifier", "FittedPackedForest",
           "ddot_arithmetic", "DDOT", "SEQUENTIAL", "FUSED"]


def rbf_ovo_decision(x, support_vectors, gamma, n_support, dual_coef, intercept, votes,
                     arithmetic=DDOT):
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
    arithmetic : int
        How the squared distances are summed: :data:`DDOT` (a call of scipy's ``ddot`` per
        pixel and support vector: libsvm's own call), :data:`SEQUENTIAL` or :data:`FUSED`
        (a left-to-right sum, without or with fused multiply-adds, vectorised over the
        support vectors): the latter two only where :func:`ddot_arithmetic` found that
        this process's ``ddot`` sums so.

    Returns
    -------
    float64 array (n, pairs): the decision value of each pair ``(i, j)``, ``i < j``.

    Every value is computed with the same operations in the same order as libsvm's
    ``svm_predict_values``, so the results are bitwise identical on any CPU. libsvm sums each
    squared distance with the BLAS ``ddot`` (scipy's ``cython_blas.ddot``), and how ``ddot``
    sums depends on the OpenBLAS kernel the CPU selected: with :data:`DDOT` the kernel calls
    that very function on a difference vector laid out as libsvm lays it out (``x - sv`` in a
    16-byte-aligned buffer, as ``malloc`` gives it: some kernels sum differently at other
    alignments); with :data:`SEQUENTIAL` / :data:`FUSED` it does the sum that
    :func:`ddot_arithmetic` found this ``ddot`` to do, vectorised over the support vectors.
    Then ``exp(-gamma * d)`` and the coefficient sums, class ``i`` first.
    """
    return _compiled_kernel()(x, support_vectors, np.ascontiguousarray(support_vectors.T),
                              gamma, n_support, dual_coef, intercept, votes, arithmetic)




#: The name under which scipy's ``cython_blas.ddot`` is known to the compiled kernel.
DDOT_SYMBOL = "xr_landcover_scipy_ddot"


#: scipy's BLAS ``ddot`` as the compiled kernel sees it (Fortran convention: every argument a
#: pointer) and a fused multiply-add (LLVM's ``llvm.fma``); set by :func:`_compiled_kernel`
#: before it compiles.
_blas_ddot = None
_fma = None


def _rbf_ovo_decision(x, support_vectors, support_vectors_t, gamma, n_support, dual_coef,
                      intercept, votes, arithmetic):
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
        if arithmetic == 0:  # DDOT
            for s in range(n_sv):
                for f in range(n_features):
                    diff[f] = x[p, f] - support_vectors[s, f]  # libsvm: x - sv
                kvalue[s] = _blas_ddot(n_ptr, vector, inc_ptr, vector, inc_ptr)
        else:  # the same sum as this ddot, vectorised over the support vectors
            kvalue[:] = 0.0
            for f in range(n_features):
                xf = x[p, f]
                if arithmetic == 1:  # SEQUENTIAL
                    for s in range(n_sv):
                        d = xf - support_vectors_t[f, s]
                        kvalue[s] = kvalue[s] + d * d
                else:  # FUSED
                    for s in range(n_sv):
                        d = xf - support_vectors_t[f, s]
                        kvalue[s] = _fma(d, d, kvalue[s])
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
    global _blas_ddot, _fma
    _blas_ddot = types.ExternalFunction(DDOT_SYMBOL, types.float64(*[types.voidptr] * 5))
    _fma = _fma_intrinsic()
    return numba.njit(nogil=True, cache=True)(_rbf_ovo_decision)


def _fma_intrinsic():
    """``fma(a, b, c)``: ``a * b + c`` rounded once (LLVM's ``llvm.fma.f64``; hardware FMA where
    the CPU has it, else libm's exact ``fma``)."""
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def fma(typingctx, a, b, c):
        def codegen(context, builder, signature, args):
            return builder.fma(*args)

        return types.float64(types.float64, types.float64, types.float64), codegen

    return fma


def _ddot_rows(rows):
    """scipy's ``ddot`` of each row with itself, from a 16-byte-aligned copy (as the kernel
    calls it)."""
    n, n_features = rows.shape
    out = np.empty(n)
    buffer = np.empty(n_features + 1)
    shift = (-buffer.ctypes.data % 16) // 8
    diff = buffer[shift:shift + n_features]
    vector = buffer.ctypes.data + 8 * shift
    blas_ints = np.array([n_features, 1], np.int32)
    n_ptr = blas_ints.ctypes.data
    for i in range(n):
        diff[:] = rows[i]
        out[i] = _blas_ddot(n_ptr, vector, n_ptr + 4, vector, n_ptr + 4)
    return out


def _left_to_right_rows(rows, fused):
    n, n_features = rows.shape
    out = np.zeros(n)
    for i in range(n):
        acc = 0.0
        for f in range(n_features):
            d = rows[i, f]
            acc = _fma(d, d, acc) if fused else acc + d * d
        out[i] = acc
    return out


@functools.cache
def _compiled_probes():
    """:func:`_ddot_rows` and :func:`_left_to_right_rows`, compiled."""
    import numba

    _compiled_kernel()  # binds _blas_ddot and _fma
    return (numba.njit(cache=True)(_ddot_rows),
            numba.njit(cache=True)(_left_to_right_rows))


def ddot_arithmetic(differences: np.ndarray) -> int:
    """How this process's ``ddot`` sums the squares of these difference vectors:
    :data:`SEQUENTIAL` or :data:`FUSED` when it equals that left-to-right sum on every row,
    else :data:`DDOT` (the kernel then calls ``ddot`` itself).

    OpenBLAS's x86-64 ``ddot`` sums fewer than 16 (or 32) numbers in a plain loop, compiled
    with or without fused multiply-adds according to the kernel the CPU selected
    (``SkylakeX`` fuses, ``Haswell`` and ``Sandybridge`` do not; ``Prescott``'s SSE2 code
    sums otherwise): which of the two is a property of the compiled code, and the two differ
    on about a quarter of random rows, so a few thousand rows tell them apart. Longer vectors
    go through vectorised kernels that sum in another order: :data:`DDOT`.
    """
    ddot_rows, left_to_right = _compiled_probes()
    rows = np.ascontiguousarray(differences, dtype=np.float64)
    blas = ddot_rows(rows)
    for arithmetic, fused in ((SEQUENTIAL, False), (FUSED, True)):
        if np.array_equal(blas, left_to_right(rows, fused)):
            return arithmetic
    return DDOT


class RBFSupportVectorClassifier(SVC):
    """A fitted RBF :class:`~sklearn.svm.SVC` whose dense predictions use
    :func:`rbf_ovo_decision`: the same results as libsvm, faster. Made by :func:`accelerate`."""

    def _kernel_arguments(self, X):
        x = np.ascontiguousarray(X, dtype=np.float64)
        return (x, self._support_vectors, float(self._gamma),
                self._n_support.astype(np.int64),
                np.ascontiguousarray(self._dual_coef_, dtype=np.float64),
                np.ascontiguousarray(self._intercept_, dtype=np.float64),
                np.empty(x.shape[0], np.int64), self._arithmetic)

    def _dense_decision_function(self, X):
        return rbf_ovo_decision(*self._kernel_arguments(X))

    def _dense_predict(self, X):
        args = self._kernel_arguments(X)
        rbf_ovo_decision(*args)
        return args[6].astype(np.float64)  # libsvm's label = class index (labels 0..k-1)


def _probe(svc) -> np.ndarray:
    """Pixels to compare libsvm and the kernel on: support vectors and points between them."""
    sv = np.asarray(svc.support_vectors_, dtype=np.float64)[:64]
    rng = np.random.default_rng(0)
    mixed = 0.5 * (sv + sv[rng.permutation(len(sv))])
    return np.concatenate([sv, mixed, sv + 0.25 * rng.standard_normal(sv.shape)])


def _differences(probe: np.ndarray, support_vectors: np.ndarray) -> np.ndarray:
    """Difference vectors as the kernel forms them (pixel - support vector) for the probe
    pixels and the model's support vectors, plus random ones over many scales (at least
    20,000 rows)."""
    rng = np.random.default_rng(1)
    pixels = probe[rng.integers(0, len(probe), 20_000)]
    svs = support_vectors[rng.integers(0, len(support_vectors), 20_000)]
    scales = 10.0 ** rng.uniform(-3, 3, (20_000, 1))
    random = rng.standard_normal((20_000, support_vectors.shape[1])) * scales
    return np.concatenate([pixels - svs, random])


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
    fast._arithmetic = DDOT
    try:
        fast._arithmetic = ddot_arithmetic(_differences(probe, fast._support_vectors))
    except Exception:  # noqa: BLE001 - the ddot-calling kernel needs no such finding
        pass
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
        warn(
            "accelerate: not every part of the estimator gets the fast exact kernels ("
            + "; ".join(unique) + "); those parts predict with scikit-learn itself: the same "
            "results, slower",
        )
    return out
