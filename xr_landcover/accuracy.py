"""Accuracy assessment of class maps: confusion matrix, kappa, area estimates, accuracy points.

Three functions and one value object:

* :func:`accuracy` compares a class map with reference points, polygons (sampled at the pixel
  centres they contain) or a reference raster and returns an :class:`AccuracyReport`.
* :meth:`AccuracyReport.area_estimates` gives the stratified estimators of Olofsson et al. (2014):
  error-adjusted area per class with its standard error and confidence interval, and user's,
  producer's and overall accuracy with standard errors.
* :func:`accuracy_points` draws stratified random (or simple random) assessment points from a
  class map, as ArcGIS's *Create Accuracy Assessment Points* does.

Conventions
-----------
* The confusion matrix has the **map** classes as rows and the **reference** classes as columns
  (ArcGIS's and Olofsson et al.'s layout).  Producer's accuracy is a column's diagonal over its
  total (scikit-learn's recall), user's accuracy a row's diagonal over its total (precision).
* A class map is a 2-D ``("y", "x")`` DataArray of integers with a CRS, a nodata value
  (``_FillValue`` / ``rio.nodata`` / ``rio.encoded_nodata``) and, optionally, the attrs
  ``flag_values`` and ``class_names``.  Without them the class values are the names.
* Only small reductions are computed here: the sample values gathered at the reference points
  (only the chunks that hold a point are read), and the per-chunk class counts of the map.

References
----------
Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A. (2014).
Good practices for estimating area and assessing accuracy of land change. *Remote Sensing of
Environment* 148, 42-57.
"""

from __future__ import annotations

