"""``sample_size()``: how many accuracy points to draw, and how to share them among classes.

For a stratified random sample whose strata are the map classes (the design of
:func:`~xr_landcover.accuracy_points` and of :meth:`~xr_landcover.AccuracyReport.area_estimates`),
Olofsson et al. (2014, eq. 13) give the total that reaches a target standard error ``S(O)`` of
the overall accuracy::

    n = (sum_i W_i S_i / S(O)) ** 2,     S_i = sqrt(U_i (1 - U_i))

with ``W_i`` the mapped share of class ``i`` and ``U_i`` its expected user's accuracy. Their
allocation advice (section 5.1.2): proportional allocation leaves rare classes with too few
points to estimate their accuracy, so give each rare class a minimum (50 to 100) and share the
rest among the other classes in proportion to their area. The expected standard errors of each
user's accuracy (``sqrt(U_i (1 - U_i) / (n_i - 1))``) and of the overall accuracy
(``sqrt(sum_i W_i**2 U_i (1 - U_i) / (n_i - 1))``) let allocations be compared, as their Table 5
does. (The module is not called ``sample_size``: the function of that name would be hidden.)

References
----------
Olofsson, P., Foody, G. M., Herold, M., Stehman, S. V., Woodcock, C. E., Wulder, M. A. (2014).
Good practices for estimating area and assessing accuracy of land change. *Remote Sensing of
Environment* 148, 42-57.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .._validate import check_number
from .._warnings import warn
from ..errors import InvalidInputTypeError, InvalidParameterError, NoSamplesError
from .reference import class_area_table

__all__ = ["SampleSize", "sample_size"]

#: Olofsson et al. (2014) suggest 50 to 100 points for a rare class.
DEFAULT_RARE_CLASS_MINIMUM = 50


def largest_remainder(shares: np.ndarray, n: int) -> np.ndarray:
    """Whole numbers proportional to ``shares`` that sum to ``n`` (Hamilton's method).

    Examples
    --------
    >>> largest_remainder(np.array([0.02, 0.015, 0.32, 0.645]), 641).tolist()
    [13, 10, 205, 413]
    """
    shares = np.asarray(shares, dtype=float)
    exact = shares / shares.sum() * n
    out = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - out), kind="stable")
    out[order[: n - int(out.sum())]] += 1
    return out


def _with_minimum(shares: np.ndarray, n: int, minimum: int) -> np.ndarray:
    """``n`` shared in proportion to ``shares``, each class raised to ``minimum``: the raised
    classes keep the minimum and the rest is shared again among the others, until no share
    falls below it (Olofsson et al. 2014, section 5.1.2)."""
    k = len(shares)
    if minimum * k >= n:
        return np.full(k, minimum, dtype=np.int64)
    fixed = np.zeros(k, dtype=bool)
    while True:
        out = np.full(k, minimum, dtype=np.int64)
        free = ~fixed
        out[free] = largest_remainder(shares[free], n - minimum * int(fixed.sum()))
        low = free & (out < minimum)
        if not low.any():
            return out
        fixed |= low


def _expected_se(w: np.ndarray, u: np.ndarray, n_i: np.ndarray) -> tuple[np.ndarray, float]:
    """Expected standard errors of each user's accuracy and of the overall accuracy."""
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n_i > 1, u * (1.0 - u) / (n_i - 1.0), np.inf)
    overall = float(np.sqrt(np.sum(np.where(w > 0, w**2 * var, 0.0))))
    return np.sqrt(var), overall


