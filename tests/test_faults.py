"""Faults survived, and model files that cannot run code.

* A worker process killed (SIGKILL) in the middle of a ``classify`` on a real multi-process
  ``LocalCluster``: the result is still complete and equal to the threaded one.
* An exception or a ``KeyboardInterrupt`` raised while ``to_geotiff`` computes its blocks:
  the previous file stays byte-identical and nothing else is left in the folder.
* A corrupt block in an input GeoTIFF: ``classify`` over it fails with an error naming the file
  and the window (``test_io`` checks the same for a bare compute).
* Security: a pickle whose ``__reduce__`` would create a file, and skops files holding an
  untrusted class (whose ``__setstate__`` would create a file) or ``os.system``, are refused
  with the type named, and the file is never created.
"""

from __future__ import annotations

import errno
import hashlib
import os
import pathlib
import pickle
import signal
import subprocess
import sys
import warnings
import zipfile

import dask
import numpy as np
import pytest
import rasterio
import skops.io as sio
from conftest import write_raster
from helpers import deflated_zeros, fail_on_third_block, fill, quiet_train, write_zip

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classification.model import LandcoverModel
from xr_landcover.errors import InvalidParameterError, ModelFileError, RasterReadError


@pytest.fixture(scope="module")
def model():
    return quiet_train(datasets.nc_landsat7(), datasets.nc_training_polygons(), "id", "label",
                       method="random_trees", max_samples_per_class=60, random_state=0,
                       n_estimators=20)


def sha256(path) -> str:
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# A worker killed mid-classify
# --------------------------------------------------------------------------------------------


def test_worker_killed_mid_classify_gives_the_complete_result():
    from distributed import Client, LocalCluster, as_completed, futures_of

    # maximum likelihood predicts fast: the run is short, and still 224 tasks long
    model = quiet_train(datasets.nc_landsat7(), datasets.nc_training_polygons(), "id", "label",
                        method="max_likelihood", max_samples_per_class=60, random_state=0)
    cube = datasets.nc_landsat7(chunks=32)  # 14 x 16 = 224 small blocks
    with dask.config.set(scheduler="threads"):
        expected = xr_landcover.classify(cube, model).values
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        pids_before = client.run(os.getpid)
        assert len(pids_before) == 2
        classes = xr_landcover.classify(cube, model)
        persisted = classes.data.persist()
        futures = futures_of(persisted)
        assert len(futures) == 224
        for n, _ in enumerate(as_completed(futures), start=1):
            if n == 10:
                break
        unfinished = sum(not f.done() for f in futures)
        victim = sorted(pids_before.values())[0]
        os.kill(victim, signal.SIGKILL)
        result = persisted.compute()
        pids_after = client.run(os.getpid)
    assert unfinished > 0  # the kill did happen in the middle of the run
    assert victim not in pids_after.values()  # the nanny replaced the killed worker
    assert result.shape == expected.shape
    np.testing.assert_array_equal(result, expected)


# --------------------------------------------------------------------------------------------
# Interrupted writes
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("exception", [KeyboardInterrupt(), RuntimeError("disk on fire")],
                         ids=["KeyboardInterrupt", "RuntimeError"])
@pytest.mark.parametrize("scheduler", ["threads", "sync"])
def test_interrupted_write_keeps_the_previous_file(model, tmp_path, exception, scheduler):
    classes = xr_landcover.classify(datasets.nc_landsat7(chunks=100), model)
    target = tmp_path / "landcover.tif"
    with dask.config.set(scheduler=scheduler):
        xr_landcover.to_geotiff(classes, target)
    before = target.read_bytes()
    sidecar = tmp_path / "landcover.tif.aux.xml"  # GDAL's: class names, attribute table
    sidecar_before = sidecar.read_bytes()
    written = ["landcover.tif", "landcover.tif.aux.xml"]
    broken = classes.copy(data=classes.data.map_blocks(fail_on_third_block(exception),
                                                       dtype=classes.dtype))
    with dask.config.set(scheduler=scheduler), pytest.raises(type(exception)):
        xr_landcover.to_geotiff(broken, target, overwrite=True)
    assert target.read_bytes() == before and sidecar.read_bytes() == sidecar_before
    assert sorted(p.name for p in tmp_path.iterdir()) == written
    # and with no previous file, nothing at all is left
    other = tmp_path / "new.tif"
    broken = classes.copy(data=classes.data.map_blocks(fail_on_third_block(exception),
                                                       dtype=classes.dtype))
    with dask.config.set(scheduler=scheduler), pytest.raises(type(exception)):
        xr_landcover.to_geotiff(broken, other)
    assert sorted(p.name for p in tmp_path.iterdir()) == written


