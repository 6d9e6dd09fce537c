"""``cross_validate()``: k-fold cross-validation of a classifier on its training samples,
with folds that do not leak.

Neighbouring pixels of one polygon are nearly copies of each other; folds of random pixels put
some of them in training and the others in the test, so the test measures memory, not
generalisation (Roberts et al. 2017; Ploton et al. 2020). Here the folds hold whole groups:

* ``groups="polygon"``: every pixel of a sample polygon (or point) is in one fold;
* ``groups="block"``: square blocks of ``block_size`` CRS units (metres), laid from the cube's
  top-left corner; a polygon belongs to the block of a point on its surface
  (:func:`shapely.point_on_surface`), so polygons are never split either;
* ``groups=None``: random pixels (optimistic: shown only to measure the leak).

The groups are split by scikit-learn's :class:`~sklearn.model_selection.StratifiedGroupKFold`
(``StratifiedKFold`` for single pixels), which keeps the class shares of the folds close, so a
class with several groups is found in every training fold. The pixels are those of
:func:`~xr_landcover.classification.samples.extract_samples` (every valid pixel under the
samples, in raster order, so the folds do not depend on the chunking); each fold's training
pixels are capped per class like :func:`~xr_landcover.train` caps them, the estimator is fitted
(:func:`~xr_landcover.classification.training.fit_estimator`) and every held-out pixel is
predicted. Each fold gives an :class:`~.report.AccuracyReport`; the pooled report sums them
(each pixel is tested once).

References
----------
Roberts, D. R. et al. (2017). Cross-validation strategies for data with temporal, spatial,
hierarchical, or phylogenetic structure. *Ecography* 40, 913-929.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import DEFAULT_MAX_SAMPLES_PER_CLASS, check_number, require_cube
from .._warnings import warn
from ..errors import InvalidParameterError, SamplesError
from ._sample_pixels import sample_pixels
from .report import AccuracyReport

__all__ = ["CrossValidation", "cross_validate"]

GROUPS = ("polygon", "block", None)


@dataclass(frozen=True, repr=False)
class CrossValidation:
    """The result of :func:`cross_validate`.

    Attributes
    ----------
    folds : list of AccuracyReport
        One report per fold: the fold's held-out pixels, predicted by a model trained on the
        other folds (map = prediction, reference = sample class).
    overall : AccuracyReport
        The folds pooled: every pixel under the samples tested once.
    assignment : pandas.Series
        The fold (0 to ``folds - 1``) of each sample row, indexed like the samples; ``<NA>``
        for rows with no valid pixel and, with ``groups=None``, for every row (its pixels are
        spread over the folds; see :attr:`pixels`).
    pixels : pandas.DataFrame
        One row per pixel: ``row``, ``col`` (in the cube), ``class_value``, ``sample`` (the
        index label of its sample row), ``group``, ``fold``, ``predicted``.
    groups : str or None
        How the folds were drawn.
    method : str
        The classifier.
    """

    folds: list[AccuracyReport]
    overall: AccuracyReport
    assignment: pd.Series
    pixels: pd.DataFrame
    groups: str | None
    method: str

    def summary(self) -> pd.DataFrame:
        """Per fold: test pixels, test groups, overall accuracy and kappa; then the pooled row."""
        rows = []
        for i, rep in enumerate(self.folds):
            test = self.pixels[self.pixels["fold"] == i]
            rows.append({"fold": str(i), "pixels": rep.n_samples,
                         "groups": int(test["group"].nunique()),
                         "overall_accuracy": rep.overall_accuracy, "kappa": rep.kappa})
        rows.append({"fold": "pooled", "pixels": self.overall.n_samples,
                     "groups": int(self.pixels["group"].nunique()),
                     "overall_accuracy": self.overall.overall_accuracy,
                     "kappa": self.overall.kappa})
        return pd.DataFrame(rows).set_index("fold")

    def __repr__(self) -> str:
        how = {"polygon": "whole polygons", "block": "spatial blocks",
               None: "random pixels (optimistic)"}[self.groups]
        return "\n".join([
            f"CrossValidation: {len(self.folds)} folds of {how}, method {self.method}; pooled "
            f"overall accuracy {self.overall.overall_accuracy:.4f}, kappa "
            f"{self.overall.kappa:.4f}",
            self.summary().round(4).to_string(),
        ])


def _check_arguments(folds, groups, block_size) -> None:
    check_number("folds", folds, 2, integer=True)
    if groups not in GROUPS:
        raise InvalidParameterError(
            f"groups must be 'polygon' (whole polygons per fold), 'block' (spatial blocks of "
            f"block_size) or None (random pixels); got {groups!r}"
        )
    if groups == "block":
        if block_size is None:
            raise InvalidParameterError(
                "groups='block' needs block_size=..., the side of the blocks in the cube's CRS "
                "units (metres), e.g. block_size=1000"
            )
        check_number("block_size", block_size, 0, low_open=True)
    elif block_size is not None:
        raise InvalidParameterError(
            f"block_size={block_size!r} only goes with groups='block'; got groups={groups!r}"
        )


def _block_of_sample(cube: xr.DataArray, geoms: np.ndarray, block_size: float) -> np.ndarray:
    """A block number per sample: the block of a point on its surface."""
    import shapely

    crs = cube.rio.crs
    if crs is not None and crs.is_geographic:
        raise InvalidParameterError(
            "groups='block' needs a projected CRS (block_size is in metres); reproject the cube "
            "(cube.rio.reproject(...))"
        )
    left, _, _, top = cube.rio.bounds()
    anchor = shapely.point_on_surface(geoms)
    bx = np.floor((shapely.get_x(anchor) - left) / block_size).astype(np.int64)
    by = np.floor((top - shapely.get_y(anchor)) / block_size).astype(np.int64)
    _, block = np.unique(np.stack([by, bx], axis=1), axis=0, return_inverse=True)
    return block.ravel()


def _split(y: np.ndarray, groups: np.ndarray | None, folds: int, random_state) -> np.ndarray:
    """The fold of each pixel."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if groups is None:
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
    else:
        splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=random_state)
    fold = np.full(y.size, -1, dtype=np.int64)
    with warnings.catch_warnings():
        # scikit-learn's warning counts pixels per class; ours below counts what matters
        warnings.filterwarnings("ignore", message="The least populated class",
                                category=UserWarning)
        for i, (_, test) in enumerate(splitter.split(np.zeros(y.size), y, groups)):
            fold[test] = i
    return fold


