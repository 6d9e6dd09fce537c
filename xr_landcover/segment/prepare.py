"""Input preparation for mean shift: band choice, nodata, the 8-bit stretch, colour space.

Holds the checks and transforms that turn a band cube into the image the mean-shift kernels
see, and the per-pixel function each block task applies to its own halo:

* :func:`check_cube` and :func:`select_bands` — one image ``("band", "y", "x")``, the chosen
  bands (by position or name);
* :func:`stretch_to_8bit` — percent-clip stretch of a non-8-bit band to 0..255, its limits from
  a :data:`HISTOGRAM_BINS`-bin histogram built by small tree reductions, over the valid pixels
  (declared nodata is NaN first) and without a fill spike (:func:`spike_free`);
* :func:`prepare_pixels` — nodata to NaN, stretch, CIE L*u*v* conversion (sRGB decoding,
  :data:`RGB_TO_XYZ`),
  NaN in every band where any is NaN: what each block applies to its halo;
* :func:`raw_image` (the raw bands and the arguments of :func:`prepare_pixels`) and
  :func:`prepare_image` (the whole prepared image).

Everything here is lazy: the functions build a dask graph, and the only reductions in it are
small (a per-band min/max and histogram for the stretch).
"""

from __future__ import annotations

import math

import dask
import dask.array as da
import numpy as np
import xarray as xr

from .._validate import band_positions, require_north_up, require_unique_bands
from ..errors import DimensionError, InvalidInputTypeError, InvalidParameterError
from .params import SegmentParameters

__all__ = [
    "check_cube",
    "select_bands",
    "stretch_to_8bit",
    "prepare_pixels",
    "raw_image",
    "prepare_image",
    "HISTOGRAM_BINS",
    "RGB_TO_XYZ",
    "SRGB_DECODE_LUT",
    "LUV_SPACES",
    "srgb_to_linear",
    "spike_free",
    "SPIKE_SHARE",
    "SPIKE_RATIO",
    "SPIKE_NEIGHBOURS",
]

#: The colour spaces that convert three bands (red, green, blue) to CIE L*u*v*.
LUV_SPACES = ("luv", "luv_linear")

#: Number of histogram bins used to find the percent-clip limits of a non-8-bit band.
HISTOGRAM_BINS = 4096


def check_cube(cube) -> xr.DataArray:
    """``cube`` as a single band cube ``("band", "y", "x")``, or an error saying what is wrong.

    Raises
    ------
    InvalidInputTypeError
        ``cube`` is not an :class:`xarray.DataArray`.
    DimensionError
        A dim of ``("band", "y", "x")`` is missing, or there are others (e.g. ``time``).
    """
    if not isinstance(cube, xr.DataArray):
        raise InvalidInputTypeError(
            f"expected an xarray.DataArray band cube, got {type(cube).__name__}; open rasters "
            "with xr_landcover.open_image"
        )
    missing = [d for d in ("band", "y", "x") if d not in cube.dims]
    if missing:
        raise DimensionError(
            f"a band cube needs dims ('band', 'y', 'x'); this array has {cube.dims} "
            f"(missing {missing})"
        )
    extra = [d for d in cube.dims if d not in ("band", "y", "x")]
    if extra:
        raise DimensionError(
            f"segmentation works on one image; this cube has extra dims {extra}: select one, "
            f"e.g. cube.isel({extra[0]}=0)"
        )
    require_unique_bands(cube)
    return require_north_up(cube.transpose("band", "y", "x"))


def _band_indices(cube: xr.DataArray, bands) -> list[int]:
    """Positions of the chosen bands (default: the first three, or all if fewer); names, or
    integers (labels on a cube with integer band labels: :func:`~xr_landcover._validate.
    band_positions`)."""
    n = cube.sizes["band"]
    if bands is None:
        return list(range(min(3, n)))
    if isinstance(bands, int | str | np.integer):
        bands = [bands]
    idx = band_positions(cube, list(bands))
    if not idx:
        raise InvalidParameterError("bands must name at least one band")
    return idx


def _as_slice(idx: list[int]):
    """``idx`` as a slice when it is a run of consecutive positions, else ``idx``."""
    if idx == list(range(idx[0], idx[-1] + 1)):
        return slice(idx[0], idx[-1] + 1)
    return idx


def select_bands(cube: xr.DataArray, bands) -> xr.DataArray:
    """The chosen bands, by position or by name (default: the first three, or all if fewer)."""
    return cube.isel(band=_as_slice(_band_indices(cube, bands)))


