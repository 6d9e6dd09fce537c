"""Numba kernels of the mean-shift segmentation: numpy in, numpy out, nothing of xarray or dask.

* :func:`mean_shift_block` — non-blurring mean-shift filtering (Comaniciu & Meer, IEEE TPAMI
  24(5), 2002), iterated per pixel as Orfeo ToolBox's ``MeanShiftSmoothingImageFilter`` does
  (Michel, Youssefi & Grizonnet, IEEE TGRS 53(2), 2015), with positions relative to the
  starting pixel so that results are bit-identical whatever the tiling.
* :func:`label_block` — 4-connected components of the filtered image under the LSMS joining rule.
* :func:`block_region_tables` — per-region counts, sums, first pixel and adjacency of one block.
* :func:`joins` and :func:`face_links` — the LSMS joining rule, inside a block and across the
  face between two blocks.
* :func:`find_root` — union-find root with path compression (also used by :mod:`.merge`).
"""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = [
    "mean_shift_block",
    "label_block",
    "block_region_tables",
    "find_root",
    "joins",
    "face_links",
    "SUM_SCALE",
]

#: Region sums are accumulated as integers of ``value * SUM_SCALE`` (rounded), so that they are
#: exact whatever the order of the blocks (floating-point sums are not associative).
SUM_SCALE = 65536.0


#: The joint kernel's certified screen (:func:`mean_shift_block`) is used when the spectral
#: bandwidth lies in ``SCREEN_HR_RANGE`` and the image has fewer than ``SCREEN_MAX_BANDS``
#: bands; ``SCREEN_MARGIN`` is its margin (see the proof there).
SCREEN_HR_RANGE = (1e-30, 1e30)
SCREEN_MAX_BANDS = 10000
SCREEN_MARGIN = 1e-9


@numba.njit(nogil=True, cache=True)
def _joint_exact(img, yy, xx, value, norm, hr):
    """OTB's joint-kernel test of neighbour ``(yy, xx)``, its spatial part ``norm`` given
    (called for the few neighbours the screen leaves undecided, or for every one without it)."""
    for k in range(value.shape[0]):
        d = (img[yy, xx, k] - value[k]) / hr
        norm += d * d
    return not norm > 1.0


