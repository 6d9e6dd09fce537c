"""Path checks shared by the readers and writers of :mod:`xr_landcover.io`.

``PathLike`` is the type of every path argument; :func:`check_raster_path` vets an input
file and :func:`check_output_path` an output file or store, each with an error that says what
is wrong (``LandcoverModel.save`` uses the output check too).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import (
    OutputExistsError,
    OutputNotWritableError,
    RasterFileNotFoundError,
    RasterReadError,
)

__all__ = ["PathLike", "check_output_path", "check_raster_path"]

PathLike = str | os.PathLike


def check_raster_path(path: PathLike) -> Path:
    """``path`` as a Path, once it is an existing file; else a clear error.

    Raises
    ------
    RasterFileNotFoundError
        ``path`` does not exist.
    RasterReadError
        ``path`` is a folder.
    """
    path = Path(path)
    if not path.exists():
        raise RasterFileNotFoundError(f"raster file not found: '{path}'")
    if path.is_dir():
        raise RasterReadError(f"'{path}' is a folder, not a raster file")
    return path


def check_output_path(path: PathLike, overwrite: bool) -> Path:
    """``path`` as a Path, once its folder exists and it may be (over)written; else a clear error.

    Raises
    ------
    RasterFileNotFoundError
        The folder does not exist.
    OutputNotWritableError
        The "folder" is a file.
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    path = Path(path)
    if not path.parent.exists():
        raise RasterFileNotFoundError(f"the output folder '{path.parent}' does not exist")
    if not path.parent.is_dir():
        raise OutputNotWritableError(
            f"cannot write '{path}': '{path.parent}' is a file, not a folder"
        )
    if path.exists() and not overwrite:
        raise OutputExistsError(f"'{path}' exists; pass overwrite=True to replace it")
    return path
