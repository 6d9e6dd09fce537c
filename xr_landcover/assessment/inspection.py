"""``inspect_samples()``: how well a model classifies its own training samples, sample by
sample (ArcGIS's *Inspect Training Samples*).

Every valid pixel under the samples is classified with the model (the estimator's ``predict``
on the pixels' band values, which is what :func:`~xr_landcover.classify` computes there) and
traced back to its sample row (:mod:`._sample_pixels`). A sample's ``accuracy`` is the share of
its pixels classified as its class (0 or 1 for a point); the worst samples come first, the
ones to check for a wrong label, a mixed polygon or a class the bands cannot separate.
The ``misclassified`` map holds the predicted class of each wrongly classified sample pixel and
the fill value everywhere else; it is lazy (built from the small table of those pixels, block
by block), so it never reads the cube.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr

from .._validate import require_cube
from ..errors import InvalidInputTypeError, InvalidParameterError, SamplesError
from ._sample_pixels import class_column, sample_pixels

__all__ = ["SampleInspection", "inspect_samples"]


@dataclass(frozen=True, repr=False)
class SampleInspection:
    """The result of :func:`inspect_samples`.

    Attributes
    ----------
    samples : geopandas.GeoDataFrame
        The samples (their own index, CRS and columns) with ``class_value`` (the model's
        value of the sample's class), ``pixels`` (valid pixels traced to the sample),
        ``correct`` (of them, classified as its class), ``accuracy`` (``correct / pixels``;
        NaN without pixels), ``predicted`` and ``predicted_name`` (the majority class of its
        pixels), sorted by ``accuracy``, worst first (samples without pixels last).
    misclassified : xarray.DataArray
        A class map on the cube's grid (the model's classes, colours and fill value): the
        predicted class where a sample pixel is misclassified, the fill value elsewhere
        (correct pixels and everything outside the samples). Lazy.
    overall_accuracy : float
        Share of all sample pixels classified as their class.
    """

    samples: Any
    misclassified: xr.DataArray
    overall_accuracy: float

    def __repr__(self) -> str:
        cols = [c for c in ("class_value", "pixels", "correct", "accuracy", "predicted_name")
                if c in self.samples.columns]
        with pd.option_context("display.width", 120, "display.max_rows", 20):
            table = self.samples[cols].round(3).to_string()
        n = int(self.samples["pixels"].sum())
        return (f"SampleInspection: {len(self.samples)} samples, {n} pixels, "
                f"{self.overall_accuracy:.4f} classified as their class; worst first:\n{table}")


def _paint(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, fill, dtype,
           block_info=None) -> np.ndarray:
    """One block of the misclassified map: ``values`` at ``(rows, cols)``, ``fill`` elsewhere."""
    (r0, r1), (c0, c1) = block_info[None]["array-location"]
    out = np.full((r1 - r0, c1 - c0), fill, dtype=dtype)
    inside = (rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1)
    out[rows[inside] - r0, cols[inside] - c0] = values[inside]
    return out


def _model_values(sp, model, class_field) -> np.ndarray:
    """Per pixel, the model's class value of its sample's class: class values as they are;
    text classes by name."""
    ts = sp.pixels
    text = {c.value: c.name for c in ts.classes}
    column, is_text = class_column(sp.samples, class_field, None)
    if not is_text:
        unknown = sorted(set(np.unique(ts.y).tolist()) - set(model.class_values))
        if unknown:
            raise SamplesError(
                f"sample classes {unknown} (column '{column}') are not classes of the model "
                f"{dict(zip(model.class_values, model.class_names))}; is class_field right?"
            )
        return ts.y
    by_name = dict(zip(model.class_names, model.class_values))
    unknown = sorted({text[v] for v in np.unique(ts.y)} - set(by_name))
    if unknown:
        raise SamplesError(
            f"sample classes {unknown} (column '{column}') are not class names of the model "
            f"{model.class_names}; is class_field right?"
        )
    lookup = {v: by_name[n] for v, n in text.items() if n in by_name}
    return np.array([lookup[int(v)] for v in ts.y], dtype=np.int64)


def inspect_samples(cube: xr.DataArray, samples, model, class_field: str | None = None,
                    ) -> SampleInspection:
    """Classify the training samples with a model and rank them, worst first.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``("band", "y", "x")`` with the model's bands (only the chunks under the
        samples are read).
    samples : GeoDataFrame or path
        Polygons or points (any CRS), labelled in ``class_field``: class values of the model,
        or its class names.
    model : LandcoverModel
        A pixel model (:func:`xr_landcover.train`).
    class_field : str, optional
        As for :func:`xr_landcover.train`.

    Returns
    -------
    SampleInspection
        ``.samples`` (the GeoDataFrame with ``accuracy``, ``predicted``... sorted worst
        first), ``.misclassified`` (a lazy class map) and ``.overall_accuracy``.

    Raises
    ------
    InvalidInputTypeError
        ``model`` is not a LandcoverModel.
    InvalidParameterError
        An object-based model (``feature="segments"``).
    BandMismatchError
        The cube's bands are not the model's.
    SamplesError
        Sample classes the model does not know; or as :func:`xr_landcover.train`.

    Examples
    --------
    >>> import warnings
    >>> import xr_landcover
    >>> from xr_landcover import datasets
    >>> cube, polygons = datasets.nc_landsat7(), datasets.nc_training_polygons()
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # agriculture: its polygon lies on nodata
    ...     model = xr_landcover.train(cube, polygons, "id", "label", method="random_trees",
    ...                                random_state=0)
    ...     found = xr_landcover.inspect_samples(cube, polygons, model, class_field="id")
    >>> list(found.samples.columns[-5:])
    ['pixels', 'correct', 'accuracy', 'predicted', 'predicted_name']
    >>> found.misclassified.dims
    ('y', 'x')
    """
    from ..classification._common import check_bands, class_map_dtype, classification_output
    from ..classification.model import LandcoverModel

    if not isinstance(model, LandcoverModel):
        raise InvalidInputTypeError(
            f"model must be a LandcoverModel (xr_landcover.train); got {type(model).__name__}"
        )
    if model.feature != "pixels":
        raise InvalidParameterError(
            f"inspect_samples takes a pixel model; this one classifies {model.feature} "
            "(object-based): inspect its segments with classify(..., segments=...) instead"
        )
    cube = check_bands(require_cube(cube, single_image="training"), model)
    sp = sample_pixels(cube, samples, class_field, None)
    ts = sp.pixels
    truth = _model_values(sp, model, class_field)
    predicted = np.asarray(model.estimator.predict(ts.X)).astype(np.int64)
    correct = predicted == truth

    n_rows = len(sp.samples)
    pixels = np.bincount(sp.owner, minlength=n_rows)
    right = np.bincount(sp.owner, weights=correct, minlength=n_rows).astype(np.int64)
    # majority prediction per sample: the most frequent value, the smaller on a tie
    table = pd.DataFrame({"owner": sp.owner, "predicted": predicted})
    counts = table.groupby(["owner", "predicted"]).size().reset_index(name="n")
    counts = counts.sort_values(["owner", "n", "predicted"], ascending=[True, False, True])
    majority = counts.drop_duplicates("owner").set_index("owner")["predicted"]
    names = dict(zip(model.class_values, model.class_names))
    value_of_row = pd.Series(truth).groupby(sp.owner).first()

    out = sp.samples.copy()
    out["class_value"] = pd.array([value_of_row.get(i, pd.NA) for i in range(n_rows)],
                                  dtype="Int64")
    out["pixels"] = pixels
    out["correct"] = right
    with np.errstate(invalid="ignore", divide="ignore"):
        out["accuracy"] = np.where(pixels > 0, right / np.maximum(pixels, 1), np.nan)
    out["predicted"] = pd.array([majority.get(i, pd.NA) for i in range(n_rows)], dtype="Int64")
    out["predicted_name"] = [names.get(int(v)) if not pd.isna(v) else None
                             for v in out["predicted"]]
    order = np.lexsort((np.arange(n_rows), np.nan_to_num(out["accuracy"].to_numpy(), nan=2.0)))
    out = out.iloc[order]

    dtype, fill = class_map_dtype(model.class_values)
    wrong = ~correct
    y_chunks, x_chunks = (cube.data.chunks[-2:] if isinstance(cube.data, da.Array)
                          else ((cube.sizes["y"],), (cube.sizes["x"],)))
    labels = da.map_blocks(
        _paint, ts.rows[wrong], ts.cols[wrong], predicted[wrong].astype(dtype), fill, dtype,
        chunks=(y_chunks, x_chunks), dtype=dtype, meta=np.empty((0, 0), dtype),
    )
    misclassified = classification_output(labels, None, cube, model, fill)
    misclassified.name = "misclassified"
    return SampleInspection(samples=out, misclassified=misclassified,
                            overall_accuracy=float(correct.mean()))
