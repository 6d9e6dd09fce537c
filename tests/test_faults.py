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

import hashlib
import os
import pathlib
import pickle
import signal
import zipfile

import dask
import numpy as np
import pytest
import rasterio
import skops.io as sio
from conftest import write_raster
from helpers import deflated_zeros, fail_on_third_block, quiet_train, write_zip

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classification.model import LandcoverModel
from xr_landcover.errors import ModelFileError, RasterReadError


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
    broken = classes.copy(data=classes.data.map_blocks(fail_on_third_block(exception),
                                                       dtype=classes.dtype))
    with dask.config.set(scheduler=scheduler), pytest.raises(type(exception)):
        xr_landcover.to_geotiff(broken, target, overwrite=True)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["landcover.tif"]
    # and with no previous file, nothing at all is left
    other = tmp_path / "new.tif"
    broken = classes.copy(data=classes.data.map_blocks(fail_on_third_block(exception),
                                                       dtype=classes.dtype))
    with dask.config.set(scheduler=scheduler), pytest.raises(type(exception)):
        xr_landcover.to_geotiff(broken, other)
    assert [p.name for p in tmp_path.iterdir()] == ["landcover.tif"]


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
                                                 r" bytes.*max_bytes="):
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
    with pytest.raises(ModelFileError, match=r"is [\d,]+ bytes, more than the 1,000 bytes"):
        LandcoverModel.load(path, max_bytes=1000)  # larger than the cap on disk: not even read


def test_zip_with_too_many_members_is_refused(tmp_path):
    import zlib

    from xr_landcover.classification.model import MAX_MODEL_MEMBERS

    empty = zlib.compressobj(9, zlib.DEFLATED, -15).flush()
    members = [(f"{i}.npy", empty, 0, 0) for i in range(MAX_MODEL_MEMBERS + 1)]
    path = write_zip(tmp_path / "many.skops", members)
    with pytest.raises(ModelFileError, match="holds 50,001 archive members"):
        LandcoverModel.load(path)
