"""Object-based classification: training polygons label segments, segments get classes.

The chain GIS users know from ArcGIS (*Segment Mean Shift* → *Compute Segment Attributes* →
*Train ... Classifier* with a segmented raster → *Classify Raster*):

1. Training (:func:`extract_segment_samples`, used by ``train(..., segments=seg)``). The
   polygons are rasterized at pixel centres exactly as for pixel training (only the chunks they
   touch are read; pixels with nodata in a band are left out). A segment is **labelled** with
   class *c* when the sample pixels of *c* cover at least ``min_share`` (default 0.5, i.e. half)
   of the segment's pixels (all of its pixels, inside the polygons or not) and no other class
   covers as many; other segments are not used. Each labelled segment is one training sample,
   its features the segment attributes of the **recipe** :func:`feature_names`: the mean of
   every band, the standard deviation of every band, then ``count``, ``compactness`` and
   ``rectangularity`` (see :func:`xr_landcover.segment_attributes` for their definitions).
   ``max_samples_per_class`` caps the number of *segments* per class.
2. Classification (:func:`classify_segments`, used by ``classify(..., segments=seg)``): the
   attribute table is one small reduction, the estimator predicts once per segment, and the
   segment ids are mapped to classes block by block with a sorted-ids lookup. All of it is
   lazy: nothing runs until the class map is computed. Segments whose attributes are undefined
   (no valid value in a band) and nodata (id 0) get the fill value.

The segment map is read twice when both the attributes and the painted map are needed (once
for the table, once for the lookup). A mean-shift segmentation is costly: persist it, or write
it to a GeoTIFF and reopen it, before training and classifying with it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from .._validate import DEFAULT_MAX_SAMPLES_PER_CLASS, require_crs, require_cube
from .._warnings import short_list, warn
from ..errors import InvalidParameterError, SamplesError
from ..segment.attributes import attribute_table, check_grid
from ._common import (
    check_against_model,
    check_bands,
    class_map_dtype,
    classification_output,
    warn_if_other_crs,
)
from .samples import LandcoverClass, check_cap, draw_per_class, extract_samples

__all__ = [
    "SegmentSamples",
    "feature_names",
    "label_segments",
    "extract_segment_samples",
    "classify_segments",
]

#: Shape attributes in the feature recipe, after the band means and standard deviations.
SHAPE_FEATURES = ("count", "compactness", "rectangularity")


def feature_names(bands: Sequence[str]) -> tuple[str, ...]:
    """The attribute recipe of object-based models: columns of the attribute table, in order.

    Examples
    --------
    >>> feature_names(["red", "nir"])
    ('mean_red', 'mean_nir', 'std_red', 'std_nir', 'count', 'compactness', 'rectangularity')
    """
    bands = [str(b) for b in bands]
    return (*(f"mean_{b}" for b in bands), *(f"std_{b}" for b in bands), *SHAPE_FEATURES)


@dataclass
class SegmentSamples:
    """Labelled segments ready for an estimator (the object-based :class:`TrainingSamples`).

    Attributes
    ----------
    X : numpy.ndarray
        ``(n_segments, n_features)`` attributes (float64) in the order of ``features``.
    y : numpy.ndarray
        Class value of each segment.
    segment_ids : numpy.ndarray
        The segments used.
    features : tuple of str
        The attribute recipe (:func:`feature_names`).
    labels : pandas.DataFrame
        Every labelled segment (before the cap): ``class_value``, ``share`` (of its pixels
        covered by that class), indexed by ``segment_id``.
    classes, bands, available, used, dropped, max_samples_per_class, random_state
        As in :class:`~xr_landcover.classification.samples.TrainingSamples`, counting segments.
    """

    X: np.ndarray
    y: np.ndarray
    segment_ids: np.ndarray
    features: tuple[str, ...]
    labels: pd.DataFrame
    classes: list[LandcoverClass]
    bands: list[str]
    available: dict[int, int]
    used: dict[int, int]
    dropped: list[LandcoverClass] = field(default_factory=list)
    max_samples_per_class: int | None = DEFAULT_MAX_SAMPLES_PER_CLASS
    random_state: Any = None


def _vote(sample_ids: np.ndarray, sample_values: np.ndarray, counts: pd.Series,
          min_share: float) -> pd.DataFrame:
    """The class of each segment under the samples (see the module docs for the rule)."""
    keep = sample_ids > 0
    pairs = np.stack([sample_ids[keep], sample_values[keep]], axis=1)
    if not len(pairs):
        return pd.DataFrame({"class_value": np.empty(0, np.int64), "share": np.empty(0)},
                            index=pd.Index(np.empty(0, np.int64), name="segment_id"))
    uniq, n = np.unique(pairs, axis=0, return_counts=True)
    votes = pd.DataFrame({"segment_id": uniq[:, 0], "class_value": uniq[:, 1], "pixels": n})
    best = votes.groupby("segment_id")["pixels"].transform("max")
    top = votes[votes["pixels"] == best]
    tied = top["segment_id"].duplicated(keep=False)
    top = top[~tied].set_index("segment_id")
    share = top["pixels"] / counts.reindex(top.index).to_numpy()
    out = pd.DataFrame({"class_value": top["class_value"].astype(np.int64), "share": share})
    return out[out["share"] >= min_share].sort_index()


def label_segments(
    cube: xr.DataArray,
    segments: xr.DataArray,
    samples: gpd.GeoDataFrame | str | os.PathLike,
    class_field: str | None = None,
    name_field: str | None = None,
    color_fields: Sequence[str] | None = ("Red", "Green", "Blue"),
    min_share: float = 0.5,
):
    """Label the segments covered by training polygons; return the labels and the attributes.

    Parameters
    ----------
    cube, segments : xarray.DataArray
        Band cube and its segment map (same grid).
    samples, class_field, name_field, color_fields
        As for :func:`~.samples.extract_samples`.
    min_share : float, default 0.5
        A segment is labelled with class *c* when the pixels of *c* cover at least this share
        of all its pixels, and no other class covers as many (ties: not labelled).

    Returns
    -------
    labels : pandas.DataFrame
        ``class_value`` and ``share`` per labelled segment, indexed by ``segment_id``.
    attributes : pandas.DataFrame
        :func:`~xr_landcover.segment_attributes` of every segment (all bands).
    pixel_samples : TrainingSamples
        The labelled pixels (all of them: no cap) that voted.
    """
    if not 0.0 < float(min_share) <= 1.0:
        raise InvalidParameterError(f"min_share must lie in (0, 1]; got {min_share!r}")
    check_grid(cube, segments)
    pixels = extract_samples(cube, samples, class_field=class_field, name_field=name_field,
                             color_fields=color_fields, max_samples_per_class=None)
    ids = segments.transpose("y", "x").data
    if isinstance(ids, da.Array):
        sample_ids = ids.vindex[pixels.rows, pixels.cols]
    else:
        sample_ids = np.asarray(ids)[pixels.rows, pixels.cols]
    # Small reductions, in one pass so that a lazy segmentation is shared by both.
    attrs, sample_ids = dask.compute(attribute_table(cube, segments), sample_ids)
    labels = _vote(np.asarray(sample_ids, np.int64), pixels.y, attrs["count"], float(min_share))
    return labels, attrs, pixels


def extract_segment_samples(
    cube: xr.DataArray,
    segments: xr.DataArray,
    samples: gpd.GeoDataFrame | str | os.PathLike,
    class_field: str | None = None,
    name_field: str | None = None,
    color_fields: Sequence[str] | None = ("Red", "Green", "Blue"),
    max_samples_per_class: int | None = DEFAULT_MAX_SAMPLES_PER_CLASS,
    random_state: int | np.random.Generator | None = None,
    min_share: float = 0.5,
) -> SegmentSamples:
    """Labelled segments and their attribute features, for object-based training.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``("band", "y", "x")`` with a CRS.
    segments : xarray.DataArray
        Its segment map (:func:`xr_landcover.segment.segment`), on the same grid.
    samples, class_field, name_field, color_fields
        As for :func:`~.samples.extract_samples`.
    max_samples_per_class : int or None, default 500
        At most this many *segments* per class (drawn with ``random_state``); ``None``/0: all.
    random_state : int, Generator or None
        Seed of that draw.
    min_share : float, default 0.5
        See :func:`label_segments`.

    Returns
    -------
    SegmentSamples

    Raises
    ------
    GridMismatchError
        ``segments`` is not on the cube's grid.
    SamplesError
        Fewer than two classes label a segment.

    Warns
    -----
    UserWarning
        For each class that has sample pixels but labels no segment.

    Examples
    --------
    >>> import warnings
    >>> from xr_landcover import datasets
    >>> from xr_landcover.segment import segment
    >>> cube = datasets.nc_landsat7()
    >>> seg = segment(cube, bands=["red", "nir", "swir1"], color_space="none",
    ...               spectral_detail=17, spatial_detail=17, min_segment_size=10)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # agriculture lies on nodata: dropped
    ...     s = extract_segment_samples(cube, seg, datasets.nc_training_polygons(), "id",
    ...                                 "label")
    >>> s.X.shape[1], s.features[-3:]
    (15, ('count', 'compactness', 'rectangularity'))
    >>> s.available  # labelled segments per class value
    {1: 23, 3: 24, 4: 7, 5: 33, 6: 4, 7: 2}
    """
    cap = check_cap(max_samples_per_class)
    labels, attrs, pixels = label_segments(cube, segments, samples, class_field, name_field,
                                           color_fields, min_share)
    bands = [str(b) for b in cube.transpose("band", "y", "x").band.values]
    features = feature_names(bands)
    table = attrs.loc[labels.index, list(features)]
    ok = np.isfinite(table.to_numpy(np.float64)).all(axis=1)
    labels = labels[ok]
    available = labels["class_value"].value_counts().to_dict()
    kept, dropped, unlabelled = [], list(pixels.dropped), []
    for c in pixels.classes:
        if available.get(c.value, 0):
            kept.append(c)
            continue
        dropped.append(c)
        unlabelled.append(c)
    if unlabelled:  # one warning for the call, however many classes
        many = len(unlabelled) > 1
        names = short_list(f"{c.value} {c.name!r}" for c in unlabelled)
        warn(
            f"class{'es' if many else ''} {names} {'are' if many else 'is'} dropped: "
            f"{'their' if many else 'its'} samples cover no segment to at least "
            f"{min_share:.0%} (draw polygons that cover most of a segment, or segment more "
            "finely)"
        )
    if len(kept) < 2:
        raise SamplesError(
            f"object-based training needs at least two classes that label a segment; found "
            f"{len(kept)}. A segment is labelled when one class's sample pixels cover at least "
            f"{min_share:.0%} of it: draw polygons over whole segments, segment more finely "
            "(higher spectral_detail/spatial_detail, smaller min_segment_size), or lower "
            "min_share"
        )
    values = labels["class_value"].to_numpy()
    chosen = draw_per_class([np.flatnonzero(values == c.value) for c in kept], cap,
                            random_state)
    used = {c.value: int(where.size) for c, where in zip(kept, chosen)}
    take = np.concatenate(chosen)
    ids = labels.index.to_numpy()[take]
    return SegmentSamples(
        X=attrs.loc[ids, list(features)].to_numpy(np.float64),
        y=labels["class_value"].to_numpy(np.int64)[take],
        segment_ids=ids,
        features=features,
        labels=labels,
        classes=kept,
        bands=bands,
        available={c.value: int(available[c.value]) for c in kept},
        used=used,
        dropped=dropped,
        max_samples_per_class=cap,
        random_state=random_state,
    )


# --------------------------------------------------------------------------------------------
# Classification: predict per segment, then a lazy id -> class lookup
# --------------------------------------------------------------------------------------------


def _predict_segments(attrs: pd.DataFrame, estimator, features, dtype, fill, confidence):
    """Sorted segment ids and their predicted class (and winning probability)."""
    uid = attrs.index.to_numpy(np.int64)
    X = attrs[list(features)].to_numpy(np.float64)
    ok = np.isfinite(X).all(axis=1)
    labels = np.full(len(uid), fill, dtype=dtype)
    conf = np.full(len(uid), np.nan, dtype=np.float32)
    if ok.any():
        predicted = estimator.predict(X[ok])
        labels[ok] = predicted
        if confidence:
            proba = estimator.predict_proba(X[ok])
            column = np.searchsorted(estimator.classes_, predicted)
            conf[ok] = proba[np.arange(len(predicted)), column]
    return uid, labels, conf


def _lookup_block(ids, prediction, which, fill):
    """Map one block of segment ids through the sorted table ``prediction``."""
    uid, table = prediction[0], prediction[which]
    out = np.full(ids.shape, fill, dtype=table.dtype)
    if len(uid):
        pos = np.searchsorted(uid, ids)
        pos = np.minimum(pos, len(uid) - 1)
        hit = (ids > 0) & (uid[pos] == ids)
        out[hit] = table[pos[hit]]
    return out


def classify_segments(
    cube: xr.DataArray,
    model,
    segments: xr.DataArray | None,
    confidence: bool = False,
) -> xr.DataArray | xr.Dataset:
    """Classify each segment once with an object-based model; the class map stays lazy.

    Called by :func:`xr_landcover.classify` with ``segments=``; see it for the outputs (the
    same class map as pixel classification, one class per segment).

    Raises
    ------
    InvalidParameterError
        A pixel model with ``segments=``, or an object-based model without them.
    GridMismatchError
        ``segments`` is not on the cube's grid.
    """
    if model.feature != "segments":
        raise InvalidParameterError(
            "this model was trained on pixels (feature='pixels'): classify without segments=, "
            "or train an object-based model with train(..., segments=seg)"
        )
    if segments is None:
        raise InvalidParameterError(
            "this model classifies segments (it was trained with segments=): pass the cube's "
            "segment map, classify(cube, model, segments=seg), with seg from "
            "cube.landcover.segment(...)"
        )
    if confidence and not hasattr(model.estimator, "predict_proba"):
        raise InvalidParameterError(
            f"confidence=True needs an estimator with predict_proba; "
            f"{type(model.estimator).__name__} has none"
        )
    cube = check_bands(require_crs(require_cube(cube, crs=False)), model)
    warn_if_other_crs(cube, model)
    check_grid(cube, segments)
    cube = check_against_model(cube, model)
    features = tuple(model.attributes) or feature_names(model.bands)
    attrs = attribute_table(cube, segments)
    dtype, fill = class_map_dtype(model.class_values)
    estimator = dask.delayed(model.estimator, name=f"landcover-estimator-{uuid.uuid4().hex}")
    prediction = dask.delayed(_predict_segments, pure=True)(
        attrs, estimator, features, dtype, fill, confidence
    )
    ids = segments.transpose("y", "x").data
    if not isinstance(ids, da.Array):
        ids = da.from_array(np.asarray(ids), chunks=1024)
    token = uuid.uuid4().hex
    labels = da.map_blocks(_lookup_block, ids, prediction, 1, fill, dtype=dtype,
                           name=f"landcover-segment-classes-{token}")
    conf = None
    if confidence:
        conf = da.map_blocks(_lookup_block, ids, prediction, 2, np.float32(np.nan),
                             dtype=np.float32, name=f"landcover-segment-confidence-{token}")
    return classification_output(labels, conf, cube, model, fill)
