"""Segmentation quality (Hoover et al. 1996 instances, boundary precision/recall), checked
against Orfeo ToolBox's otbcli_HooverCompareSegmentation on the same label images."""

from __future__ import annotations

import re
import shutil
import subprocess

import dask.array as dsa
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr
from conftest import write_raster
from pivots import make_pivot_scene

from xr_landcover.assessment.segmentation_quality import boundary_scores, hoover_scores
from xr_landcover.errors import DimensionError, InvalidInputTypeError, InvalidParameterError

OTB_HOOVER = shutil.which("otbcli_HooverCompareSegmentation")
# OTB's colours of the region states: correct, over, under, missed (reference only); white none
COLOURS = {(0, 255, 0): 0, (255, 0, 255): 1, (0, 255, 255): 2, (255, 0, 0): 3,
           (255, 255, 255): -1}


def reference_of(scene) -> np.ndarray:
    ref = np.zeros(scene.image.shape[1:], np.uint32)
    for i, mask in enumerate(scene.masks):
        ref[mask] = i + 1
    return ref


def constructed_pair():
    """A reference of 2 x 3 fields on a background and a segmentation with every instance:
    field 1 found, 2 cut in two, 3 and 4 in one segment, 5 missed (in the background's
    segment), 6 found and also over-segmented (a small segment inside it), a segment on the
    reference's gap only (taking no part) and a noise segment."""
    ref = np.zeros((60, 90), np.uint32)
    seg = np.full((60, 90), 10, np.uint32)  # one big background segment
    for k, (r, c) in enumerate([(5, 5), (5, 35), (5, 65), (35, 5), (35, 35), (35, 65)]):
        ref[r:r + 20, c:c + 20] = k + 1
    seg[5:25, 5:25] = 1                                   # correct (exact)
    seg[2:25, 35:45], seg[5:25, 45:55] = 2, 3             # over: two halves
    seg[5:25, 65:85], seg[35:55, 5:25] = 4, 4             # under: 3 and 4 in one segment
    seg[35:55, 65:85] = 6                                 # correct ...
    seg[40:44, 70:74] = 7                                 # ... with a small segment inside
    seg[30:33, 30:60] = 8                                 # a segment over the reference's gap
    seg[34:37, 34:56] = 9                                 # mostly outside field 5: noise
    return ref, seg