@numba.njit(nogil=True, cache=True)
def mean_shift_block(img, valid, r0, r1, c0, c1, hs, hr, maxiter, threshold, joint):
    """Mean-shift filter the pixels ``[r0:r1, c0:c1]`` of a block (its halo is read only).

    Parameters
    ----------
    img : float32 array (rows, cols, bands)
        The block with its halo, band last.
    valid : bool array (rows, cols)
        False where the pixel is nodata: it is neither filtered nor used by its neighbours.
    r0, r1, c0, c1 : int
        The interior (the pixels to filter) in block coordinates.
    hs, hr : float
        Spatial (pixels) and range (value units) bandwidths.
    maxiter : int
        Maximum number of mean-shift steps per pixel.
    threshold : float
        A pixel has converged when the squared length of its last step (pixels and values,
        not normalised, as in OTB) is below this.
    joint : bool
        True: a neighbour counts when ``(dx/hs)^2 + (dy/hs)^2 + sum_k (dr_k/hr)^2 <= 1``,
        evaluated term by term in that order as OTB does (so that the many exact ties at the
        kernel's edge, with integer pixels and values, fall the same way). False: when
        ``|ds| <= hs`` and ``|dr| <= hr`` (product of flat kernels, EDISON).

    Returns
    -------
    float32 array (r1 - r0, c1 - c0, bands + 2)
        Filtered values, then the displacement (dy, dx) of each pixel; NaN on nodata.

    Notes
    -----
    Each step accepts exactly the neighbours that the formulas above accept and sums them in
    the same order (rows, then columns), with the same operations; what is saved changes no
    bit of the result:

    * The column terms (``dx``, and ``(dx/hs)^2`` or ``dx^2``) are computed once per column of
      the window and step, not once per neighbour (same operands, same values).
    * The spatial terms grow with ``|dx|`` (IEEE arithmetic is monotone), so the columns of a
      row that pass them form one run, found from its ends; inside it, the range test alone
      decides, and the accepted columns are listed without branching on the data, then summed
      in one loop per step.
    * Joint kernel: OTB's ``((v_k - c_k) / hr)^2`` costs a division per band and neighbour. A
      screen ``S' = spatial + (sum_k (v_k - c_k)^2) * (1 / hr^2)`` needs none. ``S'`` and OTB's
      sum ``S`` approximate the same real sum of non-negative terms to a relative error below
      ``(bands + 5) u`` (``u = 2^-53``: each term carries at most three roundings, a sum of
      non-negative floats at most one per addition), so ``S' < 1 - m`` implies ``S <= 1`` and
      ``S' > 1 + m`` implies ``S > 1`` for a margin ``m`` (:data:`SCREEN_MARGIN`, 1e-9) far
      above ``(bands + 5) u`` (below 1.2e-12 for the bands allowed); a neighbour in between is
      decided by OTB's own formula. The bandwidth range (:data:`SCREEN_HR_RANGE`) keeps
      ``hr^2`` and ``1 / hr^2`` normal floats, so no overflow or underflow breaks the bound;
      outside it, or with more bands, OTB's formula decides every neighbour.
    """
    nrow, ncol, nb = img.shape
    out = np.full((r1 - r0, c1 - c0, nb + 2), np.nan, dtype=np.float32)
    hs2 = hs * hs
    hr2 = hr * hr
    screen = (SCREEN_HR_RANGE[0] <= hr <= SCREEN_HR_RANGE[1]) and nb < SCREEN_MAX_BANDS
    inv_hr2 = 1.0 / hr2
    lo = 1.0 - SCREEN_MARGIN
    hi = 1.0 + SCREEN_MARGIN
    check = not valid.all()
    ihs = int(hs)
    # Every window's columns lie in x + floor(px) - ihs - 3 .. x + floor(px) + ihs + 3, its
    # rows in cy - ihs - 1 .. cy + ihs + 1.
    ncolumns = 2 * ihs + 7
    col_rx = np.empty(ncolumns, dtype=np.float64)
    col_t = np.empty(ncolumns, dtype=np.float64)
    sel_x = np.empty(ncolumns * (2 * ihs + 3), dtype=np.int64)
    sel_y = np.empty(ncolumns * (2 * ihs + 3), dtype=np.int64)
    value = np.zeros(nb, dtype=np.float64)
    acc = np.empty(nb, dtype=np.float64)
    three = nb == 3
    for y in range(r0, r1):
        for x in range(c0, c1):
            if not valid[y, x]:
                continue
            for k in range(nb):
                value[k] = img[y, x, k]
            py = 0.0  # position relative to the starting pixel: tiling-independent arithmetic
            px = 0.0
            for _ in range(maxiter):
                cy = y + math.floor(py + 0.5)
                ylo = max(0, cy - ihs - 1)
                yhi = min(nrow - 1, cy + ihs + 1)
                base = x + int(math.floor(px)) - ihs - 3
                for j in range(ncolumns):
                    rx = (base + j - x) - px
                    col_rx[j] = rx
                    if joint:
                        tx = rx / hs
                        col_t[j] = tx * tx
                    else:
                        col_t[j] = rx * rx
                v0 = value[0]
                v1 = value[1] if three else 0.0
                v2 = value[2] if three else 0.0
                n = 0  # accepted neighbours, listed in order in sel_y, sel_x
                for yy in range(ylo, yhi + 1):
                    ry = (yy - y) - py
                    ry2 = ry * ry
                    ty2 = 0.0
                    if joint:
                        # OTB's arithmetic: each component divided by its bandwidth, squared,
                        # summed x, y, then bands; a term alone above 1 excludes the row.
                        ty = ry / hs
                        ty2 = ty * ty
                        if ty2 > 1.0:
                            continue
                    elif ry2 > hs2:
                        continue
                    half = math.sqrt(max(0.0, hs2 - ry2))
                    xlo = max(0, x + int(math.floor(px - half)) - 1, base)
                    xhi = min(ncol - 1, x + int(math.ceil(px + half)) + 1, base + ncolumns - 1)
                    if joint:
                        while xlo <= xhi and col_t[xlo - base] + ty2 > 1.0:
                            xlo += 1
                        while xhi >= xlo and col_t[xhi - base] + ty2 > 1.0:
                            xhi -= 1
                    else:
                        while xlo <= xhi and ry2 + col_t[xlo - base] > hs2:
                            xlo += 1
                        while xhi >= xlo and ry2 + col_t[xhi - base] > hs2:
                            xhi -= 1
                    # The run's range tests, without branching on the data: the accepted
                    # neighbours are listed (kept when ok), then summed below. Three bands
                    # (the usual case) have their own loops, with the values in registers.
                    row = img[yy]
                    if three and joint and screen:
                        for xx in range(xlo, xhi + 1):
                            u = np.uint64(xx)  # unsigned: no negative-index wrap-around code
                            d = row[u, 0] - v0
                            d2 = d * d
                            d = row[u, 1] - v1
                            d2 += d * d
                            d = row[u, 2] - v2
                            d2 += d * d
                            norm = col_t[np.uint64(xx - base)] + ty2
                            approx = norm + d2 * inv_hr2
                            ok = approx < lo
                            if (not approx < lo) & (not approx > hi):
                                ok = _joint_exact(img, yy, xx, value, norm, hr)
                            if check:
                                ok = ok & valid[yy, u]
                            sel_y[n] = yy
                            sel_x[n] = xx
                            n += ok
                    elif three and not joint:
                        for xx in range(xlo, xhi + 1):
                            u = np.uint64(xx)
                            d = row[u, 0] - v0
                            d2 = d * d
                            d = row[u, 1] - v1
                            d2 += d * d
                            d = row[u, 2] - v2
                            d2 += d * d
                            ok = d2 <= hr2
                            if check:
                                ok = ok & valid[yy, u]
                            sel_y[n] = yy
                            sel_x[n] = xx
                            n += ok
                    else:
                        for xx in range(xlo, xhi + 1):
                            if joint:
                                norm = col_t[xx - base] + ty2
                                ok = True
                                if screen:
                                    d2 = 0.0
                                    for k in range(nb):
                                        d = row[xx, k] - value[k]
                                        d2 += d * d
                                    approx = norm + d2 * inv_hr2
                                    ok = approx < lo
                                    exact = (not approx < lo) & (not approx > hi)
                                else:
                                    exact = True
                                if exact:
                                    ok = _joint_exact(img, yy, xx, value, norm, hr)
                            else:
                                d2 = 0.0
                                for k in range(nb):
                                    d = row[xx, k] - value[k]
                                    d2 += d * d
                                ok = d2 <= hr2
                            if check:
                                ok = ok & valid[yy, xx]
                            sel_y[n] = yy
                            sel_x[n] = xx
                            n += ok
                if n == 0:
                    break
                sy = 0.0
                sx = 0.0
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                for k in range(nb):
                    acc[k] = 0.0
                for i in range(n):
                    yy = sel_y[i]
                    xx = sel_x[i]
                    sy += (yy - y) - py
                    sx += col_rx[np.uint64(xx - base)]
                    row = img[yy]
                    if three:
                        u = np.uint64(xx)
                        a0 += row[u, 0] - v0
                        a1 += row[u, 1] - v1
                        a2 += row[u, 2] - v2
                    else:
                        for k in range(nb):
                            acc[k] += row[xx, k] - value[k]
                if three:
                    acc[0] = a0
                    acc[1] = a1
                    acc[2] = a2
                weight = float(n)
                my = sy / weight
                mx = sx / weight
                step2 = my * my + mx * mx
                py += my
                px += mx
                for k in range(nb):
                    m = acc[k] / weight
                    step2 += m * m
                    value[k] += m
                if step2 < threshold:
                    break
            for k in range(nb):
                out[y - r0, x - c0, k] = value[k]
            out[y - r0, x - c0, nb] = py
            out[y - r0, x - c0, nb + 1] = px
    return out


