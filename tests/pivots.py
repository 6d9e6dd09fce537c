"""Synthetic 8-bit scenes of centre-pivot fields on a desert, for the segmentation tests.

Discs of different crop colours (green crops, ripe/harvested browns, a few fallow fields barely
different from the sand) on a noisy, slowly varying sand background; some discs touch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from rasterio.transform import from_origin
from scipy import ndimage

SAND = np.array([196.0, 172.0, 140.0])
CROPS = {
    "green": ([70, 125, 55], 18),  # (mean RGB, spread of the mean between fields)
    "dark_green": ([45, 90, 45], 10),
    "ripe": ([170, 150, 70], 12),
    "harvested": ([140, 110, 85], 12),
}


@dataclass
class PivotScene:
    image: np.ndarray  # uint8 (3, y, x)
    masks: list[np.ndarray]  # bool (y, x), one per pivot
    kinds: list[str]

    def cube(self, chunks=None) -> xr.DataArray:
        ny, nx = self.image.shape[1:]
        transform = from_origin(500000.0, 4000000.0, 30.0, 30.0)
        cube = xr.DataArray(
            self.image, dims=("band", "y", "x"),
            coords={"band": ["red", "green", "blue"],
                    "y": 4000000.0 - 15.0 - 30.0 * np.arange(ny),
                    "x": 500000.0 + 15.0 + 30.0 * np.arange(nx)},
            name="pivots",
        ).rio.write_crs("EPSG:32621").rio.write_transform(transform)
        return cube.chunk(chunks or {"y": 128, "x": 128})


def make_pivot_scene(seed: int = 0, size: int = 256, n_fallow: int = 2) -> PivotScene:
    """A ``size`` x ``size`` scene with pivots of radius 8..16 px on a jittered grid.

    About one pair in five of neighbouring pivots touch; ``n_fallow`` pivots are fallow: sand
    darkened by 14..18 levels, barely visible.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    # Sand: a slowly varying brightness (dunes, soil moisture) plus per-pixel noise.
    low = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 12)
    low = low / (low.std() + 1e-9) * 5.0
    img = SAND[:, None, None] + low[None] + rng.normal(0, 6.0, (3, size, size))

    centres, radii = [], []
    step = 40
    for cy in range(step // 2, size - 10, step):
        for cx in range(step // 2, size - 10, step):
            r = int(rng.integers(8, 17))
            y, x = cy + rng.integers(-4, 5), cx + rng.integers(-4, 5)
            if y - r < 1 or x - r < 1 or y + r > size - 2 or x + r > size - 2:
                continue
            centres.append([float(y), float(x)])
            radii.append(r)
    # Make some neighbours touch: pull the right neighbour until the discs meet.
    for i in range(len(centres)):
        if rng.random() < 0.25 and i + 1 < len(centres):
            a, b = centres[i], centres[i + 1]
            if abs(a[0] - b[0]) < 10 and b[1] > a[1]:
                b[1] = a[1] + radii[i] + radii[i + 1] + 0.5
    masks, kinds = [], []
    occupied = np.zeros((size, size), dtype=bool)
    kind_names = list(CROPS)
    fallow = set(rng.choice(len(centres), size=min(n_fallow, len(centres)), replace=False))
    for k, ((cy, cx), r) in enumerate(zip(centres, radii)):
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        disc &= ~occupied
        if disc.sum() < 100:
            continue
        occupied |= disc
        if k in fallow:
            kind = "fallow"
            colour = SAND - rng.uniform(14, 18)
            noise = 4.0
        else:
            kind = kind_names[int(rng.integers(len(kind_names)))]
            mean, spread = CROPS[kind]
            colour = np.asarray(mean, float) + rng.normal(0, spread / 2, 3)
            noise = 7.0
        field = colour[:, None] + rng.normal(0, noise, (3, int(disc.sum())))
        img[:, disc] = field
        masks.append(disc)
        kinds.append(kind)
    image = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return PivotScene(image=image, masks=masks, kinds=kinds)


def pivot_recovery(scene: PivotScene, segments: np.ndarray, min_iou: float = 0.5):
    """Share of pivots matched by one segment with IoU >= ``min_iou``, and the IoU of each."""
    ious = []
    flat = segments.ravel()
    for mask in scene.masks:
        ids, inside = np.unique(segments[mask], return_counts=True)
        best = 0.0
        for sid, n in zip(ids, inside):
            if sid == 0:
                continue
            size = np.count_nonzero(flat == sid)
            best = max(best, n / (mask.sum() + size - n))
        ious.append(best)
    ious = np.asarray(ious)
    return float(np.mean(ious >= min_iou)), ious


#: Fallow fields: sand darkened by this many levels (all three bands), barely visible.
FALLOW_DN = (12.0, 25.0)


def make_field_scene(seed: int = 0, size: int = 400, radii=(8, 30), fallow_share: float = 0.2,
                     touching_share: float = 0.3, blur_sigma: float = 0.8,
                     sensor_noise: float = 3.0) -> PivotScene:
    """A harder ``size`` x ``size`` scene of centre pivots, closer to a Landsat 8-bit RGB crop.

    Pivots of radius ``radii`` (uniform, px) placed at random without overlap; about
    ``touching_share`` of them are placed tangent to an earlier one (the discs touch);
    ``fallow_share`` of them are fallow: sand darkened by :data:`FALLOW_DN` levels with a
    slight tint. Crop fields get a slow brightness ramp across the disc (irrigation sectors,
    growth stage). The ground scene (fields with their texture on the dune-modulated sand) is
    then seen through a Gaussian point-spread function of ``blur_sigma`` px, and sensor noise
    (``sensor_noise`` DN, Gaussian) is added before rounding to 8 bits. At the defaults the
    residual noise (Immerkær's estimate) is 3.0 DN, about that of the shipped Landsat crop
    (3.2-3.7 DN per band); the older :func:`make_pivot_scene` has 6.7 DN, unblurred.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    low = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 15)
    low = low / (low.std() + 1e-9) * 5.0
    tint = ndimage.gaussian_filter(rng.normal(0, 1, (3, size, size)), (0, 25, 25))
    tint = tint / (tint.std() + 1e-9) * 2.0
    img = SAND[:, None, None] + low[None] + tint + rng.normal(0, 5.0, (3, size, size))

    centres, rads = [], []
    for _ in range(4000):
        if len(centres) >= (size * size) // 2500:
            break
        r = float(rng.uniform(*radii))
        if centres and rng.random() < touching_share:
            j = int(rng.integers(len(centres)))
            angle = rng.uniform(0, 2 * np.pi)
            dist = rads[j] + r + 0.5
            cy = centres[j][0] + dist * np.sin(angle)
            cx = centres[j][1] + dist * np.cos(angle)
            gap = 0.5
        else:
            cy, cx = rng.uniform(r + 2, size - r - 2, 2)
            gap = 3.0
        if cy - r < 2 or cx - r < 2 or cy + r > size - 3 or cx + r > size - 3:
            continue
        if any(np.hypot(cy - a, cx - b) < r + q + gap - 1e-6
               for (a, b), q in zip(centres, rads)):
            continue
        centres.append((cy, cx))
        rads.append(r)

    masks, kinds = [], []
    occupied = np.zeros((size, size), dtype=bool)
    kind_names = list(CROPS)
    for (cy, cx), r in zip(centres, rads):
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2 <= r * r) & ~occupied
        if disc.sum() < 150:
            continue
        occupied |= disc
        n = int(disc.sum())
        if rng.random() < fallow_share:
            kind = "fallow"
            colour = SAND - rng.uniform(*FALLOW_DN) + rng.normal(0, 1.5, 3)
            field = colour[:, None] + low[disc][None] * 0.5 + rng.normal(0, 4.0, (3, n))
        else:
            kind = kind_names[int(rng.integers(len(kind_names)))]
            mean, spread = CROPS[kind]
            colour = np.asarray(mean, float) + rng.normal(0, spread / 2, 3)
            angle = rng.uniform(0, 2 * np.pi)
            ramp = ((yy[disc] - cy) * np.sin(angle) + (xx[disc] - cx) * np.cos(angle)) / r
            field = (colour[:, None] + rng.uniform(0, 8) * ramp[None]
                     + rng.normal(0, 6.0, (3, n)))
        img[:, disc] = field
        masks.append(disc)
        kinds.append(kind)
    if blur_sigma > 0:
        img = ndimage.gaussian_filter(img, (0, blur_sigma, blur_sigma), mode="nearest")
    img = img + rng.normal(0, sensor_noise, img.shape)
    image = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return PivotScene(image=image, masks=masks, kinds=kinds)
