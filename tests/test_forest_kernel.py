"""The packed forest predicts bit-for-bit what scikit-learn's forests predict (n_jobs=1)."""

from __future__ import annotations

import pickle
import subprocess
import sys
import threading

import numpy as np
import pytest
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from xr_landcover import _forest_kernel as fk
from xr_landcover._forest_kernel import PackedForest, pack_forest, verify

LABELS = {
    "int": np.array([3, 7, 11, 20, 42, 5, 9, 13, 1, 8]),  # not 0..k-1, not sorted
    "str": np.array(["water", "urban", "forest", "crop", "bare", "snow", "cloud", "grass",
                     "wetland", "shrub"]),
}


def pixels(n_classes: int, seed: int, n: int = 300, features: int = 5, labels: str = "int"):
    """Overlapping classes; half the features integer-valued (DN-like: duplicates, thresholds
    half-way between integers), half continuous; some exact duplicate rows."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    centres = rng.normal(0, 2, (n_classes, features))
    X = centres[y] + rng.normal(0, 1.5, (n, features))
    X[:, ::2] = np.round(X[:, ::2] * 10)
    X[-20:] = X[:20]
    return X, LABELS[labels][:n_classes][y]


def thresholds_and_neighbours(forest, n: int, seed: int = 0) -> np.ndarray:
    """Rows whose values are the forest's float64 thresholds, their float32 rounding and its
    float32 neighbours, mixed across features (float64)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0, 3, (n, forest.n_features_in_))
    for f in range(forest.n_features_in_):
        t = np.concatenate([e.tree_.threshold[e.tree_.feature == f] for e in forest.estimators_])
        t = t[np.isfinite(t)]  # (a split of NaN from the rest is at inf)
        if t.size:
            t32 = t.astype(np.float32)
            values = np.concatenate([t, t32, np.nextafter(t32, np.float32(np.inf)),
                                     np.nextafter(t32, np.float32(-np.inf))])
            X[:, f] = rng.choice(values.astype(np.float64), n)
    return X


def assert_same(packed: PackedForest, forest, X) -> None:
    for x in (X, np.asarray(X, dtype=np.float32)):
        np.testing.assert_array_equal(packed.predict_proba(x), forest.predict_proba(x))
        np.testing.assert_array_equal(packed.predict(x), forest.predict(x))
        labels, confidence = packed.predict_with_confidence(x)
        proba = forest.predict_proba(x)
        np.testing.assert_array_equal(labels, forest.predict(x))
        np.testing.assert_array_equal(confidence, proba.max(axis=1))


CASES = [  # (forest class, n_classes, labels, parameters)
    (RandomForestClassifier, 2, "int", {}),
    (RandomForestClassifier, 3, "str", {"bootstrap": False, "max_depth": 4}),
    (RandomForestClassifier, 7, "int", {"n_estimators": 40, "max_depth": 30}),  # 3 tree passes
    (RandomForestClassifier, 4, "int", {"class_weight": "balanced", "criterion": "entropy"}),
    (RandomForestClassifier, 10, "str", {"class_weight": "balanced_subsample",
                                         "max_features": None, "min_samples_leaf": 3}),
    (RandomForestClassifier, 5, "int", {"max_leaf_nodes": 12}),  # best-first node numbering
    (ExtraTreesClassifier, 2, "str", {}),
    (ExtraTreesClassifier, 6, "int", {"bootstrap": True, "max_depth": 6}),
    (ExtraTreesClassifier, 9, "int", {"class_weight": "balanced", "max_depth": None}),
]


@pytest.mark.parametrize("cls, n_classes, labels, params", CASES)
def test_bitwise_equal_to_sklearn(cls, n_classes, labels, params):
    X, y = pixels(n_classes, seed=n_classes, labels=labels)
    forest = cls(**{"n_estimators": 12, "random_state": 0, "n_jobs": 1, **params}).fit(X, y)
    packed, reason = pack_forest(forest)
    assert reason is None and isinstance(packed, PackedForest)
    rng = np.random.default_rng(1)
    Xt = np.concatenate([X, np.repeat(X[:50], 3, axis=0),  # training pixels, duplicates
                         thresholds_and_neighbours(forest, 3000),
                         rng.normal(0, 4, (2000, X.shape[1]))])
    assert_same(packed, forest, Xt)


def test_several_blocks_and_few_pixels():
    # more pixels than one block (16,384), a partial last block, fewer pixels than lanes, none
    X, y = pixels(5, seed=3, n=600)
    forest = RandomForestClassifier(n_estimators=20, random_state=1).fit(X, y)
    packed, _ = pack_forest(forest)
    Xt = np.random.default_rng(2).normal(0, 4, (40_000, X.shape[1])).astype(np.float32)
    assert_same(packed, forest, Xt)
    for n in (1, 5, 6, 7):
        assert_same(packed, forest, Xt[:n])
    assert packed.predict_proba(Xt[:0]).shape == (0, 5)


def test_threshold_edges_float32():
    # continuous data: most midpoint thresholds are not float32 numbers, so rounding them to
    # the nearest float32 instead of down would send some of their float32 neighbours left
    X, y = pixels(3, seed=4, n=400)
    X = X + np.random.default_rng(0).normal(0, 1e-3, X.shape)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    packed = PackedForest(forest)  # not verified: this comparison alone must catch it
    t = np.concatenate([e.tree_.threshold[e.tree_.feature >= 0] for e in forest.estimators_])
    assert (t.astype(np.float32) > t).any()  # some round up: the case that needs rounding down
    Xt = thresholds_and_neighbours(forest, 5000, seed=3)
    assert_same(packed, forest, Xt)


