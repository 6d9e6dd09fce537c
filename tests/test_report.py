"""Tests of xr_landcover.assessment.report: the report vs scikit-learn, the estimators of
Olofsson et al. (2014), the display. No raster here: the report is numpy and pandas only."""

from __future__ import annotations

import ast
import dataclasses
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import assert_matches_sklearn
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix

from xr_landcover.assessment import report as report_module
from xr_landcover.assessment.report import AccuracyReport
from xr_landcover.errors import InvalidParameterError, SamplesError

OLOFSSON_COUNTS = [[66, 0, 5, 4], [0, 55, 8, 12], [1, 0, 153, 11], [2, 1, 9, 313]]

OLOFSSON_NAMES = ["deforestation", "forest gain", "stable forest", "stable non-forest"]

OLOFSSON_PIXELS = [200_000, 150_000, 3_200_000, 6_450_000]



def test_olofsson_2014_worked_example():
    """Section 5 of the paper: Table 8 counts, 30 m pixels (0.09 ha), Tables 9-10 / text."""
    rep = AccuracyReport.from_confusion_matrix(OLOFSSON_COUNTS, OLOFSSON_NAMES)
    # the paper rounds the normal quantile to 1.96
    est = rep.area_estimates(map_areas=dict(zip(OLOFSSON_NAMES, OLOFSSON_PIXELS)), z=1.96)
    # Table 9: estimated area proportions, 4 decimals
    p = np.array(OLOFSSON_PIXELS) / sum(OLOFSSON_PIXELS)
    cells = p[:, None] * np.array(OLOFSSON_COUNTS) / np.sum(OLOFSSON_COUNTS, axis=1)[:, None]
    table9 = [
        [0.0176, 0.0000, 0.0013, 0.0011],
        [0.0000, 0.0110, 0.0016, 0.0024],
        [0.0019, 0.0000, 0.2967, 0.0213],
        [0.0040, 0.0020, 0.0179, 0.6212],
    ]
    np.testing.assert_array_equal(np.round(cells, 4), table9)
    np.testing.assert_array_equal(
        np.round(est["area_proportion"], 4), [0.0235, 0.0130, 0.3175, 0.6460]
    )
    ha = est[["area", "area_ci", "area_se"]] * 0.09
    # error-adjusted areas (ha) with 95 % half-widths
    assert round(ha.loc["deforestation", "area"]) == 21_158
    assert round(ha.loc["deforestation", "area_ci"]) == 6_158
    assert round(ha.loc["deforestation", "area_se"]) == 3_142
    assert round(est.loc["deforestation", "area_proportion_se"], 4) == 0.0035
    assert round(ha.loc["forest gain", "area"]) == 11_686
    assert round(ha.loc["forest gain", "area_ci"]) == 3_756
    assert round(ha.loc["stable forest", "area"]) == 285_770
    assert round(ha.loc["stable forest", "area_ci"]) == 15_510
    assert round(ha.loc["stable non-forest", "area"]) == 581_386
    assert round(ha.loc["stable non-forest", "area_ci"]) == 16_282
    # accuracies with 95 % half-widths, two decimals
    two = est.round(2)
    assert two["users_accuracy"].tolist() == [0.88, 0.73, 0.93, 0.96]
    assert two["users_accuracy_ci"].tolist() == [0.07, 0.10, 0.04, 0.02]
    assert two["producers_accuracy"].tolist() == [0.75, 0.85, 0.93, 0.96]
    assert two["producers_accuracy_ci"].tolist() == [0.21, 0.25, 0.03, 0.02]
    assert round(est.attrs["overall_accuracy"], 2) == 0.95
    assert round(est.attrs["overall_accuracy_ci"], 2) == 0.02
    exact = rep.area_estimates(map_areas=OLOFSSON_PIXELS)  # z from confidence=0.95
    assert exact.attrs["z"] == pytest.approx(1.959964, abs=1e-6)
    np.testing.assert_allclose(exact["area_ci"] / est["area_ci"], 1.959964 / 1.96)
    np.testing.assert_allclose(exact["area"], est["area"])



