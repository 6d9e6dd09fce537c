"""Input preparation (band choice, nodata, 8-bit stretch, colour space) and assembly.

Everything here is lazy: the functions build a dask graph, and the only reductions in it are
small (a per-band histogram for the stretch, the region tables of the global pass).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import dask
import dask.array as da
import numpy as np
import xarray as xr

from ..errors import DimensionError, InvalidInputTypeError, InvalidParameterError
from . import labels as _labels
from . import tiles
from .params import SegmentParameters, resolve_parameters

__all__ = [
    "SegmentParameters",
    "resolve_parameters",
    "prepare_image",
    "prepare_pixels",
    "raw_image",
    "segment",
    "mean_shift_filter",
    "HISTOGRAM_BINS",
]

#: Number of histogram bins used to find the percent-clip limits of a non-8-bit band.
HISTOGRAM_BINS = 4096


# -- input preparation -------------------------------------------------------------------------


def _check_cube(cube) -> xr.DataArray:
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
    return cube.transpose("band", "y", "x")


def _band_indices(cube: xr.DataArray, bands) -> list[int]:
    """Positions of the chosen bands (default: the first three, or all if fewer)."""
    n = cube.sizes["band"]
    if bands is None:
        return list(range(min(3, n)))
    if isinstance(bands, int | str | np.integer):
        bands = [bands]
    names = [str(b) for b in cube.band.values]
    idx = []
    for b in bands:
        if isinstance(b, int | np.integer) and not isinstance(b, bool):
            if not -n <= b < n:
                raise InvalidParameterError(
                    f"bands: index {b} is out of range for a cube of {n} bands (0..{n - 1})"
                )
            idx.append(int(b) % n)
        elif isinstance(b, str) and b in names:
            idx.append(names.index(b))
        else:
            raise InvalidParameterError(
                f"bands: {b!r} is neither a band index (0..{n - 1}) nor a band name {names}"
            )
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


def _clip_limits(hists, mins, maxs, low, high):
    total = np.sum(hists, axis=0)
    limits = np.zeros((2, total.shape[0]), dtype=np.float64)
    for k in range(total.shape[0]):
        lo, hi = float(mins[k]), float(maxs[k])
        cum = np.cumsum(total[k])
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


def _block_minmax(block):
    """(bands, y, x) -> (2, bands): each band's nanmin and nanmax (NaN for an all-NaN band)."""
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
    between the band's min and max, summed); values are clipped and rounded to 8-bit levels.
    The graph has a bounded number of tasks per block.
    """
    if data.numblocks[0] != 1:
        data = data.rechunk({0: -1})
    limits = _clip_limits_graph(data, low, high)
    return data.map_blocks(_apply_stretch, limits, dtype=np.float32)


#: RGB -> CIE XYZ (D65) applied to *linear* 0..1 values, as EDISON does (no sRGB gamma).
RGB_TO_XYZ = np.array([
    [0.412453, 0.357580, 0.180423],
    [0.212671, 0.715160, 0.072169],
    [0.019334, 0.119193, 0.950227],
])


def _to_luv(block):
    """(3, y, x) values 0..255 -> CIE L*u*v* (D65), EDISON's conversion (RGB read as linear)."""
    from skimage.color import xyz2luv

    rgb = np.moveaxis(block, 0, -1).astype(np.float64) / 255.0
    bad = ~np.isfinite(rgb).all(axis=-1)
    rgb[bad] = 0.0
    luv = xyz2luv(np.clip(rgb, 0.0, 1.0) @ RGB_TO_XYZ.T).astype(np.float32)
    luv[bad] = np.nan
    return np.moveaxis(luv, -1, 0)


def _masked_float32(block, nodata):
    """A block of raw values as float32, NaN on ``nodata``."""
    values = block.astype(np.float32)
    if nodata is not None:
        values = np.where(block == nodata, np.float32(np.nan), values)
    return values


def _finish_block(block, limits, luv):
    """Stretch (when ``limits`` is given), colour space, and NaN in all bands where any is NaN."""
    if limits is not None:
        block = _apply_stretch(block, limits)
    if luv:
        block = _to_luv(block)
    bad = np.isnan(block).any(axis=0)
    return np.where(bad[None], np.float32(np.nan), block)


def prepare_pixels(raw, nodata, limits, luv) -> np.ndarray:
    """Prepare raw pixel values ``(..., bands)`` for mean shift: a pixel-wise function.

    float32 with NaN on ``nodata``, stretched to 8-bit levels with ``limits`` (2, bands) when
    given, converted to L*u*v* when ``luv``, and NaN in every band where any band is NaN.
    """
    values = np.moveaxis(raw, -1, 0)
    values = _finish_block(_masked_float32(values, nodata), limits, luv)
    return np.moveaxis(values, 0, -1)


