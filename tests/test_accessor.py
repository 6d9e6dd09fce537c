"""The ``.landcover`` accessor: each method has its function's signature and docstring, minus
the array."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest
import rasterio
import xarray as xr
from conftest import random_probabilities, synthetic_cube

import xr_landcover
from xr_landcover import postprocess
from xr_landcover.accessor import LandcoverAccessor
from xr_landcover.classmap import ClassMap
from xr_landcover.errors import InvalidInputTypeError, InvalidParameterError
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
# -- the Dataset accessor -------------------------------------------------------------------


@pytest.fixture
def two_layers():
    """What classify(..., confidence=True) returns, made by label: a Dataset of the class map
    ``landcover`` and its ``confidence``, lazy."""
    rng = np.random.default_rng(3)
    p = random_probabilities(rng, 3, 40, 36, names=["water", "forest", "crops"],
                             chunks={"y": 16, "x": 16})
    return xr_landcover.label(p, confidence=True)


def test_dataset_to_geotiff_writes_every_layer_in_one_computation(two_layers, tmp_path,
                                                                   no_compute):
    no_compute.forbid = False
    written = two_layers.landcover.to_geotiff(tmp_path)
    assert no_compute.calls == 1  # the class map and its confidence share their work
    assert written == {"landcover": tmp_path / "landcover.tif",
                       "confidence": tmp_path / "confidence.tif"}
    expected = two_layers.compute()
    classes = xr_landcover.open_classmap(written["landcover"])
    np.testing.assert_array_equal(classes.values, expected["landcover"].values)
    assert ClassMap.from_dataarray(classes) == ClassMap.from_dataarray(expected["landcover"])
    with rasterio.open(written["confidence"]) as src:
        assert src.dtypes[0] == "float32"
        np.testing.assert_array_equal(src.read(1), expected["confidence"].values)
    only = two_layers.landcover.to_geotiff({"confidence": tmp_path / "c.tif"})
    assert list(only) == ["confidence"] and (tmp_path / "c.tif").exists()



def test_dataset_to_geotiff_refuses_one_file_or_an_unknown_layer(two_layers, tmp_path):
    with pytest.raises(InvalidParameterError, match=r"existing folder.*'landcover': "
                                                    r"'landcover\.tif'"):
        two_layers.landcover.to_geotiff(tmp_path / "classes.tif")
    with pytest.raises(InvalidParameterError, match=r"\['conf'\].*'landcover', 'confidence'"):
        two_layers.landcover.to_geotiff({"conf": tmp_path / "c.tif"})
    assert list(tmp_path.iterdir()) == []


def test_dataset_cube_stacks_bands_as_odc_stac_gives_them(no_compute):
    """odc-stac's load: one variable per band, its nodata as an attr, the CRS as spatial_ref."""
    values = np.arange(3 * 8 * 10, dtype="uint16").reshape(3, 8, 10)
    cube = synthetic_cube(values, bands=["red", "green", "nir"], chunks={"y": 4})
    ds = cube.to_dataset("band")
    for b in ds.data_vars:
        ds[b].attrs["nodata"] = 0
    back = ds.landcover.cube()
    assert back.dims == ("band", "y", "x") and list(back.band.values) == ["red", "green", "nir"]
    assert back.rio.crs == cube.rio.crs and back.rio.transform() == cube.rio.transform()
    assert back.rio.nodata == 0 and back.chunks is not None
    assert "band cube: 3 bands (red, green, nir)" in back.landcover.summary()
    picked = ds.landcover.cube(["nir", "red"])
    no_compute.forbid = False
    np.testing.assert_array_equal(picked.values, values[[2, 0]])
    with pytest.raises(InvalidParameterError, match=r"\['swir'\] is not among \['red'"):
        ds.landcover.cube(["red", "swir"])


def test_dataarray_methods_on_a_dataset_say_which_array_to_use(two_layers):
    ds = two_layers
    with pytest.raises(InvalidInputTypeError, match=r"ds\['landcover'\]\.landcover\.plot\("):
        ds.landcover.plot()
    with pytest.raises(InvalidInputTypeError,
                       match=r"ds\.landcover\.cube\(\)\.landcover\.classify\("):
        ds.landcover.classify(None)
    # every DataArray method has an answer on a Dataset: its own, or which array to use
    public = {n for n in dir(LandcoverAccessor) if not n.startswith("_")}
    assert public <= set(dir(type(ds.landcover)))


def test_ds_landcover_is_the_accessor_and_the_variable_is_ds_landcover_item(two_layers):
    """ds.landcover was the variable 'landcover' of classify's Dataset: code that reads its
    attributes through it still works, with a warning that names the new spelling."""
    with pytest.warns(UserWarning, match=r"write ds\['landcover'\]\.values") as seen:
        values = two_layers.landcover.values
    assert len(seen) == 1
    np.testing.assert_array_equal(values, two_layers["landcover"].values)
    with pytest.raises(AttributeError, match=r"no 'nothing'.*\['landcover', 'confidence'\]"):
        two_layers.landcover.nothing  # noqa: B018
    for call in (lambda a: xr_landcover.to_geotiff(a, "x.tif"), xr_landcover.class_areas,
                 xr_landcover.accuracy_points):  # passed where the variable goes: the fix
        with pytest.raises(InvalidInputTypeError, match=r"accessor.*ds\['landcover'\]"):
            call(two_layers.landcover)
