"""Unsupervised classification: clusters of pixels, as a class map.

:func:`cluster` fits k-means (scikit-learn's :class:`~sklearn.cluster.KMeans`) or ISODATA (the
iterative self-organising procedure of ArcGIS's *Iso Cluster* / *Train ISO Cluster Classifier*,
implemented here from its description) on a seeded sample of the cube's valid pixels, then
gives every pixel the cluster of its nearest centre, block by block and lazily.

Three things make the map the same for any chunking, scheduler and CPU:

- **The sample** is a property of the pixels, not of the blocks: each pixel's flat index
  ``row * width + col`` is hashed with the seed (SplitMix64, a bijection of 64-bit integers),
  and the sample is the ``sample_size`` valid pixels with the smallest hashes. Each block keeps
  at most ``sample_size`` of its own, and pairs of partial samples are merged in a tree, so
  memory stays at a block plus two samples however large the cube.
- **Bands are standardised** with the sample's mean and standard deviation (so that the
  distances weigh bands alike and ``max_merge_distance`` is in standard deviations).
- **Nearest centres** are found with element-wise NumPy arithmetic in a fixed order (band by
  band, centre by centre, ties to the lower centre): no BLAS call, whose sums depend on the
  OpenBLAS kernel the CPU selects. scikit-learn's ``KMeans.predict`` is not used.
  ``KMeans.fit`` runs single-threaded (its threads split the sums in chunks).

ISODATA, as ArcGIS describes it (*How Iso Cluster works*; *Train ISO Cluster Classifier*
parameters ``max_iterations``, ``min_samples_per_cluster``, ``max_merge_per_iter``,
``max_merge_distance``), following Ball & Hall's ISODATA (1965) in the form of Tou &
Gonzalez (1974): start from ``n_classes`` centres drawn from the sample; each iteration
assigns every sample pixel to its nearest centre, drops clusters with fewer than
``min_samples_per_cluster`` pixels (their pixels join the nearest remaining centre next
time), moves each centre to its members' mean, then — except at the last iteration — on odd
iterations, while there are fewer than ``n_classes`` clusters, *splits* the cluster with the
largest standard deviation along its band of largest deviation (centres ``mean +- sd``) when it
has at least ``2 * min_samples_per_cluster`` pixels and the two halves would lie further apart
than ``max_merge_distance``; on even iterations it *merges* the closest pairs of centres nearer
than ``max_merge_distance`` (at most ``max_merge_per_iteration`` merges, each cluster once; the
merged centre is the size-weighted mean). It stops when no pixel changes cluster and nothing
is split or merged, or after ``max_iterations``. As in ArcGIS, fewer clusters than
``n_classes`` may come out.

Clusters are numbered 1..k by their centre, darkest (smallest sum of standardised bands)
first.
"""

from __future__ import annotations

import uuid

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from .._validate import DEFAULT_CLUSTER_SAMPLE_SIZE, check_choice, check_number, require_cube
from ..classmap import class_map_attrs
from ..colors import QUALITATIVE_PALETTE, class_colors
from ..errors import InvalidInputTypeError, NoSamplesError
from ._common import class_map_dtype, wrap_like
from .time_features import stack_dates

__all__ = ["cluster", "sample_valid_pixels", "nearest_centre", "isodata", "CLUSTER_METHODS",
           "DEFAULT_CLUSTER_SAMPLE_SIZE"]

CLUSTER_METHODS = ("kmeans", "isodata")
_KMEANS_N_INIT = 10
_BATCH = 262144  # pixels per nearest-centre pass: memory follows the batch, not the block


# -- the sample -------------------------------------------------------------------------------
def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser on uint64 (wrapping arithmetic): a bijection, so distinct pixel
    indices never share a hash."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _valid(block: np.ndarray, nodata) -> np.ndarray:
    """Pixels ``(y, x)`` of a block ``(band, y, x)`` with no NaN and no nodata in any band."""
    valid = np.all(np.isfinite(block), axis=0)
    if nodata is not None and not np.isnan(nodata):
        valid &= np.all(block != nodata, axis=0)
    return valid


def _smallest(keys, index, values, size):
    if len(keys) > size:
        keep = np.argpartition(keys, size - 1)[:size]
        keys, index, values = keys[keep], index[keep], values[keep]
    return keys, index, values


def _block_sample(block, row0, col0, width, salt, nodata, size):
    """The block's valid pixels with the ``size`` smallest hashes: (hashes, flat indices,
    band values float64)."""
    block = np.asarray(block)
    valid = _valid(block, nodata)
    rows, cols = np.nonzero(valid)
    index = (rows + row0).astype(np.uint64) * np.uint64(width) + (cols + col0).astype(np.uint64)
    keys = _splitmix64(index ^ salt)
    order = _smallest(keys, np.arange(len(keys)), np.arange(len(keys)), size)[1]
    return (keys[order], index[order].astype(np.int64),
            block[:, rows[order], cols[order]].T.astype(np.float64))


