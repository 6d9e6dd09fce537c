"""xr_landcover.io._atomic: files and directory stores appear complete or not at all.

An exception or a ``KeyboardInterrupt`` part-way leaves an existing target byte-identical and
no staged path behind; a complete write replaces the target; every staged path is named
``.<name>.<token><suffix>`` beside the target.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import psutil
import pytest
from helpers import fill, mounted_tmpfs

from xr_landcover.errors import (
    OutputExistsError,
    OutputNotWritableError,
    RasterFileNotFoundError,
)
from xr_landcover.io._atomic import (
    OLD_SUFFIX,
    SCRATCH_SUFFIX,
    STAGING_SUFFIX,
    atomic_directory,
    atomic_file,
    host_tag,
    new_token,
    owner_alive,
    owner_tag,
    scratch_path,
    staging_name,
)

INTERRUPTIONS = pytest.mark.parametrize(
    "exception", [RuntimeError("disk on fire"), KeyboardInterrupt()],
    ids=["RuntimeError", "KeyboardInterrupt"])


def scheme(name: str, suffix: str) -> re.Pattern:
    """The one naming scheme of staged paths, ``.<name>.<12 hex digits>.<pid>@<host><suffix>``,
    owned by this process."""
    return re.compile(rf"\.{re.escape(name)}\.[0-9a-f]{{12}}\.{os.getpid()}@{host_tag()}"
                      rf"{re.escape(suffix)}")


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def tree(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def make_store(path: Path, chunks: dict[str, bytes]) -> Path:
    path.mkdir()
    for name, data in chunks.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    return path


# --------------------------------------------------------------------------------------------
# The naming scheme
# --------------------------------------------------------------------------------------------


def test_staging_name_is_hidden_beside_the_target():
    target = Path("/data/out/classes.tif")
    me = f"{os.getpid()}@{host_tag()}"
    assert staging_name(target, "0123456789ab") == \
        Path(f"/data/out/.classes.tif.0123456789ab.{me}.tmp")
    assert staging_name(str(target), "0123456789ab", OLD_SUFFIX).name == \
        f".classes.tif.0123456789ab.{me}.old"
    assert staging_name(target, "0123456789ab", SCRATCH_SUFFIX, "42@0a1b2c3d").name == \
        ".classes.tif.0123456789ab.42@0a1b2c3d.stage"
    assert (STAGING_SUFFIX, OLD_SUFFIX, SCRATCH_SUFFIX) == (".tmp", ".old", ".stage")


def test_host_tag_is_the_host_name_and_pid_namespace_and_needs_no_proc(monkeypatch):
    """Without ``/proc`` (macOS, BSD) the tag is the host name's alone, not an error."""
    import hashlib
    import socket

    namespace = os.readlink("/proc/self/ns/pid")
    expected = hashlib.sha1(f"{socket.gethostname()}|{namespace}".encode()).hexdigest()[:8]
    assert host_tag() == expected

    def no_proc(path):
        raise FileNotFoundError(2, "No such file or directory", path)

    monkeypatch.setattr(os, "readlink", no_proc)
    host_tag.cache_clear()
    try:
        assert host_tag() == hashlib.sha1(f"{socket.gethostname()}|".encode()).hexdigest()[:8]
    finally:
        host_tag.cache_clear()


def test_tokens_are_fresh():
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(re.fullmatch(r"[0-9a-f]{12}", t) for t in tokens)


def test_every_shape_names_its_staged_paths_by_the_one_scheme(tmp_path):
    with atomic_file(tmp_path / "model.skops") as file_staging:
        file_staging.write_bytes(b"m")
    with atomic_directory(tmp_path / "classes.zarr") as dir_staging:
        pass
    with scratch_path(tmp_path / "classes.tif") as scratch:
        pass
    assert file_staging.parent == dir_staging.parent == scratch.parent == tmp_path
    assert scheme("model.skops", ".tmp").fullmatch(file_staging.name)
    assert scheme("classes.zarr", ".tmp").fullmatch(dir_staging.name)
    assert scheme("classes.tif", ".stage").fullmatch(scratch.name)
    # and each write has its own token: two writers of one target never share a staged path
    with atomic_file(tmp_path / "model.skops", overwrite=True) as again:
        again.write_bytes(b"m")
    assert again != file_staging