@dataclass(frozen=True, repr=False)
class SampleSize:
    """A sample size for accuracy assessment and its allocation to the map classes.

    Attributes
    ----------
    n : int
        Total number of points of :attr:`allocation` (eq. 13 rounded up, or more when the
        class minimum asks for it, or the sum of a given allocation).
    n_formula : float
        Eq. 13 of Olofsson et al. (2014) before rounding.
    allocation : dict
        Points per class, keyed like the classes given (class values for a class map); pass it
        to :func:`~xr_landcover.accuracy_points` as ``allocation=``.
    table : pandas.DataFrame
        Per class (index: name): ``value``, ``map_proportion`` (``W_i``),
        ``expected_users_accuracy`` (``U_i``), ``std_dev`` (``S_i``), ``n`` (points),
        ``users_accuracy_se`` (expected standard error with those points).
    overall_accuracy_se : float
        Expected standard error of the overall accuracy with this allocation. Eq. 13 is the
        total of the optimal (Neyman) allocation, ``n_i`` in proportion to ``W_i S_i``, which
        reaches ``target_standard_error`` (counting ``n_i`` for ``n_i - 1``); other allocations
        come out somewhat above it.
    target_standard_error : float
        ``S(O)`` asked for.
    """

    n: int
    n_formula: float
    allocation: dict
    table: pd.DataFrame
    overall_accuracy_se: float
    target_standard_error: float

    def compare_allocations(self, minimums: Sequence[int] = (0, 50, 75, 100)) -> pd.DataFrame:
        """The same ``n`` allocated with several rare-class minimums, and equally (Table 5 style).

        Parameters
        ----------
        minimums : sequence of int
            Minimum points per class; 0 is the proportional allocation.

        Returns
        -------
        pandas.DataFrame
            One row per allocation (``proportional``, ``minimum 50``, ..., ``equal``): the
            points of each class, the expected standard error of each user's accuracy
            (``se <class>``) and of the overall accuracy (``se overall``).
        """
        w = self.table["map_proportion"].to_numpy()
        u = self.table["expected_users_accuracy"].to_numpy()
        names = list(self.table.index)
        rows = {}
        for m in minimums:
            check_number("minimums", m, 0, integer=True)
            label = "proportional" if m == 0 else f"minimum {int(m)}"
            rows[label] = _with_minimum(w, self.n, int(m))
        rows["equal"] = largest_remainder(np.ones(len(w)), self.n)
        out = {}
        for label, n_i in rows.items():
            se, overall = _expected_se(w, u, n_i.astype(float))
            out[label] = {**dict(zip(names, n_i.tolist())),
                          **{f"se {c}": s for c, s in zip(names, se)}, "se overall": overall}
        return pd.DataFrame.from_dict(out, orient="index")

    def __repr__(self) -> str:
        with pd.option_context("display.width", 120):
            table = self.table.round(4).to_string()
        return "\n".join([
            f"SampleSize: n = {self.n} (eq. 13: {self.n_formula:.1f} for a standard error of "
            f"{self.target_standard_error:g} of the overall accuracy; expected "
            f"{self.overall_accuracy_se:.4f} with this allocation)",
            table,
        ])


def _class_shares(classes) -> tuple[list, list[str], np.ndarray]:
    """Keys, names and mapped shares of the classes (a class map, or areas per class)."""
    if isinstance(classes, xr.DataArray):
        table = class_area_table(classes, "pixels")  # one counting pass over the map
        table = table[table["pixels"] > 0]
        if table.empty:
            raise NoSamplesError("the class map has no valid (non-nodata) pixel")
        keys = [int(v) for v in table["value"]]
        return keys, [str(n) for n in table.index], table["pixels"].to_numpy(float)
    if isinstance(classes, pd.Series):
        classes = classes.to_dict()
    if not isinstance(classes, Mapping):
        raise InvalidInputTypeError(
            "classes must be a class map (DataArray) or the mapped area (or share) of each "
            f"class as a mapping {{class: area}}; got {type(classes).__name__}"
        )
    if not classes:
        raise InvalidParameterError("classes is empty: give the mapped area of each class")
    areas = []
    for key, area in classes.items():
        check_number(f"the area of class {key!r}", area, 0)
        areas.append(float(area))
    areas = np.array(areas)
    if areas.sum() <= 0:
        raise InvalidParameterError("the class areas in classes sum to zero")
    keep = areas > 0
    keys = [k for k, ok in zip(classes, keep) if ok]
    return keys, [str(k) for k in keys], areas[keep]


def _per_class(name: str, value, keys: list, names: list[str], low: float, high: float,
               ) -> np.ndarray:
    """A number per class: one for all, or a mapping keyed by class key or name."""
    if isinstance(value, Mapping):
        lookup = {**{str(k): v for k, v in value.items()}}
        missing = [n for k, n in zip(keys, names) if str(k) not in lookup and n not in lookup]
        unknown = sorted(str(k) for k in value if str(k) not in {str(x) for x in keys}
                         and str(k) not in names)
        if missing or unknown:
            raise InvalidParameterError(
                f"{name} must give a value for every mapped class {names}"
                + (f"; missing: {missing}" if missing else "")
                + (f"; not a mapped class: {unknown}" if unknown else "")
            )
        out = [lookup.get(str(k), lookup.get(n)) for k, n in zip(keys, names)]
    else:
        out = [value] * len(keys)
    for n, v in zip(names, out):
        check_number(name if not isinstance(value, Mapping) else f"{name}[{n!r}]", v, low, high,
                     low_open=True)
    return np.array(out, dtype=float)


