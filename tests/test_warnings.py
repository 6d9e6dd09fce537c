"""Warnings point at the caller's line, once per call, with long lists cut (_warnings.py)."""

from __future__ import annotations

import inspect
import warnings

import geopandas as gpd
import matplotlib
import numpy as np
import pytest
from conftest import synthetic_class_map, synthetic_cube
from shapely.geometry import Point, box

import xr_landcover
from xr_landcover._warnings import short_list, warn

matplotlib.use("Agg")


def caught(call):
    """Run ``call()``; return its UserWarnings (all of them: no filter hides a repeat)."""
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        call()
    return [r for r in records if issubclass(r.category, UserWarning)]


def line_of(fragment: str) -> int:
    """The line of this file that holds ``fragment`` (the call a warning must point at)."""
    lines, start = inspect.getsourcelines(inspect.getmodule(line_of))
    return next(i for i, text in enumerate(lines, start or 1) if fragment in text)


def test_warn_from_here_points_here():
    (record,) = caught(lambda: warn("a thing to fix"))  # the lambda is this file's
    assert record.filename == __file__ and record.category is UserWarning


def test_a_warning_deep_in_the_package_points_at_the_users_line():
    """Accessor -> train -> samples -> warn: the warning names this file and line, once for
    the two classes it drops."""
    values = np.arange(2 * 20 * 20, dtype=np.float32).reshape(2, 20, 20)
    cube = synthetic_cube(values)
    left, bottom, right, top = cube.rio.bounds()
    polygons = gpd.GeoDataFrame(
        {"id": [1, 2, 3, 4]},
        geometry=[box(left, top - 50, left + 50, top), box(right - 50, bottom, right, bottom + 50),
                  box(right + 1000, top, right + 1100, top + 100),  # 3 and 4: off the image
                  box(right + 2000, top, right + 2100, top + 100)],
        crs=cube.rio.crs,
    )
    records = caught(lambda: cube.landcover.train(polygons, "id", method="knn", n_neighbors=1))
    (record,) = [r for r in records if "dropped" in str(r.message)]  # one for both classes
    assert str(record.message).startswith("classes 3 'class 3', 4 'class 4' are dropped")
    assert record.filename == __file__
    assert record.lineno == line_of('cube.landcover.train(polygons, "id", method="knn"')


def test_compare_warns_once_with_a_short_list():
    """Samples whose classes are not the map's (segment polygons, say): one warning, cut."""
    classes = synthetic_class_map(np.array([[1, 2], [2, 1]], np.uint8))
    x0, y0 = classes.x.values[0], classes.y.values[0]
    samples = gpd.GeoDataFrame({"segment_id": np.arange(100, 140)},
                               geometry=[Point(x0, y0)] * 40, crs=classes.rio.crs)
    cube = synthetic_cube(np.ones((3, 2, 2), np.float32))
    records = caught(lambda: xr_landcover.compare(cube, classes, samples,
                                                  class_field="segment_id"))
    (record,) = records  # one call, one warning (not one per panel)
    message = str(record.message)
    assert "40 sample(s)" in message and "... and 30 more" in message
    assert len(message) < 400
    assert record.filename == __file__
    import matplotlib.pyplot as plt

    plt.close("all")


@pytest.mark.parametrize(("items", "expected"), [
    ([], ""),
    (["a"], "a"),
    (range(10), "0, 1, 2, 3, 4, 5, 6, 7, 8, 9"),
    (range(2829), "0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ... and 2,819 more"),
])
def test_short_list(items, expected):
    assert short_list(items) == expected
