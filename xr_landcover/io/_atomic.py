"""Atomic writes: a file or a directory store appears at its path complete, or not at all.

Every writer stages its output under a hidden name in the target's own folder (so the final
:func:`os.replace` is atomic and never crosses file systems) and renames it onto the target
only once it is complete. An exception or a ``KeyboardInterrupt`` part-way removes what was
staged and leaves an existing target as it was. Every staged path is named by one scheme,
:func:`staging_name`::

    .<target name>.<token><suffix>

with a fresh random token per write (so concurrent writers never collide) and a suffix that
says the path's role: ``.tmp`` (the new file or store being written, :data:`STAGING_SUFFIX`),
``.old`` (a store being replaced, moved aside until the new one is in place,
:data:`OLD_SUFFIX`), ``.stage`` (scratch data that never becomes the target, such as
:func:`~xr_landcover.io.geotiff.to_geotiff`'s uncompressed stage, :data:`SCRATCH_SUFFIX`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import OutputExistsError, OutputNotWritableError
from ._paths import PathLike, check_output_path

__all__ = [
    "OLD_SUFFIX",
    "SCRATCH_SUFFIX",
    "STAGING_SUFFIX",
    "atomic_directory",
    "atomic_file",
    "new_token",
    "scratch_path",
    "staging_name",
]

#: Suffix of the new file or store while it is written.
STAGING_SUFFIX = ".tmp"
#: Suffix of an existing store moved aside while the new one is renamed into place.
OLD_SUFFIX = ".old"
#: Suffix of scratch data written beside a target that never becomes the target.
SCRATCH_SUFFIX = ".stage"


def new_token() -> str:
    """A fresh random token (12 hex digits) for the staging names of one write.

    Examples
    --------
    >>> token = new_token()
    >>> len(token), int(token, 16) >= 0, token != new_token()
    (12, True, True)
    """
    return uuid.uuid4().hex[:12]


def staging_name(path: PathLike, token: str, suffix: str = STAGING_SUFFIX) -> Path:
    """The hidden path beside ``path`` that stages it: ``.<name>.<token><suffix>``.

    Parameters
    ----------
    path : str or path
        The target file or store.
    token : str
        The write's token (:func:`new_token`).
    suffix : str, default ".tmp"
        The staged path's role: :data:`STAGING_SUFFIX`, :data:`OLD_SUFFIX` or
        :data:`SCRATCH_SUFFIX`.

    Returns
    -------
    pathlib.Path
        In the folder of ``path``, so that renaming it onto ``path`` is atomic.

    Examples
    --------
    >>> staging_name("out/classes.tif", "0123456789ab").as_posix()
    'out/.classes.tif.0123456789ab.tmp'
    >>> staging_name("out/classes.zarr", "0123456789ab", OLD_SUFFIX).as_posix()
    'out/.classes.zarr.0123456789ab.old'
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{token}{suffix}")


def _remove(path: Path) -> None:
    """Delete a staged file or folder, if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_file(path: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Write a file atomically: yield a staging path to write, then rename it onto ``path``.

    The caller writes the complete file at the staging path (with any writer that takes a path:
    rasterio, skops, :meth:`pathlib.Path.write_bytes`...). When the ``with`` block ends without
    error, the staging file replaces ``path`` in one :func:`os.replace`. When it raises
    (``KeyboardInterrupt`` included), the staging file is removed, an existing ``path`` is left
    byte-identical, and the exception propagates.

    Parameters
    ----------
    path : str or path
        The file to write; its folder must exist.
    overwrite : bool, default False
        Replace an existing file. Checked on entry, before any work, and again just before the
        rename (a file that appeared meanwhile is not overwritten).

    Yields
    ------
    pathlib.Path
        The staging path, ``.<name>.<token>.tmp`` beside ``path`` (:func:`staging_name`); it
        does not exist yet.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    RasterFileNotFoundError
        The folder does not exist.
    OutputNotWritableError
        The "folder" is a file.
    FileNotFoundError
        The ``with`` block ended without writing the staging file.

    See Also
    --------
    atomic_directory : the same for a directory store.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "model.skops"
    >>> with atomic_file(target) as staging:
    ...     _ = staging.write_bytes(b"first")
    >>> target.read_bytes()
    b'first'
    >>> with atomic_file(target, overwrite=True) as staging:
    ...     _ = staging.write_bytes(b"half")
    ...     raise RuntimeError("disk on fire")
    Traceback (most recent call last):
    RuntimeError: disk on fire
    >>> target.read_bytes(), [p.name for p in target.parent.iterdir()]
    (b'first', ['model.skops'])
    """
    path = check_output_path(path, overwrite)
    staging = staging_name(path, new_token())
    try:
        yield staging
        if not staging.exists():
            raise FileNotFoundError(f"nothing was written to the staging file of '{path}'")
        if not overwrite and os.path.lexists(path):
            raise OutputExistsError(f"'{path}' exists; pass overwrite=True to replace it")
        os.replace(staging, path)
    finally:
        _remove(staging)  # gone already after the rename