def test_area_estimates_errors():
    rep = AccuracyReport.from_confusion_matrix([[5, 1], [0, 4]], ["a", "b"])
    with pytest.raises(InvalidParameterError, match="map_areas"):
        rep.area_estimates()
    with pytest.raises(InvalidParameterError, match="confidence"):
        rep.area_estimates(confidence=1.5, map_areas=[1, 1])
    with pytest.raises(InvalidParameterError, match="not in the matrix"):
        rep.area_estimates(map_areas={"a": 1, "zzz": 2})
    # a class found only in the reference (no map area, no row) is fine
    only_ref = AccuracyReport.from_confusion_matrix([[5, 1, 2], [0, 4, 0], [0, 0, 0]])
    est = only_ref.area_estimates(map_areas=[60.0, 40.0, 0.0])
    assert est["area"].sum() == pytest.approx(100.0)
    assert est.loc["2", "area"] == pytest.approx(60 * 2 / 8)
    # a mapped class without samples cannot be estimated
    with pytest.raises(SamplesError, match="no sample"):
        only_ref.area_estimates(map_areas=[60.0, 30.0, 10.0])



def test_area_estimates_from_the_injected_area_table():
    """The report asks its hook for the areas, in the unit asked for, only when estimating."""
    asked = []

    def area_table(unit):
        asked.append(unit)
        table = pd.DataFrame({"value": [1, 2, 5], "area": [60.0, 40.0, 0.0]},
                             index=pd.Index(["a", "b", "e"], name="class"))
        table.attrs["unit"] = unit or "ha"
        return table

    rep = AccuracyReport(counts=np.array([[5, 1], [0, 4]]), class_values=(1, 2),
                         class_names=("a", "b"), map_area_table=area_table)
    assert asked == []
    est = rep.area_estimates(unit="km2")
    assert asked == ["km2"] and est.attrs["unit"] == "km2"
    np.testing.assert_allclose(est["map_area"], [60.0, 40.0])
    assert est["area"].sum() == pytest.approx(100.0)
    # given areas win over the hook
    assert rep.area_estimates(map_areas=[1.0, 3.0])["map_area"].tolist() == [1.0, 3.0]
    assert asked == ["km2"]

    def with_unsampled(unit):
        table = area_table(unit)
        table.loc["e", "area"] = 0.5  # a mapped class that no sample falls in, however small
        return table

    unsampled = AccuracyReport(counts=rep.counts, class_values=(1, 2), class_names=("a", "b"),
                               map_area_table=with_unsampled)
    with pytest.raises(SamplesError, match=r"map classes \['e'\] cover part of the map"):
        unsampled.area_estimates()
    # a class of the reference only (value 9, not in the map's table): mapped area 0
    ref_only = AccuracyReport(counts=np.array([[5, 1, 1], [0, 4, 0], [0, 0, 0]]),
                              class_values=(1, 2, 9), class_names=("a", "b", "z"),
                              map_area_table=area_table)
    est = ref_only.area_estimates()
    assert est["map_area"].tolist() == [60.0, 40.0, 0.0]
    assert est.loc["z", "area"] == pytest.approx(60.0 * 1 / 7)


def test_report_module_imports_numpy_and_pandas_only():
    tree = ast.parse(Path(report_module.__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module.split(".")[0])
    raster = {"xarray", "dask", "geopandas", "rasterio", "rioxarray", "shapely", "pyproj"}
    assert not imported & raster, imported & raster


def test_report_display_and_tables():
    rep = AccuracyReport.from_confusion_matrix(
        pd.DataFrame([[8, 2], [1, 9]], index=["water", "land"])
    )
    text = repr(rep)
    assert "overall accuracy 0.8500" in text and "water" in text and "Total" in text
    html = rep._repr_html_()
    assert "<table" in html and "kappa" in html
    table = rep.to_dataframe()
    assert table.loc["water", "U_Accuracy"] == pytest.approx(0.8)
    assert table.loc["P_Accuracy", "land"] == pytest.approx(9 / 11)
    assert table.loc["P_Accuracy", "U_Accuracy"] == pytest.approx(0.85)
    assert table.loc["Kappa", "Kappa"] == pytest.approx(rep.kappa)
    with pytest.raises(InvalidParameterError, match=r"square matrix, got shape \(1, 3\)"):
        AccuracyReport.from_confusion_matrix([[1, 2, 3]])
    # every class is shown, however many (no pandas ellipsis)
    many = AccuracyReport.from_confusion_matrix(np.eye(60, dtype=int) + 1)
    text = repr(many)
    assert "..." not in text and " 59 " in text and "Total" in text


def test_reports_compare_and_hash_by_identity():
    """A report holds arrays and tables: equal by identity (as a NumPy array's owner would
    be), and hashable, so reports can key a dict."""
    a = AccuracyReport.from_confusion_matrix([[5, 1], [0, 4]])
    b = AccuracyReport.from_confusion_matrix([[5, 1], [0, 4]])
    assert a == a and a != b
    assert len({a: 1, b: 2}) == 2



@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
@given(pairs=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=200))
def test_report_from_any_pairs_equals_sklearn(pairs):
    """Cheap, so its example count is the profile's (100 in the ``ci`` profile, conftest.py)."""
    m, r = (np.array(v) for v in zip(*pairs))
    labels = (1, 2, 3, 4, 5)
    counts = confusion_matrix(r, m, labels=labels).T
    rep = AccuracyReport(counts=counts, class_values=labels, class_names=tuple(map(str, labels)))
    assert_matches_sklearn(rep, m, r)  # kappa NaN where scikit-learn's is undefined



