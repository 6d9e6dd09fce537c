"""Atomic writes: a file or a directory store appears at its path complete, or not at all.

Every writer stages its output under a hidden name in the target's own folder (so the final
:func:`os.replace` is atomic and never crosses file systems) and renames it onto the target
only once it is complete. An exception or a ``KeyboardInterrupt`` part-way removes what was
staged and leaves an existing target as it was. Every staged path is named by one scheme,
:func:`staging_name`::

    .<target name>.<token>.<owner><suffix>

with a fresh random token per write (so concurrent writers never collide), the owner
``<pid>@<host>`` (the writing process's id and a tag of its machine, :func:`owner_tag`) and a
suffix that says the path's role: ``.tmp`` (the new file or store being written,
:data:`STAGING_SUFFIX`), ``.old`` (a store being replaced, moved aside until the new one is in
place, :data:`OLD_SUFFIX`), ``.stage`` (scratch data that never becomes the target, such as
:func:`~xr_landcover.io.geotiff.to_geotiff`'s uncompressed stage, :data:`SCRATCH_SUFFIX`).

A process killed outright (SIGKILL, power loss) cannot clean up after itself: its staged paths
stay. The owner makes them recognisable: the next write of the same target removes the staged
paths of that target whose process is gone (:func:`remove_stale_stages`, with a warning), and
puts back a store that was moved aside when the kill came between the two renames. A staged
path whose process still runs, one written on another machine, and every name outside the
scheme are never touched.

A write that runs out of disk space raises :class:`~xr_landcover.errors.DiskFullError`
naming the disk and the path (:func:`reporting_disk_full`), whatever layer (GDAL, Zarr, zip)
failed.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from .._warnings import warn
from ..errors import DiskFullError, LandcoverError, OutputExistsError, OutputNotWritableError
from ._paths import PathLike, check_output_path

__all__ = [
    "OLD_SUFFIX",
    "SCRATCH_SUFFIX",
    "STAGING_SUFFIX",
    "atomic_directory",
    "atomic_file",
    "disk_full_error",
    "host_tag",
    "nearly_full",
    "new_token",
    "owner_alive",
    "owner_tag",
    "remove_stale_stages",
    "reporting_disk_full",
    "scratch_path",
    "stale_stages",
    "staging_name",
]

#: Suffix of the new file or store while it is written.
STAGING_SUFFIX = ".tmp"
#: Suffix of an existing store moved aside while the new one is renamed into place.
OLD_SUFFIX = ".old"
#: Suffix of scratch data written beside a target that never becomes the target.
SCRATCH_SUFFIX = ".stage"
#: Free space (bytes) under which a failed write is taken for a full disk: a writer that runs
#: out of space leaves less than one block or chunk free, and not every layer says ENOSPC
#: (GDAL's GeoTIFF writer reports "Write failed" or a failed block read).
FULL_MARGIN = 1 << 20


def new_token() -> str:
    """A fresh random token (12 hex digits) for the staging names of one write.

    Examples
    --------
    >>> token = new_token()
    >>> len(token), int(token, 16) >= 0, token != new_token()
    (12, True, True)
    """
    return uuid.uuid4().hex[:12]


@lru_cache(maxsize=1)
def host_tag() -> str:
    """8 hex digits naming this machine and PID namespace (a container sharing the disk and
    the host name has another): process ids are only compared on the machine that wrote them.

    Examples
    --------
    >>> tag = host_tag()
    >>> len(tag), int(tag, 16) >= 0
    (8, True)
    """
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return hashlib.sha1(f"{socket.gethostname()}|{namespace}".encode()).hexdigest()[:8]


def owner_tag(pid: int | None = None) -> str:
    """``<pid>@<host tag>``: the owner part of a staged name (default this process).

    Examples
    --------
    >>> owner_tag(4242) == f"4242@{host_tag()}"
    True
    """
    return f"{os.getpid() if pid is None else int(pid)}@{host_tag()}"


def staging_name(path: PathLike, token: str, suffix: str = STAGING_SUFFIX,
                 owner: str | None = None) -> Path:
    """The hidden path beside ``path`` that stages it: ``.<name>.<token>.<owner><suffix>``.

    Parameters
    ----------
    path : str or path
        The target file or store.
    token : str
        The write's token (:func:`new_token`).
    suffix : str, default ".tmp"
        The staged path's role: :data:`STAGING_SUFFIX`, :data:`OLD_SUFFIX` or
        :data:`SCRATCH_SUFFIX`.
    owner : str, optional
        The writing process, default this one (:func:`owner_tag`).

    Returns
    -------
    pathlib.Path
        In the folder of ``path``, so that renaming it onto ``path`` is atomic.

    Examples
    --------
    >>> staging_name("out/classes.tif", "0123456789ab", owner="4242@0a1b2c3d").as_posix()
    'out/.classes.tif.0123456789ab.4242@0a1b2c3d.tmp'
    >>> staging_name("out/classes.zarr", "0123456789ab", OLD_SUFFIX, "4242@0a1b2c3d").name
    '.classes.zarr.0123456789ab.4242@0a1b2c3d.old'
    """
    path = Path(path)
    return path.with_name(f".{path.name}.{token}.{owner or owner_tag()}{suffix}")


def _scheme(name: str) -> re.Pattern:
    """The staged names of target ``name``: groups pid, host tag, suffix."""
    suffixes = "|".join(re.escape(s) for s in (STAGING_SUFFIX, OLD_SUFFIX, SCRATCH_SUFFIX))
    return re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{12}}\.(\d+)@([0-9a-f]{{8}})({suffixes})")


def owner_alive(pid: int) -> bool:
    """Whether process ``pid`` (of this machine) still runs; a zombie (killed, not yet reaped)
    does not. This process is alive.

    Examples
    --------
    >>> owner_alive(os.getpid())
    True
    """
    import psutil

    if pid == os.getpid():
        return True
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # exists, but cannot be inspected (another user's): alive
        return True


def stale_stages(path: PathLike) -> list[Path]:
    """The staged paths of ``path`` left by a process of this machine that is gone.

    Only names of the scheme (:func:`staging_name`) for this very target count; a staged path
    whose process still runs, or that was written on another machine (another host tag), is not
    stale.

    Examples
    --------
    >>> import tempfile, pathlib, subprocess, sys
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
    ...                       capture_output=True, text=True).stdout.strip()
    >>> left = staging_name(folder / "classes.tif", new_token(), owner=owner_tag(int(gone)))
    >>> live = staging_name(folder / "classes.tif", new_token())
    >>> _ = left.write_bytes(b"staged"), live.write_bytes(b"staged")
    >>> stale_stages(folder / "classes.tif") == [left]
    True
    """
    path = Path(path)
    scheme = _scheme(path.name)
    try:
        names = sorted(os.listdir(path.parent or "."))
    except OSError:
        return []
    found = []
    for name in names:
        match = scheme.fullmatch(name)
        if match and match[2] == host_tag() and not owner_alive(int(match[1])):
            found.append(path.with_name(name))
    return found


def _size(path: Path) -> int:
    if path.is_dir() and not path.is_symlink():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.lstat().st_size


def _megabytes(n: float) -> str:
    return f"{n / 1e6:.1f} MB"


def remove_stale_stages(path: PathLike) -> list[Path]:
    """Remove the staged paths of ``path`` left by killed writers (:func:`stale_stages`),
    warning once with what was removed; return them.

    A store moved aside (``.old``) while ``path`` is missing was caught between the two renames
    of :func:`atomic_directory`: it is put back at ``path`` instead (the write never finished,
    so the old store is the output).

    Examples
    --------
    >>> import tempfile, pathlib, subprocess, sys, warnings
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "classes.tif"
    >>> gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
    ...                       capture_output=True, text=True).stdout.strip()
    >>> left = staging_name(target, new_token(), owner=owner_tag(int(gone)))
    >>> _ = left.write_bytes(b"staged")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     removed = remove_stale_stages(target)
    >>> removed == [left], left.exists(), "left by an interrupted write" in str(caught[0].message)
    (True, False, True)
    """
    path = Path(path)
    stale = stale_stages(path)
    removed, restored = [], None
    for staged in stale:
        if (staged.name.endswith(OLD_SUFFIX) and restored is None
                and not os.path.lexists(path)):
            try:
                os.rename(staged, path)
                restored = staged
                continue
            except OSError:
                pass
        try:
            size = _size(staged)
        except OSError:
            size = 0
        _remove(staged)
        if not os.path.lexists(staged):
            removed.append((staged, size))
    if removed or restored:
        pids = sorted({int(_scheme(path.name).fullmatch(p.name)[1])
                       for p in [s for s, _ in removed] + ([restored] if restored else [])})
        parts = []
        if removed:
            parts.append(f"removed {len(removed)} staged path(s) of '{path}' left by an "
                         "interrupted write: " + ", ".join(
                             f"'{p.name}' ({_megabytes(n)})" for p, n in removed))
        if restored:
            parts.append(f"put '{path}' back from '{restored.name}', moved aside by a write "
                         "killed before its new store was in place")
        warn(f"{'; '.join(parts)} (writing process {pids} is gone; nothing else was touched)")
    return [p for p, _ in removed]


def _says_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` or an exception it was raised from says the disk is full."""
    full = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in full:
            return True
        text = str(exc).lower()
        if "no space left" in text or "disk quota exceeded" in text:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _device_of(folder: Path) -> tuple[str, str]:
    """(device, mount point) of the file system holding ``folder``: of the mounts whose mount
    point contains it, the last in the mount table, which lists them in the order they were
    made (a later mount hides whatever lies below its mount point, even a longer one)."""
    import psutil

    folder = os.path.realpath(folder)
    best = ("the disk", os.path.abspath(os.sep))
    try:
        partitions = psutil.disk_partitions(all=True)
    except Exception:  # an unreadable mount table only loses the device name
        return best
    for part in partitions:
        mount = part.mountpoint
        if folder == mount or folder.startswith(mount.rstrip(os.sep) + os.sep):
            best = (part.device or part.fstype, mount)
    return best


