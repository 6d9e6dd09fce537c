"""Every bad input gives a LandcoverError that is also the natural built-in, with a clear message.

One table (``CASES``): each row is one bad input, the error class expected (a
:class:`~xr_landcover.LandcoverError` subclass), the built-in it must also be, and the words its
message must contain (the argument's name, what was found, what is expected). Rows marked
``lazy`` run under a dask scheduler that fails on any compute: the check happens at call time.

Inventory: categories and where each bad input is tested (``E`` = this file, row id).

files
    missing (E file-missing; test_io::test_missing_file), not a raster (E file-not-a-raster,
    file-empty; test_io::test_not_a_raster), a folder (test_io::test_folder_is_not_a_raster),
    truncated (E file-truncated-header; test_io::test_truncated_file: cut in the pixels),
    corrupt block (test_io::test_corrupt_block_names_file_and_window, test_faults), grids differ
    (E file-grid-origin, file-grid-crs, file-grid-size; test_io::test_grid_mismatch_names_both_
    grids), no CRS (E file-no-crs-train, file-no-crs-classify; test_samples::test_bad_geometries
    _and_inputs), no band dim (E no-band-dim-classify, no-band-dim-train, no-band-dim-segment,
    time-dim-train, time-dim-segment, time-dim-geotiff; test_io::test_accessor_rejects_non_cube),
    wrong type (E cube-numpy; test_io::test_bad_path_type), band_names length
    (test_io::test_band_names_argument; test_stac::test_band_names_must_match_band_count).
samples
    empty (E samples-empty), all outside (E samples-all-outside), lines (E samples-lines;
    test_samples::test_bad_geometries_and_inputs), invalid geometry: a bowtie is repaired with a
    warning (test_bowtie_is_repaired_with_a_warning), one with no area is refused (E samples-no-
    area), empty geometry (E samples-empty-geometry), null class (E samples-null-class;
    test_samples::test_field_resolution), mixed types (E samples-mixed-types), float / negative /
    boolean class values (E samples-float-class, samples-negative-class, samples-bool-class), a
    single class (E samples-single-class), a class with no valid pixel (E samples-class-on-nodata;
    warning: test_samples::test_class_outside_image_dropped_with_warning), field missing
    (E samples-field-missing, samples-name-field-missing; test_samples::test_field_resolution),
    ambiguous field (test_samples::test_field_resolution), two names for one value
    (E samples-two-names), no CRS (E samples-no-crs), wrong type (E samples-wrong-type), file
    missing (E samples-file-missing), not a vector file (E samples-not-vector).
bands
    fewer (E bands-fewer; test_classify::test_bands_matched_by_name), more (E bands-more), names
    differ (E bands-renamed), order differs: matched by name, same labels
    (test_band_order_is_matched_by_name; test_classify::test_bands_matched_by_name), band index
    out of range (E bands-index-out-of-range, attributes-band-out-of-range; test_segment::test_
    bad_parameters_raise_at_call_time), unknown band name (E bands-unknown-name).
parameters
    detail out of [1, 20] (E detail-too-high, detail-too-low; test_segment), wrong type
    (E detail-wrong-type, cap-wrong-type, model-wrong-type, estimator-no-fit),
    negative sizes (E min-segment-size-negative, chunks-negative, tile-size-negative,
    cap-negative), unknown method / kernel (E method-unknown, kernel-unknown; test_model::test_
    method_estimators_and_parameters), confidence without predict_proba (test_classify::test_
    confidence_needs_predict_proba), change dates and units (test_change::test_errors), plot
    parameters (test_plot::test_plot_rgb_bad_parameters, test_overview_rejects_bad_max_pixels),
    accuracy area parameters (test_report::test_area_estimates_errors).
models
    garbage (E model-garbage), a pickle (E model-pickle; test_model::test_load_refuses_pickles_
    without_running_them), tampered (E model-tampered), newer version (E model-newer), not an
    xr_landcover model (test_model::test_load_garbage_truncated_foreign_newer_and_other_
    formats), missing
    (E model-missing), untrusted types (test_model::test_load_refuses_untrusted_
    types, test_faults::test_crafted_skops_*), object-based model used per pixel (E object-model-
    per-pixel, pixel-model-with-segments).
outputs
    folder missing (E out-folder-missing), not writable (E out-under-a-file, out-read-only-fs),
    exists without overwrite (E out-exists, model-save-exists), model saved under a file
    (E model-save-under-a-file); CLI exit codes: test_cli.
STAC
    no items in bbox (E stac-bbox-outside), missing asset (E stac-missing-asset), unknown id
    (E stac-unknown-id), empty (E stac-empty), bad JSON / wrong type (test_stac::test_errors).
accuracy
    reference outside the map (E accuracy-outside), no common class (E accuracy-no-common-class),
    lines (E accuracy-lines), raster reference missing (E accuracy-raster-missing), a band cube as
    map (E accuracy-map-is-a-cube), all on nodata and no CRS (test_accuracy).

Wave 2, real-world inputs (issue 14), one list per area:

undeclared fill and scale (warnings, not errors)
    a model applies its training nodata (test_classify::test_model_applies_its_training_nodata_
    to_a_cube_that_declares_none, test_cli::test_classify_applies_the_nodata_the_model_was_
    trained_with), undeclared fill warned from a cheap sample (test_classify::test_undeclared_
    fill_warns_once_from_a_cheap_sample, test_segment::test_stretch_ignores_a_fill_spike_and_
    warns_of_undeclared_fill, test_plot::test_plot_rgb_warns_once_of_undeclared_fill), a cube on
    another scale (test_classify::test_cube_on_another_scale_is_warned_about).
band identity (FILL_BANDS_MODEL_CASES)
    duplicate names (E classify-, train-, segment-, plot-rgb-duplicate-band-names), integer
    labels given as positions (E segment-, plot-rgb-integer-labels-position-given;
    test_classify::test_integer_band_labels_select_by_label_not_position).
models (FILL_BANDS_MODEL_CASES)
    contradicting their estimator (E model-bands-contradict-estimator, model-classes-contradict-
    estimator, model-band-listed-twice), zip bombs (E model-zip-bomb, model-max-bytes-not-a-
    number; test_faults::test_zip_*).
outputs (OUTPUT_CASES)
    zarr onto what is not our store (E zarr-overwrite-a-plain-folder, zarr-overwrite-another-
    tools-store, zarr-overwrite-a-file), a folder at the path (E geotiff-overwrite-a-folder,
    model-save-overwrite-a-folder), empty / None paths (E geotiff-path-empty, geotiff-path-none,
    zarr-store-none, zarr-store-empty), parameters (E geotiff-tile-size-str, geotiff-compress-
    unknown, geotiff-compress-lossy, geotiff-compress-none-object, geotiff-dtype-unsupported,
    geotiffs-layers-not-a-mapping); stale stages after SIGKILL, disk full, the final copy
    interrupted (test_faults::test_sigkill_*, test_disk_full_*); several outputs checked first
    (test_cli::test_classify_refuses_an_existing_confidence_file_before_writing_the_map and
    the tests after it); a Dataset's layers to one file (E dataset-geotiff-target-one-file).
rotated grids, not class maps, STAC, raw dependency errors (INPUT_CASES)
    rotated or sheared (E rotated-train, -classify, -segment, -segment-mean, -segments-of-
    attributes, -class-areas, -accuracy, -plot), float references and maps (E accuracy-float-
    reference-raster, class-areas-float-fraction, geotiff-masked-map-with-fractions), the
    confidence layer (E accuracy-confidence-as-map, points-confidence-as-map, class-areas-
    confidence), time steps (E class-areas-two-leading-dims; test_classmap::test_class_areas_one_
    table_per_time_step, test_class_areas_on_a_geographic_crs_are_geodesic), STAC (E stac-no-
    geometry-bbox-outside, stac-asset-file-missing, stac-asset-not-a-raster, stac-item-no-
    assets, stac-item-assets-a-list), references that are no file of their kind (E accuracy-
    reference-not-a-vector, accuracy-reference-not-a-raster), +inf (E segment-infinite-values),
    no classifier (E estimator-kmeans, estimator-regressor), a Dataset where a DataArray goes
    (E dataset-calls-a-cube-method, dataset-cube-unknown-band), CLI wording
    (test_cli::test_unknown_bands_list_the_bands_the_file_has, test_errors_give_the_command_
    line_fix_not_python_advice).
"""

