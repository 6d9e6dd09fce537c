"""Helpers shared by the tests (importable: ``tests`` is on pytest's ``pythonpath``)."""

from __future__ import annotations

import importlib.util
import itertools
import os
import shutil
import struct
import subprocess
import threading
import warnings
import zlib
from contextlib import contextmanager
from pathlib import Path

import xr_landcover


def load_script(name: str):
    """The module of ``scripts/<name>.py`` (the scripts are not a package)."""
    path = Path(__file__).resolve().parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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


def assert_matches_sklearn(rep, m, r):
    """The report ``rep`` of (map, reference) pairs ``m``, ``r`` says what scikit-learn says:
    confusion matrix (transposed: the report puts the map in rows), overall accuracy, kappa,
    user's accuracy (precision), producer's accuracy (recall) and F1."""
    import numpy as np
    import pytest
    from sklearn.metrics import (
        accuracy_score,
        cohen_kappa_score,
        confusion_matrix,
        precision_recall_fscore_support,
    )

    labels = list(rep.class_values)
    # scikit-learn puts the truth (reference) in rows; the report puts the map in rows
    np.testing.assert_array_equal(rep.counts, confusion_matrix(r, m, labels=labels).T)
    assert rep.n_samples == len(m)
    assert rep.overall_accuracy == pytest.approx(accuracy_score(r, m), abs=1e-12)
    assert rep.kappa == pytest.approx(
        cohen_kappa_score(r, m, labels=labels), abs=1e-12, nan_ok=True
    )
    prec, rec, f1, _ = precision_recall_fscore_support(r, m, labels=labels, zero_division=np.nan)
    np.testing.assert_allclose(rep.users_accuracy.to_numpy(), prec, atol=1e-12)
    np.testing.assert_allclose(rep.producers_accuracy.to_numpy(), rec, atol=1e-12)
    defined = ~np.isnan(f1)
    np.testing.assert_allclose(rep.f1.to_numpy()[defined], f1[defined], atol=1e-12)


def run_otb_regularization(classes, folder, *, radius=1, suvbool=False, nodatalabel=0,
                           undecidedlabel=0, onlyisolatedpixels=False, isolatedthreshold=1):
    """``otbcli_ClassificationMapRegularization`` on the 2-D integer array ``classes`` (written
    to and read back from GeoTIFFs in ``folder``); the output keeps the input's dtype."""
    import subprocess
    from pathlib import Path

    import numpy as np
    import rasterio
    from conftest import write_raster

    folder = Path(folder)
    src = write_raster(folder / "otb_in.tif", classes)
    dst = folder / "otb_out.tif"
    pixel = {np.dtype("uint8"): "uint8", np.dtype("uint16"): "uint16",
             np.dtype("int16"): "int16", np.dtype("int32"): "int32"}[np.dtype(classes.dtype)]
    cmd = ["otbcli_ClassificationMapRegularization", "-io.in", str(src), "-io.out", str(dst),
           pixel, "-ip.radius", str(radius), "-ip.suvbool", str(bool(suvbool)).lower(),
           "-ip.nodatalabel", str(nodatalabel), "-ip.undecidedlabel", str(undecidedlabel),
           "-ip.onlyisolatedpixels", str(bool(onlyisolatedpixels)).lower(),
           "-ip.isolatedthreshold", str(isolatedthreshold)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    with rasterio.open(dst) as f:
        return f.read(1)


def deflated_zeros(n_mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``n_mib`` MiB of zeros (a few KB per MiB) and its CRC-32, built
    without compressing the zeros more than once: full-flush blocks are independent, so one
    MiB's block repeated is a valid stream of the whole."""
    mib = bytes(1 << 20)
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = packer.compress(mib) + packer.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty final block
    crc = 0
    for _ in range(n_mib):
        crc = zlib.crc32(mib, crc)
    return block * n_mib + final, crc


def write_zip(path, members) -> Path:
    """A zip archive written field by field: ``members`` are ``(name, deflated, crc, size)``
    with ``size`` the uncompressed size the headers state (true or not)."""
    body, directory, offset = [], [], 0
    for name, data, crc, size in members:
        name = name.encode()
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size,
                            len(name), 0) + name + data
        directory.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0,
                                     crc, len(data), size, len(name), 0, 0, 0, 0, 0, offset)
                         + name)
        body.append(local)
        offset += len(local)
    directory = b"".join(directory)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members),
                      len(directory), offset, 0)
    path = Path(path)
    path.write_bytes(b"".join(body) + directory + end)
    return path


def fill(disk, leave: int) -> None:
    """Fill ``disk`` up to ``leave`` bytes free."""
    free = shutil.disk_usage(disk).free
    (disk / "filler").write_bytes(b"\0" * (free - leave))
    assert abs(shutil.disk_usage(disk).free - leave) < 16384


@contextmanager
def mounted_tmpfs(mount: Path, size: str = "8m", device: str = "tmpfs"):
    """A ``size`` tmpfs named ``device`` (what ``df`` shows) mounted at ``mount`` (created if
    missing; root only, else the test is skipped), unmounted on exit."""
    import pytest

    mount.mkdir(exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", device, str(mount)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)
