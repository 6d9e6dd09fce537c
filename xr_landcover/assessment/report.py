"""The accuracy report: a confusion matrix, its statistics and the area estimators of
Olofsson et al. (2014).

:class:`AccuracyReport` is a value object over a matrix of counts (map classes as rows,
reference classes as columns, ArcGIS's and Olofsson et al.'s layout; producer's accuracy is a
column's diagonal over its total, scikit-learn's recall, user's accuracy a row's diagonal over
its total, its precision). :meth:`AccuracyReport.area_estimates` gives the stratified estimators:
error-adjusted area per class with its standard error and confidence interval, and user's,
producer's and overall accuracy with standard errors.

This module is numpy and pandas only: it knows nothing of rasters. The one thing the report may
need from the map, the mapped area of each class, reaches it in one of two ways:

* ``map_areas`` (given to :meth:`~AccuracyReport.from_confusion_matrix` or to
  :meth:`~AccuracyReport.area_estimates`): numbers the caller already has;
* ``map_area_table``, a hook injected by :func:`xr_landcover.accuracy`: a function of the area
  unit that counts the class map's pixels per class (one pass over the map) and returns the
  table. A hook rather than a table computed up front, because that count is a full pass over
  the map which only :meth:`~AccuracyReport.area_estimates` needs (:func:`~xr_landcover.accuracy`
  reads only the chunks that hold reference samples), and because the unit, which is checked
  against the map's CRS, is chosen at that call.

The hook returns a DataFrame indexed by class name with the columns ``value`` (class value)
and ``area`` (in the unit), and the unit used in ``attrs["unit"]``
(:func:`xr_landcover.assessment.reference.class_area_table` bound to the map).

References
----------
Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A. (2014).
Good practices for estimating area and assessing accuracy of land change. *Remote Sensing of
Environment* 148, 42-57.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError, SamplesError

__all__ = ["AccuracyReport", "MapAreaTable"]

#: The area hook: ``unit -> DataFrame`` (index: class names; columns ``value``, ``area``;
#: ``attrs["unit"]``: the unit used, ``None`` asking for the map's default).
MapAreaTable = Callable[[str | None], pd.DataFrame]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


@dataclass(frozen=True, eq=False, repr=False)
class AccuracyReport:
    """Accuracy of a class map against reference data: a confusion matrix and its statistics.

    Build it with :func:`xr_landcover.accuracy` (from a map and reference data) or
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
        The map assessed (kept for the user: the report itself never reads it).
    map_areas : pandas.Series or None
        Mapped area (or pixel count) per class name, when given explicitly.
    map_area_table : callable or None
        The hook that counts the map's class areas for :meth:`area_estimates`
        (``unit -> DataFrame``, see the module docstring); set by
        :func:`xr_landcover.accuracy`.
    """

    counts: np.ndarray
    class_values: tuple[int, ...]
    class_names: tuple[str, ...]
    excluded: dict[str, int] = field(default_factory=dict)
    class_map: Any = None
    map_areas: pd.Series | None = None
    map_area_table: MapAreaTable | None = None

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
        if self.map_area_table is None:
            raise InvalidParameterError(
                "area estimates need the mapped area of each class: pass map_areas=... or "
                "build the report with xr_landcover.accuracy(class_map, reference)"
            )
        table = self.map_area_table(unit)  # the map's one counting pass (see the module doc)
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
        (the design of :func:`xr_landcover.accuracy_points`).  With ``W_i`` the mapped share
        of class ``i``, ``n_ij`` the counts and ``n_i.`` the row totals, the estimated area
        proportion in cell ``(i, j)`` is ``p_ij = W_i n_ij / n_i.`` (eq. 4 of the paper), and

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
            ``confidence`` outside (0, 1), ``z`` not positive, no mapped areas available, or
            a mapped area negative or not finite.
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
        if not np.all(np.isfinite(areas) & (areas >= 0)):
            raise InvalidParameterError(
                "map_areas must be finite and >= 0 (the mapped area or pixel count of each "
                f"class), got {dict(zip(self.class_names, areas.tolist()))}"
            )
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
        users = _ratio(np.diag(n), n_i)
        # eq. 6: within its own stratum, whatever the stratum's weight (a class given map
        # area 0 still has its samples' variance)
        users_var = users * (1.0 - users) * dof
        dof[(n_i == 0) | (w == 0)] = 0.0  # the weighted sums: a stratum of weight 0 adds 0
        area_var = ((w[:, None] * p - p**2) * dof[:, None]).sum(axis=0)  # eq. 10
        overall = float(np.trace(p))
        # strata of weight 0 add 0 (their users may be NaN: no sample); one of positive weight
        # and a single sample leaves the sum undefined (NaN), as it does the area's
        overall_var = float(np.where(w > 0, w**2 * users * (1.0 - users) * dof, 0.0).sum())
        producers = _ratio(np.diag(p), p_col)
        # Olofsson et al. (2013) eq. 7, written with the mapped shares W (the scale cancels)
        n_hat_col = p_col
        k = len(self.class_names)
        producers_var = np.full(k, np.nan)
        for j in range(k):
            if n_hat_col[j] == 0:  # no estimated area of class j: producer's accuracy undefined
                continue
            # a stratum of mapped area 0 (a class of the reference only: no sample, user's
            # accuracy undefined) weighs nothing, so its term is 0, not 0 * NaN
            own = 0.0 if w[j] == 0 else (
                w[j] ** 2 * (1.0 - producers[j]) ** 2 * users[j] * (1.0 - users[j]) * dof[j])
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
        # to_string shows every row and column (pandas' display options do not apply to it)
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