from __future__ import annotations

import os
import pickle
import warnings
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import dask
import geopandas as gpd
import numpy as np
import pytest
import shapely
import xarray as xr
from conftest import CountingScheduler, synthetic_cube, write_raster
from helpers import deflated_zeros, write_zip
from sklearn.cluster import KMeans
from sklearn.linear_model import LinearRegression

import xr_landcover
from xr_landcover import errors as E
from xr_landcover.classification.model import FORMAT_VERSION, LandcoverModel
from xr_landcover.segment import segment

ORIGIN = (500000.0, 4000000.0)
RES = 10.0
N = 48
BANDS = ["red", "green", "blue"]


def pixel_box(c0, r0, c1, r1):
    x0, y0 = ORIGIN
    return shapely.box(x0 + RES * c0, y0 - RES * r1, x0 + RES * c1, y0 - RES * r0)


def make_values() -> np.ndarray:
    """Three bands, three spectrally distinct zones, a nodata (NaN) corner."""
    rng = np.random.default_rng(0)
    values = rng.normal(60.0, 4.0, (3, N, N)).astype(np.float32)
    values[:, :, N // 2:] += np.array([80.0, 20.0, -30.0], np.float32)[:, None, None]
    values[:, N // 2:, N // 2:] += np.array([-40.0, 60.0, 10.0], np.float32)[:, None, None]
    values[:, :8, :8] = np.nan
    return values


def make_cube(values=None, chunks=16) -> xr.DataArray:
    values = make_values() if values is None else values
    return synthetic_cube(values, bands=BANDS[:values.shape[0]], origin=ORIGIN, res=RES,
                          chunks={"band": -1, "y": chunks, "x": chunks})


def make_polygons() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [1, 1, 2, 3], "name": ["water", "water", "forest", "crops"]},
        geometry=[pixel_box(10, 12, 20, 22), pixel_box(10, 30, 20, 40), pixel_box(30, 5, 44, 15),
                  pixel_box(30, 30, 44, 44)],
        crs="EPSG:32618",
    )


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp("bad_inputs")
    cube = make_cube()
    polygons = make_polygons()
    model = quiet(xr_landcover.train, cube, polygons, "id", "name", method="random_trees",
                  random_state=0, n_estimators=5)
    raw = np.nan_to_num(make_values(), nan=0).astype("uint8")
    good = write_raster(tmp / "a.tif", raw)
    shifted = write_raster(tmp / "shifted.tif", raw, origin=(ORIGIN[0] + 5, ORIGIN[1]))
    other_crs = write_raster(tmp / "utm19.tif", raw, crs="EPSG:32619")
    smaller = write_raster(tmp / "small.tif", raw[:, :40, :40])
    no_crs = write_raster(tmp / "nocrs.tif", raw, crs=None)
    notes = tmp / "notes.tif"
    notes.write_text("this is not a GeoTIFF")
    empty = tmp / "empty.tif"
    empty.write_bytes(b"")
    cut = tmp / "cut.tif"
    cut.write_bytes(good.read_bytes()[:64])
    a_file = tmp / "file.txt"
    a_file.write_text("a regular file")
    exists = tmp / "exists.tif"
    exists.write_bytes(b"keep me")
    good_model = model.save(tmp / "good.skops")
    data = good_model.read_bytes()
    garbage = tmp / "garbage.skops"
    garbage.write_bytes(b"\x00\x01not a model at all" * 40)
    pickled = tmp / "pickled.skops"
    pickled.write_bytes(pickle.dumps({"estimator": "anything"}))
    tampered = tmp / "tampered.skops"
    middle = len(data) // 2
    tampered.write_bytes(data[:middle] + bytes(b ^ 0xFF for b in data[middle:middle + 64])
                         + data[middle + 64:])
    newer = tmp / "newer.skops"
    import skops.io as sio

    payload = model._payload()
    payload["format_version"] = FORMAT_VERSION + 1
    sio.dump(payload, newer)
    not_vector = tmp / "samples.gpkg"
    not_vector.write_text("not a vector file")
    class_map = xr_landcover.classify(cube, model)
    item = xr_landcover.stac_item_from_rasters("scene", {"red": good}, "2020-05-18")
    return SimpleNamespace(
        tmp=tmp, cube=cube, polygons=polygons, model=model, good=good, shifted=shifted,
        other_crs=other_crs, smaller=smaller, no_crs=no_crs, notes=notes, empty=empty, cut=cut,
        a_file=a_file, exists=exists, garbage=garbage, pickled=pickled, tampered=tampered,
        newer=newer, not_vector=not_vector, numpy_cube=make_values(), class_map=class_map,
        items=[item],
    )


@dataclass
class Case:
    call: Callable[[SimpleNamespace], object]
    error: type[E.LandcoverError]
    builtin: type[BaseException]
    words: tuple[str, ...]
    lazy: bool = True


def far_away(env):
    return env.polygons.set_geometry(env.polygons.translate(1e5, 1e5))


def polys(env, **columns):
    gdf = env.polygons.copy()
    for k, v in columns.items():
        gdf[k] = v
    return gdf


def train(env, samples, *args, **kwargs):
    return quiet(xr_landcover.train, env.cube, samples, *args, method="random_trees", **kwargs)