# --------------------------------------------------------------------------------------------
# A writing process killed outright (SIGKILL): the old output survives; the stale stages go at
# the next write of the same target, with a warning; a live writer's stage is never touched
# --------------------------------------------------------------------------------------------

#: A real writer in its own process. argv: kind (geotiff|zarr), target, where to stall
#: ("blocks": in the middle of the blocks; "copy": after GeoTIFF's compressing copy into the
#: staged file, before the rename; "renames": zarr's old store moved aside, the new one not yet
#: renamed), value written. It prints "stalled" once there, then sleeps until killed. The
#: stall hooks wrap the real calls (the real copy runs to its end); nothing is replaced.
WRITER = """
import os, sys, time
import numpy as np, dask, dask.array as dsa, xarray as xr, rioxarray
import xr_landcover

kind, target, where, value = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def stall():
    print("stalled", flush=True)
    time.sleep(600)

def block(b, block_info=None):
    if where == "blocks" and block_info and block_info[0]["chunk-location"] == (2, 1):
        stall()
    return b

n = 512
rng = np.random.default_rng(value)  # noise: the compressed copy is as big as the stage
data = dsa.from_array(rng.integers(0, 250, (n, n), dtype="uint8") + value, chunks=128)
da = xr.DataArray(data.map_blocks(block, dtype="uint8"), dims=("y", "x"), name="landcover",
                  coords={"y": 5000.0 - 10 * np.arange(n) - 5, "x": 10 * np.arange(n) + 5.0})
da = da.rio.write_crs("EPSG:32618")
if where == "copy":
    import rasterio.shutil
    real_copy = rasterio.shutil.copy
    def copy(src, dst, **kwargs):
        real_copy(src, dst, **kwargs)
        stall()
    rasterio.shutil.copy = copy
if where == "renames":
    real_replace = os.replace
    def replace(src, dst):
        real_replace(src, dst)
        if str(dst).endswith(".old"):
            stall()
    os.replace = replace
with dask.config.set(scheduler="sync"):
    if kind == "geotiff":
        xr_landcover.to_geotiff(da, target, overwrite=True)
    else:
        xr_landcover.to_zarr(da, target, overwrite=True)
print("done", flush=True)
"""


