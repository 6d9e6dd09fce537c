"""The accelerated RBF SVM predicts exactly what scikit-learn's libsvm predicts."""

from __future__ import annotations

import json
import os
import pickle
import platform
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import xr_landcover
from xr_landcover import datasets
from xr_landcover._forest_kernel import PackedForest
from xr_landcover.classification.accelerate import RBFSupportVectorClassifier, accelerate


def blobs(n_classes, seed, n=400, features=6):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2, (n_classes, features))
    y = rng.integers(0, n_classes, n)
    X = centres[y] + rng.normal(0, 1.2, (n, features))  # overlapping: many support vectors
    labels = np.array([3, 7, 11, 20, 42, 5, 9])[:n_classes]  # not 0..k-1, not sorted
    return X, labels[y]


@pytest.mark.parametrize("n_classes", [2, 3, 7])
@pytest.mark.parametrize("gamma, C", [("scale", 1.0), (0.5, 10.0), (0.01, 0.1)])
def test_same_decision_values_and_labels_as_libsvm(n_classes, gamma, C):
    X, y = blobs(n_classes, seed=n_classes)
    svc = SVC(gamma=gamma, C=C).fit(X, y)
    fast = accelerate(svc)
    assert isinstance(fast, RBFSupportVectorClassifier)
    Xt = np.random.default_rng(1).normal(0, 3, (5000, X.shape[1]))
    Xt[:50] = X[:50]  # training pixels too (kernel values of 1 for their own support vectors)
    np.testing.assert_array_equal(fast.decision_function(Xt), svc.decision_function(Xt))
    np.testing.assert_array_equal(fast.predict(Xt), svc.predict(Xt))
    ovo = SVC(gamma=gamma, C=C, decision_function_shape="ovo").fit(X, y)
    np.testing.assert_array_equal(accelerate(ovo).decision_function(Xt),
                                  ovo.decision_function(Xt))


def test_float32_input_and_ties_follow_libsvm():
    # float32 pixels (what cubes hold) are converted as libsvm's path converts them; a test set
    # with exact duplicates and pixels equidistant from classes exercises the vote ties.
    X, y = blobs(4, seed=5)
    svc = SVC().fit(X, y)
    fast = accelerate(svc)
    Xt = np.repeat(np.random.default_rng(2).normal(0, 2, (300, 6)).astype(np.float32), 3, 0)
    Xt = np.concatenate([Xt, np.zeros((10, 6), np.float32)])
    np.testing.assert_array_equal(fast.predict(Xt), svc.predict(Xt))


def test_pipeline_with_calibration_is_accelerated_inside_and_keeps_results():
    X, y = blobs(5, seed=3)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("svm", CalibratedClassifierCV(SVC(), cv=3, ensemble=False))]).fit(X, y)
    fast = accelerate(pipe)
    inner = fast.steps[-1][1].calibrated_classifiers_[0].estimator
    assert isinstance(inner, RBFSupportVectorClassifier)
    # the original is untouched
    assert type(pipe.steps[-1][1].calibrated_classifiers_[0].estimator) is SVC
    Xt = np.random.default_rng(4).normal(0, 3, (3000, 6))
    np.testing.assert_array_equal(fast.predict_proba(Xt), pipe.predict_proba(Xt))
    np.testing.assert_array_equal(fast.predict(Xt), pipe.predict(Xt))
    # it travels to dask workers by pickle
    again = pickle.loads(pickle.dumps(fast))
    np.testing.assert_array_equal(again.predict(Xt), pipe.predict(Xt))


def test_other_estimators_are_returned_as_they_are():
    X, y = blobs(3, seed=6)
    linear = SVC(kernel="linear").fit(X, y)
    knn = Pipeline([("scale", StandardScaler()), ("knn", KNeighborsClassifier())]).fit(X, y)
    assert accelerate(linear) is linear
    assert accelerate(knn) is knn
    unfitted = SVC()
    assert accelerate(unfitted) is unfitted
    assert accelerate(RandomForestClassifier()) is not None


@pytest.mark.parametrize("forest_type", [RandomForestClassifier, ExtraTreesClassifier])
def test_forests_are_packed_with_the_same_labels_and_probabilities(forest_type):
    X, y = blobs(5, seed=8)
    forest = forest_type(n_estimators=20, random_state=0).fit(X, y)
    pipe = Pipeline([("scale", StandardScaler()), ("rf", forest)]).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the fast path, no fallback
        fast, fast_pipe = accelerate(forest), accelerate(pipe)
    assert isinstance(fast, PackedForest) and isinstance(fast_pipe.steps[-1][1], PackedForest)
    assert type(pipe.steps[-1][1]) is forest_type  # the original is untouched
    Xt = np.random.default_rng(9).normal(0, 3, (4000, 6)).astype(np.float32)
    np.testing.assert_array_equal(fast.predict_proba(Xt), forest.predict_proba(Xt))
    np.testing.assert_array_equal(fast.predict(Xt), forest.predict(Xt))
    np.testing.assert_array_equal(fast_pipe.predict(Xt), pipe.predict(Xt))
    again = pickle.loads(pickle.dumps(fast))
    np.testing.assert_array_equal(again.predict_proba(Xt), forest.predict_proba(Xt))