@contextmanager
def atomic_directory(path: PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Write a directory store (Zarr...) atomically: yield an empty staging folder to fill,
    then rename it onto ``path``.

    When the ``with`` block ends without error, an existing ``path`` is moved aside
    (``.<name>.<token>.old``: a non-empty folder cannot be replaced in one rename), the staging
    folder is renamed to ``path`` and the old store deleted. When the block raises
    (``KeyboardInterrupt`` included), or a rename fails, the staging folder is deleted, an
    existing store is left (or put back) as it was, and the exception propagates.

    Parameters
    ----------
    path : str or path
        The store to write; its parent folder must exist.
    overwrite : bool, default False
        Replace an existing store (or file). Checked on entry and again before the rename.

    Yields
    ------
    pathlib.Path
        The staging folder, ``.<name>.<token>.tmp`` beside ``path``, created empty.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    RasterFileNotFoundError
        The parent folder does not exist.
    OutputNotWritableError
        The parent "folder" is a file, or the staging folder cannot be created in it.

    See Also
    --------
    atomic_file : the same for a single file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = pathlib.Path(tempfile.mkdtemp()) / "classes.zarr"
    >>> with atomic_directory(store) as staging:
    ...     _ = (staging / "chunk").write_text("first")
    >>> with atomic_directory(store, overwrite=True) as staging:
    ...     _ = (staging / "chunk").write_text("second")
    ...     raise RuntimeError("disk on fire")
    Traceback (most recent call last):
    RuntimeError: disk on fire
    >>> (store / "chunk").read_text(), [p.name for p in store.parent.iterdir()]
    ('first', ['classes.zarr'])
    """
    path = check_output_path(path, overwrite)
    token = new_token()
    staging = staging_name(path, token)
    old = staging_name(path, token, OLD_SUFFIX)
    try:
        staging.mkdir()
    except OSError as exc:
        raise OutputNotWritableError(
            f"cannot write '{path}': creating a folder in '{path.parent}' failed "
            f"({exc.strerror}). Is the folder writable?"
        ) from None
    try:
        yield staging
        if os.path.lexists(path):
            if not overwrite:
                raise OutputExistsError(f"'{path}' exists; pass overwrite=True to replace it")
            os.replace(path, old)
        os.replace(staging, path)
    except BaseException:
        _remove(staging)
        if os.path.lexists(old) and not os.path.lexists(path):
            os.replace(old, path)  # put the previous store back
        raise
    _remove(old)


@contextmanager
def scratch_path(beside: PathLike, suffix: str = SCRATCH_SUFFIX) -> Iterator[Path]:
    """A hidden path beside ``beside`` for intermediate data, removed on exit whatever happens.

    For data that never becomes the target (a staging copy that is then converted, as
    :func:`~xr_landcover.io.geotiff.to_geotiff` converts its uncompressed stage): named
    ``.<name>.<token>.stage`` (:func:`staging_name`), in the target's folder so it is on the
    same disk. The caller may delete it early; a file or a folder left there is removed on exit.

    Parameters
    ----------
    beside : str or path
        The target the scratch data serves.
    suffix : str, default ".stage"
        The role, as in :func:`staging_name`.

    Yields
    ------
    pathlib.Path
        The scratch path; it does not exist yet.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "classes.tif"
    >>> with scratch_path(target) as stage:
    ...     _ = stage.write_bytes(b"uncompressed")
    ...     stage.name.startswith(".classes.tif.") and stage.name.endswith(".stage")
    True
    >>> stage.exists()
    False
    """
    scratch = staging_name(beside, new_token(), suffix)
    try:
        yield scratch
    finally:
        _remove(scratch)
