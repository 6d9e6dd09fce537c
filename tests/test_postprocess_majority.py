"""postprocess/majority.py: the majority filter, byte-identical to OTB's
ClassificationMapRegularization (the real tool runs where Debian's otb-bin is installed), the
same for any chunking, lazy."""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
import pytest
from conftest import synthetic_class_map
from helpers import run_otb_regularization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xr_landcover.classmap import ClassMap
from xr_landcover.errors import InvalidInputTypeError, InvalidParameterError
from xr_landcover.postprocess import majority_filter
from xr_landcover.postprocess.majority import ball_half_widths

OTB = shutil.which("otbcli_ClassificationMapRegularization")
needs_otb = pytest.mark.skipif(
    OTB is None, reason="otbcli_ClassificationMapRegularization not found: install Debian's "
    "otb-bin (`make test` does) to compare with Orfeo ToolBox")

# (ties, undecided, only_isolated, threshold): each OTB option, alone and together
OPTIONS = [("keep", 0, False, 1), ("undecided", 9, False, 1), ("undecided", 0, False, 1),
           ("keep", 0, True, 1), ("keep", 0, True, 3), ("undecided", 7, True, 2)]


def brute_force(a, radius, nodata, keep_ties=True, undecided=0, only_isolated=False,
                threshold=1):
    """OTB's rule, written out pixel by pixel (ball ``dy² + dx² <= (r + 1/2)²``, no votes
    from fill pixels nor from beyond the image)."""
    h, w = a.shape
    out = a.copy()
    for i in range(h):
        for j in range(w):
            if a[i, j] == nodata:
                continue
            votes = Counter()
            for dy in range(-radius, radius + 1):
                for dx in range(-radius, radius + 1):
                    y, x = i + dy, j + dx
                    if (dy * dy + dx * dx <= (radius + 0.5) ** 2 and 0 <= y < h and 0 <= x < w
                            and a[y, x] != nodata):
                        votes[a[y, x]] += 1
            if only_isolated and votes[a[i, j]] > threshold:
                continue
            top = votes.most_common(2)
            if len(top) > 1 and top[0][1] == top[1][1]:
                out[i, j] = a[i, j] if keep_ties else undecided
            else:
                out[i, j] = top[0][0]
    return out


def speckled(seed, shape=(37, 41), nclass=4, fill_fraction=0.15, dtype="uint8"):
    """A random class map 1..nclass with fill (0) pixels: many ties at radius 1."""
    rng = np.random.default_rng(seed)
    a = rng.integers(1, nclass + 1, shape).astype(dtype)
    a[rng.random(shape) < fill_fraction] = 0
    return a


def test_ball_is_itks_binary_ball():
    assert ball_half_widths(1).tolist() == [1, 1, 1]  # the 3 x 3 box
    assert sum(2 * w + 1 for w in ball_half_widths(2)) == 21
    assert sum(2 * w + 1 for w in ball_half_widths(3)) == 37


@needs_otb
@pytest.mark.parametrize("radius", [1, 2, 3])
@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: "-".join(map(str, o)))
def test_identical_to_otb(tmp_path, radius, option):
    ties, undecided, only_isolated, threshold = option
    for seed in range(2):
        a = speckled(100 * radius + seed, nclass=2 + seed * 3)
        expected = run_otb_regularization(
            a, tmp_path, radius=radius, suvbool=ties == "undecided", nodatalabel=0,
            undecidedlabel=undecided, onlyisolatedpixels=only_isolated,
            isolatedthreshold=threshold)
        classes = synthetic_class_map(a, chunks={"y": 9, "x": 13})
        got = majority_filter(classes, radius=radius, ties=ties, undecided_value=undecided,
                              only_isolated=only_isolated, isolated_threshold=threshold)
        np.testing.assert_array_equal(got.values, expected)


