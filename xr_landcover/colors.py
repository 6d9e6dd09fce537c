"""Class colours and the CF attributes of a class map.

Colours follow the National Land Cover Database (NLCD) legend where a class name says what it
is (``water`` blue, ``forest`` green, ``developed`` red, ``crops`` yellow...), and a qualitative
palette otherwise.  The same ``{value: (r, g, b)}`` table goes into a class map's ``colormap``
attribute and into the GeoTIFF colour table written by :func:`xr_landcover.to_geotiff`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .errors import InvalidParameterError

__all__ = [
    "LandcoverClass",
    "NLCD_LIKE_COLORS",
    "QUALITATIVE_PALETTE",
    "color_for_name",
    "class_colors",
    "flag_meanings",
]


@dataclass(frozen=True)
class LandcoverClass:
    """One class: its integer value in the class map, its name and its ``(r, g, b)`` colour."""

    value: int
    name: str
    color: tuple[int, int, int]


RGB = tuple[int, int, int]

#: Keywords looked for in a class name (lower case), in order, with NLCD-like colours.
NLCD_LIKE_COLORS: tuple[tuple[tuple[str, ...], RGB], ...] = (
    (("water", "lake", "river", "sea", "ocean", "reservoir", "pond"), (70, 107, 159)),
    (("wetland", "marsh", "swamp", "bog", "mangrove"), (184, 217, 235)),
    (("snow", "ice", "glacier"), (209, 222, 248)),
    (("cloud",), (245, 245, 245)),
    (("shadow",), (60, 60, 60)),
    (("developed", "urban", "built", "impervious", "building", "road", "city", "settlement"),
     (222, 0, 0)),
    (("evergreen", "conifer", "pine"), (28, 95, 44)),
    (("forest", "tree", "wood"), (56, 133, 56)),
    (("shrub", "scrub", "bush"), (204, 184, 121)),
    (("herbaceous", "grass", "meadow", "prairie", "savanna"), (223, 223, 194)),
    (("pasture", "hay"), (220, 217, 57)),
    (("crop", "agricult", "cultivat", "farm", "field", "orchard"), (230, 210, 40)),
    (("barren", "bare", "sediment", "sand", "rock", "soil", "beach", "dune", "quarry", "mine"),
     (179, 172, 159)),
)

#: Qualitative colours (ColorBrewer Set1/Dark2-like) for classes whose name says nothing known.
QUALITATIVE_PALETTE: tuple[RGB, ...] = (
    (228, 26, 28),
    (55, 126, 184),
    (77, 175, 74),
    (152, 78, 163),
    (255, 127, 0),
    (166, 86, 40),
    (247, 129, 191),
    (27, 158, 119),
    (217, 95, 2),
    (117, 112, 179),
    (231, 41, 138),
    (102, 166, 30),
    (230, 171, 2),
    (153, 153, 153),
)


def color_for_name(name: str) -> RGB | None:
    """The NLCD-like colour of a class name, or None when the name says nothing known.

    Examples
    --------
    >>> color_for_name("Open water"), color_for_name("forest"), color_for_name("xyz")
    ((70, 107, 159), (56, 133, 56), None)
    """
    lowered = str(name).lower()
    for keywords, rgb in NLCD_LIKE_COLORS:
        if any(k in lowered for k in keywords):
            return rgb
    return None


def _as_rgb(color) -> RGB:
    try:
        rgb = tuple(int(round(float(c))) for c in color)
    except (TypeError, ValueError):
        message = f"a colour must be three numbers 0-255, got {color!r}"
        raise InvalidParameterError(message) from None
    if len(rgb) != 3 or any(c < 0 or c > 255 for c in rgb):
        raise InvalidParameterError(f"a colour must be three numbers 0-255, got {color!r}")
    return rgb  # type: ignore[return-value]


def class_colors(names: Sequence[str], colors: Sequence | None = None) -> list[RGB]:
    """One ``(r, g, b)`` per class: given colours, else NLCD-like by name, else qualitative.

    Parameters
    ----------
    names : sequence of str
        Class names.
    colors : sequence, optional
        Colours to use as given (same length as ``names``; an entry may be None).

    Returns
    -------
    list of (int, int, int)
        Distinct palette entries are handed out to unknown names in order, skipping colours
        already taken by other classes.

    Examples
    --------
    >>> class_colors(["water", "forest", "class 9"])
    [(70, 107, 159), (56, 133, 56), (228, 26, 28)]
    """
    if colors is not None and len(colors) != len(names):
        raise InvalidParameterError(
            f"colors has {len(colors)} entries but there are {len(names)} classes"
        )
    out: list[RGB | None] = []
    for i, name in enumerate(names):
        given = None if colors is None else colors[i]
        out.append(_as_rgb(given) if given is not None else color_for_name(name))
    taken = {c for c in out if c is not None}
    palette = [c for c in QUALITATIVE_PALETTE if c not in taken] or list(QUALITATIVE_PALETTE)
    k = 0
    for i, c in enumerate(out):
        if c is None:
            out[i] = palette[k % len(palette)]
            k += 1
    return out  # type: ignore[return-value]


def flag_meanings(names: Sequence[str]) -> str:
    """CF ``flag_meanings``: names joined by spaces, spaces inside a name become underscores.

    Examples
    --------
    >>> flag_meanings(["open water", "forest"])
    'open_water forest'
    """
    return " ".join("_".join(str(n).split()) or "unnamed" for n in names)