def _block_histogram(block, mins, maxs, nbins):
    out = np.zeros((block.shape[0], nbins), dtype=np.int64)
    for k in range(block.shape[0]):
        v = block[k][np.isfinite(block[k])]
        if v.size and maxs[k] > mins[k]:
            out[k] = np.histogram(v, bins=nbins, range=(mins[k], maxs[k]))[0]
    return out


#: An end bin of a band's histogram holding at least this share of its pixels ...
SPIKE_SHARE = 0.01
#: ... and this many times the :data:`SPIKE_NEIGHBOURS` bins next to it together is a spike.
SPIKE_RATIO = 10
SPIKE_NEIGHBOURS = 16


def spike_free(hist: np.ndarray) -> np.ndarray:
    """``hist`` (one band) without a spike in its first or last bin: a value that alone holds
    :data:`SPIKE_SHARE` of the pixels, far more than its neighbours (undeclared fill such as the
    zeros outside a Landsat footprint, or saturation). Percent-clip limits found with the spike
    would squeeze the real values into a few grey levels; without it the spike's pixels still
    map to 0 (or 255). The histogram is returned unchanged when nothing else is left.

    Examples
    --------
    >>> hist = np.array([400] + [0] * 16 + [5, 20, 40, 20, 5])
    >>> spike_free(hist)[0], spike_free(hist)[17:].tolist()
    (np.int64(0), [5, 20, 40, 20, 5])
    >>> spike_free(np.array([6, 7, 9, 7, 6])).tolist()  # a peak that is not alone
    [6, 7, 9, 7, 6]
    """
    out = np.array(hist, dtype=np.int64, copy=True)
    total = out.sum()
    for end, near in ((0, slice(1, 1 + SPIKE_NEIGHBOURS)), (-1, slice(-1 - SPIKE_NEIGHBOURS, -1))):
        count = out[end]
        if count >= SPIKE_SHARE * total and count > SPIKE_RATIO * out[near].sum():
            out[end] = 0
    return out if out.sum() > 0 else np.array(hist, dtype=np.int64)


def _clip_limits(hists, mins, maxs, low, high):
    total = np.sum(hists, axis=0)
    limits = np.zeros((2, total.shape[0]), dtype=np.float64)
    for k in range(total.shape[0]):
        lo, hi = float(mins[k]), float(maxs[k])
        cum = np.cumsum(spike_free(total[k]))
        if cum.size and cum[-1] > 0 and hi > lo:
            edges = np.linspace(lo, hi, total.shape[1] + 1)
            i_lo = int(np.searchsorted(cum, cum[-1] * low / 100.0, side="left"))
            i_hi = int(np.searchsorted(cum, cum[-1] * high / 100.0, side="left"))
            lo, hi = edges[i_lo], edges[min(i_hi + 1, total.shape[1])]
        limits[:, k] = lo, (hi if hi > lo else lo + 1.0)
    return limits


def _apply_stretch(block, limits):
    lo = limits[0][:, None, None]
    hi = limits[1][:, None, None]
    scaled = np.clip((block - lo) / (hi - lo) * 255.0, 0.0, 255.0)
    return np.floor(scaled + 0.5).astype(np.float32)  # 8-bit levels, NaN stays NaN


def _require_finite(block):
    """``block`` (bands, y, x) unless a band holds +inf or -inf: the stretch's limits are
    percentiles between each band's min and max, which an infinite value has not."""
    infinite = np.isinf(block).reshape(block.shape[0], -1).any(axis=1)
    if infinite.any():
        raise InvalidParameterError(
            f"cube: band(s) at position {np.flatnonzero(infinite).tolist()} of the segmented "
            "bands hold infinite values (inf): the stretch to 8 bits needs finite values. "
            "Mark them as nodata first, e.g. cube.where(np.isfinite(cube))"
        )
    return block


def _block_minmax(block):
    """(bands, y, x) -> (2, bands): each band's nanmin and nanmax (NaN for an all-NaN band)."""
    _require_finite(block)
    # fmin/fmax skip NaN without warnings: no warnings.catch_warnings here, which is not
    # thread-safe and would corrupt the warning filters of other threads (dask runs this).
    flat = block.reshape(block.shape[0], -1)
    if flat.shape[1] == 0:
        return np.full((2, block.shape[0]), np.nan, dtype=block.dtype)
    return np.stack([np.fmin.reduce(flat, axis=1), np.fmax.reduce(flat, axis=1)])


