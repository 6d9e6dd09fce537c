"""GeoTIFF writing: colour table, class names, nodata, tiles, atomic replace, errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import warnings

import numpy as np
import pytest
import rasterio
import rasterio.shutil

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classmap import ClassMap
from xr_landcover.errors import OutputExistsError, RasterFileNotFoundError

GDALINFO = shutil.which("gdalinfo")
needs_gdalinfo = pytest.mark.skipif(
    GDALINFO is None, reason="gdalinfo not found: install Debian's gdal-bin (`make gdal`)")


def gdalinfo(path) -> dict:
    """``gdalinfo -json`` of ``path`` (Debian's gdal-bin: another GDAL than rasterio's)."""
    done = subprocess.run([GDALINFO, "-json", "-noct", str(path)], capture_output=True,
                          text=True, check=True)
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def cube():
    return datasets.nc_landsat7(chunks=100)


@pytest.fixture(scope="module")
def both(cube):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = xr_landcover.train(cube, datasets.nc_training_polygons(), "id", "label",
                                   method="random_trees", max_samples_per_class=50,
                                   random_state=0)
    return cube.landcover.classify(model, confidence=True)


def test_class_map_with_colour_table(both, tmp_path):
    classes = both["landcover"]
    out = classes.landcover.to_geotiff(tmp_path / "landcover.tif")
    with rasterio.open(out) as src:
        assert src.count == 1 and src.dtypes[0] == "uint8" and src.nodata == 0
        assert src.profile["tiled"] and src.block_shapes[0] == (256, 256)
        assert src.compression.name.lower() == "deflate"
        assert src.crs == classes.rio.crs and src.transform == classes.rio.transform()
        cmap = src.colormap(1)
        for value, rgb in ClassMap.from_dataarray(classes).colormap.items():
            assert cmap[value] == (*rgb, 255)
        assert cmap[0][3] == 0  # nodata is transparent
        assert src.tags()["CLASS_6"] == "water"
        assert src.tags(1)["flag_meanings"] == classes.attrs["flag_meanings"]
        assert src.tags(1)["flag_values"] == "1 3 4 5 6 7"
        assert src.descriptions == ("landcover",)
        np.testing.assert_array_equal(src.read(1), classes.values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landcover.tif",
                                                          "landcover.tif.aux.xml"]


@needs_gdalinfo
def test_gdal_tools_show_the_class_names_and_attribute_table(both, tmp_path):
    """gdalinfo (as QGIS, through GDAL) finds the category names and a thematic RAT (value,
    name, colour, pixel count) in GDAL's sidecar beside the file."""
    classes = both["landcover"]
    out = classes.landcover.to_geotiff(tmp_path / "landcover.tif")
    info = gdalinfo(out)
    assert sorted(info["files"]) == [str(out), f"{out}.aux.xml"]
    band = info["bands"][0]
    values = [int(v) for v in classes.attrs["flag_values"]]
    names = list(classes.attrs["class_names"])
    assert band["categories"][6] == "water" == names[values.index(6)]
    assert [band["categories"][v] for v in values] == names
    rat = info["rat"]
    assert rat["tableType"] == "thematic"
    assert [(f["name"], f["usage"]) for f in rat["fieldDefn"]] == [
        ("Value", 5), ("ClassName", 2), ("Red", 6), ("Green", 7), ("Blue", 8), ("Count", 1)]
    present, counts = np.unique(classes.values, return_counts=True)
    count_of = dict(zip(present.tolist(), counts.tolist()))
    colours = ClassMap.from_dataarray(classes).colormap
    assert [row["f"] for row in rat["row"]] == [
        [v, n, *colours[v], count_of.get(v, 0)] for v, n in zip(values, names)]


