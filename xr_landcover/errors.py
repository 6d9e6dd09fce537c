"""Errors raised by xr_landcover.

Every error derives from :class:`LandcoverError`, and also from the built-in exception a Python
user would naturally catch (``ValueError``, ``TypeError``, ``FileNotFoundError``...), so both
``except LandcoverError`` and ``except ValueError`` work.  Messages say what was found, what was
expected and, where there is one, how to fix it.
"""

from __future__ import annotations

__all__ = [
    "LandcoverError",
    "InvalidParameterError",
    "InvalidInputTypeError",
    "RasterFileNotFoundError",
    "RasterReadError",
    "GridMismatchError",
    "MissingCRSError",
    "DimensionError",
    "BandMismatchError",
    "SamplesError",
    "NoSamplesError",
    "ModelFileError",
    "ModelFileNotFoundError",
    "OutputExistsError",
    "OutputNotWritableError",
    "DiskFullError",
    "STACError",
]


class LandcoverError(Exception):
    """Base class of every error raised on purpose by xr_landcover."""


class InvalidParameterError(LandcoverError, ValueError):
    """A parameter has a value outside its accepted range or set."""


class InvalidInputTypeError(LandcoverError, TypeError):
    """An argument has the wrong type (for example a NumPy array where a DataArray is needed)."""


class RasterFileNotFoundError(LandcoverError, FileNotFoundError):
    """A raster (or vector) file that was asked for does not exist."""


class RasterReadError(LandcoverError, OSError):
    """A file exists but cannot be read as a raster (not a raster, truncated, corrupt)."""


class GridMismatchError(LandcoverError, ValueError):
    """Rasters that must share one pixel grid (CRS, transform, shape) do not."""


class MissingCRSError(LandcoverError, ValueError):
    """A raster or a set of geometries has no coordinate reference system."""


class DimensionError(LandcoverError, ValueError):
    """An array does not have the dimensions expected (``band``, ``y``, ``x``)."""


class BandMismatchError(LandcoverError, ValueError):
    """The bands of a cube do not match what a model was trained on."""


class SamplesError(LandcoverError, ValueError):
    """Training or reference samples are unusable (bad geometry, bad class field...)."""


class NoSamplesError(SamplesError):
    """No usable sample pixel was found (all outside the image or on nodata)."""


class ModelFileError(LandcoverError, ValueError):
    """A model file is missing, corrupt, of an unknown version, or holds untrusted content."""


class ModelFileNotFoundError(ModelFileError, FileNotFoundError):
    """A model file that was asked for does not exist."""


class OutputExistsError(LandcoverError, FileExistsError):
    """An output file already exists and ``overwrite=True`` was not given."""


class OutputNotWritableError(LandcoverError, PermissionError):
    """An output cannot be created where asked (read-only folder or file system, a file where
    a folder is expected)."""


class DiskFullError(LandcoverError, OSError):
    """An output ran out of disk space part-way (``errno`` is ``ENOSPC``); the message names the
    disk and the path, and the old output, if any, is left as it was."""


class STACError(LandcoverError, ValueError):
    """A STAC catalog, collection or item list cannot give the requested cube."""