def test_single_class_and_one_leaf_trees():
    X, _ = pixels(2, seed=5)
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, np.full(len(X), 7))
    assert all(e.tree_.node_count == 1 for e in forest.estimators_)
    packed, reason = pack_forest(forest)
    assert reason is None
    assert_same(packed, forest, X)


@pytest.mark.parametrize("cls", [RandomForestClassifier, ExtraTreesClassifier])
@pytest.mark.parametrize("nan_in_training", [False, True])
def test_nan_follows_missing_go_to_left(cls, nan_in_training):
    X, y = pixels(4, seed=6, n=400)
    if nan_in_training:
        X[np.random.default_rng(0).random(X.shape) < 0.1] = np.nan
    forest = cls(n_estimators=10, random_state=0).fit(X, y)
    packed, reason = pack_forest(forest)
    assert reason is None and packed.allow_nan
    Xt = thresholds_and_neighbours(forest, 3000, seed=1)
    Xt[np.random.default_rng(2).random(Xt.shape) < 0.15] = np.nan
    assert np.isnan(Xt).any(axis=1).mean() > 0.3
    assert_same(packed, forest, Xt)
    Xt[0, 0] = np.inf
    for predict in (forest.predict_proba, packed.predict_proba):
        with pytest.raises(ValueError, match="infinity"):
            predict(Xt)


def test_pickle_round_trip_is_small_and_exact():
    X, y = pixels(3, seed=7)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    packed, _ = pack_forest(forest)
    packed.predict_proba(X[:10])  # compiled: still nothing compiled among the attributes
    assert all(isinstance(v, (np.ndarray, int, bool)) for v in vars(packed).values())
    blob = pickle.dumps(packed)
    assert b"numba" not in blob and len(blob) < len(pickle.dumps(forest))
    again = pickle.loads(blob)
    assert_same(again, forest, X)


def test_threads_agree():
    X, y = pixels(4, seed=8)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    packed, _ = pack_forest(forest)
    Xt = np.random.default_rng(0).normal(0, 4, (30_000, X.shape[1]))
    results = [None, None]

    def run(i):
        results[i] = packed.predict_proba(Xt)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(results[0], forest.predict_proba(Xt))
    np.testing.assert_array_equal(results[1], results[0])


def test_pure_and_impure_leaves():
    # fully grown trees: pure leaves (one 1.0) add 1.0 to their class only; duplicate pixels of
    # different classes make impure leaves, whose rows come from the table
    X, y = pixels(4, seed=13, n=400)
    X[-60:] = X[:60]
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    packed, _ = pack_forest(forest)
    slots = packed.nodes.reshape(-1, 4)
    leaf_ids = slots[slots[:, 2] == 4 * np.arange(len(slots)), 3]
    assert (leaf_ids >= 1 << 31).mean() > 0.5 and len(packed.table) > 10
    assert_same(packed, forest, np.concatenate([X, thresholds_and_neighbours(forest, 2000)]))


def test_verify_catches_one_ulp():
    X, y = pixels(4, seed=9)
    forest = RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0).fit(X, y)
    packed, _ = pack_forest(forest)
    assert verify(packed, forest) is None and len(packed.table) > 50
    leaf = packed.table.copy()
    packed.table[packed.table > 0] = np.nextafter(leaf[leaf > 0], 2.0)  # one ulp up
    assert "probabilities differ" in verify(packed, forest)
    packed.table[:] = leaf
    slots = packed.nodes.reshape(-1, 4)
    inner = np.flatnonzero(slots[:, 2] != 4 * np.arange(len(slots)))
    thr = slots[:, 1].view(np.float32)
    thr[inner] = np.nextafter(thr[inner], np.float32(np.inf))  # one float32 ulp up
    assert "differ" in verify(packed, forest)


def test_rounding_to_nearest_is_refused(monkeypatch):
    # a wrong threshold conversion is caught by the probe check: pack_forest refuses
    X, y = pixels(3, seed=10)
    X = X + np.random.default_rng(0).normal(0, 1e-3, X.shape)
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    monkeypatch.setattr(fk, "_round_down", lambda t: t.astype(np.float32))
    packed, reason = pack_forest(forest)
    assert packed is None and "differ" in reason


def test_unsupported_forests_are_refused():
    X, y = pixels(3, seed=11)
    multi = RandomForestClassifier(n_estimators=3).fit(X, np.stack([y, y[::-1]], axis=1))
    assert pack_forest(multi) == (None, "2 outputs, only one is supported")
    assert pack_forest(RandomForestClassifier()) == (None, "the forest is not fitted")
    packed, reason = pack_forest(DecisionTreeClassifier().fit(X, y))
    assert packed is None and "not a random forest" in reason

    class Tilted(RandomForestClassifier):
        def predict_proba(self, X):
            return super().predict_proba(X) ** 2

    packed, reason = pack_forest(Tilted(n_estimators=3).fit(X, y))
    assert packed is None and "overridden" in reason
    with pytest.raises(fk.UnsupportedForest):
        PackedForest(multi)


def test_wrong_number_of_features():
    X, y = pixels(3, seed=12)
    packed, _ = pack_forest(RandomForestClassifier(n_estimators=3).fit(X, y))
    with pytest.raises(ValueError, match="expected"):
        packed.predict_proba(X[:, :-1])


def test_import_does_not_load_numba():
    code = ("import sys; import xr_landcover._forest_kernel; "
            "assert 'numba' not in sys.modules, 'numba imported'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