@numba.njit(nogil=True, cache=True, inline="always")
def find_root(parent, i):
    """Root of ``i`` in the union-find forest ``parent`` (int64 array), compressing the path.

    Shared by the labelling here and the region merging of :mod:`.merge`.
    """
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@numba.njit(nogil=True, cache=True)
def joins(filtered, a_row, a_col, b_row, b_col, hr_half2, hs_half2):
    """True when two (4-adjacent) filtered pixels belong to the same region (OTB LSMS rule).

    Their filtered values are closer than ``hr/2`` and their displacements closer than ``hs/2``
    (squared thresholds are passed). ``filtered`` is ``(rows, cols, bands + 2)``; NaN never joins.
    """
    nb = filtered.shape[2] - 2
    dr = 0.0
    for k in range(nb):
        d = np.float64(filtered[a_row, a_col, k]) - np.float64(filtered[b_row, b_col, k])
        dr += d * d
    if not dr < hr_half2:
        return False
    ds = 0.0
    for k in range(nb, nb + 2):
        d = np.float64(filtered[a_row, a_col, k]) - np.float64(filtered[b_row, b_col, k])
        ds += d * d
    return ds < hs_half2


@numba.njit(nogil=True, cache=True)
def label_block(filtered, valid, hr_half2, hs_half2):
    """Label the 4-connected regions of a filtered block; labels 1.. in raster order, 0 = nodata.

    Returns
    -------
    labels : int32 array (rows, cols)
    count : int
        Number of labels.
    """
    nrow, ncol = valid.shape
    n = nrow * ncol
    parent = np.arange(n, dtype=np.int64)
    for y in range(nrow):
        for x in range(ncol):
            if not valid[y, x]:
                continue
            i = y * ncol + x
            if x + 1 < ncol and valid[y, x + 1] and joins(
                filtered, y, x, y, x + 1, hr_half2, hs_half2
            ):
                a = find_root(parent, i)
                b = find_root(parent, i + 1)
                if a != b:
                    if a < b:
                        parent[b] = a
                    else:
                        parent[a] = b
            if y + 1 < nrow and valid[y + 1, x] and joins(
                filtered, y, x, y + 1, x, hr_half2, hs_half2
            ):
                a = find_root(parent, i)
                b = find_root(parent, i + ncol)
                if a != b:
                    if a < b:
                        parent[b] = a
                    else:
                        parent[a] = b
    labels = np.zeros((nrow, ncol), dtype=np.int32)
    # Roots are the smallest raster index of their component, so numbering roots in raster
    # order numbers regions by their first pixel.
    root_label = np.zeros(n, dtype=np.int32)
    count = 0
    for y in range(nrow):
        for x in range(ncol):
            if not valid[y, x]:
                continue
            r = find_root(parent, y * ncol + x)
            if root_label[r] == 0:
                count += 1
                root_label[r] = count
            labels[y, x] = root_label[r]
    return labels, count


