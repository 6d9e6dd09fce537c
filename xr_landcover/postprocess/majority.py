"""Majority filter of a class map, byte-identical to Orfeo ToolBox's
``ClassificationMapRegularization`` (``otb::NeighborhoodMajorityVotingImageFilter``).

OTB's rule, read from its source and checked against ``otbcli_ClassificationMapRegularization``
(tests/test_postprocess_majority.py runs the real tool):

* the neighbourhood is ITK's binary ball of radius ``r``: the offsets ``(dy, dx)`` with
  ``dy² + dx² <= (r + 1/2)²`` (the full 3 x 3 box for ``r = 1``, 21 pixels for ``r = 2``,
  37 for ``r = 3``), the centre pixel included;
* pixels outside the image and fill (nodata) pixels do not vote; fill pixels stay fill;
* the most frequent label wins; when the two most frequent labels tie, the pixel keeps its
  label (``ties="keep"``) or takes ``undecided_value`` (``ties="undecided"``, OTB's
  ``-ip.suvbool true``);
* with ``only_isolated=True`` a pixel keeps its label when more than ``isolated_threshold``
  pixels of the neighbourhood (itself included) carry it.

ArcGIS's Majority Filter rules (``neighbors=`` / ``threshold=``, :func:`arcgis_majority_block`)
are implemented from Esri's tool documentation (no ArcGIS to compare with here): see
:func:`majority_filter` for the rule as documented and what it leaves open.

Each output pixel depends on the pixels within ``radius`` of it only, so ``map_overlap`` with a
halo of ``radius`` (none beyond the image edges) gives the same map for any chunking.
"""

from __future__ import annotations

from functools import partial

import dask.array as dsa
import numba
import numpy as np
import xarray as xr

from .._validate import check_choice, check_number, require_class_map
from ..classmap import fill_value
from ..errors import InvalidInputTypeError, InvalidParameterError

__all__ = ["majority_filter", "ball_half_widths", "majority_block", "arcgis_majority_block"]

TIES = ("keep", "undecided")
NEIGHBORS = ("four", "eight")
THRESHOLDS = ("majority", "half")

# The ring of neighbours, in order around the centre: consecutive positions (cyclically) are
# ArcGIS's "contiguous" cells: for eight neighbours they share an edge, for four a corner.
RING8_DY = np.array([-1, -1, 0, 1, 1, 1, 0, -1], dtype=np.int64)
RING8_DX = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
RING4_DY = np.array([-1, 0, 1, 0], dtype=np.int64)
RING4_DX = np.array([0, 1, 0, -1], dtype=np.int64)


def ball_half_widths(radius: int) -> np.ndarray:
    """Half-width in x of ITK's binary ball for each row offset ``dy = -radius .. radius``.

    Row ``dy`` of the ball holds the ``dx`` with ``dx² + dy² <= (radius + 1/2)²``, computed in
    integers as ``4 (dx² + dy²) <= (2 radius + 1)²``.

    Examples
    --------
    >>> ball_half_widths(1).tolist(), ball_half_widths(2).tolist(), ball_half_widths(3).tolist()
    ([1, 1, 1], [1, 2, 2, 2, 1], [1, 2, 3, 3, 3, 2, 1])
    """
    limit = (2 * radius + 1) ** 2
    widths = []
    for dy in range(-radius, radius + 1):
        w = 0
        while 4 * ((w + 1) ** 2 + dy * dy) <= limit:
            w += 1
        widths.append(w)
    return np.array(widths, dtype=np.int64)


