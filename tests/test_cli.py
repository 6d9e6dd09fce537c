"""The xr-landcover command on real files: every subcommand, and one-line errors."""

from __future__ import annotations

import argparse
import contextlib
import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import rasterio

from xr_landcover import cli
from xr_landcover.classmap import ClassMap


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "xr_landcover.cli", *args], capture_output=True, text=True
    )


def test_info_on_band_files(nc_band_files, capsys):
    assert cli.main(["info", *map(str, nc_band_files)]) == 0
    out = capsys.readouterr().out
    assert "6 bands (10, 20, 30, 40, 50, 70)" in out and "443 x 489" in out


@pytest.fixture(scope="module")
def trained(nc_band_files, nc_polygons_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    model = folder / "model.skops"
    code = cli.main(
        [
            "--quiet",
            "train",
            *map(str, nc_band_files),
            "--samples",
            str(nc_polygons_path),
            "-o",
            str(model),
            "--method",
            "random_trees",
            "--max-samples-per-class",
            "200",
        ]
    )
    assert code == 0
    return folder, model


def test_train_detects_the_class_field_and_prints_the_model(
    nc_band_files, nc_polygons_path, tmp_path, capsys
):
    model = tmp_path / "svm.skops"
    assert (
        cli.main(
            [
                "train",
                *map(str, nc_band_files),
                "--samples",
                str(nc_polygons_path),
                "-o",
                str(model),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "class field 'id'" in out  # the one integer column, auto-detected
    assert "ClassValue" in out and "forest" in out and "model written to" in out
    assert model.exists()


@pytest.fixture(scope="module")
def classified(nc_band_files, trained):
    folder, model = trained
    out = folder / "landcover.tif"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main(["classify", *map(str, nc_band_files), "--model", str(model),
                         "-o", str(out), "--confidence"])
    return folder, out, code, printed.getvalue()


def test_classify_writes_a_class_map_and_confidence(classified, nc_band_files):
    folder, out, code, printed = classified
    assert code == 0
    with rasterio.open(out) as src:
        classes = src.read(1)
        assert src.colormap(1)  # colour table embedded
        assert src.nodata is not None
        assert set(np.unique(classes)) - {src.nodata} <= {1, 3, 4, 5, 6, 7}
    with rasterio.open(folder / "landcover_confidence.tif") as src:
        conf = src.read(1)
        assert np.nanmax(conf) <= 1 and np.nanmin(conf) >= 0
    # the same maps as the library's, and one progress bar: one pass for both files
    import xr_landcover

    model = xr_landcover.LandcoverModel.load(folder / "model.skops")
    expected = xr_landcover.classify(xr_landcover.open_image(nc_band_files), model,
                                     confidence=True).compute()
    np.testing.assert_array_equal(classes, expected["landcover"].values)
    np.testing.assert_array_equal(conf, expected.confidence.values)
    assert printed.count("classifying ") == 1 and "writing the confidence" not in printed
    assert "confidence written to" in printed


@pytest.fixture(scope="module")
def library_map(nc_band_files, nc_polygons_path):
    """The map the library makes with the options the ``trained`` fixture gives the CLI
    (random_trees, 200 pixels per class, seed 0), trained and classified in memory."""
    import xr_landcover

    cube = xr_landcover.open_image(nc_band_files)
    model = xr_landcover.train(cube, nc_polygons_path, class_field="id", name_field="label",
                               method="random_trees", max_samples_per_class=200,
                               random_state=0)
    return model, xr_landcover.classify(cube, model).compute()


def test_train_options_reach_the_model(trained, library_map, classified):
    """``--method random_trees --max-samples-per-class 200`` train what the library trains with
    those arguments: the same estimator, the same pixels per class, the same map (the defaults,
    svm and 500 pixels, give another map)."""
    import xr_landcover

    _, model_file = trained
    cli_model = xr_landcover.LandcoverModel.load(model_file)
    lib_model, lib_map = library_map
    assert cli_model.method == lib_model.method == "random_trees"
    assert cli_model.training["max_samples_per_class"] == 200
    assert cli_model.training["used"] == lib_model.training["used"]
    assert max(cli_model.training["used"].values()) == 200
    _, out, code, _ = classified
    assert code == 0
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), lib_map.values)


def test_printed_class_areas_are_the_library_map_areas(classified, library_map):
    """The area table ``classify`` prints: the library's ``class_areas`` of the library's map,
    row for row (pixels and hectares), parsed back from the text."""
    from xr_landcover.classmap import class_areas

    *_, printed = classified
    expected = class_areas(library_map[1])
    lines = printed.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["name", "pixels"])
    rows = [line.split() for line in lines[start + 2:start + 2 + len(expected)]]
    assert [int(r[0]) for r in rows] == expected.index.tolist()
    assert [r[1] for r in rows] == expected["name"].tolist()
    assert [int(r[2]) for r in rows] == expected["pixels"].tolist()
    np.testing.assert_allclose([float(r[3]) for r in rows], expected["hectares"], rtol=1e-3)


def test_classify_prints_class_areas(nc_band_files, trained, tmp_path, capsys):
    _, model = trained
    args = ["classify", *map(str, nc_band_files), "--model", str(model)]
    assert cli.main([*args, "-o", str(tmp_path / "landcover.tif")]) == 0
    printed = capsys.readouterr().out
    assert "class map written to" in printed and "hectares" in printed and "forest" in printed


def test_classify_writes_probabilities(nc_band_files, trained, tmp_path, capsys):
    import xr_landcover

    _, model = trained
    out, proba = tmp_path / "landcover.tif", tmp_path / "proba.tif"
    args = ["classify", *map(str, nc_band_files), "--model", str(model), "-o", str(out),
            "--probabilities", str(proba)]
    assert cli.main(args) == 0
    assert "probabilities written to" in capsys.readouterr().out
    loaded = xr_landcover.LandcoverModel.load(model)
    cube = xr_landcover.open_image(nc_band_files)
    expected = xr_landcover.predict_proba(cube, loaded).compute()
    with rasterio.open(proba) as src:
        assert src.count == 6 and src.dtypes[0] == "float32" and np.isnan(src.nodata)
        assert list(src.descriptions) == loaded.class_names
        np.testing.assert_array_equal(src.read(), expected.values)
    with rasterio.open(out) as src:  # the same class map as without --probabilities
        np.testing.assert_array_equal(src.read(1), xr_landcover.classify(cube, loaded).values)


def test_accuracy_against_reference_polygons(nc_polygons_path, classified, capsys):
    folder, out, *_ = classified
    csv = folder / "report.csv"
    args = ["accuracy", str(out), "--reference", str(nc_polygons_path), "--csv", str(csv)]
    assert cli.main(args) == 0
    printed = capsys.readouterr().out
    assert "overall accuracy" in printed.lower() and "kappa" in printed.lower()
    table = pd.read_csv(csv, index_col=0)
    assert "forest" in table.index.astype(str).tolist()


def test_accuracy_csv_is_the_library_report(nc_polygons_path, classified, library_map, tmp_path):
    """The CSV of ``accuracy``: the numbers of ``accuracy(map, reference).to_dataframe()`` on
    the library's own map, to float precision."""
    from xr_landcover import accuracy

    _, out, *_ = classified
    csv = tmp_path / "report.csv"
    assert cli.main(["--quiet", "accuracy", str(out), "--reference", str(nc_polygons_path),
                     "--csv", str(csv)]) == 0
    expected = accuracy(library_map[1], nc_polygons_path).to_dataframe()
    table = pd.read_csv(csv, index_col=0)
    assert table.index.astype(str).tolist() == expected.index.astype(str).tolist()
    assert table.columns.tolist() == expected.columns.astype(str).tolist()
    np.testing.assert_allclose(table.to_numpy(float), expected.to_numpy(float), rtol=1e-12,
                               equal_nan=True)


def test_segment_writes_ids_and_mean_colour(tmp_path, capsys):
    from xr_landcover import datasets

    out, mean = tmp_path / "seg.tif", tmp_path / "mean.tif"
    code = cli.main(
        [
            "segment",
            str(datasets.l8_rgb_uint8_path()),
            "-o",
            str(out),
            "--min-segment-size",
            "20",
            "--mean-output",
            str(mean),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    n = int(printed.split(" segments;")[0].split()[-1])
    with rasterio.open(out) as src:
        ids = src.read(1)
    assert len(np.unique(ids[ids > 0])) == n > 100
    with rasterio.open(mean) as src:
        assert src.count == 3


def test_segment_options_give_the_librarys_segments(tmp_path):
    """Every segmentation option of the library is on the command line, and the ids written
    are the library's for the same options."""
    from xr_landcover import datasets, open_image
    from xr_landcover.segment import segment

    path = datasets.l8_rgb_uint8_path()
    options = {"max_segment_size": 300, "spectral_radius": 9.0, "spatial_radius": 4.0,
               "color_space": "luv_linear", "kernel": "product", "maxiter": 4,
               "link_radius": 1.5, "fuse_radius": 2.0}
    flags = []
    for name, value in options.items():
        flags += ["--" + name.replace("_", "-"), str(value)]
    out = tmp_path / "seg.tif"
    assert cli.main(["segment", str(path), "-o", str(out), "-q", *flags]) == 0
    with rasterio.open(out) as src:
        written = src.read(1)
    expected = segment(open_image(path), **options).values
    np.testing.assert_array_equal(written, expected)
    default = segment(open_image(path)).values
    assert not np.array_equal(expected, default)  # the options changed the result


def test_error_is_one_line_with_exit_code_2(tmp_path):
    result = run("info", str(tmp_path / "missing.tif"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: raster file not found")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["segment", "{rgb}", "-o", "{tmp}/s.tif", "--spectral-detail", "30"], "spectral_detail"),
        (["classify", "{rgb}", "--model", "{tmp}/none.skops", "-o", "{tmp}/c.tif"], "not found"),
        (["train", "{rgb}", "--samples", "{tmp}/none.shp", "-o", "{tmp}/m.skops"], "not found"),
        (["accuracy", "{tmp}/none.tif", "--reference", "{tmp}/none.shp"], "not found"),
    ],
)
def test_bad_inputs_fail_with_one_line(args, expected, tmp_path):
    from xr_landcover import datasets

    rgb = str(datasets.l8_rgb_uint8_path())
    result = run(*[a.format(rgb=rgb, tmp=tmp_path) for a in args])
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: ") and expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_existing_output_needs_overwrite(tmp_path):
    from xr_landcover import datasets

    out = tmp_path / "seg.tif"
    out.write_bytes(b"keep me")
    result = run("segment", str(datasets.l8_rgb_uint8_path()), "-o", str(out))
    assert result.returncode == 2 and "--overwrite" in result.stderr
    assert out.read_bytes() == b"keep me"


def test_debug_shows_the_traceback(tmp_path):
    result = run("--debug", "info", str(tmp_path / "missing.tif"))
    assert result.returncode != 0 and "Traceback" in result.stderr


@pytest.mark.parametrize("bands", [["nir"], ["7"], ["0", "nir", "2"]])
def test_unknown_bands_list_the_bands_the_file_has(bands, tmp_path, capsys):
    """--bands nir / --bands 7 gave raw pandas / dask text: name the flag and the bands."""
    from xr_landcover import datasets

    rgb = str(datasets.l8_rgb_uint8_path())
    code = cli.main(["segment", rgb, "-o", str(tmp_path / "s.tif"), "--bands", *bands])
    err = capsys.readouterr().err
    assert code == 2 and not (tmp_path / "s.tif").exists()
    bad = bands[1] if len(bands) > 1 else bands[0]
    assert err.startswith(f"error: --bands: '{bad}' is not a band of {rgb}; it has 3 bands: "
                          "indexes 0..2 or names ['red', 'green', 'blue']"), err


def test_errors_give_the_command_line_fix_not_python_advice(nc_band_files, nc_polygons_path,
                                                            trained, tmp_path, capsys):
    """samples.set_crs(...), cube.sel(band=...), rio.write_crs(...) mean nothing in a shell."""
    import geopandas as gpd

    no_crs = tmp_path / "no_crs.gpkg"
    gpd.read_file(nc_polygons_path).set_crs(None, allow_override=True).to_file(no_crs)
    bare = tmp_path / "bare.tif"
    with rasterio.open(nc_band_files[0]) as src:
        profile, data = src.profile, src.read()
    profile.pop("crs")
    with rasterio.open(bare, "w", **profile) as dst:
        dst.write(data)
    calls = {
        "samples": ["train", *map(str, nc_band_files), "--samples", str(no_crs), "-o",
                    str(tmp_path / "m.skops")],
        "bands": ["classify", *map(str, nc_band_files[:3]), "--model", str(trained[1]), "-o",
                  str(tmp_path / "c.tif")],
        "raster": ["train", str(bare), "--samples", str(nc_polygons_path), "-o",
                   str(tmp_path / "m2.skops")],
    }
    expected = {"samples": "ogr2ogr -a_srs EPSG:", "bands": "xr-landcover info",
                "raster": "gdal_edit.py -a_srs EPSG:"}
    for what, argv in calls.items():
        assert cli.main(["--quiet", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and expected[what] in err, err
        for python in ("set_crs(", "write_crs(", ".sel(", "assign_coords(", "=True"):
            assert python not in err, err


# --------------------------------------------------------------------------------------------
# Commands with several outputs check every one before any work
# --------------------------------------------------------------------------------------------


def listing(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_classify_refuses_an_existing_confidence_file_before_writing_the_map(
        nc_band_files, trained, tmp_path):
    _, model = trained
    conf = tmp_path / "lc_confidence.tif"
    conf.write_bytes(b"keep me")
    args = ["classify", *map(str, nc_band_files), "-o", str(tmp_path / "lc.tif"), "--confidence"]
    result = run(*args, "--model", str(model))
    assert result.returncode == 2, result.stderr
    assert "lc_confidence.tif" in result.stderr and "--overwrite" in result.stderr
    assert listing(tmp_path) == ["lc_confidence.tif"]  # no class map written
    assert conf.read_bytes() == b"keep me"
    # checked before the model is even read
    result = run(*args, "--model", str(tmp_path / "none.skops"))
    assert result.returncode == 2 and "lc_confidence.tif" in result.stderr
    assert "not found" not in result.stderr


def test_accuracy_csv_is_not_overwritten_without_overwrite(nc_polygons_path, classified,
                                                           tmp_path):
    _, out, *_ = classified
    csv = tmp_path / "report.csv"
    csv.write_text("keep me")
    args = ["accuracy", str(out), "--reference", str(nc_polygons_path), "--csv", str(csv)]
    result = run(*args)
    assert result.returncode == 2 and "report.csv" in result.stderr
    assert "--overwrite" in result.stderr and "overall accuracy" not in result.stdout.lower()
    assert csv.read_text() == "keep me" and listing(tmp_path) == ["report.csv"]
    # checked before the map is read
    missing = run("accuracy", str(tmp_path / "none.tif"), "--reference", str(nc_polygons_path),
                  "--csv", str(csv))
    assert missing.returncode == 2 and "report.csv" in missing.stderr
    result = run(*args, "--overwrite")
    assert result.returncode == 0, result.stderr
    assert "forest" in pd.read_csv(csv, index_col=0).index.astype(str).tolist()
    assert listing(tmp_path) == ["report.csv"]


def test_train_refuses_an_existing_model_file_before_reading_or_fitting(nc_band_files,
                                                                        tmp_path):
    out = tmp_path / "model.skops"
    out.write_bytes(b"keep me")
    # the samples do not exist: refusing the output first is the only way to say so
    result = run("train", *map(str, nc_band_files), "--samples", str(tmp_path / "none.shp"),
                 "-o", str(out))
    assert result.returncode == 2, result.stderr
    assert "model.skops" in result.stderr and "--overwrite" in result.stderr
    assert "not found" not in result.stderr and "samples:" not in result.stdout
    assert out.read_bytes() == b"keep me" and listing(tmp_path) == ["model.skops"]


def test_segment_refuses_an_existing_mean_output_before_segmenting(tmp_path):
    from xr_landcover import datasets

    mean = tmp_path / "mean.tif"
    mean.write_bytes(b"keep me")
    result = run("segment", str(datasets.l8_rgb_uint8_path()), "-o", str(tmp_path / "seg.tif"),
                 "--mean-output", str(mean))
    assert result.returncode == 2 and "mean.tif" in result.stderr
    assert "--overwrite" in result.stderr and "segments;" not in result.stdout
    assert listing(tmp_path) == ["mean.tif"] and mean.read_bytes() == b"keep me"


def test_an_output_that_is_a_folder_is_refused_with_its_flag(tmp_path):
    from xr_landcover import datasets

    result = run("segment", str(datasets.l8_rgb_uint8_path()), "-o", str(tmp_path),
                 "--overwrite")
    assert result.returncode == 2 and "is a folder" in result.stderr
    empty = run("segment", str(datasets.l8_rgb_uint8_path()), "-o", "")
    assert empty.returncode == 2 and "--output is empty" in empty.stderr
    assert listing(tmp_path) == []


def test_classify_applies_the_nodata_the_model_was_trained_with(tmp_path, capsys):
    """Landsat 8 L1 declares no nodata: train with --nodata 0, classify without it. The fill
    outside the footprint is fill in the map (not 'developed'), with a warning that says so."""
    import warnings

    from conftest import L8_78

    import xr_landcover

    scene = L8_78 / "LC08_L1TP_224078_20200518_20200518_01_RT.TIF"
    polygons = L8_78 / "LC08_L1TP_224078_20200518_20200518_01_RT_polygons.gpkg"
    crop = tmp_path / "edge.tif"
    xr_landcover.to_geotiff(xr_landcover.open_image(scene).isel(y=slice(100, 356),
                                                              x=slice(420, 676)), crop)
    model = tmp_path / "model.skops"
    assert cli.main(["-q", "train", str(scene), "--samples", str(polygons), "--nodata", "0",
                     "--method", "random_trees", "--class-field", "name", "-o",
                     str(model)]) == 0
    out = tmp_path / "landcover.tif"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        assert cli.main(["-q", "classify", str(crop), "--model", str(model), "-o",
                         str(out)]) == 0
    assert any("trained on a cube whose nodata was 0" in str(w.message) for w in record)
    with rasterio.open(crop) as src:
        fill = (src.read() == 0).all(axis=0)
    with rasterio.open(out) as src:
        classes, fill_value = src.read(1), src.nodata
    assert fill.mean() > 0.3
    assert (classes[fill] == fill_value).all() and (classes[~fill] != fill_value).all()


# --------------------------------------------------------------------------------------------
# -q silences progress only; --overwrite everywhere; estimator options; integer counts
# --------------------------------------------------------------------------------------------


def test_every_writing_command_takes_overwrite():
    """A command with an output flag (-o, --csv, --mean-output ...) takes --overwrite."""
    parser = cli.build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    outputs = {"--output", "--csv", "--mean-output", "--probabilities", "--misclassified"}
    writing = {name: p for name, p in commands.choices.items()
               if outputs & {o for a in p._actions for o in a.option_strings}}
    assert {"train", "classify", "segment", "accuracy", "cross-validate", "inspect", "majority",
            "sieve"} <= set(writing)
    for name, p in writing.items():
        if name != "demo":  # demo writes into a folder of its own
            assert "--overwrite" in {o for a in p._actions for o in a.option_strings}, name


def test_quiet_silences_progress_not_results(nc_polygons_path, classified, tmp_path, capsys):
    """``classify -q`` / ``accuracy -q`` printed nothing at all: the report, the areas and the
    paths written are results; only the progress goes."""
    _, out, *_ = classified
    assert cli.main(["accuracy", str(out), "--reference", str(nc_polygons_path), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "overall accuracy" in printed.lower() and "sampling the map" not in printed
    assert cli.main(["-q", "majority", str(out), "-o", str(tmp_path / "m.tif")]) == 0
    printed = capsys.readouterr().out
    assert "class map written to" in printed and "majority filter over" not in printed


def test_quiet_classify_prints_the_areas(nc_band_files, trained, tmp_path, capsys):
    _, model = trained
    assert cli.main(["classify", *map(str, nc_band_files), "--model", str(model), "-o",
                     str(tmp_path / "lc.tif"), "-q"]) == 0
    printed = capsys.readouterr().out
    assert "class map written to" in printed and "hectares" in printed
    assert "classifying" not in printed


def test_accuracy_csv_counts_are_integers(nc_polygons_path, classified, library_map, tmp_path):
    """The confusion-matrix counts and totals are written as integers (317, not 317.0); the
    accuracies as floats."""
    from xr_landcover import accuracy

    _, out, *_ = classified
    csv = tmp_path / "report.csv"
    assert cli.main(["-q", "accuracy", str(out), "--reference", str(nc_polygons_path), "--csv",
                     str(csv)]) == 0
    report = accuracy(library_map[1], nc_polygons_path)
    counts = report.confusion_matrix
    raw = pd.read_csv(csv, index_col=0, dtype=str, keep_default_na=False)
    cells = raw.loc[counts.index.astype(str), counts.columns.astype(str)]
    assert cells.to_numpy().tolist() == counts.astype(str).to_numpy().tolist()
    assert "." in raw.loc["P_Accuracy", "U_Accuracy"]


def test_accuracy_name_field_names_reference_only_classes(nc_polygons_path, classified,
                                                          library_map, tmp_path):
    """--name-field reaches accuracy(name_field=...): a reference class the map lacks (99)
    is named from the column."""
    import geopandas as gpd

    from xr_landcover import accuracy

    _, out, *_ = classified
    points = gpd.read_file(nc_polygons_path)
    points["geometry"] = points.representative_point()
    points.loc[points.index[0], ["id", "label"]] = [99, "marsh"]
    reference = tmp_path / "reference.gpkg"
    points[["id", "label", "geometry"]].to_file(reference)
    csv = tmp_path / "report.csv"
    assert cli.main(["-q", "accuracy", str(out), "--reference", str(reference), "--class-field",
                     "id", "--name-field", "label", "--csv", str(csv)]) == 0
    expected = accuracy(library_map[1], reference, class_field="id", name_field="label")
    table = pd.read_csv(csv, index_col=0)
    assert "marsh" in expected.class_names
    assert table.index.astype(str).tolist() == expected.to_dataframe().index.tolist()
    np.testing.assert_allclose(table.to_numpy(float), expected.to_dataframe().to_numpy(float),
                               equal_nan=True)


def test_train_param_reaches_the_estimator(nc_band_files, nc_polygons_path, tmp_path, capsys):
    """--param n_estimators=7 max_depth=4 bootstrap=false: the library's model with those
    keyword arguments (same estimator parameters, same predictions)."""
    import xr_landcover

    model = tmp_path / "m.skops"
    assert cli.main(["-q", "train", *map(str, nc_band_files), "--samples",
                     str(nc_polygons_path), "--method", "random_trees", "--max-samples-per-class",
                     "100", "--param", "n_estimators=7", "max_depth=4", "--param",
                     "bootstrap=false", "-o", str(model)]) == 0
    loaded = xr_landcover.LandcoverModel.load(model)
    params = loaded.estimator.get_params()
    assert (params["n_estimators"], params["max_depth"], params["bootstrap"]) == (7, 4, False)
    cube = xr_landcover.open_image(nc_band_files)
    lib = xr_landcover.train(cube, nc_polygons_path, class_field="id", method="random_trees",
                             max_samples_per_class=100, random_state=0, n_estimators=7,
                             max_depth=4, bootstrap=False)
    window = cube.isel(y=slice(0, 64), x=slice(0, 64))
    np.testing.assert_array_equal(xr_landcover.classify(window, loaded).values,
                                  xr_landcover.classify(window, lib).values)


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        ("gama=0.5", "--param gama: method 'svm' (SVC) has no parameter 'gama'; its parameters: "
                     "C, break_ties"),
        ("C", "--param: 'C' is not NAME=VALUE"),
        ("C=[1, 2]", "--param: '[1, 2]' is a list"),
    ],
)
def test_bad_params_are_refused_before_any_work(param, expected, nc_band_files, tmp_path,
                                                capsys):
    """Checked before the samples are read (they do not exist here), nothing written."""
    argv = ["train", *map(str, nc_band_files), "--samples", str(tmp_path / "none.gpkg"),
            "--param", param, "-o", str(tmp_path / "m.skops")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {expected}"), err
    assert listing(tmp_path) == []


def test_params_are_never_evaluated(nc_band_files, nc_polygons_path, tmp_path, capsys):
    """A value that is code stays text: nothing runs, the estimator refuses the string."""
    marker = tmp_path / "ran"
    argv = ["-q", "train", *map(str, nc_band_files), "--samples", str(nc_polygons_path),
            "--method", "knn", "--param", f"n_neighbors=open({str(marker)!r}, 'w')",
            "-o", str(tmp_path / "m.skops")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "n_neighbors" in err and not marker.exists(), err
    assert not (tmp_path / "m.skops").exists()


def test_cross_validate_csv_needs_overwrite(nc_band_files, nc_polygons_path, tmp_path):
    csv = tmp_path / "folds.csv"
    csv.write_text("keep me")
    result = run("cross-validate", *map(str, nc_band_files), "--samples",
                 str(tmp_path / "none.gpkg"), "--csv", str(csv))
    assert result.returncode == 2 and "--overwrite" in result.stderr
    assert csv.read_text() == "keep me" and listing(tmp_path) == ["folds.csv"]


# --------------------------------------------------------------------------------------------
# Band selection: 0-based indices or names, as in the API; info prints both
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def four_bands(tmp_path_factory):
    """A 4-band uint8 file without band descriptions: its bands are named '1'..'4'."""
    from conftest import write_raster

    rng = np.random.default_rng(3)
    blocks = np.kron(rng.integers(0, 255, (4, 6, 6)), np.ones((1, 8, 8))).astype("uint8")
    noisy = np.clip(blocks + rng.integers(0, 12, blocks.shape), 0, 255).astype("uint8")
    return write_raster(tmp_path_factory.mktemp("bands") / "four.tif", noisy)


def test_info_prints_0_based_indices_and_names(four_bands, capsys):
    assert cli.main(["info", str(four_bands)]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("index  band")
    assert [line.split() for line in lines[start + 1:start + 5]] == [
        ["0", "1"], ["1", "2"], ["2", "3"], ["3", "4"]]
    assert cli.main(["info", str(four_bands), "--band-names", "b", "g", "r", "n"]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = lines.index("index  band")
    assert [line.split() for line in lines[start + 1:start + 5]] == [
        ["0", "b"], ["1", "g"], ["2", "r"], ["3", "n"]]


def test_integer_bands_that_are_also_band_names_are_refused(four_bands, tmp_path, capsys):
    """``--bands 1 2 3`` on bands named 1..4 took the 2nd-4th bands: now it is ambiguous."""
    out = tmp_path / "s.tif"
    assert cli.main(["segment", str(four_bands), "-o", str(out), "--bands", "1", "2", "3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --bands: '1' is ambiguous"), err
    assert "--band-names" in err and listing(tmp_path) == []

@pytest.mark.parametrize(("cli_bands", "positions"),
                         [(["r", "0", "n"], [2, 0, 3]), (["-1", "g"], [3, 1])])
def test_bands_by_name_and_index_are_the_library_bands(cli_bands, positions, four_bands,
                                                       tmp_path):
    """Renamed with --band-names, the bands are chosen by name or 0-based index, and the
    segments are the library's on ``cube.isel(band=positions)``."""
    import xr_landcover

    out = tmp_path / "s.tif"
    assert cli.main(["-q", "segment", str(four_bands), "--band-names", "b", "g", "r", "n",
                     "--bands", *cli_bands, "-o", str(out), "--min-segment-size", "5"]) == 0
    cube = xr_landcover.open_image(four_bands)
    expected = cube.isel(band=positions).landcover.segment(min_segment_size=5).compute()
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), expected.values)


def test_segment_takes_several_single_band_files(four_bands, tmp_path):
    """Files named ..._B1.tif ... are bands B1, B2, B3; --bands picks among them."""
    from conftest import write_raster

    import xr_landcover

    with rasterio.open(four_bands) as src:
        data = src.read()
    files = [write_raster(tmp_path / f"scene_B{i + 1}.tif", data[i]) for i in range(3)]
    out = tmp_path / "s.tif"
    assert cli.main(["-q", "segment", *map(str, files), "--bands", "B3", "0", "-o", str(out),
                     "--min-segment-size", "5"]) == 0
    cube = xr_landcover.open_image(files)
    expected = cube.landcover.segment(bands=["B3", "B1"], min_segment_size=5).compute()
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), expected.values)


def test_band_names_of_the_wrong_length_name_the_flag(four_bands, capsys):
    assert cli.main(["info", str(four_bands), "--band-names", "a", "b"]) == 2
    assert capsys.readouterr().err.startswith("error: --band-names has 2 names")


# --------------------------------------------------------------------------------------------
# cluster, reclassify, accuracy-points: the library's results, outputs checked first
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["kmeans", "isodata"])
def test_cluster_writes_the_library_clusters(method, nc_band_files, tmp_path, capsys):
    import xr_landcover

    out = tmp_path / "clusters.tif"
    argv = ["cluster", *map(str, nc_band_files), "--classes", "5", "--method", method,
            "--sample-size", "3000", "--random-state", "3", "--max-merge-distance", "1.0",
            "--min-samples-per-cluster", "30", "-o", str(out)]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    expected = xr_landcover.cluster(xr_landcover.open_image(nc_band_files), 5, method=method,
                                    sample_size=3000, random_state=3, max_merge_distance=1.0,
                                    min_samples_per_cluster=30).compute()
    written = xr_landcover.open_classmap(out)
    np.testing.assert_array_equal(written.values, expected.values)
    # names and colours as the library's own file of its clusters has them
    library = xr_landcover.open_classmap(xr_landcover.to_geotiff(expected, tmp_path / "l.tif"))
    assert written.attrs["class_names"] == library.attrs["class_names"]
    assert ClassMap.from_dataarray(written).colormap == ClassMap.from_dataarray(
        library).colormap
    k = len(expected.attrs["flag_values"])
    assert f"{k} clusters ({method}); class map written to" in printed and "hectares" in printed
    assert cli.main(argv) == 2  # the output exists now
    assert "--overwrite" in capsys.readouterr().err


def test_cluster_checks_its_output_before_reading(tmp_path):
    out = tmp_path / "c.tif"
    out.write_bytes(b"keep me")
    result = run("cluster", str(tmp_path / "none.tif"), "--classes", "3", "-o", str(out))
    assert result.returncode == 2 and "--overwrite" in result.stderr
    assert "not found" not in result.stderr and out.read_bytes() == b"keep me"


@pytest.mark.parametrize(
    ("cli_map", "mapping"),
    [
        (["3=4", "5=4", "--names", "4=vegetation", "--colors", "4=0,200,0"],
         ({3: 4, 5: 4}, {4: "vegetation"}, {4: (0, 200, 0)})),
        (["green=herbaceous,4,forest", "1=2", "--colors", "green=#00c800"],
         ({"green": ["herbaceous", 4, "forest"]}, None, {"green": (0, 200, 0)})),
    ],
)
def test_reclassify_is_the_library_reclassify(cli_map, mapping, classified, tmp_path, capsys):
    import xr_landcover
    from xr_landcover.postprocess import reclassify

    _, out, *_ = classified
    new = tmp_path / "merged.tif"
    argv = ["-q", "reclassify", str(out), "--map", *cli_map, "-o", str(new)]
    old, names, colors = mapping
    source = xr_landcover.open_classmap(out)
    if "1=2" in cli_map:  # the two forms do not mix: the library refuses, so does the CLI
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --map: give all OLD=NEW (class values) or all "), err
        with pytest.raises(ValueError):
            reclassify(source, {**old, 1: 2})
        argv.remove("1=2")
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    expected = reclassify(source, old, names=names, colors=colors).compute()
    written = xr_landcover.open_classmap(new)
    np.testing.assert_array_equal(written.values, expected.values)
    assert written.attrs["class_names"] == list(expected.attrs["class_names"])
    written_colours = ClassMap.from_dataarray(written).colormap
    assert written_colours == ClassMap.from_dataarray(expected).colormap
    assert (0, 200, 0) in written_colours.values()
    assert "class map written to" in printed and expected.attrs["class_names"][-2] in printed


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--map", "3"], "--map: '3' is not KEY=VALUE"),
        (["--map", "99=1"], "--map: 99 (in '99') is not a class of the map"),
        (["--map", "3=forest"], "--map 3=forest: an old class value takes one new value"),
        (["--map", "3=4", "--names", "9=x"], "--names: [9] are not new class values"),
        (["--map", "3=4", "--colors", "4=300,0,0"], "--colors 4: '300,0,0' is not a colour"),
    ],
)
def test_reclassify_errors_name_the_flag(extra, expected, classified, tmp_path, capsys):
    _, out, *_ = classified
    assert cli.main(["reclassify", str(out), *extra, "-o", str(tmp_path / "r.tif")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {expected}"), err
    assert listing(tmp_path) == []


def test_reclassify_checks_its_output_first(classified, tmp_path):
    _, out, *_ = classified
    result = run("reclassify", str(out), "--map", "3=4", "-o", str(out), "--overwrite")
    assert result.returncode == 2 and "is the input map" in result.stderr
    target = tmp_path / "r.tif"
    target.write_bytes(b"keep me")
    result = run("reclassify", str(tmp_path / "none.tif"), "--map", "3=4", "-o", str(target))
    assert result.returncode == 2 and "--overwrite" in result.stderr
    assert target.read_bytes() == b"keep me"


@pytest.mark.parametrize(
    ("cli_args", "kwargs"),
    [
        (["--n", "60", "--min-per-class", "5", "--random-state", "2"],
         {"n": 60, "min_per_class": 5, "random_state": 2}),
        (["--allocation", "forest=10", "1=4", "--random-state", "1"],
         {"allocation": {"forest": 10, 1: 4}, "random_state": 1}),
        (["--strategy", "random", "--n", "25", "--random-state", "0"],
         {"strategy": "random", "n": 25, "random_state": 0}),
    ],
)
def test_accuracy_points_are_the_library_points(cli_args, kwargs, classified, tmp_path,
                                                capsys):
    import geopandas as gpd

    import xr_landcover

    _, out, *_ = classified
    points = tmp_path / "points.gpkg"
    assert cli.main(["-q", "accuracy-points", str(out), *cli_args, "-o", str(points)]) == 0
    printed = capsys.readouterr().out
    expected = xr_landcover.accuracy_points(xr_landcover.open_classmap(out), **kwargs)
    got = gpd.read_file(points)
    assert f"{len(expected)} points written to" in printed
    assert got.columns.tolist() == expected.columns.tolist()
    for column in ("Classified", "GrndTruth", "class_name"):
        assert got[column].tolist() == expected[column].tolist()
    np.testing.assert_array_equal(got.geometry.x, expected.geometry.x)
    np.testing.assert_array_equal(got.geometry.y, expected.geometry.y)
    assert got.crs == expected.crs
    assert listing(tmp_path) == ["points.gpkg"]  # nothing staged left behind


def test_accuracy_points_check_the_output_first(classified, tmp_path):
    _, out, *_ = classified
    shp = run("accuracy-points", str(out), "-o", str(tmp_path / "p.shp"))
    assert shp.returncode == 2 and "GeoPackage (.gpkg)" in shp.stderr
    target = tmp_path / "p.gpkg"
    target.write_bytes(b"keep me")
    result = run("accuracy-points", str(tmp_path / "none.tif"), "-o", str(target))
    assert result.returncode == 2 and "--overwrite" in result.stderr
    assert "not found" not in result.stderr and target.read_bytes() == b"keep me"
    assert listing(tmp_path) == ["p.gpkg"]


@pytest.mark.parametrize(("extra", "expected"), [
    (["--classes", "1"], "--classes must be an integer in [2, 254]"),
    (["--classes", "3", "--min-samples-per-cluster", "0"], "--min-samples-per-cluster must be"),
])
def test_cluster_errors_name_the_flag(extra, expected, tmp_path, capsys):
    from xr_landcover import datasets

    argv = ["cluster", str(datasets.l8_rgb_uint8_path()), *extra, "-o", str(tmp_path / "c.tif")]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: {expected}")
    assert listing(tmp_path) == []
