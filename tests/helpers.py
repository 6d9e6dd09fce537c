"""Helpers shared by the tests (importable: ``tests`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

import itertools
import threading
import warnings

import xr_landcover


def quiet_train(*args, **kwargs):
    """``xr_landcover.train`` without its UserWarnings (the NC sample's 'agriculture' polygon
    lies on nodata, so that class is dropped with a warning the tests do not check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return xr_landcover.train(*args, **kwargs)


def fail_on_third_block(exception: BaseException):
    """A ``map_blocks`` function that passes blocks through and raises ``exception`` on the third
    real block it sees (thread-safe count), to interrupt a write part-way."""
    counter = itertools.count(1)
    lock = threading.Lock()

    def block_function(block):
        if block.size == 0:  # dask probes the function with empty blocks for metadata
            return block
        with lock:
            n = next(counter)
        if n == 3:
            raise exception
        return block

    return block_function