def test_an_unsupported_forest_says_why_it_is_not_accelerated():
    X, y = blobs(3, seed=10)
    two_outputs = RandomForestClassifier(n_estimators=3, random_state=0).fit(
        X, np.stack([y, y[::-1]], axis=1))
    with pytest.warns(UserWarning, match="RandomForestClassifier is predicted by scikit-learn"
                                         ": 2 outputs"):
        assert accelerate(two_outputs) is two_outputs


def test_a_mismatch_with_libsvm_keeps_the_original(monkeypatch):
    # If a scikit-learn version stored its model differently, the kernel's values would differ
    # from libsvm's on the probe pixels and the original SVC would be kept: simulate a kernel
    # that is off by one unit in the last place, and one that fails.
    import xr_landcover.classification.accelerate as acc

    X, y = blobs(3, seed=7)
    svc = SVC().fit(X, y)
    exact = acc.rbf_ovo_decision
    monkeypatch.setattr(acc, "rbf_ovo_decision", lambda *a: np.nextafter(exact(*a), np.inf))
    assert accelerate(svc) is svc

    def broken(*args):
        raise ValueError("different layout")

    monkeypatch.setattr(acc, "rbf_ovo_decision", broken)
    assert accelerate(svc) is svc
    monkeypatch.setattr(acc, "rbf_ovo_decision", exact)
    assert accelerate(svc) is not svc


def test_classify_with_the_package_svm_equals_the_bare_predict():
    cube = datasets.nc_landsat7()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = xr_landcover.train(cube, datasets.nc_training_polygons(), "id", "label",
                                   method="svm", random_state=0, max_samples_per_class=150)
    assert accelerate(model.estimator) is not model.estimator  # the SVC inside is replaced
    classes = xr_landcover.classify(cube.chunk({"y": 128, "x": 160}), model)
    values = cube.values.reshape(cube.shape[0], -1).T
    valid = np.isfinite(values).all(axis=1)
    expected = model.estimator.predict(values[valid])
    np.testing.assert_array_equal(classes.values.ravel()[valid], expected)


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    line = next((x for x in text.splitlines() if x.startswith("flags")), "")
    return set(line.split(":")[-1].split())


#: OpenBLAS kernels to check under, each with the CPU feature it needs (x86-64). "Prescott"
#: selects OpenBLAS's plain SSE2 kernel (reported as "Katmai"), whose ddot sums 6 numbers
#: differently from a left-to-right loop; "SkylakeX" (AVX-512) fuses the multiply-adds.
#: ("pni" is how Linux names SSE3.)
CORE_TYPES = {None: None, "Haswell": "avx2", "Sandybridge": "avx", "Prescott": "pni",
              "SkylakeX": "avx512f"}


def _run_under(core_type: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE",)}
    if core_type:
        env["OPENBLAS_CORETYPE"] = core_type
    script = Path(__file__).with_name("openblas_kernels.py")
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("core_type", list(CORE_TYPES), ids=lambda c: c or "default")
def test_fast_and_exact_under_each_openblas_kernel(core_type):
    """In a fresh process under each OpenBLAS kernel the CPU supports (the default one and
    forced ones), the accelerated SVM is taken (no fallback warning) and equals libsvm
    bitwise, also with 20 features (where OpenBLAS's vectorised ddot sums)."""
    if platform.machine() not in ("x86_64", "AMD64") and core_type is not None:
        pytest.skip(f"OpenBLAS core type {core_type} is an x86-64 kernel; this is "
                    f"{platform.machine()}")
    needs = CORE_TYPES[core_type]
    if needs and needs not in _cpu_flags():
        pytest.skip(f"this CPU lacks {needs}, which OpenBLAS's {core_type} kernel needs")
    result = _run_under(core_type)
    for check in result["checks"]:
        assert check["fast_path"], (result["architecture"], check)
        assert check["equal"], (result["architecture"], check)
    if core_type in ("Haswell", "Sandybridge", "SkylakeX"):
        assert result["architecture"] == core_type  # the forced kernel really ran
    # how the kernel sums: as this ddot does (vectorised) where that is a plain left-to-right
    # sum, plain or fused; by calling ddot itself otherwise (20 features: OpenBLAS's
    # vectorised kernels; Prescott's SSE2 code)
    expected = {"Haswell": "sequential", "Sandybridge": "sequential", "SkylakeX": "fused",
                "Prescott": "ddot"}.get(core_type)
    for check in result["checks"]:
        if check["features"] >= 16:
            assert check["arithmetic"] == "ddot", check
        elif expected:
            assert check["arithmetic"] == expected, check
    if core_type == "Prescott":
        assert result["architecture"] != _run_under(None)["architecture"]
        # this kernel's ddot rounds 6-term sums unlike a plain loop: the check can tell
        # libsvm's BLAS from a re-implementation of it
        assert result["ddot_differs_from_sequential"]["6"] > 0
