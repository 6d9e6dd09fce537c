"""classification/estimators.py: methods by name. ``gradient_boosting`` gives bit-identical
trees, probabilities and maps whatever the OpenMP thread count and the OpenBLAS kernel, each
run in a fresh process (tests/gradient_boosting_threads.py)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

import xr_landcover
from xr_landcover.classification.estimators import make_estimator

SCRIPT = Path(__file__).with_name("gradient_boosting_threads.py")
PACKAGE_ROOT = Path(xr_landcover.__file__).resolve().parents[1]


def run_with(threads: int, core_type: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS")}
    env["OMP_NUM_THREADS"] = str(threads)
    env["OMP_WAIT_POLICY"] = "PASSIVE"  # no spinning threads on a loaded machine
    # the child imports the package under test (the script's folder comes first on its path)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT),
                                                      env.get("PYTHONPATH")]))
    if core_type:
        env["OPENBLAS_CORETYPE"] = core_type
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert Path(result["package"]).resolve() == Path(xr_landcover.__file__).resolve()
    return result


def test_gradient_boosting_is_histgradientboosting_seeded():
    model = make_estimator("gradient_boosting", 3, random_state=4, max_iter=7)
    assert isinstance(model, HistGradientBoostingClassifier)
    assert model.random_state == 4 and model.max_iter == 7


@pytest.mark.slow
def test_gradient_boosting_bit_identical_for_any_thread_count_and_kernel():
    """1, 2 and 3 OpenMP threads (scikit-learn splits the samples of each node between the
    threads; dask's threads each call the model with that many), and the plain SSE2 OpenBLAS
    kernel: the same trees, probabilities and classified map, bit for bit. The runs really
    differ in threads and kernel (checked), and the model is not trivial (early stopping on its
    validation split, tens of iterations)."""
    runs = {t: run_with(t) for t in (1, 2, 3)}
    for threads, run in runs.items():
        assert run["omp_threads"] == threads
    first = runs[1]
    assert first["bare"]["early_stopping"] and first["bare"]["n_iter"] >= 10
    for run in runs.values():
        assert run["bare"] == first["bare"] and run["classify"] == first["classify"]
    if platform.machine() in ("x86_64", "AMD64"):
        other = run_with(2, "Prescott")  # SSE2: every x86-64 CPU has it
        assert other["architecture"] != first["architecture"]
        assert other["bare"] == first["bare"] and other["classify"] == first["classify"]
