"""Accuracy assessment of class maps: confusion matrix, kappa, area estimates, accuracy points.

* :func:`accuracy` (:mod:`~.evaluate`) compares a class map with reference points, polygons
  (sampled at the pixel centres they contain) or a reference raster and returns an
  :class:`AccuracyReport`.
* :class:`AccuracyReport` (:mod:`~.report`, numpy and pandas only) holds the confusion matrix and
  its statistics; :meth:`AccuracyReport.area_estimates` gives the stratified estimators of
  Olofsson et al. (2014).
* :func:`accuracy_points` (:mod:`~.points`) draws stratified random (or simple random)
  assessment points from a class map, as ArcGIS's *Create Accuracy Assessment Points* does.
* :mod:`~.sample_sizing` (``xr_landcover.sample_size``): how many points to draw and their
  allocation (Olofsson et al. 2014, eq. 13), for :func:`accuracy_points`;
  :mod:`~.cross_validation` (``xr_landcover.cross_validate``), :mod:`~.inspection`
  (``xr_landcover.inspect_samples``) and :mod:`~.leakage` (``accuracy(..., training=)``)
  judge the training samples. They are reached from the package, not re-exported here.
* :mod:`~.reference`: reference data as samples on the map's grid, and the class map's raster
  plumbing (per-chunk class counts, valid masks, the class-area table).

No module is named like the function it holds, so importing one never hides a function on the
package (``xr_landcover.accuracy`` is the function). geopandas loads on first use.
"""

from __future__ import annotations

from .evaluate import accuracy
from .points import accuracy_points
from .report import AccuracyReport

__all__ = ["AccuracyReport", "accuracy", "accuracy_points"]
