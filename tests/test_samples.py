"""Training samples: reprojection, pixel-centre rasterization, touched chunks only, caps, fields."""

from __future__ import annotations

import threading
import warnings

import dask
import geopandas as gpd
import numpy as np
import pytest
import rasterio
import rasterio.shutil
import shapely
from conftest import L8_78, rotated_transform, synthetic_cube, write_raster

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classification.samples import extract_samples
from xr_landcover.errors import (
    GridMismatchError,
    InvalidInputTypeError,
    InvalidParameterError,
    MissingCRSError,
    NoSamplesError,
    SamplesError,
)

L8_POINTS = L8_78 / "LC08_L1TP_224078_20200518_20200518_01_RT_points.gpkg"


@pytest.fixture(scope="module")
def nc_cube(nc_band_files):
    names = ["blue", "green", "red", "nir", "swir1", "swir2"]
    return xr_landcover.open_image(nc_band_files, chunks=128, band_names=names)


@pytest.fixture(scope="module")
def polygons(nc_polygons_path):
    return gpd.read_file(nc_polygons_path)


def quiet_extract(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return extract_samples(*args, **kwargs)


def test_reprojected_polygons_give_same_pixels_in_any_crs(nc_cube, polygons):
    assert polygons.crs.to_epsg() == 3358
    native = quiet_extract(nc_cube, polygons, "id", "label", max_samples_per_class=None)
    to_raster = polygons.to_crs(nc_cube.rio.crs.to_wkt())
    in_raster_crs = quiet_extract(nc_cube, to_raster, "id", "label", max_samples_per_class=None)
    lonlat = quiet_extract(nc_cube, polygons.to_crs("EPSG:4326"), "id", "label",
                           max_samples_per_class=None)
    np.testing.assert_array_equal(native.rows, in_raster_crs.rows)
    np.testing.assert_array_equal(native.cols, in_raster_crs.cols)
    np.testing.assert_array_equal(native.y, in_raster_crs.y)
    # through longitude/latitude, straight edges bend a little: a few edge pixels change
    a = set(zip(native.rows.tolist(), native.cols.tolist()))
    b = set(zip(lonlat.rows.tolist(), lonlat.cols.tolist()))
    assert len(a ^ b) < 0.01 * len(a)
    # the shipped cube (same scene, int16 COG, NaN-masked) gives the same labelled pixels
    shipped = quiet_extract(datasets.nc_landsat7(), polygons, "id", "label",
                            max_samples_per_class=None)
    np.testing.assert_array_equal(native.y, shipped.y)
    np.testing.assert_allclose(native.X, shipped.X)
    assert native.available == {1: 343, 3: 411, 4: 202, 5: 749, 6: 149, 7: 57}


def test_pixel_centre_alignment_and_values(nc_cube):
    t = nc_cube.rio.transform()
    # a rectangle from the left edge of column 250 to just past the centre of column 253, and
    # from the top edge of row 200 to just short of the centre of row 203: pixels whose
    # centres it covers are columns 250..253 and rows 200..202.
    left, top = t @ (250, 200)
    right, bottom = t @ (253.6, 203.4)
    box = shapely.box(left, bottom, right, top)
    inner = shapely.box(*(t @ (270, 200)), *(t @ (272, 202))).normalize()
    gdf = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[box, inner], crs=nc_cube.rio.crs.to_wkt())
    s = extract_samples(nc_cube, gdf, "id")
    rows, cols = s.rows[s.y == 1], s.cols[s.y == 1]
    assert sorted(set(rows.tolist())) == [200, 201, 202]
    assert sorted(set(cols.tolist())) == [250, 251, 252, 253]
    assert len(rows) == 12 and (s.y == 2).sum() == 4
    expected = nc_cube.values[:, s.rows, s.cols].T
    np.testing.assert_array_equal(s.X, expected)
    assert s.classes[0].name == "class 1"


