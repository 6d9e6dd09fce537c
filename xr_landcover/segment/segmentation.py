"""The public segmentation functions and the dask driver that assembles their graph.

Holds :func:`segment` (band cube -> segment map) and :func:`mean_shift_filter` (band cube ->
filtered image), which check the cube (:func:`.prepare.check_cube`), resolve the parameters
(:func:`.params.resolve_parameters`) and hand the raw bands to the drivers, and
:func:`segment_array`, the dask graph of a segmentation: per-block filtering, labelling and
local merging in halos (:mod:`.tiles`, :mod:`.labels`), one small global pass over the region
tables, a lazy relabel, and the optional cut of large segments (:mod:`.split`).

Everything here is lazy: the functions build a dask graph, and the only reductions in it are
small (the stretch limits of :mod:`.prepare`, the region tables of the global pass).

Named ``segmentation`` so that ``xr_landcover.segment.segment`` stays the function.
"""

from __future__ import annotations

from collections.abc import Sequence

import dask
import dask.array as da
import xarray as xr

from .._sample import sample_pixels, warn_if_undeclared_fill
from .._validate import DEFAULT_MIN_SEGMENT_SIZE, DEFAULT_SPATIAL_DETAIL, DEFAULT_SPECTRAL_DETAIL
from . import labels as _labels
from . import tiles
from .band_order import rgb_bands
from .params import SegmentParameters, resolve_parameters
from .prepare import check_cube, prepare_pixels, raw_image, select_bands

__all__ = ["segment", "mean_shift_filter", "segment_array"]


def mean_shift_filter(
    cube: xr.DataArray, bands=None, spectral_detail: float = DEFAULT_SPECTRAL_DETAIL,
    spatial_detail: float = DEFAULT_SPATIAL_DETAIL,
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
    cube = check_cube(cube)
    params = resolve_parameters(
        len(select_bands(cube, bands).band), spectral_detail=spectral_detail,
        spatial_detail=spatial_detail, **options,
    )
    bands = rgb_bands(cube, bands, params.color_space)
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
    spectral_detail: float = DEFAULT_SPECTRAL_DETAIL,
    spatial_detail: float = DEFAULT_SPATIAL_DETAIL,
    min_segment_size: int = DEFAULT_MIN_SEGMENT_SIZE,
    max_segment_size: int | None = None,
    *,
    spectral_radius: float | None = None,
    spatial_radius: float | None = None,
    color_space: str | None = None,
    kernel: str = "product",
    maxiter: int = 10,
    threshold: float = 0.1,
    stretch: Sequence[float] | None = (2.0, 98.0),
    link_radius: float | None = None,
    fuse_radius: float | None = None,
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
        Bands by position or name; default the first three. With ``color_space="luv"`` they
        are read as red, green, blue: bands named ``"red"``, ``"green"``, ``"blue"`` are put
        in that order whatever their order in the cube or in ``bands``; band codes in
        increasing order (``B2, B3, B4``, usually blue, green, red) give a warning.
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
    color_space : {"luv", "luv_linear", "none"}, optional
        ``"luv"`` (default for 3 bands): values 0..255 decoded as sRGB and converted to
        CIE L*u*v* (D65), the standard conversion (``skimage.color.rgb2luv``).
        ``"luv_linear"``: read as linear RGB, as EDISON does (the default before issue 18).
        ``"none"``: raw (or stretched) values, any number of bands.
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
    link_radius : float, optional
        4-neighbours join into one region when their filtered values are closer than this
        (and their displacements closer than ``spatial_radius / 2``). Default
        ``spectral_radius / 16`` with ``kernel="product"`` (pixels that reached nearly the
        same mode) and ``spectral_radius / 2`` with ``kernel="joint"`` (Orfeo ToolBox's
        ``LSMSSegmentation`` rule).
    fuse_radius : float, optional
        After the small-region merge, adjacent segments whose mean filtered values (modes) are
        closer than this fuse into one (0: never). Default ``3 * spectral_radius / 8`` with
        ``kernel="product"``, 0 with ``kernel="joint"``. Linking at ``spectral_radius / 2``
        chains along the blurred rims of faint fields and fuses them with their
        surroundings; linking tightly and fusing whole segments does not (see the
        *Segmentation* page, "Linking and fusion").

    Returns
    -------
    xarray.DataArray
        uint32 ``("y", "x")`` named ``segment_id`` (uint64 for images of more than
        4,294,967,295 pixels): ``1 +`` the raster index of each segment's first pixel; 0 on
        nodata (``_FillValue``). CRS and coordinates of ``cube``; the parameters in ``attrs``
        (:func:`~xr_landcover.io.to_geotiff` writes them as GeoTIFF tags).

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
    ('segment_id', ('y', 'x'), 'uint32')
    >>> int(seg.min()) > 0
    True
    """
    cube = check_cube(cube)
    params = resolve_parameters(
        len(select_bands(cube, bands).band), spectral_detail=spectral_detail,
        spatial_detail=spatial_detail, min_segment_size=min_segment_size,
        max_segment_size=max_segment_size, spectral_radius=spectral_radius,
        spatial_radius=spatial_radius, color_space=color_space, kernel=kernel, maxiter=maxiter,
        threshold=threshold, stretch=stretch, link_radius=link_radius,
        fuse_radius=fuse_radius,
    )
    bands = rgb_bands(cube, bands, params.color_space)
    warn_if_undeclared_fill(cube, sample_pixels(select_bands(cube, bands)))
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
    """The dask graph of the segmentation of an image (y, x, bands) -> uint32 (y, x) ids
    (uint64 past 4,294,967,295 pixels: :func:`.labels.segment_id_dtype`).

    ``image`` is prepared (:func:`.prepare.prepare_image`), or raw
    (:func:`.prepare.raw_image`) with its ``prepare_args``: then each block task prepares its
    own halo.
    """
    hs, hr = params.spatial_radius, params.spectral_radius
    depth = tiles.stability_margin(hs, params.maxiter)
    prepare = None if prepare_args is None else prepare_pixels
    grid = tiles.map_overlap_blocks(
        image, depth, _labels.block_stage, tuple(image.shape[:2]), hs, hr, params.maxiter,
        params.threshold, params.kernel == "joint", params.min_segment_size, params.link_radius,
        params.fuse_radius, prepare=prepare,
        prepare_args=() if prepare_args is None else prepare_args,
    )
    # The one global step: small tables in, small lookup tables out.
    luts = dask.delayed(_labels.solve_regions, pure=True)(grid, hs, params.link_radius,
                                                           params.min_segment_size,
                                                           params.fuse_radius)
    relabel = dask.delayed(_labels.relabel_block, pure=True)
    dtype = _labels.segment_id_dtype(*image.shape[:2])
    blocks = [
        [
            da.from_delayed(relabel(grid[i][j], luts[i][j], dtype), shape=(ny, nx), dtype=dtype)
            for j, nx in enumerate(image.chunks[1])
        ]
        for i, ny in enumerate(image.chunks[0])
    ]
    ids = da.block(blocks)
    if params.max_segment_size is not None:
        from .split import split_large_segments

        ids = split_large_segments(ids, params.max_segment_size)
    return ids