import html
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dask
import dask.array as da
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from ._validate import DEFAULT_ACCURACY_POINTS
from .classmap import ClassMap, count_classes, fill_value
from .errors import (
    DimensionError,
    InvalidInputTypeError,
    InvalidParameterError,
    MissingCRSError,
    NoSamplesError,
    RasterFileNotFoundError,
    SamplesError,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["AccuracyReport", "accuracy", "accuracy_points"]

#: Value of ``GrndTruth`` in points from :func:`accuracy_points` that nobody labelled yet.
UNLABELLED = -1

_RASTER_SUFFIXES = {".tif", ".tiff", ".vrt", ".img", ".jp2", ".nc"}
_CLASS_FIELD_NAMES = ("GrndTruth", "Classvalue", "id")
_AREA_UNITS = {"pixels": None, "m2": 1.0, "ha": 1e4, "km2": 1e6}


# --------------------------------------------------------------------------------------------
# Class maps: validation, nodata, class names, per-chunk counts
# --------------------------------------------------------------------------------------------


def _require_class_map(class_map: Any) -> xr.DataArray:
    if not isinstance(class_map, xr.DataArray):
        raise InvalidInputTypeError(
            f"class_map must be an xarray.DataArray, got {type(class_map).__name__}"
        )
    if class_map.ndim != 2 or set(class_map.dims) != {"y", "x"}:
        raise DimensionError(
            f"a class map must have dims ('y', 'x'); this one has {class_map.dims}. "
            "Select one time step or band first, e.g. class_map.isel(time=0)"
        )
    if class_map.dims != ("y", "x"):
        class_map = class_map.transpose("y", "x")
    if class_map.rio.crs is None:
        raise MissingCRSError(
            "the class map has no CRS; set one with class_map.rio.write_crs('EPSG:....')"
        )
    return class_map


def _map_nodata(class_map: xr.DataArray) -> float | None:
    return fill_value(class_map)


def _valid_mask(values: np.ndarray, nodata: float | None) -> np.ndarray:
    valid = np.ones(values.shape, dtype=bool)
    if values.dtype.kind == "f":
        valid &= np.isfinite(values)
    if nodata is not None:
        valid &= values != nodata
    return valid


def _map_classes(class_map: xr.DataArray) -> dict[int, str]:
    """``{value: name}`` of the map's classes (:meth:`ClassMap.from_dataarray`)."""
    classes = ClassMap.from_dataarray(class_map)
    return dict(zip(classes.values, classes.names))


def _as_dask(data: Any) -> da.Array:
    return data if isinstance(data, da.Array) else da.from_array(np.asarray(data), chunks=-1)


def _count_block(block: np.ndarray, nodata: float | None) -> pd.Series:
    values = block[_valid_mask(block, nodata)]
    uniq, counts = np.unique(values.astype(np.int64), return_counts=True)
    return pd.Series(counts, index=uniq, dtype=np.int64)


def _block_class_counts(class_map: xr.DataArray) -> pd.DataFrame:
    """Pixels per class in each chunk: rows are chunks (C order), columns class values.

    One pass over the map; the result is a small table (chunks x classes), the only thing
    computed.
    """
    data = _as_dask(class_map.data)
    nodata = _map_nodata(class_map)
    blocks = data.to_delayed().ravel()
    counts = dask.compute(*[dask.delayed(_count_block)(b, nodata) for b in blocks])
    table = pd.DataFrame(list(counts)).fillna(0).astype(np.int64)
    return table.reindex(columns=sorted(table.columns), fill_value=0)


def _pixel_area(class_map: xr.DataArray) -> float:
    t = class_map.rio.transform()
    return abs(t.a * t.e - t.b * t.d)


def _metre_units(class_map: xr.DataArray) -> bool:
    crs = class_map.rio.crs
    try:
        return crs.is_projected and crs.linear_units_factor[1] == 1.0
    except Exception:  # noqa: BLE001  (a CRS without a linear unit)
        return False


def _area_unit(class_map: xr.DataArray | None, unit: str | None) -> str:
    if unit is None:
        return "ha" if class_map is not None and _metre_units(class_map) else "pixels"
    if unit not in _AREA_UNITS:
        raise InvalidParameterError(f"unit must be one of {list(_AREA_UNITS)}, got {unit!r}")
    if unit != "pixels" and class_map is not None and not _metre_units(class_map):
        raise InvalidParameterError(
            f"unit={unit!r} needs a projected CRS in metres; this map's CRS is "
            f"{class_map.rio.crs.to_string()}. Use unit='pixels'"
        )
    return unit


def _class_area_table(class_map: xr.DataArray, unit: str | None = None) -> pd.DataFrame:
    """Pixels, area (in ``unit``) and share of each class: one counting pass over the map.

    (The package's public :func:`xr_landcover.class_areas` gives the same for users; this one
    also keeps classes missing from ``flag_values`` and any integer dtype.)
    """
    class_map = _require_class_map(class_map)
    unit = _area_unit(class_map, unit)
    counts = count_classes(class_map, _map_nodata(class_map))
    names = _map_classes(class_map)
    values = list(names) + [v for v in sorted(counts) if v not in names]
    pixels = np.array([counts.get(v, 0) for v in values], dtype=np.int64)
    factor = _AREA_UNITS[unit]
    area = pixels * (1.0 if factor is None else _pixel_area(class_map) / factor)
    df = pd.DataFrame(
        {
            "value": values,
            "pixels": pixels,
            "area": area,
            "proportion": pixels / max(pixels.sum(), 1),
        },
        index=pd.Index([names.get(v, str(v)) for v in values], name="class"),
    )
    df.attrs["unit"] = unit
    return df


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


@dataclass(frozen=True, eq=False, repr=False)
class AccuracyReport:
    """Accuracy of a class map against reference data: a confusion matrix and its statistics.

    Build it with :func:`accuracy` (from a map and reference data) or
    :meth:`from_confusion_matrix` (from counts you already have).

    Attributes
    ----------
    counts : numpy.ndarray
        ``(k, k)`` sample counts, map classes as rows, reference classes as columns.
    class_values : tuple of int
        Class values, in the order of the rows and columns.
    class_names : tuple of str
        Class names, same order.
    excluded : dict
        Reference samples left out and why: ``"outside"`` (points, or whole polygons, beyond
        the map), ``"nodata"`` (samples on a nodata pixel), ``"unlabelled"`` (features whose
        class field is missing or ``-1``), ``"no_pixel_centre"`` (polygons inside the map that
        contain no pixel centre).
    class_map : xarray.DataArray or None
        The map assessed; :meth:`area_estimates` counts its pixels per class.
    map_areas : pandas.Series or None
        Mapped area (or pixel count) per class name, when given explicitly.
    """

    counts: np.ndarray
    class_values: tuple[int, ...]
    class_names: tuple[str, ...]
    excluded: dict[str, int] = field(default_factory=dict)
    class_map: xr.DataArray | None = None
    map_areas: pd.Series | None = None

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_confusion_matrix(
        cls,
        counts: Any,
        class_names: Sequence[str] | None = None,
        map_areas: Mapping[str, float] | Sequence[float] | None = None,
    ) -> AccuracyReport:
        """A report from a confusion matrix of counts (rows map, columns reference).

        Parameters
        ----------
        counts : array-like or pandas.DataFrame
            Square matrix of sample counts; a DataFrame gives the class names by its index.
        class_names : sequence of str, optional
            Names of the classes (default: the DataFrame's index, or ``0, 1, ...``).
        map_areas : mapping or sequence, optional
            Mapped area (or pixels) per class, for :meth:`area_estimates` without a raster.

        Examples
        --------
        >>> rep = AccuracyReport.from_confusion_matrix([[8, 2], [1, 9]], ["water", "land"])
        >>> rep.overall_accuracy
        0.85
        >>> float(rep.users_accuracy["water"])
        0.8
        """
        if isinstance(counts, pd.DataFrame):
            class_names = list(counts.index) if class_names is None else class_names
            counts = counts.to_numpy()
        counts = np.asarray(counts)
        if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
            raise InvalidParameterError(f"counts must be a square matrix, got shape {counts.shape}")
        if np.any(counts < 0) or not np.all(np.equal(np.mod(counts, 1), 0)):
            raise InvalidParameterError("counts must be non-negative whole numbers")
        k = counts.shape[0]
        names = [str(i) for i in range(k)] if class_names is None else [str(n) for n in class_names]
        if len(names) != k:
            raise InvalidParameterError(f"{len(names)} class names for a {k} x {k} matrix")
        areas = None
        if map_areas is not None:
            if isinstance(map_areas, Mapping):
                areas = pd.Series({str(key): float(v) for key, v in map_areas.items()})
            else:
                areas = pd.Series(np.asarray(map_areas, dtype=float), index=names)
        return cls(
            counts=counts.astype(np.int64),
            class_values=tuple(range(k)),
            class_names=tuple(names),
            map_areas=areas,
        )

    # -- counts and totals ----------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        """Number of (map, reference) pairs in the matrix."""
        return int(self.counts.sum())

    @property
    def n_excluded(self) -> int:
        """Reference samples left out (outside the map, on nodata, or unlabelled)."""
        return int(sum(self.excluded.values()))

    @property
    def confusion_matrix(self) -> pd.DataFrame:
        """Counts with class names; map classes as rows, reference as columns, with totals."""
        names = list(self.class_names)
        df = pd.DataFrame(
            self.counts,
            index=pd.Index(names, name="map"),
            columns=pd.Index(names, name="reference"),
        )
        df["Total"] = df.sum(axis=1)
        df.loc["Total"] = df.sum(axis=0)
        return df

    # -- statistics -----------------------------------------------------------------------------
    def _series(self, values: np.ndarray, name: str) -> pd.Series:
        return pd.Series(values, index=pd.Index(self.class_names, name="class"), name=name)

    @property
    def overall_accuracy(self) -> float:
        """Share of samples whose map class equals the reference class."""
        return float(_ratio(np.trace(self.counts), self.counts.sum()))

    @property
    def kappa(self) -> float:
        """Cohen's kappa: agreement beyond what the row and column totals give by chance."""
        n = self.counts.sum()
        observed = _ratio(np.trace(self.counts), n)
        expected = _ratio(self.counts.sum(axis=1) @ self.counts.sum(axis=0), float(n) ** 2)
        return float(_ratio(observed - expected, 1.0 - expected))

    @property
    def producers_accuracy(self) -> pd.Series:
        """Per reference class: correct / reference total (recall); NaN without reference."""
        return self._series(
            _ratio(np.diag(self.counts), self.counts.sum(axis=0)), "producers_accuracy"
        )

    @property
    def users_accuracy(self) -> pd.Series:
        """Per map class: correct / map total (precision); NaN for a class never mapped."""
        return self._series(_ratio(np.diag(self.counts), self.counts.sum(axis=1)), "users_accuracy")

    @property
    def f1(self) -> pd.Series:
        """Per class harmonic mean of producer's and user's accuracy (0 when both are 0)."""
        diag = np.diag(self.counts)
        return self._series(
            _ratio(2.0 * diag, self.counts.sum(axis=0) + self.counts.sum(axis=1)), "f1"
        )

    def to_dataframe(self) -> pd.DataFrame:
        """The ArcGIS-style table: counts, ``Total``, ``U_Accuracy`` column, ``P_Accuracy`` row.

        The ``Kappa`` column and row hold kappa at their crossing, as ArcGIS's *Compute
        Confusion Matrix* writes it; the overall accuracy is at ``P_Accuracy`` x
        ``U_Accuracy``.
        """
        df = self.confusion_matrix.astype(float)
        df["U_Accuracy"] = [*self.users_accuracy.to_numpy(), np.nan]
        df["Kappa"] = np.nan
        df.loc["P_Accuracy"] = [*self.producers_accuracy.to_numpy(), np.nan, np.nan, np.nan]
        df.loc["Kappa"] = np.nan
        df.loc["P_Accuracy", "U_Accuracy"] = self.overall_accuracy
        df.loc["Kappa", "Kappa"] = self.kappa
        return df

    def per_class(self) -> pd.DataFrame:
        """Producer's and user's accuracy, F1 and sample totals per class."""
        return pd.DataFrame(
            {
                "producers_accuracy": self.producers_accuracy,
                "users_accuracy": self.users_accuracy,
                "f1": self.f1,
                "n_map": self.counts.sum(axis=1),
                "n_reference": self.counts.sum(axis=0),
            }
        )

    # -- area estimates (Olofsson et al. 2014) ---------------------------------------------------
    def _mapped_areas(self, map_areas: Any, unit: str | None) -> tuple[np.ndarray, str]:
        """Mapped area per class of the matrix, and its unit."""
        if map_areas is None:
            map_areas = self.map_areas
        if map_areas is not None:
            if not isinstance(map_areas, Mapping | pd.Series):
                map_areas = pd.Series(np.asarray(map_areas, dtype=float), index=self.class_names)
            given = {str(k): float(v) for k, v in dict(map_areas).items()}
            unknown = sorted(set(given) - set(self.class_names))
            if unknown:
                raise InvalidParameterError(
                    f"map_areas names classes not in the matrix: {unknown}; "
                    f"classes are {list(self.class_names)}"
                )
            return np.array([given.get(n, 0.0) for n in self.class_names]), unit or "as given"
        if self.class_map is None:
            raise InvalidParameterError(
                "area estimates need the mapped area of each class: pass map_areas=... or "
                "build the report with xr_landcover.accuracy(class_map, reference)"
            )
        table = _class_area_table(self.class_map, unit=unit)
        by_value = dict(zip(table["value"], table["area"]))
        extra = [
            str(name)
            for name, v, a in zip(table.index, table["value"], table["area"])
            if a > 0 and v not in self.class_values
        ]
        if extra:
            raise SamplesError(
                f"map classes {extra} cover part of the map but no reference sample falls in "
                "them, so their area cannot be estimated; add samples in every mapped class "
                "(xr_landcover.accuracy_points(..., min_per_class=...))"
            )
        return np.array([by_value.get(v, 0.0) for v in self.class_values]), table.attrs["unit"]

    def area_estimates(
        self,
        confidence: float = 0.95,
        map_areas: Mapping[str, float] | Sequence[float] | None = None,
        unit: str | None = None,
        z: float | None = None,
    ) -> pd.DataFrame:
        """Error-adjusted areas and accuracies with standard errors (Olofsson et al. 2014).

        The samples are taken as a stratified random sample with the map classes as strata
        (the design of :func:`accuracy_points`).  With ``W_i`` the mapped share of class
        ``i``, ``n_ij`` the counts and ``n_i.`` the row totals, the estimated area proportion
        in cell ``(i, j)`` is ``p_ij = W_i n_ij / n_i.`` (eq. 4 of the paper), and

        * area proportion of class ``j``: ``p_.j = sum_i p_ij`` (eq. 9), its standard error
          ``sqrt(sum_i (W_i p_ij - p_ij**2) / (n_i. - 1))`` (eq. 10); area = ``p_.j`` times
          the mapped total (eq. 11);
        * user's accuracy ``U_i = n_ii / n_i.``, variance ``U_i (1 - U_i) / (n_i. - 1)``;
          producer's accuracy ``P_j = p_jj / p_.j`` and overall accuracy ``sum_j p_jj``
          (eqs. 2-3 and 5-7) with the variances of Olofsson et al. (2013, eqs. 5-7);
        * the interval is ``estimate +/- z * SE`` with ``z`` the normal quantile of
          ``confidence`` (1.96 at 0.95); no finite-population correction (as in the paper).

        Parameters
        ----------
        confidence : float
            Confidence level of the intervals, in (0, 1).
        map_areas : mapping or sequence, optional
            Mapped area (or pixel count) per class name; default: the class map's pixel counts
            times the pixel area (one counting pass over the map).
        unit : {"ha", "km2", "m2", "pixels"}, optional
            Unit of the areas computed from the class map (default hectares for a CRS in
            metres).  With ``map_areas`` the areas stay in the unit given.
        z : float, optional
            Multiplier of the standard errors for the intervals, instead of the normal
            quantile of ``confidence`` (1.959964 at 0.95); ``z=1.96`` gives the rounded
            value that Olofsson et al. (2014) and sits use.

        Returns
        -------
        pandas.DataFrame
            One row per class: ``map_area``, ``map_proportion``, ``n``, ``area_proportion``,
            ``area_proportion_se``, ``area``, ``area_se``, ``area_ci`` (half-width),
            ``area_lower``, ``area_upper``, ``users_accuracy``, ``users_accuracy_se``,
            ``users_accuracy_ci``, ``producers_accuracy``, ``producers_accuracy_se``,
            ``producers_accuracy_ci``.  ``df.attrs`` holds ``overall_accuracy``,
            ``overall_accuracy_se``, ``overall_accuracy_ci``, ``confidence``, ``z``, ``unit``.

        Raises
        ------
        InvalidParameterError
            ``confidence`` outside (0, 1), or no mapped areas available.
        SamplesError
            A mapped class holds no sample (its stratum cannot be estimated).

        Examples
        --------
        The worked example of Olofsson et al. (2014, Table 8), areas in 30 m pixels:

        >>> counts = [[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]]
        >>> names = ["deforestation", "forest gain", "stable forest", "stable non-forest"]
        >>> pixels = [200_000, 150_000, 3_200_000, 6_450_000]
        >>> rep = AccuracyReport.from_confusion_matrix(counts, names, map_areas=pixels)
        >>> est = rep.area_estimates()
        >>> round(est.loc["deforestation", "area"] * 0.09)  # hectares
        21158
        >>> round(est.loc["deforestation", "area_ci"] * 0.09)  # the 95 % interval's half-width
        6158
        >>> float(round(est.loc["deforestation", "users_accuracy"], 2))
        0.88
        """
        if not 0.0 < confidence < 1.0:
            raise InvalidParameterError(f"confidence must be in (0, 1), got {confidence}")
        areas, unit_used = self._mapped_areas(map_areas, unit)
        n = self.counts.astype(float)
        n_i = n.sum(axis=1)
        if np.any((areas > 0) & (n_i == 0)):
            empty = [c for c, a, k in zip(self.class_names, areas, n_i) if a > 0 and k == 0]
            raise SamplesError(
                f"classes {empty} have mapped area but no sample mapped as them; their area "
                "cannot be estimated. Sample every mapped class (stratified sampling)"
            )
        total = areas.sum()
        if total <= 0:
            raise InvalidParameterError("the mapped areas sum to zero")
        w = areas / total
        row_share = _ratio(n, n_i[:, None])  # n_ij / n_i.
        row_share[n_i == 0] = 0.0
        p = w[:, None] * row_share  # estimated area proportions, eq. 4
        p_col = p.sum(axis=0)
        dof = _ratio(1.0, n_i - 1.0)  # 1 / (n_i. - 1); NaN for a single-sample stratum
        dof[(n_i == 0) | (w == 0)] = 0.0
        area_var = ((w[:, None] * p - p**2) * dof[:, None]).sum(axis=0)  # eq. 10
        users = _ratio(np.diag(n), n_i)
        users_var = users * (1.0 - users) * dof
        overall = float(np.trace(p))
        overall_var = float(np.nansum(w**2 * users * (1.0 - users) * dof))
        producers = _ratio(np.diag(p), p_col)
        # Olofsson et al. (2013) eq. 7, written with the mapped shares W (the scale cancels)
        n_hat_col = p_col
        k = len(self.class_names)
        producers_var = np.full(k, np.nan)
        for j in range(k):
            if n_hat_col[j] == 0 or n_i[j] == 0:
                continue
            own = w[j] ** 2 * (1.0 - producers[j]) ** 2 * users[j] * (1.0 - users[j]) * dof[j]
            others = [
                w[i] ** 2 * row_share[i, j] * (1.0 - row_share[i, j]) * dof[i]
                for i in range(k)
                if i != j
            ]
            producers_var[j] = (own + producers[j] ** 2 * sum(others)) / n_hat_col[j] ** 2
        if z is None:
            from scipy.stats import norm

            z = float(norm.ppf(0.5 + confidence / 2.0))
        elif not z > 0:
            raise InvalidParameterError(f"z must be positive, got {z}")
        area_se = np.sqrt(area_var)
        df = pd.DataFrame(
            {
                "map_area": areas,
                "map_proportion": w,
                "n": n_i.astype(np.int64),
                "area_proportion": p_col,
                "area_proportion_se": area_se,
                "area": p_col * total,
                "area_se": area_se * total,
                "area_ci": z * area_se * total,
                "area_lower": (p_col - z * area_se) * total,
                "area_upper": (p_col + z * area_se) * total,
                "users_accuracy": users,
                "users_accuracy_se": np.sqrt(users_var),
                "users_accuracy_ci": z * np.sqrt(users_var),
                "producers_accuracy": producers,
                "producers_accuracy_se": np.sqrt(producers_var),
                "producers_accuracy_ci": z * np.sqrt(producers_var),
            },
            index=pd.Index(self.class_names, name="class"),
        )
        df.attrs.update(
            overall_accuracy=overall,
            overall_accuracy_se=float(np.sqrt(overall_var)),
            overall_accuracy_ci=z * float(np.sqrt(overall_var)),
            confidence=confidence,
            z=z,
            unit=unit_used,
        )
        return df

    # -- display --------------------------------------------------------------------------------
    def _excluded_text(self) -> str:
        parts = [f"{v} {k}" for k, v in self.excluded.items() if v]
        return f"{self.n_excluded} excluded: " + ", ".join(parts) if parts else "none excluded"

    def __repr__(self) -> str:
        with pd.option_context("display.width", 120, "display.max_columns", 50):
            matrix = self.confusion_matrix.to_string()
            per_class = self.per_class().round(3).to_string()
        return "\n".join(
            [
                f"AccuracyReport: {self.n_samples} samples ({self._excluded_text()})",
                f"overall accuracy {self.overall_accuracy:.4f}, kappa {self.kappa:.4f}",
                "confusion matrix (rows: map, columns: reference):",
                matrix,
                per_class,
            ]
        )

    def _repr_html_(self) -> str:
        head = html.escape(
            f"AccuracyReport: {self.n_samples} samples ({self._excluded_text()}); "
            f"overall accuracy {self.overall_accuracy:.4f}, kappa {self.kappa:.4f}"
        )
        return (
            f"<div><p><b>{head}</b></p>"
            "<p>Confusion matrix (rows: map, columns: reference)</p>"
            f"{self.confusion_matrix.to_html()}"
            f"{self.per_class().round(3).to_html()}</div>"
        )


# --------------------------------------------------------------------------------------------
# Reference data -> (row, col, class) samples
# --------------------------------------------------------------------------------------------


def _detect_class_field(gdf: gpd.GeoDataFrame, class_field: str | None) -> str:
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    if class_field is not None:
        if class_field not in columns:
            raise SamplesError(
                f"class_field {class_field!r} is not a column of the reference; columns: {columns}"
            )
        return class_field
    lower = {c.lower(): c for c in columns}
    for name in _CLASS_FIELD_NAMES:
        if name.lower() in lower:
            return lower[name.lower()]
    integer = [
        c for c in columns if pd.api.types.is_integer_dtype(gdf[c]) and c.lower() != "classified"
    ]
    if len(integer) == 1:
        return integer[0]
    raise SamplesError(
        "cannot tell which column holds the reference class: pass class_field=...; "
        f"integer columns: {integer}, all columns: {columns}"
    )


def _read_vector(reference: Any) -> gpd.GeoDataFrame:
    import geopandas as gpd

    if isinstance(reference, gpd.GeoDataFrame):
        return reference
    if isinstance(reference, gpd.GeoSeries):
        raise InvalidInputTypeError("a GeoSeries has no class column; pass a GeoDataFrame with one")
    path = Path(reference)
    if not path.exists():
        raise RasterFileNotFoundError(f"reference file not found: '{path}'")
    return gpd.read_file(path)


def _class_codes(
    gdf: gpd.GeoDataFrame, class_field: str, name_field: str | None, map_names: dict[int, str]
) -> tuple[np.ndarray, dict[int, str]]:
    """Integer class per feature (``UNLABELLED`` where missing) and names seen in the reference."""
    col = gdf[class_field]
    ref_names: dict[int, str] = {}
    if pd.api.types.is_numeric_dtype(col):
        values = col.to_numpy(dtype=float)
        if np.any(np.isfinite(values) & (values != np.round(values))):
            raise SamplesError(f"class_field {class_field!r} holds non-integer values")
        codes = np.where(np.isfinite(values), values, UNLABELLED).astype(np.int64)
        if name_field is not None:
            if name_field not in gdf.columns:
                raise SamplesError(f"name_field {name_field!r} is not a column of the reference")
            for code, name in zip(codes, gdf[name_field]):
                if code != UNLABELLED and pd.notna(name):
                    ref_names.setdefault(int(code), str(name))
        return codes, ref_names
    # class names in the reference: match them to the map's names, new values for the rest
    by_name = {name: value for value, name in map_names.items()}
    next_value = max([*map_names, 0]) + 1
    codes = np.full(len(gdf), UNLABELLED, dtype=np.int64)
    for i, name in enumerate(col):
        if name is None or (isinstance(name, float) and np.isnan(name)) or str(name) == "":
            continue
        name = str(name)
        if name not in by_name:
            by_name[name] = next_value
            ref_names[next_value] = name
            next_value += 1
        codes[i] = by_name[name]
    return codes, ref_names


def _apply(t, x, y) -> tuple[np.ndarray, np.ndarray]:
    """An affine transform applied to coordinate arrays."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    return t.a * x + t.b * y + t.c, t.d * x + t.e * y + t.f


def _grid_index(class_map: xr.DataArray, x: np.ndarray, y: np.ndarray):
    """Row and column of points in the map's grid, and whether they fall inside it."""
    inv = ~class_map.rio.transform()
    col_f, row_f = _apply(inv, x, y)
    col = np.floor(col_f).astype(np.int64)
    row = np.floor(row_f).astype(np.int64)
    inside = (row >= 0) & (row < class_map.sizes["y"]) & (col >= 0) & (col < class_map.sizes["x"])
    inside &= np.isfinite(col_f) & np.isfinite(row_f)
    return row, col, inside


def _polygon_pixels(class_map: xr.DataArray, geom) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns of the pixels whose centres lie inside ``geom`` (map CRS)."""
    t = class_map.rio.transform()
    inv = ~t
    minx, miny, maxx, maxy = geom.bounds
    corners = np.array([[minx, miny], [minx, maxy], [maxx, miny], [maxx, maxy]])
    cols, rows = _apply(inv, corners[:, 0], corners[:, 1])
    r0 = max(int(np.floor(np.min(rows))), 0)
    r1 = min(int(np.ceil(np.max(rows))), class_map.sizes["y"])
    c0 = max(int(np.floor(np.min(cols))), 0)
    c1 = min(int(np.ceil(np.max(cols))), class_map.sizes["x"])
    if r0 >= r1 or c0 >= c1:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    rr, cc = np.mgrid[r0:r1, c0:c1]
    rr = rr.ravel()
    cc = cc.ravel()
    xs, ys = _apply(t, cc + 0.5, rr + 0.5)
    import shapely

    inside = shapely.contains_xy(geom, np.asarray(xs), np.asarray(ys))
    return rr[inside], cc[inside]


def _gather(class_map: xr.DataArray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Map values at (row, col): a point-wise index that reads only the chunks holding points."""
    data = class_map.data
    if len(rows) == 0:
        return np.empty(0, dtype=class_map.dtype)
    if isinstance(data, da.Array):
        # vindex builds one task per chunk that holds a point; the others are never read
        return np.asarray(data.vindex[rows, cols].compute())
    return np.asarray(data)[rows, cols]


# --------------------------------------------------------------------------------------------
# accuracy()
# --------------------------------------------------------------------------------------------


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


def _accuracy_vector(
    class_map: xr.DataArray,
    reference: Any,
    class_field: str | None,
    name_field: str | None,
) -> AccuracyReport:
    gdf = _read_vector(reference)
    if len(gdf) == 0:
        raise NoSamplesError("the reference holds no feature")
    if gdf.crs is None:
        raise MissingCRSError(
            "the reference has no CRS; set one with reference.set_crs('EPSG:....')"
        )
    field_name = _detect_class_field(gdf, class_field)
    map_names = _map_classes(class_map)
    codes, ref_names = _class_codes(gdf, field_name, name_field, map_names)
    labelled = codes != UNLABELLED
    if not labelled.any():
        raise NoSamplesError(
            f"no reference feature is labelled: {field_name!r} is missing or {UNLABELLED} "
            "everywhere (fill GrndTruth with the reference class of each point)"
        )
    gdf = gdf.loc[labelled].to_crs(class_map.rio.crs)
    codes = codes[labelled]
    excluded = {
        "outside": 0,
        "nodata": 0,
        "unlabelled": int((~labelled).sum()),
        "no_pixel_centre": 0,
    }

    geoms = gdf.geometry.to_numpy()
    import shapely

    kinds = shapely.get_type_id(geoms)
    is_point = np.isin(kinds, [0, 4])  # Point, MultiPoint
    is_area = np.isin(kinds, [3, 6])  # Polygon, MultiPolygon
    if not np.all(is_point | is_area | shapely.is_empty(geoms)):
        raise SamplesError("reference geometries must be points or polygons")

    rows_l, cols_l, cls_l = [], [], []
    n_points_outside = 0
    if is_point.any():
        parts, index = shapely.get_parts(geoms[is_point], return_index=True)
        x, y = shapely.get_x(parts), shapely.get_y(parts)
        row, col, inside = _grid_index(class_map, x, y)
        n_points_outside = int((~inside).sum())
        rows_l.append(row[inside])
        cols_l.append(col[inside])
        cls_l.append(codes[is_point][index][inside])
    n_polygons_outside = 0
    map_box = shapely.box(*class_map.rio.bounds())
    for geom, code in zip(geoms[is_area], codes[is_area]):
        rr, cc = _polygon_pixels(class_map, geom)
        if len(rr) == 0:
            if geom.intersects(map_box):  # inside, but smaller than a pixel
                excluded["no_pixel_centre"] += 1
            else:
                n_polygons_outside += 1
        rows_l.append(rr)
        cols_l.append(cc)
        cls_l.append(np.full(len(rr), code, dtype=np.int64))
    excluded["outside"] = n_points_outside + n_polygons_outside
    rows = np.concatenate(rows_l) if rows_l else np.empty(0, np.int64)
    cols = np.concatenate(cols_l) if cols_l else np.empty(0, np.int64)
    ref = np.concatenate(cls_l) if cls_l else np.empty(0, np.int64)
    if len(rows) == 0:
        bounds = tuple(round(v, 3) for v in class_map.rio.bounds())
        ref_bounds = tuple(round(v, 3) for v in gdf.total_bounds)
        raise NoSamplesError(
            f"no reference feature falls inside the class map: map bounds {bounds}, reference "
            f"bounds {ref_bounds} (both in the map's CRS {class_map.rio.crs.to_string()}). "
            "Do the reference and the map cover the same place?"
        )

    mapped = _gather(class_map, rows, cols)
    valid = _valid_mask(mapped, _map_nodata(class_map))
    excluded["nodata"] = int((~valid).sum())
    if not valid.any():
        raise NoSamplesError(
            f"all {len(mapped)} reference samples inside the map fall on nodata pixels"
        )
    m = mapped[valid].astype(np.int64)
    r = ref[valid]
    map_values = set(map_names) | {int(v) for v in np.unique(m)}
    _check_common(map_values, {int(v) for v in np.unique(r)}, map_names)
    values, names = _class_universe(map_names, [m, r], ref_names)
    return AccuracyReport(
        counts=_counts_matrix(values, m, r),
        class_values=tuple(values),
        class_names=tuple(names),
        excluded=excluded,
        class_map=class_map,
    )


def _pair_counts(
    m: np.ndarray, r: np.ndarray, m_nodata: float | None, r_nodata: float | None
) -> tuple[pd.Series, int]:
    m_valid = _valid_mask(m, m_nodata)
    r_valid = _valid_mask(r, r_nodata)
    both = m_valid & r_valid
    pairs = pd.Series(
        1, index=pd.MultiIndex.from_arrays([m[both].astype(np.int64), r[both].astype(np.int64)])
    )
    return pairs.groupby(level=[0, 1]).sum(), int((r_valid & ~m_valid).sum())


def _accuracy_raster(class_map: xr.DataArray, reference: xr.DataArray) -> AccuracyReport:
    if "band" in reference.dims:
        if reference.sizes["band"] != 1:
            raise DimensionError("a reference raster must have a single band")
        reference = reference.squeeze("band", drop=True)
    if reference.ndim != 2:
        raise DimensionError(f"a reference raster must have dims ('y', 'x'), got {reference.dims}")
    if reference.rio.crs is None:
        raise MissingCRSError(
            "the reference raster has no CRS; set one with reference.rio.write_crs(...)"
        )
    r_nodata = _map_nodata(reference)
    same_grid = (
        reference.rio.crs == class_map.rio.crs
        and reference.shape == class_map.shape
        and reference.rio.transform().almost_equals(class_map.rio.transform(), precision=1e-9)
    )
    if not same_grid:
        from rasterio.enums import Resampling

        # NaN marks nodata and the area beyond the reference through the resampling
        ref_f = reference.astype("float32")
        if r_nodata is not None:
            ref_f = ref_f.where(reference != r_nodata)
        ref_f = ref_f.rio.write_nodata(np.nan, encoded=False)
        # the reference is read whole here (rioxarray reprojects in memory)
        reference = ref_f.rio.reproject_match(class_map, resampling=Resampling.nearest)
        r_nodata = None
    m_data = _as_dask(class_map.data)
    r_data = _as_dask(reference.data).rechunk(m_data.chunks)
    m_nodata = _map_nodata(class_map)
    parts = dask.compute(
        *[
            dask.delayed(_pair_counts)(a, b, m_nodata, r_nodata)
            for a, b in zip(m_data.to_delayed().ravel(), r_data.to_delayed().ravel())
        ]
    )
    nodata = sum(p[1] for p in parts)
    pairs = pd.concat([p[0] for p in parts])
    if len(pairs) == 0:
        raise NoSamplesError(
            "the reference raster has no valid pixel over a valid pixel of the class map: "
            "do they cover the same place?"
        )
    pairs = pairs.groupby(level=[0, 1]).sum()
    m = pairs.index.get_level_values(0).to_numpy()
    r = pairs.index.get_level_values(1).to_numpy()
    map_names = _map_classes(class_map)
    _check_common(set(map_names) | set(m.tolist()), set(r.tolist()), map_names)
    values, names = _class_universe(map_names, [m, r], {})
    index = {v: i for i, v in enumerate(values)}
    counts = np.zeros((len(values), len(values)), dtype=np.int64)
    for mv, rv, c in zip(m, r, pairs.to_numpy()):
        counts[index[int(mv)], index[int(rv)]] += int(c)
    return AccuracyReport(
        counts=counts,
        class_values=tuple(values),
        class_names=tuple(names),
        excluded={"outside": 0, "nodata": int(nodata), "unlabelled": 0, "no_pixel_centre": 0},
        class_map=class_map,
    )


def accuracy(
    class_map: xr.DataArray,
    reference: gpd.GeoDataFrame | xr.DataArray | str | os.PathLike,
    class_field: str | None = None,
    name_field: str | None = None,
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
    class_map = _require_class_map(class_map)
    if isinstance(reference, xr.DataArray):
        return _accuracy_raster(class_map, reference)
    if isinstance(reference, str | os.PathLike) and Path(reference).suffix.lower() in (
        _RASTER_SUFFIXES
    ):
        if not Path(reference).exists():
            raise RasterFileNotFoundError(f"reference raster not found: '{reference}'")
        raster = rioxarray.open_rasterio(
            reference, chunks={"band": 1, "y": 1024, "x": 1024}, masked=False
        )
        return _accuracy_raster(class_map, raster)
    import geopandas as gpd

    if not isinstance(reference, gpd.GeoDataFrame | gpd.GeoSeries | str | os.PathLike):
        raise InvalidInputTypeError(
            "reference must be a GeoDataFrame, a DataArray or a path to a vector or raster "
            f"file; got {type(reference).__name__}"
        )
    return _accuracy_vector(class_map, reference, class_field, name_field)


# --------------------------------------------------------------------------------------------
# accuracy_points()
# --------------------------------------------------------------------------------------------


def _largest_remainder(shares: np.ndarray, n: int) -> np.ndarray:
    """Integers proportional to ``shares`` summing to ``n`` (Hamilton's method)."""
    exact = shares / shares.sum() * n
    out = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - out), kind="stable")
    out[order[: n - out.sum()]] += 1
    return out


