"""Tests of xr_landcover.assessment on class maps: accuracy() against scikit-learn on points,
polygons and rasters, what is read, area estimates from the map (sits), accuracy_points.
(The report alone, numpy and pandas only, is tested in test_report.py.)"""

from __future__ import annotations

import importlib
import warnings
from pathlib import Path

import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio.features
import xarray as xr
from conftest import synthetic_class_map
from helpers import assert_matches_sklearn
from shapely.geometry import Polygon, box

from xr_landcover import datasets
from xr_landcover.assessment import accuracy, accuracy_points
from xr_landcover.errors import (
    DimensionError,
    InvalidInputTypeError,
    InvalidParameterError,
    MissingCRSError,
    NoSamplesError,
    RasterFileNotFoundError,
    SamplesError,
)

CRS = "EPSG:32618"
RES = 30.0
X0, Y0 = 500_000.0, 4_000_000.0
NAMES = ["water", "forest", "crops", "urban"]


def make_map(data: np.ndarray, chunks=40, nodata=0, res=RES, crs=CRS, x0=X0, y0=Y0):
    """A class map DataArray following the package's convention (values 1..4, nodata 0)."""
    return synthetic_class_map(
        data, values=[1, 2, 3, 4], names=NAMES, nodata=nodata, origin=(x0, y0), res=res,
        crs=crs, chunks=chunks or None,
        colors=[(0, 0, 255), (0, 128, 0), (255, 255, 0), (255, 0, 0)])