def raw_image(cube: xr.DataArray, bands, params: SegmentParameters):
    """The chosen bands in their own dtype, and what :func:`prepare_pixels` needs to prepare them.

    Returns ``(raw, prepare_args, names)``: ``raw`` a dask array ``(y, x, bands)``,
    ``prepare_args`` the ``(nodata, limits, luv)`` arguments of :func:`prepare_pixels` (``limits``
    a delayed value: the percent-clip stretch limits, found by small tree reductions over their
    own copy of the blocks), ``names`` the band names. Preparing inside the block tasks rather
    than as a separate step keeps the chunks that neighbouring blocks share in the input's dtype.
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
    return raw.transpose(1, 2, 0), (nodata, limits, params.color_space == "luv"), names


def prepare_image(cube: xr.DataArray, bands, params: SegmentParameters) -> tuple[da.Array, list]:
    """The image mean shift sees: dask float32 ``(y, x, bands)``, NaN on nodata.

    Returns the image and the names of the bands used. Every step is one task per block (band
    choice, nodata, stretch, colour space) plus the small tree reductions of the stretch limits.
    """
    raw, prepare_args, names = raw_image(cube, bands, params)
    image = raw.map_blocks(prepare_pixels, *prepare_args, dtype=np.float32,
                           meta=np.array((), dtype=np.float32))
    return image, names


# -- public functions ----------------------------------------------------------------------------


def mean_shift_filter(
    cube: xr.DataArray, bands=None, spectral_detail: float = 15.5, spatial_detail: float = 15,
    **options,
) -> xr.DataArray:
    """Mean-shift filtered image (the first step of :func:`segment`), lazily.

    Parameters are those of :func:`segment` (segment-size parameters are ignored).

    Returns
    -------
    xarray.DataArray
        float32 ``("band", "y", "x")``: the filtered values of each band (in the colour space
        used), then ``dy`` and ``dx``, each pixel's displacement in pixels; NaN on nodata.

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> from xr_landcover.segment import mean_shift_filter
    >>> cube = datasets.l8_rgb_uint8().isel(y=slice(0, 40), x=slice(0, 40))
    >>> out = mean_shift_filter(cube, spatial_radius=3, spectral_radius=10, color_space="none")
    >>> [str(b) for b in out.band.values], out.shape
    (['red', 'green', 'blue', 'dy', 'dx'], (5, 40, 40))
    """
    cube = _check_cube(cube)
    params = resolve_parameters(
        len(select_bands(cube, bands).band), spectral_detail=spectral_detail,
        spatial_detail=spatial_detail, **options,
    )
    raw, prepare_args, names = raw_image(cube, bands, params)
    out = tiles.mean_shift_array(raw, params.spatial_radius, params.spectral_radius,
                                 params.maxiter, params.threshold, params.kernel == "joint",
                                 prepare=prepare_pixels, prepare_args=prepare_args)
    da_out = xr.DataArray(
        out.transpose(2, 0, 1), dims=("band", "y", "x"),
        coords={"band": names + ["dy", "dx"], "y": cube.y, "x": cube.x},
        name="mean_shift", attrs=params.attrs(),
    )
    if cube.rio.crs is not None:
        da_out = da_out.rio.write_crs(cube.rio.crs)
    return da_out


def segment(
    cube: xr.DataArray,
    bands=None,
    spectral_detail: float = 15.5,
    spatial_detail: float = 15,
    min_segment_size: int = 20,
    max_segment_size: int | None = None,
    *,
    spectral_radius: float | None = None,
    spatial_radius: float | None = None,
    color_space: str | None = None,
    kernel: str = "product",
    maxiter: int = 10,
    threshold: float = 0.1,
    stretch: Sequence[float] | None = (2.0, 98.0),
) -> xr.DataArray:
    """Segment a band cube by mean shift, lazily, with ids independent of the chunking.

    The ArcGIS *Segment Mean Shift* parameters, with the same names, ranges and defaults;
    ``radius = 22 - detail`` gives the bandwidths (7 px and 6.5 at the defaults, EDISON's own
    defaults, in CIE L*u*v*). See the *Segmentation* page of the documentation.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``("band", "y", "x")``.
    bands : sequence of int or str, optional
        Bands by position or name; default the first three.
    spectral_detail : float, default 15.5
        In [1, 20]; higher separates finer colour differences (``spectral_radius = 22 - it``).
    spatial_detail : float, default 15
        In [1, 20]; higher separates finer spatial detail (``spatial_radius = 22 - it``).
    min_segment_size : int, default 20
        Regions smaller than this (pixels) merge into their most similar neighbour.
    max_segment_size : int, optional
        Segments larger than this (pixels) are cut along a regular grid of square cells of
        ``ceil(sqrt(max_segment_size))`` pixels; default no limit.
    spectral_radius, spatial_radius : float, optional
        Bandwidths in value units and pixels; override the details.
    color_space : {"luv", "none"}, optional
        ``"luv"`` (default for 3 bands): values 0..255 read as linear RGB and converted to
        CIE L*u*v* (D65), as EDISON does. ``"none"``: raw (or stretched) values, any number
        of bands.
    kernel : {"product", "joint"}, default "product"
        ``"product"``: a neighbour counts when within ``spatial_radius`` and within
        ``spectral_radius`` (EDISON, ArcGIS-like). ``"joint"``: when
        ``|ds|^2/hs^2 + |dr|^2/hr^2 <= 1`` (Orfeo ToolBox).
    maxiter : int, default 10
        Maximum mean-shift steps per pixel.
    threshold : float, default 0.1
        Convergence: squared length of a step (OTB's ``-thres``).
    stretch : (low, high) or None, default (2, 98)
        Percent clip used to stretch each band to 0..255 when the input is not uint8; ``None``
        uses the raw values.

    Returns
    -------
    xarray.DataArray
        int64 ``("y", "x")`` named ``segment_id``: ``1 +`` the raster index of each segment's
        first pixel; 0 on nodata (``_FillValue``). CRS and coordinates of ``cube``; the
        parameters in ``attrs``.

    Raises
    ------
    InvalidParameterError
        A parameter is out of its range (the message names it and the range).
    DimensionError
        The cube is not ``("band", "y", "x")``.

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> from xr_landcover.segment import segment
    >>> cube = datasets.l8_rgb_uint8().isel(y=slice(0, 64), x=slice(0, 64))
    >>> seg = segment(cube, spatial_radius=3, min_segment_size=10)
    >>> seg.name, seg.dims, str(seg.dtype)
    ('segment_id', ('y', 'x'), 'int64')
    >>> int(seg.min()) > 0
    True
    """
    cube = _check_cube(cube)
    params = resolve_parameters(
        len(select_bands(cube, bands).band), spectral_detail=spectral_detail,
        spatial_detail=spatial_detail, min_segment_size=min_segment_size,
        max_segment_size=max_segment_size, spectral_radius=spectral_radius,
        spatial_radius=spatial_radius, color_space=color_space, kernel=kernel, maxiter=maxiter,
        threshold=threshold, stretch=stretch,
    )
    raw, prepare_args, names = raw_image(cube, bands, params)
    ids = segment_array(raw, params, prepare_args)
    seg = xr.DataArray(ids, dims=("y", "x"), coords={"y": cube.y, "x": cube.x},
                       name="segment_id")
    if cube.rio.crs is not None:
        seg = seg.rio.write_crs(cube.rio.crs)
    seg = seg.rio.write_nodata(0, encoded=False)
    seg.attrs.update(params.attrs())
    seg.attrs["bands"] = names
    seg.attrs["long_name"] = "mean-shift segment id (1 + raster index of first pixel)"
    return seg


def segment_array(
    image: da.Array, params: SegmentParameters, prepare_args: tuple | None = None
) -> da.Array:
    """The dask graph of the segmentation of an image (y, x, bands) -> int64 (y, x).

    ``image`` is prepared (:func:`prepare_image`), or raw (:func:`raw_image`) with its
    ``prepare_args``: then each block task prepares its own halo.
    """
    hs, hr = params.spatial_radius, params.spectral_radius
    depth = tiles.stability_margin(hs, params.maxiter)
    prepare = None if prepare_args is None else prepare_pixels
    grid = tiles.map_overlap_blocks(
        image, depth, _labels.block_stage, tuple(image.shape[:2]), hs, hr, params.maxiter,
        params.threshold, params.kernel == "joint", params.min_segment_size,
        prepare=prepare, prepare_args=() if prepare_args is None else prepare_args,
    )
    # The one global step: small tables in, small lookup tables out.
    luts = dask.delayed(_labels.solve_regions, pure=True)(grid, hs, hr, params.min_segment_size)
    relabel = dask.delayed(_labels.relabel_block, pure=True)
    blocks = [
        [
            da.from_delayed(relabel(grid[i][j], luts[i][j]), shape=(ny, nx), dtype=np.int64)
            for j, nx in enumerate(image.chunks[1])
        ]
        for i, ny in enumerate(image.chunks[0])
    ]
    ids = da.block(blocks)
    if params.max_segment_size is not None:
        from .split import split_large_segments

        ids = split_large_segments(ids, params.max_segment_size)
    return ids