def _olofsson_variances(counts, mapped) -> tuple[list, list, Fraction]:
    """Variances of user's, producer's and overall accuracy, in exact rational arithmetic,
    written cell by cell from Olofsson et al. (2014) eqs. 5 (overall), 6 (user's) and 7
    (producer's, with ``N_i.`` the mapped areas): an independent reference for the report."""
    k = len(counts)
    n_row = [sum(Fraction(c) for c in row) for row in counts]
    total = sum(Fraction(a) for a in mapped)
    w = [Fraction(a) / total for a in mapped]
    users = [Fraction(counts[i][i]) / n_row[i] for i in range(k)]
    var_users = [users[i] * (1 - users[i]) / (n_row[i] - 1) for i in range(k)]
    var_overall = sum(w[i] ** 2 * users[i] * (1 - users[i]) / (n_row[i] - 1) for i in range(k))
    var_producers = []
    for j in range(k):
        n_col = sum(Fraction(mapped[i]) / n_row[i] * counts[i][j] for i in range(k))
        producer = Fraction(mapped[j]) / n_row[j] * counts[j][j] / n_col
        others = sum(
            Fraction(mapped[i]) ** 2 * Fraction(counts[i][j]) / n_row[i]
            * (1 - Fraction(counts[i][j]) / n_row[i]) / (n_row[i] - 1)
            for i in range(k) if i != j
        )
        own = (Fraction(mapped[j]) ** 2 * (1 - producer) ** 2 * users[j] * (1 - users[j])
               / (n_row[j] - 1))
        var_producers.append((own + producer**2 * others) / n_col**2)
    return var_users, var_producers, var_overall


@pytest.mark.parametrize("counts, mapped", [
    (OLOFSSON_COUNTS, OLOFSSON_PIXELS),
    # small strata (n_i. of 4 to 9), where n and n - 1 differ by 11 % to 25 %
    ([[3, 1, 0], [2, 5, 2], [0, 1, 3]], [5_000, 1_200, 300]),
    # 300 classes: class indices past 256 are distinct int objects, compared by value
    ((3 * np.eye(300, dtype=int) + np.eye(300, k=1, dtype=int)).tolist(),
     list(range(1_000, 1_300))),
], ids=["olofsson-2014", "small-strata", "300-classes"])
def test_accuracy_standard_errors_match_the_paper_at_full_precision(counts, mapped):
    """User's, producer's and overall standard errors to 1e-12 of the exact (rational)
    variances of Olofsson et al. (2014) eqs. 5-7, which divide by ``n_i. - 1``: a report that
    divides by ``n_i.`` is 0.3 % to 25 % off and fails."""
    names = [f"c{i}" for i in range(len(counts))]
    est = AccuracyReport.from_confusion_matrix(counts, names).area_estimates(map_areas=mapped)
    var_users, var_producers, var_overall = _olofsson_variances(counts, mapped)
    np.testing.assert_allclose(est["users_accuracy_se"] ** 2, [float(v) for v in var_users],
                               rtol=1e-12)
    np.testing.assert_allclose(est["producers_accuracy_se"] ** 2,
                               [float(v) for v in var_producers], rtol=1e-12)
    assert est.attrs["overall_accuracy_se"] ** 2 == pytest.approx(float(var_overall), rel=1e-12)
    z = est.attrs["z"]
    np.testing.assert_allclose(est["users_accuracy_ci"], z * est["users_accuracy_se"], rtol=1e-15)
    assert est.attrs["overall_accuracy_ci"] == pytest.approx(z * est.attrs["overall_accuracy_se"],
                                                             rel=1e-15)


