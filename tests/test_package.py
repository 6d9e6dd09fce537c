"""The package's import: light, and every public name reachable."""

from __future__ import annotations

import json
import subprocess
import sys

import xr_landcover


def test_import_loads_no_segmentation_vector_or_plotting_stack():
    # Classifying a cube should not pay for numba, geopandas or matplotlib (memory and start-up
    # time): those load when segmentation, training or plotting is first used.
    code = (
        "import json, sys; import xr_landcover; "
        "print(json.dumps(sorted(m for m in ('numba', 'geopandas', 'matplotlib', 'sklearn', "
        "'scipy.stats', 'folium') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_every_public_name_resolves():
    for name in xr_landcover.__all__:
        assert getattr(xr_landcover, name) is not None, name
    assert set(xr_landcover.__all__) <= set(dir(xr_landcover))
    assert callable(xr_landcover.accuracy)  # the function, not the submodule of that name
    assert callable(xr_landcover.segment_mean)
    assert xr_landcover.datasets.nc_landsat7_path().exists()


def test_unknown_attribute_is_an_attribute_error():
    try:
        xr_landcover.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("no AttributeError")


def test_classifying_with_an_unaccelerated_method_does_not_load_numba():
    # numba (about 50 MB and half a second) serves segmentation and the accelerated SVM and
    # forests only: a k-NN model classifies without it, a forest loads it for its kernel.
    code = (
        "import sys, warnings; import xr_landcover; from xr_landcover import datasets\n"
        "warnings.simplefilter('ignore')\n"
        "cube = datasets.nc_landsat7()\n"
        "m = xr_landcover.train(cube, datasets.nc_training_polygons(), 'id', 'label', "
        "method=METHOD, max_samples_per_class=50, random_state=0)\n"
        "xr_landcover.classify(cube, m).compute()\n"
        "print('numba' in sys.modules)"
    )
    for method, loads in (("knn", "False"), ("random_trees", "True")):
        out = subprocess.run([sys.executable, "-c", code.replace("METHOD", repr(method))],
                             capture_output=True, text=True, check=True)
        assert out.stdout.strip().splitlines()[-1] == loads, method