def _merge(a, b, size):
    return _smallest(*(np.concatenate([x, y]) for x, y in zip(a, b)), size)


def sample_valid_pixels(cube: xr.DataArray, size: int, seed: int) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """``size`` valid pixels of ``cube`` ``(band, y, x)`` drawn without replacement by
    ``seed``, the same for any chunking: ``(values (n, bands) float64, flat indices)`` in
    raster order (fewer when the cube has fewer valid pixels). Reads each block once; memory:
    one block and two partial samples per task."""
    data = cube.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=-1)
    data = data.rechunk({0: -1})
    salt = _splitmix64(np.array([seed], dtype=np.uint64))[0]
    width = cube.sizes["x"]
    nodata = cube.rio.nodata
    y_starts = np.concatenate([[0], np.cumsum(data.chunks[1])]).astype(int)
    x_starts = np.concatenate([[0], np.cumsum(data.chunks[2])]).astype(int)
    parts = []
    for iy in range(len(y_starts) - 1):
        for ix in range(len(x_starts) - 1):
            r0, r1, c0, c1 = y_starts[iy], y_starts[iy + 1], x_starts[ix], x_starts[ix + 1]
            parts.append(dask.delayed(_block_sample)(data[:, r0:r1, c0:c1], int(r0), int(c0),
                                                     width, salt, nodata, size))
    while len(parts) > 1:  # a tree of merges: no task holds more than two samples
        parts = [dask.delayed(_merge)(parts[i], parts[i + 1], size) if i + 1 < len(parts)
                 else parts[i] for i in range(0, len(parts), 2)]
    # A small reduction: at most `size` pixels come back.
    _, index, values = dask.compute(parts[0])[0]
    order = np.argsort(index, kind="stable")
    return values[order], index[order]