def test_from_confusion_matrix_checks_counts_names_and_areas():
    """Counts must be whole and >= 0 (whole floats are fine); one name per class; map areas
    as a mapping by name or a sequence in the matrix's order mean the same."""
    for not_square in ([1, 2], [[1, 2, 3]], [[1, 2], [3, 4], [5, 6]], np.ones((2, 2, 2))):
        with pytest.raises(InvalidParameterError, match="counts must be a square matrix"):
            AccuracyReport.from_confusion_matrix(not_square)
    for bad in ([[1, -1], [0, 2]], [[1.5, 0], [0, 2]], [[1, 0], [0, -0.5]]):
        with pytest.raises(InvalidParameterError, match="non-negative whole numbers"):
            AccuracyReport.from_confusion_matrix(bad)
    whole = AccuracyReport.from_confusion_matrix([[1.0, 0.0], [3.0, 2.0]])
    assert whole.counts.dtype == np.int64 and whole.counts.tolist() == [[1, 0], [3, 2]]
    assert whole.class_names == ("0", "1") and whole.class_values == (0, 1)
    for names in (["a"], ["a", "b", "c"]):
        with pytest.raises(InvalidParameterError, match=f"{len(names)} class names for a 2 x 2"):
            AccuracyReport.from_confusion_matrix([[1, 0], [0, 1]], names)
    frame = pd.DataFrame([[8, 2], [1, 9]], index=["water", "land"])
    assert AccuracyReport.from_confusion_matrix(frame).class_names == ("water", "land")
    assert AccuracyReport.from_confusion_matrix(frame, ["w", "l"]).class_names == ("w", "l")
    by_name = AccuracyReport.from_confusion_matrix(frame, map_areas={"land": 70, "water": 30})
    in_order = AccuracyReport.from_confusion_matrix(frame, map_areas=[30, 70])
    pd.testing.assert_series_equal(by_name.map_areas.sort_index(),
                                   in_order.map_areas.sort_index())
    assert by_name.area_estimates()["map_area"].tolist() == [30.0, 70.0]


def test_per_class_table_and_display_by_hand():
    """[[8, 2], [1, 9]] (rows map): map totals 10, 10; reference totals 9, 11; producer's
    accuracy of land 9 / 11 = 0.818 (three decimals in the display)."""
    rep = AccuracyReport.from_confusion_matrix([[8, 2], [1, 9]], ["water", "land"])
    table = rep.per_class()
    assert table["n_map"].tolist() == [10, 10]
    assert table["n_reference"].tolist() == [9, 11]
    np.testing.assert_allclose(table["producers_accuracy"], [8 / 9, 9 / 11])
    np.testing.assert_allclose(table["users_accuracy"], [0.8, 0.9])
    np.testing.assert_allclose(table["f1"], [16 / 19, 18 / 21])
    for text in (repr(rep), rep._repr_html_()):
        assert "0.818" in text and "0.8182" not in text
        assert "kappa 0.7000" in text  # (0.85 - 0.5) / (1 - 0.5)
    assert rep.n_excluded == 0 and "none excluded" in repr(rep)
    with pytest.raises(dataclasses.FrozenInstanceError):  # a value object
        rep.counts = np.eye(2, dtype=np.int64)
    counted = AccuracyReport(counts=rep.counts, class_values=(1, 2), class_names=("w", "l"),
                             excluded={"outside": 2, "nodata": 0, "unlabelled": 3})
    assert counted.n_excluded == 5
    assert "5 excluded: 2 outside, 3 unlabelled" in repr(counted)