@needs_otb
def test_identical_to_otb_other_fill_and_many_classes(tmp_path):
    # fill 255, classes 0..2 (0 is a class here), and a uint16 map with hundreds of labels
    rng = np.random.default_rng(7)
    a = rng.integers(0, 3, (30, 33)).astype("uint8")
    a[rng.random(a.shape) < 0.3] = 255
    expected = run_otb_regularization(a, tmp_path, radius=2, nodatalabel=255)
    got = majority_filter(synthetic_class_map(a, nodata=255, chunks=8), radius=2)
    np.testing.assert_array_equal(got.values, expected)
    b = rng.integers(1, 400, (30, 30)).astype("uint16")
    b[:15] //= 100  # few labels above, hundreds below: both ways of counting
    expected = run_otb_regularization(b, tmp_path, radius=3, nodatalabel=0)
    got = majority_filter(synthetic_class_map(b, chunks={"y": 11, "x": 7}), radius=3)
    np.testing.assert_array_equal(got.values, expected)


@pytest.mark.parametrize("radius", [1, 2, 3])
@pytest.mark.parametrize("option", OPTIONS[:4], ids=lambda o: "-".join(map(str, o)))
def test_equals_the_rule_written_out(radius, option):
    ties, undecided, only_isolated, threshold = option
    a = speckled(radius, shape=(23, 19))
    got = majority_filter(synthetic_class_map(a), radius=radius, ties=ties,
                          undecided_value=undecided, only_isolated=only_isolated,
                          isolated_threshold=threshold)
    expected = brute_force(a, radius, 0, ties == "keep", undecided, only_isolated, threshold)
    np.testing.assert_array_equal(got.values, expected)


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), radius=st.integers(1, 4),
       cy=st.integers(2, 12), cx=st.integers(2, 12), ties=st.sampled_from(["keep", "undecided"]))
def test_any_chunking_gives_the_same_map(seed, radius, cy, cx, ties):
    a = speckled(seed, shape=(29, 31))
    whole = majority_filter(synthetic_class_map(a), radius=radius, ties=ties,
                            undecided_value=5).values
    chunked = majority_filter(synthetic_class_map(a, chunks={"y": cy, "x": cx}), radius=radius,
                              ties=ties, undecided_value=5)
    assert chunked.chunks is not None
    np.testing.assert_array_equal(chunked.values, whole)


def test_lazy_and_keeps_the_map(no_compute):
    classes = synthetic_class_map(speckled(3, shape=(40, 40)), chunks=16,
                                  colors=[(1, 2, 3), (4, 5, 6), (7, 8, 9), (9, 9, 9)])
    out = classes.landcover.majority_filter(radius=2)
    assert no_compute.calls == 0
    assert out.dtype == classes.dtype and out.dims == ("y", "x")
    assert out.attrs == classes.attrs and out.rio.crs == classes.rio.crs


def test_undecided_label_becomes_a_class():
    a = np.array([[1, 2], [2, 1]], "uint8")  # every pixel sees two of each: ties
    out = majority_filter(synthetic_class_map(a), ties="undecided", undecided_value=9)
    assert 9 in out.values
    assert list(out.attrs["flag_values"]) == [1, 2, 9]
    assert out.attrs["class_names"][-1] == "undecided"
    # the fill as undecided label: those pixels become nodata, no new class
    out = majority_filter(synthetic_class_map(a), ties="undecided", undecided_value=0)
    assert list(out.attrs["flag_values"]) == [1, 2]


def test_fill_pixels_never_change_nor_vote():
    a = np.zeros((5, 5), "uint8")
    a[2, 2] = 3
    a[0, 0] = 1
    out = majority_filter(synthetic_class_map(a), radius=2).values
    np.testing.assert_array_equal(out, a)  # alone among fill pixels: kept


