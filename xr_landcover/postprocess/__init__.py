"""Post-classification: clean-up of class maps (majority filter, minimum mapping unit)."""

from __future__ import annotations

from .majority import majority_filter
from .sieve import sieve

__all__ = ["majority_filter", "sieve"]
