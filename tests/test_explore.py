"""Web maps: folium HTML checked in a real headless Chromium (screenshot and DOM).

Needs Debian's ``chromium`` (``apt-get install -y chromium``; ``make test`` installs it). The
maps are saved with ``offline=True``, which inlines the vendored Leaflet: the browser runs with no
network, so nothing is fetched.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pytest
import xarray as xr
from conftest import synthetic_class_map
from PIL import Image
from pyproj import Transformer
from shapely.geometry import box

import xr_landcover as xl

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--window-size=1000,800",
    "--virtual-time-budget=5000",
]
LEAFLET_BACKGROUND = 221  # #ddd, .leaflet-container in leaflet.css: shows where there is no tile

COLORS = {1: (230, 25, 75), 2: (60, 180, 75), 3: (0, 130, 200), 4: (245, 130, 48)}
NAMES = ["urban", "forest", "water", "wetland"]  # wetland: in the legend, absent from the map


def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            "chromium is needed for the browser tests and was not found: install Debian's "
            "package with `apt-get install -y chromium` (make test does it) or set CHROMIUM="
        )
    return path


def run_chromium(tmp_path: Path, html: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "chromium-profile"
    cmd = [chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args, html.as_uri()]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def screenshot(tmp_path: Path, html: Path) -> np.ndarray:
    png = tmp_path / (html.stem + ".png")
    run_chromium(tmp_path, html, f"--screenshot={png}")
    return np.asarray(Image.open(png).convert("RGB")).astype(int)


def dump_dom(tmp_path: Path, html: Path) -> str:
    return run_chromium(tmp_path, html, "--dump-dom").stdout


def pixels_near(image: np.ndarray, rgb, tol: int = 3) -> np.ndarray:
    return (np.abs(image - np.asarray(rgb)) <= tol).all(axis=-1)


def blended(rgb, opacity: float) -> tuple[int, ...]:
    """Colour of an overlay pixel drawn with ``opacity`` over Leaflet's grey background."""
    return tuple(round(opacity * c + (1 - opacity) * LEAFLET_BACKGROUND) for c in rgb)


def make_classes(ny=300, nx=240, res=30.0) -> xr.DataArray:
    """Classes 1, 2, 3 in west-to-east stripes, nodata (0) in the north-west corner; UTM 18N."""
    data = np.ones((ny, nx), np.uint8)
    data[:, nx // 3 : 2 * nx // 3] = 2
    data[:, 2 * nx // 3 :] = 3
    data[: ny // 4, : nx // 6] = 0
    return synthetic_class_map(data, values=[1, 2, 3, 4], names=NAMES,
                               colors=[COLORS[v] for v in (1, 2, 3, 4)], res=res, chunks=100,
                               name="land cover")


def overlay_png(m: folium.Map) -> tuple[np.ndarray, list]:
    """The image (RGBA) and bounds of the map's only ImageOverlay."""
    (overlay,) = [
        c for c in m._children.values() if isinstance(c, folium.raster_layers.ImageOverlay)
    ]
    data = base64.b64decode(overlay.url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data))), overlay.bounds


# -- without a browser ----------------------------------------------------------------------------


def test_overlay_image_colours_alpha_and_bounds():
    classes = make_classes()
    m = classes.landcover.explore()
    rgba, bounds = overlay_png(m)
    assert rgba.shape[-1] == 4
    opaque = rgba[..., 3] == 255
    assert set(np.unique(rgba[..., 3])) == {0, 255}
    colours = {tuple(c) for c in rgba[opaque][:, :3]}
    assert colours == {COLORS[1], COLORS[2], COLORS[3]}
    # nodata (1/24 of the raster) and the reprojection's corners are transparent
    assert 1 / 24 < (~opaque).mean() < 0.15
    # bounds: the raster's footprint in lon/lat
    to_ll = Transformer.from_crs("EPSG:32618", "EPSG:4326", always_xy=True)
    left, bottom, right, top = classes.rio.bounds()
    lons, lats = to_ll.transform([left, left, right, right], [bottom, top, bottom, top])
    (south, west), (north, east) = bounds
    assert south == pytest.approx(min(lats), abs=1e-3) and north == pytest.approx(
        max(lats), abs=1e-3
    )
    assert west == pytest.approx(min(lons), abs=1e-3) and east == pytest.approx(max(lons), abs=1e-3)


def test_offline_map_links_nothing_external_default_map_uses_cdn(tmp_path):
    classes = make_classes()
    online = classes.landcover.explore().get_root().render()
    assert re.search(r'<script src="https://cdn\.jsdelivr\.net/npm/leaflet@', online)
    page = classes.landcover.explore(offline=True).get_root().render()
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"<link[^>]*\shref=", page)
    assert "Leaflet 1.9.4" in page and "url(images/" not in page
    # the inlining is per map: folium's class-level defaults are untouched
    assert any("leaflet" in url for _, url in folium.Map.default_js)


