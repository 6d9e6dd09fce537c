"""``accuracy()``: a class map compared with reference data, counted into an accuracy report.

The function sits in a module of its own, above the two it joins: :mod:`.reference` turns the
reference (points, polygons or a raster) into samples on the map's grid and reads the map's
values, :mod:`.report` holds :class:`~.report.AccuracyReport` and its estimators. Here the
pairs of (map class, reference class) become the confusion matrix, with the classes of both
sides, and the report gets the hook that counts the map's class areas when
:meth:`~.report.AccuracyReport.area_estimates` asks (see :mod:`.report`). So neither
neighbour imports the other: the report stays free of rasters, the reference of the report.
(It is not ``accuracy.py``, a module named like its function, nor ``compare.py``, the name of
:func:`xr_landcover.compare`, the side-by-side maps.)

Conventions
-----------
* The confusion matrix has the **map** classes as rows and the **reference** classes as columns.
* A class map is a 2-D ``("y", "x")`` DataArray of integers with a CRS, a nodata value
  (``_FillValue`` / ``rio.nodata`` / ``rio.encoded_nodata``) and, optionally, the attrs
  ``flag_values`` and ``class_names`` (read by :class:`xr_landcover.ClassMap`). Without them
  the class values are the names.
* Only small reductions are computed: the map values at the reference samples (only the chunks
  that hold a sample are read), or per-chunk pair counts against a reference raster.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr

from .._validate import require_class_map, require_whole_classes
from ..classmap import fill_value
from ..errors import InvalidInputTypeError, InvalidParameterError, NoSamplesError, SamplesError
from .leakage import near_training, warn_if_near_training
from .reference import (
    class_area_table,
    is_raster_path,
    map_classes,
    map_values_at,
    open_reference_raster,
    raster_pairs,
    valid_mask,
    vector_samples,
)
from .report import AccuracyReport

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["accuracy"]


def _class_universe(
    map_names: dict[int, str], observed: Sequence[np.ndarray], ref_names: dict[int, str]
) -> tuple[list[int], list[str]]:
    values = list(map_names)
    seen = np.unique(np.concatenate([np.asarray(o, dtype=np.int64) for o in observed]))
    values += [int(v) for v in seen if int(v) not in map_names]
    names = [map_names.get(v, ref_names.get(v, str(v))) for v in values]
    return values, names


def _check_common(map_values: set[int], ref_values: set[int], names: dict[int, str]) -> None:
    if ref_values and not (map_values & ref_values):
        show = {v: names.get(v, str(v)) for v in sorted(map_values)}
        raise SamplesError(
            f"no class is common to the map and the reference: map classes {show}, reference "
            f"classes {sorted(ref_values)}. Is class_field the right column (values must be "
            "the map's class values, or its class names)?"
        )


def _counts_matrix(values: list[int], m: np.ndarray, r: np.ndarray) -> np.ndarray:
    index = {v: i for i, v in enumerate(values)}
    mi = np.array([index[int(v)] for v in m], dtype=np.int64)
    ri = np.array([index[int(v)] for v in r], dtype=np.int64)
    k = len(values)
    return np.bincount(mi * k + ri, minlength=k * k).reshape(k, k)


def _report(class_map: xr.DataArray, counts: np.ndarray, values: list[int], names: list[str],
            excluded: dict[str, int]) -> AccuracyReport:
    return AccuracyReport(
        counts=counts,
        class_values=tuple(values),
        class_names=tuple(names),
        excluded=excluded,
        class_map=class_map,
        map_area_table=functools.partial(class_area_table, class_map),
    )


def _accuracy_vector(
    class_map: xr.DataArray,
    reference: gpd.GeoDataFrame | str | os.PathLike,
    class_field: str | None,
    name_field: str | None,
    training=None,
) -> AccuracyReport:
    map_names = map_classes(class_map)
    samples = vector_samples(class_map, reference, class_field, name_field, map_names)
    excluded = dict(samples.excluded)
    mapped = map_values_at(class_map, samples.rows, samples.cols)
    valid = valid_mask(mapped, fill_value(class_map))
    excluded["nodata"] = int((~valid).sum())
    if not valid.any():
        raise NoSamplesError(
            f"all {len(mapped)} reference samples inside the map fall on nodata pixels"
        )
    if training is not None:  # the leakage guard (.leakage)
        near, pixel = near_training(class_map, samples.rows[valid], samples.cols[valid],
                                    training)
        warn_if_near_training(near, pixel)
    m = require_whole_classes(mapped[valid], "class_map").astype(np.int64)
    r = samples.classes[valid]
    map_values = set(map_names) | {int(v) for v in np.unique(m)}
    _check_common(map_values, {int(v) for v in np.unique(r)}, map_names)
    values, names = _class_universe(map_names, [m, r], samples.names)
    return _report(class_map, _counts_matrix(values, m, r), values, names, excluded)


def _accuracy_raster(class_map: xr.DataArray, reference: xr.DataArray) -> AccuracyReport:
    pairs, nodata = raster_pairs(class_map, reference)
    if len(pairs) == 0:
        raise NoSamplesError(
            "the reference raster has no valid pixel over a valid pixel of the class map: "
            "do they cover the same place?"
        )
    m = pairs.index.get_level_values(0).to_numpy()
    r = pairs.index.get_level_values(1).to_numpy()
    map_names = map_classes(class_map)
    _check_common(set(map_names) | set(m.tolist()), set(r.tolist()), map_names)
    values, names = _class_universe(map_names, [m, r], {})
    index = {v: i for i, v in enumerate(values)}
    counts = np.zeros((len(values), len(values)), dtype=np.int64)
    for mv, rv, c in zip(m, r, pairs.to_numpy()):
        counts[index[int(mv)], index[int(rv)]] += int(c)
    excluded = {"outside": 0, "nodata": nodata, "unlabelled": 0, "no_pixel_centre": 0}
    return _report(class_map, counts, values, names, excluded)


def accuracy(
    class_map: xr.DataArray,
    reference: gpd.GeoDataFrame | xr.DataArray | str | os.PathLike,
    class_field: str | None = None,
    name_field: str | None = None,
    training: gpd.GeoDataFrame | str | os.PathLike | None = None,
) -> AccuracyReport:
    """Compare a class map with reference data: confusion matrix, kappa, per-class accuracy.

    Parameters
    ----------
    class_map : xarray.DataArray
        2-D ``("y", "x")`` integer class map with a CRS and a nodata value; dask-backed or not.
    reference : GeoDataFrame, DataArray, or path
        * points (GeoDataFrame or vector file): each point samples the pixel it falls in;
        * polygons: every pixel whose centre lies inside a polygon is one sample (a pixel
          inside two polygons counts twice);
        * a reference raster (DataArray or GeoTIFF path) of class values: compared pixel by
          pixel; on another grid it is reprojected onto the map's grid with nearest
          neighbour (reading it whole).

        Vectors are reprojected to the map's CRS.  Samples outside the map or on a nodata
        pixel are left out and counted in :attr:`AccuracyReport.excluded`.
    class_field : str, optional
        Column of the reference class: integer class values, or class names matching the
        map's ``class_names``.  Default: ``GrndTruth``, ``Classvalue``, ``id``, or the one
        integer column.  Missing values and ``-1`` mean "not labelled" and are left out.
    name_field : str, optional
        Column naming the reference classes, used for classes the map does not name.
    training : GeoDataFrame or path, optional
        The training samples of the map's classifier: a warning gives the number of reference
        samples (points, or polygon pixels) whose pixel centre lies inside or within one
        pixel of them, where the accuracy is optimistic (:mod:`~.leakage`). Only for point
        and polygon references.

    Returns
    -------
    AccuracyReport
        Map classes as rows, reference classes as columns.  A class found only in the reference
        gets a row of zeros (the map never assigns it): its producer's accuracy is 0 and its
        user's accuracy NaN.

    Raises
    ------
    NoSamplesError
        No reference sample falls inside the map, or all fall on nodata.
    SamplesError
        No class in common between map and reference, or the class field cannot be found.
    InvalidParameterError
        ``training`` with a reference raster.
    MissingCRSError
        The map or the reference has no CRS.

    Examples
    --------
    >>> import geopandas as gpd, numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[1, 1], [2, 2]], dtype="uint8"), dims=("y", "x"),
    ...                  coords={"y": [15.0, 5.0], "x": [5.0, 15.0]},
    ...                  attrs={"flag_values": [1, 2], "class_names": ["water", "forest"]})
    >>> m = m.rio.write_crs("EPSG:32618")
    >>> pts = gpd.GeoDataFrame({"id": [1, 2, 2]}, geometry=gpd.points_from_xy(
    ...     [5, 5, 15], [15, 15, 5]), crs="EPSG:32618")
    >>> rep = accuracy(m, pts)
    >>> rep.confusion_matrix
    reference  water  forest  Total
    map
    water          1       1      2
    forest         0       1      1
    Total          1       2      3
    """
    class_map = require_class_map(class_map, crs=True)
    if training is not None and (isinstance(reference, xr.DataArray)
                                 or is_raster_path(reference)):
        raise InvalidParameterError(
            "training= checks reference points or polygons against the training samples; "
            "with a reference raster, leave it out (mask the training polygons out of the "
            "reference raster instead)"
        )
    if isinstance(reference, xr.DataArray):
        return _accuracy_raster(class_map, reference)
    if is_raster_path(reference):
        return _accuracy_raster(class_map, open_reference_raster(reference))
    import geopandas as gpd

    if not isinstance(reference, gpd.GeoDataFrame | gpd.GeoSeries | str | os.PathLike):
        raise InvalidInputTypeError(
            "reference must be a GeoDataFrame, a DataArray or a path to a vector or raster "
            f"file; got {type(reference).__name__}"
        )
    return _accuracy_vector(class_map, reference, class_field, name_field, training)

