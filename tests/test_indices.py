"""Spectral indices (xr_landcover.indices): each against its published formula, lazily, with
nodata and zero denominators; errors that name the missing band; the recipe a model keeps."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely
import skops.io as sio
from conftest import synthetic_cube

import xr_landcover
from xr_landcover import errors as E
from xr_landcover.classification.model import LandcoverModel
from xr_landcover.indices import INDICES

BANDS = ["blue", "green", "red", "nir", "swir1", "swir2"]


def reflectance(ny=6, nx=7, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.01, 0.6, (len(BANDS), ny, nx))


# Written out from the papers (not taken from the package), in the band roles of each.
def expected(name, b):
    blue, green, red, nir, swir1, swir2 = (b[i] for i in range(6))
    return {
        "ndvi": (nir - red) / (nir + red),                     # Rouse et al. 1974
        "ndwi": (green - nir) / (green + nir),                 # McFeeters 1996
        "mndwi": (green - swir1) / (green + swir1),            # Xu 2006
        "ndmi": (nir - swir1) / (nir + swir1),                 # Gao 1996
        "nbr": (nir - swir2) / (nir + swir2),                  # Key & Benson 2006
        "ndbi": (swir1 - nir) / (swir1 + nir),                 # Zha et al. 2003
        "savi": (1 + 0.5) * (nir - red) / (nir + red + 0.5),   # Huete 1988, L = 0.5
        "evi": 2.5 * (nir - red) / (nir + 6 * red - 7.5 * blue + 1),  # Huete et al. 2002
    }[name]


@pytest.mark.parametrize("name", sorted(INDICES))
def test_each_index_matches_its_formula(name):
    values = reflectance()
    cube = synthetic_cube(values, bands=BANDS, chunks={"y": 3, "x": 4})
    out = xr_landcover.with_indices(cube, [name])
    assert list(out.band.values) == BANDS + [name]
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.sel(band=name).values, expected(name, values), rtol=1e-12)
    np.testing.assert_array_equal(out.sel(band=BANDS).values, values)  # bands kept as they were


def test_lazy_float32_and_order_kept(no_compute):
    cube = synthetic_cube(reflectance().astype(np.float32), bands=BANDS,
                          chunks={"y": 3, "x": 4})
    out = cube.landcover.with_indices(["NBR", "ndvi", "nbr"])  # case-insensitive, once each
    assert list(out.band.values) == BANDS + ["nbr", "ndvi"]
    assert out.dtype == np.float32 and out.chunks[1:] == cube.chunks[1:]
    assert out.attrs["landcover_indices"] == ["nbr", "ndvi"]
    assert out.rio.crs == cube.rio.crs and out.rio.transform() == cube.rio.transform()
    assert no_compute.calls == 0


def test_nodata_and_zero_denominator_give_nan():
    values = np.full((6, 2, 3), 100, dtype=np.int16)
    values[3, 0, 0] = -9999            # nir is nodata
    values[2, 0, 1] = values[3, 0, 1] = 0  # red + nir = 0
    values[3, 1, 2] = 300
    cube = synthetic_cube(values, bands=BANDS, nodata=-9999, chunks={"y": 1})
    out = cube.landcover.with_indices("ndvi")
    assert out.dtype == np.float32
    ndvi = out.sel(band="ndvi").values
    assert np.isnan(ndvi[0, 0]) and np.isnan(ndvi[0, 1])
    assert ndvi[1, 2] == pytest.approx(0.5) and ndvi[1, 0] == 0.0
    assert out.sel(band="nir").values[0, 0] == -9999  # integer values kept, nodata too
    assert out.rio.nodata == -9999


def test_errors_name_the_missing_band_and_the_bands_there():
    cube = synthetic_cube(reflectance()[:3], bands=["blue", "green", "red"])
    with pytest.raises(E.BandMismatchError, match=r"ndvi .*needs the band \['nir'\].*"
                       r"it has \['blue', 'green', 'red'\].*assign_coords"):
        cube.landcover.with_indices(["ndvi"])
    with pytest.raises(E.BandMismatchError, match=r"needs the bands \['nir', 'swir2'\]"):
        cube.landcover.with_indices(["nbr"])
    with pytest.raises(E.InvalidParameterError, match=r"unknown index 'ndxi'.*'ndvi'"):
        cube.landcover.with_indices(["ndxi"])
    full = synthetic_cube(reflectance(), bands=BANDS).landcover.with_indices(["ndvi"])
    with pytest.raises(E.BandMismatchError, match="already has a band named 'ndvi'"):
        full.landcover.with_indices(["ndvi"])
    with pytest.raises(E.InvalidInputTypeError, match="indices must be a list"):
        full.landcover.with_indices([])


@pytest.fixture(scope="module")
def two_zone_cube():
    rng = np.random.default_rng(1)
    values = rng.uniform(0.05, 0.1, (6, 20, 20))
    values[3, :, 10:] += 0.4  # vegetation on the right: high nir
    return synthetic_cube(values, bands=BANDS, chunks={"y": 10, "x": 10})


def boxes():
    import geopandas as gpd

    x0, y0 = 500000.0, 4000000.0
    return gpd.GeoDataFrame(
        {"id": [1, 2]}, crs="EPSG:32618",
        geometry=[shapely.box(x0 + 10, y0 - 190, x0 + 90, y0 - 10),
                  shapely.box(x0 + 110, y0 - 190, x0 + 190, y0 - 10)])


def test_model_records_the_recipe_and_classify_adds_it(two_zone_cube, tmp_path):
    indexed = two_zone_cube.landcover.with_indices(["ndvi", "savi"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = indexed.landcover.train(boxes(), "id", method="knn", random_state=0)
    assert model.bands == (*BANDS, "ndvi", "savi") and model.indices == ("ndvi", "savi")
    assert "indices added by classify: ndvi, savi" in repr(model)
    from_plain = xr_landcover.classify(two_zone_cube, model).values
    np.testing.assert_array_equal(from_plain, xr_landcover.classify(indexed, model).values)
    assert set(np.unique(from_plain)) == {1, 2}
    loaded = LandcoverModel.load(model.save(tmp_path / "m.skops"))
    assert loaded.indices == ("ndvi", "savi")
    np.testing.assert_array_equal(xr_landcover.classify(two_zone_cube, loaded).values,
                                  from_plain)
    # without the recipe the plain cube lacks the index bands
    plain_model = LandcoverModel(**{**vars(model), "indices": ()})
    with pytest.raises(E.BandMismatchError, match="missing: \\['ndvi', 'savi'\\]"):
        xr_landcover.classify(two_zone_cube, plain_model)


def test_older_model_files_without_a_recipe_still_load(two_zone_cube, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = two_zone_cube.landcover.train(boxes(), "id", method="knn", random_state=0)
    payload = model._payload()
    del payload["indices"]  # as written before indices existed
    path = tmp_path / "old.skops"
    sio.dump(payload, path)
    old = LandcoverModel.load(path)
    assert old.indices == () and old.bands == tuple(BANDS)
    payload["indices"] = ["ndvi"]  # a recipe naming a band the model does not have
    sio.dump(payload, tmp_path / "bad.skops")
    with pytest.raises(E.ModelFileError, match="unknown spectral indices"):
        LandcoverModel.load(tmp_path / "bad.skops")