def disk_full_error(path: PathLike, needed: int | None = None) -> DiskFullError:
    """The :class:`DiskFullError` for ``path``: the device, its mount point, what is free and,
    when known, what the write needs."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    device, mount = _device_of(folder)
    try:
        free = f", {_megabytes(shutil.disk_usage(folder).free)} free"
    except OSError:
        free = ""
    need = f"; the write needs up to {_megabytes(needed)} there" if needed else ""
    error = DiskFullError(
        f"no space left on {device} (mounted at {mount}{free}) while writing '{path}'{need}: "
        "free some space there or write to another disk; the previous output, if any, is "
        "unchanged")
    error.errno = errno.ENOSPC
    return error


@contextmanager
def reporting_disk_full(path: PathLike, needed: int | None = None,
                        margin: int = FULL_MARGIN) -> Iterator[None]:
    """Turn an error raised inside the block by a full disk into a
    :class:`~xr_landcover.errors.DiskFullError` naming the disk and ``path`` (cause chained).

    A full disk is an error saying so (``ENOSPC``, ``EDQUOT``, "No space left on device"
    anywhere in its chain) or any error but the package's own while less than
    :data:`FULL_MARGIN` is free on the (writable) disk of ``path``: GDAL does not always say
    why a write failed. Enter it where the staged
    data still exists, so that the disk is still as full as when the write failed.

    Parameters
    ----------
    path : str or path
        The output being written.
    needed : int, optional
        Bytes the write needs at most, for the message.
    margin : int, default :data:`FULL_MARGIN`
        Less than this free after a failure is a full disk: a writer that deletes its partial
        output on failure (GDAL's copy does) gives the space back before the error arrives, so
        pass what it needed.
    """
    try:
        yield
    except LandcoverError:  # already says what is wrong (a DiskFullError included)
        raise
    except Exception as exc:
        if _says_disk_full(exc) or nearly_full(Path(path).parent, margin):
            raise disk_full_error(path, needed) from exc
        raise


def nearly_full(folder: Path, margin: int = FULL_MARGIN) -> bool:
    """Whether the writable file system holding ``folder`` has less than ``margin`` bytes
    free (a read-only or pseudo file system, which shows 0 bytes free, is not full)."""
    try:
        st = os.statvfs(folder if str(folder) else ".")
    except (OSError, AttributeError):  # no statvfs (Windows): the disk usage alone
        try:
            return 0 < shutil.disk_usage(folder).free < margin
        except OSError:
            return False
    if st.f_flag & getattr(os, "ST_RDONLY", 1) or st.f_blocks == 0:
        return False
    return st.f_bavail * st.f_frsize < margin


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
    On entry, the staged paths of ``path`` left by a killed writer are removed
    (:func:`remove_stale_stages`).

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
        The staging path, ``.<name>.<token>.<owner>.tmp`` beside ``path``
        (:func:`staging_name`); it does not exist yet.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    RasterFileNotFoundError
        The folder does not exist.
    OutputNotWritableError
        The "folder" is a file.
    DiskFullError
        The disk filled up while the block wrote (:func:`reporting_disk_full`).
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
    path = check_output_path(path, overwrite=True)
    remove_stale_stages(path)
    path = check_output_path(path, overwrite)
    staging = staging_name(path, new_token())
    try:
        with reporting_disk_full(path):
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
    (``.<name>.<token>.<owner>.old``: a non-empty folder cannot be replaced in one rename),
    the staging folder is renamed to ``path`` and the old store deleted. When the block raises
    (``KeyboardInterrupt`` included), or a rename fails, the staging folder is deleted, an
    existing store is left (or put back) as it was, and the exception propagates.
    On entry, the staged paths of ``path`` left by a killed writer are removed, and a store
    such a writer had moved aside is put back (:func:`remove_stale_stages`).

    Parameters
    ----------
    path : str or path
        The store to write; its parent folder must exist.
    overwrite : bool, default False
        Replace an existing store (or file). Checked on entry and again before the rename.

    Yields
    ------
    pathlib.Path
        The staging folder, ``.<name>.<token>.<owner>.tmp`` beside ``path``, created empty.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    RasterFileNotFoundError
        The parent folder does not exist.
    OutputNotWritableError
        The parent "folder" is a file, or the staging folder cannot be created in it.
    DiskFullError
        The disk filled up while the block wrote (:func:`reporting_disk_full`).

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
    path = check_output_path(path, overwrite=True, kind="store")
    remove_stale_stages(path)  # and put back a store moved aside by a killed write
    path = check_output_path(path, overwrite, kind="store")
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
        with reporting_disk_full(path):
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
    ``.<name>.<token>.<owner>.stage`` (:func:`staging_name`), in the target's folder so it is on the
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
