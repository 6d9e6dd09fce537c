"""Web maps (folium): class maps and RGB composites as image overlays on a Leaflet map.

The overview is reprojected to Web Mercator and embedded as a PNG
:class:`folium.raster_layers.ImageOverlay`; the functions return a :class:`folium.Map`
following the ``GeoDataFrame.explore`` convention (no tile basemap unless ``tiles=`` is given;
``offline=True`` inlines the vendored Leaflet library, ``xr_landcover/static/leaflet``, so the
saved HTML needs no network). folium is imported inside the functions; matplotlib is never
imported here.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Sequence
from importlib import resources

import numpy as np
import xarray as xr

from ..classmap import ClassTable
from ..errors import InvalidParameterError, MissingCRSError
from ._common import (
    DEFAULT_MAX_PIXELS,
    class_table,
    overview,
    require_map,
    rgb_overview,
    sample_classes,
    samples_in_crs,
)

__all__ = ["explore_classes", "explore_rgb"]


def _png_data_url(rgba: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), mode="RGBA").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _to_web_mercator(small: xr.DataArray, nodata, resampling) -> xr.DataArray:
    if small.rio.crs is None:
        raise MissingCRSError("the raster has no CRS; set one with da.rio.write_crs('EPSG:....')")
    small = small.rio.write_nodata(nodata, encoded=False)
    return small.rio.reproject("EPSG:3857", resampling=resampling, nodata=nodata)


def _latlon_bounds(merc: xr.DataArray) -> list[list[float]]:
    from pyproj import Transformer

    left, bottom, right, top = merc.rio.bounds()
    to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
    (west, east), (south, north) = to_ll.transform([left, right], [bottom, top])
    return [[float(south), float(west)], [float(north), float(east)]]


def _new_map(m, tiles, offline: bool, map_kwds):
    import folium

    if m is None:
        m = folium.Map(tiles=tiles, control_scale=True, **map_kwds)
    elif map_kwds or tiles is not None:
        raise InvalidParameterError("tiles and map keywords apply to a new map, not to m=")
    if offline:
        _inline_leaflet(m)
    return m


def _finish_map(m, bounds, layer_control: bool):
    import folium

    m.fit_bounds(bounds)
    if layer_control:
        # One control, last: its script refers to every layer, so it must follow them all.
        for key, child in list(m._children.items()):
            if isinstance(child, folium.LayerControl):
                del m._children[key]
        folium.LayerControl(collapsed=False).add_to(m)
    return m


# --------------------------------------------------------------------------------------------
# Offline Leaflet (the vendored copy in xr_landcover/static/leaflet)
# --------------------------------------------------------------------------------------------


def _static_file(*parts: str) -> bytes:
    return resources.files("xr_landcover").joinpath("static", *parts).read_bytes()


def _inline_leaflet(m) -> None:
    """Replace the map's CDN links by the vendored Leaflet JS and CSS, inlined in the page.

    Only Leaflet itself is inlined: folium's other default links (jQuery, Bootstrap, the
    awesome-markers plug-in) serve popups and markers, which these maps do not use.
    """
    from branca.element import Element

    js = _static_file("leaflet", "leaflet.js").decode("utf-8")
    js = re.sub(r"//# sourceMappingURL=\S+\s*$", "", js)
    css = _static_file("leaflet", "leaflet.css").decode("utf-8")

    def image_url(match: re.Match) -> str:
        data = base64.b64encode(_static_file("leaflet", "images", match.group(1))).decode("ascii")
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\(images/([\w.-]+\.png)\)", image_url, css)
    # Instance attributes: folium's own lists are class attributes shared by every map.
    m.default_js = []
    m.default_css = []
    header = m.get_root().header
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css")
    header.add_child(Element(f"<script>{js}</script>"), name="leaflet")


# --------------------------------------------------------------------------------------------
# Legend and overlays
# --------------------------------------------------------------------------------------------


def _legend_html(table: ClassTable, title: str | None) -> str:
    rows = []
    if title:
        rows.append(f'<div class="xr-landcover-legend-title">{html.escape(title)}</div>')
    for i, name in enumerate(table.names):
        rows.append(
            '<div class="xr-landcover-legend-item">'
            f'<span class="xr-landcover-swatch" style="background:{table.hex(i)}"></span>'
            f"{html.escape(name)}</div>"
        )
    return "".join(rows)


_LEGEND_CSS = """
<style>
.xr-landcover-legend { background: rgba(255, 255, 255, 0.92); padding: 6px 10px;
  border-radius: 4px; box-shadow: 0 0 4px rgba(0, 0, 0, 0.35);
  font: 13px/1.5 "Helvetica Neue", Arial, sans-serif; color: #222; }
.xr-landcover-legend-title { font-weight: bold; margin-bottom: 3px; }
.xr-landcover-swatch { display: inline-block; width: 16px; height: 16px; margin-right: 7px;
  vertical-align: -3px; border: 1px solid #555; }
</style>
"""


def _legend_element(table: ClassTable, title: str | None, position: str):
    from branca.element import Element, MacroElement
    from jinja2 import Template

    class Legend(MacroElement):
        _template = Template(
            """
            {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
            {{ this.get_name() }}.onAdd = function (map) {
                var div = L.DomUtil.create("div", "xr-landcover-legend");
                div.innerHTML = {{ this.html|tojson }};
                return div;
            };
            {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
            {% endmacro %}
            """
        )

        def __init__(self):
            super().__init__()
            self._name = "XrLandcoverLegend"
            self.html = _legend_html(table, title)
            self.position = position

        def render(self, **kwargs):
            self.get_root().header.add_child(Element(_LEGEND_CSS), name="xr_landcover_legend_css")
            super().render(**kwargs)

    return Legend()


# Leaflet draws the overlays of one pane in the order they were added, so an RGB composite
# added to a map that has a class layer would cover it. Composites go into their own pane,
# below the overlay pane (z-index 400) and above the tiles (200): under the classes and the
# samples whatever the order of the calls.
IMAGE_PANE = "xr-landcover-images"
IMAGE_PANE_Z_INDEX = 350


def _image_pane(m) -> str:
    """The name of the pane for composites, added to ``m`` on first use."""
    import folium

    if not any(isinstance(child, folium.map.CustomPane) and child.name == IMAGE_PANE
               for child in m._children.values()):
        folium.map.CustomPane(IMAGE_PANE, z_index=IMAGE_PANE_Z_INDEX).add_to(m)
    return IMAGE_PANE


def _add_overlay(m, rgba: np.ndarray, bounds, opacity: float, name: str, *, pixelated: bool,
                 pane: str | None = None):
    """Add an RGBA image (embedded as a PNG) over ``bounds`` to the folium map ``m``."""
    import folium

    options = {} if pane is None else {"pane": pane}
    folium.raster_layers.ImageOverlay(
        _png_data_url(rgba), bounds=bounds, opacity=opacity, name=name, pixelated=pixelated,
        interactive=False, **options,
    ).add_to(m)
    return m


# --------------------------------------------------------------------------------------------
# Class maps and RGB composites
# --------------------------------------------------------------------------------------------


def explore_classes(
    classes: xr.DataArray,
    *,
    tiles: str | None = None,
    samples=None,
    class_field: str | None = None,
    opacity: float = 0.8,
    name: str | None = None,
    legend: bool = True,
    legend_position: str = "bottomright",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    offline: bool = False,
    m=None,
    layer_control: bool = True,
    **map_kwds,
):
    """An interactive web map of a class map: image overlay, legend, optional training samples.

    The overview is reprojected to Web Mercator (nearest neighbour), coloured with the classes'
    colours (nodata fully transparent) and added as a PNG
    :class:`folium.raster_layers.ImageOverlay`.
    The legend is a Leaflet control listing class names with colour swatches.

    Parameters
    ----------
    classes : xarray.DataArray
        Class map ``("y", "x")`` with a CRS.
    tiles : str, optional
        Basemap, as in :class:`folium.Map` (``"OpenStreetMap"``, ``"CartoDB positron"``, a URL
        template...). None (default): no basemap, so the map needs no network.
    samples : geopandas.GeoDataFrame, optional
        Training samples, any CRS, drawn as a GeoJSON layer in their class colours.
    class_field : str, optional
        Column of ``samples`` with the classes (found automatically by default).
    opacity : float, default 0.8
        Opacity of the class overlay.
    name : str, optional
        Layer name (default: the array's name, or "classes"); also the legend title.
    legend : bool, default True
    legend_position : str, default "bottomright"
        A Leaflet control position.
    max_pixels : int, default 1500
    offline : bool, default False
        Inline the vendored Leaflet library (``xr_landcover/static/leaflet``, BSD-2) in the page
        instead of linking folium's CDN copies: the saved HTML then works without network.
    m : folium.Map, optional
        Add the layers to this map instead of a new one. An RGB composite added to the same
        map (:func:`explore_rgb` with ``m=``) is drawn under the classes, in either order.
    layer_control : bool, default True
        Add a layer control (once per map).
    **map_kwds
        Passed to :class:`folium.Map`.

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from xr_landcover.plot import explore_classes
    >>> classes = xr.DataArray(
    ...     np.array([[1, 2], [2, 0]], np.uint8), dims=("y", "x"),
    ...     coords={"y": [4000015.0, 4000005.0], "x": [500005.0, 500015.0]},
    ...     attrs={"flag_values": [1, 2], "class_names": ["water", "forest"], "_FillValue": 0,
    ...            "colormap": {1: (0, 0, 255), 2: (0, 128, 0)}}).rio.write_crs("EPSG:32618")
    >>> m = explore_classes(classes, name="land cover")
    >>> page = m.get_root().render()
    >>> "forest" in page and "L.imageOverlay" in page
    True
    """
    from rasterio.enums import Resampling

    require_map(classes, "classes", "class map")
    small = overview(classes, max_pixels)
    table = class_table(classes, small)
    index = xr.DataArray(
        table.index(small.values).astype(np.int16), coords=small.coords, dims=("y", "x")
    )
    index = index.rio.write_transform(small.rio.transform())
    merc = _to_web_mercator(index, -1, Resampling.nearest)
    rgba = np.zeros(merc.shape + (4,), dtype=np.uint8)
    idx = merc.values
    ok = idx >= 0
    rgba[ok, :3] = table.colors[idx[ok]]
    rgba[ok, 3] = 255
    bounds = _latlon_bounds(merc)
    name = name or (str(classes.name) if classes.name else "classes")
    m = _add_overlay(_new_map(m, tiles, offline, map_kwds), rgba, bounds, opacity, name,
                     pixelated=True)
    if samples is not None:
        _samples_layer(samples, table, class_field).add_to(m)
    if legend:
        m.add_child(_legend_element(table, name, legend_position))
    return _finish_map(m, bounds, layer_control)


def _samples_layer(samples, table: ClassTable, class_field):
    import folium

    samples = samples_in_crs(samples, "EPSG:4326")
    field, pos = sample_classes(samples, table, class_field)
    gdf = samples[[field, samples.geometry.name]].copy()
    gdf[field] = gdf[field].astype(str)
    gdf["_color"] = [table.hex(i) if i >= 0 else "#808080" for i in pos]

    def style(feature):
        color = feature["properties"]["_color"]
        return {"color": "#000000", "weight": 1, "fillColor": color, "fillOpacity": 0.9}

    return folium.GeoJson(
        gdf.to_json(drop_id=True),
        name="training samples",
        style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=[field]),
    )


def explore_rgb(
    cube: xr.DataArray,
    *,
    bands: Sequence[str | int] | None = None,
    stretch: tuple[float, float] | None = (2, 98),
    tiles: str | None = None,
    opacity: float = 1.0,
    name: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    offline: bool = False,
    m=None,
    layer_control: bool = True,
    **map_kwds,
):
    """An interactive web map of an RGB composite (overview, Web Mercator, bilinear).

    Parameters
    ----------
    cube : xarray.DataArray
        Band cube with a CRS.
    bands, stretch
        As in :func:`plot_rgb`.
    tiles, name, max_pixels, offline, layer_control, **map_kwds
        As in :func:`explore_classes`.
    m : folium.Map, optional
        Add the composite to this map instead of a new one: it goes under the map's class
        layers and samples (a pane below Leaflet's overlay pane), so
        ``cube.landcover.explore(m=classes.landcover.explore())`` shows the classes on top.
    opacity : float, default 1.0

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> from xr_landcover.plot import explore_rgb
    >>> m = explore_rgb(datasets.nc_landsat7(), bands=("nir", "red", "green"), max_pixels=200)
    >>> "L.imageOverlay" in m.get_root().render()
    True
    """
    from rasterio.enums import Resampling

    rgb, small = rgb_overview(cube, bands, stretch, max_pixels)
    stretched = xr.DataArray(
        np.moveaxis(rgb, -1, 0),
        coords={"band": [0, 1, 2], "y": small.y, "x": small.x},
        dims=("band", "y", "x"),
    ).rio.write_crs(small.rio.crs)
    stretched = stretched.rio.write_transform(small.rio.transform())
    merc_da = _to_web_mercator(stretched, np.nan, Resampling.bilinear)
    merc = merc_da.values
    valid = np.isfinite(merc).all(axis=0)
    rgba = np.zeros(merc.shape[1:] + (4,), dtype=np.uint8)
    rgba[..., :3] = np.moveaxis(np.round(np.nan_to_num(merc) * 255), 0, -1).astype(np.uint8)
    rgba[..., 3] = np.where(valid, 255, 0)
    bounds = _latlon_bounds(merc_da)
    name = name or (str(cube.name) if cube.name else "image")
    m = _new_map(m, tiles, offline, map_kwds)
    m = _add_overlay(m, rgba, bounds, opacity, name, pixelated=False, pane=_image_pane(m))
    return _finish_map(m, bounds, layer_control)
