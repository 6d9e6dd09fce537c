"""Random-forest and extra-trees inference with numba, bit-for-bit scikit-learn's results.

:class:`PackedForest` lays the trees of a fitted ``RandomForestClassifier`` or
``ExtraTreesClassifier`` out in one array of 16-byte slots: ``uint32`` feature, ``float32``
threshold (rounded down), ``uint32`` offset of the left child (the right one is the next slot),
``uint32`` ``missing_go_to_left``; a leaf links to itself, has threshold +inf and holds its class
(flagged) or its row of a probability table. :func:`forest_predict_proba` predicts 16,384 pixels
at a time, tree-major (a tree stays in cache for the block), eight pixels walking a tree in
lock-step for the tree's depth (eight independent chains of loads, no branch); then, per pixel,
the leaves of 8 trees are added in tree order to sums that start at 0.0, divided by the number
of trees at the end: the operations of scikit-learn's ``predict_proba`` with ``n_jobs=1``
(``all_proba += tree.predict_proba(X)`` tree after tree, then ``/= n_trees``), so the results
are identical. A pure leaf (1.0 for one class, 0.0 for the others, as every leaf of a fully
grown tree) adds 1.0 to its class only: adding 0.0 to a sum >= +0.0 does not change it. The
kernel releases the GIL. :func:`pack_forest` also checks the packed forest on probe pixels.
"""

from __future__ import annotations

import copy
import functools
import threading
import warnings

import numpy as np

__all__ = ["PackedForest", "UnsupportedForest", "forest_predict_proba", "pack_forest", "verify"]

_SHIFT = 14  # a block holds 2**_SHIFT pixels, stored feature-major: x(p, f) at (f << _SHIFT) + p
_BLOCK = 1 << _SHIFT
_TREES_PER_PASS = 8  # leaf ids buffered per pixel before they are summed
_U2, _U3 = np.uint64(2), np.uint64(3)
_PURE = 1 << 31  # leaf id flag: the leaf's probabilities are 1.0 for one class


class UnsupportedForest(ValueError):
    """A forest that :class:`PackedForest` cannot reproduce exactly; the message says why."""


def _step(c, p, nodes, thr, xb):
    """Pixel ``p`` at slot offset ``c`` to the child's offset (a leaf's: itself, as x <= inf)."""
    v = xb[(np.uint64(nodes[c]) << np.uint64(_SHIFT)) + p]
    right = np.uint64(not (v <= thr[c + np.uint64(1)]))
    return np.uint64(nodes[c + _U2]) + (right << _U2)


def _descend(c, p, nodes, xb, missing):
    """Pixel ``p`` from slot offset ``c`` to its leaf, alone; ``missing``: a NaN goes where
    ``missing_go_to_left`` says (scikit-learn's ``_apply_dense``), else it would go right."""
    thr = nodes.view(np.float32)
    while True:
        link = np.uint64(nodes[c + _U2])
        if link == c:
            return c
        v = xb[(np.uint64(nodes[c]) << np.uint64(_SHIFT)) + p]
        if missing and np.isnan(v):
            right = np.uint64(nodes[c + _U3] == 0)
        else:
            right = np.uint64(not (v <= thr[c + np.uint64(1)]))
        c = link + (right << _U2)


def _walk(m, root, depth, nodes, xb, rows, r0):
    """``rows[r0 + p]`` = the leaf id of each pixel ``p < m`` of the block in one tree."""
    thr = nodes.view(np.float32)
    full = m - m % 8
    for g in range(0, full, 8):
        p = np.uint64(g)
        c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = root
        for _ in range(depth):
            c0 = _step(c0, p, nodes, thr, xb)
            c1 = _step(c1, p + np.uint64(1), nodes, thr, xb)
            c2 = _step(c2, p + np.uint64(2), nodes, thr, xb)
            c3 = _step(c3, p + np.uint64(3), nodes, thr, xb)
            c4 = _step(c4, p + np.uint64(4), nodes, thr, xb)
            c5 = _step(c5, p + np.uint64(5), nodes, thr, xb)
            c6 = _step(c6, p + np.uint64(6), nodes, thr, xb)
            c7 = _step(c7, p + np.uint64(7), nodes, thr, xb)
        for i, c in enumerate((c0, c1, c2, c3, c4, c5, c6, c7)):
            rows[r0 + g + i] = nodes[c + _U3]
    for p in range(full, m):
        rows[r0 + p] = nodes[_descend(root, np.uint64(p), nodes, xb, False) + _U3]