def test_points_as_samples(l8_rgb_file):
    cube = xr_landcover.open_image(l8_rgb_file, nodata=0, chunks=512)
    points = gpd.read_file(L8_POINTS)
    s = extract_samples(cube, points, class_field="name")
    assert [c.name for c in s.classes] == ["crop", "developed", "tree", "water"]
    assert [c.value for c in s.classes] == [1, 2, 3, 4]
    assert len(s.y) == len(points) == 6
    with rasterio.open(l8_rgb_file) as src:
        for geom, name in zip(points.geometry, points["name"]):
            row, col = src.index(geom.x, geom.y)
            hit = (s.rows == row) & (s.cols == col)
            assert hit.sum() == 1
            value = {c.name: c.value for c in s.classes}[name]
            assert s.y[hit][0] == value
            np.testing.assert_array_equal(s.X[hit][0], src.read(window=((row, row + 1),
                                                                        (col, col + 1))).ravel())
    model = xr_landcover.train(cube, points, class_field="name", method="knn", n_neighbors=1)
    assert model.class_names == ["crop", "developed", "tree", "water"]
    assert model.colormap[4] == (70, 107, 159)  # water is blue


def test_cap_seed_and_shuffle_invariance(nc_cube, polygons):
    a = quiet_extract(nc_cube, polygons, "id", "label", max_samples_per_class=50,
                      random_state=0)
    b = quiet_extract(nc_cube, polygons.sample(frac=1, random_state=7), "id", "label",
                      max_samples_per_class=50, random_state=0)
    c = quiet_extract(nc_cube, polygons, "id", "label", max_samples_per_class=50,
                      random_state=1)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.rows, c.rows)
    assert a.used == {v: min(n, 50) for v, n in a.available.items()}
    assert np.bincount(a.y)[[1, 3, 4, 5, 6, 7]].tolist() == [50, 50, 50, 50, 50, 50]
    full = quiet_extract(nc_cube, polygons, "id", "label", max_samples_per_class=0)
    assert len(full.y) == sum(full.available.values()) == 1911
    # the cap draws a subset of the available pixels, each pixel once
    keys = set(zip(full.rows.tolist(), full.cols.tolist()))
    drawn = list(zip(a.rows.tolist(), a.cols.tolist()))
    assert set(drawn) <= keys
    assert len(set(drawn)) == len(drawn) == 300