def run_otb(ref, seg, folder, threshold):
    gt = write_raster(folder / "gt.tif", ref[None], crs=None)
    ms = write_raster(folder / "ms.tif", seg[None], crs=None)
    cmd = [OTB_HOOVER, "-ingt", str(gt), "-inms", str(ms), "-th", str(threshold), "-bg", "0",
           "-outgt", str(folder / "gt_states.tif"), "uint8",
           "-outms", str(folder / "ms_states.tif"), "uint8"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    scores = {k: float(v) for k, v in re.findall(r"^(r[cfam]): (\S+)$", done.stdout, re.M)}
    with rasterio.open(folder / "gt_states.tif") as src:
        gt_rgb = src.read()
    with rasterio.open(folder / "ms_states.tif") as src:
        ms_rgb = src.read()
    return scores, gt_rgb, ms_rgb


def state_of_each_region(labels, table, rgb, columns):
    """Our state of each region (OTB's colour rule: the largest score, first on ties, if
    above 0.01) and OTB's colour at the region's first pixel."""
    flat = labels.ravel()
    ours, theirs = [], []
    for row in table.itertuples():
        scores = np.array([getattr(row, c) for c in columns], np.float32)
        best = int(np.argmax(scores))
        ours.append(best if scores[best] > 0.01 else -1)
        p = int(np.flatnonzero(flat == row.label)[0])
        theirs.append(COLOURS[tuple(int(v) for v in rgb[:, p // labels.shape[1],
                                                       p % labels.shape[1]])])
    return ours, theirs


def test_constructed_instances_are_those_of_the_paper():
    ref, seg = constructed_pair()
    s = hoover_scores(ref, seg)
    # correct: fields 1 and 6; over: 2, and 6 (its small inner segment and the rest);
    # under: segment 4; missed: field 5; noise: segment 9 and the background's segment 10,
    # which overlap field 5 without an instance; segment 8 overlaps no field: no part
    assert (s.correct, s.over, s.under, s.missed, s.noise) == (2, 2, 1, 1, 2)
    assert s.reference_regions == 6 and s.segments == 8
    table = s.reference_table.set_index("label")
    assert table.loc[1, "rc"] == 1.0 and table.loc[5, "rm"] == 1.0
    assert table.loc[3, "ra"] > 0 and table.loc[4, "ra"] > 0 and table.loc[2, "rf"] > 0
    assert table.loc[6, "rc"] == np.float32(384 / 400) and table.loc[6, "rf"] > 0
    segs = s.segment_table.set_index("label")
    assert segs.loc[[9, 10], "rn"].tolist() == [1.0, 1.0] and not segs.loc[8, "overlaps"]
    # every pixel counted once: the areas of the instances add up
    assert s.rm == pytest.approx(400 / 2400, rel=1e-6)
    # a stricter overlap: segment 2 has 200 of its 230 pixels (0.87) in field 2
    assert hoover_scores(ref, seg, threshold=0.85).over == 2
    assert hoover_scores(ref, seg, threshold=0.9).over == 1


@pytest.mark.skipif(OTB_HOOVER is None, reason="needs Orfeo ToolBox (otb-bin)")
@pytest.mark.parametrize("case", ["constructed", "felzenszwalb", "slic"])
@pytest.mark.parametrize("threshold", [0.8, 0.6])
def test_scores_and_region_states_equal_otbs(case, threshold, tmp_path):
    if case == "constructed":
        ref, seg = constructed_pair()
    else:
        from skimage.segmentation import felzenszwalb, slic

        scene = make_pivot_scene(5, size=160)
        ref = reference_of(scene)
        img = np.moveaxis(scene.image, 0, -1)
        seg = (felzenszwalb(img, scale=60, sigma=0.5, min_size=15) if case == "felzenszwalb"
               else slic(img, n_segments=150, compactness=10, start_label=0))
        seg = (seg + 1).astype(np.uint32)
        seg[:8, :] = 0  # some segmentation nodata too
    scores, gt_rgb, ms_rgb = run_otb(ref, seg, tmp_path, threshold)
    ours = hoover_scores(ref, seg, threshold=threshold)
    for key in ("rc", "rf", "ra", "rm"):
        assert getattr(ours, key) == pytest.approx(scores[key], rel=1e-6, abs=1e-9), key
    mine, otb = state_of_each_region(ref, ours.reference_table, gt_rgb, ["rc", "rf", "ra", "rm"])
    assert mine == otb
    mine, otb = state_of_each_region(seg, ours.segment_table, ms_rgb, ["rc", "rf", "ra"])
    assert mine == otb
    if case != "constructed":  # the scene has instances of several kinds
        assert ours.correct > 0 and ours.over + ours.under + ours.missed > 0


def test_dask_and_dataarray_inputs_give_the_same_scores_for_any_chunks():
    ref, seg = constructed_pair()
    seg[::7, ::5] = 11  # many small boundaries near the block edges
    want = hoover_scores(ref, seg)
    want_b = {tol: boundary_scores(ref, seg, tolerance=tol) for tol in (1.5, 2, 3)}
    for chunks in ((7, 11), (30, 90), (60, 13)):
        r = xr.DataArray(dsa.from_array(ref, chunks=chunks), dims=("y", "x"))
        s = xr.DataArray(dsa.from_array(seg, chunks=chunks[::-1]), dims=("y", "x"))
        got = hoover_scores(r, s)
        assert got.as_dict() == want.as_dict()
        pd.testing.assert_frame_equal(got.reference_table, want.reference_table)
        for tol, scores in want_b.items():
            assert boundary_scores(r, s, tolerance=tol) == scores, (chunks, tol)
    # sparse dots: whether a boundary pixel is found depends on pixels up to tolerance + 1 away
    rng = np.random.default_rng(0)
    a, b = (np.where(rng.random((80, 80)) < 0.02, k, 0) for k in (1, 2))
    for tol in (1, 2, 3):
        want = boundary_scores(a, b, tolerance=tol)
        assert 0 < want.precision < 1 and 0 < want.recall < 1
        for chunks in ((9, 9), (16, 5)):
            got = boundary_scores(dsa.from_array(a, chunks=chunks),
                                  dsa.from_array(b, chunks=chunks), tolerance=tol)
            assert got == want, (tol, chunks)


def test_boundary_precision_and_recall_at_a_tolerance():
    ref = np.zeros((10, 10), int)
    ref[:, 5:] = 1  # one vertical boundary: column 4 (its right neighbour differs)
    seg = np.zeros((10, 10), int)
    seg[:, 7:] = 1   # the boundary drawn 2 px off: column 6
    seg[9, :2] = 2   # and a small segment in a corner: (8, 0), (8, 1), (9, 1), 3 to 4 px off
    for tol, precision, recall in ((0, 0.0, 0.0), (1, 0.0, 0.0), (2, 10 / 13, 1.0),
                                   (3, 12 / 13, 1.0), (4.5, 1.0, 1.0)):
        s = boundary_scores(ref, seg, tolerance=tol)
        assert s.reference_boundary_pixels == 10 and s.segment_boundary_pixels == 13
        assert (s.precision, s.recall) == (precision, recall), tol
    s = boundary_scores(ref, ref, tolerance=0)
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)


def test_bad_inputs_are_named():
    ref, seg = constructed_pair()
    with pytest.raises(InvalidParameterError, match="threshold"):
        hoover_scores(ref, seg, threshold=0.5)
    with pytest.raises(InvalidInputTypeError, match="segments must hold integer labels"):
        hoover_scores(ref, seg.astype(float))
    with pytest.raises(DimensionError, match="same shape"):
        boundary_scores(ref, seg[:-1])
    with pytest.raises(InvalidParameterError, match="tolerance"):
        boundary_scores(ref, seg, tolerance=-1)
    a = xr.DataArray(ref, dims=("y", "x"), coords={"y": np.arange(60), "x": np.arange(90)})
    with pytest.raises(InvalidParameterError, match="different grids"):
        hoover_scores(a, a.assign_coords(x=a.x + 1.0))