def test_the_sidecar_is_replaced_with_the_file_and_never_paired_with_another(both, tmp_path):
    target = tmp_path / "landcover.tif"
    sidecar = tmp_path / "landcover.tif.aux.xml"
    sidecar.write_text("<PAMDataset/>")  # left by something else, without its file
    with pytest.raises(OutputExistsError, match="aux.xml' exists: GDAL would read it"):
        xr_landcover.to_geotiff(both["landcover"], target)
    assert sidecar.read_text() == "<PAMDataset/>" and not target.exists()
    xr_landcover.to_geotiff(both["landcover"], target, overwrite=True)
    assert "<Category>water</Category>" in sidecar.read_text()
    # a layer without classes over it: the old file's class names go with the old file
    xr_landcover.to_geotiff(both.confidence, target, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landcover.tif"]
    with rasterio.open(target) as src:
        assert src.dtypes[0] == "float32"


def test_a_failed_rename_puts_the_old_sidecar_back(both, tmp_path, monkeypatch):
    """The old sidecar is moved aside just before the file's rename: when that rename fails,
    the old file and its sidecar are both as they were."""
    import os

    target = tmp_path / "landcover.tif"
    target.write_bytes(b"old file")
    (tmp_path / "landcover.tif.aux.xml").write_bytes(b"old sidecar")
    real_replace = os.replace

    def replace(src, dst):
        if str(dst) == str(target):
            raise OSError("rename failed")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    small = both["landcover"].isel(y=slice(0, 64), x=slice(0, 64))
    with pytest.raises(OSError, match="rename failed"):
        xr_landcover.to_geotiff(small, target, overwrite=True)
    assert target.read_bytes() == b"old file"
    assert (tmp_path / "landcover.tif.aux.xml").read_bytes() == b"old sidecar"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landcover.tif",
                                                          "landcover.tif.aux.xml"]


def test_plain_attrs_become_tags_except_on_a_class_map(both, tmp_path):
    import json

    layer = both.confidence.copy()
    layer.attrs.update(method="random_trees", trees=50, cut=0.5, kinds=["a", "b"],
                       nested={"a": 1}, mixed=["a", {"b": 1}])
    out = xr_landcover.to_geotiff(layer, tmp_path / "confidence.tif")
    with rasterio.open(out) as src:
        tags = src.tags()
    assert tags["method"] == "random_trees" and tags["trees"] == "50" and tags["cut"] == "0.5"
    assert json.loads(tags["kinds"]) == ["a", "b"]
    assert "nested" not in tags and "mixed" not in tags and "_FillValue" not in tags
    classes = both["landcover"].copy()
    classes.attrs["method"] = "random_trees"
    out = xr_landcover.to_geotiff(classes, tmp_path / "classes.tif")
    with rasterio.open(out) as src:
        assert "method" not in src.tags() and src.tags()["CLASS_6"] == "water"


def test_float_confidence_and_band_cube(both, cube, tmp_path):
    out = xr_landcover.to_geotiff(both["confidence"], tmp_path / "confidence.tif")
    with rasterio.open(out) as src:
        assert src.dtypes[0] == "float32" and np.isnan(src.nodata)
        with pytest.raises(ValueError):
            src.colormap(1)
        np.testing.assert_array_equal(src.read(1), both["confidence"].values)
    out = cube.landcover.to_geotiff(tmp_path / "cube.tif", compress="lzw")
    with rasterio.open(out) as src:
        assert src.count == 6 and src.descriptions == tuple(cube.band.values)
        np.testing.assert_array_equal(src.read(), cube.values)


def test_existing_file_and_missing_folder(both, tmp_path):
    target = tmp_path / "out.tif"
    target.write_bytes(b"keep me")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        xr_landcover.to_geotiff(both["landcover"], target)
    assert target.read_bytes() == b"keep me"
    xr_landcover.to_geotiff(both["landcover"], target, overwrite=True)
    with rasterio.open(target) as src:
        assert src.read(1).shape == (443, 489)
    with pytest.raises(RasterFileNotFoundError, match="folder"):
        xr_landcover.to_geotiff(both["landcover"], tmp_path / "no" / "such" / "out.tif")
    with pytest.raises(TypeError, match="pick a variable"):
        xr_landcover.to_geotiff(both, tmp_path / "ds.tif")