@pytest.mark.parametrize("kwargs, error, words", [
    ({"radius": 0}, InvalidParameterError, "radius"),
    ({"radius": 1.5}, InvalidParameterError, "radius"),
    ({"radius": "2"}, InvalidInputTypeError, "radius"),
    ({"ties": "random"}, InvalidParameterError, "ties"),
    ({"ties": "undecided", "undecided_value": 300}, InvalidParameterError, "undecided_value"),
    ({"isolated_threshold": -1}, InvalidParameterError, "isolated_threshold"),
    ({"only_isolated": "yes"}, InvalidInputTypeError, "only_isolated"),
])
def test_bad_parameters_are_named(kwargs, error, words):
    with pytest.raises(error, match=words):
        majority_filter(synthetic_class_map(speckled(0, (5, 5))), **kwargs)


def test_float_map_is_refused():
    classes = synthetic_class_map(speckled(0, (5, 5)).astype("float32"))
    with pytest.raises(InvalidInputTypeError, match="integer class map"):
        majority_filter(classes)


def test_cli_majority_writes_otbs_result(tmp_path, capsys):
    from xr_landcover import cli, open_classmap, to_geotiff

    a = speckled(11, shape=(40, 50))
    src = to_geotiff(synthetic_class_map(a, colors=[(9, 9, 9)] * 4), tmp_path / "map.tif")
    out = tmp_path / "smooth.tif"
    assert cli.main(["majority", str(src), "-o", str(out), "--radius", "2", "--ties",
                     "undecided", "--undecided-value", "0", "--chunks", "16", "-q"]) == 0
    got = open_classmap(out)
    expected = majority_filter(synthetic_class_map(a), radius=2, ties="undecided").values
    np.testing.assert_array_equal(got.values, expected)
    assert ClassMap.from_dataarray(got).colormap[1] == (9, 9, 9)
    if OTB:
        np.testing.assert_array_equal(
            got.values, run_otb_regularization(a, tmp_path, radius=2, suvbool=True))
    # the output exists: refused without --overwrite, untouched; never the input itself
    before = out.read_bytes()
    assert cli.main(["majority", str(src), "-o", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err and out.read_bytes() == before
    assert cli.main(["majority", str(src), "-o", str(src), "--overwrite"]) == 2
    assert "is the input map" in capsys.readouterr().err
    assert cli.main(["majority", str(src), "-o", str(out), "--overwrite", "-q"]) == 0


def test_cli_majority_arcgis_rules_equal_the_library(tmp_path):
    from xr_landcover import cli, open_classmap, to_geotiff

    a = speckled(12, shape=(30, 40))
    src = to_geotiff(synthetic_class_map(a), tmp_path / "map.tif")
    for neighbors, threshold in [("eight", "half"), ("four", None), (None, "half")]:
        out = tmp_path / f"arcgis_{neighbors}_{threshold}.tif"
        flags = (["--neighbors", neighbors] if neighbors else []) + (
            ["--threshold", threshold] if threshold else [])
        assert cli.main(["-q", "majority", str(src), "-o", str(out), *flags]) == 0
        expected = majority_filter(synthetic_class_map(a), neighbors=neighbors,
                                   threshold=threshold).values
        np.testing.assert_array_equal(open_classmap(out).values, expected)
    assert not np.array_equal(
        open_classmap(tmp_path / "arcgis_eight_half.tif").values,
        majority_filter(synthetic_class_map(a)).values)  # not OTB's rule


# -- ArcGIS's Majority Filter rules (neighbors=, threshold=) ---------------------------------

def arcgis_rule(a, nodata, eight, half, keep_ties=True, undecided=0):
    """ArcGIS's Majority Filter as its tool reference words it, pixel by pixel: the neighbours'
    groups of one class, connected as Esri defines contiguous (eight neighbours: sharing an edge;
    four: sharing a corner), found by a flood fill over the cells' positions."""
    h, w = a.shape
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
               if (dy, dx) != (0, 0) and (eight or dy * dx == 0)]

    def contiguous(p, q):
        ady, adx = abs(p[0] - q[0]), abs(p[1] - q[1])
        return ady + adx == 1 if eight else ady == 1 and adx == 1

    out = a.copy()
    for i in range(h):
        for j in range(w):
            c = a[i, j]
            if c == nodata:
                continue
            cells = [(i + dy, j + dx) for dy, dx in offsets if 0 <= i + dy < h and 0 <= j + dx < w]
            interior = len(cells) == len(offsets)
            groups, seen = [], set()
            for cell in cells:
                if cell in seen or a[cell] == nodata:
                    continue
                group, todo = [], [cell]
                seen.add(cell)
                while todo:
                    p = todo.pop()
                    group.append(p)
                    for q in cells:
                        if q not in seen and a[q] == a[cell] and contiguous(p, q):
                            seen.add(q)
                            todo.append(q)
                groups.append(group)
            winners = set()
            for group in groups:
                if interior:
                    ok = len(group) >= len(offsets) // 2 + (0 if half else 1)
                elif not eight:
                    ok = len(group) >= 2
                else:  # three, one of them on the image edge the pixel lies on
                    along = any((y == i and i in (0, h - 1)) or (x == j and j in (0, w - 1))
                                for y, x in group)
                    ok = len(group) >= 3 and along
                if ok:
                    winners.add(a[group[0]])
            if not winners or c in winners:
                continue
            if half and interior and 2 * sum(a[q] == c for q in cells) == len(offsets):
                continue  # the pixel's class is one of two equal halves
            if len(winners) == 1:
                out[i, j] = winners.pop()
            elif not keep_ties:
                out[i, j] = undecided
    return out


ARCGIS = [("four", "majority"), ("four", "half"), ("eight", "majority"), ("eight", "half")]


def arc(a, neighbors, threshold, **kwargs):
    return majority_filter(synthetic_class_map(a), neighbors=neighbors, threshold=threshold,
                           **kwargs).values


def test_arcgis_four_keeps_rectangle_corners_eight_smooths_them():
    a = np.ones((8, 8), "uint8")
    a[2:6, 2:6] = 2
    assert (arc(a, "four", "majority") == a).all()  # a corner sees 2 of 4: kept
    eight = arc(a, "eight", "majority")
    assert eight[2, 2] == eight[5, 5] == 1 and eight[2, 3] == 2  # 5 contiguous 1s around
    assert (eight[3:5, 3:5] == 2).all()


def test_arcgis_majority_needs_contiguous_neighbours():
    # the centre 1 has five 2s among its eight neighbours, but as 3 + 2 apart: no replacement
    a = np.array([[2, 2, 2],
                  [1, 1, 1],
                  [1, 2, 2]], "uint8")
    big = np.ones((5, 5), "uint8")
    big[1:4, 1:4] = a
    assert arc(big, "eight", "majority")[2, 2] == 1
    big[2, 3] = 2  # now six contiguous: NW N NE E SE S
    assert arc(big, "eight", "majority")[2, 2] == 2


def test_arcgis_half_keeps_a_pixel_that_is_one_of_two_halves():
    big = np.ones((5, 5), "uint8")
    big[1, 1:4] = 2
    big[2, 3] = 2  # NW N NE E: four contiguous 2s, and four 1s: the 1 centre is a half
    assert arc(big, "eight", "half")[2, 2] == 1
    big[3, 1] = 3  # now the 1s hold three: the 2s' half wins
    assert arc(big, "eight", "half")[2, 2] == 2
    assert arc(big, "eight", "majority")[2, 2] == 1


def test_arcgis_two_halves_of_other_classes_follow_ties():
    big = np.full((5, 5), 4, "uint8")
    big[1, 1:4] = 2
    big[2, 3] = 2  # NW N NE E
    big[3, 1:4] = 3
    big[2, 1] = 3  # SE S SW W
    big[2, 2] = 1
    assert arc(big, "eight", "half")[2, 2] == 1
    assert arc(big, "eight", "half", ties="undecided", undecided_value=9)[2, 2] == 9


def test_arcgis_edge_and_corner_rules():
    a = np.array([[1, 1, 2, 1],
                  [2, 2, 2, 2],
                  [2, 2, 2, 2]], "uint8")
    four = arc(a, "four", "majority")
    assert four[0, 0] == 1  # corner: E is 1, S is 2: not two matching
    assert four[0, 2] == 2  # edge 2: W 1, E 1 are not contiguous, S 2
    assert four[0, 3] == 2  # corner: W 2 and S 2, contiguous
    eight = arc(a, "eight", "majority")
    assert eight[0, 0] == 1  # corner: not all three neighbours the same
    assert eight[0, 1] == 2  # edge: W 1 | SW S SE E are 2 2 2 2, E along the edge
    b = np.array([[2, 1, 2],
                  [1, 1, 1]], "uint8")
    assert arc(b, "eight", "majority")[0, 1] == 1  # SW S SE and both along the edge 2: kept
    c = np.array([[1, 1, 2],
                  [2, 2, 2]], "uint8")
    assert arc(c, "eight", "majority")[0, 1] == 2  # SW S SE E: 4 contiguous, E on the edge
    d = np.array([[1, 1, 1],
                  [2, 2, 2]], "uint8")
    assert arc(d, "eight", "majority")[0, 1] == 1  # SW S SE: three, none along the edge


@pytest.mark.parametrize("neighbors, threshold", ARCGIS)
def test_arcgis_equals_the_rule_written_out(neighbors, threshold):
    for seed in range(3):
        a = speckled(seed, shape=(23, 19), nclass=2 + seed)
        for ties in TIES_ARGS:
            expected = arcgis_rule(a, 0, neighbors == "eight", threshold == "half",
                                   ties["ties"] == "keep", ties.get("undecided_value", 0))
            np.testing.assert_array_equal(arc(a, neighbors, threshold, **ties), expected)


TIES_ARGS = [{"ties": "keep"}, {"ties": "undecided", "undecided_value": 7}]


@given(seed=st.integers(0, 10_000), ny=st.integers(1, 9), nx=st.integers(1, 9),
       nclass=st.integers(1, 4), rule=st.sampled_from(ARCGIS), keep=st.booleans())
def test_arcgis_rule_on_any_small_map(seed, ny, nx, nclass, rule, keep):
    a = speckled(seed, shape=(ny, nx), nclass=nclass, fill_fraction=0.1)
    expected = arcgis_rule(a, 0, rule[0] == "eight", rule[1] == "half", keep, 7)
    got = arc(a, *rule, ties="keep" if keep else "undecided", undecided_value=7)
    np.testing.assert_array_equal(got, expected)


@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), cy=st.integers(1, 12), cx=st.integers(1, 12),
       rule=st.sampled_from(ARCGIS))