def test_area_estimates_parameters_and_intervals():
    """confidence in the open interval (0, 1), z > 0; the interval is estimate -/+ z SE (the
    paper's deforestation 21,158 +/- 6,158 ha: 15,000 to 27,316 ha); map areas may be shares
    (summing to 1) or a mapping leaving a class out (area 0); the unit reported is the one given."""
    rep = AccuracyReport.from_confusion_matrix(OLOFSSON_COUNTS, OLOFSSON_NAMES)
    for confidence in (0.0, 1.0, -0.5):
        with pytest.raises(InvalidParameterError, match="confidence must be in"):
            rep.area_estimates(confidence=confidence, map_areas=OLOFSSON_PIXELS)
    for z in (0.0, -1.96):
        with pytest.raises(InvalidParameterError, match="z must be positive"):
            rep.area_estimates(map_areas=OLOFSSON_PIXELS, z=z)
    est = rep.area_estimates(map_areas=OLOFSSON_PIXELS, z=1.96)
    ha = est * 0.09
    assert ha.loc["deforestation", "area_lower"] == pytest.approx(15_000, abs=1)
    assert ha.loc["deforestation", "area_upper"] == pytest.approx(27_316, abs=1)  # rounded sum
    np.testing.assert_allclose(est["area_lower"], est["area"] - est["area_ci"], rtol=1e-12)
    np.testing.assert_allclose(est["area_upper"], est["area"] + est["area_ci"], rtol=1e-12)
    half = rep.area_estimates(map_areas=OLOFSSON_PIXELS, z=0.5)  # any positive z, even < 1
    np.testing.assert_allclose(half["area_ci"], 0.5 * half["area_se"], rtol=1e-12)
    assert rep.area_estimates(confidence=0.6827, map_areas=OLOFSSON_PIXELS).attrs["z"] == (
        pytest.approx(1.0, abs=1e-3))
    assert est.attrs["unit"] == "as given"
    assert rep.area_estimates(map_areas=OLOFSSON_PIXELS, unit="km2").attrs["unit"] == "km2"
    shares = rep.area_estimates(map_areas=np.array(OLOFSSON_PIXELS) / sum(OLOFSSON_PIXELS))
    np.testing.assert_allclose(shares["area_proportion"], est["area_proportion"], rtol=1e-12)
    np.testing.assert_allclose(shares["area"], shares["area_proportion"], rtol=1e-12)
    two = AccuracyReport.from_confusion_matrix([[5, 1], [0, 4]], ["a", "b"])
    assert two.area_estimates(map_areas={"a": 10.0})["map_area"].tolist() == [10.0, 0.0]
    with pytest.raises(InvalidParameterError, match="sum to zero"):
        two.area_estimates(map_areas=[0.0, 0.0])
    # a negative or missing area is refused, not turned into negative shares
    for bad in ([-5.0, 20.0], [np.nan, 20.0], [np.inf, 20.0]):
        with pytest.raises(InvalidParameterError, match=r"map_areas must be finite and >= 0 "
                                                        r"\(.*\), got \{'a': "):
            two.area_estimates(map_areas=bad)
    no_row = AccuracyReport.from_confusion_matrix([[5, 1], [0, 0]])
    with pytest.raises(InvalidParameterError, match="finite and >= 0"):
        no_row.area_estimates(map_areas=[10.0, -1.0])  # even on a row without samples
    # a mapped class without samples is refused however small its area
    only_ref = AccuracyReport.from_confusion_matrix([[5, 1, 2], [0, 4, 0], [0, 0, 0]])
    with pytest.raises(SamplesError, match=r"classes \['2'\] have mapped area but no sample"):
        only_ref.area_estimates(map_areas=[60.0, 40.0, 0.5])
    # the message names the classes with area, not those of the reference only (area 0)
    four = AccuracyReport.from_confusion_matrix([[5, 1, 1, 0], [0, 4, 0, 0], [0] * 4, [0] * 4])
    with pytest.raises(SamplesError, match=r"classes \['3'\] have mapped area but no sample"):
        four.area_estimates(map_areas=[60.0, 40.0, 0.0, 3.0])