def test_error_mid_way_leaves_nothing_behind(both, tmp_path):
    classes = both["landcover"]
    written = []
    lock = threading.Lock()

    def fail_late(block, block_info=None):
        # the tenth block computed fails, whichever it is: dask's order of the blocks breaks
        # ties by key names, which hold random tokens, so a fixed block could come first
        with lock:
            if len(written) == 9:
                raise RuntimeError("disk on fire")
            written.append(block_info[0]["chunk-location"])
        return block

    broken = classes.copy(data=classes.data.map_blocks(fail_late, dtype=classes.dtype))
    target = tmp_path / "landcover.tif"
    with pytest.raises(RuntimeError, match="disk on fire"):
        xr_landcover.to_geotiff(broken, target)
    assert list(tmp_path.iterdir()) == []
    assert len(written) == 9
    target.write_bytes(b"previous result")
    (tmp_path / "landcover.tif.aux.xml").write_bytes(b"previous sidecar")
    written.clear()
    with pytest.raises(RuntimeError, match="disk on fire"):
        xr_landcover.to_geotiff(broken, target, overwrite=True)
    assert target.read_bytes() == b"previous result"
    assert (tmp_path / "landcover.tif.aux.xml").read_bytes() == b"previous sidecar"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["landcover.tif",
                                                          "landcover.tif.aux.xml"]
    assert len(written) == 9  # other blocks were computed and written before the failure


def test_written_block_by_block(both, tmp_path):
    seen = []

    def spy(block, block_info=None):
        if block.size:  # dask also calls it on empty arrays to infer metadata
            seen.append(block.shape)
        return block

    classes = both["landcover"]
    watched = classes.copy(data=classes.data.map_blocks(spy, dtype=classes.dtype))
    xr_landcover.to_geotiff(watched, tmp_path / "blocks.tif")
    assert len(seen) == 25 and max(seen) == (100, 100)  # once each: the RAT counts them too


_COPY_MEMORY = r"""
import json, os, sys
import dask.array as da, numpy as np, xarray as xr
import dask
import xr_landcover, xr_landcover.io.geotiff as geotiff
geotiff.COPY_CACHE_MB = int(sys.argv[2])
dask.config.set(scheduler="synchronous")  # one block in memory at a time, on any machine
n = 8000  # a 64 MB uint8 map, built lazily in 1000² blocks
data = da.random.default_rng(0).integers(0, 8, (n, n), chunks=1000, dtype=np.uint8)
m = xr.DataArray(data, dims=("y", "x"), coords={"y": 1e5 - np.arange(n) * 30.0 - 15,
                 "x": np.arange(n) * 30.0 + 15}, name="landcover").rio.write_crs("EPSG:32617")
def peak_mb():  # this process's own peak (VmHWM; ru_maxrss may hold the parent's, via vfork)
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith("VmHWM")) / 1024
before = peak_mb()
xr_landcover.to_geotiff(m, sys.argv[1])
print(json.dumps(peak_mb() - before))
"""


def test_the_compressing_copy_does_not_cache_the_whole_file(tmp_path):
    """GDAL's default block cache (5 % of RAM) would hold the whole staging file while it is
    copied into the compressed GeoTIFF, so memory grew with the scene (1.7 GB at 40000²).
    to_geotiff caps it (COPY_CACHE_MB) unless the user set GDAL_CACHEMAX, which is kept.

    The check compares two runs that differ only in the cache limit (same data, same
    single-threaded scheduler, same allocator): the one with the user's 1024 MB cache holds the
    64 MB staging file's blocks, the capped one at most 8 MB of them, so the peaks differ by
    about 56 MB (63-66 MB measured here). The threshold is half of that: what the allocator,
    thread stacks or library versions add is common to both runs and cannot bridge 28 MB. An
    absolute bound on the peak depends on the allocator and the machine: that figure is the
    benchmark's (benchmarks/bench_scale.py, results/bench_scale_40000*.json)."""
    import json
    import os
    import subprocess
    import sys

    def growth(name: str, cache_mb: int, env: dict) -> float:
        out = subprocess.run(
            [sys.executable, "-c", _COPY_MEMORY, str(tmp_path / name), str(cache_mb)],
            capture_output=True, text=True, env={**os.environ, **env})
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout.strip().splitlines()[-1])

    capped = growth("capped.tif", 8, {})
    users_choice = growth("users.tif", 8, {"GDAL_CACHEMAX": "1024"})
    assert users_choice - capped > (64 - 8) / 2, (users_choice, capped)  # MB
    with rasterio.open(tmp_path / "capped.tif") as a:
        assert a.compression is not None and a.read(1, window=((0, 5), (0, 5))).max() <= 7


