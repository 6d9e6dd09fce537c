"""Invariants, checked with hypothesis on small inputs (modest example counts).

What exists elsewhere and is extended here: class labels under any chunking
(test_classify::test_identical_labels_under_any_chunking, svm labels only), segment ids under
any chunking (test_segment::test_identical_for_any_chunking), attributes under any chunking of
given segment maps (test_attributes::test_chunking_does_not_change_the_attributes), and
extract_samples under a shuffle (test_samples::test_cap_seed_and_shuffle_invariance).

Here:
* classify: labels *and* confidence identical under any chunking and any band order;
* segment -> segment_attributes: the attributes of a real segmentation are identical whatever
  the chunking of the cube and, independently, of the segment map;
* segment ids are a function of the partition only (``1 +`` the raster index of the segment's
  first pixel), whatever the chunking, and unchanged when the bands are given in another order;
* segment_mean and segment_attributes do not depend on how the segments are numbered;
* a seeded training gives the same model whatever the order of the polygons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import quiet_train
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xr_landcover
from xr_landcover import datasets, segment_attributes, segment_mean
from xr_landcover.segment import segment

FEW = settings(max_examples=6, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])


@pytest.fixture(scope="module")
def window():
    return datasets.nc_landsat7().isel(y=slice(120, 220), x=slice(180, 300)).chunk(-1)


@pytest.fixture(scope="module")
def forest(polygons):
    return quiet_train(datasets.nc_landsat7(), polygons, "id", "label", method="random_trees",
                       max_samples_per_class=60, random_state=0, n_estimators=10)


@pytest.fixture(scope="module")
def forest_reference(window, forest):
    both = xr_landcover.classify(window, forest, confidence=True).compute()
    return both["landcover"].values, both.confidence.values


@pytest.fixture(scope="module")
def rgb():
    """A 64 x 64 crop of the shipped 8-bit Landsat RGB scene, in memory."""
    return datasets.l8_rgb_uint8().isel(y=slice(200, 264), x=slice(300, 364)).compute()


SEGMENT_OPTIONS = {"spatial_radius": 3, "spectral_radius": 12, "min_segment_size": 6}


@pytest.fixture(scope="module")
def rgb_segments(rgb):
    return segment(rgb.chunk(-1), **SEGMENT_OPTIONS).values


# --------------------------------------------------------------------------------------------
# classify
# --------------------------------------------------------------------------------------------


@FEW
@given(cy=st.integers(7, 100), cx=st.integers(7, 120), order=st.permutations(range(6)))
def test_classify_labels_and_confidence_any_chunking_any_band_order(
        window, forest, forest_reference, cy, cx, order):
    """Invariance only (chunking, band order): equal to the unchunked run. Correctness of the
    labels: test_classify.py::test_labels_equal_bare_predict_and_nodata_is_fill (scikit-learn's
    own predict); of the confidence: test_classify.py::test_confidence."""
    cube = window.isel(band=list(order)).chunk({"y": cy, "x": cx})
    both = xr_landcover.classify(cube, forest, confidence=True).compute()
    labels, confidence = forest_reference
    np.testing.assert_array_equal(both["landcover"].values, labels)
    np.testing.assert_array_equal(both.confidence.values, confidence)  # bit for bit


# --------------------------------------------------------------------------------------------
# segment and its attributes
# --------------------------------------------------------------------------------------------


def first_pixel_ids(ids: np.ndarray) -> np.ndarray:
    """``1 +`` the raster index of the first pixel of each segment, painted (0 stays 0)."""
    flat = ids.ravel()
    order = np.argsort(flat, kind="stable")  # stable: within an id, raster order
    sorted_ids = flat[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    first = dict(zip(sorted_ids[starts].tolist(), (order[starts] + 1).tolist()))
    first[0] = 0
    return np.vectorize(first.get, otypes=[np.int64])(ids)


@FEW
@given(cy=st.integers(9, 64), cx=st.integers(9, 64), sy=st.integers(5, 64),
       sx=st.integers(5, 64))
def test_segment_and_attributes_under_any_chunking(rgb, rgb_segments, cy, cx, sy, sx):
    """Invariance only: chunked ids and attributes equal the unchunked run's. Correctness:
    test_segment.py::test_segmentation_matches_reference (plain-loop mean shift) and
    test_attributes.py::test_equals_plain_numpy_on_a_small_image."""
    seg = segment(rgb.chunk({"y": cy, "x": cx}), **SEGMENT_OPTIONS)
    ids = seg.values
    np.testing.assert_array_equal(ids, rgb_segments)
    # the ids are a function of the partition only
    np.testing.assert_array_equal(ids, first_pixel_ids(ids))
    assert len(np.unique(ids)) > 20
    whole = segment_attributes(rgb, seg.chunk(-1))
    # the attributes, the cube and the segment map chunked independently
    got = segment_attributes(rgb.chunk({"y": sy, "x": sx}), seg.chunk({"y": sx, "x": cy}))
    assert list(got.index) == list(whole.index)
    for column in ("count", "perimeter", "rectangularity"):
        np.testing.assert_array_equal(got[column].to_numpy(), whole[column].to_numpy())
    pd.testing.assert_frame_equal(got, whole, check_exact=False, rtol=1e-9, atol=1e-9)


@settings(max_examples=4, deadline=None)
@given(order=st.permutations(range(3)))
def test_segment_ids_unchanged_by_band_order(rgb, order):
    """Without the colour-space conversion every band plays the same role: naming the bands in
    another order (explicitly, by name) gives the same partition and so the same ids."""
    names = [str(b) for b in rgb.band.values]
    options = {**SEGMENT_OPTIONS, "color_space": "none"}
    reference = segment(rgb, bands=names, **options).values
    permuted = rgb.isel(band=list(order))
    got = segment(permuted, bands=[names[i] for i in order], **options).values
    np.testing.assert_array_equal(got, reference)


@FEW
@given(seed=st.integers(0, 2**32 - 1))
def test_mean_and_attributes_ignore_the_segment_numbering(rgb, rgb_segments, seed):
    rng = np.random.default_rng(seed)
    ids = rgb_segments
    old = np.unique(ids[ids > 0])
    new = rng.choice(np.arange(1, 10 * len(old) + 1), size=len(old), replace=False)
    relabel = dict(zip(old.tolist(), new.tolist()))
    relabel[0] = 0
    renumbered_ids = np.vectorize(relabel.get, otypes=[ids.dtype])(ids)
    template = segment(rgb, **SEGMENT_OPTIONS)
    seg = template.copy(data=ids).chunk({"y": 24, "x": 40})
    renumbered = template.copy(data=renumbered_ids).chunk({"y": 24, "x": 40})
    np.testing.assert_array_equal(segment_mean(rgb, renumbered).values,
                                  segment_mean(rgb, seg).values)
    a = segment_attributes(rgb, seg)
    b = segment_attributes(rgb, renumbered)
    b.index = b.index.map({v: k for k, v in relabel.items()})
    pd.testing.assert_frame_equal(b.sort_index(), a, check_names=False)


# --------------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------------


@settings(max_examples=4, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_seeded_training_ignores_polygon_order(polygons, window, forest, forest_reference, seed):
    shuffled = polygons.sample(frac=1, random_state=np.random.RandomState(seed % 2**32))
    shuffled = shuffled.reset_index(drop=True)
    model = quiet_train(datasets.nc_landsat7(), shuffled, "id", "label",
                        method="random_trees", max_samples_per_class=60, random_state=0,
                        n_estimators=10)
    assert model.classes == forest.classes and model.training == forest.training
    for mine, theirs in zip(model.estimator.estimators_, forest.estimator.estimators_):
        np.testing.assert_array_equal(mine.tree_.feature, theirs.tree_.feature)
        np.testing.assert_array_equal(mine.tree_.threshold, theirs.tree_.threshold)
    both = xr_landcover.classify(window, model, confidence=True).compute()
    np.testing.assert_array_equal(both["landcover"].values, forest_reference[0])
    np.testing.assert_array_equal(both.confidence.values, forest_reference[1])


def test_renumbering_helpers_are_not_trivial(rgb_segments):
    """The helper that recomputes ids from the partition does change other numberings."""
    shifted = np.where(rgb_segments > 0, rgb_segments + 7, 0)
    assert not np.array_equal(first_pixel_ids(shifted), shifted)
    np.testing.assert_array_equal(first_pixel_ids(shifted), rgb_segments)


def test_hypothesis_runs_the_derandomized_profile_unless_asked_to_explore():
    """conftest.py loads the "ci" profile (always under CI, and by default): the same examples
    on every run, so that a CI failure replays; "explore" only when asked for."""
    import os

    if os.environ.get("CI") or os.environ.get("HYPOTHESIS_PROFILE", "ci") == "ci":
        assert settings.default.derandomize and settings.default.database is None
        assert settings.default.max_examples == 100
    else:
        assert not settings.default.derandomize