def _kernel(x, nodes, roots, depths, table, n_classes, out, missing):
    """The body of :func:`forest_predict_proba`, compiled by numba on first use."""
    n, n_features = x.shape
    n_trees = roots.shape[0]
    tab = table.ravel()
    xb = np.zeros(n_features << _SHIFT, np.float32)
    rows = np.zeros(_TREES_PER_PASS << _SHIFT, np.uint32)
    acc = np.zeros(_BLOCK * n_classes)
    for b0 in range(0, n, _BLOCK):
        m = min(_BLOCK, n - b0)
        for p in range(m):
            for f in range(n_features):
                xb[(f << _SHIFT) + p] = x[b0 + p, f]
        acc[:m * n_classes] = 0.0
        for t0 in range(0, n_trees, _TREES_PER_PASS):
            tn = min(_TREES_PER_PASS, n_trees - t0)
            for i in range(tn):
                if missing:
                    for p in range(m):
                        leaf = _descend(roots[t0 + i], np.uint64(p), nodes, xb, True)
                        rows[(i << _SHIFT) + p] = nodes[leaf + _U3]
                else:
                    _walk(m, roots[t0 + i], depths[t0 + i], nodes, xb, rows, i << _SHIFT)
            for p in range(m):  # tree order per pixel
                a = p * n_classes
                for i in range(tn):
                    leaf = np.int64(rows[(i << _SHIFT) + p])
                    if leaf & _PURE:  # a row of zeros and one 1.0: adding 0.0 changes nothing
                        acc[a + (leaf ^ _PURE)] += 1.0
                    else:
                        for j in range(n_classes):
                            acc[a + j] += tab[leaf * n_classes + j]
        for p in range(m):
            for j in range(n_classes):
                out[b0 + p, j] = acc[p * n_classes + j] / n_trees
    return out


_PYTHON, _COMPILE_LOCK = {"_step": _step, "_descend": _descend, "_walk": _walk}, threading.Lock()


@functools.cache
def _compiled_kernel():
    """:func:`_kernel` compiled (GIL released, cached on disk). numba is imported here, not with
    the module; the helpers' module globals are first rebound to compiled versions (from the
    Python functions kept in ``_PYTHON``), which is how the compiled kernel finds them."""
    import numba

    with _COMPILE_LOCK:
        jit = numba.njit(nogil=True, cache=True)
        for name, function in _PYTHON.items():
            globals()[name] = jit(function)  # LLVM inlines _step
        return jit(_kernel)


def forest_predict_proba(x: np.ndarray, nodes: np.ndarray, roots: np.ndarray,
                         depths: np.ndarray, table: np.ndarray, n_classes: int, out: np.ndarray,
                         missing: bool = False) -> np.ndarray:
    """The forest's mean leaf probabilities of each pixel, into ``out`` (numba, GIL released).

    Parameters
    ----------
    x : float32 array (n, features), C order
    nodes, roots, depths, table, n_classes : those of a :class:`PackedForest`
    out : float64 array (n, n_classes), written and returned
    missing : bool
        ``x`` may hold NaN: walk one pixel at a time, sending NaN where ``missing_go_to_left``
        says. Without it ``x`` must hold no NaN (the fast walk does not check).
    """
    return _compiled_kernel()(x, nodes, roots, depths, table, n_classes, out, missing)


def _round_down(threshold: np.ndarray) -> np.ndarray:
    """The largest float32 <= each float64 threshold ``t``. For a float32 ``x`` (which is what
    scikit-learn compares, promoted to double), ``x <= t`` iff ``x <= d`` with ``d`` this value:
    if ``x <= d`` then ``x <= t`` as ``d <= t``; if ``x <= t`` then ``x <= d``, ``x`` being a
    float32 not above ``t`` and ``d`` the largest such. Both are false for NaN. ``float32(t)`` is
    the nearest float32, so when it is above ``t`` the float32 below it is ``d``."""
    t32 = threshold.astype(np.float32)
    return np.where(t32 > threshold, np.nextafter(t32, np.float32(-np.inf)), t32)