def test_layers_of_one_computation_are_written_in_one_pass(both, tmp_path):
    # The class map and the confidence of one classify call: each block is predicted once (one
    # dask task per block of the classification), and the files equal the arrays.
    from dask.callbacks import Callback

    from xr_landcover.io import to_geotiffs

    ran = []

    class Record(Callback):
        def _pretask(self, key, dask, state):
            name = key[0] if isinstance(key, tuple) else key
            if str(name).startswith("landcover-classify-"):
                ran.append(key)

    layers = {tmp_path / "classes.tif": both["landcover"],
              tmp_path / "conf.tif": both["confidence"]}
    with Record():
        paths = to_geotiffs(layers)
    assert len(ran) == len(set(ran)) == both["landcover"].data.npartitions
    with rasterio.open(paths[0]) as classes, rasterio.open(paths[1]) as conf:
        np.testing.assert_array_equal(classes.read(1), both["landcover"].values)
        np.testing.assert_array_equal(conf.read(1), both["confidence"].values)
        assert classes.colormap(1)[6][:3] == ClassMap.from_dataarray(both["landcover"]).colormap[6]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classes.tif", "classes.tif.aux.xml",
                                                          "conf.tif"]


def test_layers_are_checked_before_any_work_and_replace_nothing_on_failure(both, tmp_path):
    from helpers import fail_on_third_block

    from xr_landcover.errors import InvalidParameterError
    from xr_landcover.io import to_geotiffs

    old = tmp_path / "conf.tif"
    old.write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="conf.tif"):  # before computing the class map
        to_geotiffs({tmp_path / "classes.tif": both["landcover"], old: both["confidence"]})
    with pytest.raises(InvalidParameterError, match="same file"):
        to_geotiffs({tmp_path / "a.tif": both["landcover"],
                     str(tmp_path / "a.tif"): both["confidence"]})
    broken = both["confidence"].copy(data=both["confidence"].data.map_blocks(
        fail_on_third_block(RuntimeError("disk on fire")), dtype=np.float32))
    with pytest.raises(RuntimeError, match="disk on fire"):
        to_geotiffs({tmp_path / "classes.tif": both["landcover"], old: broken}, overwrite=True)
    assert old.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf.tif"]  # nothing else left


def test_float16_is_written_as_float32_exactly(tmp_path):
    from conftest import synthetic_cube

    values = np.array([[[0.1, 65504.0], [np.nan, -2.0 ** -24]]], np.float16)  # incl. extremes
    cube = synthetic_cube(values, bands=["ndvi"], chunks={"band": 1, "y": 1, "x": 1})
    assert cube.dtype == np.float16
    out = xr_landcover.to_geotiff(cube, tmp_path / "half.tif")
    with rasterio.open(out) as src:
        assert src.dtypes == ("float32",)
        back = src.read()
    np.testing.assert_array_equal(back, values.astype(np.float32))  # every value kept exactly


