"""segment_attributes: equal to a plain numpy computation, and the same under any chunking."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from conftest import grid_coords, synthetic_cube
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xr_landcover import GridMismatchError, segment_attributes
from xr_landcover.errors import DimensionError, InvalidInputTypeError

ORIGIN_X, ORIGIN_Y, RES = 300000.0, 5000000.0, 10.0


def make_pair(values, ids, chunks=None, nodata=None):
    """A cube ``(band, y, x)`` and a segment map on the same georeferenced grid."""
    grid = {"origin": (ORIGIN_X, ORIGIN_Y), "res": RES, "crs": "EPSG:32617"}
    cube = synthetic_cube(values, nodata=nodata, **grid)
    seg = xr.DataArray(ids, dims=("y", "x"), coords=grid_coords(*ids.shape, grid["origin"], RES))
    seg = seg.rio.write_crs(grid["crs"]).rio.write_transform(cube.rio.transform())
    if chunks is not None:
        cube = cube.chunk({"y": chunks[0], "x": chunks[1]})
        seg = seg.chunk({"y": chunks[0], "x": chunks[1]})
    return cube, seg


def random_segments(rng, ny, nx, n_seeds=12, holes=True):
    """Irregular, sometimes disconnected segments (Voronoi cells of random seeds, some cells
    sharing an id), with a few nodata (0) pixels."""
    sy, sx = rng.integers(0, ny, n_seeds), rng.integers(0, nx, n_seeds)
    yy, xx = np.mgrid[0:ny, 0:nx]
    d = (yy[..., None] - sy) ** 2 + (xx[..., None] - sx) ** 2 * 0.7
    cell = np.argmin(d, axis=-1)
    ids = rng.permutation(np.arange(1, n_seeds + 1) * 37)[cell % (n_seeds - 2)]
    if holes:
        ids[rng.random((ny, nx)) < 0.03] = 0
    return ids.astype(np.int64)


def reference(values, ids, nodata=None):
    """Attributes computed the obvious way, one segment at a time."""
    ny, nx = ids.shape
    padded = np.pad(ids, 1, constant_values=0)
    rows = {}
    for sid in np.unique(ids[ids > 0]):
        mask = ids == sid
        r, c = np.nonzero(mask)
        pm = np.pad(mask, 1)
        inner = pm[1:-1, 1:-1]
        perim = sum(int(np.sum(inner & ~np.roll(pm, s, axis=a)[1:-1, 1:-1]))
                    for a, s in ((0, 1), (0, -1), (1, 1), (1, -1)))
        n = mask.sum()
        box = (r.max() - r.min() + 1) * (c.max() - c.min() + 1)
        row = {"count": n, "perimeter": perim,
               "compactness": 4 * np.pi * n / perim**2, "rectangularity": n / box,
               "centroid_x": ORIGIN_X + RES * (c.mean() + 0.5),
               "centroid_y": ORIGIN_Y - RES * (r.mean() + 0.5)}
        for k in range(values.shape[0]):
            v = values[k][mask].astype(np.float64)
            v = v[np.isfinite(v) & ((v != nodata) if nodata is not None else True)]
            row[f"mean_b{k}"] = v.mean() if v.size else np.nan
            row[f"std_b{k}"] = v.std() if v.size else np.nan
        rows[int(sid)] = row
    assert padded.shape == (ny + 2, nx + 2)
    return rows


def assert_frames_close(a, b, rtol=1e-9):
    assert list(a.index) == list(b.index)
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        x, y = a[col].to_numpy(np.float64), b[col].to_numpy(np.float64)
        scale = np.nanmax(np.abs(y)) if np.isfinite(y).any() else 1.0
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * scale, equal_nan=True,
                                   err_msg=col)


def test_equals_plain_numpy_on_a_small_image():
    rng = np.random.default_rng(0)
    ids = random_segments(rng, 23, 31)
    values = rng.normal(1000.0, 30.0, (3, 23, 31))
    values[1, 4, 5] = np.nan  # left out of band 1 only
    cube, seg = make_pair(values, ids, chunks=(7, 9))
    got = segment_attributes(cube, seg)
    ref = reference(values, ids)
    assert sorted(ref) == list(got.index)
    assert list(got.columns) == ["count", "perimeter", "compactness", "rectangularity",
                                 "centroid_x", "centroid_y", "mean_b0", "mean_b1", "mean_b2",
                                 "std_b0", "std_b1", "std_b2"]
    for sid, row in ref.items():
        for col, value in row.items():
            np.testing.assert_allclose(got.loc[sid, col], value, rtol=1e-9, err_msg=col)
    assert got["count"].dtype == np.int64 and got["perimeter"].dtype == np.int64


def test_shapes_with_known_values():
    ids = np.zeros((12, 12), dtype=np.int64)
    ids[1:5, 1:5] = 1  # 4 x 4 square
    ids[6:8, 0:10] = 2  # 2 x 10 bar
    ids[9:12, 2:5] = 3  # L shape: a 3 x 3 block less a corner
    ids[9, 4] = 0
    values = np.ones((1, 12, 12))
    got = segment_attributes(*make_pair(values, ids, chunks=(5, 5)))
    assert got.loc[1, "perimeter"] == 16 and got.loc[1, "rectangularity"] == 1.0
    assert got.loc[1, "compactness"] == pytest.approx(np.pi / 4)
    assert got.loc[2, "perimeter"] == 24
    assert got.loc[2, "compactness"] == pytest.approx(4 * np.pi * 20 / 24**2)
    assert got.loc[3, "count"] == 8 and got.loc[3, "rectangularity"] == pytest.approx(8 / 9)
    assert got.loc[3, "perimeter"] == 12
    # The centroid of the square is the centre of its 4 x 4 pixels, in map coordinates.
    assert got.loc[1, "centroid_x"] == pytest.approx(ORIGIN_X + 3 * RES)
    assert got.loc[1, "centroid_y"] == pytest.approx(ORIGIN_Y - 3 * RES)


def test_disc_compactness_and_rectangularity():
    yy, xx = np.mgrid[0:81, 0:81]
    ids = np.where((yy - 40) ** 2 + (xx - 40) ** 2 <= 35**2, 5, 1).astype(np.int64)
    got = segment_attributes(*make_pair(np.zeros((1, 81, 81)), ids, chunks=(20, 30)))
    # A digitized disc: its pixel-edge outline is ~8r, so compactness ~ pi^2 / 16.
    assert got.loc[5, "compactness"] == pytest.approx(np.pi**2 / 16, rel=0.03)
    assert got.loc[5, "rectangularity"] == pytest.approx(np.pi * 35**2 / 71**2, rel=0.01)


def test_nodata_value_is_left_out_of_means_but_not_of_count():
    values = np.array([[[1.0, 3.0, -9999.0], [5.0, 7.0, 9.0]]])
    ids = np.array([[1, 1, 1], [1, 1, 2]])
    got = segment_attributes(*make_pair(values, ids, nodata=-9999.0))
    assert got.loc[1, "count"] == 5
    assert got.loc[1, "mean_b0"] == pytest.approx(4.0)
    assert got.loc[1, "std_b0"] == pytest.approx(np.std([1, 3, 5, 7]))
    all_nodata = segment_attributes(*make_pair(np.full((1, 2, 3), np.nan), ids))
    assert all_nodata["mean_b0"].isna().all() and all_nodata["count"].tolist() == [5, 1]


def test_large_offset_variance_is_stable():
    # sum(x^2) - n mean^2 would lose every digit here; the pairwise combination does not.
    rng = np.random.default_rng(3)
    values = 1e9 + rng.normal(0.0, 0.5, (1, 40, 40))
    ids = np.ones((40, 40), dtype=np.int64)
    got = segment_attributes(*make_pair(values, ids, chunks=(7, 11)))
    assert got.loc[1, "std_b0"] == pytest.approx(values.std(), rel=1e-6)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), cy=st.integers(5, 29), cx=st.integers(5, 37),
       cy2=st.integers(5, 29), cx2=st.integers(5, 37))
def test_chunking_does_not_change_the_attributes(seed, cy, cx, cy2, cx2):
    """Chunk invariance only (equal to the unchunked run); the values themselves are checked
    against plain numpy in test_equals_plain_numpy_on_a_small_image and known shapes in
    test_shapes_with_known_values."""
    rng = np.random.default_rng(seed)
    ids = random_segments(rng, 29, 37, n_seeds=int(rng.integers(3, 15)))
    values = rng.normal(500.0, 80.0, (2, 29, 37)).astype(np.float32)
    values[0][rng.random((29, 37)) < 0.05] = np.nan
    whole = segment_attributes(*make_pair(values, ids))
    for chunks in ((cy, cx), (cy2, cx2)):
        got = segment_attributes(*make_pair(values, ids, chunks=chunks))
        assert_frames_close(got, whole)
        # The shape attributes are integers combined exactly.
        assert (got["count"] == whole["count"]).all()
        assert (got["perimeter"] == whole["perimeter"]).all()
        assert (got["rectangularity"] == whole["rectangularity"]).all()


def test_one_pixel_chunks():
    # Every outline edge then lies on a chunk border.
    rng = np.random.default_rng(9)
    ids = random_segments(rng, 9, 11, n_seeds=5)
    values = rng.normal(0, 1, (1, 9, 11))
    whole = segment_attributes(*make_pair(values, ids))
    assert_frames_close(segment_attributes(*make_pair(values, ids, chunks=(1, 1))), whole)
    assert_frames_close(segment_attributes(*make_pair(values, ids, chunks=(1, 11))), whole)


def test_segments_chunked_differently_from_the_cube():
    rng = np.random.default_rng(5)
    ids = random_segments(rng, 30, 30)
    values = rng.normal(0, 1, (2, 30, 30))
    cube, seg = make_pair(values, ids)
    got = segment_attributes(cube.chunk({"y": 8, "x": 13}), seg.chunk({"y": 11, "x": 6}))
    assert_frames_close(got, segment_attributes(cube, seg))


def test_band_selection_and_laziness(no_compute):
    from xr_landcover.segment.attributes import attribute_table

    rng = np.random.default_rng(1)
    ids = random_segments(rng, 20, 20)
    cube, seg = make_pair(rng.normal(0, 1, (3, 20, 20)), ids, chunks=(10, 10))
    attribute_table(cube, seg, bands=["b2", 0])  # builds the graph only
    assert no_compute.calls == 0


def test_band_selection():
    rng = np.random.default_rng(1)
    ids = random_segments(rng, 20, 20)
    cube, seg = make_pair(rng.normal(0, 1, (3, 20, 20)), ids, chunks=(10, 10))
    got = segment_attributes(cube, seg, bands=["b2", 0])
    assert [c for c in got.columns if c.startswith("mean_")] == ["mean_b2", "mean_b0"]
    full = segment_attributes(cube, seg)
    np.testing.assert_allclose(got["std_b2"], full["std_b2"], rtol=1e-12)


def test_grid_mismatches_are_refused():
    rng = np.random.default_rng(2)
    ids = random_segments(rng, 20, 20)
    cube, seg = make_pair(rng.normal(0, 1, (1, 20, 20)), ids)
    with pytest.raises(GridMismatchError, match="not on the same grid"):
        segment_attributes(cube, seg.isel(y=slice(0, 19)))
    with pytest.raises(GridMismatchError, match="CRS"):
        segment_attributes(cube, seg.rio.write_crs("EPSG:32618"))
    shifted = seg.assign_coords(x=seg.x + 5.0)
    with pytest.raises(GridMismatchError, match="reproject_match"):
        segment_attributes(cube, shifted)
    with pytest.raises(InvalidInputTypeError, match="integer"):
        segment_attributes(cube, seg.astype("float32"))
    with pytest.raises(DimensionError):
        segment_attributes(cube.expand_dims(time=2), seg)
