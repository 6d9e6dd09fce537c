"""Path checks shared by the readers and writers of :mod:`xr_landcover.io`.

``PathLike`` is the type of every path argument; :func:`check_raster_path` vets an input
file and :func:`check_output_path` an output file or store, each with an error that says what
is wrong (``LandcoverModel.save`` uses the output check too).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import (
    InvalidInputTypeError,
    InvalidParameterError,
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


def check_output_path(path: PathLike, overwrite: bool, *, name: str = "path",
                      kind: str = "file") -> Path:
    """``path`` as a Path, once its folder exists and it may be (over)written; else a clear error.

    Parameters
    ----------
    path : str or path
        The output.
    overwrite : bool
        Whether an existing output may be replaced.
    name : str, default "path"
        The argument's name, for the messages.
    kind : {"file", "store"}, default "file"
        What is written: a file (an existing folder at ``path`` is refused whatever
        ``overwrite`` says: a file never replaces a folder) or a directory store (whether an
        existing folder may be replaced is the writer's to check).

    Raises
    ------
    InvalidInputTypeError
        ``path`` is not a str or path (``None``...).
    InvalidParameterError
        ``path`` is empty.
    RasterFileNotFoundError
        The folder does not exist.
    OutputNotWritableError
        The "folder" is a file.
    OutputExistsError
        ``path`` exists and ``overwrite`` is False, or ``kind`` is "file" and ``path`` is a
        folder.

    Examples
    --------
    >>> check_output_path("", overwrite=True)
    Traceback (most recent call last):
    ...
    xr_landcover.errors.InvalidParameterError: path is empty: give the output file's name, ...
    >>> check_output_path(None, overwrite=True, name="store")
    Traceback (most recent call last):
    ...
    xr_landcover.errors.InvalidInputTypeError: store must be a file path (...); got None
    """
    if not isinstance(path, str | os.PathLike):
        raise InvalidInputTypeError(
            f"{name} must be a file path (str or pathlib.Path); got {path!r}")
    if not os.fspath(path):
        example = "landcover.zarr" if kind == "store" else "landcover.tif"
        raise InvalidParameterError(
            f"{name} is empty: give the output {'store' if kind == 'store' else 'file'}'s name, "
            f"e.g. '{example}'")
    path = Path(path)
    if not path.parent.exists():
        raise RasterFileNotFoundError(f"the output folder '{path.parent}' does not exist")
    if not path.parent.is_dir():
        raise OutputNotWritableError(
            f"cannot write '{path}': '{path.parent}' is a file, not a folder"
        )
    if kind == "file" and path.is_dir():
        raise OutputExistsError(
            f"'{path}' is a folder, and a file never replaces a folder (whatever overwrite "
            f"says): give a file name, e.g. '{path / 'landcover.tif'}', or remove the folder"
        )
    if path.exists() and not overwrite:
        raise OutputExistsError(f"'{path}' exists; pass overwrite=True to replace it")
    return path