def start_writer(kind: str, target, where: str, value: int = 1) -> subprocess.Popen:
    """A writer process (:data:`WRITER`) stalled at ``where``, once it says it is there."""
    root = pathlib.Path(xr_landcover.__file__).resolve().parents[1]  # this checkout's package
    child = subprocess.Popen([sys.executable, "-c", WRITER, kind, str(target), where,
                              str(value)], cwd=root, stdout=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    assert line == "stalled\n", f"the writer did not reach '{where}': {line!r}"
    return child


def kill(child: subprocess.Popen) -> None:
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    child.stdout.close()


def tree(folder) -> dict[str, str]:
    return {str(p.relative_to(folder)): sha256(p) for p in sorted(pathlib.Path(folder).rglob("*"))
            if p.is_file()}


def write_map(kind: str, target, value: int = 0):
    """The same map as :data:`WRITER` writes, written here and at once."""
    import dask.array as dsa
    import xarray as xr

    n = 512
    rng = np.random.default_rng(value)
    data = dsa.from_array(rng.integers(0, 250, (n, n), dtype="uint8") + value, chunks=128)
    da = xr.DataArray(data, dims=("y", "x"), name="landcover",
                      coords={"y": 5000.0 - 10 * np.arange(n) - 5, "x": 10 * np.arange(n) + 5.0})
    da = da.rio.write_crs("EPSG:32618")
    write = xr_landcover.to_geotiff if kind == "geotiff" else xr_landcover.to_zarr
    write(da, target, overwrite=True)
    return da


def snapshot(target) -> dict[str, str]:
    return tree(target) if pathlib.Path(target).is_dir() else {"": sha256(target)}


@pytest.mark.parametrize(("kind", "where"), [("geotiff", "blocks"), ("geotiff", "copy"),
                                             ("zarr", "blocks"), ("zarr", "renames")])
def test_sigkill_mid_write_keeps_the_old_output_and_the_next_write_cleans_up(tmp_path, kind,
                                                                              where):
    target = tmp_path / ("landcover.tif" if kind == "geotiff" else "landcover.zarr")
    write_map(kind, target, value=0)
    before = snapshot(target)
    writer = start_writer(kind, target, where, value=1)
    pid = writer.pid
    kill(writer)
    if where == "renames":  # killed between the renames: no store at the target for now
        assert not target.exists()
    else:
        assert snapshot(target) == before  # the old output survived
    left = sorted(p.name for p in tmp_path.iterdir() if p.name != target.name)
    # the premise: the killed writer left its stages, named with its process id
    assert left and all(f".{pid}@" in name for name in left), left
    expected_left = {("geotiff", "blocks"): [".stage"], ("geotiff", "copy"): [".stage", ".tmp"],
                     ("zarr", "blocks"): [".tmp"], ("zarr", "renames"): [".old", ".tmp"]}
    assert sorted(pathlib.Path(n).suffix for n in left) == expected_left[kind, where]
    with pytest.warns(UserWarning, match=rf"left by an interrupted write.*process \[{pid}\] "
                                         "is gone"):
        da = write_map(kind, target, value=2)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # nothing left behind
    back = (xr_landcover.open_image(target, masked=False).isel(band=0, drop=True)
            if kind == "geotiff" else xr_landcover.open_zarr(target))
    np.testing.assert_array_equal(back.values, da.values)


def test_a_store_put_back_after_a_kill_between_the_renames_is_the_old_one(tmp_path):
    import xarray as xr

    target = tmp_path / "landcover.zarr"
    write_map("zarr", target, value=0)
    before = tree(target)
    kill(start_writer("zarr", target, "renames", value=1))
    assert not target.exists()  # the premise: killed with the old store moved aside
    other = xr.DataArray(np.zeros((2, 2), "uint8"), dims=("y", "x"))
    with pytest.warns(UserWarning, match="put .* back from"):
        with pytest.raises(xr_landcover.OutputExistsError):  # it is back: not overwritten
            xr_landcover.to_zarr(other, target)
    assert tree(target) == before
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.mark.parametrize("kind", ["geotiff", "zarr"])
def test_a_live_writers_stage_is_never_removed(tmp_path, kind):
    target = tmp_path / ("landcover.tif" if kind == "geotiff" else "landcover.zarr")
    write_map(kind, target, value=0)
    writer = start_writer(kind, target, "blocks", value=1)
    try:
        staged = sorted(p.name for p in tmp_path.iterdir() if p.name != target.name)
        assert staged and all(f".{writer.pid}@" in n for n in staged)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            da = write_map(kind, target, value=2)  # a second writer of the same target
        assert not [w for w in caught if "staged path" in str(w.message)]  # nothing removed
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([target.name, *staged])
        assert writer.poll() is None  # still running, its stage untouched
    finally:
        kill(writer)
    back = (xr_landcover.open_image(target, masked=False).isel(band=0, drop=True)
            if kind == "geotiff" else xr_landcover.open_zarr(target))
    np.testing.assert_array_equal(back.values, da.values)


# --------------------------------------------------------------------------------------------
# A full disk: a clear DiskFullError naming the disk and the path; the old output survives
# --------------------------------------------------------------------------------------------


def noise_map(n: int, dtype="uint8", seed=0):
    """An ``n`` x ``n`` map of noise (incompressible: the compressed copy is as big)."""
    import xarray as xr

    values = np.random.default_rng(seed).integers(0, 250, (n, n)).astype(dtype)
    da = xr.DataArray(values, dims=("y", "x"), name="landcover",
                      coords={"y": 5000.0 - 10 * np.arange(n) - 5, "x": 10 * np.arange(n) + 5.0})
    return da.rio.write_crs("EPSG:32618").chunk(256)


def assert_says_disk_full(info, disk, target):
    from xr_landcover.errors import DiskFullError

    error = info.value
    assert isinstance(error, DiskFullError) and isinstance(error, OSError)
    assert error.errno == errno.ENOSPC
    message = str(error)
    assert f"no space left on tmpfs (mounted at {disk}" in message
    assert f"while writing '{target}'" in message and "free some space" in message
    assert error.__cause__ is not None  # the raw error, chained


@pytest.mark.parametrize("step", ["stage", "copy"])
def test_disk_full_geotiff_keeps_the_old_file(small_disk, monkeypatch, step):
    """In the uncompressed stage, or in the compressing copy after the stage was complete
    (the copy goes to a staged file, never into the target)."""
    import rasterio.shutil

    target = small_disk / "landcover.tif"
    xr_landcover.to_geotiff(noise_map(64), target)
    before = sha256(target)
    copies, real_copy = [], rasterio.shutil.copy

    def recording_copy(src, dst, **kwargs):
        copies.append(pathlib.Path(src).stat().st_size)
        return real_copy(src, dst, **kwargs)

    monkeypatch.setattr(rasterio.shutil, "copy", recording_copy)
    # a 2.4 MB stage: 1 MB free fills up in the stage, 3.9 MB in the (2.4 MB) copy
    fill(small_disk, 1_000_000 if step == "stage" else 3_900_000)
    with pytest.raises(OSError) as info:
        xr_landcover.to_geotiff(noise_map(1536, seed=1), target, overwrite=True)
    assert_says_disk_full(info, small_disk, target)
    # the stage (2.4 MB), its overviews (a third more) and the copy
    assert "the write needs up to 6.3 MB there" in str(info.value)
    assert len(copies) == (step == "copy")  # the premise: where the disk filled up
    if step == "stage":  # GDAL did not raise: the full disk was found before the copy
        assert ".stage" in str(info.value.__cause__) and "No space left" in str(
            info.value.__cause__)
    assert sha256(target) == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "landcover.tif"]


