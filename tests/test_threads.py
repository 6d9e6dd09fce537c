"""The caller's warning filters survive dask worker threads that run rasterio's rasterize."""

from __future__ import annotations

import warnings

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classification.samples import extract_samples


def test_dropped_class_warning_is_never_swallowed_by_the_worker_threads():
    """rasterize enters warnings.catch_warnings in each worker thread; overlapping tasks could
    leave an 'ignore' filter behind, and the dropped-class warning vanished in about half the
    runs (seen under pytest.warns). Twelve runs, each must record it and leave the filters as
    they were."""
    polygons = datasets.nc_training_polygons()
    for _ in range(12):
        cube = xr_landcover.open_image(datasets.nc_landsat7_path(), chunks=64, masked=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            before = list(warnings.filters)
            extract_samples(cube, polygons, "id", "label", max_samples_per_class=None)
            assert warnings.filters == before
        assert any("'agriculture' is dropped" in str(w.message) for w in caught)
