"""The ``.landcover`` accessor: each method has its function's signature and docstring, minus
the array."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
import xarray as xr

import xr_landcover
from xr_landcover import postprocess
from xr_landcover.accessor import LandcoverAccessor
from xr_landcover.segment import segment

#: accessor method -> (function, the parameter the accessor's array fills)
DELEGATES = {
    "segment": (segment, "cube"),
    "train": (xr_landcover.train, "cube"),
    "classify": (xr_landcover.classify, "cube"),
    "to_geotiff": (xr_landcover.to_geotiff, "da"),
    "to_zarr": (xr_landcover.to_zarr, "da"),
    "plot": (xr_landcover.plot_classes, "classes"),
    "plot_rgb": (xr_landcover.plot_rgb, "cube"),
    "plot_segments": (xr_landcover.plot_segments, "segments"),
    "accuracy": (xr_landcover.accuracy, "class_map"),
    "accuracy_points": (xr_landcover.accuracy_points, "class_map"),
    "predict_proba": (xr_landcover.predict_proba, "cube"),
    "label": (xr_landcover.label, "probabilities"),
    "uncertainty": (postprocess.uncertainty, "probabilities"),
    "smooth": (postprocess.smooth, "probabilities"),
    "reclassify": (postprocess.reclassify, "classes"),
    "uncertainty_points": (postprocess.uncertainty_points, "uncertainty"),
    "cluster": (xr_landcover.cluster, "cube"),
    "with_indices": (xr_landcover.with_indices, "cube"),
    "majority_filter": (postprocess.majority_filter, "classes"),
    "sieve": (postprocess.sieve, "classes"),
}


def _parameters(signature: inspect.Signature, drop: str) -> list[tuple]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()
            if p.name not in (drop, "self")]


@pytest.mark.parametrize("method", sorted(DELEGATES))
def test_method_signature_equals_its_function(method):
    function, array = DELEGATES[method]
    assert array in inspect.signature(function).parameters
    assert _parameters(inspect.signature(getattr(LandcoverAccessor, method)), "self") == \
        _parameters(inspect.signature(function), array)


def test_every_public_method_is_a_checked_delegate():
    # explore dispatches to explore_classes or explore_rgb by the array's dims; summary has
    # no function of its own
    public = {n for n, v in vars(LandcoverAccessor).items()
              if callable(v) and not n.startswith("_")}
    assert public - set(DELEGATES) == {"explore", "summary"}


def documented_parameters(doc: str) -> set[str]:
    """The names a numpydoc Parameters section lists (``a, b : type`` lists two)."""
    section = doc.split("Parameters\n----------\n", 1)[1]
    section = re.split(r"\n\n\w[\w ]*\n---", section)[0]
    entries = re.findall(r"^(\S[^:\n]*)", section, flags=re.M)
    return {name.strip().lstrip("*") for entry in entries for name in entry.split(",")}


@pytest.mark.parametrize("method", sorted(DELEGATES))
def test_method_docstring_is_its_functions(method):
    """``cube.landcover.<method>?`` shows the function's parameters, returns and raises, not a
    one-line redirect; the parameter the accessor fills in is not listed."""
    function, array = DELEGATES[method]
    cube = xr.DataArray(np.zeros((1, 2, 2)), dims=("band", "y", "x"))
    doc = getattr(cube.landcover, method).__doc__
    assert doc == inspect.getdoc(getattr(LandcoverAccessor, method)) + "\n"
    listed = documented_parameters(doc)
    own = inspect.getdoc(function)
    assert listed == documented_parameters(own) - {array}
    assert array not in listed and listed <= set(inspect.signature(function).parameters)
    for section in ("Returns", "Raises"):
        if f"{section}\n---" in own:
            body = own.split(f"{section}\n", 1)[1].split("\n\n")[0]
            assert body in doc, section
    assert function.__name__ in doc


def test_segment_shows_its_expert_parameters():
    """The issue's case: segment's help names spectral_radius, color_space, kernel, maxiter."""
    cube = xr.DataArray(np.zeros((3, 2, 2)), dims=("band", "y", "x"))
    doc = cube.landcover.segment.__doc__
    signature = inspect.signature(cube.landcover.segment)
    for name in ("spectral_radius", "color_space", "kernel", "maxiter"):
        assert name in signature.parameters and f"{name}" in doc


def test_explore_documents_every_option_of_both_functions():
    """explore dispatches by the array's dims, so its docstring names each keyword option of
    explore_classes and explore_rgb (an option added to either and not documented fails)."""
    import inspect

    from xr_landcover.accessor import LandcoverAccessor
    from xr_landcover.plot import explore_classes, explore_rgb

    doc = LandcoverAccessor.explore.__doc__
    for function in (explore_classes, explore_rgb):
        for name, p in list(inspect.signature(function).parameters.items())[1:]:
            if p.kind is p.VAR_KEYWORD:
                continue
            assert f"``{name}" in doc or name == "tiles" and "tiles :" in doc, (function, name)