def _counts(values: list[int], predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    index = {v: i for i, v in enumerate(values)}
    k = len(values)
    p = np.array([index[int(v)] for v in predicted], dtype=np.int64)
    t = np.array([index[int(v)] for v in truth], dtype=np.int64)
    return np.bincount(p * k + t, minlength=k * k).reshape(k, k)


def cross_validate(
    cube: xr.DataArray,
    samples,
    class_field: str | None = None,
    name_field: str | None = None,
    method: str | None = None,
    folds: int = 5,
    groups: str | None = "polygon",
    block_size: float | None = None,
    random_state: int | None = None,
    **train_options: Any,
) -> CrossValidation:
    """Cross-validate a pixel classifier on its training samples, holding out whole polygons.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``("band", "y", "x")`` with a CRS (only the chunks under the samples are
        read).
    samples : GeoDataFrame or path
        Training polygons or points, as for :func:`xr_landcover.train`.
    class_field, name_field : str, optional
        As for :func:`xr_landcover.train`.
    method : str, optional
        As for :func:`xr_landcover.train` (default ``"svm"``); or ``estimator=`` in
        ``train_options``.
    folds : int, default 5
        Number of folds (at least 2, at most the number of groups).
    groups : {"polygon", "block", None}, default "polygon"
        What a fold holds: whole sample polygons (or points), whole spatial blocks of
        ``block_size``, or random pixels (``None``: optimistic, neighbouring pixels of a
        polygon end up on both sides).
    block_size : float, optional
        Side of the blocks for ``groups="block"``, in the cube's CRS units (metres).
    random_state : int, optional
        Seed of the folds, of each fold's per-class cap and of the estimator: the same seed
        gives the same folds and figures.
    **train_options
        ``max_samples_per_class`` (default 500, per class in each training fold),
        ``estimator``, ``color_fields``, and parameters of ``method``'s estimator, as for
        :func:`xr_landcover.train`.

    Returns
    -------
    CrossValidation
        ``.folds`` (one :class:`AccuracyReport` each), ``.overall`` (pooled),
        ``.assignment`` (the fold of each sample row), ``.pixels``, ``.summary()``.

    Raises
    ------
    InvalidParameterError
        Bad ``folds``, ``groups`` or ``block_size``; more folds than groups; or as
        :func:`xr_landcover.train`.
    SamplesError, NoSamplesError
        As :func:`xr_landcover.train`.

    Warns
    -----
    UserWarning
        When a class is missing from a training fold (it has fewer groups than needed): that
        fold cannot predict it, and its producer's accuracy there is 0.

    Examples
    --------
    >>> import warnings
    >>> import xr_landcover
    >>> from xr_landcover import datasets
    >>> cube, polygons = datasets.nc_landsat7(), datasets.nc_training_polygons()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # agriculture: its polygon lies on nodata
    ...     cv = xr_landcover.cross_validate(cube, polygons, "id", "label",
    ...                                      method="random_trees", folds=3, random_state=0)
    >>> len(cv.folds), cv.overall.n_samples == len(cv.pixels)
    (3, True)
    >>> int(cv.assignment.loc[0]) in (0, 1, 2)
    True
    """
    from ..classification.samples import check_cap, draw_per_class
    from ..classification.training import check_method, fit_estimator

    cube = require_cube(cube, single_image="training")
    _check_arguments(folds, groups, block_size)
    cap = check_cap(train_options.pop("max_samples_per_class", DEFAULT_MAX_SAMPLES_PER_CLASS))
    estimator = train_options.pop("estimator", None)
    color_fields = train_options.pop("color_fields", ("Red", "Green", "Blue"))
    method = check_method(method, estimator, train_options)
    # every valid pixel under the samples, in raster order (the cap is applied per fold)
    sp = sample_pixels(cube, samples, class_field, name_field, color_fields, random_state)
    gdf, ts, owner = sp.samples, sp.pixels, sp.owner
    if groups == "polygon":
        group = owner
    elif groups == "block":
        group = _block_of_sample(cube, sp.geometries, float(block_size))[owner]
    else:
        group = np.arange(ts.y.size)
    n_groups = np.unique(group).size
    if n_groups < folds:
        what = {"polygon": "sample polygons (or points)", "block": "blocks",
                None: "pixels"}[groups]
        raise InvalidParameterError(
            f"folds={folds} but only {n_groups} {what} have valid pixels; use folds <= "
            f"{n_groups}" + (" or a smaller block_size" if groups == "block" else "")
        )
    fold = _split(ts.y, None if groups is None else group, int(folds), random_state)

    values = [c.value for c in ts.classes]
    names = [c.name for c in ts.classes]
    predicted = np.zeros_like(ts.y)
    reports, missing = [], []
    for i in range(int(folds)):
        train_idx = np.flatnonzero(fold != i)
        test_idx = np.flatnonzero(fold == i)
        present = np.unique(ts.y[train_idx])
        absent = [n for v, n in zip(values, names) if v not in present]
        if absent:
            missing.append(f"fold {i}: {absent}")
        if present.size < 2:
            raise SamplesError(
                f"the training folds of fold {i} hold a single class; use fewer folds or "
                "more samples per class"
            )
        members = [train_idx[ts.y[train_idx] == v] for v in present]
        take = np.concatenate(draw_per_class(members, cap, random_state))
        est = fit_estimator(ts.X[take], ts.y[take], method, estimator, random_state,
                            **train_options)
        predicted[test_idx] = est.predict(ts.X[test_idx])
        reports.append(AccuracyReport(
            counts=_counts(values, predicted[test_idx], ts.y[test_idx]),
            class_values=tuple(values), class_names=tuple(names),
        ))
    if missing:
        warn(
            "some classes are missing from a training fold, which therefore never predicts "
            f"them ({'; '.join(missing)}): they have too few {groups or 'pixel'} groups for "
            f"{folds} folds. Add samples of these classes or use fewer folds",
        )
    overall = AccuracyReport(counts=sum(r.counts for r in reports), class_values=tuple(values),
                             class_names=tuple(names))
    labels = gdf.index.to_numpy()
    pixels = pd.DataFrame({"row": ts.rows, "col": ts.cols, "class_value": ts.y,
                           "sample": labels[owner], "group": group, "fold": fold,
                           "predicted": predicted})
    assignment = pd.Series(pd.NA, index=gdf.index, dtype="Int64", name="fold")
    if groups is not None:
        per_row = pd.Series(fold).groupby(owner).first()
        assignment.iloc[per_row.index.to_numpy()] = per_row.to_numpy()
    return CrossValidation(folds=reports, overall=overall, assignment=assignment,
                           pixels=pixels, groups=groups, method=method)
