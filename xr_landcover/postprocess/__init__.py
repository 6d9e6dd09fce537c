"""Post-classification: clean-up of class maps (majority filter, minimum mapping unit)."""

from __future__ import annotations

from .majority import majority_filter

__all__ = ["majority_filter"]