def test_draw_per_class_draws_without_replacement_from_one_generator_in_class_order():
    """The draws a seed gives are part of the contract (the same samples in every release):
    one generator, classes in order, and a class of at most ``cap`` members taken whole
    without a draw (so it leaves the next class's draw as it is)."""
    from xr_landcover.classification.samples import draw_per_class

    sizes = [100, 30, 31, 20, 250]  # above, at, just above, under the cap of 30
    members = np.split(np.arange(sum(sizes)), np.cumsum(sizes)[:-1])
    chosen = draw_per_class(members, 30, 5)
    rng = np.random.default_rng(5)
    expected = [m if m.size <= 30 else np.sort(rng.choice(m, 30, replace=False))
                for m in members]
    for got, want in zip(chosen, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert [np.unique(c).size for c in chosen] == [30, 30, 30, 20, 30]
    assert [c.tolist() for c in draw_per_class(members, None, 5)] == [
        m.tolist() for m in members]


def test_same_samples_under_any_chunking(nc_band_files, polygons):
    ref = quiet_extract(xr_landcover.open_image(nc_band_files, chunks=500), polygons, "id",
                        max_samples_per_class=40, random_state=3)
    for chunks in (37, (100, 64)):
        other = quiet_extract(xr_landcover.open_image(nc_band_files, chunks=chunks), polygons,
                              "id", max_samples_per_class=40, random_state=3)
        np.testing.assert_array_equal(ref.X, other.X)
        np.testing.assert_array_equal(ref.y, other.y)


def test_only_touched_chunks_are_read(nc_cube, polygons):
    read: list[tuple[int, int]] = []
    lock = threading.Lock()

    def record(block, block_info=None):
        with lock:
            read.append(tuple(block_info[0]["chunk-location"][1:]))
        return block

    watched = nc_cube.copy(data=nc_cube.data.map_blocks(record, dtype=nc_cube.dtype))
    one = polygons[polygons["label"] == "water"].iloc[[0]]
    s = extract_samples(watched, pd_concat(one, polygons[polygons["label"] == "forest"].iloc[[0]]),
                        "id", "label")
    assert len(s.classes) == 2
    t = nc_cube.rio.transform()
    geoms = pd_concat(one, polygons[polygons["label"] == "forest"].iloc[[0]]).to_crs(
        nc_cube.rio.crs.to_wkt()).geometry
    expected = set()
    ys = np.cumsum((0,) + nc_cube.chunks[1])
    xs = np.cumsum((0,) + nc_cube.chunks[2])
    for iy in range(len(ys) - 1):
        for ix in range(len(xs) - 1):
            x0, y0 = t @ (xs[ix], ys[iy])
            x1, y1 = t @ (xs[ix + 1], ys[iy + 1])
            if geoms.intersects(shapely.box(x0, y1, x1, y0)).any():
                expected.add((iy, ix))
    total = (len(ys) - 1) * (len(xs) - 1)
    assert set(read) == expected
    assert len(read) == len(expected) < total


def pd_concat(*frames):
    import pandas as pd

    return gpd.GeoDataFrame(pd.concat(frames), crs=frames[0].crs)


def test_class_outside_image_dropped_with_warning(nc_cube, polygons):
    with pytest.warns(UserWarning, match="agriculture"):
        s = extract_samples(nc_cube, polygons, "id", "label")
    assert [c.name for c in s.dropped] == ["agriculture"]
    assert 2 not in s.available
    lonely = polygons[polygons["label"].isin(["agriculture", "water"])]
    with pytest.warns(UserWarning, match="agriculture"), pytest.raises(
        SamplesError, match=r"at least two classes with valid pixels; found 1 \('water'\); "
                            r"dropped: \['agriculture'\]$"
    ):
        extract_samples(nc_cube, lonely, "id", "label")
    agriculture = polygons[polygons["label"] == "agriculture"]
    with pytest.raises(SamplesError, match="at least two classes") as info:
        extract_samples(nc_cube, agriculture, "id", "label")  # one class: refused unread
    assert not isinstance(info.value, NoSamplesError)
    two_on_nodata = pd_concat(agriculture, agriculture.assign(id=99, label="fallow"))
    with pytest.raises(NoSamplesError, match="no valid pixel"):
        extract_samples(nc_cube, two_on_nodata, "id", "label")


def test_field_resolution(nc_cube, polygons):
    arc = polygons.rename(columns={"id": "Classvalue", "label": "Classname"})
    arc["Red"], arc["Green"], arc["Blue"] = 10, 20, 30
    s = quiet_extract(nc_cube, arc, max_samples_per_class=10)
    assert [c.name for c in s.classes][:2] == ["developed", "herbaceous"]
    assert all(c.color == (10, 20, 30) for c in s.classes)
    only_int = quiet_extract(nc_cube, polygons, max_samples_per_class=10)  # 'id' is found
    assert [c.value for c in only_int.classes] == [1, 3, 4, 5, 6, 7]
    two_ints = polygons.assign(code=polygons["id"] * 10)
    with pytest.raises(SamplesError, match=r"candidate columns: \['label', 'id', 'code'\]"):
        extract_samples(nc_cube, two_ints)
    with pytest.raises(SamplesError, match=r"\(no 'Classvalue' column, and 0 integer columns "
                                           r"\[\]\); candidate columns: \['label'\]"):
        extract_samples(nc_cube, polygons.drop(columns="id"))  # text only: no guess
    with pytest.raises(SamplesError, match="'klass' is not a column"):
        extract_samples(nc_cube, polygons, "klass")
    with pytest.raises(SamplesError, match="name_field 'nom'"):
        extract_samples(nc_cube, polygons, "id", "nom")
    nulls = polygons.astype({"id": "float64"})
    nulls.loc[3, "id"] = np.nan
    with pytest.raises(SamplesError, match="null values"):
        extract_samples(nc_cube, nulls, "id")


def test_class_field_dtypes_categorical_and_object(nc_cube, polygons):
    """A categorical or object column holds the same classes as the plain column: whole
    numbers stay the class values (never renumbered as text: 10 before 2 in alphabetical
    order), text gives 1..n in alphabetical order; an object column of numbers and booleans
    is refused."""
    codes = polygons.assign(code=polygons["id"].map({1: 10, 2: 20, 3: 2, 4: 30, 5: 4, 6: 50, 7: 6}))
    plain = quiet_extract(nc_cube, codes, "code", "label", max_samples_per_class=10,
                          random_state=0)
    assert [c.value for c in plain.classes] == [2, 4, 6, 10, 30, 50]
    for dtype in ("category", object):
        other = quiet_extract(nc_cube, codes.astype({"code": dtype}), "code", "label",
                              max_samples_per_class=10, random_state=0)
        assert other.classes == plain.classes, dtype
        np.testing.assert_array_equal(other.y, plain.y)
        np.testing.assert_array_equal(other.X, plain.X)
    text = quiet_extract(nc_cube, polygons, "label", max_samples_per_class=10, random_state=0)
    for dtype in ("category", object):
        other = quiet_extract(nc_cube, polygons.astype({"label": dtype}), "label",
                              max_samples_per_class=10, random_state=0)
        assert other.classes == text.classes, dtype
        np.testing.assert_array_equal(other.y, text.y)
    mixed = codes.astype({"code": object})
    mixed.loc[mixed.index[0], "code"] = True
    with pytest.raises(SamplesError, match=r"mixes value types \['bool', 'number'\]"):
        extract_samples(nc_cube, mixed, "code")


def test_bad_geometries_and_inputs(nc_cube, polygons, nc_polygons_path):
    lines = polygons.copy()
    lines.geometry = polygons.boundary
    with pytest.raises(SamplesError, match="LineString"):
        extract_samples(nc_cube, lines, "id")
    empty = polygons.copy()
    empty.loc[0, "geometry"] = shapely.Polygon()
    with pytest.raises(SamplesError, match="empty"):
        extract_samples(nc_cube, empty, "id")
    with pytest.raises(MissingCRSError, match=r"the samples have no CRS; set it with"):
        extract_samples(nc_cube, polygons.set_crs(None, allow_override=True), "id")
    from_path = quiet_extract(nc_cube, nc_polygons_path, "id", max_samples_per_class=5,
                              random_state=0)
    assert len(from_path.y) == 30
    with pytest.raises(FileNotFoundError, match=r"samples file not found: .*nope\.shp"):
        extract_samples(nc_cube, nc_polygons_path.with_name("nope.shp"), "id")
    with pytest.raises(TypeError, match="samples must be a GeoDataFrame .* got list"):
        extract_samples(nc_cube, polygons.geometry.to_list(), "id")
    with pytest.raises(ValueError, match="max_samples_per_class"):
        extract_samples(nc_cube, polygons, "id", max_samples_per_class=-3)


def test_rotated_grid_is_refused_before_a_pixel_is_read(tmp_path, no_compute):
    """A rotated GeoTIFF: each chunk's search box came from two corners only, so classes were
    dropped and counts changed with the chunking. Refused at call time, naming the transform
    and the fix; the suggested north-up warp trains with every class."""
    transform = rotated_transform(degrees=20)
    values = np.zeros((3, 48, 48), np.uint8)
    values[:, :, :24] = [[[40]], [[90]], [[30]]]
    values[:, :24, 24:] = [[[120]], [[60]], [[20]]]
    values[:, 24:, 24:] = [[[10]], [[30]], [[160]]]
    path = write_raster(tmp_path / "rotated.tif", values, transform=transform)
    cube = xr_landcover.open_image(path, band_names=["red", "green", "blue"], chunks=16)
    centres = [transform * (12.5, 24.5), transform * (36.5, 10.5), transform * (36.5, 36.5)]
    samples = gpd.GeoDataFrame({"id": [1, 2, 3]}, crs="EPSG:32618",
                               geometry=[shapely.Point(c).buffer(40) for c in centres])
    with pytest.raises(GridMismatchError, match=r"rotated or sheared .* b and d must be 0\)"
                                                r".*gdalwarp -of VRT in.tif north_up.vrt"):
        quiet_extract(cube, samples, "id")
    assert no_compute.calls == 0
    # the fix the message gives: GDAL's warper to a north-up grid (here through rasterio)
    from rasterio.vrt import WarpedVRT

    with rasterio.open(path) as src, WarpedVRT(src) as vrt:
        assert vrt.transform.b == vrt.transform.d == 0
        rasterio.shutil.copy(vrt, tmp_path / "north_up.tif", driver="GTiff")
    north_up = xr_landcover.open_image(tmp_path / "north_up.tif", nodata=0, chunks=16,
                                       band_names=["red", "green", "blue"])
    with dask.config.set(scheduler="sync"):
        found = quiet_extract(north_up, samples, "id")
    assert {c.value for c in found.classes} == {1, 2, 3}


def test_numeric_nodata_pixels_are_not_training_samples():
    """The NC scene opened with masked=False (int16, nodata -32768) gives the very pixels of
    the NaN-masked one: no pixel with nodata in any band (the agriculture polygon lies on
    nodata, so that class is dropped either way)."""
    polygons = datasets.nc_training_polygons()
    raw = xr_landcover.open_image(datasets.nc_landsat7_path(), chunks=128, masked=False)
    assert raw.dtype == np.int16 and raw.rio.nodata == -32768
    with pytest.warns(UserWarning, match="agriculture"):
        numeric = extract_samples(raw, polygons, "id", "label", max_samples_per_class=None)
    with pytest.warns(UserWarning, match="agriculture"):
        masked = extract_samples(datasets.nc_landsat7(chunks=128), polygons, "id", "label",
                                 max_samples_per_class=None)
    assert (numeric.X != -32768).all()
    np.testing.assert_array_equal(numeric.rows, masked.rows)
    np.testing.assert_array_equal(numeric.cols, masked.cols)
    np.testing.assert_array_equal(numeric.X, masked.X)
    assert numeric.available == masked.available


def test_repair_keeps_the_polygonal_parts_of_each_invalid_geometry():
    """Three invalid rows: a bowtie of area 0.5 (in degrees: small areas are areas too)
    becomes two triangles, a square with a spike the square alone (a Polygon, the spike's line
    dropped), a bowtie with a spike its two triangles (make_valid gives a collection of a
    MultiPolygon and the spike's line); one warning, in the plural, naming the first row's
    reason."""
    from xr_landcover.classification.samples import read_samples

    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    spiked = shapely.Polygon([(10, 10), (14, 10), (16, 10), (14, 10), (14, 14), (10, 14)])
    valid = shapely.box(20, 20, 21, 21)
    spiked_bowtie = shapely.Polygon([(30, 30), (32, 32), (32, 30), (30, 32), (30, 30),
                                     (29, 29)])
    assert shapely.make_valid(spiked_bowtie).geoms[0].geom_type == "MultiPolygon"
    samples = gpd.GeoDataFrame({"id": [1, 2, 3, 4]},
                               geometry=[bowtie, spiked, valid, spiked_bowtie], crs="EPSG:4326")
    with pytest.warns(UserWarning) as caught:
        repaired = read_samples(samples).geometry
    assert [str(w.message) for w in caught] == [
        "3 invalid sample geometries (rows [0, 1, 3]; first: Self-intersection[0.5 0.5]) "
        "repaired with shapely.make_valid; check them in a GIS"]
    assert repaired.iloc[0].geom_type == "MultiPolygon" and repaired.iloc[0].area == 0.5
    assert repaired.iloc[1].geom_type == "Polygon"
    assert repaired.iloc[1].normalize().equals(shapely.box(10, 10, 14, 14).normalize())
    assert repaired.iloc[2].equals(valid)
    assert repaired.iloc[3].geom_type == "MultiPolygon" and repaired.iloc[3].area == 2.0
    samples = samples.iloc[:3]
    every_kind = [shapely.box(0, 0, 1, 1), shapely.MultiPolygon([shapely.box(2, 2, 3, 3)]),
                  shapely.Point(5, 5), shapely.MultiPoint([(6, 6), (7, 7)])]
    assert list(read_samples(samples.assign(geometry=every_kind[:3])).geom_type) == [
        "Polygon", "MultiPolygon", "Point"]
    mixed = gpd.GeoDataFrame({"id": [1, 2, 3, 4]}, geometry=every_kind, crs="EPSG:4326")
    assert read_samples(mixed).geometry.equals(mixed.geometry)  # all four kinds at once
    holes = pd_concat(*[samples] * 5).reset_index(drop=True)
    holes.loc[holes.index[:12], "geometry"] = None
    with pytest.raises(SamplesError, match=r"missing or empty geometries \(rows \[0, 1, 2, 3, "
                                           r"4, 5, 6, 7, 8, 9\]\)"):
        read_samples(holes)
    # a NaN or infinite coordinate (a point or a polygon's vertex) is named, not left to GEOS
    # (make_valid raised a bare GEOSException)
    nan_xy = mixed.assign(geometry=[shapely.box(0, 0, 1, 1), shapely.Point(np.nan, 5),
                                    shapely.Point(6, 6),
                                    shapely.Polygon([(0, 0), (np.inf, 0), (1, 1)])])
    with pytest.raises(SamplesError, match=r"NaN or infinite coordinates \(rows \[1, 3\]\); "
                                           r"drop or fix those rows"):
        read_samples(nan_xy)
    with pytest.raises(SamplesError, match=r"coordinates \(rows \[0, 1, 2, 3, 4, 5, 6, 7, 8, "
                                           r"9\]\)"):  # the first ten of twelve
        read_samples(pd_concat(*[nan_xy.iloc[[1]]] * 12).reset_index(drop=True))


def test_max_samples_per_class_values():
    from xr_landcover.classification.samples import check_cap

    assert [check_cap(c) for c in (None, 0, np.int64(0), 1, np.int32(5), 80)] == [
        None, None, None, 1, 5, 80]
    for bad in (True, 2.5, "5", np.float64(3)):
        with pytest.raises(InvalidInputTypeError, match="max_samples_per_class must be a whole"):
            check_cap(bad)
    for bad in (-1, -80):
        with pytest.raises(InvalidParameterError, match=f"positive whole number.*got {bad}"):
            check_cap(bad)


def test_class_values_names_and_fields_at_their_limits(nc_cube, polygons):
    """Class values 0 and 65534 are classes (65535 and -1 are refused); a value named twice is
    refused whatever order the names come in; text mixed with booleans is refused; missing
    fields are listed with every column; ArcGIS's fields in any case; columns that sort
    around 'Red', 'Green' and 'Blue' are not colour fields."""
    ids = sorted(set(polygons["id"]))
    limits = polygons.assign(id=polygons["id"].map({ids[0]: 0, ids[2]: 65534}).fillna(7),
                             area=1.0, zone="z")
    s = quiet_extract(nc_cube, limits, "id", max_samples_per_class=5, random_state=0)
    assert [c.value for c in s.classes] == [0, 7, 65534]
    plain = quiet_extract(nc_cube, limits.drop(columns=["area", "zone"]), "id",
                          max_samples_per_class=5, random_state=0)
    assert s.classes == plain.classes  # 'area' and 'zone' are not colours
    for bad, shown in ((65535, "0..65535"), (-1, "-1..65534")):
        limits.loc[limits.index[2], "id"] = bad
        with pytest.raises(SamplesError, match=rf"0\.\.65534; 'id' has {shown}"):
            extract_samples(nc_cube, limits, "id")
        limits.loc[limits.index[2], "id"] = 65534
    for first, second in (("a", "b"), ("b", "a")):
        twice = polygons.copy()
        twice.loc[twice.index[1], "id"] = twice.loc[twice.index[0], "id"]
        twice.loc[twice.index[0], "label"], twice.loc[twice.index[1], "label"] = first, second
        with pytest.raises(SamplesError, match=f"several names in 'label': '{first}' and "
                                               f"'{second}'"):
            extract_samples(nc_cube, twice, "id", "label")
    mixed = polygons.astype({"label": object})
    mixed.loc[mixed.index[0], "label"] = False
    with pytest.raises(SamplesError, match=r"mixes value types \['bool', 'text'\]"):
        extract_samples(nc_cube, mixed, "label")
    with pytest.raises(SamplesError, match=r"'klass' is not a column of the samples; columns: "
                                           r"\['label', 'id', 'area', 'zone'\]"):
        extract_samples(nc_cube, limits, "klass")
    nulls = pd_concat(*[polygons] * 2).astype({"id": "float64"}).reset_index(drop=True)
    nulls.loc[nulls.index[:12], "id"] = np.nan
    with pytest.raises(SamplesError, match=r"null values \(rows \[0, 1, 2, 3, 4, 5, 6, 7, 8, "
                                           r"9\]\)"):
        extract_samples(nc_cube, nulls, "id")
    arc = polygons.rename(columns={"id": "Classvalue", "label": "Classname"})
    named = quiet_extract(nc_cube, arc, name_field="CLASSNAME", max_samples_per_class=5)
    assert [c.name for c in named.classes][:2] == ["developed", "herbaceous"]
    with pytest.raises(SamplesError, match="name_field 'nom' is not a column"):
        extract_samples(nc_cube, arc, name_field="nom")


def test_every_block_of_a_wide_or_tall_image_is_read():
    """Blocks are cut by each axis's own chunks: samples in the far corner of an image much
    wider than high (or higher than wide) are found, in every chunking."""
    x0, y0, res = 500000.0, 4000000.0, 10.0
    for ny, nx in ((6, 30), (30, 6)):
        values = np.arange(2 * ny * nx, dtype=np.float32).reshape(2, ny, nx)
        near = shapely.box(x0, y0 - 2 * res, x0 + 2 * res, y0)
        far = shapely.box(x0 + (nx - 2) * res, y0 - ny * res, x0 + nx * res,
                          y0 - (ny - 2) * res)
        gdf = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[near, far], crs="EPSG:32618")
        for chunks in (None, {"y": 4, "x": 7}, {"y": 5, "x": 3}):
            cube = synthetic_cube(values, origin=(x0, y0), res=res, chunks=chunks)
            s = extract_samples(cube, gdf, "id", max_samples_per_class=None)
            corner = s.y == 2
            assert sorted(zip(s.rows[corner].tolist(), s.cols[corner].tolist())) == [
                (r, c) for r in (ny - 2, ny - 1) for c in (nx - 2, nx - 1)], (ny, nx, chunks)
            np.testing.assert_array_equal(s.X, values[:, s.rows, s.cols].T)