def test_disk_full_zarr_keeps_the_old_store(small_disk):
    target = xr_landcover.to_zarr(noise_map(64), small_disk / "landcover.zarr")
    before = tree(target)
    fill(small_disk, 500_000)
    with pytest.raises(OSError) as info:
        xr_landcover.to_zarr(noise_map(1024, seed=1), target, overwrite=True)
    assert_says_disk_full(info, small_disk, target)
    assert tree(target) == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "landcover.zarr"]


def slow_except_first(delay: float):
    """A ``map_blocks`` function that raises on the block at (0, 0) at once and passes the
    others through after ``delay`` seconds: their chunk writes come after the failure."""
    import time

    def block_function(block, block_info=None):
        if block_info is None or block.size == 0:
            return block
        if block_info[0]["chunk-location"] == (0, 0):
            raise OSError(errno.EIO, "the first block fails")
        time.sleep(delay)
        return block

    return block_function


@pytest.mark.parametrize("scheduler", ["threads", "configured-pool", "cluster"])
def test_chunks_written_after_a_failure_do_not_bring_the_stage_back(tmp_path, scheduler,
                                                                     request):
    """dask raises the first task error while other workers finish their tasks: a Zarr chunk
    written after the clean-up would create the staging folder again (seen on CI, the disk
    full test above). The write waits for every started task before cleaning up."""
    import time

    classes = noise_map(512)
    broken = classes.copy(data=classes.data.map_blocks(slow_except_first(0.5), dtype="uint8"))
    if scheduler == "cluster":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=2, processes=False,
                          dashboard_address=":0") as cluster, Client(cluster):
            with pytest.raises(OSError, match="the first block fails"):
                xr_landcover.to_zarr(broken, tmp_path / "landcover.zarr")
    elif scheduler == "configured-pool":  # the user's own pool, which must stay usable
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(4) as pool, dask.config.set(scheduler="threads", pool=pool):
            with pytest.raises(OSError, match="the first block fails"):
                xr_landcover.to_zarr(broken, tmp_path / "landcover.zarr")
            assert pool.submit(sum, [1, 2]).result() == 3
    else:
        with dask.config.set(scheduler="threads", num_workers=4), \
                pytest.raises(OSError, match="the first block fails"):
            xr_landcover.to_zarr(broken, tmp_path / "landcover.zarr")
    time.sleep(1.0)  # any straggler has written by now
    assert list(tmp_path.iterdir()) == []