def _combine_minmax(parts):
    stacked = np.stack(parts)
    return np.stack([np.fmin.reduce(stacked[:, 0], axis=0), np.fmax.reduce(stacked[:, 1], axis=0)])


def _minmax_histogram(block, minmax, nbins):
    return _block_histogram(block, minmax[0], minmax[1], nbins)


def _sum_histograms(parts):
    return np.sum(parts, axis=0)


def _minmax_limits(hist, minmax, low, high):
    return _clip_limits([hist], minmax[0], minmax[1], low, high)


def _tree_reduce(func, parts, fan_in=16):
    """Reduce a list of delayed values with ``func(list)`` in a tree: O(1) tasks per part."""
    call = dask.delayed(func, pure=True)
    while len(parts) > 1:
        parts = [call(parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


def _independent_blocks(arr: da.Array, tag: str) -> list:
    """The blocks of ``arr`` as delayed values computed by their own copy of its graph.

    Every key of the graph is renamed (``-tag`` appended), so the copy reads its inputs itself
    and shares no task with ``arr``: a pass over these blocks never makes a scheduler hold
    ``arr``'s blocks until another pass needs them. (``dask.graph_manipulation.clone`` does
    this too but leaves some dependencies on the original keys in dask 2026.8.)
    """
    from dask._task_spec import convert_legacy_graph
    from dask.core import flatten
    from dask.delayed import Delayed
    from dask.highlevelgraph import HighLevelGraph

    def rename(key):
        if isinstance(key, tuple) and key and isinstance(key[0], str):
            return (f"{key[0]}-{tag}",) + key[1:]
        return f"{key}-{tag}" if isinstance(key, str) else None

    graph = convert_legacy_graph(dict(arr.__dask_graph__()))
    subs = {key: rename(key) for key in graph}
    if any(new is None for new in subs.values()):  # unusual keys: share the blocks instead
        return list(arr.to_delayed(optimize_graph=False).ravel())
    copy = {subs[key]: task.substitute(subs, key=subs[key]) for key, task in graph.items()}
    layer = f"{arr.name}-{tag}"
    hlg = HighLevelGraph.from_collections(layer, copy, dependencies=())
    return [Delayed(subs[key], hlg, layer=layer) for key in flatten(arr.__dask_keys__())]


def _clip_limits_graph(data: da.Array, low: float, high: float):
    """The delayed (2, bands) percent-clip limits of ``data`` (bands in one chunk).

    Two small passes over the blocks (per-block min/max, then per-block histograms between the
    global min and max), each reduced by a tree of small tasks; only delayed blocks reach
    ``dask.delayed`` calls, so the graph has O(1) tasks per block. Each pass reads its own
    copy of the blocks (:func:`_independent_blocks`), so the image is not held whole while the
    limits are being found (it would be if the passes shared the blocks with the stretch).
    """
    minmax = _tree_reduce(_combine_minmax, [dask.delayed(_block_minmax, pure=True)(b)
                                            for b in _independent_blocks(data, "minmax")])
    hist = dask.delayed(_minmax_histogram, pure=True)
    hists = _tree_reduce(_sum_histograms, [hist(b, minmax, HISTOGRAM_BINS)
                                           for b in _independent_blocks(data, "histogram")])
    return dask.delayed(_minmax_limits, pure=True)(hists, minmax, low, high)


def stretch_to_8bit(data: da.Array, low: float, high: float) -> da.Array:
    """Lazily stretch each band of ``data`` (band, y, x; NaN = nodata) to 0..255.

    The limits are the ``low`` and ``high`` percentiles of each band, read from a
    :data:`HISTOGRAM_BINS`-bin histogram built by a small dask reduction (per-block histograms
    between the band's min and max, summed) without a fill spike at either end
    (:func:`spike_free`); values are clipped and rounded to 8-bit levels.
    The graph has a bounded number of tasks per block.
    """
    if data.numblocks[0] != 1:
        data = data.rechunk({0: -1})
    limits = _clip_limits_graph(data, low, high)
    return data.map_blocks(_apply_stretch, limits, dtype=np.float32)


#: RGB -> CIE XYZ (D65) of linear 0..1 values (sRGB primaries; EDISON's and scikit-image's).
RGB_TO_XYZ = np.array([
    [0.412453, 0.357580, 0.180423],
    [0.212671, 0.715160, 0.072169],
    [0.019334, 0.119193, 0.950227],
])


def _srgb_decode_scalar(c: float) -> float:
    """The sRGB transfer function (IEC 61966-2-1), encoded 0..1 -> linear 0..1."""
    return c / 12.92 if c <= 0.04045 else math.pow((c + 0.055) / 1.055, 2.4)


#: The sRGB decoding of each 8-bit level, computed once with scalar ``math.pow`` (not numpy's
#: vectorised power, which may be dispatched to instruction-set specific code).
SRGB_DECODE_LUT = np.array([_srgb_decode_scalar(v / 255.0) for v in range(256)])


def srgb_to_linear(rgb255: np.ndarray) -> np.ndarray:
    """Encoded sRGB values 0..255 (float, clipped) -> linear 0..1 (float64).

    8-bit levels (every uint8 input and every stretched one) go through
    :data:`SRGB_DECODE_LUT`; other values through the same scalar ``math.pow`` per distinct
    value, so that no instruction-set specific vector power is ever used.

    Examples
    --------
    >>> srgb_to_linear(np.array([0.0, 10.0, 128.0, 255.0])).round(4).tolist()
    [0.0, 0.003, 0.2159, 1.0]
    """
    values = np.clip(np.asarray(rgb255, dtype=np.float64), 0.0, 255.0)
    levels = np.rint(values)
    if np.array_equal(levels, values):
        return SRGB_DECODE_LUT[levels.astype(np.intp)]
    distinct, where = np.unique(values, return_inverse=True)
    decoded = np.array([_srgb_decode_scalar(v / 255.0) for v in distinct.tolist()])
    return decoded[where].reshape(values.shape)


#: CIE XYZ of the D65 white (2 degree observer), as scikit-image's ``xyz2luv`` uses it.
WHITE_D65 = (0.95047, 1.0, 1.08883)
_WHITE_DENOMINATOR = WHITE_D65[0] + 15.0 * WHITE_D65[1] + 3.0 * WHITE_D65[2]
U0 = 4.0 * WHITE_D65[0] / _WHITE_DENOMINATOR
V0 = 9.0 * WHITE_D65[1] / _WHITE_DENOMINATOR


def cube_root(a: np.ndarray) -> np.ndarray:
    """Cube root of values in [0.008856, 1] (L*'s range) with plain IEEE arithmetic only.

    ``np.cbrt`` may run instruction-set specific code (SVML on AVX-512 CPUs) whose last bit
    differs from other CPUs'; here a fixed starting guess and six Newton steps of ``+ - * /``,
    each correctly rounded, give the same bits on every CPU (within 4 ulp of ``math.cbrt``).

    Examples
    --------
    >>> cube_root(np.array([0.125, 1.0, 0.027])).tolist()
    [0.5, 1.0, 0.3]
    """
    a = np.asarray(a, dtype=np.float64)
    t = 0.4 + 0.6 * a  # within a factor of two of the root over [0.0088, 1]
    for _ in range(6):  # Newton: t <- (2 t + a / t^2) / 3
        t = (t + t + a / (t * t)) / 3.0
    return t


def linear_rgb_to_luv(linear: np.ndarray) -> np.ndarray:
    """Linear RGB 0..1 ``(..., 3)`` -> CIE L*u*v* (D65) ``(..., 3)`` float64, as
    ``skimage.color.rgb2luv`` after its gamma step, but with elementwise IEEE arithmetic only
    (no BLAS matrix product, whose last bits follow the OpenBLAS kernel, and no ``np.cbrt``):
    the same bits on every CPU.

    Examples
    --------
    >>> linear_rgb_to_luv(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])).round(2).tolist()
    [[100.0, -0.0, 0.01], [0.0, 0.0, 0.0]]
    """
    r, g, b = linear[..., 0], linear[..., 1], linear[..., 2]
    m = RGB_TO_XYZ.tolist()
    x = r * m[0][0] + g * m[0][1] + b * m[0][2]
    y = r * m[1][0] + g * m[1][1] + b * m[1][2]
    z = r * m[2][0] + g * m[2][1] + b * m[2][2]
    y_ratio = y / WHITE_D65[1]
    bright = y_ratio > 0.008856
    lightness = np.where(bright, 116.0 * cube_root(np.where(bright, y_ratio, 1.0)) - 16.0,
                         903.3 * y_ratio)
    denominator = x + 15.0 * y + 3.0 * z + np.finfo(np.float64).eps
    u = 13.0 * lightness * ((4.0 * x) / denominator - U0)
    v = 13.0 * lightness * ((9.0 * y) / denominator - V0)
    return np.stack([lightness, u, v], axis=-1)


def _to_luv(block, color_space="luv"):
    """(3, y, x) values 0..255 -> CIE L*u*v* (D65).

    ``"luv"``: the standard conversion, values decoded as sRGB first (as
    ``skimage.color.rgb2luv``); ``"luv_linear"``: values read as linear RGB (EDISON's way).
    """
    rgb = np.moveaxis(block, 0, -1).astype(np.float64)
    bad = ~np.isfinite(rgb).all(axis=-1)
    rgb[bad] = 0.0
    if color_space == "luv_linear":
        linear = np.clip(rgb / 255.0, 0.0, 1.0)
    else:
        linear = srgb_to_linear(rgb)
    luv = linear_rgb_to_luv(linear).astype(np.float32)
    luv[bad] = np.nan
    return np.moveaxis(luv, -1, 0)


def _masked_float32(block, nodata):
    """A block of raw values as float32, NaN on ``nodata``."""
    values = block.astype(np.float32)
    if nodata is not None:
        values = np.where(block == nodata, np.float32(np.nan), values)
    return values


def _finish_block(block, limits, color_space):
    """Stretch (when ``limits`` is given), colour space, and NaN in all bands where any is NaN."""
    if limits is not None:
        block = _apply_stretch(block, limits)
    if color_space in LUV_SPACES:
        block = _to_luv(block, color_space)
    bad = np.isnan(block).any(axis=0)
    return np.where(bad[None], np.float32(np.nan), block)


def prepare_pixels(raw, nodata, limits, color_space) -> np.ndarray:
    """Prepare raw pixel values ``(..., bands)`` for mean shift: a pixel-wise function.

    float32 with NaN on ``nodata``, stretched to 8-bit levels with ``limits`` (2, bands) when
    given, converted to L*u*v* when ``color_space`` is one of :data:`LUV_SPACES`, and NaN in
    every band where any band is NaN.
    """
    values = np.moveaxis(raw, -1, 0)
    values = _finish_block(_masked_float32(values, nodata), limits, color_space)
    return np.moveaxis(values, 0, -1)


def raw_image(cube: xr.DataArray, bands, params: SegmentParameters):
    """The chosen bands in their own dtype, and what :func:`prepare_pixels` needs to prepare them.

    Returns ``(raw, prepare_args, names)``: ``raw`` a dask array ``(y, x, bands)``,
    ``prepare_args`` the ``(nodata, limits, color_space)`` arguments of :func:`prepare_pixels`
    (``limits`` a delayed value: the percent-clip stretch limits, found by small tree
    reductions over their own copy of the blocks), ``names`` the band names. Preparing inside
    the block tasks rather than as a separate step keeps the chunks that neighbouring blocks
    share in the input's dtype.
    """
    idx = _band_indices(cube, bands)
    names = [str(cube.band.values[i]) for i in idx]
    data = cube.data
    if not isinstance(data, da.Array):
        data = da.from_array(data, chunks=(-1, 1024, 1024))
    dtype = data.dtype
    if data.numblocks[0] != 1:
        data = data.rechunk({0: -1})
    nodata = cube.rio.nodata if hasattr(cube, "rio") else None
    if nodata is not None and isinstance(nodata, float) and math.isnan(nodata):
        nodata = None
    raw = data[_as_slice(idx)]
    limits = None
    if dtype != np.uint8 and params.stretch is not None:
        values = raw.map_blocks(_masked_float32, nodata, dtype=np.float32,
                                meta=np.array((), dtype=np.float32))
        limits = _clip_limits_graph(values, *params.stretch)
    return raw.transpose(1, 2, 0), (nodata, limits, params.color_space), names


def prepare_image(cube: xr.DataArray, bands, params: SegmentParameters) -> tuple[da.Array, list]:
    """The image mean shift sees: dask float32 ``(y, x, bands)``, NaN on nodata.

    Returns the image and the names of the bands used. Every step is one task per block (band
    choice, nodata, stretch, colour space) plus the small tree reductions of the stretch limits.
    """
    raw, prepare_args, names = raw_image(cube, bands, params)
    image = raw.map_blocks(prepare_pixels, *prepare_args, dtype=np.float32,
                           meta=np.array((), dtype=np.float32))
    return image, names