def test_every_compression_offered_is_really_used(both, tmp_path):
    """The probe of GDAL's codecs is right: each compression offered is the file's, and a name
    GDAL ignores (it would write an uncompressed file with a mere warning) is refused."""
    from xr_landcover.errors import InvalidParameterError
    from xr_landcover.io.geotiff import COMPRESSIONS, supported_compressions

    offered = supported_compressions()
    assert {"deflate", "lzw", "none"} <= set(offered) <= set(COMPRESSIONS)
    small = both["landcover"].isel(y=slice(0, 64), x=slice(0, 64))
    for name in offered:
        out = xr_landcover.to_geotiff(small, tmp_path / f"{name}.tif", compress=name.upper())
        with rasterio.open(out) as src:
            found = src.tags(ns="IMAGE_STRUCTURE").get("COMPRESSION", "none").lower()
            np.testing.assert_array_equal(src.read(1), small.values)
        assert found == name
    with pytest.raises(InvalidParameterError, match=r"compress must be one of \['deflate'"):
        xr_landcover.to_geotiff(small, tmp_path / "x.tif", compress="zip9000")
    assert not (tmp_path / "x.tif").exists()


def test_a_folder_at_the_path_is_refused_before_any_work(both, tmp_path, no_compute):
    folder = tmp_path / "landcover.tif"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match="is a folder, and a file never replaces"):
        xr_landcover.to_geotiff(both["landcover"], folder, overwrite=True)
    assert no_compute.calls == 0
    assert (folder / "keep.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["keep.txt", "landcover.tif"]


def assert_cloud_optimised(path, tile_size: int, factors: list[int]) -> None:
    """The rules of GDAL's validate_cloud_optimized_geotiff: tiled, the overviews asked for,
    the structural metadata at the start of the file, every IFD before the data and the
    tiles of the smallest overview first, the full-resolution image last; and gdalinfo (another
    GDAL) reads the layout as COG."""
    with rasterio.open(path) as src:
        assert src.block_shapes[0] == (tile_size, tile_size) and src.overviews(1) == factors
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        first_tile = [int(src.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1))]
    for level in range(len(factors)):
        with rasterio.open(path, overview_level=level) as ovr:
            assert ovr.block_shapes[0] == (tile_size, tile_size)
            first_tile.append(int(ovr.get_tag_item("BLOCK_OFFSET_0_0", "TIFF", bidx=1)))
    # data of the full image after the overviews', each level after the smaller ones
    assert first_tile == sorted(first_tile, reverse=True), first_tile
    head = path.read_bytes()[:1024]
    assert b"GDAL_STRUCTURAL_METADATA" in head and b"LAYOUT=IFDS_BEFORE_DATA" in head
    if GDALINFO is not None:
        info = gdalinfo(path)
        assert info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"] == "COG"
        assert len(info["bands"][0]["overviews"]) == len(factors)


