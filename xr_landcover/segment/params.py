"""Segmentation parameters: validation, and the ArcGIS detail -> bandwidth mapping.

Holds :class:`SegmentParameters` (the resolved parameters, also written into the outputs'
``attrs``), :func:`resolve_parameters` (checks every user parameter once and maps ArcGIS's
``spectral_detail``/``spatial_detail`` to bandwidths, ``radius = 22 - detail``) with the
package's numeric checks (``xr_landcover._validate.check_number``). Pure Python and numpy:
nothing here builds a dask graph.

See Also
--------
xr_landcover.segment.segmentation.segment : the public function these parameters drive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .._validate import (
    DEFAULT_MIN_SEGMENT_SIZE,
    DEFAULT_SPATIAL_DETAIL,
    DEFAULT_SPECTRAL_DETAIL,
    check_number,
)
from ..errors import InvalidParameterError

__all__ = ["SegmentParameters", "resolve_parameters", "LINK_FRACTION", "FUSE_FRACTION"]

_KERNELS = ("product", "joint")
_COLOR_SPACES = ("luv", "luv_linear", "none")

#: Default ``link_radius`` and ``fuse_radius`` as fractions of ``spectral_radius``, per kernel.
#: ``"joint"``: Orfeo ToolBox's ``LSMSSegmentation`` rule (link at ``h_r / 2``, no fusion),
#: kept bit-exact for OTB parity. ``"product"`` (the default kernel): link only pixels that
#: reached (nearly) the same mode (``h_r / 16``), then fuse adjacent segments whose modes are
#: closer than ``3 h_r / 8`` (:mod:`.fuse`). Linking at ``h_r / 2`` chains along the blurred
#: rims of faint fields and fuses them with their surroundings; the fractions come from a sweep
#: on the generators of ``tests/pivots.py`` (*Segmentation* page, "Linking and fusion").
LINK_FRACTION = {"joint": 0.5, "product": 1.0 / 16.0}
FUSE_FRACTION = {"joint": 0.0, "product": 3.0 / 8.0}


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
    link_radius: float
    fuse_radius: float

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


def resolve_parameters(
    n_bands: int,
    *,
    spectral_detail: float = DEFAULT_SPECTRAL_DETAIL,
    spatial_detail: float = DEFAULT_SPATIAL_DETAIL,
    min_segment_size: int = DEFAULT_MIN_SEGMENT_SIZE,
    max_segment_size: int | None = None,
    spectral_radius: float | None = None,
    spatial_radius: float | None = None,
    color_space: str | None = None,
    kernel: str = "product",
    maxiter: int = 10,
    threshold: float = 0.1,
    stretch: Sequence[float] | None = (2.0, 98.0),
    link_radius: float | None = None,
    fuse_radius: float | None = None,
) -> SegmentParameters:
    """Validate the user's parameters and turn ArcGIS details into bandwidths.

    ``radius = 22 - detail`` for both (ArcGIS's documented mapping); an explicit
    ``spectral_radius``/``spatial_radius`` wins. ``link_radius`` (the distance of filtered
    values under which 4-neighbours join) and ``fuse_radius`` (adjacent segments whose mean
    filtered values are closer fuse; 0: none) default to :data:`LINK_FRACTION` and
    :data:`FUSE_FRACTION` of ``spectral_radius`` for the kernel.

    Examples
    --------
    >>> p = resolve_parameters(3)
    >>> p.spatial_radius, p.spectral_radius, p.color_space, p.kernel, p.link_radius
    (7.0, 6.5, 'luv', 'product', 0.40625)
    >>> p.fuse_radius, resolve_parameters(3, kernel="joint").link_radius
    (2.4375, 3.25)
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
    if color_space in ("luv", "luv_linear") and n_bands != 3:
        raise InvalidParameterError(
            f"color_space={color_space!r} needs exactly 3 bands (red, green, blue); got {n_bands}. "
            "Use color_space='none' for other band counts"
        )
    if kernel not in _KERNELS:
        raise InvalidParameterError(f"kernel must be one of {_KERNELS}; got {kernel!r}")
    if link_radius is None:
        link_radius = float(spectral_radius) * LINK_FRACTION[kernel]
    else:
        check_number("link_radius", link_radius, 0, low_open=True)
    if fuse_radius is None:
        fuse_radius = float(spectral_radius) * FUSE_FRACTION[kernel]
    else:
        check_number("fuse_radius", fuse_radius, 0)
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
        link_radius=float(link_radius),
        fuse_radius=float(fuse_radius),
    )