def _allocate(pixels: np.ndarray, n: int, allocation: str, min_per_class: int) -> np.ndarray:
    k = len(pixels)
    if allocation == "proportional":
        alloc = _largest_remainder(pixels.astype(float), n)
    else:  # equal
        alloc = _largest_remainder(np.ones(k), n)
    alloc = np.maximum(alloc, min_per_class)
    return np.minimum(alloc, pixels)


def _find_in_block(
    block: np.ndarray, targets: list[tuple[int | None, np.ndarray]], nodata: float | None
) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions (C order) and values of the ``ranks``-th valid pixels of each class."""
    flat = np.asarray(block).ravel()
    valid = _valid_mask(flat, nodata)
    out = []
    for value, ranks in targets:
        # value None: any valid pixel (simple random sampling)
        positions = np.flatnonzero(valid if value is None else valid & (flat == value))
        out.append(positions[ranks])
    positions = np.concatenate(out)
    return positions, flat[positions].astype(np.int64)


def accuracy_points(
    class_map: xr.DataArray,
    n: int = DEFAULT_ACCURACY_POINTS,
    strategy: str = "stratified_random",
    allocation: str = "proportional",
    min_per_class: int = 0,
    random_state: int | np.random.Generator | None = 0,
) -> gpd.GeoDataFrame:
    """Random accuracy-assessment points at pixel centres, as ArcGIS's tool of the same name.

    Work is done in two steps: one pass over the map counts the valid pixels of each class in
    each chunk (a small table); the points are then drawn as ranks within each class, mapped to
    chunks with those counts, and only the chunks that receive a point are read again to find
    the pixels.  Nodata pixels are never drawn; pixels are drawn without replacement.

    Parameters
    ----------
    class_map : xarray.DataArray
        2-D integer class map with a CRS and a nodata value.
    n : int
        Number of points (before ``min_per_class`` raises small classes).
    strategy : {"stratified_random", "random"}
        ``"stratified_random"``: a simple random sample within each class (the map classes
        are the strata, the design that :meth:`AccuracyReport.area_estimates` assumes);
        ``"random"``: a simple random sample of all valid pixels.
    allocation : {"proportional", "equal"}
        Points per class for ``"stratified_random"``: proportional to the class's pixel count
        (largest remainders, so they sum to ``n``) or the same for every class.
    min_per_class : int
        Each class gets at least this many points (or all its pixels if it has fewer);
        Olofsson et al. (2014) suggest 50 to 100 for rare classes.
    random_state : int or numpy.random.Generator, optional
        Seed; the same seed gives the same points.

    Returns
    -------
    geopandas.GeoDataFrame
        In the map's CRS, sorted by class then row and column: ``Classified`` (map class
        value), ``GrndTruth`` (``-1``, to be filled with the reference class),
        ``class_name``, and point geometries at pixel centres.  Once ``GrndTruth`` is
        filled, pass the frame to :func:`accuracy`.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> data = np.array([[1] * 8, [1] * 8, [2] * 8, [0] * 8], dtype="uint8")
    >>> m = xr.DataArray(data, dims=("y", "x"), attrs={"_FillValue": 0},
    ...                  coords={"y": [35.0, 25.0, 15.0, 5.0], "x": np.arange(8) * 10 + 5.0})
    >>> m = m.rio.write_crs("EPSG:32618")
    >>> pts = accuracy_points(m, n=6, random_state=1)
    >>> pts["Classified"].value_counts().sort_index().tolist()
    [4, 2]
    >>> sorted(set(pts["GrndTruth"]))
    [-1]
    """
    import geopandas as gpd

    class_map = _require_class_map(class_map)
    if strategy not in ("stratified_random", "random"):
        raise InvalidParameterError(
            f"strategy must be 'stratified_random' or 'random', got {strategy!r}"
        )
    if allocation not in ("proportional", "equal"):
        raise InvalidParameterError(
            f"allocation must be 'proportional' or 'equal', got {allocation!r}"
        )
    if not isinstance(n, int | np.integer) or n < 1:
        raise InvalidParameterError(f"n must be a positive integer, got {n!r}")
    if not isinstance(min_per_class, int | np.integer) or min_per_class < 0:
        raise InvalidParameterError(f"min_per_class must be >= 0, got {min_per_class!r}")
    rng = np.random.default_rng(random_state)

    block_counts = _block_class_counts(class_map)  # the one full pass: chunks x classes
    if block_counts.empty or block_counts.to_numpy().sum() == 0:
        raise NoSamplesError("the class map has no valid (non-nodata) pixel")
    values = [int(v) for v in block_counts.columns]
    if strategy == "random":
        strata = {None: block_counts.sum(axis=1).to_numpy()}
        alloc = [min(int(n), int(block_counts.to_numpy().sum()))]
    else:
        strata = {v: block_counts[v].to_numpy() for v in values}
        pixels = np.array([s.sum() for s in strata.values()])
        alloc = _allocate(pixels, int(n), allocation, int(min_per_class))

    # ranks within each stratum -> (chunk, rank within the chunk)
    per_block: dict[int, list[tuple[int | None, np.ndarray]]] = {}
    for (value, per_chunk), k in zip(strata.items(), alloc):
        if k == 0:
            continue
        ranks = np.sort(rng.choice(int(per_chunk.sum()), size=int(k), replace=False))
        starts = np.concatenate([[0], np.cumsum(per_chunk)])
        chunk = np.searchsorted(starts, ranks, side="right") - 1
        for b in np.unique(chunk):
            per_block.setdefault(int(b), []).append((value, ranks[chunk == b] - starts[b]))

    data = _as_dask(class_map.data)
    nodata = _map_nodata(class_map)
    blocks = data.to_delayed().ravel()
    block_ids = sorted(per_block)
    # only the chunks that receive a point are read again
    found = dask.compute(
        *[dask.delayed(_find_in_block)(blocks[b], per_block[b], nodata) for b in block_ids]
    )
    row_starts = np.concatenate([[0], np.cumsum(data.chunks[0])])
    col_starts = np.concatenate([[0], np.cumsum(data.chunks[1])])
    n_col_blocks = len(data.chunks[1])
    rows_l, cols_l, classes_l = [], [], []
    for b, (flat, classes) in zip(block_ids, found):
        bi, bj = divmod(b, n_col_blocks)
        width = data.chunks[1][bj]
        r, c = np.divmod(np.asarray(flat, dtype=np.int64), width)
        rows_l.append(r + row_starts[bi])
        cols_l.append(c + col_starts[bj])
        classes_l.append(classes)
    rows = np.concatenate(rows_l)
    cols = np.concatenate(cols_l)
    classified = np.concatenate(classes_l)
    order = np.lexsort((cols, rows, classified))
    rows, cols, classified = rows[order], cols[order], classified[order]
    t = class_map.rio.transform()
    xs, ys = _apply(t, cols + 0.5, rows + 0.5)
    names = _map_classes(class_map)
    return gpd.GeoDataFrame(
        {
            "Classified": classified,
            "GrndTruth": np.full(len(rows), UNLABELLED, dtype=np.int64),
            "class_name": [names.get(int(v), str(int(v))) for v in classified],
        },
        geometry=gpd.points_from_xy(xs, ys),
        crs=class_map.rio.crs,
    )
