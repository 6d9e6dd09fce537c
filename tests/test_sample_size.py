"""Tests of xr_landcover.assessment.sample_sizing: sample_size() against eq. 13 of Olofsson
et al. (2014) and its worked example, the allocations, and the hand-over to accuracy_points."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import synthetic_class_map

from xr_landcover import accuracy_points, sample_size
from xr_landcover.errors import InvalidInputTypeError, InvalidParameterError

# Olofsson et al. (2014), section 5.1.2: mapped shares and expected user's accuracies
W = {"deforestation": 0.02, "forest gain": 0.015, "stable forest": 0.32,
     "stable non-forest": 0.645}
U = {"deforestation": 0.7, "forest gain": 0.6, "stable forest": 0.9, "stable non-forest": 0.95}


def eq13(w, u, s_o):
    return (sum(wi * math.sqrt(ui * (1 - ui)) for wi, ui in zip(w, u)) / s_o) ** 2


def test_paper_example_total():
    size = sample_size(W, expected_user_accuracy=U, target_standard_error=0.01,
                       rare_class_minimum=0)
    expected = eq13(W.values(), U.values(), 0.01)
    assert size.n_formula == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(640.536, abs=1e-3)  # the paper rounds up to 641
    assert size.n == 641
    # proportional allocation: W_i * 641, largest remainders
    assert size.allocation == {"deforestation": 13, "forest gain": 10, "stable forest": 205,
                               "stable non-forest": 413}
    assert sum(size.allocation.values()) == 641


def test_neyman_allocation_reaches_the_target():
    # eq. 13 is the total of the optimal allocation n_i ~ W_i S_i: its expected standard
    # error of the overall accuracy is the target (n_i - 1 in the variance: a hair above)
    size = sample_size(W, expected_user_accuracy=U, allocation="neyman", rare_class_minimum=0)
    assert size.overall_accuracy_se == pytest.approx(0.01, rel=0.02)
    assert size.overall_accuracy_se >= 0.01
    w = np.array(list(W.values()))
    u = np.array(list(U.values()))
    n_i = size.table["n"].to_numpy()
    by_hand = math.sqrt(np.sum(w**2 * u * (1 - u) / (n_i - 1)))
    assert size.overall_accuracy_se == pytest.approx(by_hand, rel=1e-12)
    proportional = sample_size(W, expected_user_accuracy=U, rare_class_minimum=0)
    assert proportional.overall_accuracy_se > size.overall_accuracy_se


def test_rare_class_minimum_keeps_the_total():
    size = sample_size(W, expected_user_accuracy=U, rare_class_minimum=75)
    assert list(size.allocation.values()) == [75, 75, 163, 328]  # 491 shared 0.32 : 0.645
    assert size.n == 641
    se = size.table["users_accuracy_se"]
    assert se["deforestation"] == pytest.approx(math.sqrt(0.7 * 0.3 / 74))


def test_minimum_cascades_to_classes_pushed_below_it():
    # after the two rare classes take 100 each, the third's share falls below 100 too
    size = sample_size({"a": 0.01, "b": 0.01, "c": 0.15, "d": 0.83}, target_standard_error=0.02,
                       rare_class_minimum=100)
    assert size.n == math.ceil(eq13([0.01, 0.01, 0.15, 0.83], [0.75] * 4, 0.02))
    alloc = size.allocation
    assert alloc["a"] == alloc["b"] == alloc["c"] == 100
    assert sum(alloc.values()) == size.n


def test_minimums_above_the_total_raise_it_with_a_warning():
    with pytest.warns(UserWarning, match="rare_class_minimum=100 .* needs 400 points"):
        size = sample_size(W, target_standard_error=0.05, rare_class_minimum=100)
    assert size.n == 400 and set(size.allocation.values()) == {100}


def test_equal_and_given_allocations():
    equal = sample_size(W, expected_user_accuracy=U, allocation="equal")
    assert list(equal.allocation.values()) == [161, 160, 160, 160]
    given = sample_size(W, expected_user_accuracy=U,
                        allocation={"deforestation": 100, "forest gain": 100,
                                    "stable forest": 200, "stable non-forest": 300})
    assert given.n == 700
    table = given.compare_allocations()
    assert list(table.index) == ["proportional", "minimum 50", "minimum 75", "minimum 100",
                                 "equal"]
    assert (table[list(W)].sum(axis=1) == 700).all()
    assert table.loc["minimum 75", "se deforestation"] == pytest.approx(math.sqrt(0.21 / 74))


def test_class_map_feeds_accuracy_points():
    data = np.ones((40, 50), dtype="uint8")
    data[:4, :] = 2            # 10 %
    data[4:6, :10] = 3         # 1 %
    data[-1, :] = 0            # nodata, left out of the shares
    classes = synthetic_class_map(data, chunks={"y": 13, "x": 17})
    size = sample_size(classes, target_standard_error=0.03, rare_class_minimum=20)
    pixels = np.array([(data == v).sum() for v in (1, 2, 3)])
    w = pixels / pixels.sum()
    assert size.n == math.ceil(eq13(w, [0.75] * 3, 0.03))
    assert set(size.allocation) == {1, 2, 3} and size.allocation[3] == 20
    points = accuracy_points(classes, allocation=size.allocation, random_state=0)
    got = points["Classified"].value_counts().to_dict()
    assert got == size.allocation
    # names work as keys too; n must agree with the mapping
    by_name = {f"class_{k}": v for k, v in size.allocation.items()}
    assert len(accuracy_points(classes, allocation=by_name, random_state=0)) == size.n
    with pytest.raises(InvalidParameterError, match="n=5 but allocation holds"):
        accuracy_points(classes, n=5, allocation=size.allocation)
    with pytest.raises(InvalidParameterError, match="does not hold: \\['9'\\]"):
        accuracy_points(classes, allocation={9: 3})


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"expected_user_accuracy": 0}, InvalidParameterError, "expected_user_accuracy"),
        ({"expected_user_accuracy": 1.2}, InvalidParameterError, "expected_user_accuracy"),
        ({"expected_user_accuracy": {"deforestation": 0.7}}, InvalidParameterError,
         "missing: \\['forest gain'"),
        ({"target_standard_error": 0}, InvalidParameterError, "target_standard_error"),
        ({"target_standard_error": 1.0}, InvalidParameterError, "target_standard_error"),
        ({"allocation": "optimal"}, InvalidParameterError, "allocation must be"),
        ({"allocation": {"deforestation": 1.5, "forest gain": 1, "stable forest": 1,
                         "stable non-forest": 1}}, InvalidParameterError, "whole numbers"),
        ({"rare_class_minimum": -1}, InvalidParameterError, "rare_class_minimum"),
        ({"rare_class_minimum": 2.5}, InvalidParameterError, "rare_class_minimum"),
    ],
)
def test_bad_arguments_name_them(kwargs, error, match):
    with pytest.raises(error, match=match):
        sample_size(W, **kwargs)


def test_bad_classes():
    with pytest.raises(InvalidInputTypeError, match="classes must be a class map"):
        sample_size([0.5, 0.5])
    with pytest.raises(InvalidParameterError, match="sum to zero"):
        sample_size({"a": 0, "b": 0})