@numba.njit(nogil=True, cache=True)
def _vote(counts, idx, i, j, widths, radius, nclass, scan_window):
    """Most frequent class index and whether it is unique, from the running histogram."""
    best, m1, m2 = -1, 0, 0
    if not scan_window:
        for k in range(nclass):
            c = counts[k]
            if c > m1:
                m2 = m1
                m1 = c
                best = k
            elif c > m2:
                m2 = c
        return best, m1 != m2
    # Many classes: visit the window's pixels instead of every class (each class once,
    # recognised by being the first of its label met, through a negative mark).
    height, width = idx.shape
    for a in range(2 * radius + 1):
        y = i + a - radius
        if y < 0 or y >= height:
            continue
        w = widths[a]
        for x in range(max(0, j - w), min(width, j + w + 1)):
            k = idx[y, x]
            if k < 0 or counts[k] <= 0:
                continue
            c = counts[k]
            if c > m1:
                m2 = m1
                m1 = c
                best = k
            elif c > m2:
                m2 = c
            counts[k] = -c
    for a in range(2 * radius + 1):  # restore the marks
        y = i + a - radius
        if y < 0 or y >= height:
            continue
        w = widths[a]
        for x in range(max(0, j - w), min(width, j + w + 1)):
            k = idx[y, x]
            if k >= 0 and counts[k] < 0:
                counts[k] = -counts[k]
    return best, m1 != m2


@numba.njit(nogil=True, cache=True)
def majority_block(idx, nclass, widths, keep_ties, only_isolated, threshold):
    """OTB's majority vote on one block of dense class indices.

    Parameters
    ----------
    idx : int32 (rows, cols)
        Class index ``0 .. nclass - 1`` of each pixel, ``-1`` for fill pixels (they neither
        vote nor change). Pixels beyond the array do not exist.
    nclass : int
    widths : int64 (2 radius + 1,)
        :func:`ball_half_widths`.
    keep_ties : bool
        Tied pixels keep their class; otherwise they become ``-2`` (undecided).
    only_isolated : bool
    threshold : int
        With ``only_isolated``, pixels whose class counts more than this in their
        neighbourhood (themselves included) are kept.

    Returns
    -------
    int32 (rows, cols)
        The class index of each pixel after the vote, ``-1`` fill, ``-2`` undecided.

    A running histogram per row: moving one pixel right removes the left end of each row of
    the ball and adds the next pixel at its right end.
    """
    height, width = idx.shape
    radius = (widths.shape[0] - 1) // 2
    out = np.empty((height, width), dtype=np.int32)
    counts = np.zeros(max(nclass, 1), dtype=np.int64)
    nwin = 0
    for a in range(widths.shape[0]):
        nwin += 2 * widths[a] + 1
    scan_window = nclass > nwin
    for i in range(height):
        counts[:] = 0
        for a in range(2 * radius + 1):
            y = i + a - radius
            if y < 0 or y >= height:
                continue
            for x in range(0, min(width, widths[a] + 1)):
                k = idx[y, x]
                if k >= 0:
                    counts[k] += 1
        for j in range(width):
            centre = idx[i, j]
            if centre < 0:
                out[i, j] = centre
            elif only_isolated and counts[centre] > threshold:
                out[i, j] = centre
            else:
                best, unique = _vote(counts, idx, i, j, widths, radius, nclass, scan_window)
                if unique:
                    out[i, j] = best
                elif keep_ties:
                    out[i, j] = centre
                else:
                    out[i, j] = -2
            if j + 1 == width:
                break
            for a in range(2 * radius + 1):
                y = i + a - radius
                if y < 0 or y >= height:
                    continue
                w = widths[a]
                x = j - w
                if x >= 0:
                    k = idx[y, x]
                    if k >= 0:
                        counts[k] -= 1
                x = j + 1 + w
                if x < width:
                    k = idx[y, x]
                    if k >= 0:
                        counts[k] += 1
    return out


