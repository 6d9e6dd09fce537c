"""open_image on the real shared scenes and on generated rasters."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import rasterio
from conftest import write_raster

import xr_landcover
from xr_landcover.io import band_name_from_filename


def test_single_multiband_file(l8_rgb_file, no_compute):
    cube = xr_landcover.open_image(l8_rgb_file)
    assert cube.dims == ("band", "y", "x")
    assert cube.sizes == {"band": 3, "y": 1860, "x": 2041}
    assert cube.chunks is not None
    assert cube.dtype == np.uint16  # no nodata declared: raw dtype kept even with masked=True
    assert cube.rio.crs.to_epsg() == 32621
    assert cube.rio.resolution() == (30.0, -30.0)
    assert list(cube.band.values) == ["1", "2", "3"]
    # chunks are a multiple of the file's 256 px blocks, near 1024
    assert cube.chunks[1][0] == 1024 and cube.chunks[2][0] == 1024
    assert cube.chunks[0] == (3,)
    assert no_compute.calls == 0


def test_list_of_single_band_files_names_from_filenames(nc_band_files, no_compute):
    cube = xr_landcover.open_image(nc_band_files)
    assert list(cube.band.values) == ["10", "20", "30", "40", "50", "70"]
    assert cube.sizes == {"band": 6, "y": 443, "x": 489}
    assert cube.chunks[0] == (6,)  # all bands in one chunk, for per-pixel work
    assert no_compute.calls == 0


def test_landsat8_band_files(l8_78_band_files, l8_rgb_file):
    cube = xr_landcover.open_image(l8_78_band_files)
    assert list(cube.band.values) == ["B2", "B3", "B4"]
    stacked = xr_landcover.open_image(l8_rgb_file)
    # the three single-band files hold the same numbers as the 3-band file
    window = dict(y=slice(900, 964), x=slice(700, 764))
    np.testing.assert_array_equal(cube.isel(**window).values, stacked.isel(**window).values)


def test_band_names_argument(l8_rgb_file):
    cube = xr_landcover.open_image(l8_rgb_file, band_names=["blue", "green", "red"])
    assert list(cube.band.values) == ["blue", "green", "red"]
    with pytest.raises(xr_landcover.InvalidParameterError, match="band_names has 2 names"):
        xr_landcover.open_image(l8_rgb_file, band_names=["a", "b"])


def test_band_descriptions_are_used(tmp_path):
    path = write_raster(
        tmp_path / "desc.tif", np.ones((2, 8, 8), "uint8"), descriptions=["red", "nir"]
    )
    assert list(xr_landcover.open_image(path).band.values) == ["red", "nir"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("LC08_L1TP_224078_20200518_20200518_01_RT_B4.TIF", "B4"),
        ("lsat7_2000_70.tif", "70"),
        ("S2A_T33_B8A.tif", "B8A"),
        ("nir.tif", "nir"),
    ],
)
def test_band_name_from_filename(name, expected):
    assert band_name_from_filename(name) == expected


def test_nodata_becomes_nan(nc_band_files):
    cube = xr_landcover.open_image(nc_band_files)
    assert cube.dtype == np.float32
    values = cube.values
    with rasterio.open(nc_band_files[0]) as src:
        raw = src.read(1)
    np.testing.assert_array_equal(np.isnan(values[0]), raw == -99999)
    with rasterio.open(nc_band_files[5]) as src:  # int16 band with nodata -32768
        raw70 = src.read(1)
    np.testing.assert_array_equal(np.isnan(values[5]), raw70 == -32768)
    assert np.nanmin(values) >= 0 and np.nanmax(values) <= 255
    assert np.isnan(cube.rio.nodata)
    assert cube.rio.encoded_nodata == -99999


def test_nodata_override_on_landsat8(l8_rgb_file):
    cube = xr_landcover.open_image(l8_rgb_file, nodata=0)
    assert cube.dtype == np.float32
    corner = cube.isel(y=slice(0, 32), x=slice(2000, 2041)).values  # outside the footprint
    assert np.isnan(corner).all()
    with rasterio.open(l8_rgb_file) as src:
        raw = src.read(1)
    share = np.isnan(cube.isel(band=0).values).mean()
    assert share == pytest.approx((raw == 0).mean())
    assert 0.1 < share < 0.25  # about 16 % outside the footprint


def test_masked_false_keeps_raw_dtype(l8_rgb_file, nc_band_files):
    cube = xr_landcover.open_image(l8_rgb_file, nodata=0, masked=False)
    assert cube.dtype == np.uint16 and cube.rio.nodata == 0
    nc = xr_landcover.open_image(nc_band_files[5], masked=False)
    assert nc.dtype == np.int16 and nc.rio.nodata == -32768
    # mixed nodata values (-99999 and -32768) are mapped to the first file's value
    mixed = xr_landcover.open_image(nc_band_files, masked=False)
    assert mixed.rio.nodata == -99999
    assert not (mixed.isel(band=5).values == -32768).any()


def test_grid_mismatch_names_both_grids(l8_78_band_files, l8_77_band_files):
    with pytest.raises(xr_landcover.GridMismatchError) as info:
        xr_landcover.open_image([l8_78_band_files[0], l8_77_band_files[0]])
    message = str(info.value)
    assert "224078" in message and "224077" in message
    assert "2041x1860" in message and "2006x1515" in message
    assert isinstance(info.value, ValueError)


def test_missing_file(tmp_path):
    with pytest.raises(xr_landcover.RasterFileNotFoundError, match="not found"):
        xr_landcover.open_image(tmp_path / "nope.tif")
    with pytest.raises(FileNotFoundError, match=r"raster file not found: .*nope\.tif"):
        xr_landcover.open_image([tmp_path / "nope.tif"])


def test_not_a_raster(tmp_path):
    bogus = tmp_path / "notes.tif"
    bogus.write_text("this is not a GeoTIFF")
    with pytest.raises(xr_landcover.RasterReadError, match="cannot read .* as a raster"):
        xr_landcover.open_image(bogus)


def test_folder_is_not_a_raster(tmp_path):
    with pytest.raises(xr_landcover.RasterReadError, match="folder"):
        xr_landcover.open_image(tmp_path)


def test_explicit_chunks(nc_band_files):
    cube = xr_landcover.open_image(nc_band_files, chunks=128)
    assert cube.chunks[1][0] == 128 and cube.chunks[2][0] == 128
    cube = xr_landcover.open_image(nc_band_files, chunks={"y": 100, "x": 200})
    assert cube.chunks[1][0] == 100 and cube.chunks[2][0] == 200
    with pytest.raises(xr_landcover.InvalidParameterError, match="chunks"):
        xr_landcover.open_image(nc_band_files, chunks=-5)


def test_chunked_values_equal_rasterio(nc_band_files):
    cube = xr_landcover.open_image(nc_band_files, chunks=100, masked=False)
    with rasterio.open(nc_band_files[3]) as src:
        np.testing.assert_array_equal(cube.sel(band="40").values, src.read(1))


def test_bad_path_type():
    with pytest.raises(xr_landcover.InvalidInputTypeError,
                       match="path_or_paths must be a path or a list of paths, got int"):
        xr_landcover.open_image(42)
    with pytest.raises(xr_landcover.InvalidParameterError, match="at least one path"):
        xr_landcover.open_image([])


def test_accessor_summary(nc_band_files):
    cube = xr_landcover.open_image(nc_band_files)
    text = cube.landcover.summary()
    assert "6 bands" in text and "443 x 489" in text and "EPSG:32119" in text


def test_accessor_rejects_non_cube():
    import xarray as xr

    with pytest.raises(xr_landcover.DimensionError, match="band"):
        xr.DataArray(np.zeros((3, 3)), dims=("a", "b")).landcover.summary()


def _tiled_raster(path, rng_seed=0):
    data = (np.random.default_rng(rng_seed).random((2, 512, 512)) * 255).astype("uint8")
    return write_raster(
        path, data, tiled=True, blockxsize=256, blockysize=256, compress="deflate"
    ), data


def test_corrupt_block_names_file_and_window(tmp_path):
    path, data = _tiled_raster(tmp_path / "corrupt.tif")
    with rasterio.open(path) as src:  # byte offset of the bottom-right tile of band 1
        offset = int(src.get_tag_item("BLOCK_OFFSET_1_1", "TIFF", bidx=1))
    raw = bytearray(path.read_bytes())
    raw[offset + 10 : offset + 3000] = b"\xab" * 2990
    path.write_bytes(bytes(raw))
    cube = xr_landcover.open_image(path, chunks=256)  # the header is intact: opens fine
    np.testing.assert_array_equal(cube.isel(y=slice(0, 256)).values, data[:, :256])
    with pytest.raises(xr_landcover.RasterReadError) as info:
        cube.compute()
    message = str(info.value)
    assert "corrupt.tif" in message and "rows 256:512, columns 256:512" in message


def test_truncated_file(tmp_path):
    path, _ = _tiled_raster(tmp_path / "truncated.tif")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    try:
        cube = xr_landcover.open_image(path, chunks=256)
    except xr_landcover.RasterReadError:
        return  # the header itself was cut: refused at open time, also fine
    with pytest.raises(xr_landcover.RasterReadError, match="truncated.tif"):
        cube.compute()


def test_reader_handles_steps_and_integer_indices(nc_band_files):
    cube = xr_landcover.open_image(nc_band_files[0], masked=False)
    with rasterio.open(nc_band_files[0]) as src:
        raw = src.read(1)
    np.testing.assert_array_equal(cube[0, ::7, 3].values, raw[::7, 3])
    np.testing.assert_array_equal(cube.isel(x=slice(10, 400, 3)).values[0], raw[:, 10:400:3])


# --------------------------------------------------------------------------------------------
# to_zarr(overwrite=True) replaces its own stores only
# --------------------------------------------------------------------------------------------


def _small_map():
    from conftest import synthetic_class_map

    return synthetic_class_map(np.array([[1, 2], [2, 1]], "uint8")).chunk(1)


def test_to_zarr_overwrite_replaces_its_own_store_and_nothing_else(tmp_path, no_compute):
    from xr_landcover.errors import OutputExistsError

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "holiday.jpg").write_bytes(b"precious")
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.txt").write_text("mine")
    a_file = tmp_path / "classes.zarr"
    a_file.write_bytes(b"not a store")
    for target in (folder, a_file):
        with pytest.raises(OutputExistsError, match="not a Zarr store written by to_zarr"):
            xr_landcover.to_zarr(_small_map(), target, overwrite=True)
    assert no_compute.calls == 0  # refused before any work
    assert (folder / "holiday.jpg").read_bytes() == b"precious"
    assert (folder / "sub" / "notes.txt").read_text() == "mine"
    assert a_file.read_bytes() == b"not a store"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["classes.zarr", "photos"]


def test_to_zarr_overwrite_of_its_own_store_still_works(tmp_path):
    from xr_landcover.io.zarr import written_by_to_zarr

    store = xr_landcover.to_zarr(_small_map(), tmp_path / "classes.zarr")
    assert written_by_to_zarr(store) and not written_by_to_zarr(tmp_path)
    xr_landcover.to_zarr((_small_map() * 2).astype("uint8"), store, overwrite=True)
    assert xr_landcover.open_zarr(store).values.tolist() == [[2, 4], [4, 2]]
    assert [p.name for p in tmp_path.iterdir()] == ["classes.zarr"]


def test_open_image_on_a_class_map_points_to_open_classmap(tmp_path):
    """A class map opened as a band cube lost its names and colours without a word."""
    from conftest import synthetic_class_map

    m = synthetic_class_map(np.array([[1, 2], [2, 0]], "uint8"), names=["water", "forest"])
    path = xr_landcover.to_geotiff(m, tmp_path / "classes.tif")
    with pytest.warns(UserWarning, match=r"class map .* xr_landcover\.open_classmap") as seen:
        cube = xr_landcover.open_image(path)
    assert len(seen) == 1 and cube.dims == ("band", "y", "x")
    band = write_raster(tmp_path / "band.tif", np.array([[1, 2], [2, 0]], "uint8"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        xr_landcover.open_image(band)  # an integer band without class tags: no warning