def object_model(env):
    rows, cols = np.mgrid[0:N, 0:N]
    seg = env.cube.isel(band=0, drop=True).copy(data=1 + (rows // 4) * N + cols // 4)
    return quiet(xr_landcover.train, env.cube, env.polygons, "id", method="random_trees",
                 segments=seg, n_estimators=5, random_state=0)


def _object_model_per_pixel(env):
    with dask.config.set(scheduler="sync"):  # training reads the segments: allowed here
        model = object_model(env)
    with dask.config.set(scheduler=CountingScheduler(forbid=True)):
        xr_landcover.classify(env.cube, model)


def _pixel_model_with_segments(env):
    seg = xr.zeros_like(env.cube.isel(band=0, drop=True), dtype=np.int64) + 1
    xr_landcover.classify(env.cube, env.model, segments=seg)


def _read_only_folder() -> Path:
    """A folder on a file system where even root cannot create files (sysfs)."""
    folder = Path("/sys")
    with pytest.raises(OSError):  # the premise of the test case, checked rather than assumed
        (folder / "xrl_probe").touch()
    return folder


CASES = [
    # -- files ------------------------------------------------------------------------------
    pytest.param(Case(lambda e: xr_landcover.open_image(e.tmp / "nope.tif"),
                      E.RasterFileNotFoundError, FileNotFoundError, ("not found", "nope.tif")),
                 id="file-missing"),
    pytest.param(Case(lambda e: xr_landcover.open_image(e.notes),
                      E.RasterReadError, OSError, ("cannot read", "notes.tif", "as a raster")),
                 id="file-not-a-raster"),
    pytest.param(Case(lambda e: xr_landcover.open_image(e.empty),
                      E.RasterReadError, OSError, ("cannot read", "empty.tif")),
                 id="file-empty"),
    pytest.param(Case(lambda e: xr_landcover.open_image(e.cut),
                      E.RasterReadError, OSError, ("cannot read", "cut.tif", "not corrupt")),
                 id="file-truncated-header"),
    pytest.param(Case(lambda e: xr_landcover.open_image([e.good, e.shifted]),
                      E.GridMismatchError, ValueError,
                      ("not on one pixel grid", "a.tif", "shifted.tif", "origin (500005.000")),
                 id="file-grid-origin"),
    pytest.param(Case(lambda e: xr_landcover.open_image([e.good, e.other_crs]),
                      E.GridMismatchError, ValueError, ("EPSG:32618", "EPSG:32619", "utm19.tif")),
                 id="file-grid-crs"),
    pytest.param(Case(lambda e: xr_landcover.open_image([e.good, e.smaller]),
                      E.GridMismatchError, ValueError, ("48x48 px", "40x40 px", "never resamples")),
                 id="file-grid-size"),
    pytest.param(Case(lambda e: quiet(xr_landcover.train, xr_landcover.open_image(e.no_crs),
                                      e.polygons, "id"),
                      E.MissingCRSError, ValueError, ("no CRS", "write_crs")),
                 id="file-no-crs-train"),
    pytest.param(Case(lambda e: xr_landcover.classify(
        xr_landcover.open_image(e.no_crs, band_names=BANDS), e.model),
                      E.MissingCRSError, ValueError, ("no CRS", "write_crs")),
                 id="file-no-crs-classify"),
    pytest.param(Case(lambda e: xr_landcover.classify(e.cube.isel(band=0), e.model),
                      E.DimensionError, ValueError, ("'band'", "('y', 'x')")),
                 id="no-band-dim-classify"),
    pytest.param(Case(lambda e: quiet(xr_landcover.train, e.cube.isel(band=0), e.polygons,
                                      "id"),
                      E.DimensionError, ValueError, ("('band', 'y', 'x')", "('y', 'x')")),
                 id="no-band-dim-train"),
    pytest.param(Case(lambda e: segment(e.cube.isel(band=0)),
                      E.DimensionError, ValueError, ("missing ['band']",)),
                 id="no-band-dim-segment"),
    pytest.param(Case(lambda e: quiet(xr_landcover.train, e.cube.expand_dims(time=2),
                                      e.polygons, "id"),
                      E.DimensionError, ValueError, ("time", "isel(time=0)")),
                 id="time-dim-train"),
    pytest.param(Case(lambda e: segment(e.cube.expand_dims(time=2)),
                      E.DimensionError, ValueError, ("extra dims ['time']", "isel(time=0)")),
                 id="time-dim-segment"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map.expand_dims(time=2),
                                                        e.tmp / "t.tif"),
                      E.DimensionError, ValueError, ("time", "isel(time=0)")),
                 id="time-dim-geotiff"),
    pytest.param(Case(lambda e: xr_landcover.classify(e.numpy_cube, e.model),
                      E.InvalidInputTypeError, TypeError, ("cube", "DataArray", "ndarray")),
                 id="cube-numpy"),
    # -- samples ----------------------------------------------------------------------------
    pytest.param(Case(lambda e: train(e, e.polygons.iloc[:0], "id"),
                      E.NoSamplesError, ValueError, ("samples", "no rows")),
                 id="samples-empty"),
    pytest.param(Case(lambda e: train(e, far_away(e), "id"),
                      E.NoSamplesError, ValueError,
                      ("no valid pixel", "inside the image", "image bounds (500000.0")),
                 id="samples-all-outside"),
    pytest.param(Case(lambda e: train(e, e.polygons.set_geometry(e.polygons.boundary), "id"),
                      E.SamplesError, ValueError, ("polygons or points", "LineString", "buffer")),
                 id="samples-lines"),
    pytest.param(Case(lambda e: train(e, e.polygons.set_geometry(
        [shapely.Polygon([(500100, 3999900), (500200, 3999800), (500300, 3999700)])]
        + list(e.polygons.geometry[1:])), "id"),
                      E.SamplesError, ValueError, ("row 0", "invalid", "no area")),
                 id="samples-no-area"),
    pytest.param(Case(lambda e: train(e, e.polygons.set_geometry(
        [shapely.Polygon()] + list(e.polygons.geometry[1:])), "id"),
                      E.SamplesError, ValueError, ("empty geometries", "rows [0]")),
                 id="samples-empty-geometry"),
    pytest.param(Case(lambda e: train(e, polys(e, id=[1, None, 2, 3]), "id"),
                      E.SamplesError, ValueError, ("class field 'id'", "null values", "rows [1]")),
                 id="samples-null-class"),
    pytest.param(Case(lambda e: train(e, polys(e, code=pd_object([1, "forest", 2, 3])), "code"),
                      E.SamplesError, ValueError, ("class field 'code'", "mixes", "text")),
                 id="samples-mixed-types"),
    pytest.param(Case(lambda e: train(e, polys(e, id=[1.0, 1.5, 2.0, 3.0]), "id"),
                      E.SamplesError, ValueError, ("class field 'id'", "whole numbers")),
                 id="samples-float-class"),
    pytest.param(Case(lambda e: train(e, polys(e, id=[-1, -1, 2, 3]), "id"),
                      E.SamplesError, ValueError, ("0..65534", "'id' has -1..3")),
                 id="samples-negative-class"),
    pytest.param(Case(lambda e: train(e, polys(e, id=[True, True, False, True]), "id"),
                      E.SamplesError, ValueError, ("class field 'id'", "boolean")),
                 id="samples-bool-class"),
    pytest.param(Case(lambda e: train(e, polys(e, id=[4, 4, 4, 4]), "id"),
                      E.SamplesError, ValueError,
                      ("at least two classes", "class field 'id'", "['class 4']")),
                 id="samples-single-class"),
    pytest.param(Case(lambda e: train(e, e.polygons.set_geometry(
        [pixel_box(1, 1, 6, 6), pixel_box(1, 1, 6, 6)] + list(e.polygons.geometry[2:])
    ).iloc[[0, 1, 2]], "id"),
                      E.SamplesError, ValueError,
                      ("at least two classes with valid pixels", "found 1", "dropped: ['class 1']"),
                      lazy=False),
                 id="samples-class-on-nodata"),
    pytest.param(Case(lambda e: train(e, e.polygons, "klass"),
                      E.SamplesError, ValueError,
                      ("class_field 'klass'", "not a column", "['id', 'name']")),
                 id="samples-field-missing"),
    pytest.param(Case(lambda e: train(e, e.polygons, "id", "label"),
                      E.SamplesError, ValueError, ("name_field 'label'", "not a column")),
                 id="samples-name-field-missing"),
    pytest.param(Case(lambda e: train(e, polys(e, name=["water", "lake", "forest", "crops"]),
                                      "id", "name"),
                      E.SamplesError, ValueError, ("class value 1", "'water' and 'lake'")),
                 id="samples-two-names"),
    pytest.param(Case(lambda e: train(e, e.polygons.set_crs(None, allow_override=True), "id"),
                      E.MissingCRSError, ValueError, ("samples have no CRS", "set_crs")),
                 id="samples-no-crs"),
    pytest.param(Case(lambda e: train(e, list(e.polygons.geometry), "id"),
                      E.InvalidInputTypeError, TypeError, ("samples", "GeoDataFrame", "list")),
                 id="samples-wrong-type"),
    pytest.param(Case(lambda e: train(e, e.tmp / "nope.shp", "id"),
                      E.RasterFileNotFoundError, FileNotFoundError, ("samples", "nope.shp")),
                 id="samples-file-missing"),
    pytest.param(Case(lambda e: train(e, e.not_vector, "id"),
                      E.SamplesError, ValueError, ("cannot read", "samples.gpkg", "vector")),
                 id="samples-not-vector"),
    # -- bands ------------------------------------------------------------------------------
    pytest.param(Case(lambda e: xr_landcover.classify(e.cube.isel(band=[0, 1]), e.model),
                      E.BandMismatchError, ValueError,
                      ("['red', 'green']", "model's ['red', 'green', 'blue']",
                       "missing: ['blue']")),
                 id="bands-fewer"),
    pytest.param(Case(lambda e: xr_landcover.classify(xr.concat(
        [e.cube, e.cube.isel(band=[0]).assign_coords(band=["nir"])], "band"), e.model),
                      E.BandMismatchError, ValueError, ("not in the model: ['nir']",)),
                 id="bands-more"),
    pytest.param(Case(lambda e: xr_landcover.classify(
        e.cube.assign_coords(band=["1", "2", "3"]), e.model),
                      E.BandMismatchError, ValueError,
                      ("['1', '2', '3']", "missing: ['red', 'green', 'blue']", "assign_coords")),
                 id="bands-renamed"),
    pytest.param(Case(lambda e: segment(e.cube, bands=[0, 1, 7]),
                      E.InvalidParameterError, ValueError,
                      ("bands", "index 7", "out of range", "3 bands")),
                 id="bands-index-out-of-range"),
    pytest.param(Case(lambda e: segment(e.cube, bands=["red", "nir", "blue"]),
                      E.InvalidParameterError, ValueError, ("bands", "'nir'", "'red'")),
                 id="bands-unknown-name"),
    pytest.param(Case(lambda e: xr_landcover.segment_attributes(
        e.cube, xr.ones_like(e.cube.isel(band=0, drop=True), dtype=np.int64), bands=[7]),
                      E.InvalidParameterError, ValueError, ("bands", "7", "out of range")),
                 id="attributes-band-out-of-range"),
    # -- parameters -------------------------------------------------------------------------
    pytest.param(Case(lambda e: segment(e.cube, spectral_detail=21),
                      E.InvalidParameterError, ValueError, ("spectral_detail", "[1, 20]", "21")),
                 id="detail-too-high"),
    pytest.param(Case(lambda e: segment(e.cube, spatial_detail=0),
                      E.InvalidParameterError, ValueError, ("spatial_detail", "[1, 20]", "got 0")),
                 id="detail-too-low"),
    pytest.param(Case(lambda e: segment(e.cube, spectral_detail="high"),
                      E.LandcoverError, TypeError, ("spectral_detail", "'high'")),
                 id="detail-wrong-type"),
    pytest.param(Case(lambda e: segment(e.cube, min_segment_size=-5),
                      E.InvalidParameterError, ValueError, ("min_segment_size", ">= 1", "-5")),
                 id="min-segment-size-negative"),
    pytest.param(Case(lambda e: xr_landcover.open_image(e.good, chunks=-5),
                      E.InvalidParameterError, ValueError, ("chunks", "positive", "-5")),
                 id="chunks-negative"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, e.tmp / "c.tif",
                                                        tile_size=-256),
                      E.InvalidParameterError, ValueError, ("tile_size", "multiple of 16", "-256")),
                 id="tile-size-negative"),
    pytest.param(Case(lambda e: train(e, e.polygons, "id", max_samples_per_class=-3),
                      E.InvalidParameterError, ValueError, ("max_samples_per_class", "-3")),
                 id="cap-negative"),
    pytest.param(Case(lambda e: train(e, e.polygons, "id", max_samples_per_class="lots"),
                      E.InvalidInputTypeError, TypeError,
                      ("max_samples_per_class", "whole number", "str 'lots'")),
                 id="cap-wrong-type"),
    pytest.param(Case(lambda e: quiet(xr_landcover.train, e.cube, e.polygons, "id",
                                      method="neural"),
                      E.InvalidParameterError, ValueError,
                      ("method must be one of", "random_trees", "'neural'")),
                 id="method-unknown"),
    pytest.param(Case(lambda e: segment(e.cube, kernel="gauss"),
                      E.InvalidParameterError, ValueError, ("kernel", "'product'", "'gauss'")),
                 id="kernel-unknown"),
    pytest.param(Case(lambda e: xr_landcover.classify(e.cube, "model.skops"),
                      E.InvalidInputTypeError, TypeError, ("model", "LandcoverModel", "str")),
                 id="model-wrong-type"),
    pytest.param(Case(lambda e: quiet(xr_landcover.train, e.cube, e.polygons, "id",
                                      estimator=object()),
                      E.InvalidInputTypeError, TypeError, ("estimator", "fit and predict",
                                                          "object")),
                 id="estimator-no-fit"),
    # -- models -----------------------------------------------------------------------------
    pytest.param(Case(lambda e: LandcoverModel.load(e.garbage),
                      E.ModelFileError, ValueError, ("garbage.skops", "not an xr_landcover model")),
                 id="model-garbage"),
    pytest.param(Case(lambda e: LandcoverModel.load(e.pickled),
                      E.ModelFileError, ValueError, ("pickled.skops", "Pickle", "refused")),
                 id="model-pickle"),
    pytest.param(Case(lambda e: LandcoverModel.load(e.tampered),
                      E.ModelFileError, ValueError, ("tampered.skops", "model file")),
                 id="model-tampered"),
    pytest.param(Case(lambda e: LandcoverModel.load(e.newer),
                      E.ModelFileError, ValueError,
                      (f"model format {FORMAT_VERSION + 1}", "newer", "upgrade")),
                 id="model-newer"),
    pytest.param(Case(lambda e: LandcoverModel.load(e.tmp / "none.skops"),
                      E.ModelFileError, FileNotFoundError, ("not found", "none.skops")),
                 id="model-missing"),
    pytest.param(Case(_object_model_per_pixel, E.InvalidParameterError, ValueError,
                      ("classifies segments", "segments=seg")),
                 id="object-model-per-pixel"),
    pytest.param(Case(_pixel_model_with_segments, E.InvalidParameterError, ValueError,
                      ("trained on pixels", "without segments=")),
                 id="pixel-model-with-segments"),
    # -- outputs ----------------------------------------------------------------------------
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, e.tmp / "no" / "out.tif"),
                      E.RasterFileNotFoundError, FileNotFoundError, ("output folder", "does not "
                                                                     "exist")),
                 id="out-folder-missing"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, e.a_file / "out.tif"),
                      E.OutputNotWritableError, PermissionError,
                      ("file.txt/out.tif", "is a file, not a folder")),
                 id="out-under-a-file"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map,
                                                        _read_only_folder() / "out.tif"),
                      E.OutputNotWritableError, PermissionError,
                      ("/sys/out.tif", "creating a file in '/sys' failed", "writable")),
                 id="out-read-only-fs"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, e.exists),
                      E.OutputExistsError, FileExistsError, ("exists.tif", "overwrite=True")),
                 id="out-exists"),
    pytest.param(Case(lambda e: e.model.save(e.exists),
                      E.OutputExistsError, FileExistsError, ("exists.tif", "overwrite=True")),
                 id="model-save-exists"),
    pytest.param(Case(lambda e: e.model.save(e.a_file / "m.skops"),
                      E.OutputNotWritableError, PermissionError, ("file.txt", "not a folder")),
                 id="model-save-under-a-file"),
    # -- STAC -------------------------------------------------------------------------------
    pytest.param(Case(lambda e: xr_landcover.load_stac(e.items, bbox=(10.0, 10.0, 11.0, 11.0)),
                      E.STACError, ValueError,
                      ("bbox", "(10.0, 10.0, 11.0, 11.0)", "touches none")),
                 id="stac-bbox-outside"),
    pytest.param(Case(lambda e: xr_landcover.load_stac(e.items, bands=["nir"]),
                      E.STACError, ValueError, ("['nir']", "not assets", "available: ['red'")),
                 id="stac-missing-asset"),
    pytest.param(Case(lambda e: xr_landcover.load_stac(e.items, ids=["other"]),
                      E.STACError, ValueError, ("no STAC item with id ['other']", "['scene']")),
                 id="stac-unknown-id"),
    pytest.param(Case(lambda e: xr_landcover.load_stac([]),
                      E.STACError, ValueError, ("no STAC items", "empty")),
                 id="stac-empty"),
    # -- accuracy ---------------------------------------------------------------------------
    pytest.param(Case(lambda e: xr_landcover.accuracy(e.class_map,
                                                      far_away(e), "id"),
                      E.NoSamplesError, ValueError,
                      ("no reference feature falls inside", "map bounds", "reference bounds"),
                      lazy=False),
                 id="accuracy-outside"),
    pytest.param(Case(lambda e: xr_landcover.accuracy(e.class_map, polys(e, id=[7, 7, 8, 9]),
                                                      "id"),
                      E.SamplesError, ValueError,
                      ("no class is common", "reference classes [7, 8, 9]", "class_field"),
                      lazy=False),
                 id="accuracy-no-common-class"),
    pytest.param(Case(lambda e: xr_landcover.accuracy(
        e.class_map, e.polygons.set_geometry(e.polygons.boundary), "id"),
                      E.SamplesError, ValueError, ("reference geometries", "points or polygons")),
                 id="accuracy-lines"),
    pytest.param(Case(lambda e: xr_landcover.accuracy(e.class_map, e.tmp / "ref.tif"),
                      E.RasterFileNotFoundError, FileNotFoundError, ("reference raster",
                                                                     "ref.tif")),
                 id="accuracy-raster-missing"),
    pytest.param(Case(lambda e: xr_landcover.accuracy(e.cube, e.polygons, "id"),
                      E.DimensionError, ValueError, ("('y', 'x')", "band")),
                 id="accuracy-map-is-a-cube"),
]