def test_samples_on_the_first_row_and_column_and_a_numeric_nodata_above_the_data():
    """Pixels of the image's first row and column are samples, in every chunking; a nodata
    value above the data (255 in a uint8 cube) drops its pixels only; the warnings and errors
    of dropped classes name them in the singular and the plural; the error's image bounds
    are in tenths."""
    values = np.arange(3 * 12 * 12, dtype=np.uint8).reshape(3, 12, 12) % 200
    values[:, 1, 1] = 255
    origin = (500000.25, 4000000.75)
    boxes = [shapely.box(500000.25, 4000000.75 - 30, 500000.25 + 30, 4000000.75),  # 3 x 3
             shapely.box(500000.25 + 60, 4000000.75 - 60, 500000.25 + 80, 4000000.75 - 40)]
    far = [shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10)]
    gdf = gpd.GeoDataFrame({"id": [1, 2, 3, 4]}, geometry=boxes + far, crs="EPSG:32618")
    for chunks in (None, 12, 5, {"band": 1, "y": 2, "x": 7}):
        cube = synthetic_cube(values, origin=origin, nodata=255, chunks=chunks)
        with pytest.warns(UserWarning) as caught:
            s = extract_samples(cube, gdf, "id", max_samples_per_class=None)
        assert [str(w.message) for w in caught if "dropped" in str(w.message)] == [
            "classes 3 'class 3', 4 'class 4' are dropped: none of their samples covers a "
            "valid pixel (outside the image, on nodata, or smaller than a pixel)"], chunks
        first = s.y == 1
        assert sorted(zip(s.rows[first].tolist(), s.cols[first].tolist())) == [
            (r, c) for r in range(3) for c in range(3) if (r, c) != (1, 1)], chunks
        assert (s.y == 2).sum() == 4
        np.testing.assert_array_equal(s.X, values[:, s.rows, s.cols].T)
    with pytest.warns(UserWarning, match=r"^class 3 'class 3' is dropped: none of its samples"):
        extract_samples(cube, gdf.iloc[[0, 1, 2]], "id")
    with pytest.raises(NoSamplesError, match=r"image bounds \(500000\.2, 3999880\.8, "
                                             r"500120\.2, 4000000\.8\) in its CRS"):
        extract_samples(cube, gdf.iloc[[2, 3]], "id")