@numba.njit(nogil=True, cache=True)
def arcgis_majority_block(idx, eight, half, keep_ties):
    """ArcGIS's Majority Filter rule on one block of dense class indices.

    Parameters
    ----------
    idx : int32 (rows, cols)
        Class index of each pixel, ``-1`` for fill pixels (they stay fill and match no class).
        Pixels beyond the array do not exist: the block's edges are the image's edges.
    eight : bool
        The eight neighbours (3 x 3 window; contiguous = sharing an edge), else the four
        orthogonal ones (contiguous = sharing a corner).
    half : bool
        ``"half"``: 2 of 4 / 4 of 8 contiguous neighbours of one class suffice, else
        ``"majority"``: 3 of 4 / 5 of 8.
    keep_ties : bool
        With ``half``, two classes each holding a contiguous half and the pixel being neither:
        keep the pixel, else ``-2`` (undecided).

    Returns
    -------
    int32 (rows, cols)
        The class index of each pixel after the filter, ``-1`` fill, ``-2`` undecided.
    """
    height, width = idx.shape
    if eight:
        rdy, rdx = RING8_DY, RING8_DX
    else:
        rdy, rdx = RING4_DY, RING4_DX
    n = rdy.shape[0]
    need = (n // 2 if half else n // 2 + 1)
    out = np.empty((height, width), dtype=np.int32)
    vals = np.empty(n, dtype=np.int32)
    exists = np.empty(n, dtype=np.bool_)
    for i in range(height):
        for j in range(width):
            centre = idx[i, j]
            out[i, j] = centre
            if centre < 0:
                continue
            inside = True
            for p in range(n):
                y, x = i + rdy[p], j + rdx[p]
                exists[p] = 0 <= y < height and 0 <= x < width
                if exists[p]:
                    vals[p] = idx[y, x]
                else:
                    vals[p] = -1
                    inside = False
            # the runs of contiguous equal (non-fill) neighbours; on the image's edges the ring
            # is broken where neighbours are missing, and the run must reach the required length
            # (4: two; 8: three, one of them along the edge, i.e. at an end of the broken ring)
            start = 0
            if inside:
                for p in range(n):  # a place where the value changes, if any
                    if vals[p] != vals[p - 1]:
                        start = p
                        break
            else:
                for p in range(n):
                    if exists[p] and not exists[p - 1]:
                        start = p
                        break
            first, second = -1, -1
            p = 0
            while p < n:
                q = (start + p) % n
                if not exists[q] or vals[q] < 0:
                    p += 1
                    continue
                v = vals[q]
                length, at_end = 0, False
                while p < n:
                    r = (start + p) % n
                    if not exists[r] or vals[r] != v:
                        break
                    if not inside and (not exists[(r + 1) % n] or not exists[r - 1]):
                        at_end = True
                    length += 1
                    p += 1
                if inside:
                    ok = length >= need
                elif eight:
                    ok = length >= 3 and at_end
                else:
                    ok = length >= 2
                if ok:
                    if first < 0 or first == v:
                        first = v
                    elif second < 0:
                        second = v
            # the pixel's own class among them: kept (also ArcGIS's "one of two equal halves":
            # the other half of the ring is then a contiguous run of the pixel's class)
            if first < 0 or first == centre or second == centre:
                continue
            if second < 0:
                out[i, j] = first
            elif not keep_ties:
                out[i, j] = -2
    return out


def _filter_block(block, widths, nodata, keep_ties, undecided, only_isolated, threshold,
                  arcgis=None):
    """numpy block -> numpy block: dense indices, the vote, the labels back."""
    labels, inverse = np.unique(block, return_inverse=True)
    idx = inverse.reshape(block.shape).astype(np.int32)
    if nodata is not None:
        hit = np.flatnonzero(labels == nodata)
        if len(hit):
            idx[idx == hit[0]] = -1
    if arcgis is None:
        voted = majority_block(idx, len(labels), widths, keep_ties, only_isolated, threshold)
    else:
        voted = arcgis_majority_block(idx, arcgis[0], arcgis[1], keep_ties)
    table = np.concatenate([labels, np.array([undecided, block.dtype.type(0)],
                                             dtype=block.dtype)])
    # -1 (fill) keeps the input pixel; -2 is the undecided label
    out = np.where(voted == -1, block, table[np.where(voted == -2, len(labels), voted)])
    return out.astype(block.dtype, copy=False)


def majority_filter(classes: xr.DataArray, radius: int = 1, ties: str = "keep",
                    undecided_value: int = 0, only_isolated: bool = False,
                    isolated_threshold: int = 1, neighbors: str | None = None,
                    threshold: str | None = None) -> xr.DataArray:
    """Majority filter of a class map, byte-identical to OTB's ClassificationMapRegularization,
    or with ArcGIS's Majority Filter rules.

    By default (OTB's rule) each pixel takes the most frequent class of the ball of ``radius``
    pixels around it (``dy² + dx² <= (radius + 1/2)²``, itself included); fill pixels and pixels
    beyond the image do not vote, and fill pixels stay fill. Lazy; the same result for any
    chunking.

    With ``neighbors`` or ``threshold`` given, ArcGIS's Majority Filter rule instead, as Esri's
    tool reference documents it (``MajorityFilter(in_raster, number_neighbors,
    majority_definition)``; ``neighbors`` defaults to ``"four"`` and ``threshold`` to
    ``"majority"`` there, as in ArcGIS). A pixel is replaced by a class only when enough of its
    neighbours have that class **and are contiguous**: a run of consecutive cells around the pixel
    (four neighbours: the orthogonal ones, contiguous = sharing a corner; eight: the 3 x 3
    window, contiguous = sharing an edge) of at least 3 of 4 / 5 of 8 (``"majority"``) or 2 of 4 /
    4 of 8 (``"half"``); otherwise it keeps its class. With ``"half"``, when the pixel's own class
    holds one of two equal halves it is kept. On the image's edges and corners (the documented
    special case): with four neighbours two contiguous matching neighbours are needed; with
    eight, a corner pixel needs all three neighbours, an edge pixel three contiguous ones
    including one along the edge. Not verifiable without ArcGIS, so chosen here and stated:
    fill (NoData) neighbours count as cells of no class (they never win and break runs, the
    thresholds stay those of the full ring); fill pixels stay fill; when two classes each hold
    a contiguous half and the pixel is neither (the documentation does not say which wins),
    ``ties`` decides (keep, or ``undecided_value``); the edge rules apply whatever ``threshold``.

    Parameters
    ----------
    classes : xarray.DataArray
        Integer class map ``(y, x)``; its fill value (``_FillValue``/nodata) is OTB's
        ``-ip.nodatalabel``.
    radius : int, default 1
        Radius of the ball in pixels (OTB's ``-ip.radius``), >= 1.
    ties : {"keep", "undecided"}, default "keep"
        When the two most frequent classes tie: keep the pixel's class, or set it to
        ``undecided_value`` (OTB's ``-ip.suvbool true``).
    undecided_value : int, default 0
        The label of tied pixels with ``ties="undecided"`` (OTB's ``-ip.undecidedlabel``). When it
        is neither the fill value nor a class, it is added to the classes as ``"undecided"``.
    only_isolated : bool, default False
        Change only isolated pixels (OTB's ``-ip.onlyisolatedpixels``).
    isolated_threshold : int, default 1
        With ``only_isolated``: a pixel is isolated when at most this many pixels of its
        neighbourhood, itself included, have its class (OTB's ``-ip.isolatedthreshold``).
    neighbors : {"four", "eight"}, optional
        ArcGIS's ``number_neighbors``: selects ArcGIS's rule (with ``radius=1``, not
        ``only_isolated``).
    threshold : {"majority", "half"}, optional
        ArcGIS's ``majority_definition`` (its "replacement threshold"): selects ArcGIS's rule.

    Returns
    -------
    xarray.DataArray
        The filtered map: same dtype, coordinates, CRS and class attrs.

    Raises
    ------
    InvalidInputTypeError
        ``classes`` is not an integer map.
    InvalidParameterError
        A parameter is out of range, or ``undecided_value`` does not fit the map's dtype.

    See Also
    --------
    xr_landcover.postprocess.sieve : merge regions smaller than a minimum mapping unit.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = xr.DataArray(np.array([[1, 1, 1, 2],
    ...                            [1, 2, 1, 2],
    ...                            [1, 1, 2, 2]], "uint8"), dims=("y", "x"),
    ...                  attrs={"_FillValue": 0})
    >>> majority_filter(m).values
    array([[1, 1, 1, 2],
           [1, 1, 2, 2],
           [1, 1, 2, 2]], dtype=uint8)
    >>> majority_filter(m, ties="undecided", undecided_value=9).values
    array([[1, 1, 9, 9],
           [1, 1, 2, 2],
           [1, 1, 2, 2]], dtype=uint8)

    ArcGIS's rule with eight neighbours: the lone 2 has seven contiguous 1s around it and
    becomes 1; the 1 to its right sees four contiguous 2s only, not five, and stays:

    >>> majority_filter(m, neighbors="eight", threshold="majority").values
    array([[1, 1, 1, 2],
           [1, 1, 1, 2],
           [1, 1, 2, 2]], dtype=uint8)
    """
    classes = require_class_map(classes, "classes")
    if not np.issubdtype(classes.dtype, np.integer):
        raise InvalidInputTypeError(
            f"classes must be an integer class map; got dtype {classes.dtype}. Convert it with "
            "classes.fillna(<fill>).astype('uint8') (or a wider integer type)"
        )
    check_number("radius", radius, 1, integer=True)
    check_choice("ties", ties, TIES)
    check_number("undecided_value", undecided_value, integer=True)
    check_number("isolated_threshold", isolated_threshold, 0, integer=True)
    if not isinstance(only_isolated, bool | np.bool_):
        raise InvalidInputTypeError(f"only_isolated must be True or False; got {only_isolated!r}")
    arcgis = None
    if neighbors is not None or threshold is not None:
        neighbors = "four" if neighbors is None else neighbors
        threshold = "majority" if threshold is None else threshold
        check_choice("neighbors", neighbors, NEIGHBORS)
        check_choice("threshold", threshold, THRESHOLDS)
        if int(radius) != 1 or only_isolated:
            raise InvalidParameterError(
                "neighbors= and threshold= select ArcGIS's Majority Filter, a 3 x 3 rule without "
                f"OTB's options; got radius={radius}, only_isolated={only_isolated}. Drop "
                "neighbors/threshold for OTB's rule, or keep radius=1 and only_isolated=False")
        arcgis = (neighbors == "eight", threshold == "half")
    info = np.iinfo(classes.dtype)
    if ties == "undecided" and not info.min <= int(undecided_value) <= info.max:
        raise InvalidParameterError(
            f"undecided_value must fit the map's dtype {classes.dtype} ({info.min} .. {info.max});"
            f" got {undecided_value}. Cast the map first, e.g. classes.astype('uint16')"
        )
    radius, undecided = int(radius), int(undecided_value)
    nodata = fill_value(classes)
    widths = ball_half_widths(radius)
    data = classes.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(data, chunks=data.shape or (1,))
    func = partial(_filter_block, widths=widths, nodata=nodata, keep_ties=ties == "keep",
                   undecided=classes.dtype.type(undecided if ties == "undecided" else 0),
                   only_isolated=bool(only_isolated), threshold=int(isolated_threshold),
                   arcgis=arcgis)
    filtered = data.map_overlap(func, depth=radius, boundary="none",
                                dtype=classes.dtype, meta=np.empty((0, 0), classes.dtype))
    out = classes.copy(data=filtered)
    if ties == "undecided":
        out.attrs = _with_undecided(classes, undecided, nodata)
    return out


def _with_undecided(classes: xr.DataArray, undecided: int, nodata) -> dict:
    """The map's attrs, with the undecided label among the classes when it is a new value."""
    from ..classmap import ClassMap

    attrs = dict(classes.attrs)
    info = ClassMap.from_dataarray(classes)
    if undecided == nodata or undecided in info.values or not info.values:
        return attrs
    values = list(info.values) + [undecided]
    names = list(info.names) + ["undecided"]
    colors = list(info.complete_colors().colors) + [(0, 0, 0)]
    order = np.argsort(values, kind="stable")
    from ..classmap import class_map_attrs

    attrs.pop("colormap", None)  # an older map's dict: flag_colors now holds every colour
    attrs.update(class_map_attrs([values[k] for k in order], [names[k] for k in order],
                                 [colors[k] for k in order], classes.dtype))
    return attrs