# --------------------------------------------------------------------------------------------
# atomic_file
# --------------------------------------------------------------------------------------------


def test_file_success_creates_the_target(tmp_path):
    target = tmp_path / "model.skops"
    with atomic_file(target) as staging:
        assert not staging.exists() and not target.exists()
        staging.write_bytes(b"complete")
        assert not target.exists()  # nothing at the target until the block ends
    assert target.read_bytes() == b"complete"
    assert listing(tmp_path) == ["model.skops"]


def test_file_success_replaces_the_target(tmp_path):
    target = tmp_path / "model.skops"
    target.write_bytes(b"old")
    with atomic_file(target, overwrite=True) as staging:
        staging.write_bytes(b"new")
        assert target.read_bytes() == b"old"  # the old file stays readable meanwhile
    assert target.read_bytes() == b"new"
    assert listing(tmp_path) == ["model.skops"]


@INTERRUPTIONS
def test_file_interrupted_keeps_the_old_target_and_leaves_nothing(tmp_path, exception):
    target = tmp_path / "model.skops"
    target.write_bytes(b"old bytes \x00\xff")
    with pytest.raises(type(exception)), atomic_file(target, overwrite=True) as staging:
        staging.write_bytes(b"half of the new")
        raise exception
    assert target.read_bytes() == b"old bytes \x00\xff"
    assert listing(tmp_path) == ["model.skops"]


@INTERRUPTIONS
def test_file_interrupted_without_a_target_leaves_nothing(tmp_path, exception):
    with pytest.raises(type(exception)), atomic_file(tmp_path / "new.tif") as staging:
        staging.write_bytes(b"half")
        raise exception
    assert listing(tmp_path) == []


def test_file_exists_is_refused_before_any_work(tmp_path):
    target = tmp_path / "model.skops"
    target.write_bytes(b"old")
    ran = []
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        with atomic_file(target):
            ran.append(True)
    assert ran == [] and target.read_bytes() == b"old"


def test_file_that_appears_meanwhile_is_not_overwritten(tmp_path):
    target = tmp_path / "model.skops"
    with pytest.raises(OutputExistsError), atomic_file(target) as staging:
        staging.write_bytes(b"mine")
        target.write_bytes(b"someone else's")
    assert target.read_bytes() == b"someone else's"
    assert listing(tmp_path) == ["model.skops"]


def test_file_block_that_writes_nothing_is_an_error(tmp_path):
    target = tmp_path / "model.skops"
    target.write_bytes(b"old")
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic_file(target, overwrite=True):
            pass
    assert target.read_bytes() == b"old"


def test_file_missing_folder(tmp_path):
    with pytest.raises(RasterFileNotFoundError, match="does not exist"):
        with atomic_file(tmp_path / "no" / "model.skops"):
            pass


def test_file_written_through_a_callback_taking_a_path(tmp_path):
    # how LandcoverModel.save uses it: a writer (skops.io.dump) that takes a path
    def dump(payload: bytes, file: Path) -> None:
        with open(file, "wb") as f:
            f.write(payload)

    with atomic_file(tmp_path / "model.skops") as staging:
        dump(b"payload", staging)
    assert (tmp_path / "model.skops").read_bytes() == b"payload"


# --------------------------------------------------------------------------------------------
# atomic_directory
# --------------------------------------------------------------------------------------------