def test_disk_full_model_save_keeps_the_old_model(small_disk, model):
    target = model.save(small_disk / "model.skops")
    before = sha256(target)
    fill(small_disk, 8192)
    with pytest.raises(OSError) as info:
        model.save(target, overwrite=True)
    assert_says_disk_full(info, small_disk, target)
    assert sha256(target) == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "model.skops"]


# --------------------------------------------------------------------------------------------
# A corrupt block in an input file, through classify
# --------------------------------------------------------------------------------------------


def test_corrupt_block_error_propagates_through_classify(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 120, (3, 512, 512)).astype("uint8")
    data[:, :, 256:] += 120
    clean = write_raster(tmp_path / "clean.tif", data, tiled=True, blockxsize=256,
                         blockysize=256, compress="deflate", descriptions=["r", "g", "b"])
    corrupt = tmp_path / "corrupt.tif"
    raw = bytearray(clean.read_bytes())
    with rasterio.open(clean) as src:  # the bottom-left tile of band 2
        offset = int(src.get_tag_item("BLOCK_OFFSET_0_1", "TIFF", bidx=2))
    raw[offset + 10: offset + 3000] = b"\xab" * 2990
    corrupt.write_bytes(bytes(raw))

    import geopandas as gpd
    import shapely

    t = rasterio.open(clean).transform
    boxes = [shapely.box(*(t @ (20, 60)), *(t @ (60, 20))),
             shapely.box(*(t @ (300, 60)), *(t @ (340, 20)))]
    samples = gpd.GeoDataFrame({"id": [1, 2]}, geometry=boxes, crs="EPSG:32618")
    model = quiet_train(xr_landcover.open_image(clean, chunks=256), samples, "id",
                        method="knn", max_samples_per_class=100)
    classes = xr_landcover.classify(xr_landcover.open_image(corrupt, chunks=256), model)
    np.testing.assert_array_equal(classes.isel(y=slice(0, 256)).values,
                                  xr_landcover.classify(xr_landcover.open_image(clean),
                                                        model).isel(y=slice(0, 256)).values)
    with pytest.raises(RasterReadError) as info:
        classes.compute()
    message = str(info.value)
    assert "corrupt.tif" in message
    assert "rows 256:512, columns 0:256" in message
    assert isinstance(info.value, OSError)
    with pytest.raises(RasterReadError, match="corrupt.tif"):
        xr_landcover.to_geotiff(classes, tmp_path / "out.tif")
    assert not (tmp_path / "out.tif").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.tif", "corrupt.tif"]


# --------------------------------------------------------------------------------------------
# Security: loading never runs code from the file
# --------------------------------------------------------------------------------------------


