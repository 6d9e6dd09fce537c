"""Tests of the leakage guard (xr_landcover.assessment.leakage): accuracy(..., training=...)
counts the reference samples inside or within one pixel of the training samples."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pytest
from conftest import synthetic_class_map, write_raster
from shapely.geometry import Point, box

from xr_landcover import accuracy
from xr_landcover.errors import InvalidParameterError

X0, Y0, RES = 500000.0, 4000000.0, 10.0


def centre(row, col):
    return Point(X0 + (col + 0.5) * RES, Y0 - (row + 0.5) * RES)


@pytest.fixture(scope="module")
def class_map():
    data = np.ones((20, 20), dtype="uint8")
    data[:, 10:] = 2
    return synthetic_class_map(data, chunks={"y": 7, "x": 6})


@pytest.fixture(scope="module")
def training():
    # covers the pixel centres of rows 2-5, columns 2-8 (edges a quarter pixel outside them)
    poly = box(X0 + 1.75 * RES, Y0 - 6.25 * RES, X0 + 9.25 * RES, Y0 - 1.75 * RES)
    return gpd.GeoDataFrame({"id": [1]}, geometry=[poly], crs="EPSG:32618")


def points(cells, classes=None):
    classes = classes or [1] * len(cells)
    return gpd.GeoDataFrame({"GrndTruth": classes},
                            geometry=[centre(r, c) for r, c in cells], crs="EPSG:32618")


def no_warning(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        return call()


def test_counts_samples_inside_and_one_pixel_away(class_map, training):
    # inside; beside (0.25 px from the edge); diagonally beside (0.35 px); two pixels on
    # (1.25 px: not within one pixel); far
    ref = points([(3, 3), (4, 9), (6, 9), (3, 10), (15, 15)], [1, 1, 1, 2, 2])
    with pytest.warns(UserWarning, match="^3 of 5 reference samples lie inside or within one "
                                         "pixel \\(10 map units\\)"):
        rep = accuracy(class_map, ref, training=training)
    assert rep.n_samples == 5  # the report itself is unchanged
    no_warning(lambda: accuracy(class_map, ref))  # without training= nothing is checked


def test_none_near_no_warning(class_map, training):
    ref = points([(3, 11), (12, 3), (15, 15)], [2, 1, 2])
    no_warning(lambda: accuracy(class_map, ref, training=training))


def test_polygon_reference_counts_its_pixels(class_map, training):
    # a reference polygon over rows 4-7, columns 4-7: 16 pixels; those of rows 4-6 (12) are
    # inside or beside the training rectangle (row 6 is 0.25 px from its edge), row 7 is
    # 1.25 px away
    poly = box(X0 + 3.75 * RES, Y0 - 8.25 * RES, X0 + 8.25 * RES, Y0 - 3.75 * RES)
    ref = gpd.GeoDataFrame({"GrndTruth": [1]}, geometry=[poly], crs="EPSG:32618")
    with pytest.warns(UserWarning, match="^12 of 16 reference samples"):
        accuracy(class_map, ref, training=training)


def test_training_in_another_crs(class_map, training):
    ref = points([(3, 3), (15, 15)], [1, 2])
    with pytest.warns(UserWarning, match="^1 of 2 reference samples"):
        accuracy(class_map, ref, training=training.to_crs("EPSG:4326"))


def test_training_points(class_map):
    train = gpd.GeoDataFrame({"id": [1, 2]}, geometry=[centre(3, 3), centre(12, 12)],
                             crs="EPSG:32618")
    ref = points([(3, 4), (12, 12), (5, 5)], [1, 2, 1])  # beside, same pixel, 2.8 px away
    with pytest.warns(UserWarning, match="^2 of 3 reference samples"):
        accuracy(class_map, ref, training=train)


def test_nodata_samples_are_not_counted(training):
    data = np.ones((20, 20), dtype="uint8")
    data[3, 3] = 0  # the fill value
    cm = synthetic_class_map(data, values=[1])
    ref = points([(3, 3), (3, 4), (15, 15)])
    with pytest.warns(UserWarning, match="^1 of 2 reference samples"):
        accuracy(cm, ref, training=training)


def test_raster_reference_refuses_training(class_map, training, tmp_path):
    with pytest.raises(InvalidParameterError, match="training= checks reference points"):
        accuracy(class_map, class_map, training=training)
    path = write_raster(tmp_path / "reference.tif", np.ones((20, 20), "uint8"), nodata=0)
    with pytest.raises(InvalidParameterError, match="training= checks reference points"):
        accuracy(class_map, path, training=training)  # a raster file as well
