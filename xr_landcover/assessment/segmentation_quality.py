"""Segmentation quality against a reference label image, as segmentation papers measure it.

* :func:`hoover_scores`: the region-correspondence measures of Hoover et al. (1996): correct
  detections, over-segmentations, under-segmentations, missed and noise regions at an overlap
  tolerance (0.8 by default, the paper's usual choice), with the area-weighted scores RC, RF,
  RA, RM (and RN) exactly as Orfeo ToolBox's ``HooverCompareSegmentation`` computes them.
* :func:`boundary_scores`: boundary precision and recall: the share of the segments' boundary
  pixels within ``tolerance`` pixels of a reference boundary, and the other way round.

Both accept numpy arrays or ``(y, x)`` DataArrays (numpy or dask). With dask, each block gives
small tables (pixel counts per pair of labels, counts of boundary pixels); the instances are
found on the summed table, so memory stays bounded by a block, and the results do not depend on
the chunking. The kernels are numpy (and ``scipy.ndimage`` for the distance to a boundary).

References
----------
Hoover, A., Jean-Baptiste, G., Jiang, X., Flynn, P. J., Bunke, H., Goldgof, D. B., Bowyer, K.,
Eggert, D. W., Fitzgibbon, A., Fisher, R. B. (1996). An experimental comparison of range image
segmentation algorithms. IEEE TPAMI 18(7), 673-689.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import DimensionError, InvalidInputTypeError, InvalidParameterError

__all__ = ["HooverScores", "BoundaryScores", "hoover_scores", "boundary_scores"]


@dataclass(frozen=True)
class HooverScores:
    """Hoover et al. (1996) instances and scores of a segmentation against a reference.

    Counts are of *instances*: ``correct`` pairs (one reference region, one segment),
    ``over`` reference regions split into several segments, ``under`` segments covering
    several reference regions, ``missed`` reference regions and ``noise`` segments in none of
    these. Only the regions that overlap the other image's non-background pixels take part
    (``reference_regions``, ``segments``): a reference region entirely under the segmentation's
    background, or a segment entirely on the reference's background (the unlabelled part of a
    partial reference), is neither missed nor noise, as in Orfeo ToolBox.

    ``rc``, ``rf``, ``ra``, ``rm`` are Orfeo ToolBox's area-weighted scores (over the
    reference regions that take part), ``rn`` its noise score (over the segments that take
    part). ``reference_table`` and ``segment_table`` give each region's label, size in pixels
    and per-region scores (``rc``, ``rf``, ``ra`` and ``rm`` or ``rn``; 0 where it is not in
    such an instance).
    """

    threshold: float
    correct: int
    over: int
    under: int
    missed: int
    noise: int
    reference_regions: int
    segments: int
    rc: float
    rf: float
    ra: float
    rm: float
    rn: float
    reference_table: pd.DataFrame
    segment_table: pd.DataFrame

    def as_dict(self) -> dict:
        """The counts and scores (without the per-region tables), e.g. for JSON."""
        return {k: getattr(self, k) for k in (
            "threshold", "correct", "over", "under", "missed", "noise", "reference_regions",
            "segments", "rc", "rf", "ra", "rm", "rn")}


@dataclass(frozen=True)
class BoundaryScores:
    """Boundary precision, recall and their harmonic mean at a tolerance in pixels."""

    tolerance: float
    precision: float
    recall: float
    f1: float
    segment_boundary_pixels: int
    reference_boundary_pixels: int

    def as_dict(self) -> dict:
        """The scores as a dict, e.g. for JSON."""
        return dict(self.__dict__)


def _as_labels(values, name: str):
    """``values`` as a 2-D integer numpy or dask array, or the error saying what is wrong."""
    import dask.array as da

    if isinstance(values, xr.Dataset):
        raise InvalidInputTypeError(f"{name} must be one label image; pick a variable, "
                                    f"e.g. ds['segment_id']")
    if isinstance(values, xr.DataArray):
        extra = [d for d in values.dims if d not in ("y", "x")]
        if extra or values.ndim != 2:
            raise DimensionError(f"{name} must have dims ('y', 'x'); got {values.dims}. "
                                 f"Select one image first, e.g. {name}.isel({extra[0]}=0)"
                                 if extra else f"{name} must have dims ('y', 'x')")
        data = values.transpose("y", "x").data
    else:
        data = values if isinstance(values, da.Array) else np.asarray(values)
    if data.ndim != 2:
        raise DimensionError(f"{name} must be a 2-D label image; got {data.ndim} dims")
    if not np.issubdtype(data.dtype, np.integer):
        raise InvalidInputTypeError(
            f"{name} must hold integer labels (0 = background); got dtype {data.dtype}. A "
            f"label image read with masking is float: open it with masked=False, or convert "
            f"it, e.g. {name}.fillna(0).astype('uint32')")
    return data


def _pair_and_grid(reference, segments):
    ref = _as_labels(reference, "reference")
    seg = _as_labels(segments, "segments")
    if ref.shape != seg.shape:
        raise DimensionError(f"reference {ref.shape} and segments {seg.shape} must have the "
                             "same shape (the same grid)")
    if isinstance(reference, xr.DataArray) and isinstance(segments, xr.DataArray):
        for dim in ("y", "x"):
            if (dim in reference.coords and dim in segments.coords
                    and not np.allclose(reference[dim].values, segments[dim].values)):
                raise InvalidParameterError(
                    f"reference and segments are on different grids ({dim} coordinates "
                    "differ); resample one onto the other first, e.g. "
                    "reference.rio.reproject_match(segments, resampling=0)")
    return ref, seg


def pair_counts(ref: np.ndarray, seg: np.ndarray):
    """Pixel counts of each (reference label, segment label) pair of two label blocks.

    Returns ``(ref_labels, seg_labels, counts)``, int64 arrays sorted by pair.
    """
    r = np.asarray(ref).ravel()
    s = np.asarray(seg).ravel()
    if r.size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    if min(r.min(), s.min()) < 0:
        raise InvalidParameterError("label images must hold labels >= 0")
    if max(r.max(), s.max()) < 2**31:
        key = (r.astype(np.int64) << 32) | s.astype(np.int64)
        uk, counts = np.unique(key, return_counts=True)
        return uk >> 32, uk & 0xFFFFFFFF, counts.astype(np.int64)
    pairs, counts = np.unique(np.stack([r, s], axis=1), axis=0, return_counts=True)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64), counts.astype(np.int64)


def _merge_tables(parts):
    r = np.concatenate([p[0] for p in parts])
    s = np.concatenate([p[1] for p in parts])
    c = np.concatenate([p[2] for p in parts])
    pairs, inv = np.unique(np.stack([r, s], axis=1), axis=0, return_inverse=True)
    counts = np.bincount(inv.ravel(), weights=c, minlength=len(pairs)).astype(np.int64)
    return pairs[:, 0], pairs[:, 1], counts


def _table(ref, seg):
    """The summed pair table of two label images (numpy or dask, blockwise)."""
    import dask
    import dask.array as da

    if not isinstance(ref, da.Array) and not isinstance(seg, da.Array):
        return pair_counts(ref, seg)
    ref = da.asarray(ref)
    seg = da.asarray(seg).rechunk(ref.chunks)
    call = dask.delayed(pair_counts, pure=True)
    parts = [call(a, b) for a, b in zip(ref.to_delayed().ravel(), seg.to_delayed().ravel())]
    merge = dask.delayed(_merge_tables, pure=True)
    while len(parts) > 1:
        parts = [merge(parts[i:i + 16]) for i in range(0, len(parts), 16)]
    return dask.compute(parts[0])[0]  # a small table: one row per overlapping pair of labels


def hoover_instances(ref_labels, seg_labels, counts, threshold: float, background: int = 0):
    """Hoover instances and scores from a pair table (:func:`pair_counts`), numpy only.

    Follows Orfeo ToolBox's ``HooverInstanceFilter`` (OTB 8): a pair is a correct detection
    when their overlap is at least ``threshold`` of both; a reference region is
    over-segmented when the segments holding at least ``threshold`` of their pixels inside
    it are several and together cover at least ``threshold`` of it; a segment
    under-segments when the reference regions having at least ``threshold`` of their pixels
    in it are several and together fill at least ``threshold`` of it. Returns a
    :class:`HooverScores`.
    """
    ref_labels = np.asarray(ref_labels, np.int64)
    seg_labels = np.asarray(seg_labels, np.int64)
    counts = np.asarray(counts, np.int64)
    t = float(threshold)
    # region sizes include the pixels over the other image's background
    g_lab, g_inv = np.unique(ref_labels, return_inverse=True)
    g_size = np.bincount(g_inv, weights=counts, minlength=len(g_lab))
    m_lab, m_inv = np.unique(seg_labels, return_inverse=True)
    m_size = np.bincount(m_inv, weights=counts, minlength=len(m_lab))
    g_keep = g_lab != background
    m_keep = m_lab != background
    gi = np.searchsorted(g_lab[g_keep], ref_labels)
    mi = np.searchsorted(m_lab[m_keep], seg_labels)
    g_lab, g_size = g_lab[g_keep], g_size[g_keep]
    m_lab, m_size = m_lab[m_keep], m_size[m_keep]
    both = (ref_labels != background) & (seg_labels != background)
    gi, mi, c = gi[both], mi[both], counts[both].astype(np.float64)
    ng, nm = len(g_lab), len(m_lab)
    t_gt, t_ms = g_size[gi] * t, m_size[mi] * t

    g_met = np.zeros(ng, bool)  # intersects a segment (OTB: a non-empty row)
    g_met[gi] = True
    m_met = np.zeros(nm, bool)
    m_met[mi] = True
    g_done, m_done = ~g_met, ~m_met  # regions with a classification (or none to have)
    # attributes per region, float32 as in OTB's label objects
    g_rc, g_rf, g_ra = np.zeros(ng, np.float32), np.zeros(ng, np.float32), np.zeros(ng, np.float32)
    m_rc, m_rf, m_ra = np.zeros(nm, np.float32), np.zeros(nm, np.float32), np.zeros(nm, np.float32)

    # correct detections
    cd = (c >= t_ms) & (c >= t_gt)
    score = t * np.minimum(c[cd] / t_gt[cd], c[cd] / t_ms[cd])
    buffer_rc = float(np.sum(score * g_size[gi[cd]]))
    g_rc[gi[cd]] = score
    m_rc[mi[cd]] = score
    g_done[gi[cd]] = True
    m_done[mi[cd]] = True

    # over-segmentation: per reference region, the segments mostly inside it
    cand = c >= t_ms
    n_os = np.bincount(gi[cand], minlength=ng)
    sum_os = np.bincount(gi[cand], weights=c[cand], minlength=ng)
    sq_os = np.bincount(gi[cand], weights=c[cand] * (c[cand] - 1.0), minlength=ng)
    os_ = (sum_os >= g_size * t) & (sum_os > 0) & (n_os > 1)
    rf = np.zeros(ng)
    rf[os_] = 1.0 - sq_os[os_] / (g_size[os_] * (g_size[os_] - 1.0))
    buffer_rf = float(np.sum(rf[os_] * g_size[os_]))
    g_rf[os_] = rf[os_]
    in_os = cand & os_[gi]
    m_rf[mi[in_os]] = rf[gi[in_os]]
    g_done[os_] = True
    m_done[mi[in_os]] = True

    # under-segmentation: per segment, the reference regions mostly inside it
    cand = c >= t_gt
    n_us = np.bincount(mi[cand], minlength=nm)
    sum_us = np.bincount(mi[cand], weights=c[cand], minlength=nm)
    sq_us = np.bincount(mi[cand], weights=c[cand] * (c[cand] - 1.0), minlength=nm)
    card_us = np.bincount(mi[cand], weights=g_size[gi[cand]], minlength=nm)
    us = (sum_us >= m_size * t) & (n_us > 1)
    ra = np.zeros(nm)
    ra[us] = 1.0 - sq_us[us] / (card_us[us] * (card_us[us] - 1.0))
    buffer_ra = float(np.sum(ra[us] * card_us[us]))
    m_ra[us] = ra[us]
    in_us = cand & us[mi]
    g_ra[gi[in_us]] = ra[mi[in_us]]
    m_done[us] = True
    g_done[gi[in_us]] = True

    missed = ~g_done
    noise = ~m_done
    area_gt = float(g_size[g_met].sum())
    area_ms = float(m_size[m_met].sum())

    def mean(buffer, area):
        return float(np.float32(buffer / area)) if area > 0 else float("nan")

    reference_table = pd.DataFrame({
        "label": g_lab, "size": g_size.astype(np.int64), "rc": g_rc, "rf": g_rf, "ra": g_ra,
        "rm": missed.astype(np.float32), "overlaps": g_met})
    segment_table = pd.DataFrame({
        "label": m_lab, "size": m_size.astype(np.int64), "rc": m_rc, "rf": m_rf, "ra": m_ra,
        "rn": noise.astype(np.float32), "overlaps": m_met})
    return HooverScores(
        threshold=t, correct=int(cd.sum()), over=int(os_.sum()), under=int(us.sum()),
        missed=int(missed.sum()), noise=int(noise.sum()),
        reference_regions=int(g_met.sum()), segments=int(m_met.sum()),
        rc=mean(buffer_rc, area_gt), rf=mean(buffer_rf, area_gt), ra=mean(buffer_ra, area_gt),
        rm=mean(float(g_size[missed].sum()), area_gt),
        rn=mean(float(m_size[noise].sum()), area_ms),
        reference_table=reference_table, segment_table=segment_table,
    )


def hoover_scores(reference, segments, threshold: float = 0.8,
                  background: int = 0) -> HooverScores:
    """Hoover et al. (1996) correct / over / under / missed / noise instances of a segmentation.

    Parameters
    ----------
    reference : array-like or xarray.DataArray
        Reference label image ``(y, x)`` (integers; one label per object, e.g. one per
        field); ``background`` where unlabelled (a partial reference).
    segments : array-like or xarray.DataArray
        Segment ids on the same grid, e.g. :func:`~xr_landcover.segment.segment`'s output;
        ``background`` (0) on nodata.
    threshold : float, default 0.8
        Overlap tolerance ``T`` in (0.5, 1]: the share of a region that must overlap for a
        correspondence (Hoover et al. use 0.5 < T <= 1; 0.8 is common; OTB's default is 0.75).
    background : int, default 0
        Label of unlabelled pixels in both images.

    Returns
    -------
    HooverScores
        Instance counts, OTB's area-weighted scores and per-region tables.

    Raises
    ------
    InvalidParameterError
        ``threshold`` outside (0.5, 1], or grids that differ.
    InvalidInputTypeError, DimensionError
        Not a 2-D integer label image, or shapes that differ.

    Notes
    -----
    The instances and scores are those of Orfeo ToolBox's ``otbcli_HooverCompareSegmentation``
    (checked against it in the tests), which also reports ``rc``, ``rf``, ``ra`` and ``rm``.
    A region can take part in a correct detection and an over- or under-segmentation at once
    (a small segment inside a correctly detected field), as in Hoover et al.

    Examples
    --------
    >>> import numpy as np
    >>> reference = np.zeros((6, 8), int); reference[1:5, 1:4] = 1; reference[1:5, 5:8] = 2
    >>> segments = np.where(reference == 0, 5, reference)          # field 1 found
    >>> segments[1:3, 5:8] = 3; segments[3:5, 5:8] = 4              # field 2 cut in two
    >>> scores = hoover_scores(reference, segments)
    >>> scores.correct, scores.over, scores.under, scores.missed, scores.noise
    (1, 1, 0, 0, 0)
    """
    from .._validate import check_number

    check_number("threshold", threshold, 0.5, 1.0, low_open=True)
    ref, seg = _pair_and_grid(reference, segments)
    return hoover_instances(*_table(ref, seg), threshold=float(threshold),
                            background=int(background))


def boundary_map(labels: np.ndarray) -> np.ndarray:
    """Boundary pixels of a label block: those whose right or lower neighbour differs."""
    out = np.zeros(labels.shape, bool)
    out[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    out[:-1, :] |= labels[:-1, :] != labels[1:, :]
    return out


def _near(boundary: np.ndarray, tolerance: float) -> np.ndarray:
    """Pixels within ``tolerance`` (Euclidean, pixels) of a boundary pixel."""
    from scipy import ndimage

    if not boundary.any():
        return np.zeros(boundary.shape, bool)
    return ndimage.distance_transform_edt(~boundary) <= tolerance


def boundary_codes(ref: np.ndarray, seg: np.ndarray, tolerance: float) -> np.ndarray:
    """Per pixel, bit 0: segment boundary, 1: ... near a reference boundary, 2: reference
    boundary, 3: ... near a segment boundary (uint8)."""
    bs, br = boundary_map(np.asarray(seg)), boundary_map(np.asarray(ref))
    code = bs.astype(np.uint8)
    code |= (bs & _near(br, tolerance)).astype(np.uint8) << 1
    code |= br.astype(np.uint8) << 2
    code |= (br & _near(bs, tolerance)).astype(np.uint8) << 3
    return code


def _code_counts(codes) -> np.ndarray:
    return np.bincount(np.asarray(codes).ravel(), minlength=16)


def boundary_scores(reference, segments, tolerance: float = 2.0) -> BoundaryScores:
    """Boundary precision and recall of a segmentation at a tolerance in pixels.

    A boundary pixel is one whose right or lower neighbour has another label (background
    included: a reference field's outline is a boundary). Precision is the share of the
    segments' boundary pixels within ``tolerance`` pixels (Euclidean) of a reference boundary
    pixel, recall the share of the reference's boundary pixels within ``tolerance`` of a
    segment boundary pixel. With a partial reference, boundaries drawn inside its background
    count against precision.

    Parameters
    ----------
    reference, segments : array-like or xarray.DataArray
        Label images ``(y, x)`` on the same grid, as for :func:`hoover_scores`.
    tolerance : float, default 2
        Distance in pixels within which a boundary pixel counts as found (>= 0).

    Returns
    -------
    BoundaryScores

    Examples
    --------
    >>> import numpy as np
    >>> reference = np.zeros((8, 8), int); reference[:, 4:] = 1
    >>> segments = np.zeros((8, 8), int); segments[:, 6:] = 1        # 2 px off
    >>> [(s.precision, s.recall) for s in (boundary_scores(reference, segments, tolerance=t)
    ...                                    for t in (1, 2))]
    [(0.0, 0.0), (1.0, 1.0)]
    """
    import dask.array as da

    from .._validate import check_number

    check_number("tolerance", tolerance, 0, 1000)
    ref, seg = _pair_and_grid(reference, segments)
    tolerance = float(tolerance)
    if isinstance(ref, da.Array) or isinstance(seg, da.Array):
        ref = da.asarray(ref)
        seg = da.asarray(seg).rechunk(ref.chunks)
        depth = int(np.ceil(tolerance)) + 1
        codes = da.map_overlap(boundary_codes, ref, seg, depth=depth, boundary="none",
                               dtype=np.uint8, tolerance=tolerance)
        n = da.bincount(codes.ravel(), minlength=16).compute()  # 16 numbers
    else:
        n = _code_counts(boundary_codes(ref, seg, tolerance))
    code = np.arange(16)
    seg_total = int(n[(code & 1) > 0].sum())
    seg_hit = int(n[(code & 3) == 3].sum())
    ref_total = int(n[(code & 4) > 0].sum())
    ref_hit = int(n[(code & 12) == 12].sum())
    precision = seg_hit / seg_total if seg_total else float("nan")
    recall = ref_hit / ref_total if ref_total else float("nan")
    f1 = (2 * precision * recall / (precision + recall)
          if precision + recall > 0 else float("nan"))
    return BoundaryScores(tolerance=tolerance, precision=float(precision), recall=float(recall),
                          f1=float(f1), segment_boundary_pixels=seg_total,
                          reference_boundary_pixels=ref_total)