def test_arcgis_any_chunking_gives_the_same_map(seed, cy, cx, rule):
    a = speckled(seed, shape=(29, 31), nclass=3)
    whole = arc(a, *rule, ties="undecided", undecided_value=5)
    chunked = majority_filter(synthetic_class_map(a, chunks={"y": cy, "x": cx}),
                              neighbors=rule[0], threshold=rule[1], ties="undecided",
                              undecided_value=5)
    assert chunked.chunks is not None
    np.testing.assert_array_equal(chunked.values, whole)


def test_arcgis_lazy_through_the_accessor(no_compute):
    classes = synthetic_class_map(speckled(3, shape=(40, 40)), chunks=16)
    out = classes.landcover.majority_filter(neighbors="eight", threshold="half")
    assert no_compute.calls == 0 and out.attrs == classes.attrs
    no_compute.forbid = False
    np.testing.assert_array_equal(out.values, arcgis_rule(classes.values, 0, True, True))


@pytest.mark.parametrize("kwargs, error, words", [
    ({"neighbors": "six"}, InvalidParameterError, "neighbors"),
    ({"threshold": "most"}, InvalidParameterError, "threshold"),
    ({"neighbors": "four", "radius": 2}, InvalidParameterError, "radius=2"),
    ({"threshold": "half", "only_isolated": True}, InvalidParameterError, "only_isolated"),
])
def test_arcgis_bad_parameters_are_named(kwargs, error, words):
    with pytest.raises(error, match=words):
        majority_filter(synthetic_class_map(speckled(0, (5, 5))), **kwargs)