def _pack_tree(tree, base: int, first_row: int,
               n_classes: int) -> tuple[np.ndarray, np.ndarray, int]:
    """One tree's slots, table rows and depth. Slot 0 is the root, then the children of each
    inner node in node-id order, as adjacent pairs (scikit-learn numbers the nodes depth first:
    a walk mostly moves to nearby slots, always to later ones). A leaf's probabilities (a tree's
    ``predict_proba`` is its ``value``, the class fractions) are a row of the table, or, when
    they are one 1.0 and zeros (a pure leaf), just the class, flagged."""
    left, right = tree.children_left, tree.children_right
    n = tree.node_count
    inner = np.flatnonzero(left != -1)
    order = np.zeros(n, np.int64)  # order[slot] = node
    order[1::2], order[2::2] = left[inner], right[inner]
    slot = np.empty(n, np.int64)
    slot[order] = np.arange(n)
    leaf = left[order] == -1
    slots = np.zeros((n, 4), np.uint32)
    slots[:, 0] = np.where(leaf, 0, tree.feature[order])
    threshold = np.where(leaf, np.float32(np.inf), _round_down(tree.threshold[order]))
    slots[:, 1] = threshold.astype(np.float32).view(np.uint32)
    slots[:, 2] = 4 * (base + np.where(leaf, np.arange(n), slot[np.where(leaf, 0, left[order])]))
    values = tree.value[order[leaf], 0, :n_classes]  # the class fractions (scikit-learn >= 1.4)
    pure = ((values != 0).sum(axis=1) == 1) & (values.max(axis=1) == 1.0)
    ids = np.where(pure, np.argmax(values, axis=1) | _PURE, first_row + np.cumsum(~pure) - 1)
    slots[:, 3] = np.asarray(tree.missing_go_to_left)[order]
    slots[leaf, 3] = ids
    depth, level = 0, np.zeros(1, np.int64)
    while (level := level[left[level] != -1]).size:
        depth, level = depth + 1, np.concatenate([left[level], right[level]])
    return slots, values[~pure], depth


