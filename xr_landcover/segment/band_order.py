"""Band colour order for ``color_space="luv"``: the three bands are read as red, green, blue.

The L*u*v* conversion takes the first chosen band as red, the second as green, the third as
blue. A cube whose band names say otherwise would be segmented in the wrong colours, silently:
:func:`rgb_bands` puts bands *named* ``red``, ``green``, ``blue`` in that order, and warns
when the names are sensor band codes in wavelength order (``B2, B3, B4`` is blue, green, red on
Landsat 8-9 and Sentinel-2, ``B1, B2, B3`` on Landsat 4-7), which it cannot map to colours
without knowing the sensor.
"""

from __future__ import annotations

import re

import xarray as xr

from .._warnings import warn
from .prepare import select_bands

__all__ = ["rgb_bands", "COLOUR_NAMES"]

#: Band names read as colours (compared without case or surrounding spaces).
COLOUR_NAMES = ("red", "green", "blue")

# Landsat / Sentinel-2 style band codes: B2, B02, SR_B4, TOA_B3 (B8A is not a visible band).
_BAND_CODE = re.compile(r"^(?:sr_|toa_|st_)?b0*(\d{1,2})$", re.IGNORECASE)


def rgb_bands(cube: xr.DataArray, bands, color_space: str):
    """The ``bands`` to segment, put in red, green, blue order by name when that is known.

    With ``color_space="luv"``: when the chosen bands are named ``red``, ``green`` and
    ``blue`` (any case) in another order, returns their names in red, green, blue order; when
    they are named by band codes in increasing order (``B2, B3, B4``: on most sensors the
    visible bands are numbered from blue to red), warns once (a :class:`UserWarning` naming
    the bands and the fix) and keeps them. Otherwise, and for ``color_space="none"`` (where
    the order does not matter), returns ``bands`` unchanged.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> cube = xr.DataArray(np.zeros((3, 2, 2)), dims=("band", "y", "x"),
    ...                     coords={"band": ["blue", "green", "red"]})
    >>> rgb_bands(cube, None, "luv")
    ['red', 'green', 'blue']
    >>> rgb_bands(cube, None, "none") is None
    True
    """
    if color_space != "luv":
        return bands
    chosen = [str(b) for b in select_bands(cube, bands).band.values]
    lowered = [name.strip().lower() for name in chosen]
    if sorted(lowered) == sorted(COLOUR_NAMES):
        if lowered == list(COLOUR_NAMES):
            return bands
        return [chosen[lowered.index(colour)] for colour in COLOUR_NAMES]
    codes = [_BAND_CODE.match(name.strip()) for name in chosen]
    if all(codes):
        numbers = [int(m.group(1)) for m in codes]
        # no sensor numbers a band 0: b0, b1, b2 are positions, not band codes
        if numbers == sorted(numbers) and len(set(numbers)) == len(numbers) and numbers[0] >= 1:
            rgb = list(reversed(chosen))
            warn(
                f"segment: color_space='luv' reads the bands {chosen} as red, green, blue, but "
                f"band codes in increasing order are usually blue, green, red (Landsat 8-9 "
                f"and Sentinel-2 B2, B3, B4; Landsat 4-7 B1, B2, B3). If so, pass "
                f"bands={rgb}; if they really are red, green, blue, pass them as they are "
                "with names 'red', 'green', 'blue' (cube.assign_coords(band=[...])) to "
                "silence this warning",
                UserWarning,
            )
    return bands