def test_a_class_map_is_a_cog_whose_overviews_keep_the_majority_class(tmp_path):
    """Each 2 x 2 block holds three pixels of class 100 and one of class 1, the 1 anywhere:
    the overviews are 100 throughout (mode); nearest would pick the 1 in some blocks and
    average would invent class 75."""
    from conftest import synthetic_class_map

    rng = np.random.default_rng(0)
    n = 600  # > 2 tiles of 256: two overview levels (300, 150)
    data = np.full((n, n), 100, np.uint8)
    corner = rng.integers(0, 4, (n // 2, n // 2))
    rows, cols = np.nonzero(np.ones((n // 2, n // 2), bool))
    data[2 * rows + corner.ravel() // 2, 2 * cols + corner.ravel() % 2] = 1
    classes = synthetic_class_map(data, values=[1, 100], names=["water", "forest"],
                                  colors=[(0, 0, 255), (0, 128, 0)], chunks=128)
    out = xr_landcover.to_geotiff(classes, tmp_path / "classes.tif")
    assert_cloud_optimised(out, 256, [2, 4])
    with rasterio.open(out, overview_level=0) as ovr:
        assert np.unique(ovr.read(1)).tolist() == [100]
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), data)
        assert src.colormap(1)[100][:3] == (0, 128, 0)


def test_a_continuous_layer_gets_average_overviews_and_no_overviews_on_request(both, tmp_path):
    # 442 x 488 (even: each overview pixel is a 2 x 2 block): one level with 256-pixel tiles
    conf = both.confidence.isel(y=slice(0, 442), x=slice(0, 488))
    out = xr_landcover.to_geotiff(conf, tmp_path / "confidence.tif")
    assert_cloud_optimised(out, 256, [2])
    means = conf.values.astype(np.float64).reshape(221, 2, 244, 2).mean(axis=(1, 3))
    with rasterio.open(out, overview_level=0) as ovr:
        half = ovr.read(1).astype(np.float64)
    inside = np.isfinite(means)  # a block with NaN: GDAL averages the other pixels
    np.testing.assert_allclose(half[inside], means[inside], rtol=1e-5)
    flat = xr_landcover.to_geotiff(conf, tmp_path / "flat.tif", overviews=None)
    with rasterio.open(flat) as src:
        assert src.overviews(1) == [] and src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        np.testing.assert_array_equal(src.read(1), conf.values)
    from xr_landcover.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"overviews must be None .* got 'bicubic'"):
        xr_landcover.to_geotiff(conf, tmp_path / "x.tif", overviews="bicubic")


def test_the_same_bytes_on_every_scheduler(both, tmp_path):
    import hashlib

    import dask

    digests = set()
    for scheduler in ("sync", "threads"):
        with dask.config.set(scheduler=scheduler):
            out = xr_landcover.to_geotiff(both["landcover"], tmp_path / f"{scheduler}.tif")
        digests.add((hashlib.sha256(out.read_bytes()).hexdigest(),
                     (tmp_path / f"{out.name}.aux.xml").read_bytes()))
    assert len(digests) == 1


@pytest.mark.parametrize("width, height", [(1000, 600), (100, 1000), (513, 20), (20, 513),
                                           (512, 512), (257, 3000), (256, 256), (1025, 1)])
def test_overview_factors_are_those_gdal_picks(width, height, tmp_path):
    """overview_factors against GDAL's COG driver left to choose (wide, tall, one pixel over
    two tiles, exactly two tiles, one tile)."""
    from rasterio.io import MemoryFile

    from xr_landcover.io.geotiff import overview_factors

    with warnings.catch_warnings(), MemoryFile() as mem:
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with mem.open(driver="GTiff", width=width, height=height, count=1, dtype="uint8") as d:
            d.write(np.zeros((1, height, width), "uint8"))
        with mem.open() as src:
            rasterio.shutil.copy(src, tmp_path / "gdal.tif", driver="COG", blocksize=256)
    with rasterio.open(tmp_path / "gdal.tif") as cog:
        assert overview_factors(width, height, 256) == cog.overviews(1)


def test_layers_of_every_shape_dtype_and_chunking(tmp_path):
    """A band cube chunked band by band (dask) and in memory, an integer band cube (average
    overviews, as for any band cube), a map given as (x, y), a boolean map (a mask of a
    class map: 0/1, no nodata, none of the class map's classes), a plain uint8
    layer without classes (no colour table) and a class map's transparent nodata entry."""
    from conftest import synthetic_class_map, synthetic_cube

    from xr_landcover.io.geotiff import _gdal_compresses

    values = np.tile(np.array([0, 100], np.uint16), (3, 600, 300))  # columns 0, 100, 0, ...
    for chunks in ({"band": 1, "y": 256, "x": 200}, None):
        cube = synthetic_cube(values, chunks=chunks)
        out = xr_landcover.to_geotiff(cube, tmp_path / f"cube-{chunks is None}.tif",
                                      overwrite=True)
        with rasterio.open(out) as src:
            np.testing.assert_array_equal(src.read(), values)
        with rasterio.open(out, overview_level=0) as ovr:
            assert np.unique(ovr.read()).tolist() == [50]  # average, not nearest or mode
    classes = synthetic_class_map(np.array([[1, 2, 0], [2, 1, 1]], np.uint8), values=[1, 2],
                                  names=["water", "forest"], colors=[(0, 0, 255), (0, 128, 0)])
    out = xr_landcover.to_geotiff(classes.transpose("x", "y"), tmp_path / "xy.tif")
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), classes.values)
        assert src.colormap(1)[0] == (0, 0, 0, 0)  # nodata: transparent black
    no_fill = synthetic_class_map(np.array([[1, 2], [2, 1]], np.uint8), values=[1, 2],
                                  names=["water", "forest"], colors=[(0, 0, 255), (0, 128, 0)],
                                  nodata=None)
    with rasterio.open(xr_landcover.to_geotiff(no_fill, tmp_path / "no-fill.tif")) as src:
        assert src.nodata is None and src.colormap(1)[2] == (0, 128, 0, 255)
    mask = classes > 1  # a boolean layer; xarray keeps the class map's attrs (its _FillValue 0)
    assert mask.attrs["_FillValue"] == 0 and mask.attrs["colormap"]
    with rasterio.open(xr_landcover.to_geotiff(mask, tmp_path / "mask.tif")) as src:
        assert src.dtypes[0] == "uint8"
        np.testing.assert_array_equal(src.read(1), mask.values.astype("uint8"))
        assert src.nodata is None  # False is data, not "no data"
        assert not [k for k in src.tags() if k.startswith("CLASS_")]
        assert "flag_values" not in src.tags(1)
        with pytest.raises(ValueError):
            src.colormap(1)  # the class map's colours are not the mask's
    plain = classes.copy()
    plain.attrs = {"_FillValue": 255}  # e.g. a uint8 index with a nodata value, no classes
    with rasterio.open(xr_landcover.to_geotiff(plain, tmp_path / "plain.tif")) as src:
        assert src.nodata == 255
        with pytest.raises(ValueError):
            src.colormap(1)
    _gdal_compresses.cache_clear()  # "NONE" in a fresh process: not yet probed
    out = xr_landcover.to_geotiff(mask, tmp_path / "none.tif", compress="NONE")
    with rasterio.open(out) as src:
        assert src.compression is None
    assert _gdal_compresses("zip9000") is False  # GDAL writes it uncompressed, with a warning


def test_tile_size_is_a_positive_multiple_of_16(tmp_path):
    from conftest import synthetic_class_map

    from xr_landcover.errors import InvalidInputTypeError, InvalidParameterError

    classes = synthetic_class_map(np.ones((4, 4), np.uint8), values=[1], names=["water"])
    for bad in (256.0, True, "256"):
        with pytest.raises(InvalidInputTypeError, match="tile_size must be a positive multiple"):
            xr_landcover.to_geotiff(classes, tmp_path / "x.tif", tile_size=bad)
    for bad in (0, -16, 8, 100):
        with pytest.raises(InvalidParameterError, match=f"multiple of 16, got {bad}"):
            xr_landcover.to_geotiff(classes, tmp_path / "x.tif", tile_size=bad)
    assert list(tmp_path.iterdir()) == []


def test_tiles_of_nodata_only_are_not_stored(tmp_path):
    """GDAL's sparse files: a tile holding nothing but nodata takes no bytes (the reader fills
    it with the nodata value), as in a COG GDAL writes with SPARSE_OK."""
    from conftest import synthetic_class_map

    data = np.zeros((512, 512), np.uint8)
    data[:256, :256] = 1
    data[300, 300] = 2  # one pixel makes the last tile a stored one
    classes = synthetic_class_map(data, values=[1, 2], names=["water", "forest"])
    out = xr_landcover.to_geotiff(classes, tmp_path / "sparse.tif", overviews=None)
    with rasterio.open(out) as src:
        stored = {(row, col): src.get_tag_item(f"BLOCK_OFFSET_{col}_{row}", "TIFF", bidx=1)
                  is not None for row in range(2) for col in range(2)}
        np.testing.assert_array_equal(src.read(1), data)
    assert stored == {(0, 0): True, (0, 1): False, (1, 0): False, (1, 1): True}