def test_a_stratum_of_zero_mapped_area_adds_no_variance():
    """A map class given area 0 has weight W = 0: its row adds nothing to the area, overall
    and producer's variances (eqs. 5, 7 and 10 multiply by W), even with a single sample,
    where 1 / (n - 1) is undefined. Here its reference column is estimated from the other rows
    only: producer's accuracy 0 / 0.08 = 0, variance 0. Its user's accuracy, 1 of 1, has the
    variance of one sample: undefined (NaN), as for a stratum of any weight."""
    rep = AccuracyReport.from_confusion_matrix([[5, 1, 0], [0, 4, 1], [0, 0, 1]], ["a", "b", "c"])
    est = rep.area_estimates(map_areas=[60.0, 40.0, 0.0])
    assert est.loc["c", "area_proportion"] == pytest.approx(0.4 * 1 / 5)
    assert est.loc["c", "producers_accuracy"] == 0.0
    assert est.loc["c", "producers_accuracy_se"] == 0.0
    assert est.loc["c", "users_accuracy"] == 1.0
    assert np.isnan(est.loc["c", "users_accuracy_se"])
    weighted = rep.area_estimates(map_areas=[60.0, 40.0, 5.0])
    assert np.isnan(weighted.loc["c", "users_accuracy_se"])  # one sample: the same
    # with map area, the single sample's unknown variance enters every sum: all undefined
    assert np.isnan(weighted["area_se"]).all() and np.isnan(weighted["producers_accuracy_se"]).all()
    assert np.isnan(weighted.attrs["overall_accuracy_se"])
    assert np.isfinite(est["area_se"]).all()
    # at weight 0: the overall variance sums the strata of a and b, W^2 U (1 - U) / (n - 1)
    assert est.attrs["overall_accuracy_se"] == pytest.approx(
        np.sqrt(0.6**2 * 5 / 6 * 1 / 6 / 5 + 0.4**2 * 4 / 5 * 1 / 5 / 4), rel=1e-12)
    # a class of the reference only (no row, area 0): producer's accuracy 0 (its column's
    # estimated area 0.08 holds none of p_jj = 0), known exactly: standard error 0, not NaN
    only_ref = AccuracyReport.from_confusion_matrix([[5, 1, 0], [0, 4, 1], [0, 0, 0]],
                                                    ["a", "b", "c"])
    est = only_ref.area_estimates(map_areas=[60.0, 40.0, 0.0])
    assert est.loc["c", "producers_accuracy"] == 0.0
    assert est.loc["c", "producers_accuracy_se"] == 0.0
    assert np.isnan(est.loc["c", "users_accuracy"])  # never mapped
    assert np.isfinite(est.attrs["overall_accuracy_se"])  # its stratum adds 0, not 0 * NaN
    # a class that every reference sample has (estimated area 1): producer's accuracy its
    # mapped share, 1 / 2, and no sample could vary it: standard error 0
    everywhere = AccuracyReport.from_confusion_matrix([[3, 0], [2, 0]], ["a", "b"])
    est = everywhere.area_estimates(map_areas=[1.0, 1.0])
    assert est.loc["a", "area_proportion"] == 1.0
    assert est.loc["a", "producers_accuracy"] == 0.5
    assert est.loc["a", "producers_accuracy_se"] == 0.0
    assert np.isnan(est.loc["b", "producers_accuracy"])  # no estimated area: undefined
    assert np.isnan(est.loc["b", "producers_accuracy_se"])


def test_undefined_statistics_are_nan_without_numpy_warnings():
    """Empty rows and columns, single samples and weight-0 strata give NaN (or 0) where a
    statistic is undefined (or known exactly), quietly: no division by zero reaches NumPy
    (a RuntimeWarning in the user's notebook), and every column is computed, not just those
    before the first undefined one."""
    cases = [
        ([[0, 3], [0, 2]], [1.0, 1.0]),  # a reference class no sample has, first
        ([[5, 1, 0], [0, 4, 1], [0, 0, 1]], [60.0, 40.0, 5.0]),  # a single-sample stratum
        ([[5, 1, 0], [0, 4, 1], [0, 0, 0]], [60.0, 40.0, 0.0]),  # a class of the reference only
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = [AccuracyReport.from_confusion_matrix(c).area_estimates(map_areas=a)
                   for c, a in cases]
        for c, _ in cases:
            AccuracyReport.from_confusion_matrix(c).per_class()
    first = results[0]
    assert np.isnan(first.loc["0", "producers_accuracy"])  # no estimated area
    assert np.isnan(first.loc["0", "producers_accuracy_se"])
    assert first.loc["1", "producers_accuracy"] == 0.5  # the class after it is computed
    assert first.loc["1", "producers_accuracy_se"] == 0.0


def test_users_accuracy_variance_does_not_depend_on_the_strata_weights():
    """Olofsson et al. (2014) eq. 6: V(U_i) = U_i (1 - U_i) / (n_i. - 1), from the stratum's
    own samples; a class given map area 0 (weight 0) is no exception (its user's accuracy
    3 of 4 has standard error sqrt(0.75 * 0.25 / 3) = 0.25, not 0)."""
    rep = AccuracyReport.from_confusion_matrix([[5, 1, 0], [0, 4, 1], [0, 1, 3]], ["a", "b", "c"])
    for areas in ([60.0, 40.0, 0.0], [60.0, 40.0, 1e-9], [1.0, 1.0, 1.0]):
        est = rep.area_estimates(map_areas=areas)
        np.testing.assert_allclose(est["users_accuracy"], [5 / 6, 4 / 5, 3 / 4])
        np.testing.assert_allclose(est["users_accuracy_se"], np.sqrt(
            [5 / 6 * 1 / 6 / 5, 4 / 5 * 1 / 5 / 4, 3 / 4 * 1 / 4 / 3]), rtol=1e-12)