def test_directory_success_creates_the_store(tmp_path):
    store = tmp_path / "classes.zarr"
    with atomic_directory(store) as staging:
        assert staging.is_dir() and list(staging.iterdir()) == []  # created, empty
        (staging / "zarr.json").write_text("{}")
        assert not store.exists()
    assert sorted(tree(store)) == ["zarr.json"] and (store / "zarr.json").read_text() == "{}"
    assert listing(tmp_path) == ["classes.zarr"]


def test_directory_success_replaces_the_whole_store(tmp_path):
    store = make_store(tmp_path / "classes.zarr", {"zarr.json": b"old", "c/0/0": b"stale"})
    with atomic_directory(store, overwrite=True) as staging:
        (staging / "zarr.json").write_bytes(b"new")
        assert (store / "c/0/0").read_bytes() == b"stale"  # the old store stays readable
    assert sorted(tree(store)) == ["zarr.json"]  # the stale chunk went with the old store
    assert (store / "zarr.json").read_bytes() == b"new"
    assert listing(tmp_path) == ["classes.zarr"]  # the old store moved aside is deleted


def test_directory_replaces_a_file_target(tmp_path):
    store = tmp_path / "classes.zarr"
    store.write_bytes(b"a file in the way")
    with atomic_directory(store, overwrite=True) as staging:
        (staging / "zarr.json").write_bytes(b"new")
    assert (store / "zarr.json").read_bytes() == b"new"
    assert listing(tmp_path) == ["classes.zarr"]


@INTERRUPTIONS
def test_directory_interrupted_keeps_the_old_store_and_leaves_nothing(tmp_path, exception):
    store = make_store(tmp_path / "classes.zarr", {"zarr.json": b"old", "c/0/0": b"\x00\x01"})
    before = tree(store)
    with pytest.raises(type(exception)), atomic_directory(store, overwrite=True) as staging:
        (staging / "zarr.json").write_bytes(b"new")
        (staging / "c").mkdir()
        raise exception
    assert tree(store) == before
    assert listing(tmp_path) == ["classes.zarr"]


@INTERRUPTIONS
def test_directory_interrupted_without_a_store_leaves_nothing(tmp_path, exception):
    with pytest.raises(type(exception)), atomic_directory(tmp_path / "new.zarr") as staging:
        (staging / "zarr.json").write_bytes(b"half")
        raise exception
    assert listing(tmp_path) == []


def test_directory_failed_rename_puts_the_old_store_back(tmp_path, monkeypatch):
    # the old store is moved aside first (a folder cannot be replaced by one rename); if the
    # rename of the new store then fails, the old one goes back where it was
    store = make_store(tmp_path / "classes.zarr", {"zarr.json": b"old", "c/0/0": b"\x00"})
    before = tree(store)
    real_replace = os.replace
    renames = []

    def failing_replace(src, dst):
        renames.append((Path(src).name, Path(dst).name))
        if Path(src).name.endswith(STAGING_SUFFIX):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        with atomic_directory(store, overwrite=True) as staging:
            (staging / "zarr.json").write_bytes(b"new")
    monkeypatch.undo()
    assert tree(store) == before
    assert listing(tmp_path) == ["classes.zarr"]
    (moved, aside), (new, _), put_back = renames
    assert moved == "classes.zarr"
    assert scheme("classes.zarr", ".old").fullmatch(aside)  # moved aside under the scheme
    assert scheme("classes.zarr", ".tmp").fullmatch(new)
    assert put_back == (aside, "classes.zarr")


def test_directory_exists_is_refused_before_any_work(tmp_path):
    store = make_store(tmp_path / "classes.zarr", {"zarr.json": b"old"})
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        with atomic_directory(store):
            raise AssertionError("the block must not run")
    assert listing(tmp_path) == ["classes.zarr"]


def test_directory_that_appears_meanwhile_is_not_overwritten(tmp_path):
    store = tmp_path / "classes.zarr"
    with pytest.raises(OutputExistsError), atomic_directory(store) as staging:
        (staging / "zarr.json").write_bytes(b"mine")
        make_store(store, {"zarr.json": b"theirs"})
    assert sorted(tree(store)) == ["zarr.json"]
    assert (store / "zarr.json").read_bytes() == b"theirs"
    assert listing(tmp_path) == ["classes.zarr"]