class PackedForest:
    """A fitted single-output forest classifier packed for :func:`forest_predict_proba`.

    Parameters
    ----------
    forest : RandomForestClassifier or ExtraTreesClassifier
        Fitted, ``n_outputs_ == 1``.

    Raises
    ------
    UnsupportedForest
        Another estimator, not fitted, several outputs, or tree internals it does not know.

    Attributes
    ----------
    classes_, n_classes_, n_features_in_ : as the forest's
    nodes : uint32 array (4 * slots,)
    roots : uint64 array (trees,): slot offset (4 * slot) of each tree's root
    depths : int64 array (trees,): steps from each root to its deepest leaf
    table : float64 array (impure leaves, n_classes)
    allow_nan : bool
        Whether the forest accepts NaN (scikit-learn raises otherwise).

    Numpy arrays only: cheap to pickle and send to dask workers.
    """

    def __init__(self, forest) -> None:
        from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
        from sklearn.ensemble._forest import ForestClassifier
        from sklearn.tree import DecisionTreeClassifier

        if not isinstance(forest, (RandomForestClassifier, ExtraTreesClassifier)):
            raise UnsupportedForest(f"not a random forest or extra trees: {type(forest)}")
        if (type(forest).predict, type(forest).predict_proba) != (
                ForestClassifier.predict, ForestClassifier.predict_proba):
            raise UnsupportedForest("predict or predict_proba is overridden")
        trees = getattr(forest, "estimators_", None)
        if not trees:
            raise UnsupportedForest("the forest is not fitted")
        if forest.n_outputs_ != 1:
            raise UnsupportedForest(f"{forest.n_outputs_} outputs, only one is supported")
        k = int(forest.n_classes_)
        for est in trees:
            tree = getattr(est, "tree_", None)
            if (type(est).predict_proba is not DecisionTreeClassifier.predict_proba
                    or tree is None or tree.n_outputs != 1 or tree.value.shape[1:] != (1, k)
                    or not hasattr(tree, "missing_go_to_left")):
                raise UnsupportedForest(f"unsupported tree {type(est).__name__}")
        if sum(e.tree_.node_count for e in trees) >= 1 << 30:
            raise UnsupportedForest("more than 2**30 nodes")
        self.classes_, self.n_classes_ = forest.classes_, k
        self.n_features_in_ = int(forest.n_features_in_)
        self.allow_nan = bool(forest.estimators_[0].__sklearn_tags__().input_tags.allow_nan)
        slots, values, roots, depths = [], [], [], []
        for est in trees:
            roots.append(4 * sum(len(s) for s in slots))
            s, v, d = _pack_tree(est.tree_, roots[-1] // 4, sum(len(v) for v in values), k)
            slots.append(s)
            values.append(v)
            depths.append(d)
        self.nodes = np.concatenate(slots).ravel()
        self.roots = np.asarray(roots, np.uint64)
        self.depths = np.asarray(depths, np.int64)
        self.table = np.ascontiguousarray(np.concatenate(values), dtype=np.float64)

    def _input(self, X) -> tuple[np.ndarray, bool]:
        x = np.ascontiguousarray(X, dtype=np.float32)  # scikit-learn's conversion
        if x.ndim != 2 or x.shape[1] != self.n_features_in_:
            raise ValueError(f"X has shape {x.shape}; expected (n, {self.n_features_in_})")
        if np.isfinite(x).all():
            return x, False
        if np.isinf(x).any() or not self.allow_nan:
            raise ValueError("Input X contains infinity or NaN.")
        return x, True

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities: bitwise the forest's own ``predict_proba`` with ``n_jobs=1``.

        Parameters
        ----------
        X : array-like (n, features)
            Converted to float32 as scikit-learn does. NaN takes a slower path; inf raises.

        Returns
        -------
        float64 array (n, n_classes)
        """
        x, missing = self._input(X)
        out = np.empty((x.shape[0], self.n_classes_))
        return forest_predict_proba(x, self.nodes, self.roots, self.depths, self.table,
                                    self.n_classes_, out, missing)

    def predict(self, X) -> np.ndarray:
        """Class labels ``(n,)``: ``classes_[argmax(predict_proba(X))]``, the forest's
        ``predict``."""
        return self.classes_.take(np.argmax(self.predict_proba(X), axis=1), axis=0)

    def predict_with_confidence(self, X) -> tuple[np.ndarray, np.ndarray]:
        """Labels and the winning class's probability, from one :meth:`predict_proba` pass.

        Parameters
        ----------
        X : array-like (n, features)

        Returns
        -------
        labels : array (n,)
            As :meth:`predict`.
        confidence : float64 array (n,)
            ``predict_proba(X)[i, argmax]``.
        """
        proba = self.predict_proba(X)
        best = np.argmax(proba, axis=1)
        return self.classes_.take(best, axis=0), proba[np.arange(len(proba)), best]


def _probe(packed: PackedForest, n: int = 4096) -> np.ndarray:
    """Float64 probe pixels: each feature a threshold, its float32 neighbours or a random value
    within the thresholds' range (``n`` rows)."""
    rng = np.random.default_rng(0)
    slots = packed.nodes.reshape(-1, 4)
    inner = slots[:, 2] != 4 * np.arange(len(slots))
    feature, thr = slots[inner, 0], slots[inner, 1].view(np.float32)
    x = rng.standard_normal((n, packed.n_features_in_))
    for f in range(packed.n_features_in_):
        t = thr[(feature == f) & np.isfinite(thr)]  # a split of NaN from the rest is at inf
        if t.size:
            values = np.concatenate([t, np.nextafter(t, np.float32(np.inf)),
                                     np.nextafter(t, np.float32(-np.inf))]).astype(np.float64)
            spread = rng.uniform(t.min(), t.max(), n // 4)
            x[:, f] = rng.choice(np.concatenate([values, spread]), n)
    return x


def verify(packed: PackedForest, forest) -> str | None:
    """Why ``packed`` differs from ``forest`` on probe pixels, or None if it does not.

    The probes (thresholds, their float32 neighbours, random values, as float64 and float32, and
    with NaN if the forest accepts it) are predicted by both, ``forest`` with ``n_jobs=1`` (on a
    shallow copy); any difference in a probability bit or a label is reported.
    """
    reference = copy.copy(forest)  # shallow: the trees are shared
    reference.n_jobs = 1
    x = _probe(packed)
    holes = np.where(np.random.default_rng(1).random(x.shape) < 0.2, np.nan, x)
    with warnings.catch_warnings():  # e.g. "X does not have valid feature names"
        warnings.simplefilter("ignore", UserWarning)
        if not np.array_equal(reference.predict(x), packed.predict(x)):
            return "labels differ from scikit-learn's on probe pixels"
        for probe in [x, x.astype(np.float32)] + [holes] * packed.allow_nan:
            if not np.array_equal(reference.predict_proba(probe), packed.predict_proba(probe)):
                return f"probabilities differ from scikit-learn's on probe pixels ({probe.dtype})"
    return None


def pack_forest(forest) -> tuple[PackedForest | None, str | None]:
    """Pack a fitted forest and check it, or say why not.

    Parameters
    ----------
    forest : RandomForestClassifier or ExtraTreesClassifier
        Fitted, single output.

    Returns
    -------
    (PackedForest, None), or (None, reason) when the forest is not supported
    (:class:`UnsupportedForest`) or :func:`verify` finds a difference on probe pixels.

    Examples
    --------
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> X = np.random.default_rng(0).normal(size=(300, 4))
    >>> y = np.where(X[:, 0] + X[:, 1] > 0, "water", "forest")
    >>> forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    >>> packed, reason = pack_forest(forest)
    >>> reason is None
    True
    >>> bool(np.array_equal(packed.predict_proba(X), forest.predict_proba(X)))
    True
    >>> pack_forest(RandomForestClassifier())
    (None, 'the forest is not fitted')
    """
    try:
        packed = PackedForest(forest)
    except UnsupportedForest as exc:
        return None, str(exc)
    reason = verify(packed, forest)
    return (None, reason) if reason else (packed, None)
