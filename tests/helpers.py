"""Helpers shared by the tests (importable: ``tests`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

import warnings

import xr_landcover


def quiet_train(*args, **kwargs):
    """``xr_landcover.train`` without its UserWarnings (the NC sample's 'agriculture' polygon
    lies on nodata, so that class is dropped with a warning the tests do not check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return xr_landcover.train(*args, **kwargs)