# -- wave 2, real-world inputs (issue 14) ----------------------------------------------------
# undeclared fill, data on another scale, band identity, models that contradict themselves


def edited_model(env, name, edit) -> Path:
    """The env model saved with its payload edited by ``edit(payload)``."""
    import skops.io as sio

    payload = env.model._payload()
    edit(payload)
    path = env.tmp / name
    sio.dump(payload, path)
    return path


def zip_bomb(env) -> Path:
    """A 2 MB model file whose one member inflates to 2 GiB of zeros."""
    path = env.tmp / "bomb.skops"
    if not path.exists():
        data, crc = deflated_zeros(2047)
        write_zip(path, [("schema.json", data, crc, 2047 << 20)])
    return path


FILL_BANDS_MODEL_CASES: list = [
    # -- models that contradict themselves (checked at load) ----------------------------------
    pytest.param(Case(lambda e: LandcoverModel.load(edited_model(
        e, "fewer_bands.skops", lambda p: p.update(bands=p["bands"][:-1]))),
        E.ModelFileError, ValueError, ("fewer_bands.skops", "2 bands", "expects 3 features",
                                       "train the model again")),
        id="model-bands-contradict-estimator"),
    pytest.param(Case(lambda e: LandcoverModel.load(edited_model(
        e, "fewer_classes.skops", lambda p: p.update(classes=p["classes"][:-1]))),
        E.ModelFileError, ValueError, ("fewer_classes.skops", "classes_ [1, 2, 3]",
                                       "train the model again")),
        id="model-classes-contradict-estimator"),
    pytest.param(Case(lambda e: LandcoverModel.load(edited_model(
        e, "twice.skops", lambda p: p.update(bands=["red", "red", "blue"]))),
        E.ModelFileError, ValueError, ("twice.skops", "same band twice", "'red', 'red'")),
        id="model-band-listed-twice"),
    # -- hostile archives ------------------------------------------------------------------------
    pytest.param(Case(lambda e: LandcoverModel.load(zip_bomb(e)), E.ModelFileError, ValueError,
                      ("bomb.skops", "would inflate to 2,146,435,072 bytes", "max_bytes=")),
                 id="model-zip-bomb"),
    pytest.param(Case(lambda e: LandcoverModel.load(e.good, max_bytes="1 GB"),
                      E.InvalidInputTypeError, TypeError, ("max_bytes", "integer")),
                 id="model-max-bytes-not-a-number"),
    # -- band identity ------------------------------------------------------------------------
    pytest.param(Case(lambda e: xr_landcover.classify(
        e.cube.assign_coords(band=["red", "red", "blue"]), e.model), E.DimensionError,
        ValueError, ("band coordinate", "['red']", "more than once", "assign_coords")),
        id="classify-duplicate-band-names"),
    pytest.param(Case(lambda e: quiet(xr_landcover.train, e.cube.assign_coords(
                          band=["red", "blue", "blue"]), e.polygons, "id"),
                      E.DimensionError, ValueError, ("['blue']", "more than once")),
                 id="train-duplicate-band-names"),
    pytest.param(Case(lambda e: segment(e.cube.assign_coords(band=["a", "a", "b"])),
                      E.DimensionError, ValueError, ("band coordinate", "['a']")),
                 id="segment-duplicate-band-names"),
    pytest.param(Case(lambda e: segment(e.cube.assign_coords(band=[1, 2, 3]), bands=[0, 1, 2]),
                      E.InvalidParameterError, ValueError,
                      ("bands", "0 is not a band label", "[1, 2, 3]", "by label")),
                 id="segment-integer-labels-position-given"),
    pytest.param(Case(lambda e: xr_landcover.plot_rgb(e.cube.assign_coords(band=[3, 1, 2]),
                                                      bands=[0, 1, 2]),
                      E.InvalidParameterError, ValueError, ("0 is not a band label", "by label")),
                 id="plot-rgb-integer-labels-position-given"),
    pytest.param(Case(lambda e: xr_landcover.plot_rgb(e.cube.assign_coords(band=["r", "r", "b"])),
                      E.DimensionError, ValueError, ("band coordinate", "['r']")),
                 id="plot-rgb-duplicate-band-names"),
]

