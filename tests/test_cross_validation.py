"""Tests of xr_landcover.assessment.cross_validation: folds of whole polygons (or blocks, or
pixels), stratified, reproducible, independent of the chunking, and reports that equal a
fit by hand."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio.features
from conftest import synthetic_cube
from shapely.geometry import Point, box
from sklearn.neighbors import KNeighborsClassifier

from xr_landcover import cross_validate
from xr_landcover.errors import InvalidInputTypeError, InvalidParameterError

ORIGIN, RES = (500000.0, 4000000.0), 10.0
NY, NX = 48, 64


def scene(seed: int = 0):
    """A 3-band cube with four spectral classes in vertical stripes, each polygon with its own
    offset (so neighbouring pixels are alike, polygons less so), and 16 square polygons, four
    per class, of several sizes."""
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 1.0, (3, NY, NX))
    polygons, classes = [], []
    x0, y0 = ORIGIN
    for k in range(4):
        for j in range(4):
            size = 3 + (j + k) % 4                      # 3..6 pixels wide
            r0, c0 = 2 + 11 * j, 2 + 16 * k
            offset = rng.normal(0, 1.5, 3)
            values[:, r0:r0 + size, c0:c0 + size] += (np.array([k, -k, 2 * k])[:, None, None]
                                                      * 2.0 + offset[:, None, None])
            # corners shifted by a quarter pixel: centres are never on an edge
            polygons.append(box(x0 + (c0 + 0.25) * RES, y0 - (r0 + size - 0.25) * RES,
                                x0 + (c0 + size - 0.25) * RES, y0 - (r0 + 0.25) * RES))
            classes.append(k + 1)
    gdf = gpd.GeoDataFrame({"cls": classes, "name": [f"c{k}" for k in classes]},
                           geometry=polygons, crs="EPSG:32618")
    gdf.index = [f"p{i}" for i in range(len(gdf))]   # not a RangeIndex: assignment keeps it
    return synthetic_cube(values.astype("float32"), origin=ORIGIN, res=RES), gdf


@pytest.fixture(scope="module")
def data():
    return scene()


def run(cube, gdf, **kwargs):
    kwargs.setdefault("method", "knn")
    kwargs.setdefault("random_state", 0)
    return cross_validate(cube, gdf, "cls", "name", **kwargs)


def test_folds_never_split_a_polygon(data):
    cube, gdf = data
    cv = run(cube, gdf, folds=4)
    per_sample = cv.pixels.groupby("sample")["fold"]
    assert (per_sample.nunique() == 1).all()
    # every pixel is traced to its own polygon: the pixels whose centre it holds
    transform = cube.rio.transform()
    for label, geom in zip(gdf.index, gdf.geometry):
        inside = rasterio.features.geometry_mask([geom], (NY, NX), transform, invert=True)
        rows, cols = np.nonzero(inside)
        got = cv.pixels[cv.pixels["sample"] == label]
        assert sorted(zip(got["row"], got["col"])) == sorted(zip(rows, cols))
        assert cv.assignment[label] == got["fold"].iloc[0]
    assert list(cv.assignment.index) == list(gdf.index)
    assert cv.overall.n_samples == len(cv.pixels) == sum(r.n_samples for r in cv.folds)
    np.testing.assert_array_equal(cv.overall.counts, sum(r.counts for r in cv.folds))


def test_every_class_is_in_every_training_fold(data):
    cube, gdf = data
    for seed in range(5):
        cv = run(cube, gdf, folds=4, random_state=seed)
        for i in range(4):
            train = cv.pixels[cv.pixels["fold"] != i]
            assert set(train["class_value"]) == {1, 2, 3, 4}
        # stratified: each test fold holds one polygon of each class
        held = cv.pixels.drop_duplicates("sample").groupby("fold")["class_value"]
        assert all(sorted(v) == [1, 2, 3, 4] for _, v in held)


def test_reports_equal_a_fit_by_hand(data):
    cube, gdf = data
    cv = run(cube, gdf, folds=4, max_samples_per_class=None)
    X = cube.values.reshape(3, -1).T
    px = cv.pixels
    features = X[px["row"] * NX + px["col"]]
    for i, rep in enumerate(cv.folds):
        train, test = px["fold"] != i, px["fold"] == i
        knn = KNeighborsClassifier(5)
        # knn on standardized bands, as method="knn" builds it
        mean, std = features[train].mean(0), features[train].std(0)
        knn.fit((features[train] - mean) / std, px["class_value"][train])
        pred = knn.predict((features[test] - mean) / std)
        np.testing.assert_array_equal(pred, px["predicted"][test])
        truth = px["class_value"][test].to_numpy()
        for a, va in enumerate(rep.class_values):
            for b, vb in enumerate(rep.class_values):
                assert rep.counts[a, b] == np.sum((pred == va) & (truth == vb))
    assert cv.overall.class_names == ("c1", "c2", "c3", "c4")


def test_reproducible_with_random_state(data):
    cube, gdf = data
    a = run(cube, gdf, method="random_trees", random_state=3)
    b = run(cube, gdf, method="random_trees", random_state=3)
    assert a.assignment.equals(b.assignment)
    np.testing.assert_array_equal(a.overall.counts, b.overall.counts)
    c = run(cube, gdf, method="random_trees", random_state=4)
    assert not a.assignment.equals(c.assignment)


def test_independent_of_the_chunking(data):
    cube, gdf = data
    whole = run(cube, gdf)
    chunked = run(cube.chunk({"band": 1, "y": 7, "x": 11}), gdf)
    assert whole.assignment.equals(chunked.assignment)
    assert whole.pixels.equals(chunked.pixels)
    np.testing.assert_array_equal(whole.overall.counts, chunked.overall.counts)


def test_random_pixels_split_polygons_and_are_optimistic(data):
    cube, gdf = data
    pixels = run(cube, gdf, groups=None)
    polygons = run(cube, gdf)
    assert (pixels.pixels.groupby("sample")["fold"].nunique() > 1).any()
    assert pixels.assignment.isna().all()
    assert pixels.overall.overall_accuracy > polygons.overall.overall_accuracy
    assert "random pixels (optimistic)" in repr(pixels)


def test_blocks_hold_whole_polygons(data):
    cube, gdf = data
    cv = run(cube, gdf, groups="block", block_size=160.0, folds=3)
    assert (cv.pixels.groupby("sample")["fold"].nunique() == 1).all()
    # polygons whose surface point shares a 160 m block share a fold
    anchor = gdf.geometry.representative_point()
    block = list(zip(((anchor.x - ORIGIN[0]) // 160).astype(int),
                     ((ORIGIN[1] - anchor.y) // 160).astype(int)))
    fold_of_block = {}
    for b, f in zip(block, cv.assignment):
        assert fold_of_block.setdefault(b, f) == f
    assert len(set(block)) == cv.pixels["group"].nunique() > 3
    with pytest.raises(InvalidParameterError, match="only 1 blocks .* smaller block_size"):
        run(cube, gdf, groups="block", block_size=1e6)


def test_points_are_their_own_groups(data):
    cube, gdf = data
    pts = gdf.copy()
    pts["geometry"] = [Point(g.centroid.x, g.centroid.y) for g in gdf.geometry]
    cv = run(cube, pts, folds=4)
    assert len(cv.pixels) == 16 and cv.assignment.notna().all()
    assert sorted(cv.pixels["sample"]) == sorted(gdf.index)


def test_a_class_with_one_polygon_warns(data):
    cube, gdf = data
    one = gdf.drop(index=["p1", "p2", "p3"])  # class 1 keeps a single polygon
    with pytest.warns(UserWarning, match="fold \\d: \\['c1'\\]"):
        cv = run(cube, one, folds=3)
    assert cv.overall.producers_accuracy["c1"] == 0


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"folds": 1}, InvalidParameterError, "folds must be an integer >= 2"),
        ({"folds": 2.5}, InvalidParameterError, "folds"),
        ({"folds": "5"}, InvalidInputTypeError, "folds"),
        ({"folds": 17}, InvalidParameterError, "folds=17 but only 16 sample polygons"),
        ({"groups": "polygons"}, InvalidParameterError, "groups must be 'polygon'"),
        ({"groups": "block"}, InvalidParameterError, "needs block_size"),
        ({"groups": "block", "block_size": -5}, InvalidParameterError, "block_size must be"),
        ({"block_size": 100}, InvalidParameterError, "only goes with groups='block'"),
        ({"method": "forest"}, InvalidParameterError, "method must be one of"),
        ({"max_samples_per_class": -1}, InvalidParameterError, "max_samples_per_class"),
    ],
)
def test_bad_arguments_name_them(data, kwargs, error, match):
    cube, gdf = data
    with pytest.raises(error, match=match):
        run(cube, gdf, **kwargs)
