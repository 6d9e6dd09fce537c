"""Mean-shift segmentation without seams: lazy, chunk-exact, ids independent of the chunking.

Steps, one module each: :mod:`.params` (parameter checks, ArcGIS details -> bandwidths),
:mod:`.prepare` (band choice, nodata, 8-bit stretch, colour space), :mod:`.band_order`
(red, green, blue by name for L*u*v*), :mod:`.segmentation`
(:func:`segment`, :func:`mean_shift_filter` and the dask driver),
:mod:`.kernels` (numba), :mod:`.tiles` (overlap driver with the stability margin),
:mod:`.labels` (global ids across chunks), :mod:`.merge` (small-region merging),
:mod:`.split` (``max_segment_size``), :mod:`.mean` and :mod:`.polygons` (outputs),
:mod:`.attributes` (per-segment statistics).
"""

from __future__ import annotations

from .attributes import segment_attributes
from .mean import segment_mean
from .params import SegmentParameters, resolve_parameters
from .polygons import segments_to_polygons
from .segmentation import mean_shift_filter, segment

__all__ = [
    "segment",
    "mean_shift_filter",
    "segment_mean",
    "segment_attributes",
    "segments_to_polygons",
    "resolve_parameters",
    "SegmentParameters",
]