# outputs: zarr onto a foreign folder, stale stages, multi-output checks, directories, disk full
def _folder_of_photos(env) -> Path:
    """An ordinary folder (not a Zarr store) holding a user's file, made once."""
    folder = env.tmp / "photos"
    folder.mkdir(exist_ok=True)
    (folder / "holiday.jpg").write_bytes(b"precious")
    return folder


def _to_zarr_keeping(env, target: Path) -> None:
    """``to_zarr(overwrite=True)`` onto ``target``, checking that nothing in it was deleted."""
    before = sorted(target.rglob("*")) if target.is_dir() else target.read_bytes()
    try:
        xr_landcover.to_zarr(env.class_map, target, overwrite=True)
    finally:
        assert (sorted(target.rglob("*")) if target.is_dir() else target.read_bytes()) == before


def _foreign_zarr_store(env) -> Path:
    """A Zarr store written by another tool (zarr itself, no xr_landcover attributes)."""
    import zarr

    store = env.tmp / "foreign.zarr"
    if not store.exists():
        zarr.open_group(str(store), mode="w").create_array("a", shape=(2,), dtype="uint8")
    return store


OUTPUT_CASES: list = [
    pytest.param(Case(lambda e: _to_zarr_keeping(e, _folder_of_photos(e)),
                      E.OutputExistsError, FileExistsError,
                      ("photos", "is a folder that is not a Zarr store written by to_zarr",
                       "nothing else is ever deleted", "another store path")),
                 id="zarr-overwrite-a-plain-folder"),
    pytest.param(Case(lambda e: _to_zarr_keeping(e, _foreign_zarr_store(e)),
                      E.OutputExistsError, FileExistsError,
                      ("foreign.zarr", "not a Zarr store written by to_zarr")),
                 id="zarr-overwrite-another-tools-store"),
    pytest.param(Case(lambda e: _to_zarr_keeping(e, e.a_file),
                      E.OutputExistsError, FileExistsError,
                      ("file.txt", "is a file that is not a Zarr store")),
                 id="zarr-overwrite-a-file"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, _folder_of_photos(e),
                                                        overwrite=True),
                      E.OutputExistsError, FileExistsError,
                      ("photos", "is a folder", "a file never replaces a folder",
                       "photos/landcover.tif")),
                 id="geotiff-overwrite-a-folder"),
    pytest.param(Case(lambda e: e.model.save(_folder_of_photos(e), overwrite=True),
                      E.OutputExistsError, FileExistsError,
                      ("photos", "is a folder", "a file never replaces a folder")),
                 id="model-save-overwrite-a-folder"),
    pytest.param(Case(lambda e: xr.Dataset({"landcover": e.class_map}).landcover.to_geotiff(
        e.tmp / "one.tif"), E.InvalidParameterError, ValueError,
                      ("target must be an existing folder", "one.tif", "['landcover']",
                       "'landcover': 'landcover.tif'")),
                 id="dataset-geotiff-target-one-file"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, ""),
                      E.InvalidParameterError, ValueError,
                      ("path is empty", "e.g. 'landcover.tif'")),
                 id="geotiff-path-empty"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, None),
                      E.InvalidInputTypeError, TypeError,
                      ("path must be a file path", "got None")),
                 id="geotiff-path-none"),
    pytest.param(Case(lambda e: xr_landcover.to_zarr(e.class_map, None),
                      E.InvalidInputTypeError, TypeError, ("store must be a file path", "None")),
                 id="zarr-store-none"),
    pytest.param(Case(lambda e: xr_landcover.to_zarr(e.class_map, ""),
                      E.InvalidParameterError, ValueError, ("store is empty", "landcover.zarr")),
                 id="zarr-store-empty"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, e.tmp / "t.tif",
                                                        tile_size="256"),
                      E.InvalidInputTypeError, TypeError,
                      ("tile_size", "multiple of 16", "str '256'")),
                 id="geotiff-tile-size-str"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, e.tmp / "z.tif",
                                                        compress="zip9000"),
                      E.InvalidParameterError, ValueError,
                      ("compress must be one of", "'deflate'", "'lzw'", "got 'zip9000'")),
                 id="geotiff-compress-unknown"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, e.tmp / "j.tif",
                                                        compress="jpeg"),
                      E.InvalidParameterError, ValueError, ("compress", "lossless", "'jpeg'")),
                 id="geotiff-compress-lossy"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map, e.tmp / "n.tif",
                                                        compress=None),
                      E.InvalidInputTypeError, TypeError, ("compress must be one of", "None")),
                 id="geotiff-compress-none-object"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(e.class_map.astype("datetime64[s]"),
                                                        e.tmp / "d.tif"),
                      E.InvalidInputTypeError, TypeError,
                      ("cannot write datetime64[s] data", "astype('float32')")),
                 id="geotiff-dtype-unsupported"),
    pytest.param(Case(lambda e: xr_landcover.io.to_geotiffs([e.class_map]),
                      E.InvalidInputTypeError, TypeError,
                      ("layers must be a mapping of path to DataArray", "list")),
                 id="geotiffs-layers-not-a-mapping"),
]

