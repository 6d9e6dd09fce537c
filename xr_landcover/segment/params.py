"""Segmentation parameters: validation, and the ArcGIS detail -> bandwidth mapping.

Holds :class:`SegmentParameters` (the resolved parameters, also written into the outputs'
``attrs``), :func:`resolve_parameters` (checks every user parameter once and maps ArcGIS's
``spectral_detail``/``spatial_detail`` to bandwidths, ``radius = 22 - detail``) and
:func:`check_number`, the numeric check behind it. Pure Python and numpy: nothing here builds a
dask graph.

See Also
--------
xr_landcover.segment.segmentation.segment : the public function these parameters drive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import InvalidInputTypeError, InvalidParameterError

__all__ = ["SegmentParameters", "resolve_parameters", "check_number"]

_KERNELS = ("product", "joint")
_COLOR_SPACES = ("luv", "none")


@dataclass(frozen=True)
class SegmentParameters:
    """Resolved segmentation parameters (bandwidths in pixels and in value units)."""

    spatial_radius: float
    spectral_radius: float
    min_segment_size: int
    max_segment_size: int | None
    color_space: str
    kernel: str
    maxiter: int
    threshold: float
    stretch: tuple[float, float] | None

    def attrs(self) -> dict:
        """The parameters as netCDF-friendly attributes."""
        out = {}
        for key, value in asdict(self).items():
            if value is None:
                value = "none"
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out


def check_number(name, value, low=None, high=None, *, integer=False, low_open=False):
    """Check that the parameter ``name`` is a finite number (an integer when ``integer``) in range.

    Parameters
    ----------
    name : str
        The parameter's name, as the user spells it (it starts the message).
    value : object
        The value to check; ``bool`` is not a number here.
    low, high : float, optional
        Bounds: ``low <= value <= high`` (``low < value`` when ``low_open``); ``None`` = no bound.
    integer : bool, default False
        Require a whole number (``3.0`` passes, ``2.5`` does not).
    low_open : bool, default False
        Exclude ``low`` itself.

    Raises
    ------
    InvalidInputTypeError
        ``value`` is not a number (a ``TypeError`` too).
    InvalidParameterError
        ``value`` is a number but not finite, not whole when required, or out of range (a
        ``ValueError`` too). The message names the parameter and the accepted range.

    Examples
    --------
    >>> check_number("maxiter", 10, 1, 1000, integer=True)
    >>> check_number("maxiter", 0, 1, 1000, integer=True)
    Traceback (most recent call last):
    ...
    xr_landcover.errors.InvalidParameterError: maxiter must be an integer in [1, 1000]; got 0
    """
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value) == int(value)
    if ok:
        ok = math.isfinite(float(value))
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) <= high
    if not ok:
        kind = "an integer" if integer else "a number"
        if low is not None and high is not None:
            rng = f"in [{low}, {high}]"
        elif low is not None:
            rng = f"> {low}" if low_open else f">= {low}"
        else:
            rng = ""
        message = f"{name} must be {kind} {rng}; got {value!r}".replace("  ", " ")
        if not isinstance(value, int | float | np.integer | np.floating) or isinstance(value, bool):
            raise InvalidInputTypeError(message)  # a wrong type is a TypeError, not a bad value
        raise InvalidParameterError(message)


def resolve_parameters(
    n_bands: int,
    *,
    spectral_detail: float = 15.5,
    spatial_detail: float = 15,
    min_segment_size: int = 20,
    max_segment_size: int | None = None,
    spectral_radius: float | None = None,
    spatial_radius: float | None = None,
    color_space: str | None = None,
    kernel: str = "product",
    maxiter: int = 10,
    threshold: float = 0.1,
    stretch: Sequence[float] | None = (2.0, 98.0),
) -> SegmentParameters:
    """Validate the user's parameters and turn ArcGIS details into bandwidths.

    ``radius = 22 - detail`` for both (ArcGIS's documented mapping); an explicit
    ``spectral_radius``/``spatial_radius`` wins.

    Examples
    --------
    >>> p = resolve_parameters(3)
    >>> p.spatial_radius, p.spectral_radius, p.color_space, p.kernel
    (7.0, 6.5, 'luv', 'product')
    >>> resolve_parameters(3, spectral_detail=25)
    Traceback (most recent call last):
    ...
    xr_landcover.errors.InvalidParameterError: spectral_detail must be a number in [1, 20]; got 25
    """
    check_number("spectral_detail", spectral_detail, 1, 20)
    check_number("spatial_detail", spatial_detail, 1, 20)
    check_number("min_segment_size", min_segment_size, 1, integer=True)
    if max_segment_size is not None:
        check_number("max_segment_size", max_segment_size, 1, integer=True)
        if max_segment_size < min_segment_size:
            raise InvalidParameterError(
                f"max_segment_size ({max_segment_size}) must be >= min_segment_size "
                f"({min_segment_size})"
            )
    if spectral_radius is None:
        spectral_radius = 22.0 - float(spectral_detail)
    else:
        check_number("spectral_radius", spectral_radius, 0, low_open=True)
    if spatial_radius is None:
        spatial_radius = 22.0 - float(spatial_detail)
    else:
        check_number("spatial_radius", spatial_radius, 0, 100, low_open=True)
    if color_space is None:
        color_space = "luv" if n_bands == 3 else "none"
    if color_space not in _COLOR_SPACES:
        raise InvalidParameterError(
            f"color_space must be one of {_COLOR_SPACES}; got {color_space!r}"
        )
    if color_space == "luv" and n_bands != 3:
        raise InvalidParameterError(
            f"color_space='luv' needs exactly 3 bands (red, green, blue); got {n_bands}. "
            "Use color_space='none' for other band counts"
        )
    if kernel not in _KERNELS:
        raise InvalidParameterError(f"kernel must be one of {_KERNELS}; got {kernel!r}")
    check_number("maxiter", maxiter, 1, 1000, integer=True)
    check_number("threshold", threshold, 0, low_open=True)
    if stretch is not None:
        ok = isinstance(stretch, Sequence) and len(stretch) == 2
        if ok:
            try:
                lo, hi = float(stretch[0]), float(stretch[1])
                ok = 0 <= lo < hi <= 100
            except (TypeError, ValueError):
                ok = False
        if not ok:
            raise InvalidParameterError(
                f"stretch must be None or (low, high) percents with 0 <= low < high <= 100; "
                f"got {stretch!r}"
            )
        stretch = (lo, hi)
    return SegmentParameters(
        spatial_radius=float(spatial_radius),
        spectral_radius=float(spectral_radius),
        min_segment_size=int(min_segment_size),
        max_segment_size=None if max_segment_size is None else int(max_segment_size),
        color_space=color_space,
        kernel=kernel,
        maxiter=int(maxiter),
        threshold=float(threshold),
        stretch=stretch,
    )