def sample_size(
    classes: xr.DataArray | Mapping | pd.Series,
    expected_user_accuracy: float | Mapping = 0.75,
    target_standard_error: float = 0.01,
    allocation: str | Mapping = "proportional",
    rare_class_minimum: int = DEFAULT_RARE_CLASS_MINIMUM,
) -> SampleSize:
    """The number of accuracy points to draw, and their allocation (Olofsson et al. 2014).

    The total is eq. 13 of the paper, ``n = (sum_i W_i S_i / S(O))**2`` with
    ``S_i = sqrt(U_i (1 - U_i))``, rounded up: the stratified random sample that estimates the
    overall accuracy with standard error ``S(O)`` when the user's accuracies are as expected.

    Parameters
    ----------
    classes : DataArray or mapping
        The class map (its valid pixels are counted: one pass over the map), or the mapped
        area (or pixels, or share) of each class, ``{class: area}``. Classes with no area are
        left out.
    expected_user_accuracy : float or mapping, default 0.75
        ``U_i`` in (0, 1]: one for every class, or ``{class: U}`` keyed by class value (or
        name) for every mapped class. Olofsson et al. assume higher accuracies for stable
        classes than for rare or change classes.
    target_standard_error : float, default 0.01
        ``S(O)``, the standard error of the overall accuracy aimed at, in (0, 1).
    allocation : {"proportional", "equal", "neyman"} or mapping
        ``"proportional"``: points in proportion to the mapped areas, each class raised to
        ``rare_class_minimum`` and the rest shared among the others in proportion (the total
        stays ``n``, unless the minimums alone need more); ``"equal"``: the same for every
        class (each at least ``rare_class_minimum``); ``"neyman"``: in proportion to
        ``W_i S_i``, the allocation eq. 13 assumes (the lowest standard error of the overall
        accuracy); a mapping ``{class: points}`` is used as given (its sum is ``n``).
    rare_class_minimum : int, default 50
        Fewest points per class; Olofsson et al. suggest 50 to 100. 0 gives the strictly
        proportional allocation.

    Returns
    -------
    SampleSize
        ``n``, ``allocation`` (for ``accuracy_points(class_map, allocation=...)``), ``table``
        with the expected standard errors, ``compare_allocations()``.

    Raises
    ------
    InvalidParameterError
        An accuracy outside (0, 1], a standard error outside (0, 1), an unknown allocation,
        or a mapping that misses (or adds) classes.
    InvalidInputTypeError
        ``classes`` is neither a class map nor a mapping.

    Warns
    -----
    UserWarning
        When the class minimums alone need more points than eq. 13 gives (the total grows).

    Examples
    --------
    The worked example of Olofsson et al. (2014, section 5.1.2):

    >>> size = sample_size({"deforestation": 0.02, "forest gain": 0.015,
    ...                     "stable forest": 0.32, "stable non-forest": 0.645},
    ...                    expected_user_accuracy={"deforestation": 0.7, "forest gain": 0.6,
    ...                                            "stable forest": 0.9,
    ...                                            "stable non-forest": 0.95},
    ...                    target_standard_error=0.01, rare_class_minimum=0)
    >>> round(size.n_formula, 1), size.n
    (640.5, 641)
    >>> size.allocation
    {'deforestation': 13, 'forest gain': 10, 'stable forest': 205, 'stable non-forest': 413}
    """
    keys, names, areas = _class_shares(classes)
    w = areas / areas.sum()
    u = _per_class("expected_user_accuracy", expected_user_accuracy, keys, names, 0.0, 1.0)
    check_number("target_standard_error", target_standard_error, 0.0, 1.0, low_open=True)
    if target_standard_error >= 1:
        raise InvalidParameterError(
            f"target_standard_error must be in (0, 1); got {target_standard_error!r}"
        )
    check_number("rare_class_minimum", rare_class_minimum, 0, integer=True)
    s = np.sqrt(u * (1.0 - u))
    n_formula = float((np.sum(w * s) / target_standard_error) ** 2)
    n = max(int(math.ceil(n_formula - 1e-9)), 1)

    if isinstance(allocation, Mapping):
        given = _per_class("allocation", allocation, keys, names, -1.0, None)
        if not np.all(np.equal(np.round(given), given)):
            raise InvalidParameterError("allocation must give whole numbers of points")
        n_i = given.astype(np.int64)
        n = int(n_i.sum())
        if n == 0:
            raise InvalidParameterError("allocation gives no point to any class")
    elif allocation in ("proportional", "equal", "neyman"):
        shares = {"proportional": w, "equal": np.ones(len(w)), "neyman": w * s}[allocation]
        if not shares.sum() > 0:  # every U_i is 1
            shares = w
        n_i = _with_minimum(shares, n, int(rare_class_minimum))
        if n_i.sum() > n:
            warn(
                f"rare_class_minimum={rare_class_minimum} for {len(w)} classes needs "
                f"{int(n_i.sum())} points, more than the {n} of eq. 13; the total is raised to "
                f"{int(n_i.sum())} (lower rare_class_minimum to keep {n})",
            )
            n = int(n_i.sum())
    else:
        raise InvalidParameterError(
            "allocation must be 'proportional', 'equal', 'neyman' or a mapping "
            "{class: points}; got "
            f"{allocation!r}"
        )
    se, overall = _expected_se(w, u, n_i.astype(float))
    table = pd.DataFrame(
        {
            "value": keys,
            "map_proportion": w,
            "expected_users_accuracy": u,
            "std_dev": s,
            "n": n_i,
            "users_accuracy_se": se,
        },
        index=pd.Index(names, name="class"),
    )
    return SampleSize(
        n=n,
        n_formula=n_formula,
        allocation={k: int(v) for k, v in zip(keys, n_i)},
        table=table,
        overall_accuracy_se=overall,
        target_standard_error=float(target_standard_error),
    )
