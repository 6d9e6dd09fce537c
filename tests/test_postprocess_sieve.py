"""postprocess/sieve.py: the minimum mapping unit equals GDAL's sieve (rasterio.features.sieve)
on the whole map, for any chunking (regions crossing chunks resolved globally), lazily."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio.features
from conftest import synthetic_class_map
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import ndimage

from xr_landcover.errors import InvalidInputTypeError, InvalidParameterError
from xr_landcover.postprocess import sieve


def patchy(seed, shape, nclass, smooth, fill="none"):
    """A class map 1..nclass of patches of all sizes (smoothed noise cut at quantiles), with
    scattered fill pixels, fill areas, or none."""
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.random(shape), smooth)
    cuts = np.quantile(noise, np.linspace(0, 1, nclass + 1)[1:-1])
    a = (np.digitize(noise, cuts) + 1).astype("uint8")
    if fill == "speckle":
        a[rng.random(shape) < 0.1] = 0
    elif fill == "areas":
        a[ndimage.gaussian_filter(rng.random(shape), 2) > 0.55] = 0
    return a


def gdal(a, min_pixels, connectivity):
    return rasterio.features.sieve(a, size=min_pixels, connectivity=connectivity, mask=a != 0)


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("fill", ["none", "speckle", "areas"])
def test_equals_gdal_on_one_chunk(connectivity, fill):
    for seed, smooth, min_pixels in [(0, 0.3, 3), (1, 1.0, 8), (2, 2.0, 30)]:
        a = patchy(seed, (45, 52), 4, smooth, fill)
        got = sieve(synthetic_class_map(a), min_pixels, connectivity)
        np.testing.assert_array_equal(got.values, gdal(a, min_pixels, connectivity))


def test_speckle_salt_and_pepper_equals_gdal():
    # one-pixel regions everywhere: long chains of biggest neighbours, ties, loops
    rng = np.random.default_rng(5)
    a = rng.integers(1, 4, (40, 40)).astype("uint8")
    for min_pixels in (2, 4, 10):
        for connectivity in (4, 8):
            got = sieve(synthetic_class_map(a, chunks=7), min_pixels, connectivity)
            np.testing.assert_array_equal(got.values, gdal(a, min_pixels, connectivity))


@settings(max_examples=15, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), nclass=st.integers(2, 6),
       smooth=st.floats(0.3, 2.5), min_pixels=st.integers(2, 40),
       connectivity=st.sampled_from([4, 8]), fill=st.sampled_from(["none", "speckle", "areas"]),
       cy=st.integers(3, 30), cx=st.integers(3, 30))
def test_any_chunking_equals_gdal_on_the_whole_map(seed, nclass, smooth, min_pixels,
                                                   connectivity, fill, cy, cx):
    a = patchy(seed, (33, 37), nclass, smooth, fill)
    got = sieve(synthetic_class_map(a, chunks={"y": cy, "x": cx}), min_pixels, connectivity)
    np.testing.assert_array_equal(got.values, gdal(a, min_pixels, connectivity))


def test_region_across_four_chunks():
    # a 3-pixel island of 2 cut by both chunk borders, inside a big region of 1: it is small
    # only as a whole; and a 12-pixel band of 3 crossing a border is big only as a whole
    a = np.ones((12, 12), "uint8")
    a[5, 5] = a[6, 6] = a[5, 6] = 2
    a[2, 0:12] = 3
    got = sieve(synthetic_class_map(a, chunks=6), 4, 8).values
    expected = np.ones((12, 12), "uint8")
    expected[2] = 3
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got, gdal(a, 4, 8))


def test_fill_never_changes_and_isolated_regions_stay():
    a = np.zeros((6, 6), "uint8")
    a[1, 1] = 2  # surrounded by fill: no neighbour, stays
    a[3:6, 3:6] = 1
    a[4, 4] = 3
    got = sieve(synthetic_class_map(a, chunks=3), 5, 4).values
    expected = a.copy()
    expected[4, 4] = 1
    np.testing.assert_array_equal(got, expected)


def test_lazy_and_keeps_the_map(no_compute):
    classes = synthetic_class_map(patchy(0, (40, 40), 3, 1.0), chunks=16,
                                  colors=[(1, 2, 3), (4, 5, 6), (7, 8, 9)])
    out = classes.landcover.sieve(10)
    assert no_compute.calls == 0
    assert out.dtype == classes.dtype and out.chunks == classes.chunks
    assert out.attrs == classes.attrs and out.rio.crs == classes.rio.crs


@pytest.mark.parametrize("kwargs, error, words", [
    ({"min_pixels": 0}, InvalidParameterError, "min_pixels"),
    ({"min_pixels": 2.5}, InvalidParameterError, "min_pixels"),
    ({"min_pixels": "4"}, InvalidInputTypeError, "min_pixels"),
    ({"min_pixels": 4, "connectivity": 6}, InvalidParameterError, "connectivity"),
])
def test_bad_parameters_are_named(kwargs, error, words):
    with pytest.raises(error, match=words):
        sieve(synthetic_class_map(patchy(0, (5, 5), 2, 1.0)), **kwargs)


def test_float_map_is_refused():
    with pytest.raises(InvalidInputTypeError, match="integer class map"):
        sieve(synthetic_class_map(patchy(0, (5, 5), 2, 1.0).astype("float32")), 4)


def test_cli_sieve_writes_gdals_result(tmp_path, capsys):
    from xr_landcover import cli, open_classmap, to_geotiff

    a = patchy(4, (50, 60), 4, 0.8, "speckle")
    src = to_geotiff(synthetic_class_map(a), tmp_path / "map.tif")
    out = tmp_path / "mmu.tif"
    assert cli.main(["sieve", str(src), "-o", str(out), "--min-pixels", "6",
                     "--connectivity", "4", "--chunks", "16", "-q"]) == 0
    np.testing.assert_array_equal(open_classmap(out).values, gdal(a, 6, 4))
    before = out.read_bytes()
    assert cli.main(["sieve", str(src), "-o", str(out), "--min-pixels", "6"]) == 2
    assert "--overwrite" in capsys.readouterr().err and out.read_bytes() == before
    assert cli.main(["sieve", str(src), "-o", str(src), "--min-pixels", "6",
                     "--overwrite"]) == 2
    assert "is the input map" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: --min-pixels must be >= 1
        cli.main(["sieve", str(src), "-o", str(out), "--min-pixels", "0"])