@numba.njit(nogil=True, cache=True)
def block_region_tables(labels, nlabels, img, row0, col0, width):
    """Per-region statistics of one labelled block, for the global pass.

    Parameters
    ----------
    labels : int32 array (rows, cols)
        Local labels 1..nlabels, 0 = nodata.
    img : float32 array (rows, cols, bands)
        The image whose region means drive the merging (the mean-shift input).
    row0, col0, width : int
        Position of the block in the image and the image width (for raster indices).

    Returns
    -------
    counts : int64 (nlabels,)
    sums : int64 (nlabels, bands)
        Sums of ``round(value * SUM_SCALE)``: exact, so order-independent.
    first : int64 (nlabels,)
        Raster index (``row * width + col``) of each region's first pixel in the image.
    pairs : int64 (npairs, 2)
        Adjacent (4-neighbour) pairs of different labels in the block, ``a < b``, with repeats.
    """
    nrow, ncol, nb = img.shape
    counts = np.zeros(nlabels, dtype=np.int64)
    sums = np.zeros((nlabels, nb), dtype=np.int64)
    first = np.full(nlabels, -1, dtype=np.int64)
    pairs = np.empty((2 * nrow * ncol, 2), dtype=np.int64)
    npairs = 0
    for y in range(nrow):
        for x in range(ncol):
            lab = labels[y, x]
            if lab == 0:
                continue
            j = lab - 1
            counts[j] += 1
            for k in range(nb):
                sums[j, k] += np.int64(np.round(np.float64(img[y, x, k]) * SUM_SCALE))
            if first[j] < 0:
                first[j] = (row0 + y) * width + col0 + x
            if x + 1 < ncol:
                other = labels[y, x + 1]
                if other != 0 and other != lab:
                    pairs[npairs, 0] = min(lab, other)
                    pairs[npairs, 1] = max(lab, other)
                    npairs += 1
            if y + 1 < nrow:
                other = labels[y + 1, x]
                if other != 0 and other != lab:
                    pairs[npairs, 0] = min(lab, other)
                    pairs[npairs, 1] = max(lab, other)
                    npairs += 1
    return counts, sums, first, pairs[:npairs].copy()


@numba.njit(nogil=True, cache=True)
def face_links(fa, la, fb, lb, hr_half2, hs_half2):
    """Pairs across a block face: (joined pairs, adjacent-only pairs) of global region indices.

    ``fa``/``fb`` are the facing rows (n, bands + 2); ``la``/``lb`` their global region indices
    (-1 = nodata). The joining test is :func:`joins`, as inside blocks.
    """
    n = la.shape[0]
    stacked = np.empty((2, n, fa.shape[1]), dtype=np.float32)
    stacked[0] = fa
    stacked[1] = fb
    joined = np.empty((n, 2), dtype=np.int64)
    adjacent = np.empty((n, 2), dtype=np.int64)
    nj = 0
    na = 0
    for i in range(n):
        if la[i] < 0 or lb[i] < 0:
            continue
        if joins(stacked, 0, i, 1, i, hr_half2, hs_half2):
            joined[nj, 0] = la[i]
            joined[nj, 1] = lb[i]
            nj += 1
        else:
            adjacent[na, 0] = la[i]
            adjacent[na, 1] = lb[i]
            na += 1
    return joined[:nj].copy(), adjacent[:na].copy()