# rotated grids, things that are not class maps, STAC, raw dependency errors
ROTATED = ("rotated or sheared", "b and d must be 0", "gdalwarp -of VRT", "north_up.vrt")


def rotated_file(env, dtype="uint8") -> Path:
    """A GeoTIFF on a grid rotated by 20 degrees (rasterio writes the affine as it is)."""
    from rasterio.transform import Affine

    path = env.tmp / f"rotated_{dtype}.tif"
    if not path.exists():
        transform = (Affine.translation(*ORIGIN) * Affine.rotation(20)
                     * Affine.scale(RES, -RES))
        data = np.nan_to_num(make_values(), nan=0).astype(dtype)
        write_raster(path, data[:1] if dtype != "uint8" else data, transform=transform)
    return path


def rotated_cube(env) -> xr.DataArray:
    return xr_landcover.open_image(rotated_file(env), band_names=BANDS)


def rotated_map(env) -> xr.DataArray:
    grid = rotated_cube(env).isel(band=0, drop=True)
    return env.class_map.copy(data=env.class_map.data).assign_coords(
        y=grid.y, x=grid.x).rio.write_transform(grid.rio.transform())


def float_reference(env) -> Path:
    """A float reference raster on the map's grid: classes 1.7, 2.7, 3.7 (never truncated)."""
    path = env.tmp / "float_reference.tif"
    if not path.exists():
        write_raster(path, env.class_map.values.astype("float32") + 0.7)
    return path


