"""Tests of the CLI verbs ``cross-validate`` and ``inspect`` on the shipped NC scene."""

from __future__ import annotations

import geopandas as gpd
import pytest

from xr_landcover import cli, datasets, open_classmap
from xr_landcover.classification import LandcoverModel


@pytest.fixture(scope="module")
def scene():
    return str(datasets.nc_landsat7_path()), str(datasets.nc_training_polygons_path())


def test_cross_validate(scene, tmp_path, capsys):
    image, polygons = scene
    csv = tmp_path / "folds.csv"
    args = ["cross-validate", image, "--samples", polygons, "--class-field", "id",
            "--name-field", "label", "--method", "knn", "--folds", "3", "--csv", str(csv)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "3 folds of whole polygons, method knn" in out and "confusion matrix" in out
    assert csv.read_text().splitlines()[0] == "fold,pixels,groups,overall_accuracy,kappa"
    assert cli.main([*args[:-2], "--groups", "block", "-q"]) == 2
    assert "groups='block' needs block_size" in capsys.readouterr().err


def test_inspect(scene, tmp_path, capsys):
    image, polygons = scene
    model = tmp_path / "m.skops"
    assert cli.main(["train", image, "--samples", polygons, "--class-field", "id",
                     "--name-field", "label", "--method", "gradient_boosting", "-o",
                     str(model), "-q"]) == 0
    assert LandcoverModel.load(model).method == "gradient_boosting"
    worst, wrong = tmp_path / "worst.gpkg", tmp_path / "wrong.tif"
    args = ["inspect", image, "--samples", polygons, "--model", str(model), "--class-field",
            "id", "-o", str(worst), "--misclassified", str(wrong)]
    assert cli.main(args) == 0
    assert "worst first" in capsys.readouterr().out
    table = gpd.read_file(worst)
    assert {"accuracy", "predicted_name", "pixels"} <= set(table.columns)
    assert open_classmap(wrong).attrs["class_names"][0] == "developed"
    assert cli.main(args) == 2  # outputs exist
    assert "--overwrite" in capsys.readouterr().err