@pytest.fixture(scope="module")
def map_data() -> np.ndarray:
    """120 x 100 px, four classes in blocks with noise, a nodata corner."""
    rng = np.random.default_rng(42)
    yy, xx = np.mgrid[0:120, 0:100]
    data = (1 + (yy // 30) % 4).astype("uint8")
    flip = rng.random(data.shape) < 0.15
    data[flip] = rng.integers(1, 5, flip.sum())
    data[:20, :25] = 0  # nodata corner
    return data


@pytest.fixture(scope="module")
def class_map(map_data) -> xr.DataArray:
    return make_map(map_data)


def centre(row, col, res=RES, x0=X0, y0=Y0):
    return x0 + (np.asarray(col) + 0.5) * res, y0 - (np.asarray(row) + 0.5) * res


def noisy_reference(values: np.ndarray, rng, p=0.25) -> np.ndarray:
    ref = values.copy()
    flip = rng.random(len(ref)) < p
    ref[flip] = rng.integers(1, 5, flip.sum())
    return ref


# --------------------------------------------------------------------------------------------
# accuracy() against scikit-learn
# --------------------------------------------------------------------------------------------


def test_points_in_another_crs_equal_sklearn(class_map, map_data):
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 120, 400)
    cols = rng.integers(0, 100, 400)
    truth_map = map_data[rows, cols]
    ref = noisy_reference(truth_map, rng)
    x, y = centre(rows, cols)
    pts = gpd.GeoDataFrame({"id": ref}, geometry=gpd.points_from_xy(x, y), crs=CRS)
    pts = pts.to_crs("EPSG:4326")  # the reference is not in the map's CRS
    rep = accuracy(class_map, pts)
    on_data = truth_map != 0
    assert rep.excluded["nodata"] == int((~on_data).sum()) > 0
    assert rep.n_excluded == rep.excluded["nodata"]
    assert rep.class_names == tuple(NAMES)
    assert_matches_sklearn(rep, truth_map[on_data], ref[on_data])
    cm = rep.confusion_matrix
    assert list(cm.index) == [*NAMES, "Total"] and list(cm.columns) == [*NAMES, "Total"]
    assert cm.loc["Total", "Total"] == rep.n_samples
    np.testing.assert_array_equal(cm.loc[NAMES, "Total"], rep.counts.sum(axis=1))


def test_points_outside_and_unlabelled_are_counted(class_map, map_data):
    rows = np.array([30, 40, 50, 60])
    cols = np.array([30, 40, 50, 60])
    x, y = centre(rows, cols)
    x = np.append(x, [X0 - 1000.0, X0 + 50_000.0])  # two points beyond the map
    y = np.append(y, [Y0 - 100.0, Y0 - 100.0])
    ref = np.append(map_data[rows, cols], [1, 2]).astype(float)
    ref[0] = np.nan  # not labelled
    pts = gpd.GeoDataFrame({"Classvalue": ref}, geometry=gpd.points_from_xy(x, y), crs=CRS)
    rep = accuracy(class_map, pts)
    assert rep.excluded == {"outside": 2, "nodata": 0, "unlabelled": 1, "no_pixel_centre": 0}
    assert rep.n_samples == 3 and rep.overall_accuracy == 1.0
    assert "3 samples" in repr(rep) and "2 outside" in repr(rep)


def test_reference_wholly_outside_raises(class_map):
    pts = gpd.GeoDataFrame(
        {"id": [1, 2]}, geometry=gpd.points_from_xy([0.0, 10.0], [45.0, 46.0]), crs="EPSG:4326"
    )
    with pytest.raises(NoSamplesError, match="no reference feature falls inside"):
        accuracy(class_map, pts)


def test_all_on_nodata_raises(class_map):
    x, y = centre(np.array([1, 2]), np.array([1, 2]))
    pts = gpd.GeoDataFrame({"id": [1, 2]}, geometry=gpd.points_from_xy(x, y), crs=CRS)
    with pytest.raises(NoSamplesError, match="nodata"):
        accuracy(class_map, pts)


def test_classes_only_in_reference_get_zero_rows(class_map, map_data):
    rng = np.random.default_rng(3)
    rows = rng.integers(20, 120, 200)
    cols = rng.integers(0, 100, 200)
    m = map_data[rows, cols]
    ref = m.astype(np.int64)
    ref[:30] = 9  # a class the map does not have
    x, y = centre(rows, cols)
    pts = gpd.GeoDataFrame(
        {"id": ref, "label": np.where(ref == 9, "wetland", "x")},
        geometry=gpd.points_from_xy(x, y),
        crs=CRS,
    )
    rep = accuracy(class_map, pts, name_field="label")
    assert rep.class_values == (1, 2, 3, 4, 9)
    assert rep.class_names[-1] == "wetland"
    assert rep.confusion_matrix.loc["wetland", NAMES + ["wetland"]].sum() == 0
    assert rep.confusion_matrix.loc["Total", "wetland"] == 30
    assert rep.producers_accuracy["wetland"] == 0.0
    assert np.isnan(rep.users_accuracy["wetland"])
    assert_matches_sklearn(rep, m, ref)


def test_no_common_class_raises(class_map):
    x, y = centre(np.array([50, 60]), np.array([50, 60]))
    pts = gpd.GeoDataFrame({"id": [11, 12]}, geometry=gpd.points_from_xy(x, y), crs=CRS)
    with pytest.raises(SamplesError, match="no class is common"):
        accuracy(class_map, pts)


def test_class_names_as_reference_values(class_map, map_data):
    rows, cols = np.array([30, 60, 90, 100]), np.array([50, 50, 50, 70])
    x, y = centre(rows, cols)
    names = [NAMES[v - 1] for v in map_data[rows, cols]]
    pts = gpd.GeoDataFrame({"cover": names}, geometry=gpd.points_from_xy(x, y), crs=CRS)
    rep = accuracy(class_map, pts, class_field="cover")
    assert rep.overall_accuracy == 1.0 and rep.n_samples == 4


def test_class_field_detection(class_map):
    x, y = centre(np.array([50]), np.array([50]))
    pts = gpd.GeoDataFrame({"a": [1], "b": [2]}, geometry=gpd.points_from_xy(x, y), crs=CRS)
    with pytest.raises(SamplesError, match=r"integer columns: \['a', 'b'\]"):
        accuracy(class_map, pts)
    assert accuracy(class_map, pts, class_field="a").n_samples == 1
    with pytest.raises(SamplesError, match="not a column"):
        accuracy(class_map, pts, class_field="nope")


def test_reference_without_crs_and_bad_map(class_map, map_data):
    x, y = centre(np.array([50]), np.array([50]))
    pts = gpd.GeoDataFrame({"id": [1]}, geometry=gpd.points_from_xy(x, y))
    with pytest.raises(MissingCRSError, match="the reference has no CRS; set one with"):
        accuracy(class_map, pts)
    no_crs = class_map.drop_vars("spatial_ref")
    assert no_crs.rio.crs is None
    with pytest.raises(MissingCRSError, match=r"the class_map has no CRS; set one with class_map"):
        accuracy(no_crs, pts.set_crs(CRS))  # points in metres would be taken in the map's units
    with pytest.raises(DimensionError, match=r"class_map has \('time', 'y', 'x'\)"):
        accuracy(class_map.expand_dims(time=2), pts.set_crs(CRS))


def test_reference_read_by_the_training_reader_in_the_assessment_words(tmp_path, class_map):
    """Vectors go through classification.samples (read_vector_file, read_samples,
    resolve_class_field); the messages stay the assessment's."""
    x, y = centre(np.array([50, 60]), np.array([50, 60]))
    pts = gpd.GeoDataFrame({"id": [1, 2]}, geometry=gpd.points_from_xy(x, y), crs=CRS)
    lines = pts.set_geometry(pts.buffer(RES).boundary)
    path = tmp_path / "lines.gpkg"
    lines.to_file(path)
    for reference in (lines, path):
        with pytest.raises(SamplesError, match="reference geometries must be points or polygons"):
            accuracy(class_map, reference)
    with pytest.raises(RasterFileNotFoundError, match="reference file not found"):
        accuracy(class_map, tmp_path / "missing.gpkg")
    with pytest.raises(InvalidInputTypeError, match="a GeoSeries has no class column"):
        accuracy(class_map, pts.geometry)
    with pytest.raises(NoSamplesError, match="the reference holds no feature"):
        accuracy(class_map, pts.iloc[:0])
    with pytest.raises(SamplesError, match="'geometry' is not a column of the reference"):
        accuracy(class_map, pts, class_field="geometry")
    # a line among the unlabelled features is left out with them, as before
    mixed = pd.concat([pts, lines.iloc[:1].assign(id=np.nan)])
    rep = accuracy(class_map, mixed)
    assert rep.n_samples == 2 and rep.excluded["unlabelled"] == 1
    # an empty geometry (a crash of shapely before) is refused as in training
    empty = pts.set_geometry([Polygon(), pts.geometry.iloc[1]], crs=CRS)
    with pytest.raises(SamplesError, match="missing or empty geometries"):
        accuracy(class_map, empty)
    # class_field is looked up as training looks it up: exact, else ignoring case
    assert accuracy(class_map, pts, class_field="ID").n_samples == 2


def test_invalid_reference_polygon_is_repaired_like_training_samples(class_map):
    x0, x1 = X0 + 40 * RES, X0 + 52 * RES
    y0, y1 = Y0 - 40 * RES, Y0 - 52 * RES
    bowtie = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    gdf = gpd.GeoDataFrame({"id": [2]}, geometry=[bowtie], crs=CRS)
    with pytest.warns(UserWarning, match="repaired with shapely.make_valid"):
        rep = accuracy(class_map, gdf)
    repaired = gdf.set_geometry(gdf.make_valid())
    np.testing.assert_array_equal(rep.counts, accuracy(class_map, repaired).counts)
    assert rep.n_samples > 0


def test_polygons_sampled_at_pixel_centres_on_custom_crs(tmp_path):
    """NC scene (custom LCC CRS): an NDVI class map vs the training polygons (EPSG:3358)."""
    cube = datasets.nc_landsat7(chunks=128)
    red, nir = cube.sel(band="red"), cube.sel(band="nir")
    ndvi = (nir - red) / (nir + red)
    classes = xr.where(ndvi.isnull(), 0, np.clip(np.floor((ndvi + 0.2) * 10), 1, 7))
    cmap = classes.astype("uint8").rio.write_crs(cube.rio.crs)
    cmap.attrs = {"_FillValue": 0, "flag_values": list(range(1, 8))}
    polygons = datasets.nc_training_polygons()
    path = tmp_path / "reference.gpkg"
    polygons.to_file(path)
    rep = accuracy(cmap, path)  # class_field "id" found on its own; path read
    # independent check: burn the polygons at pixel centres on the map's grid
    burnt = rasterio.features.rasterize(
        zip(polygons.to_crs(cmap.rio.crs).geometry, polygons["id"]),
        out_shape=cmap.shape,
        transform=cmap.rio.transform(),
        fill=-1,
        all_touched=False,
        dtype="int32",
    )
    values = cmap.values
    covered = burnt >= 0
    valid = covered & (values != 0)
    assert rep.excluded["nodata"] == int((covered & (values == 0)).sum()) > 0
    assert_matches_sklearn(rep, values[valid].astype(int), burnt[valid])


def test_points_and_polygons_mixed(class_map, map_data):
    x, y = centre(np.array([70]), np.array([70]))
    px, py = centre(np.array([100, 103]), np.array([10, 12]))  # a 4 x 3 px rectangle
    poly = box(px[0] - 15, py[1] - 15, px[1] + 15, py[0] + 15)
    tiny = box(X0 + 3 * RES + 1, Y0 - 50 * RES + 1, X0 + 3 * RES + 5, Y0 - 50 * RES + 5)
    far = box(X0 - 900, Y0 - 900, X0 - 600, Y0 - 600)
    gdf = gpd.GeoDataFrame(
        {"id": [int(map_data[70, 70]), 1, 2, 3]},
        geometry=[gpd.points_from_xy(x, y)[0], poly, tiny, far],
        crs=CRS,
    ).to_crs("EPSG:3857")
    rep = accuracy(class_map, gdf)
    assert rep.n_samples == 1 + 4 * 3
    assert rep.excluded == {"outside": 1, "nodata": 0, "unlabelled": 0, "no_pixel_centre": 1}
    m = np.append(map_data[70, 70], map_data[100:104, 10:13].ravel())
    r = np.append(map_data[70, 70], np.ones(12, dtype=int))
    assert_matches_sklearn(rep, m, r)


def test_raster_reference_same_grid_and_other_grid(class_map, map_data):
    rng = np.random.default_rng(5)
    ref = map_data.copy()
    flip = rng.random(ref.shape) < 0.2
    ref[flip] = rng.integers(1, 5, flip.sum())
    ref[100:, 90:] = 255  # nodata in the reference
    ref_da = make_map(ref, chunks=(60, 50), nodata=255)
    rep = accuracy(class_map, ref_da)
    valid = (map_data != 0) & (ref != 255)
    assert_matches_sklearn(rep, map_data[valid], ref[valid])
    # a raster reference has nothing outside, unlabelled or without a pixel centre
    assert rep.excluded == {"outside": 0, "nodata": int(((map_data == 0) & (ref != 255)).sum()),
                            "unlabelled": 0, "no_pixel_centre": 0}
    # the same reference on a larger grid, offset by whole pixels: reprojected (nearest) onto
    # the map's grid, it must give exactly the same matrix
    big = np.full((140, 130), 255, dtype="uint8")
    big[7 : 7 + 120, 11 : 11 + 100] = ref
    big_da = make_map(big, chunks=None, nodata=255, x0=X0 - 11 * RES, y0=Y0 + 7 * RES)
    np.testing.assert_array_equal(accuracy(class_map, big_da).counts, rep.counts)
    # a reference valid only where the map is nodata: no pair to count
    only_on_nodata = np.where(map_data == 0, 1, 255).astype("uint8")
    with pytest.raises(NoSamplesError, match="no valid pixel over a valid pixel of the class map"):
        accuracy(class_map, make_map(only_on_nodata, nodata=255))


# --------------------------------------------------------------------------------------------
# Laziness: only the chunks holding points are read
# --------------------------------------------------------------------------------------------


def tracked_map(data: np.ndarray, chunks: int):
    loads: list[tuple[int, int]] = []

    def load(block, block_info=None):
        loads.append(tuple(block_info[0]["chunk-location"]))
        return block

    arr = da.from_array(data, chunks=chunks).map_blocks(
        load, dtype=data.dtype, meta=np.array((), dtype=data.dtype)
    )
    return make_map(data, chunks=None).copy(data=arr), loads


def test_accuracy_reads_only_chunks_with_points(map_data):
    cmap, loads = tracked_map(map_data, 40)  # 3 x 3 chunks
    # one point of each class, all in chunk (1, 2): rows 40-79, columns 80-99
    window = map_data[40:80, 80:100]
    first = [np.argwhere(window == v)[0] for v in (1, 2, 3, 4)]
    rows = np.array([40 + r for r, _ in first])
    cols = np.array([80 + c for _, c in first])
    x, y = centre(rows, cols)
    pts = gpd.GeoDataFrame({"id": map_data[rows, cols]}, geometry=gpd.points_from_xy(x, y), crs=CRS)
    rep = accuracy(cmap, pts)
    assert rep.overall_accuracy == 1.0
    assert set(loads) == {(1, 2)}
    loads.clear()
    est = rep.area_estimates(unit="pixels")  # the one counting pass: each chunk once
    assert sorted(loads) == sorted((i, j) for i in range(3) for j in range(3))
    for v, name in zip([1, 2, 3, 4], NAMES):
        assert est.loc[name, "map_area"] == (map_data == v).sum()


def test_accuracy_points_reads_only_chunks_it_needs(map_data):
    cmap, loads = tracked_map(map_data, 20)  # 6 x 5 = 30 chunks
    pts = accuracy_points(cmap, n=8, random_state=2)
    chunks_with_points = {(r // 20, c // 20) for r, c in pixel_rowcol(pts)}
    counting, second = loads[:30], loads[30:]
    assert sorted(counting) == sorted((i, j) for i in range(6) for j in range(5))
    assert sorted(second) == sorted(chunks_with_points) and len(second) < 30


# --------------------------------------------------------------------------------------------
# Area estimates from the class map (sits)
# --------------------------------------------------------------------------------------------

def sits_area_assess(error_matrix: np.ndarray, area: np.ndarray) -> dict[str, np.ndarray]:
    """The formulas of sits's ``.sits_accuracy_area_assess`` (e-sensing/sits, R/sits_accuracy.R):
    ``weight = area / sum(area)``; ``prop = weight * n / rowSums(n)``;
    ``error_adjusted_area = colSums(prop) * sum(area)``;
    ``stderr_prop = sqrt(colSums((weight * prop - prop^2) / (rowSums(n) - 1)))``;
    ``stderr_area = sum(area) * stderr_prop``; ``conf_interval = 1.96 * stderr_area``;
    user = ``diag(prop) / rowSums(prop)``, producer = ``diag(prop) / colSums(prop)``,
    overall = ``sum(diag(prop))``."""
    n = error_matrix.astype(float)
    weight = area / area.sum()
    rows = n.sum(axis=1)
    prop = weight[:, None] * n / rows[:, None]
    stderr_prop = np.sqrt(((weight[:, None] * prop - prop**2) / (rows[:, None] - 1)).sum(axis=0))
    return {
        "error_adjusted_area": prop.sum(axis=0) * area.sum(),
        "stderr_area": area.sum() * stderr_prop,
        "conf_interval": 1.96 * area.sum() * stderr_prop,
        "user": np.diag(prop) / prop.sum(axis=1),
        "producer": np.diag(prop) / prop.sum(axis=0),
        "overall": np.trace(prop),
    }


def test_area_estimates_match_sits_formulas(class_map, map_data):
    rng = np.random.default_rng(11)
    pts = accuracy_points(class_map, n=300, allocation="equal", random_state=4)
    pts["GrndTruth"] = noisy_reference(pts["Classified"].to_numpy(), rng, p=0.3)
    rep = accuracy(class_map, pts)
    est = rep.area_estimates(unit="ha", z=1.96)
    area_ha = np.array([(map_data == v).sum() for v in (1, 2, 3, 4)]) * RES * RES / 1e4
    sits = sits_area_assess(rep.counts, area_ha)
    np.testing.assert_allclose(est["map_area"], area_ha)
    np.testing.assert_allclose(est["area"], sits["error_adjusted_area"], rtol=1e-12)
    np.testing.assert_allclose(est["area_se"], sits["stderr_area"], rtol=1e-12)
    np.testing.assert_allclose(est["area_ci"], sits["conf_interval"], rtol=1e-12)
    np.testing.assert_allclose(est["users_accuracy"], sits["user"], rtol=1e-12)
    np.testing.assert_allclose(est["producers_accuracy"], sits["producer"], rtol=1e-12)
    assert est.attrs["overall_accuracy"] == pytest.approx(sits["overall"], rel=1e-12)
    assert est["area"].sum() == pytest.approx(area_ha.sum())
    assert est.attrs["unit"] == "ha"


def test_area_estimates_refuse_mapped_class_without_samples(class_map, map_data):
    rows, cols = np.array([30, 31, 60, 61]), np.array([50, 50, 50, 50])
    x, y = centre(rows, cols)
    pts = gpd.GeoDataFrame({"id": map_data[rows, cols]}, geometry=gpd.points_from_xy(x, y), crs=CRS)
    rep = accuracy(class_map, pts)
    with pytest.raises(SamplesError, match=r"\['water', 'urban'\] have mapped area but no sample"):
        rep.area_estimates()


# --------------------------------------------------------------------------------------------
# accuracy_points
# --------------------------------------------------------------------------------------------


def pixel_rowcol(pts: gpd.GeoDataFrame) -> list[tuple[int, int]]:
    cols = np.floor((pts.geometry.x.to_numpy() - X0) / RES).astype(int)
    rows = np.floor((Y0 - pts.geometry.y.to_numpy()) / RES).astype(int)
    return list(zip(rows.tolist(), cols.tolist()))


def test_accuracy_points_stratified_proportional(class_map, map_data):
    pts = accuracy_points(class_map, n=200, random_state=0)
    assert pts.crs == class_map.rio.crs and len(pts) == 200
    counts = np.array([(map_data == v).sum() for v in (1, 2, 3, 4)])
    expected = counts / counts.sum() * 200
    got = pts["Classified"].value_counts().sort_index().to_numpy()
    assert np.all(np.abs(got - expected) < 1)  # largest remainders
    rc = pixel_rowcol(pts)
    assert len(set(rc)) == len(rc)  # without replacement
    r, c = np.array(rc).T
    np.testing.assert_array_equal(map_data[r, c], pts["Classified"])  # never on nodata
    assert (pts["GrndTruth"] == -1).all()
    assert set(pts["class_name"]) == set(NAMES)
    # deterministic for a seed, different for another
    again = accuracy_points(class_map, n=200, random_state=0)
    assert pixel_rowcol(again) == rc
    assert pixel_rowcol(accuracy_points(class_map, n=200, random_state=1)) != rc


def hamilton(counts, n) -> list[int]:
    """Largest-remainder (Hamilton) apportionment of ``n`` seats, in exact rationals: every
    class gets the floor of its quota ``n c / sum(c)``, the seats left go one each to the
    largest remainders."""
    from fractions import Fraction

    quotas = [Fraction(c * n, sum(counts)) for c in counts]
    seats = [q.numerator // q.denominator for q in quotas]
    left = n - sum(seats)
    for i in sorted(range(len(counts)), key=lambda i: quotas[i] - seats[i], reverse=True)[:left]:
        seats[i] += 1
    return seats


def test_accuracy_points_proportional_allocation_is_largest_remainder():
    """Exactly Hamilton's method for every n up to 40 (the class counts make no two remainders
    equal below n = 500, so no tie rule is assumed); rounding, or handing the spare points to
    the smallest remainders or the first classes, gives other counts for some n."""
    counts = [1013, 577, 251, 159]
    rng = np.random.default_rng(8)
    data = rng.permutation(np.repeat(np.array([1, 2, 3, 4, 0], "uint8"), counts + [400]))
    cmap = make_map(data.reshape(60, 40), chunks=25)
    for n in range(1, 41):
        pts = accuracy_points(cmap, n=n, random_state=n)
        got = pts["Classified"].value_counts().reindex([1, 2, 3, 4], fill_value=0).tolist()
        assert got == hamilton(counts, n), n


def test_accuracy_points_options_compared_by_value(class_map):
    """An option string made at run time (read from a file, a form) is not the interned literal:
    it must choose what the literal chooses."""
    import sys

    made = "".join(["propor", "tional"])
    assert made == "proportional" and made is not sys.intern("proportional")
    np.testing.assert_array_equal(
        accuracy_points(class_map, n=30, allocation=made)["Classified"],
        accuracy_points(class_map, n=30, allocation="proportional")["Classified"])


def test_accuracy_points_equal_min_per_class_and_random(map_data):
    data = map_data.copy()
    data[(data == 4)] = 3
    data[60:63, 40:42] = 4  # a rare class: 6 pixels
    cmap = make_map(data, chunks=25)
    eq = accuracy_points(cmap, n=40, allocation="equal", random_state=5)
    assert eq["Classified"].value_counts().sort_index().tolist() == [10, 10, 10, 6]
    prop = accuracy_points(cmap, n=40, min_per_class=5, random_state=5)
    vc = prop["Classified"].value_counts()
    assert vc[4] == 5 and vc.sum() >= 40
    rnd = accuracy_points(cmap, n=300, strategy="random", random_state=5)
    r, c = np.array(pixel_rowcol(rnd)).T
    assert len(rnd) == 300 and (data[r, c] != 0).all()
    np.testing.assert_array_equal(data[r, c], rnd["Classified"])
    with pytest.raises(InvalidParameterError, match="strategy must be one of .*'systematic'"):
        accuracy_points(cmap, strategy="systematic")
    with pytest.raises(InvalidParameterError, match="allocation must be one of .*'neyman'"):
        accuracy_points(cmap, allocation="neyman")


def test_accuracy_points_allocation_mapping(map_data):
    """A mapping (by class value or name) gives each class exactly its points; a class left
    out gets none; bad mappings are refused with what is wrong."""
    cmap = make_map(map_data, chunks=25)
    pts = accuracy_points(cmap, allocation={1: 7, "forest": 3, 4: 5}, random_state=2)
    assert pts["Classified"].value_counts().to_dict() == {1: 7, 2: 3, 4: 5}
    assert len(accuracy_points(cmap, n=15, allocation={1: 7, 2: 3, 4: 5})) == 15
    assert len(accuracy_points(cmap, n=300, allocation={1: 200, 2: 100})) == 300  # not cached ints
    raised = accuracy_points(cmap, allocation={1: 7, 3: 0}, min_per_class=2)
    assert raised["Classified"].value_counts().to_dict() == {1: 7, 2: 2, 3: 2, 4: 2}
    with pytest.raises(InvalidParameterError, match=r"does not hold: \['9', 'moss'\]"):
        accuracy_points(cmap, allocation={9: 3, "moss": 1, 1: 2})
    with pytest.raises(InvalidParameterError, match="allocation gives no point to any class"):
        accuracy_points(cmap, allocation={1: 0, 2: 0})
    with pytest.raises(InvalidParameterError, match="n=16 but allocation holds 15 points"):
        accuracy_points(cmap, n=16, allocation={1: 7, 2: 3, 4: 5})
    with pytest.raises(InvalidParameterError, match=r"allocation\[2\] must be .*>= 0"):
        accuracy_points(cmap, allocation={1: 7, 2: -3})
    with pytest.raises(InvalidParameterError, match=r"allocation\[1\] must be an integer"):
        accuracy_points(cmap, allocation={1: 2.5})
    with pytest.raises(InvalidParameterError, match="needs strategy='stratified_random'"):
        accuracy_points(cmap, allocation={1: 7}, strategy="random")
    made = "".join(["stratified", "_random"])  # not the interned literal
    assert len(accuracy_points(cmap, allocation={1: 7}, strategy=made)) == 7


def test_accuracy_points_are_drawn_without_replacement_on_a_small_map():
    """100 points among 120 valid pixels: drawn with replacement, some would share a pixel."""
    data = np.repeat(np.array([1, 2, 3], "uint8"), [60, 40, 20]).reshape(10, 12)
    for strategy in ("stratified_random", "random"):
        pts = accuracy_points(make_map(data, chunks=5), n=100, strategy=strategy)
        rc = pixel_rowcol(pts)
        assert len(rc) == 100 and len(set(rc)) == 100, strategy


def test_accuracy_points_land_on_their_pixel_with_oblong_chunks(map_data):
    """Chunks 25 x 60 on a 120 x 100 map: rows are placed by the row chunks and columns by the
    column chunks (swapping them puts points on other pixels or off the map)."""
    cmap = make_map(map_data, chunks={"y": 25, "x": 60})
    for strategy in ("stratified_random", "random"):
        pts = accuracy_points(cmap, n=150, strategy=strategy, random_state=3)
        r, c = np.array(pixel_rowcol(pts)).T
        assert (r >= 0).all() and (r < 120).all() and (c >= 0).all() and (c < 100).all()
        np.testing.assert_array_equal(map_data[r, c], pts["Classified"])


def test_accuracy_points_random_ignores_the_strata_and_the_seed_defaults_to_0():
    """strategy='random' draws among all valid pixels: a class of 10 % gets about 10 % of the
    points even with allocation='equal' (which, stratified, would give it half)."""
    data = np.ones((40, 50), "uint8")
    data[:4] = 2
    cmap = make_map(data, chunks=20)
    rnd = accuracy_points(cmap, n=200, strategy="random", allocation="equal")
    assert 5 <= (rnd["Classified"] == 2).sum() <= 40
    assert (accuracy_points(cmap, n=200, allocation="equal")["Classified"] == 2).sum() == 100
    assert pixel_rowcol(rnd) == pixel_rowcol(
        accuracy_points(cmap, n=200, strategy="random", allocation="equal", random_state=0))
    made = "".join(["ran", "dom"])  # not the interned literal: compared by value
    assert pixel_rowcol(rnd) == pixel_rowcol(
        accuracy_points(cmap, n=200, strategy=made, allocation="equal"))


def test_accuracy_points_on_a_map_without_valid_pixels():
    with pytest.raises(NoSamplesError, match="no valid"):
        accuracy_points(make_map(np.zeros((20, 20), "uint8"), chunks=10), n=5)


def test_accuracy_points_parameters_checked_by_the_shared_checks(class_map):
    with pytest.raises(InvalidParameterError, match=r"strategy must be one of \['stratified"):
        accuracy_points(class_map, strategy="systematic")
    with pytest.raises(InvalidParameterError, match="n must be an integer >= 1; got 0"):
        accuracy_points(class_map, n=0)
    with pytest.raises(InvalidInputTypeError, match="n must be an integer"):
        accuracy_points(class_map, n="10")
    with pytest.raises(InvalidParameterError, match="min_per_class must be an integer >= 0"):
        accuracy_points(class_map, min_per_class=-1)
    with pytest.raises(MissingCRSError, match="class_map has no CRS"):
        accuracy_points(xr.DataArray(np.ones((2, 2), "uint8"), dims=("y", "x")))


def test_accuracy_points_round_trip_through_a_file(tmp_path, class_map):
    pts = accuracy_points(class_map, n=50, random_state=3)
    with pytest.raises(NoSamplesError, match="no reference feature is labelled"):
        accuracy(class_map, pts)  # GrndTruth still -1
    pts["GrndTruth"] = pts["Classified"]
    path = tmp_path / "points.gpkg"
    pts.to_crs("EPSG:4326").to_file(path)
    rep = accuracy(class_map, path)  # GrndTruth chosen over Classified
    assert rep.n_samples == 50 and rep.overall_accuracy == 1.0 and rep.kappa == 1.0


# --------------------------------------------------------------------------------------------
# Area units, public names, accessor, raster files
# --------------------------------------------------------------------------------------------


def test_area_units(class_map, map_data):
    pts = accuracy_points(class_map, n=40, allocation="equal", random_state=0)
    pts["GrndTruth"] = pts["Classified"]
    rep = accuracy(class_map, pts)
    pixels = np.array([(map_data == v).sum() for v in (1, 2, 3, 4)])
    for unit, factor in [("ha", 0.09), ("km2", 0.0009), ("m2", 900.0), ("pixels", 1.0)]:
        est = rep.area_estimates(unit=unit)
        np.testing.assert_allclose(est["map_area"], pixels * factor)
        np.testing.assert_allclose(est["area"], pixels * factor)  # a perfect sample
        assert est.attrs["unit"] == unit
    lonlat = make_map(map_data, res=0.001, crs="EPSG:4326", x0=10.0, y0=45.0)
    lonlat_pts = accuracy_points(lonlat, n=40, allocation="equal", random_state=0)
    lonlat_pts["GrndTruth"] = lonlat_pts["Classified"]
    geographic = accuracy(lonlat, lonlat_pts)
    with pytest.raises(InvalidParameterError, match="metres"):
        geographic.area_estimates(unit="ha")
    assert geographic.area_estimates().attrs["unit"] == "pixels"


def test_module_public_names():
    # the package's name ``accuracy`` is the function; the subpackage stays reachable
    import xr_landcover
    from xr_landcover.assessment import AccuracyReport

    acc_mod = importlib.import_module("xr_landcover.assessment")
    assert xr_landcover.accuracy is accuracy and xr_landcover.AccuracyReport is AccuracyReport
    assert xr_landcover.accuracy_points is accuracy_points
    assert set(acc_mod.__all__) == {"AccuracyReport", "accuracy", "accuracy_points"}
    package = Path(xr_landcover.__file__).parent  # no module named like the function
    assert not (package / "accuracy.py").exists() and not (package / "accuracy").exists()


def test_accessor_methods(class_map):
    pts = class_map.landcover.accuracy_points(n=30, allocation="equal", random_state=7)
    assert len(pts) == 30 and pts["Classified"].value_counts().min() >= 7
    pts["GrndTruth"] = pts["Classified"]
    rep = class_map.landcover.accuracy(pts)
    assert rep.n_samples == 30 and rep.overall_accuracy == 1.0


def test_raster_reference_from_a_geotiff(tmp_path, class_map, map_data):
    from conftest import write_raster

    ref = map_data.copy()
    ref[50:60, :] = 2
    ref[ref == 0] = 255
    path = write_raster(tmp_path / "ref.tif", ref, crs=CRS, origin=(X0, Y0), res=RES, nodata=255)
    rep = accuracy(class_map, path)
    valid = map_data != 0
    assert_matches_sklearn(rep, map_data[valid], ref[valid])




# --------------------------------------------------------------------------------------------
# Things that are not class maps: never truncated, never counted as classes
# --------------------------------------------------------------------------------------------


def test_float_reference_raster_is_refused_not_truncated(class_map, map_data, tmp_path):
    """A float reference (1.7, 2.7 ...) gave overall accuracy 1.0 once truncated; a float
    raster of whole classes (NaN as nodata) is compared like the integer one."""
    fraction = make_map(map_data.astype("float32") + 0.7, nodata=None)
    with pytest.raises(InvalidParameterError, match=r"reference holds non-integer values "
                                                    r"\(\d\.7.*truncated"):
        accuracy(class_map, fraction)
    whole = map_data.astype("float32")
    whole[map_data == 0] = np.nan
    as_float = make_map(whole, nodata=None)
    np.testing.assert_array_equal(accuracy(class_map, as_float).counts,
                                  accuracy(class_map, make_map(map_data)).counts)


def test_confidence_is_not_a_class_map_but_a_masked_map_is(class_map, map_data):
    confidence = make_map(np.full(map_data.shape, 0.8, "float32"), nodata=None)
    confidence.attrs = {"long_name": "probability of the winning class"}
    points = gpd.GeoDataFrame({"id": [1, 2]}, crs=CRS,
                              geometry=gpd.points_from_xy(*centre(np.array([5, 6]),
                                                                  np.array([5, 6]))))
    with pytest.raises(InvalidInputTypeError, match=r"class_map must be a class map of integer "
                                                    r"classes; got a float32 array \('probability"):
        accuracy(confidence, points)
    # the masking idiom keeps the class attributes: NaN is no class, the rest compares as is
    masked = class_map.where(class_map != 1)
    rows, cols = np.nonzero(map_data > 0)
    pts = gpd.GeoDataFrame({"id": map_data[rows, cols]}, crs=CRS,
                           geometry=gpd.points_from_xy(*centre(rows, cols)))
    rep = accuracy(masked, pts)
    kept = map_data[rows, cols] != 1
    assert rep.excluded["nodata"] == int((~kept).sum())
    assert_matches_sklearn(rep, map_data[rows, cols][kept], map_data[rows, cols][kept])


# --------------------------------------------------------------------------------------------
# Reference data on the map's grid (reference.py): edges, multi-geometries, class fields
# --------------------------------------------------------------------------------------------

EDGE_DATA = np.array([[1, 2, 3, 4, 1], [2, 3, 4, 1, 2], [3, 4, 1, 2, 3], [4, 1, 2, 3, 4],
                      [1, 2, 3, 4, 1], [2, 3, 4, 1, 3]], dtype="uint8")  # 6 x 5, no nodata
EDGE_CELLS = [(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (1, 1)]  # (row, col)


def edge_points(res=RES, x0=X0, y0=Y0):
    """The centres of ``EDGE_CELLS`` on a grid of ``res`` from ``(x0, y0)``, and the classes of
    ``EDGE_DATA`` there (``[1, 2, 3, 4, 2, 3]``)."""
    rows, cols = np.array(EDGE_CELLS).T
    xy = gpd.points_from_xy(*centre(rows, cols, res=res, x0=x0, y0=y0))
    return xy, [int(EDGE_DATA[r, c]) for r, c in EDGE_CELLS]


def test_points_on_and_beyond_the_map_edges():
    """Each point samples the pixel it falls in: the four corner pixels, a point on the
    map's left and top edges (pixel 0), and points just beyond each edge (outside)."""
    cmap = make_map(EDGE_DATA, chunks={"y": 4, "x": 3})
    inside = [(0, 0), (0, 4), (5, 0), (5, 4)]
    x, y = centre(*np.array(inside).T)
    x = np.append(x, [X0, X0 + 2.5 * RES])  # on the left edge (row 2) and on the top edge
    y = np.append(y, [Y0 - 2.5 * RES, Y0])
    beyond = [(X0 - 0.1, Y0 - 2.5 * RES), (X0 + 5 * RES + 0.1, Y0 - 2.5 * RES),
              (X0 + 2.5 * RES, Y0 + 0.1), (X0 + 2.5 * RES, Y0 - 6 * RES - 0.1),
              (X0 + 5 * RES, Y0 - 2.5 * RES), (X0 + 2.5 * RES, Y0 - 6 * RES)]  # right, bottom
    x = np.append(x, [p[0] for p in beyond])
    y = np.append(y, [p[1] for p in beyond])
    pixels = [*inside, (2, 0), (0, 2)]
    truth = np.array([EDGE_DATA[r, c] for r, c in pixels])
    ref = np.append(truth, [1] * len(beyond))
    pts = gpd.GeoDataFrame({"id": ref}, geometry=gpd.points_from_xy(x, y), crs=CRS)
    rep = accuracy(cmap, pts)
    assert rep.excluded["outside"] == len(beyond)
    assert_matches_sklearn(rep, truth, truth)


def test_polygons_beyond_the_map_sample_only_its_pixels():
    """A polygon larger than the map samples every pixel; one over the top-left corner the
    pixels whose centres it holds inside the map (rows 0-1, columns 0-2); the counts are those
    of rasterio's burning at pixel centres."""
    cmap = make_map(EDGE_DATA, chunks={"y": 4, "x": 3})
    whole = box(X0 - 100, Y0 - 6 * RES - 100, X0 + 5 * RES + 100, Y0 + 100)
    corner = box(X0 - 100, Y0 - 2 * RES + 1, X0 + 3 * RES - 1, Y0 + 100)
    for geom, rows, cols in [(whole, slice(0, 6), slice(0, 5)), (corner, slice(0, 2),
                                                                  slice(0, 3))]:
        rep = accuracy(cmap, gpd.GeoDataFrame({"id": [1]}, geometry=[geom], crs=CRS))
        m = EDGE_DATA[rows, cols].ravel()
        assert rep.excluded["outside"] == 0
        assert_matches_sklearn(rep, m, np.ones_like(m))
        burnt = rasterio.features.rasterize([(geom, 1)], out_shape=EDGE_DATA.shape,
                                            transform=cmap.rio.transform(), fill=0)
        assert rep.n_samples == int(burnt.sum())


def test_multi_points_and_multi_polygons_sample_like_their_parts():
    from shapely.geometry import MultiPoint, MultiPolygon

    cmap = make_map(EDGE_DATA)
    cells = [(1, 1), (4, 3)]
    p = [tuple(np.ravel(centre(r, c))) for r, c in cells]
    a, b = box(X0, Y0 - 2 * RES, X0 + 2 * RES, Y0), box(X0 + 3 * RES, Y0 - 6 * RES, X0 + 5 * RES,
                                                         Y0 - 4 * RES)
    single = gpd.GeoDataFrame({"id": [2, 2, 3, 3]}, crs=CRS,
                              geometry=gpd.points_from_xy(*zip(*p)).tolist() + [a, b])
    multi = gpd.GeoDataFrame({"id": [2, 3]}, crs=CRS,
                             geometry=[MultiPoint(p), MultiPolygon([a, b])])
    rep = accuracy(cmap, multi)
    np.testing.assert_array_equal(rep.counts, accuracy(cmap, single).counts)
    assert rep.n_samples == 2 + 4 + 4


def test_class_field_rules_and_class_names():
    """The default class field: GrndTruth, Classvalue, id in any case, else the one integer
    column other than Classified; class names: empty and missing are unlabelled, names the map
    does not know get new values after the map's largest, in order of appearance."""
    cmap = make_map(EDGE_DATA)
    xy, truth = edge_points()
    frame = gpd.GeoDataFrame({"Classified": [1] * 6, "ref": truth}, geometry=xy, crs=CRS)
    assert accuracy(cmap, frame).overall_accuracy == 1.0  # "ref", not "Classified"
    upper = gpd.GeoDataFrame({"value": [1] * 6, "GRNDTRUTH": truth}, geometry=xy, crs=CRS)
    assert accuracy(cmap, upper).overall_accuracy == 1.0
    with pytest.raises(SamplesError, match="holds non-integer values"):
        accuracy(cmap, frame.assign(ref=np.array(truth) + 0.5), class_field="ref")
    with pytest.raises(SamplesError, match="name_field 'nope' is not a column"):
        accuracy(cmap, frame, class_field="ref", name_field="nope")
    names = ["water", "marsh", None, "", "reef", "marsh"]
    labelled = gpd.GeoDataFrame({"cover": names}, geometry=xy, crs=CRS)
    rep = accuracy(cmap, labelled, class_field="cover")
    assert rep.excluded["unlabelled"] == 2
    assert rep.class_values == (1, 2, 3, 4, 5, 6)
    assert rep.class_names == (*NAMES, "marsh", "reef")
    assert rep.counts[:, 4].tolist() == [0, 1, 1, 0, 0, 0]  # marsh: on a forest and a crops pixel
    assert rep.counts[:, 5].tolist() == [0, 1, 0, 0, 0, 0]  # reef: on a forest pixel


def test_class_values_in_categorical_and_object_columns_are_values_not_names():
    """A categorical or object column of whole numbers holds class values, as the integer
    column does (read as names they would become new classes after the map's largest)."""
    cmap = make_map(EDGE_DATA)
    xy, truth = edge_points()
    plain = accuracy(cmap, gpd.GeoDataFrame({"ref": truth}, geometry=xy, crs=CRS), "ref")
    assert plain.overall_accuracy == 1.0
    for dtype in ("category", object):
        frame = gpd.GeoDataFrame({"ref": pd.Series(truth).astype(dtype)}, geometry=xy, crs=CRS)
        other = accuracy(cmap, frame, class_field="ref")
        assert other.class_values == plain.class_values, dtype
        np.testing.assert_array_equal(other.counts, plain.counts)
    names = pd.Series(["water", "marsh", None, "", "reef", "marsh"]).astype("category")
    rep = accuracy(cmap, gpd.GeoDataFrame({"cover": names}, geometry=xy, crs=CRS), "cover")
    assert rep.class_names == (*NAMES, "marsh", "reef") and rep.excluded["unlabelled"] == 2


def test_class_area_table_of_a_map_in_metres():
    from xr_landcover.assessment.reference import class_area_table

    cmap = make_map(EDGE_DATA)
    table = class_area_table(cmap)  # hectares by default in a CRS in metres
    pixels = [int((EDGE_DATA == v).sum()) for v in (1, 2, 3, 4)]
    assert table.attrs["unit"] == "ha" and table.index.tolist() == NAMES
    assert table["value"].tolist() == [1, 2, 3, 4] and table["pixels"].tolist() == pixels
    np.testing.assert_allclose(table["area"], np.array(pixels) * RES * RES / 1e4)
    np.testing.assert_allclose(table["proportion"], np.array(pixels) / 30)
    one = np.zeros((3, 3), "uint8")
    one[1, 1] = 2
    single = class_area_table(make_map(one), unit="m2")
    assert single.loc["forest", "proportion"] == 1.0 and single.loc["forest", "area"] == 900.0


def test_area_units_of_a_map_in_feet_and_pixels_named_at_run_time():
    """A projected CRS in US survey feet (NC State Plane, EPSG:2264) is no metre CRS: areas in
    hectares are refused, pixels are the default; ``unit="pixels"`` works whatever string
    object holds it (compared by value)."""
    feet = make_map(EDGE_DATA, chunks=None, res=100.0, crs="EPSG:2264", x0=2_000_000.0,
                    y0=700_000.0)
    xy, truth = edge_points(res=100.0, x0=2_000_000.0, y0=700_000.0)
    rep = accuracy(feet, gpd.GeoDataFrame({"ref": truth}, geometry=xy, crs="EPSG:2264"), "ref")
    with pytest.raises(InvalidParameterError, match=r"unit='ha' needs a projected CRS in "
                                                    r"metres; .*EPSG:2264"):
        rep.area_estimates(unit="ha")
    assert rep.area_estimates().attrs["unit"] == "pixels"
    pixels = "".join(["pix", "els"])
    assert rep.area_estimates(unit=pixels)["map_area"].tolist() == np.bincount(
        EDGE_DATA.ravel())[1:].tolist()


def test_polygons_with_corners_at_coordinate_zero():
    """A map whose grid crosses x = 0 and ends at y = 0 (the equator of a UTM zone): polygon
    corners at 0 are map coordinates like any other."""
    data = np.full((6, 6), 1, dtype="uint8")
    data[4:6, 1:3] = 2  # pixel centres x -15, -5 and y 15, 5
    cmap = make_map(data, chunks=None, res=10.0, crs="EPSG:32631", x0=-30.0, y0=60.0)
    ref = gpd.GeoDataFrame({"ref": [2]}, geometry=[box(-20.0, 0.0, 0.0, 20.0)],
                           crs="EPSG:32631")
    rep = accuracy(cmap, ref, "ref")
    assert rep.n_samples == 4 and rep.counts[1, 1] == rep.counts.sum() == 4  # forest


def test_reference_columns_rasters_and_grids_refused_or_read_right(class_map, map_data):
    """A reference with text columns only and no class field is refused with its columns;
    names in an object column are names; a two-band reference raster is refused; a raster on
    the map's grid but smaller (same origin) is reprojected, not taken as the same grid."""
    cmap = make_map(EDGE_DATA)
    xy, _ = edge_points()
    names = ["water", "marsh", None, "", "reef", "marsh"]
    text = gpd.GeoDataFrame({"cover": names}, geometry=xy, crs=CRS)
    with pytest.raises(SamplesError, match=r"cannot tell which column holds the reference "
                                           r"class.*integer columns: \[\], all columns: "
                                           r"\['cover'\]"):
        accuracy(cmap, text)
    as_object = accuracy(cmap, text.astype({"cover": object}), class_field="cover")
    assert as_object.class_names == (*NAMES, "marsh", "reef")
    two_bands = xr.concat([class_map, class_map], dim="band")
    with pytest.raises(DimensionError, match="a reference raster must have a single band"):
        accuracy(class_map, two_bands)
    top = make_map(map_data[:100], chunks=None)  # rows 0-99 of the map, its origin
    rep = accuracy(class_map, top)
    valid = map_data[:100] != 0
    assert_matches_sklearn(rep, map_data[:100][valid], map_data[:100][valid])
    taller = np.vstack([map_data, np.full((20, 100), 1, "uint8")])  # 20 more rows below
    rep = accuracy(class_map, make_map(taller, chunks=None))
    assert_matches_sklearn(rep, map_data[map_data != 0], map_data[map_data != 0])
    # class values that round down, or up, are no whole numbers either
    for fractions in ([1.2, 2.25], [1.7, 2.75]):
        with pytest.raises(SamplesError, match="holds non-integer values"):
            accuracy(cmap, gpd.GeoDataFrame({"ref": [*fractions, 3.0, 4.0, 2.0, 3.0]},
                                            geometry=xy, crs=CRS), class_field="ref")


def test_only_minus_one_is_unlabelled_other_negative_values_are_classes():
    """``UNLABELLED`` (-1) leaves a feature out; another negative value is a reference class
    like any other (here one the map does not have, named by ``name_field``)."""
    cmap = make_map(EDGE_DATA)
    xy, _ = edge_points()
    frame = gpd.GeoDataFrame({"ref": [1, 2, -1, -5, 2, 3],
                              "name": ["water", "forest", "none", "shadow", "forest", "crops"]},
                             geometry=xy, crs=CRS)
    rep = accuracy(cmap, frame, class_field="ref", name_field="name")
    assert rep.excluded["unlabelled"] == 1 and rep.n_samples == 5
    assert rep.class_values == (1, 2, 3, 4, -5)  # the map's classes, then the reference's
    assert rep.class_names == (*NAMES, "shadow")
    assert rep.counts[:, 4].tolist() == [0, 0, 0, 1, 0]  # shadow on the urban pixel (0, 3)


def test_reference_messages_and_grids_to_the_pixel(tmp_path):
    """An unreadable vector file: the message gives GDAL's reason once, without the reader's
    own wording around it; a reference wholly outside: the bounds to a thousandth; a raster
    reference one pixel off the map's grid in degrees (far less than one degree) is
    reprojected, not taken as the map's grid."""
    bad = tmp_path / "bad.gpkg"
    bad.write_text("not a vector")
    cmap = make_map(EDGE_DATA)
    with pytest.raises(SamplesError, match=r"of points or polygons \('.*bad\.gpkg' not "
                                           r"recognized as being in a supported file format\)"
                                           r"\. Pass a vector file") as info:
        accuracy(cmap, bad)
    assert str(info.value).count("cannot read") == 1
    colon = tmp_path / "site: 2024.gpkg"  # a ": " in the path is no end of the reader's words
    colon.write_text("not a vector")
    with pytest.raises(SamplesError, match=r"of points or polygons \('.*site: 2024\.gpkg' not "
                                           r"recognized as being in a supported file format\)"):
        accuracy(cmap, colon)
    odd = make_map(EDGE_DATA, x0=X0 + 0.12345, y0=Y0 + 0.5)
    far = gpd.GeoDataFrame({"id": [1]}, geometry=gpd.points_from_xy([0.0], [45.0]),
                           crs="EPSG:4326")
    with pytest.raises(NoSamplesError, match=r"map bounds \(500000\.123, 3999820\.5, "
                                             r"500150\.123, 4000000\.5\)"):
        accuracy(odd, far)
    lonlat = make_map(EDGE_DATA, chunks=None, res=0.001, crs="EPSG:4326", x0=10.0, y0=45.0)
    shifted = make_map(EDGE_DATA, chunks=None, res=0.001, crs="EPSG:4326", x0=10.001,
                       y0=45.0)  # the same values, one column east
    rep = accuracy(lonlat, shifted)
    assert_matches_sklearn(rep, EDGE_DATA[:, 1:].ravel(), EDGE_DATA[:, :-1].ravel())


def test_class_area_table_of_an_empty_map_and_one_without_crs():
    """A map of nodata only has shares 0 (no 0 / 0); a map without a CRS is refused by name."""
    from xr_landcover.assessment.reference import class_area_table

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        empty = class_area_table(make_map(np.zeros((3, 3), "uint8")), unit="pixels")
    assert (empty["pixels"] == 0).all() and (empty["proportion"] == 0.0).all()
    with pytest.raises(MissingCRSError, match="class_map"):
        class_area_table(make_map(EDGE_DATA).drop_vars("spatial_ref"))


def test_raster_reference_with_nodata_0_on_another_grid(class_map, map_data):
    """Nodata 0 below the classes (255 is above them elsewhere): only 0 is masked when the
    reference is reprojected."""
    big = np.zeros((140, 130), dtype="uint8")
    big[7 : 7 + 120, 11 : 11 + 100] = np.where(map_data == 0, 3, map_data)
    big_da = make_map(big, chunks=None, nodata=0, x0=X0 - 11 * RES, y0=Y0 + 7 * RES)
    rep = accuracy(class_map, big_da)
    valid = map_data != 0
    assert_matches_sklearn(rep, map_data[valid], map_data[valid])


def test_raster_reference_in_another_crs_is_not_the_maps_grid(class_map, map_data):
    """The same shape and transform numbers in another CRS (the next UTM zone west) are
    another place: reprojected, nothing overlaps."""
    elsewhere = make_map(map_data, chunks=None, crs="EPSG:32617")
    with pytest.raises(NoSamplesError, match="no valid pixel over a valid pixel of the class map"):
        accuracy(class_map, elsewhere)


def test_area_units_of_a_map_in_kilometres():
    """A projected CRS in kilometres is no metre CRS either (its unit is larger, not equal):
    pixels by default, hectares refused."""
    from xr_landcover.assessment.reference import class_area_table

    km = make_map(EDGE_DATA, chunks=None, res=0.03, x0=500.0, y0=4000.0,
                  crs="+proj=utm +zone=18 +datum=WGS84 +units=km +no_defs")
    assert class_area_table(km).attrs["unit"] == "pixels"
    with pytest.raises(InvalidParameterError, match=r"unit='ha' needs a projected CRS in metres"):
        class_area_table(km, unit="ha")


def test_polygons_without_a_pixel_centre_are_told_from_polygons_outside():
    """Two slivers inside the map that hold no pixel centre and one polygon beyond it are
    counted apart (2 and 1), and a point three rows below the map is outside, not read."""
    cmap = make_map(EDGE_DATA)
    slivers = [box(X0 + c * RES + 1, Y0 - 3 * RES + 1, X0 + c * RES + 5, Y0 - 3 * RES + 5)
               for c in (1, 3)]
    beyond = box(X0 - 900, Y0 - 900, X0 - 600, Y0 - 600)
    below = gpd.points_from_xy([X0 + 1.5 * RES], [Y0 - 9.5 * RES])[0]
    xy, truth = edge_points()
    frame = gpd.GeoDataFrame({"id": [*truth, 1, 2, 3, 4]}, crs=CRS,
                             geometry=[*xy, *slivers, beyond, below])
    rep = accuracy(cmap, frame)
    assert rep.excluded == {"outside": 2, "nodata": 0, "unlabelled": 0, "no_pixel_centre": 2}
    assert_matches_sklearn(rep, np.array(truth), np.array(truth))


def test_reference_names_skip_missing_names_and_new_names_start_after_0():
    """``name_field``: a class whose first feature has no name takes the next one's (never
    "nan"). Text classes the map does not know get values after its largest, counting from 1
    when the map's only class is 0 or its classes are negative."""
    cmap = make_map(EDGE_DATA)
    xy, _ = edge_points()
    frame = gpd.GeoDataFrame({"ref": [9, 9, 1, 2, 3, 4],
                              "name": [None, "marsh", "water", "forest", "crops", "urban"]},
                             geometry=xy, crs=CRS)
    rep = accuracy(cmap, frame, class_field="ref", name_field="name")
    assert rep.class_values == (1, 2, 3, 4, 9) and rep.class_names == (*NAMES, "marsh")
    zero = synthetic_class_map(np.zeros((6, 5), "uint8"), values=[0], names=["water"],
                               nodata=255, origin=(X0, Y0), res=RES, crs=CRS)
    text = gpd.GeoDataFrame({"cover": ["water", "reef", "water", "water", "reef", "water"]},
                            geometry=xy, crs=CRS)
    rep = accuracy(zero, text, class_field="cover")
    assert rep.class_values == (0, 1) and rep.class_names == ("water", "reef")
    negative = synthetic_class_map(np.full((6, 5), -2, "int16"), values=[-2], names=["water"],
                                   nodata=-9999, origin=(X0, Y0), res=RES, crs=CRS)
    rep = accuracy(negative, text, class_field="cover")  # still from 1 when all are below 0
    assert rep.class_values == (-2, 1) and rep.class_names == ("water", "reef")


def test_reference_samples_are_frozen_and_raster_pairs_are_summed_once():
    """The samples read from a vector reference cannot be changed by mistake; the pair counts
    of a reference raster come summed over the chunks (one row per pair)."""
    import dataclasses

    from xr_landcover.assessment.reference import map_classes, raster_pairs, vector_samples

    cmap = make_map(EDGE_DATA, chunks={"y": 2, "x": 2})
    xy, truth = edge_points()
    samples = vector_samples(cmap, gpd.GeoDataFrame({"id": truth}, geometry=xy, crs=CRS),
                             "id", None, map_classes(cmap))
    with pytest.raises(dataclasses.FrozenInstanceError):
        samples.rows = np.zeros(1, np.int64)
    pairs, nodata = raster_pairs(cmap, make_map(EDGE_DATA, chunks=None))
    assert pairs.index.is_unique and nodata == 0
    assert pairs.to_dict() == {(v, v): int((EDGE_DATA == v).sum()) for v in (1, 2, 3, 4)}


def test_reference_rasters_of_other_dims_and_bounds_in_the_message():
    """A reference array of dims other than ``(y, x)`` (a time series, a profile) is refused
    by its dims; the reference's bounds in the wholly-outside message are plain numbers to a
    thousandth (numpy 2 printed them as ``np.float64(1.235)``)."""
    for other in (xr.concat([make_map(EDGE_DATA, chunks=None)] * 2, dim="time"),
                  make_map(EDGE_DATA, chunks=None).isel(y=0)):
        with pytest.raises(DimensionError, match=r"a reference raster must have dims \('y', "
                                                 r"'x'\), got \("):
            accuracy(make_map(EDGE_DATA), other)
    far = gpd.GeoDataFrame({"id": [1]}, geometry=gpd.points_from_xy([1.23456], [2.34567]),
                           crs=CRS)
    with pytest.raises(NoSamplesError, match=r"reference bounds \(1\.235, 2\.346, 1\.235, "
                                             r"2\.346\)"):
        accuracy(make_map(EDGE_DATA), far)