def confidence(env) -> xr.DataArray:
    return xr_landcover.classify(env.cube, env.model, confidence=True)["confidence"]


def masked_map(env, values=None) -> xr.DataArray:
    masked = env.class_map.where(env.class_map != 1)
    return masked if values is None else masked.copy(data=values)


def text_file(env, name) -> Path:
    path = env.tmp / name
    path.write_text("not a vector nor a raster file")
    return path


def stac_item(env, missing=None, geometry=True):
    folder = env.tmp / f"stac_{missing}_{geometry}"
    folder.mkdir(exist_ok=True)
    raw = np.nan_to_num(make_values(), nan=0).astype("uint8")
    assets = {b: write_raster(folder / f"{b}.tif", raw[i]) for i, b in enumerate(BANDS)}
    item = xr_landcover.stac_item_from_rasters("scene", assets, "2020-05-18")
    if missing == "deleted":
        assets["green"].unlink()
    elif missing == "not-a-raster":
        assets["green"].write_text("not a raster")
    if not geometry:
        item.geometry, item.bbox = None, None
    return [item]


def inf_cube(env) -> xr.DataArray:
    values = np.nan_to_num(make_values(), nan=50.0)
    values[1, 30, 30] = np.inf
    return make_cube(values)


INPUT_CASES: list = [
    # -- rotated or sheared grids: refused at call time, by every entry point -----------------
    pytest.param(Case(lambda e: quiet(xr_landcover.train, rotated_cube(e), e.polygons, "id"),
                      E.GridMismatchError, ValueError, ("cube", *ROTATED)),
                 id="rotated-train"),
    pytest.param(Case(lambda e: xr_landcover.classify(rotated_cube(e), e.model),
                      E.GridMismatchError, ValueError, ROTATED),
                 id="rotated-classify"),
    pytest.param(Case(lambda e: segment(rotated_cube(e)),
                      E.GridMismatchError, ValueError, ROTATED),
                 id="rotated-segment"),
    pytest.param(Case(lambda e: xr_landcover.segment_mean(
        rotated_cube(e), xr.ones_like(rotated_cube(e).isel(band=0, drop=True), dtype=np.int64)),
                      E.GridMismatchError, ValueError, ROTATED),
                 id="rotated-segment-mean"),
    pytest.param(Case(lambda e: xr_landcover.segment_attributes(
        e.cube, xr.ones_like(rotated_map(e), dtype=np.int64)),
                      E.GridMismatchError, ValueError, ("segments", *ROTATED)),
                 id="rotated-segments-of-attributes"),
    pytest.param(Case(lambda e: xr_landcover.class_areas(rotated_map(e)),
                      E.GridMismatchError, ValueError, ("classes", *ROTATED)),
                 id="rotated-class-areas"),
    pytest.param(Case(lambda e: xr_landcover.accuracy(rotated_map(e), e.polygons, "id"),
                      E.GridMismatchError, ValueError, ("class_map", *ROTATED)),
                 id="rotated-accuracy"),
    pytest.param(Case(lambda e: xr_landcover.plot_rgb(rotated_cube(e)),
                      E.GridMismatchError, ValueError, ROTATED),
                 id="rotated-plot"),
    # -- things that are not class maps -------------------------------------------------------
    pytest.param(Case(lambda e: xr_landcover.accuracy(e.class_map, float_reference(e)),
                      E.InvalidParameterError, ValueError,
                      ("reference", "non-integer values (", ".7", "truncated"), lazy=False),
                 id="accuracy-float-reference-raster"),
    pytest.param(Case(lambda e: xr_landcover.accuracy(confidence(e), e.polygons, "id"),
                      E.InvalidInputTypeError, TypeError,
                      ("class_map", "float32", "probability of the winning class",
                       "not a class map", "astype")),
                 id="accuracy-confidence-as-map"),
    pytest.param(Case(lambda e: xr_landcover.accuracy_points(confidence(e), 10),
                      E.InvalidInputTypeError, TypeError, ("class_map", "float32",
                                                           "not a class map")),
                 id="points-confidence-as-map"),
    pytest.param(Case(lambda e: xr_landcover.class_areas(confidence(e)),
                      E.InvalidInputTypeError, TypeError, ("classes", "float32",
                                                           "not a class map")),
                 id="class-areas-confidence"),
    pytest.param(Case(lambda e: xr_landcover.class_areas(
        masked_map(e, masked_map(e).data + 0.5)),
                      E.InvalidParameterError, ValueError, ("non-integer values", ".5 ..."),
                      lazy=False),  # the first block to fail names its value: 2.5 or 3.5
                 id="class-areas-float-fraction"),
    pytest.param(Case(lambda e: xr_landcover.to_geotiff(
        masked_map(e, masked_map(e).data + 0.5), e.tmp / "fraction.tif"),
                      E.InvalidParameterError, ValueError, ("non-integer values", "truncated"),
                      lazy=False),
                 id="geotiff-masked-map-with-fractions"),
    pytest.param(Case(lambda e: xr_landcover.class_areas(
        e.class_map.expand_dims(time=2, scenario=2)),
                      E.DimensionError, ValueError, ("one leading dim", "('time', 'scenario'",
                                                     "isel(time=0)")),
                 id="class-areas-two-leading-dims"),
    # -- STAC: checked at load_stac time ------------------------------------------------------
    pytest.param(Case(lambda e: xr_landcover.load_stac(stac_item(e, geometry=False),
                                                       bbox=(10.0, 10.0, 11.0, 11.0)),
                      E.STACError, ValueError, ("bbox", "touches none")),
                 id="stac-no-geometry-bbox-outside"),
    pytest.param(Case(lambda e: xr_landcover.load_stac(stac_item(e, "deleted")),
                      E.RasterFileNotFoundError, FileNotFoundError,
                      ("asset 'green'", "item 'scene'", "not found", "green.tif",
                       "bands=[...]")),
                 id="stac-asset-file-missing"),
    pytest.param(Case(lambda e: xr_landcover.load_stac(stac_item(e, "not-a-raster")),
                      E.RasterReadError, OSError,
                      ("asset 'green'", "cannot read", "as a raster", "bands=[...]")),
                 id="stac-asset-not-a-raster"),
    pytest.param(Case(lambda e: xr_landcover.stac_item_from_rasters("scene", {}, "2020-05-18"),
                      E.InvalidParameterError, ValueError, ("assets is empty", "{'red'")),
                 id="stac-item-no-assets"),
    pytest.param(Case(lambda e: xr_landcover.stac_item_from_rasters("scene", [e.good],
                                                                    "2020-05-18"),
                      E.InvalidInputTypeError, TypeError, ("assets", "mapping", "list")),
                 id="stac-item-assets-a-list"),
    # -- raw dependency errors, wrapped --------------------------------------------------------
    pytest.param(Case(lambda e: xr_landcover.accuracy(e.class_map, text_file(e, "ref.gpkg")),
                      E.SamplesError, ValueError,
                      ("reference", "ref.gpkg", "vector file", "raster of class values")),
                 id="accuracy-reference-not-a-vector"),
    pytest.param(Case(lambda e: xr_landcover.accuracy(e.class_map, text_file(e, "ref2.tif")),
                      E.SamplesError, ValueError,
                      ("reference", "ref2.tif", "as a raster of class values")),
                 id="accuracy-reference-not-a-raster"),
    pytest.param(Case(lambda e: segment(inf_cube(e)).compute(),
                      E.InvalidParameterError, ValueError,
                      ("cube", "infinite values", "position [1]", "np.isfinite"), lazy=False),
                 id="segment-infinite-values"),
    # -- a Dataset where a DataArray goes (classify's confidence=True, odc-stac's load) ------
    pytest.param(Case(lambda e: e.cube.to_dataset("band").landcover.classify(e.model),
                      E.InvalidInputTypeError, TypeError,
                      (".landcover.classify works on a DataArray", "Dataset",
                       "ds.landcover.cube().landcover.classify(...)", "'red'")),
                 id="dataset-calls-a-cube-method"),
    pytest.param(Case(lambda e: e.cube.to_dataset("band").landcover.cube(["red", "nir"]),
                      E.InvalidParameterError, ValueError,
                      ("bands", "['nir'] is not among", "'green'")),
                 id="dataset-cube-unknown-band"),
    pytest.param(Case(lambda e: quiet(xr_landcover.train, e.cube, e.polygons, "id",
                                      estimator=KMeans(n_clusters=3, n_init=1)),
                      E.InvalidInputTypeError, TypeError,
                      ("estimator", "KMeans", "clusterer", "classifier")),
                 id="estimator-kmeans"),
    pytest.param(Case(lambda e: quiet(xr_landcover.train, e.cube, e.polygons, "id",
                                      estimator=LinearRegression()),
                      E.InvalidInputTypeError, TypeError,
                      ("estimator", "LinearRegression", "regressor", "classifier")),
                 id="estimator-regressor"),
]

