"""Spectral indices as extra bands of a band cube, computed lazily from named bands.

:func:`with_indices` appends one band per index (``"ndvi"``, ``"nbr"``...) computed from the
cube's bands named ``blue``, ``green``, ``red``, ``nir``, ``swir1``, ``swir2``, the names
:func:`xr_landcover.open_image` and the shipped scenes use. A model trained on such a cube
records which indices it used (:attr:`~xr_landcover.LandcoverModel.indices`), and
:func:`xr_landcover.classify` adds them itself to a cube that lacks them
(:func:`add_indices`).

Formulas: each index's original paper, as catalogued (with the same band roles) by the
Awesome Spectral Indices catalogue, Montero et al., "A standardized catalogue of spectral
indices to advance the use of remote sensing in Earth system research", Scientific Data 10,
197 (2023), https://github.com/awesome-spectral-indices/awesome-spectral-indices.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr

from ._validate import require_cube
from .errors import BandMismatchError, InvalidInputTypeError, InvalidParameterError

__all__ = ["INDICES", "SpectralIndex", "with_indices", "add_indices", "INDICES_ATTR"]

#: The cube attribute in which :func:`with_indices` lists the indices it added (read by
#: :func:`xr_landcover.train` to record the recipe in the model).
INDICES_ATTR = "landcover_indices"


def _normalized_difference(a, b):
    return (a - b) / (a + b)


@dataclass(frozen=True)
class SpectralIndex:
    """One index: its name, the bands it reads, its formula and where the formula comes from."""

    name: str
    bands: tuple[str, ...]
    formula: str
    reference: str
    compute: Callable


#: The indices :func:`with_indices` knows, by name. SAVI and EVI have constants (0.5, 1, 6,
#: 7.5) meant for surface reflectance in [0, 1]: scale integer cubes to reflectance first.
INDICES: dict[str, SpectralIndex] = {
    index.name: index
    for index in (
        SpectralIndex("ndvi", ("nir", "red"), "(nir - red) / (nir + red)",
                      "Rouse et al. (1974), NASA SP-351",
                      lambda b: _normalized_difference(b["nir"], b["red"])),
        SpectralIndex("ndwi", ("green", "nir"), "(green - nir) / (green + nir)",
                      "McFeeters (1996), Int. J. Remote Sens. 17(7)",
                      lambda b: _normalized_difference(b["green"], b["nir"])),
        SpectralIndex("mndwi", ("green", "swir1"), "(green - swir1) / (green + swir1)",
                      "Xu (2006), Int. J. Remote Sens. 27(14)",
                      lambda b: _normalized_difference(b["green"], b["swir1"])),
        SpectralIndex("ndmi", ("nir", "swir1"), "(nir - swir1) / (nir + swir1)",
                      "Gao (1996), Remote Sens. Environ. 58(3)",
                      lambda b: _normalized_difference(b["nir"], b["swir1"])),
        SpectralIndex("nbr", ("nir", "swir2"), "(nir - swir2) / (nir + swir2)",
                      "Key & Benson (2006), USDA RMRS-GTR-164-CD",
                      lambda b: _normalized_difference(b["nir"], b["swir2"])),
        SpectralIndex("ndbi", ("swir1", "nir"), "(swir1 - nir) / (swir1 + nir)",
                      "Zha et al. (2003), Int. J. Remote Sens. 24(3)",
                      lambda b: _normalized_difference(b["swir1"], b["nir"])),
        SpectralIndex("savi", ("nir", "red"), "1.5 * (nir - red) / (nir + red + 0.5)",
                      "Huete (1988), Remote Sens. Environ. 25(3), L = 0.5",
                      lambda b: 1.5 * (b["nir"] - b["red"]) / (b["nir"] + b["red"] + 0.5)),
        SpectralIndex("evi", ("nir", "red", "blue"),
                      "2.5 * (nir - red) / (nir + 6 * red - 7.5 * blue + 1)",
                      "Huete et al. (2002), Remote Sens. Environ. 83(1-2)",
                      lambda b: 2.5 * (b["nir"] - b["red"])
                      / (b["nir"] + 6.0 * b["red"] - 7.5 * b["blue"] + 1.0)),
    )
}


def _index_names(indices) -> list[str]:
    if isinstance(indices, str):
        indices = [indices]
    if not isinstance(indices, Sequence) or not indices:
        raise InvalidInputTypeError(
            f"indices must be a list of index names such as ['ndvi', 'nbr']; got {indices!r}"
        )
    names = []
    for name in indices:
        key = str(name).lower() if isinstance(name, str) else name
        if key not in INDICES:
            raise InvalidParameterError(
                f"indices: unknown index {name!r}; known: {sorted(INDICES)}"
            )
        if key not in names:
            names.append(key)
    return names


def _index_kernel(*arrays, index: SpectralIndex, nodata, dtype) -> np.ndarray:
    """One index on NumPy blocks of its bands: NaN where an input is nodata or non-finite,
    and where the formula divides by 0."""
    bands = {b: np.asarray(a, dtype=dtype) for b, a in zip(index.bands, arrays)}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        value = np.asarray(index.compute(bands), dtype=dtype)
    bad = ~np.isfinite(value)
    if nodata is not None and not np.isnan(nodata):
        for a in arrays:
            bad |= np.asarray(a) == nodata
    value[bad] = np.nan
    return value


def with_indices(cube: xr.DataArray, indices: Sequence[str] | str) -> xr.DataArray:
    """``cube`` with one more band per spectral index, computed lazily from its named bands.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``(..., "band", "y", "x")`` with bands named ``blue``, ``green``, ``red``,
        ``nir``, ``swir1``, ``swir2`` (those each index needs; see :data:`INDICES`).
    indices : list of str, or str
        Index names, case-insensitive: ``ndvi`` (Rouse et al. 1974), ``ndwi`` (McFeeters 1996),
        ``mndwi`` (Xu 2006), ``ndmi`` (Gao 1996), ``nbr`` (Key & Benson 2006), ``ndbi`` (Zha et
        al. 2003), ``savi`` (Huete 1988, L = 0.5), ``evi`` (Huete et al. 2002). SAVI's and
        EVI's constants assume reflectance in [0, 1].

    Returns
    -------
    xarray.DataArray
        The cube with the index bands appended under their names, in the order given, as
        float32 (float64 for a float64 cube; integer bands are promoted, their values kept);
        NaN where an input band is nodata or the denominator is 0. Attrs, CRS and transform
        are kept, and ``attrs["landcover_indices"]`` lists the indices so that a model
        trained on the cube records them. Nothing is computed.

    Raises
    ------
    BandMismatchError
        A band an index needs is missing (the message names it and lists the cube's bands),
        or the cube already has a band of that index's name.
    InvalidParameterError
        An unknown index name.

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> cube = datasets.nc_landsat7().landcover.with_indices(["ndvi", "nbr"])
    >>> list(cube.band.values)
    ['blue', 'green', 'red', 'nir', 'swir1', 'swir2', 'ndvi', 'nbr']
    """
    cube = require_cube(cube, crs=False)
    names = _index_names(indices)
    have = [str(b) for b in cube.band.values]
    for name in names:
        if name in have:
            raise BandMismatchError(
                f"indices: the cube already has a band named {name!r}; drop it "
                f"(cube.drop_sel(band={name!r})) or leave {name!r} out of indices"
            )
        missing = [b for b in INDICES[name].bands if b not in have]
        if missing:
            raise BandMismatchError(
                f"indices: {name} = {INDICES[name].formula} needs the band"
                f"{'s' if len(missing) > 1 else ''} {missing}, which the cube lacks; it has "
                f"{have}. Name the bands with cube.assign_coords(band=[...])"
            )
    nodata = cube.rio.nodata
    if nodata is None:
        nodata = cube.rio.encoded_nodata
    dtype = np.result_type(cube.dtype, np.float32)
    layers = []
    for name in names:
        index = INDICES[name]
        value = xr.apply_ufunc(
            _index_kernel, *[cube.sel(band=b, drop=True) for b in index.bands],
            kwargs={"index": index, "nodata": nodata, "dtype": dtype},
            dask="parallelized", output_dtypes=[dtype], keep_attrs=False,
        )
        layers.append(value.expand_dims(band=[name]).transpose(*cube.dims))
    out = xr.concat([cube, *layers], dim="band", combine_attrs="override")
    out.attrs = dict(cube.attrs)
    out.attrs[INDICES_ATTR] = list(cube.attrs.get(INDICES_ATTR, [])) + names
    out.encoding = dict(cube.encoding)
    return out


def add_indices(cube: xr.DataArray, indices: Sequence[str]) -> xr.DataArray:
    """``cube`` with those of ``indices`` it lacks added by :func:`with_indices` (a model's
    recipe applied at classification; bands already there are used as they are)."""
    have = {str(b) for b in cube.band.values}
    missing = [name for name in indices if name not in have]
    return with_indices(cube, missing) if missing else cube