def test_explore_tiles_and_existing_map():
    classes = make_classes()
    assert (
        "tile.openstreetmap.org"
        in classes.landcover.explore(tiles="OpenStreetMap").get_root().render()
    )
    assert "L.tileLayer" not in classes.landcover.explore().get_root().render()
    m = folium.Map(tiles=None)
    assert classes.landcover.explore(m=m, name="a") is m


# -- in Chromium ---------------------------------------------------------------------------------


def samples_layer_data() -> gpd.GeoDataFrame:
    """Two small polygons in EPSG:3857 (not the map's CRS): a forest one, a water one."""
    forest = box(500000 + 30 * 100, 4000000 - 30 * 200, 500000 + 30 * 140, 4000000 - 30 * 160)
    water = box(500000 + 30 * 180, 4000000 - 30 * 200, 500000 + 30 * 220, 4000000 - 30 * 160)
    gdf = gpd.GeoDataFrame(
        {"label": ["forest", "water"]}, geometry=[forest, water], crs="EPSG:32618"
    )
    return gdf.to_crs("EPSG:3857")


def test_class_map_in_chromium_overlay_colours_and_legend(tmp_path):
    classes = make_classes()
    m = classes.landcover.explore(samples=samples_layer_data(), offline=True, opacity=0.8)
    html = tmp_path / "classes.html"
    m.save(str(html))
    image = screenshot(tmp_path, html)
    assert image.shape[:2] == (800, 1000)

    # the overlay: each class colour, blended at 80 % over the grey background, covers a large
    # area, in the right order west to east
    centres = []
    for value in (1, 2, 3):
        mask = pixels_near(image, blended(COLORS[value], 0.8))
        assert mask.sum() > 5000, (value, int(mask.sum()))
        centres.append(np.nonzero(mask)[1].mean())
    assert centres[0] < centres[1] < centres[2]
    # the nodata corner (north-west) shows Leaflet's background through the overlay
    urban_rows, urban_cols = np.nonzero(pixels_near(image, blended(COLORS[1], 0.8)))
    top, left = urban_rows.min(), urban_cols.min()
    assert pixels_near(image[top + 5 : top + 15, left + 2 : left + 8], (221, 221, 221)).all()

    # the legend: its swatches are drawn at full colour; wetland is only in the legend
    for value in (1, 2, 3, 4):
        swatch = pixels_near(image, COLORS[value], tol=1).sum()
        assert swatch >= 150, (NAMES[value - 1], int(swatch))
    # the samples: filled at 90 % with their class colour over the overlay
    dom = dump_dom(tmp_path, html)
    legend = re.search(r'<div class="[^"]*xr-landcover-legend[^"]*".*?</div></div>', dom, re.S)
    assert legend, "no legend in the page"
    for name in NAMES:
        assert name in legend.group(0)
    assert "land cover" in legend.group(0)
    paths = re.findall(r'<path[^>]*fill="(#[0-9a-f]{6})"', dom)
    assert sorted(paths) == sorted(["#{:02x}{:02x}{:02x}".format(*COLORS[v]) for v in (2, 3)])
    assert "training samples" in dom  # in the layer control
    assert "leaflet-control-layers" in dom