CASES += FILL_BANDS_MODEL_CASES + OUTPUT_CASES + INPUT_CASES


def pd_object(values):
    import pandas as pd

    return pd.Series(values, dtype=object, index=range(len(values)))


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case: Case, env):
    guard = dask.config.set(scheduler=CountingScheduler(forbid=True)) if case.lazy else (
        nullcontext())
    with guard, pytest.raises(E.LandcoverError) as info:
        case.call(env)
    error = info.value
    assert isinstance(error, case.error), f"{type(error).__name__}: {error}"
    assert isinstance(error, case.builtin), f"{type(error).__name__} is not a {case.builtin}"
    message = str(error)
    missing = [w for w in case.words if w not in message]
    assert not missing, f"{missing} not in the message: {message}"


def test_there_are_at_least_120_bad_inputs():
    assert len({p.id for p in CASES}) == len(CASES) >= 120


def test_bowtie_is_repaired_with_a_warning(env, no_compute):
    """A self-intersecting polygon is made valid (two triangles), with a warning naming it."""
    x0, y0 = ORIGIN
    bowtie = shapely.Polygon([(x0 + 100, y0 - 100), (x0 + 200, y0 - 200), (x0 + 200, y0 - 100),
                              (x0 + 100, y0 - 200)])
    assert not bowtie.is_valid
    samples = env.polygons.copy()
    samples.loc[0, "geometry"] = bowtie
    from xr_landcover.classification.samples import read_samples

    with pytest.warns(UserWarning, match=r"1 invalid sample geometry \(rows \[0\]; first: "
                                         r"Self-intersection"):
        repaired = read_samples(samples)
    fixed = repaired.geometry.iloc[0]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon"
    assert fixed.area == pytest.approx(2 * 0.25 * 100 * 100)  # two triangles, a quarter each
    assert samples.geometry.iloc[0].equals(bowtie)  # the caller's frame is not changed
    assert no_compute.calls == 0


def test_band_order_is_matched_by_name(env):
    """Bands in another order are not an error: they are matched by name, labels identical."""
    shuffled = env.cube.isel(band=[2, 0, 1])
    np.testing.assert_array_equal(xr_landcover.classify(shuffled, env.model).values,
                                  env.class_map.values)


def test_messages_are_one_sentence_without_traceback_noise(env):
    """Errors raised from library errors do not chain them (``from None``): one clear message."""
    with pytest.raises(E.RasterReadError) as info:
        xr_landcover.open_image(env.notes)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert os.fspath(env.notes) in str(info.value)
