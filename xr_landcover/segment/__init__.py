"""Mean-shift segmentation without seams: lazy, chunk-exact, ids independent of the chunking.

Steps, one module each: :mod:`.core` (parameters, 8-bit stretch, colour space, assembly),
:mod:`.kernels` (numba), :mod:`.tiles` (overlap driver with the stability margin),
:mod:`.labels` (global ids across chunks), :mod:`.merge` (small-region merging),
:mod:`.split` (``max_segment_size``), :mod:`.mean` and :mod:`.polygons` (outputs),
:mod:`.attributes` (per-segment statistics).
"""

from __future__ import annotations

from .attributes import segment_attributes
from .core import SegmentParameters, mean_shift_filter, resolve_parameters, segment
from .mean import segment_mean
from .polygons import segments_to_polygons

__all__ = [
    "segment",
    "mean_shift_filter",
    "segment_mean",
    "segment_attributes",
    "segments_to_polygons",
    "resolve_parameters",
    "SegmentParameters",
]