def test_rgb_cube_in_chromium(tmp_path):
    ny, nx = 200, 200
    data = np.zeros((3, ny, nx), np.float32)
    data[0, :, : nx // 2] = 1.0  # west: red
    data[1, :, nx // 2 :] = 1.0  # east: green
    data[:, :20, :20] = np.nan
    coords = {
        "band": ["red", "green", "blue"],
        "y": 3000000.0 - 30 * np.arange(ny),
        "x": 400000.0 + 30 * np.arange(nx),
    }
    cube = xr.DataArray(data, dims=("band", "y", "x"), coords=coords).rio.write_crs("EPSG:32633")
    m = cube.chunk(64).landcover.explore(stretch=None, offline=True)
    html = tmp_path / "rgb.html"
    m.save(str(html))
    image = screenshot(tmp_path, html)
    red = pixels_near(image, (255, 0, 0))
    green = pixels_near(image, (0, 255, 0))
    assert red.sum() > 5000 and green.sum() > 5000
    assert np.nonzero(red)[1].mean() < np.nonzero(green)[1].mean()


def test_shipped_scene_in_chromium(tmp_path):
    """The real thing: NC Landsat 7 composite and a class map, with the training polygons."""
    cube = xl.datasets.nc_landsat7()
    polygons = xl.datasets.nc_training_polygons()
    nir = cube.sel(band="nir")
    vegetation = (nir > cube.sel(band="red")).astype("uint8")
    classes = xr.where(nir.isnull(), 0, vegetation + 1).astype("uint8")
    classes = classes.rio.write_crs(cube.rio.crs)
    classes.attrs = {
        "flag_values": [1, 2],
        "class_names": ["developed", "forest"],
        "colormap": {1: (222, 0, 0), 2: (56, 133, 56)},
        "_FillValue": 0,
    }
    m = cube.landcover.explore(bands=("nir", "red", "green"), offline=True, name="false colour")
    m = classes.landcover.explore(
        m=m, samples=polygons, class_field="label", opacity=1.0, name="toy classes"
    )
    html = tmp_path / "nc.html"
    m.save(str(html))
    image = screenshot(tmp_path, html)
    for rgb in ((222, 0, 0), (56, 133, 56)):
        assert pixels_near(image, rgb, tol=1).sum() > 2000
    dom = dump_dom(tmp_path, html)
    assert "false colour" in dom and "toy classes" in dom
    assert len(re.findall(r"<path[^>]*leaflet-interactive", dom)) == len(polygons)


def test_rgb_added_to_a_class_map_lies_under_the_classes(tmp_path):
    """explore(m=...) puts the composite under the class layer, whichever was added first."""
    classes = make_classes()
    magenta = np.ones((3, *classes.shape), np.float32)
    magenta[1] = 0.0
    rgb = xr.DataArray(magenta, dims=("band", "y", "x"),
                       coords={"band": ["r", "g", "b"], "y": classes.y, "x": classes.x},
                       name="image").rio.write_crs(classes.rio.crs)
    for order in ("classes first", "rgb first"):
        if order == "classes first":
            m = classes.landcover.explore(opacity=1.0, offline=True)
            m = rgb.landcover.explore(stretch=None, m=m)
        else:
            m = rgb.landcover.explore(stretch=None, offline=True)
            m = classes.landcover.explore(opacity=1.0, m=m)
        html = tmp_path / "both.html"
        m.save(str(html))
        image = screenshot(tmp_path, html)
        for value in (1, 2, 3):
            assert pixels_near(image, COLORS[value]).sum() > 5000, (order, value)
        assert pixels_near(image, (255, 0, 255)).sum() > 500, order  # the nodata corner
        # the composite shows only where the classes are transparent: the nodata corner, 1/8
        # of the area of a class stripe (on top, it would hide all three stripes)
        assert pixels_near(image, (255, 0, 255)).sum() < 0.25 * pixels_near(
            image, COLORS[2]).sum(), order
