"""A cheap sample of a band cube's pixels, and the check made on it that every reader shares:
fill that the cube does not declare.

Checks that need data (is there undeclared fill? is the cube on the model's scale?) must not
compute the cube. :func:`sample_pixels` reads a few small windows instead (at most
:data:`SAMPLE_WINDOWS` windows of :data:`SAMPLE_WINDOW` x :data:`SAMPLE_WINDOW` pixels, spread
over the image, each inside one chunk: at most nine chunks are read), with dask's synchronous
scheduler in the calling thread: the user's scheduler or cluster sees no computation, and a
GeoTIFF-backed cube reads only those windows. :func:`warn_if_undeclared_fill` is the warning
``classify``, ``segment`` and ``plot_rgb`` give on it. This module imports nothing of the
package but its warning helper.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ._warnings import warn

__all__ = ["SAMPLE_WINDOW", "SAMPLE_WINDOWS", "FILL_SHARE", "sample_pixels", "valid_rows",
           "fill_share", "warn_if_undeclared_fill", "declared_nodata"]

#: Edge, in pixels, of each sampled window.
SAMPLE_WINDOW = 64
#: Windows sampled: a 3 x 3 grid over the image (fewer on a small image).
SAMPLE_WINDOWS = 9
#: Share of sampled pixels that are 0 in every band above which undeclared fill is suspected.
FILL_SHARE = 0.05


def _spans(n: int, chunks: tuple[int, ...] | None, width: int,
           count: int = 3) -> list[tuple[int, int]]:
    """Up to ``count`` windows of at most ``width`` along an axis of ``n`` pixels, each inside
    one chunk: the chunks at 1/6, 3/6 and 5/6 of the axis (a window centred in each). Without
    chunks (numpy), the whole axis when it is shorter than the windows together."""
    if chunks is None:
        if n <= count * width:
            return [(0, n)]
        picks = [n * (2 * i + 1) // (2 * count) for i in range(count)]
        return [(max(0, c - width // 2), min(n, c - width // 2 + width)) for c in picks]
    starts = np.concatenate([[0], np.cumsum(chunks)]).astype(int)
    nblocks = len(chunks)
    picks = sorted({min(nblocks - 1, nblocks * (2 * i + 1) // (2 * count))
                    for i in range(count)})
    spans = []
    for b in picks:
        b0, b1 = int(starts[b]), int(starts[b + 1])
        w = min(width, b1 - b0)
        c0 = b0 + (b1 - b0 - w) // 2
        spans.append((c0, c0 + w))
    return spans


def sample_pixels(cube: xr.DataArray) -> np.ndarray | None:
    """A few windows of ``cube`` ``(..., "band", "y", "x")`` as a ``(pixels, bands)`` float64
    table (the first index of any leading dim), or None when they cannot be read here.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> cube = xr.DataArray(np.ones((2, 500, 150)), dims=("band", "y", "x")).chunk(100)
    >>> sample_pixels(cube).shape  # 3 x 2 windows, each inside one chunk: 192 x (64 + 50) px
    (21888, 2)
    """
    import dask

    image = cube.isel({d: 0 for d in cube.dims if d not in ("band", "y", "x")})
    image = image.transpose("band", "y", "x")
    chunks = image.chunksizes if image.chunks is not None else {}
    windows = [image.isel(y=slice(y0, y1), x=slice(x0, x1)).variable
               for y0, y1 in _spans(image.sizes["y"], chunks.get("y"), SAMPLE_WINDOW)
               for x0, x1 in _spans(image.sizes["x"], chunks.get("x"), SAMPLE_WINDOW)]
    try:
        if image.chunks is None:  # numpy, or a lazy file backend: reads only the windows
            parts = [w.values for w in windows]
        else:  # the calling thread's scheduler: nothing reaches the user's scheduler/cluster
            parts = dask.compute(*[w.data for w in windows], scheduler="sync")
    except Exception:  # noqa: BLE001 - unreadable here (e.g. data only on a cluster): no check
        return None
    return np.concatenate([np.asarray(p, dtype=np.float64).reshape(p.shape[0], -1).T
                           for p in parts])


def declared_nodata(cube: xr.DataArray) -> float | None:
    """The fill value ``cube`` declares: its nodata, else the encoded one of a masked cube
    (NaN, with the file's value in the encoding), else None."""
    for value in (cube.rio.nodata, cube.rio.encoded_nodata):
        if value is not None:
            return float(value)
    return None


def valid_rows(pixels: np.ndarray, nodata: float | None) -> np.ndarray:
    """The rows of ``pixels`` with no NaN and no ``nodata`` in any band."""
    keep = np.all(np.isfinite(pixels), axis=1)
    if nodata is not None and not np.isnan(nodata):
        keep &= np.all(pixels != nodata, axis=1)
    return pixels[keep]


def fill_share(pixels: np.ndarray) -> float:
    """Share of the rows of ``pixels`` that are 0 in every band."""
    if pixels.shape[0] == 0:
        return 0.0
    return float(np.mean(np.all(pixels == 0, axis=1)))


def warn_if_undeclared_fill(cube: xr.DataArray, pixels: np.ndarray | None,
                            name: str = "cube") -> None:
    """Warn when ``cube`` declares no nodata but :data:`FILL_SHARE` or more of the sampled
    ``pixels`` are 0 in every band (the fill outside a Landsat Level-1 footprint), saying how
    to declare it."""
    if pixels is None or declared_nodata(cube) is not None:
        return
    share = fill_share(pixels)
    if share >= FILL_SHARE:
        warn(
            f"the {name} declares no nodata, but {share:.0%} of a sample of its pixels are 0 in "
            f"every band (fill outside a scene's footprint?); they are taken as data. If 0 "
            f"marks missing pixels, declare it: {name}.rio.write_nodata(0) (or open_image(..., "
            "nodata=0); on the command line --nodata 0)",
        )