class TouchOnUnpickle:
    """A pickle payload: unpickling it calls ``Path.touch(marker)``."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


class TouchOnSetstate:
    """A class nobody has vetted: building it from a skops file would touch ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __getstate__(self):
        return {"marker": self.marker}

    def __setstate__(self, state):
        pathlib.Path(state["marker"]).touch()
        self.__dict__.update(state)


def test_the_pickle_payload_is_live(tmp_path):
    """Control: the payload really creates the file when unpickled (so the test below can fail)."""
    marker = tmp_path / "ran.txt"
    pickle.loads(pickle.dumps(TouchOnUnpickle(marker)))
    assert marker.exists()


def test_pickle_named_skops_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran.txt"
    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(TouchOnUnpickle(marker)))
    with pytest.raises(ModelFileError, match="Pickle and joblib files are refused"):
        LandcoverModel.load(path)
    # also when the pickle sits inside a zip archive dressed as a skops file
    dressed = tmp_path / "dressed.skops"
    with zipfile.ZipFile(dressed, "w") as z:
        z.writestr("schema.json", '{"__class__": "dict", "__module__": "builtins"}')
        z.writestr("estimator.pkl", pickle.dumps(TouchOnUnpickle(marker)))
    with pytest.raises(ModelFileError, match="dressed.skops"):
        LandcoverModel.load(dressed)
    assert not marker.exists()


def test_crafted_skops_with_untrusted_class_is_refused_and_never_run(model, tmp_path):
    marker = tmp_path / "ran.txt"
    payload = model._payload()
    payload["estimator"] = TouchOnSetstate(marker)
    path = tmp_path / "crafted.skops"
    sio.dump(payload, path)
    assert not marker.exists()
    with pytest.raises(ModelFileError) as info:
        LandcoverModel.load(path)
    message = str(info.value)
    assert "not trusted" in message and "TouchOnSetstate" in message and "trusted=" in message
    assert not marker.exists()
    # Control: trusting the type explicitly does run its __setstate__ (then the model is
    # refused as incomplete: it has no predict). This is why trust must stay explicit.
    name = next(t for t in sio.get_untrusted_types(file=path) if "TouchOnSetstate" in t)
    with pytest.raises(ModelFileError, match="no predict method"):
        LandcoverModel.load(path, trusted=[name])
    assert marker.exists()


def test_crafted_skops_referencing_os_system_is_refused(model, tmp_path):
    import functools

    marker = tmp_path / "ran.txt"
    payload = model._payload()
    payload["estimator"] = functools.partial(os.system, f"touch {marker}")
    path = tmp_path / "system.skops"
    sio.dump(payload, path)
    with pytest.raises(ModelFileError) as info:
        LandcoverModel.load(path)
    message = str(info.value)
    assert "not trusted" in message
    assert any(f"{module}.system" in message for module in ("os", "posix", "nt"))
    assert not marker.exists()


def test_renamed_type_in_schema_is_refused(model, tmp_path):
    """Editing schema.json of a genuine model to point a node at another type is caught."""
    path = model.save(tmp_path / "genuine.skops")
    tampered = tmp_path / "edited.skops"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tampered, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "schema.json":
                text = data.decode()
                assert '"RandomForestClassifier"' in text
                text = text.replace('"RandomForestClassifier"', '"Popen"', 1).replace(
                    '"sklearn.ensemble._forest"', '"subprocess"', 1)
                data = text.encode()
            dst.writestr(item, data)
    with pytest.raises(ModelFileError, match=r"subprocess\.Popen"):
        LandcoverModel.load(tampered)
    assert sha256(path) != sha256(tampered)


# --------------------------------------------------------------------------------------------
# Archives that inflate hugely (zip bombs)
# --------------------------------------------------------------------------------------------