# -- nearest centres and the fits ---------------------------------------------------------
def nearest_centre(z: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (squared Euclidean distance) of each row of ``z``.

    Element-wise arithmetic in a fixed order (bands summed one after the other, centres
    compared in turn, ties to the lower index): the same bits on every CPU, unlike a BLAS
    ``gemm`` whose summation order depends on the kernel.

    Examples
    --------
    >>> nearest_centre(np.array([[0.0, 0.1], [2.0, 2.0]]), np.array([[2.0, 2.0], [0.0, 0.0]]))
    array([1, 0])
    """
    best = np.full(len(z), np.inf)
    label = np.zeros(len(z), dtype=np.int64)
    for j in range(len(centres)):
        d = np.zeros(len(z))
        for b in range(z.shape[1]):
            diff = z[:, b] - centres[j, b]
            d += diff * diff
        closer = d < best
        best[closer] = d[closer]
        label[closer] = j
    return label


def _means(z, label, k):
    counts = np.bincount(label, minlength=k)
    sums = np.stack([np.bincount(label, weights=z[:, b], minlength=k)
                     for b in range(z.shape[1])], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts[:, None], counts


def _drop_small(z, centres, min_samples):
    """Centres with at least ``min_samples`` members, reassigning until none is too small."""
    while True:
        label = nearest_centre(z, centres)
        counts = np.bincount(label, minlength=len(centres))
        keep = counts >= min_samples
        if keep.all() or not keep.any():
            return centres[keep] if keep.any() else centres[:0]
        centres = centres[keep]


def isodata(z: np.ndarray, n_classes: int, max_iterations: int, min_samples: int,
            max_merge_distance: float, max_merge_per_iteration: int,
            rng: np.random.Generator) -> np.ndarray:
    """ISODATA centres on standardised sample ``z`` (see the module documentation)."""
    centres = z[np.sort(rng.choice(len(z), size=n_classes, replace=False))]
    previous = None
    for iteration in range(1, max_iterations + 1):
        label = nearest_centre(z, centres)
        means, counts = _means(z, label, len(centres))
        keep = counts >= min_samples
        if not keep.any():
            keep = counts == counts.max()
        dropped = not keep.all()
        centres, counts = means[keep], counts[keep]
        if iteration == max_iterations:
            break
        label = nearest_centre(z, centres)
        changed = dropped or previous is None or not np.array_equal(label, previous)
        previous = label
        if iteration % 2 == 1 and len(centres) < n_classes:
            new = _split(z, label, centres, counts, n_classes, min_samples, max_merge_distance)
        else:
            new = _merge_centres(centres, counts, max_merge_distance, max_merge_per_iteration)
        if new is not None:
            centres, previous = new, None
        elif not changed:
            break
    return centres


def _split(z, label, centres, counts, n_classes, min_samples, max_merge_distance):
    k = len(centres)
    sd = np.sqrt(np.stack([np.bincount(label, weights=(z[:, b] - centres[label, b]) ** 2,
                                       minlength=k) for b in range(z.shape[1])], axis=1)
                 / np.maximum(counts, 1)[:, None])
    widest = sd.max(axis=1)
    out = list(centres)
    split = False
    for j in np.lexsort((np.arange(k), -widest)):  # widest first, ties by index
        if len(out) >= n_classes:
            break
        if counts[j] >= 2 * min_samples and 2 * widest[j] > max_merge_distance:
            band = int(np.argmax(sd[j]))
            step = np.zeros(z.shape[1])
            step[band] = sd[j, band]
            out[j] = centres[j] - step
            out.append(centres[j] + step)
            split = True
    return np.array(out) if split else None


def _merge_centres(centres, counts, max_merge_distance, max_merge_per_iteration):
    k = len(centres)
    pairs = []
    for i in range(k):
        for j in range(i + 1, k):
            d = 0.0
            for b in range(centres.shape[1]):
                d += (centres[i, b] - centres[j, b]) ** 2
            if np.sqrt(d) < max_merge_distance:
                pairs.append((np.sqrt(d), i, j))
    pairs.sort()
    used, merged = set(), []
    for _, i, j in pairs:
        if len(merged) >= max_merge_per_iteration:
            break
        if i in used or j in used:
            continue
        used |= {i, j}
        merged.append((i, j))
    if not merged:
        return None
    out = [c for m, c in enumerate(centres) if m not in used]
    for i, j in merged:
        out.append((counts[i] * centres[i] + counts[j] * centres[j]) / (counts[i] + counts[j]))
    return np.array(out)


def _kmeans(z, n_classes, max_iterations, seed):
    import threadpoolctl
    from sklearn.cluster import KMeans

    if len(np.unique(z, axis=0)) < n_classes:
        raise NoSamplesError(
            f"the sample has fewer distinct pixels than n_classes={n_classes}; lower "
            "n_classes or raise sample_size"
        )
    # one thread: scikit-learn's threads add the centre sums in chunks of their own
    with threadpoolctl.threadpool_limits(limits=1):
        km = KMeans(n_clusters=n_classes, n_init=_KMEANS_N_INIT, max_iter=max_iterations,
                    random_state=seed).fit(z)
    return np.asarray(km.cluster_centers_, dtype=np.float64)


def _cluster_colors(names) -> list:
    """The qualitative palette, then hues spaced by the golden angle: distinct for any k."""
    import colorsys

    colors = class_colors(names[:len(QUALITATIVE_PALETTE)])
    for i in range(len(colors), len(names)):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.65, 0.9)
        colors.append((round(r * 255), round(g * 255), round(b * 255)))
    return colors


# -- the map --------------------------------------------------------------------------------
def _predict_block(block, centres, mean, scale, nodata, dtype, fill):
    block = np.asarray(block)
    valid = _valid(block, nodata)
    out = np.full(valid.shape, fill, dtype=dtype)
    pixels = block[:, valid].T.astype(np.float64)
    labels = np.empty(len(pixels), dtype=np.int64)
    for i in range(0, len(pixels), _BATCH):
        z = (pixels[i:i + _BATCH] - mean) / scale
        labels[i:i + _BATCH] = nearest_centre(z, centres)
    out[valid] = (labels + 1).astype(dtype)
    return out


def cluster(
    cube: xr.DataArray,
    n_classes: int,
    method: str = "kmeans",
    max_iterations: int = 20,
    min_samples_per_cluster: int = 20,
    sample_size: int = DEFAULT_CLUSTER_SAMPLE_SIZE,
    random_state: int | None = None,
    *,
    max_merge_distance: float = 0.5,
    max_merge_per_iteration: int = 5,
) -> xr.DataArray:
    """Unsupervised classification: cluster the cube's pixels into at most ``n_classes``.

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube ``("band", "y", "x")`` with a CRS, or a time series ``(time, band, y, x)``
        whose dates' bands are all features (as :func:`xr_landcover.train` takes them).
    n_classes : int
        Clusters (k-means), or the most clusters (ISODATA: ArcGIS's "maximum number of
        classes"); at least 2.
    method : {"kmeans", "isodata"}
        scikit-learn's ``KMeans`` (k-means++ starts, 10 of them, the best kept), or ISODATA as
        described in :mod:`~xr_landcover.classification.clustering`.
    max_iterations : int, default 20
        Iterations of k-means (``max_iter``) or ISODATA (ArcGIS's default, 20).
    min_samples_per_cluster : int, default 20
        Clusters with fewer sample pixels are dropped, their pixels going to the nearest
        remaining centre (both methods; ArcGIS's default, 20).
    sample_size : int, default 20000
        Valid pixels the clusters are fitted on, drawn by ``random_state`` independently of
        the chunking (all valid pixels when there are fewer).
    random_state : int, optional
        Seed of the sample, the k-means starts and the ISODATA starting centres; None: a
        fresh one each call.
    max_merge_distance : float, default 0.5
        ISODATA: centres closer than this (in standard deviations of the sample's bands)
        merge (ArcGIS's default; 0-5 usually works best).
    max_merge_per_iteration : int, default 5
        ISODATA: most merges per iteration (ArcGIS's ``max_merge_per_iter``).

    Returns
    -------
    xarray.DataArray
        The class map ``"landcover"`` ``("y", "x")``: values 1..k (uint8 when they fit),
        names ``cluster 1`` ..., generated colours, the fill value (0) on nodata, the attrs
        of :func:`xr_landcover.classify`'s maps, and ``attrs["cluster_method"]``. The fit
        reads the cube once (a sample); the map itself is lazy.

    Raises
    ------
    InvalidParameterError, InvalidInputTypeError
        A parameter out of range or of the wrong type (the message names it).
    DimensionError
        More than one extra dim, or a ``time`` dim without dates.
    NoSamplesError
        Fewer valid (or distinct) pixels than ``n_classes``, or every cluster smaller than
        ``min_samples_per_cluster``.

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> cube = datasets.nc_landsat7(chunks=256)
    >>> clusters = cube.landcover.cluster(5, random_state=0, sample_size=2000)
    >>> clusters.attrs["flag_meanings"]
    'cluster_1 cluster_2 cluster_3 cluster_4 cluster_5'
    """
    # a time series (time, band, y, x): every date's bands are features, as in train
    cube = stack_dates(require_cube(cube))[0]
    check_number("n_classes", n_classes, 2, 254, integer=True)
    check_choice("method", method, CLUSTER_METHODS)
    check_number("max_iterations", max_iterations, 1, integer=True)
    check_number("min_samples_per_cluster", min_samples_per_cluster, 1, integer=True)
    check_number("sample_size", sample_size, n_classes, integer=True)
    check_number("max_merge_distance", max_merge_distance, 0)
    check_number("max_merge_per_iteration", max_merge_per_iteration, 0, integer=True)
    if random_state is None:
        random_state = int(np.random.SeedSequence().entropy % (2 ** 32))
    elif isinstance(random_state, bool) or not isinstance(random_state, int | np.integer):
        raise InvalidInputTypeError(
            f"random_state must be an integer seed or None; got {type(random_state).__name__}"
        )
    seed = int(random_state) % (2 ** 32)

    values, _ = sample_valid_pixels(cube, int(sample_size), seed)
    if len(values) < n_classes:
        raise NoSamplesError(
            f"the cube has {len(values)} valid pixels, fewer than n_classes={n_classes}"
        )
    mean = values.mean(axis=0)
    scale = values.std(axis=0)
    scale[scale == 0] = 1.0  # a constant band: nothing to standardise
    z = (values - mean) / scale
    if method == "kmeans":
        centres = _kmeans(z, int(n_classes), int(max_iterations), seed)
    else:
        centres = isodata(z, int(n_classes), int(max_iterations), int(min_samples_per_cluster),
                          float(max_merge_distance), int(max_merge_per_iteration),
                          np.random.default_rng(seed))
    centres = _drop_small(z, centres, int(min_samples_per_cluster))
    if len(centres) == 0:
        raise NoSamplesError(
            f"every cluster has fewer than min_samples_per_cluster={min_samples_per_cluster} "
            f"of the {len(values)} sample pixels; lower it or raise sample_size"
        )
    # darkest first; lexsort over all coordinates so that the order is total
    order = np.lexsort((*centres.T[::-1], centres.sum(axis=1)))
    centres = centres[order]
    k = len(centres)

    class_values = list(range(1, k + 1))
    dtype, fill = class_map_dtype(class_values)
    data = cube.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=-1)
    data = data.rechunk({0: -1})
    labels = dsa.map_blocks(
        _predict_block, data, centres, mean, scale, cube.rio.nodata, dtype, fill,
        drop_axis=0, dtype=dtype, name="landcover-cluster-" + uuid.uuid4().hex,
    )
    names = [f"cluster {v}" for v in class_values]
    out = wrap_like(labels, cube.isel(band=0, drop=True), "landcover")
    out.attrs.update(class_map_attrs(class_values, names, _cluster_colors(names), dtype))
    out.attrs["cluster_method"] = (
        f"{method}, {k} clusters, {len(values)} sample pixels, seed {random_state}"
    )
    return out.rio.write_nodata(fill, encoded=False)