def test_directory_in_a_folder_that_cannot_be_written(tmp_path, monkeypatch):
    # (a read-only folder binds nobody when the tests run as root: refuse the mkdir instead)
    def refuse(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "mkdir", refuse)
    with pytest.raises(OutputNotWritableError, match="Permission denied.*writable"):
        with atomic_directory(tmp_path / "classes.zarr"):
            raise AssertionError("the block must not run")
    monkeypatch.undo()
    assert listing(tmp_path) == []


def test_directory_parent_is_a_file(tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(OutputNotWritableError, match="not a folder"):
        with atomic_directory(tmp_path / "file" / "classes.zarr"):
            pass


# --------------------------------------------------------------------------------------------
# scratch_path
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_scratch_is_removed_on_success(tmp_path, kind):
    with scratch_path(tmp_path / "classes.tif") as scratch:
        if kind == "file":
            scratch.write_bytes(b"uncompressed")
        else:
            make_store(scratch, {"a": b"1"})
        assert listing(tmp_path) == [scratch.name]
    assert listing(tmp_path) == []


@INTERRUPTIONS
def test_scratch_is_removed_when_interrupted(tmp_path, exception):
    (tmp_path / "classes.tif").write_bytes(b"old")
    with pytest.raises(type(exception)), scratch_path(tmp_path / "classes.tif") as scratch:
        scratch.write_bytes(b"uncompressed")
        raise exception
    assert listing(tmp_path) == ["classes.tif"]
    assert (tmp_path / "classes.tif").read_bytes() == b"old"


def test_scratch_deleted_early_is_fine(tmp_path):
    with scratch_path(tmp_path / "classes.tif") as scratch:
        scratch.write_bytes(b"uncompressed")
        scratch.unlink()  # to_geotiff frees the stage's disk space as soon as it is copied
    assert listing(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Stale stages: left by a killed writer, removed at the next write of the same target
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The id of a process that ran and is gone (reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not psutil.pid_exists(child.pid)  # the premise: nobody has taken the id since
    return child.pid


def test_stale_stages_of_a_dead_writer_are_removed_at_the_next_write(tmp_path, dead_pid):
    target = tmp_path / "classes.tif"
    target.write_bytes(b"old")
    gone = owner_tag(dead_pid)
    left = [staging_name(target, new_token(), STAGING_SUFFIX, gone),
            staging_name(target, new_token(), SCRATCH_SUFFIX, gone)]
    for path in left:
        path.write_bytes(b"x" * 2_000_000)
    store = make_store(staging_name(target, new_token(), STAGING_SUFFIX, gone),
                       {"c/0": b"1" * 1_000_000, "c/1/0": b"1" * 2_000_000})
    with pytest.warns(UserWarning) as caught:
        with atomic_file(target, overwrite=True) as staging:
            assert listing(tmp_path) == ["classes.tif"]  # removed before the write begins
            staging.write_bytes(b"new")
    [warning] = [w for w in caught if "staged path" in str(w.message)]
    message = str(warning.message)
    assert f"removed 3 staged path(s) of '{target}' left by an interrupted write" in message
    assert f"'{left[1].name}' (2.0 MB)" in message
    assert f"'{store.name}' (3.0 MB)" in message  # a store: the sum of its files
    assert f"process [{dead_pid}] is gone" in message
    assert listing(tmp_path) == ["classes.tif"] and target.read_bytes() == b"new"


def test_nothing_but_a_dead_writers_stages_of_this_target_is_removed(tmp_path, dead_pid):
    """A live writer's stage (this process, or another running one), another machine's, one
    of another target, names outside the scheme and the user's own files all stay."""
    target = tmp_path / "classes.tif"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live:
        try:
            kept = [
                staging_name(target, new_token()),  # this process: a concurrent write
                staging_name(target, new_token(), SCRATCH_SUFFIX, owner_tag(live.pid)),
                staging_name(target, new_token(), STAGING_SUFFIX, f"{dead_pid}@0badc0de"),
                # other machines' tags sorting before and after any other
                staging_name(target, new_token(), STAGING_SUFFIX, f"{dead_pid}@00000000"),
                staging_name(target, new_token(), STAGING_SUFFIX, f"{dead_pid}@ffffffff"),
                staging_name(tmp_path / "other.tif", new_token(), owner=owner_tag(dead_pid)),
                tmp_path / ".classes.tif.0123456789ab.tmp",  # the scheme before owners
                tmp_path / f".classes.tif.notes.{dead_pid}@{host_tag()}.tmp",
                tmp_path / ".classes.tif.bak",
                tmp_path / "classes.tif.0123456789ab.tmp",  # not hidden: not ours
            ]
            for path in kept:
                path.write_bytes(b"keep")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with atomic_file(target) as staging:
                    staging.write_bytes(b"new")
            assert not caught  # nothing removed: no warning either
            assert listing(tmp_path) == sorted([p.name for p in kept] + ["classes.tif"])
        finally:
            live.kill()


def test_a_store_moved_aside_by_a_killed_write_is_put_back(tmp_path, dead_pid):
    """Killed between the two renames of atomic_directory: the target is gone, the old store
    is at ``.old``. The next write puts it back first (so overwrite=False refuses)."""
    target = tmp_path / "classes.zarr"
    token, gone = new_token(), owner_tag(dead_pid)
    old = make_store(staging_name(target, token, OLD_SUFFIX, gone), {"zarr.json": b"old"})
    new = make_store(staging_name(target, token, STAGING_SUFFIX, gone), {"zarr.json": b"new"})
    before = tree(old)
    with pytest.warns(UserWarning, match=rf"put '{re.escape(str(target))}' back from "
                                         rf"'{re.escape(old.name)}'") as caught:
        with pytest.raises(OutputExistsError), atomic_directory(target):
            pass
    assert f"removed 1 staged path(s) of '{target}'" in str(caught[0].message)
    assert new.name in str(caught[0].message)
    assert listing(tmp_path) == ["classes.zarr"] and tree(target) == before


def test_a_killed_unreaped_writer_is_gone(tmp_path):
    """A zombie (killed, not yet waited for) still has its process id: it is not alive."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(500):
            if psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE:
                break
            time.sleep(0.01)
        assert psutil.pid_exists(child.pid)  # the premise: the id is still taken
        assert not owner_alive(child.pid)
    finally:
        child.wait()
    assert owner_alive(os.getpid())


# --------------------------------------------------------------------------------------------
# The writers stage by the one scheme
# --------------------------------------------------------------------------------------------


def small_map():
    import dask.array as dsa
    import numpy as np
    import xarray as xr

    data = dsa.from_array(np.arange(64 * 64, dtype="uint8").reshape(64, 64) % 7, chunks=32)
    return xr.DataArray(data, dims=("y", "x"), name="landcover",
                        coords={"y": 640.0 - 10 * np.arange(64) - 5,
                                "x": 10 * np.arange(64) + 5.0}).rio.write_crs("EPSG:32618")


def watching(da, folder: Path, seen: list):
    """``da`` whose blocks record the folder's listing while they are computed."""
    def spy(block):
        if block.size:
            seen.append(tuple(listing(folder)))
        return block

    return da.copy(data=da.data.map_blocks(spy, dtype=da.dtype))


def test_to_geotiff_stages_by_the_scheme(tmp_path, monkeypatch):
    import rasterio.shutil

    import xr_landcover

    target = tmp_path / "classes.tif"
    target.write_bytes(b"old")
    copies, real_copy = [], rasterio.shutil.copy

    def recording_copy(src, dst, **kwargs):
        copies.append((Path(src).name, Path(dst).name, sorted(listing(tmp_path))))
        return real_copy(src, dst, **kwargs)

    monkeypatch.setattr(rasterio.shutil, "copy", recording_copy)
    seen: list = []
    xr_landcover.to_geotiff(watching(small_map(), tmp_path, seen), target, overwrite=True)
    # while the blocks are stored: the old file and the uncompressed stage
    assert len(seen) == 4 and len(set(seen)) == 1
    stage, old = sorted(seen[0])  # hidden names sort first
    assert old == "classes.tif" and scheme("classes.tif", ".stage").fullmatch(stage)
    # the compressing copy: from the stage into the staged final file
    [(src, dst, during)] = copies
    assert src == stage and scheme("classes.tif", ".tmp").fullmatch(dst)
    assert during == [stage, "classes.tif"]  # the final file does not exist before the copy
    assert listing(tmp_path) == ["classes.tif"] and target.read_bytes()[:2] in (b"II", b"MM")


def test_to_zarr_stages_by_the_scheme(tmp_path):
    import xr_landcover

    target = xr_landcover.to_zarr(small_map(), tmp_path / "classes.zarr")
    before = tree(target)
    seen: list = []
    xr_landcover.to_zarr(watching(small_map() + 1, tmp_path, seen), target, overwrite=True)
    assert len(seen) == 4 and len(set(seen)) == 1
    staging, old = sorted(seen[0])  # hidden names sort first
    assert old == "classes.zarr" and scheme("classes.zarr", ".tmp").fullmatch(staging)
    assert listing(tmp_path) == ["classes.zarr"] and tree(target) != before
    assert int(xr_landcover.open_zarr(target)[0, 0]) == 1


# --------------------------------------------------------------------------------------------
# A full disk: what counts as full, and the error naming the disk
# --------------------------------------------------------------------------------------------


def test_nearly_full_is_less_than_a_mebibyte_free(small_disk, tmp_path):
    from xr_landcover.io._atomic import nearly_full, reporting_disk_full

    fill(small_disk, 1_500_000)
    assert not nearly_full(small_disk)  # 1.5 MB free: not full
    (small_disk / "filler").unlink()
    fill(small_disk, 800_000)
    free = shutil.disk_usage(small_disk).free
    assert free < 1 << 20
    assert nearly_full(small_disk)  # the default margin: 1 MiB, one block or chunk
    assert not nearly_full(small_disk, margin=free)  # exactly the margin free is not "less"
    assert nearly_full(small_disk, margin=free + 1)
    assert not nearly_full(Path("/proc"), margin=1 << 40)  # a pseudo file system: 0 blocks
    # a folder removed while its file was written: not full, and the write's own error comes
    assert not nearly_full(tmp_path / "removed")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with reporting_disk_full(tmp_path / "removed" / "classes.tif"):
            raise RuntimeError("disk on fire")


def test_nearly_full_without_statvfs_asks_the_disk_usage(tmp_path, monkeypatch):
    """Windows has no ``os.statvfs``; there ``shutil.disk_usage`` (its own call there, not
    statvfs) decides: under the margin free is full, 0 bytes free (a pseudo or unreadable
    disk) is not, nor is a disk whose usage cannot be read. Windows cannot run here: its two
    calls are stood in for."""
    from collections import namedtuple

    from xr_landcover.io._atomic import FULL_MARGIN, nearly_full

    usage = namedtuple("usage", "total used free")
    monkeypatch.delattr(os, "statvfs")
    for free, full in ((0, False), (1, True), (FULL_MARGIN - 1, True), (FULL_MARGIN, False),
                       (FULL_MARGIN + 1, False)):
        monkeypatch.setattr(shutil, "disk_usage", lambda folder, f=free: usage(1 << 40, 0, f))
        assert nearly_full(tmp_path) is full, free
    assert nearly_full(tmp_path, margin=10) is False  # FULL_MARGIN + 1 free
    monkeypatch.setattr(shutil, "disk_usage", lambda folder: usage(1 << 40, 0, 9))
    assert nearly_full(tmp_path, margin=10) is True

    def unreadable(folder):
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(shutil, "disk_usage", unreadable)
    assert nearly_full(tmp_path) is False


def test_disk_full_error_names_the_disk_the_path_is_on(tmp_path):
    """Beside the target's disk (a tmpfs named ``scratch``), a second one mounted at a name
    that sorts before it and is longer: the error names the disk holding the folder, the
    mount point that contains it; sizes in MB (10^6 bytes) to 0.1."""
    from xr_landcover.io._atomic import disk_full_error

    with mounted_tmpfs(tmp_path / "disk", "8m", device="scratch") as disk, \
            mounted_tmpfs(tmp_path / "another-disk-with-a-longer-name", "4m"), \
            mounted_tmpfs(tmp_path / "the-next-disk-with-a-longer-name", "4m"):
        target = disk / "classes.tif"
        message = str(disk_full_error(target, needed=1_049_999))
        free = shutil.disk_usage(disk).free
        assert message.startswith(f"no space left on scratch (mounted at {disk}, "
                                  f"{round(free / 1e6, 1)} MB free) while writing '{target}'")
        assert "the write needs up to 1.0 MB there" in message  # 1.049999 MB, not 1.05
        assert "needs up to 1.1 MB" in str(disk_full_error(target, needed=1_050_001))
        # a folder removed meanwhile: no free space to tell, the error still comes
        gone = disk / "removed" / "classes.tif"
        assert f"(mounted at {disk}) while writing '{gone}'" in str(disk_full_error(gone))


def test_disk_full_error_names_the_mount_that_hides_an_earlier_one(tmp_path):
    """A disk mounted over a folder that holds an earlier mount hides it: a path below the
    earlier mount point is on the later disk, whose mount point is shorter (the mount table
    lists mounts in the order they were made)."""
    from xr_landcover.io._atomic import disk_full_error

    (tmp_path / "outer").mkdir()
    with mounted_tmpfs(tmp_path / "outer" / "inner", "4m", device="hidden"), \
            mounted_tmpfs(tmp_path / "outer", "8m", device="visible") as outer:
        folder = outer / "inner"
        folder.mkdir()  # on the visible disk: the hidden one is out of reach
        assert os.stat(folder).st_dev == os.stat(outer).st_dev
        message = str(disk_full_error(folder / "classes.tif"))
        assert message.startswith(f"no space left on visible (mounted at {outer}, ")


def test_disk_full_error_without_a_mount_table(tmp_path, monkeypatch):
    """psutil cannot read the mount table (fault injected): the error still comes, naming
    "the disk" and the root."""
    from xr_landcover.io._atomic import disk_full_error

    def unreadable(all=False):
        raise PermissionError(13, "Permission denied", "/proc/self/mounts")

    monkeypatch.setattr(psutil, "disk_partitions", unreadable)
    message = str(disk_full_error(tmp_path / "classes.tif"))
    assert message.startswith(f"no space left on the disk (mounted at {os.sep}, ")


def test_directory_stage_that_cannot_be_removed_leaves_the_blocks_error(tmp_path):
    """A stage the clean-up cannot delete whole (here a disk mounted inside it; on NFS a file
    still open elsewhere): the block's own error propagates, the old store stays."""
    store = make_store(tmp_path / "classes.zarr", {"zarr.json": b"old"})
    before = tree(store)
    with contextlib.ExitStack() as mounts:
        with pytest.raises(RuntimeError, match="disk on fire"):
            with atomic_directory(store, overwrite=True) as staging:
                mounts.enter_context(mounted_tmpfs(staging / "mounted", "1m"))
                (staging / "mounted" / "chunk").write_bytes(b"new")
                raise RuntimeError("disk on fire")
        assert tree(store) == before
        assert listing(staging) == ["mounted"] and listing(staging / "mounted") == []
    shutil.rmtree(staging)


@pytest.mark.parametrize("error", [
    OSError(errno.ENOSPC, "write failed"),  # the errno alone
    OSError(errno.EDQUOT, "write failed"),  # a quota: the disk itself has room
    RuntimeError("TIFFAppendToStrip:Write error at scanline 12: No space left on device"),
    RuntimeError("block write failed"),  # raised from the OSError below (a chain)
    RuntimeError("clean-up failed"),  # raised while handling the OSError below
], ids=["ENOSPC", "EDQUOT", "message", "chained", "while-handling"])
def test_an_error_saying_the_disk_is_full_is_a_disk_full_error(tmp_path, error):
    """On a disk with room (so that only the error tells): said by its errno, its message or
    an error it was raised from."""
    from xr_landcover.errors import DiskFullError
    from xr_landcover.io._atomic import nearly_full, reporting_disk_full

    assert not nearly_full(tmp_path)  # the premise
    target = tmp_path / "classes.tif"
    with pytest.raises(DiskFullError, match=f"while writing '{re.escape(str(target))}'") as info:
        with reporting_disk_full(target):
            if str(error) == "block write failed":
                raise error from OSError(errno.ENOSPC, "write failed")
            if str(error) == "clean-up failed":
                try:
                    raise OSError(errno.ENOSPC, "write failed")
                except OSError:
                    raise error  # noqa: B904 (the implicit context is the point)
            raise error
    assert info.value.__cause__ is error


def test_an_error_not_saying_so_on_a_disk_with_room_is_left_as_it_is(tmp_path):
    from xr_landcover.io._atomic import reporting_disk_full

    error = OSError(errno.EIO, "Input/output error")
    with pytest.raises(OSError) as info, reporting_disk_full(tmp_path / "classes.tif"):
        raise error
    assert info.value is error


def test_a_writer_that_cannot_be_inspected_is_alive(tmp_path, monkeypatch):
    """Another user's process where the system hides it (fault injected: psutil denies
    access to its status): alive, so its stage is kept."""
    def denied(self):
        raise psutil.AccessDenied(self.pid)

    target = tmp_path / "classes.tif"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as other:
        try:
            staged = staging_name(target, new_token(), owner=owner_tag(other.pid))
            staged.write_bytes(b"theirs")
            monkeypatch.setattr(psutil.Process, "status", denied)
            assert owner_alive(other.pid)
            with atomic_file(target) as staging:
                staging.write_bytes(b"new")
            monkeypatch.undo()
            assert listing(tmp_path) == sorted(["classes.tif", staged.name])
        finally:
            other.kill()


def test_disk_full_error_names_the_disk_that_findmnt_names(tmp_path):
    """The folder of the tests' files, on whatever disk it is (``/`` itself, often)."""
    from xr_landcover.io._atomic import disk_full_error

    if shutil.which("findmnt") is None:
        pytest.skip("findmnt (util-linux) is not installed")
    source, target = subprocess.run(
        ["findmnt", "-n", "-v", "-o", "SOURCE,TARGET", "--target", str(tmp_path)],
        capture_output=True, text=True, check=True).stdout.split()
    message = str(disk_full_error(tmp_path / "classes.tif"))
    assert message.startswith(f"no space left on {source} (mounted at {target}, ")


def test_stale_stages_of_a_target_in_a_missing_folder_are_none(tmp_path):
    from xr_landcover.io._atomic import stale_stages

    assert stale_stages(tmp_path / "removed" / "classes.tif") == []


def test_an_unused_process_id_below_ours_is_not_alive():
    taken = set(psutil.pids())
    free = [pid for pid in range(2, os.getpid()) if pid not in taken]
    if not free:
        pytest.skip("every process id below this one is taken")
    assert not owner_alive(free[-1])