def test_the_zip_bomb_is_real(tmp_path):
    """Control: the builder makes valid archives that inflate to what they state (checked on a
    16 MiB one; the 2 GiB bomb below repeats the same block more often)."""
    data, crc = deflated_zeros(16)
    path = write_zip(tmp_path / "bomb.skops", [("schema.json", data, crc, 16 << 20)])
    assert path.stat().st_size < 20_000
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every CRC checks out
        assert len(archive.read("schema.json")) == 16 << 20
    big, _ = deflated_zeros(2047)
    assert len(big) < 3_000_000


def test_zip_bomb_model_is_refused_before_reading(tmp_path):
    """A 2 MB model file whose schema.json inflates to 2 GiB is refused from its directory,
    before a byte is inflated (tracemalloc: far less than the 2 GiB is ever allocated)."""
    import tracemalloc

    data, crc = deflated_zeros(2047)
    path = write_zip(tmp_path / "bomb.skops", [("schema.json", data, crc, 2047 << 20)])
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=r"bomb\.skops' would inflate to 2,146,435,072"
                                                 r" bytes.*max_bytes= \(default 1,073,741,824\)"):
            LandcoverModel.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 << 20


def test_zip_with_a_lying_header_is_refused(tmp_path):
    """The directory says 1 KiB, the stream inflates to 64 MiB: the bounded reader stops at the
    stated size and the CRC check fails; skops never sees the archive."""
    data, crc = deflated_zeros(64)
    path = write_zip(tmp_path / "liar.skops", [("schema.json", data, crc, 1024)])
    with pytest.raises(ModelFileError, match=r"cannot read '.*liar\.skops' as a model file"):
        LandcoverModel.load(path)


def test_zip_past_the_cap_in_many_members_and_the_cap_can_be_raised(model, tmp_path):
    """Members that are each small add up: the total counts. ``max_bytes`` lowers or raises it."""
    stored = model.save(tmp_path / "genuine.skops")
    path = tmp_path / "deflated.skops"  # the same model, compressed: smaller on disk
    with zipfile.ZipFile(stored) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item.filename, src.read(item.filename))
    size = sum(m.file_size for m in zipfile.ZipFile(path).infolist())
    assert path.stat().st_size < size - 1
    with pytest.raises(ModelFileError, match=f"would inflate to {size:,} bytes.*max_bytes="):
        LandcoverModel.load(path, max_bytes=size - 1)
    assert LandcoverModel.load(path, max_bytes=size).bands == model.bands
    on_disk = stored.stat().st_size  # stored, not deflated: more on disk than inflated
    assert LandcoverModel.load(stored, max_bytes=on_disk).bands == model.bands
    with pytest.raises(ModelFileError, match=r"is [\d,]+ bytes, more than the 1,000 bytes"):
        LandcoverModel.load(path, max_bytes=1000)  # larger than the cap on disk: not even read
    with pytest.raises(ModelFileError, match=r"is [\d,]+ bytes, more than the 1 bytes"):
        LandcoverModel.load(path, max_bytes=1)  # the smallest cap
    with pytest.raises(InvalidParameterError, match="max_bytes must be an integer >= 1; got 0"):
        LandcoverModel.load(path, max_bytes=0)
    with pytest.raises(InvalidParameterError, match="max_bytes must be an integer >= 1; got 1.5"):
        LandcoverModel.load(path, max_bytes=1.5)


def test_zip_with_too_many_members_is_refused(tmp_path):
    import zlib

    from xr_landcover.classification.model import MAX_MODEL_MEMBERS

    empty = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    members = [(f"{i}.npy", empty, 0, 0) for i in range(MAX_MODEL_MEMBERS + 1)]
    path = write_zip(tmp_path / "many.skops", members)
    with pytest.raises(ModelFileError, match="holds 50,001 archive members"):
        LandcoverModel.load(path)
    # exactly the limit: read on (and then found not to be a skops model)
    path = write_zip(tmp_path / "as-many.skops", members[:MAX_MODEL_MEMBERS])
    with pytest.raises(ModelFileError, match="cannot read .* as a model file"):
        LandcoverModel.load(path)
