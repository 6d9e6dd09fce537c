"""Maps: class maps with legends, RGB composites, segment boundaries, folium web maps.

Every function here draws a *decimated overview* of its input: it keeps every ``step``-th pixel
along ``y`` and ``x`` (``step`` chosen so that the longest side has at most ``max_pixels``
pixels) and computes only that, so a dask-backed cube of any size costs one small compute.
Map extents come from the raster's transform, so vector layers (training polygons, reprojected to
the raster's CRS) overlay exactly.

Static maps (:mod:`~xr_landcover.plot.static_maps`) use matplotlib and return the
:class:`~matplotlib.axes.Axes` (or the :class:`~matplotlib.figure.Figure` for :func:`compare`);
web maps (:mod:`~xr_landcover.plot.web_maps`) return a :class:`folium.Map` following the
``GeoDataFrame.explore`` convention (no tile basemap unless ``tiles=`` is given; ``offline=True``
inlines the vendored Leaflet library so the saved HTML needs no network). What both share
(overviews, class tables, band and sample checks) lives in ``_common``. Neither matplotlib nor
folium is imported until a map is drawn.
"""

from ._common import DEFAULT_MAX_PIXELS, class_table, overview
from .static_maps import compare, plot_classes, plot_rgb, plot_segments
from .web_maps import explore_classes, explore_rgb

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "overview",
    "class_table",
    "plot_classes",
    "plot_rgb",
    "plot_segments",
    "compare",
    "explore_classes",
    "explore_rgb",
]
