"""Static maps: rendered PNGs are read back and their colours checked at known map locations."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings

import dask
import geopandas as gpd
import matplotlib
import numpy as np
import pytest
import xarray as xr
from conftest import CountingScheduler, synthetic_class_map, synthetic_cube
from PIL import Image
from shapely.geometry import box

import xr_landcover as xl
from xr_landcover.errors import (
    DimensionError,
    GridMismatchError,
    InvalidInputTypeError,
    InvalidParameterError,
    MissingCRSError,
    SamplesError,
)
from xr_landcover.plot import overview
from xr_landcover.plot._common import default_palette

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {1: (230, 25, 75), 2: (60, 180, 75), 3: (0, 130, 200)}
NAMES = ["urban", "forest", "water"]
BACKGROUND = (255, 0, 255)  # axes background: shows where the map is transparent
X0, Y0, RES = 500000.0, 4000000.0, 10.0  # upper-left corner, UTM 18N


def _coords(ny, nx):
    return {"y": Y0 - RES * (np.arange(ny) + 0.5), "x": X0 + RES * (np.arange(nx) + 0.5)}


def make_classes(ny=40, nx=60, nodata=0, chunks=None) -> xr.DataArray:
    """Three vertical stripes (classes 1, 2, 3 west to east) and a nodata square top-left."""
    data = np.ones((ny, nx), np.uint8)
    data[:, nx // 3 : 2 * nx // 3] = 2
    data[:, 2 * nx // 3 :] = 3
    data[: ny // 4, : nx // 6] = nodata
    return synthetic_class_map(data, values=[1, 2, 3], names=NAMES, colors=list(COLORS.values()),
                               nodata=nodata, origin=(X0, Y0), res=RES, chunks=chunks or None,
                               name="landcover")


def make_rgb(ny=40, nx=60, chunks=None) -> xr.DataArray:
    """A float reflectance cube: red / green / blue / white quadrants, a NaN square."""
    rgb = np.zeros((3, ny, nx), np.float32)
    h, w = ny // 2, nx // 2
    rgb[0, :h, :w] = 1.0  # NW red
    rgb[1, :h, w:] = 1.0  # NE green
    rgb[2, h:, :w] = 1.0  # SW blue
    rgb[:, h:, w:] = 1.0  # SE white
    rgb[:, h - 3 : h + 3, w - 3 : w + 3] = np.nan  # centre: nodata
    return synthetic_cube(rgb, bands=["red", "green", "blue"], origin=(X0, Y0), res=RES,
                          chunks=chunks or None)


def geo(row: float, col: float) -> tuple[float, float]:
    """Map coordinates of the centre of pixel (row, col)."""
    return X0 + RES * (col + 0.5), Y0 - RES * (row + 0.5)


def render(fig) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def color_at(ax, image: np.ndarray, x: float, y: float) -> tuple[int, int, int]:
    """Colour of the rendered figure at map coordinates (x, y) of ``ax``."""
    px, py = ax.transData.transform((x, y))
    row = image.shape[0] - int(py) - 1
    return tuple(int(v) for v in image[row, int(px)])


def new_axes(ncols=1):
    fig, axes = plt.subplots(1, ncols, figsize=(6 * ncols, 4), dpi=100, squeeze=False)
    for ax in axes[0]:
        ax.set_facecolor(np.array(BACKGROUND) / 255)
    return fig, list(axes[0])


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# -- overview -----------------------------------------------------------------------------------


def test_overview_keeps_pixel_centres_and_footprint():
    da = make_classes(ny=490, nx=700)
    small = overview(da, max_pixels=100)
    step = 7
    assert dict(small.sizes) == {"y": 70, "x": 100}
    assert small.rio.resolution() == (RES * step, -RES * step)
    # each overview pixel is an original pixel, at its own coordinates
    np.testing.assert_allclose(small.x.values, da.x.values[step // 2 :: step])
    np.testing.assert_array_equal(small.values, da.values[step // 2 :: step, step // 2 :: step])
    # the transform places those centres where the coordinates say; odd step, whole blocks:
    # the footprint is exactly the original one
    t = small.rio.transform()
    assert (t * (0.5, 0.5)) == pytest.approx((small.x.values[0], small.y.values[0]))
    np.testing.assert_allclose(small.rio.bounds(), da.rio.bounds())


def test_overview_footprint_within_one_step_for_any_size():
    da = make_classes(ny=401, nx=599)
    small = overview(da, max_pixels=100)
    assert max(small.sizes.values()) <= 100
    step = abs(small.rio.resolution()[0]) / RES
    np.testing.assert_allclose(small.rio.bounds(), da.rio.bounds(), atol=step * RES)


def test_overview_of_dask_array_is_one_small_compute():
    big = make_classes(ny=6000, nx=4500, chunks=1000)
    counter = CountingScheduler()
    with dask.config.set(scheduler=counter):
        small = overview(big, max_pixels=1500)
    assert counter.calls == 1
    assert isinstance(small.data, np.ndarray)
    assert dict(small.sizes) == {"y": 1500, "x": 1125}


def test_overview_rejects_bad_max_pixels():
    with pytest.raises(InvalidParameterError, match="max_pixels"):
        overview(make_classes(), max_pixels=1)
    with pytest.raises(InvalidInputTypeError, match="max_pixels must be an integer"):
        overview(make_classes(), max_pixels="100")


# -- class maps -----------------------------------------------------------------------------------


@pytest.mark.parametrize("chunks", [None, 16])
@pytest.mark.parametrize("nodata", [0, 255])
def test_plot_classes_colours_legend_and_transparent_nodata(chunks, nodata):
    classes = make_classes(nodata=nodata, chunks=chunks)
    fig, (ax,) = new_axes()
    assert classes.landcover.plot(ax=ax, title="classes") is ax
    image = render(fig)
    for (row, col), value in {(30, 5): 1, (5, 30): 2, (20, 55): 3, (39, 0): 1, (0, 59): 3}.items():
        assert color_at(ax, image, *geo(row, col)) == COLORS[value], (row, col)
    assert color_at(ax, image, *geo(2, 2)) == BACKGROUND  # nodata
    assert [t.get_text() for t in ax.get_legend().get_texts()] == NAMES
    patches = ax.get_legend().get_patches()
    assert [tuple(round(255 * c) for c in p.get_facecolor()[:3]) for p in patches] == [
        COLORS[v] for v in (1, 2, 3)
    ]
    assert ax.get_title() == "classes"


@pytest.mark.parametrize("chunks", [None, 16])
def test_plot_classes_of_a_map_masked_with_where(chunks):
    """classes.where(classes != 1) is float with NaN: drawn as the class map it is (the other
    classes in their colours, the masked and the nodata pixels transparent, the legend of
    every class), never as a continuous layer."""
    classes = make_classes(chunks=chunks)
    masked = classes.where(classes != 1)
    assert masked.dtype.kind == "f"
    fig, (ax,) = new_axes()
    masked.landcover.plot(ax=ax)
    image = render(fig)
    for (row, col), value in {(30, 5): 1, (5, 30): 2, (20, 55): 3, (39, 0): 1}.items():
        expected = BACKGROUND if value == 1 else COLORS[value]
        assert color_at(ax, image, *geo(row, col)) == expected, (row, col)
    assert color_at(ax, image, *geo(2, 2)) == BACKGROUND  # nodata
    assert [t.get_text() for t in ax.get_legend().get_texts()] == NAMES
    patches = ax.get_legend().get_patches()
    assert [tuple(round(255 * c) for c in p.get_facecolor()[:3]) for p in patches] == [
        COLORS[v] for v in (1, 2, 3)
    ]


def test_plot_classes_extent_matches_raster_bounds():
    classes = make_classes()
    ax = classes.landcover.plot()
    left, right, bottom, top = ax.get_images()[0].get_extent()
    assert (left, bottom, right, top) == pytest.approx(classes.rio.bounds())


def test_plot_classes_new_figure_fits_the_legend():
    ax = make_classes(ny=400, nx=200).landcover.plot()
    fig = ax.figure
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x1 <= fig.bbox.x1 and ax.yaxis.label.get_window_extent().x0 >= 0


def test_plot_classes_without_attrs_uses_default_palette():
    classes = make_classes()
    classes.attrs = {"_FillValue": 0}
    ax = classes.landcover.plot()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["1", "2", "3"]


def test_default_palette_is_matplotlibs_tab10_and_tab20():
    from matplotlib import colormaps

    for n in (1, 10, 11, 20, 45):
        cmap = colormaps["tab20"] if n > 10 else colormaps["tab10"]
        expected = [tuple(int(round(255 * c)) for c in cmap(i % cmap.N)[:3]) for i in range(n)]
        assert default_palette(n) == expected


def test_static_and_web_maps_import_apart():
    # Static maps never load folium, web maps never load matplotlib (here in fresh interpreters).
    setup = (
        "import sys, numpy as np, xarray as xr\n"
        "from xr_landcover import datasets\n"
        "classes = xr.DataArray(np.array([[1, 2], [2, 0]], np.uint8), dims=('y', 'x'),\n"
        "    coords={'y': [4000015.0, 4000005.0], 'x': [500005.0, 500015.0]},\n"
        "    attrs={'_FillValue': 0}).rio.write_crs('EPSG:32618')\n"
        "cube = datasets.nc_landsat7()\n"
    )
    static = (
        "import matplotlib; matplotlib.use('Agg')\n"
        "from xr_landcover.plot import compare, plot_classes, plot_rgb, plot_segments\n"
        "plot_classes(classes); plot_rgb(cube, bands=(3, 2, 1))\n"
        "plot_segments(cube, cube.isel(band=0).astype('int64'), bands=(3, 2, 1))\n"
        "compare(cube, (cube.isel(band=3) > cube.isel(band=2)).astype('uint8') + 1)\n"
        "print('folium' in sys.modules, 'branca' in sys.modules)"
    )
    web = (
        "from xr_landcover.plot import explore_classes, explore_rgb\n"
        "explore_classes(classes, offline=True).get_root().render()\n"
        "explore_rgb(cube, bands=(3, 2, 1), max_pixels=100).get_root().render()\n"
        "print('matplotlib' in sys.modules, 'folium' in sys.modules)"
    )
    for code, expected in ((static, "False False"), (web, "False True")):
        out = subprocess.run([sys.executable, "-c", setup + code], capture_output=True,
                             text=True, check=True)
        assert out.stdout.strip().splitlines()[-1] == expected


def test_plot_classes_rejects_band_cube():
    with pytest.raises(DimensionError, match="plot_rgb"):
        xl.plot_classes(make_rgb())


# -- RGB composites ----------------------------------------------------------------------------


@pytest.mark.parametrize("chunks", [None, 8])
def test_plot_rgb_true_colour_and_nan_transparent(chunks):
    cube = make_rgb(chunks=chunks)
    fig, (ax,) = new_axes()
    cube.landcover.plot_rgb(ax=ax, stretch=None)
    image = render(fig)
    assert color_at(ax, image, *geo(5, 5)) == (255, 0, 0)
    assert color_at(ax, image, *geo(5, 55)) == (0, 255, 0)
    assert color_at(ax, image, *geo(35, 5)) == (0, 0, 255)
    assert color_at(ax, image, *geo(35, 55)) == (255, 255, 255)
    assert color_at(ax, image, *geo(20, 30)) == BACKGROUND  # NaN in the middle


def test_plot_rgb_band_order_by_name_and_index():
    cube = make_rgb()
    fig, axes = new_axes(2)
    xl.plot_rgb(cube, axes[0], bands=("blue", "green", "red"), stretch=None)
    xl.plot_rgb(cube, axes[1], bands=(2, 1, 0), stretch=None)
    image = render(fig)
    for ax in axes:
        assert color_at(ax, image, *geo(5, 5)) == (0, 0, 255)  # red area shown as blue
        assert color_at(ax, image, *geo(35, 5)) == (255, 0, 0)


def test_plot_rgb_percentile_stretch():
    cube = make_rgb() * 1000 + 500  # 500 .. 1500: out of 0..1, the stretch brings it back
    cube = cube.rio.write_crs("EPSG:32618")
    fig, (ax,) = new_axes()
    xl.plot_rgb(cube, ax, stretch=(0, 100))
    image = render(fig)
    assert color_at(ax, image, *geo(5, 5)) == (255, 0, 0)
    assert color_at(ax, image, *geo(35, 55)) == (255, 255, 255)


def test_plot_rgb_uint8_without_stretch_scales_by_255():
    data = np.full((3, 20, 20), 0, np.uint8)
    data[0] = 255
    data[1] = 128
    cube = xr.DataArray(data, dims=("band", "y", "x"), coords=_coords(20, 20))
    fig, (ax,) = new_axes()
    xl.plot_rgb(cube.rio.write_crs("EPSG:32618"), ax, stretch=None)
    assert color_at(ax, render(fig), *geo(10, 10)) == (255, 128, 0)


def test_plot_rgb_on_real_scene_false_colour():
    cube = xl.datasets.nc_landsat7()
    ax = cube.landcover.plot_rgb(bands=("nir", "red", "green"), max_pixels=200)
    rgba = ax.get_images()[0].get_array()
    assert max(rgba.shape[:2]) <= 200
    alpha = rgba[..., 3]
    assert 0.05 < (alpha == 0).mean() < 0.4  # the scene's nodata border is transparent
    valid = rgba[..., :3][alpha == 1]
    # 2-98 % stretch: about 2 % of valid values clip at each end
    assert 0.005 < (valid[:, 0] == 0).mean() < 0.05 and 0.005 < (valid[:, 0] == 1).mean() < 0.05


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"bands": ("nir", "red", "green")}, "'nir' is not in this cube"),
        ({"bands": (0, 1)}, "1 or 3 bands"),
        ({"bands": (0, 1, 7)}, "out of range"),
        ({"stretch": (98, 2)}, "stretch"),
        ({"stretch": "2-98"}, "stretch"),
    ],
)
def test_plot_rgb_bad_parameters(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        xl.plot_rgb(make_rgb(), **kwargs)


def test_plot_rgb_refuses_a_time_series_and_non_cubes():
    with pytest.raises(DimensionError, match=r"a map takes one image.*cube\.isel\(time=0\)"):
        xl.plot_rgb(make_rgb().expand_dims(time=2))
    with pytest.raises(DimensionError, match="a band cube needs dims"):
        xl.plot_rgb(make_classes())
    with pytest.raises(InvalidInputTypeError, match="cube must be an xarray.DataArray"):
        xl.plot_rgb(np.zeros((3, 4, 4)))


# -- compare --------------------------------------------------------------------------------------


def samples_over_stripes() -> gpd.GeoDataFrame:
    """Two polygons, in lon/lat: a 'water' one on the urban stripe, a 'forest' one on forest."""
    water = box(*geo(29.5, 4.5), *geo(19.5, 14.5))  # rows 20..29, cols 5..14 (urban stripe)
    forest = box(*geo(29.5, 24.5), *geo(19.5, 34.5))  # rows 20..29, cols 25..34 (forest)
    gdf = gpd.GeoDataFrame(
        {"label": ["Water", "forest"], "code": [3, 2]}, geometry=[water, forest], crs="EPSG:32618"
    )
    return gdf.to_crs("EPSG:4326")


def grey_cube():
    cube = make_rgb()
    return (cube * 0 + 0.5).rio.write_crs(cube.rio.crs)


@pytest.mark.parametrize("class_field", [None, "label", "code"])
def test_compare_draws_samples_in_class_colours_exactly_placed(class_field):
    classes = make_classes(chunks=10)
    fig = xl.compare(
        grey_cube(), classes, samples_over_stripes(), stretch=None, class_field=class_field
    )
    fig.set_dpi(100)
    ax_img, ax_cls = fig.axes
    image = render(fig)
    grey = (127, 127, 127)  # 0.5 * 255, truncated by matplotlib
    # left: polygons filled with their class colour, image elsewhere; edges where the pixels are
    assert color_at(ax_img, image, *geo(25, 10)) == COLORS[3]
    assert color_at(ax_img, image, *geo(21, 6)) == COLORS[3]  # one pixel inside the corner
    assert color_at(ax_img, image, *geo(18, 10)) == grey  # two pixels north of it
    assert color_at(ax_img, image, *geo(25, 3)) == grey
    assert color_at(ax_img, image, *geo(25, 30)) == COLORS[2]
    # right: the class map shows through the outlines
    assert color_at(ax_cls, image, *geo(25, 10)) == COLORS[1]
    assert color_at(ax_cls, image, *geo(25, 30)) == COLORS[2]
    assert [t.get_text() for t in ax_cls.get_legend().get_texts()] == NAMES
    assert ax_img.get_xlim() == ax_cls.get_xlim()


def test_compare_warns_on_sample_classes_missing_from_map():
    samples = samples_over_stripes()
    samples.loc[0, "label"] = "wetland"
    with pytest.warns(UserWarning, match="wetland"):
        xl.compare(grey_cube(), make_classes(), samples, class_field="label")


def test_compare_errors():
    samples = samples_over_stripes()
    with pytest.raises(SamplesError, match="no column"):
        xl.compare(grey_cube(), make_classes(), samples[["geometry"]].assign(other="x"))
    with pytest.raises(SamplesError, match="class_field"):
        xl.compare(grey_cube(), make_classes(), samples, class_field="nope")
    with pytest.raises(MissingCRSError):
        xl.compare(grey_cube(), make_classes(), samples.set_crs(None, allow_override=True))
    other = make_classes().rio.write_crs("EPSG:32617")
    with pytest.raises(GridMismatchError, match="different CRS"):
        xl.compare(grey_cube(), other)


def test_compare_on_shipped_scene_reprojects_polygons_by_crs_object():
    cube = xl.datasets.nc_landsat7()
    polygons = xl.datasets.nc_training_polygons()  # EPSG:3358; the cube: a custom LCC CRS
    classes = (cube.sel(band="nir") > cube.sel(band="red")).astype("uint8") + 1
    classes.attrs = {
        "flag_values": [1, 2],
        "class_names": ["developed", "forest"],
        "colormap": {1: (222, 0, 0), 2: (56, 133, 56)},
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # other classes: grey outlines
        fig = xl.compare(cube, classes, polygons, max_pixels=150)
    ax_img = fig.axes[0]
    drawn = [c for c in ax_img.collections if len(c.get_paths())]
    assert drawn
    xmin, ymin, xmax, ymax = polygons.to_crs(cube.rio.crs).total_bounds
    paths = np.concatenate([p.vertices for c in drawn for p in c.get_paths()])
    assert paths[:, 0].min() == pytest.approx(xmin, abs=1) or paths[:, 0].min() >= xmin - 1
    assert paths[:, 0].max() <= xmax + 1 and paths[:, 1].min() >= ymin - 1
    assert paths[:, 1].max() <= ymax + 1


# -- segments ---------------------------------------------------------------------------------


def quadrant_segments(ny=40, nx=60):
    ids = 1 + (np.arange(ny)[:, None] >= ny // 2) * 2 + (np.arange(nx)[None, :] >= nx // 2)
    ids = ids.astype(np.int64)
    ids[-4:, -4:] = 0  # nodata corner
    return xr.DataArray(ids, dims=("y", "x"), coords=_coords(ny, nx), name="segment_id")


def test_plot_segments_boundaries_over_composite():
    cube = grey_cube()
    seg = quadrant_segments().chunk(16)
    fig, (ax,) = new_axes()
    assert seg.landcover.plot_segments(cube, ax=ax, stretch=None, mode="thick") is ax
    image = render(fig)
    yellow, grey = (255, 255, 0), (127, 127, 127)
    assert color_at(ax, image, *geo(19.6, 10)) == yellow  # on the horizontal boundary
    assert color_at(ax, image, *geo(10, 29.6)) == yellow  # on the vertical boundary
    assert color_at(ax, image, *geo(10, 10)) == grey
    assert color_at(ax, image, *geo(39, 59)) == BACKGROUND  # segment 0 is transparent


def test_plot_segments_mean_fill():
    cube = make_rgb()  # red / green / blue / white quadrants, a NaN square in the middle
    seg = xr.ones_like(quadrant_segments())
    seg[:, 30:] = 2  # west half: red and blue -> (0.5, 0, 0.5); east: green and white
    fig, (ax,) = new_axes()
    xl.plot_segments(cube, seg, ax, stretch=None, fill="mean", mode="inner")
    image = render(fig)
    # NaN pixels are left out of the means (and stay transparent)
    assert color_at(ax, image, *geo(10, 5)) == (127, 0, 127)
    assert color_at(ax, image, *geo(10, 50)) == (127, 255, 127)
    assert color_at(ax, image, *geo(20, 28)) == BACKGROUND


def test_plot_segments_needs_same_grid():
    with pytest.raises(GridMismatchError, match="pixel grid"):
        xl.plot_segments(make_rgb(), quadrant_segments(ny=30))
    with pytest.raises(GridMismatchError, match="CRS .* differ"):
        xl.plot_segments(make_rgb(), quadrant_segments().rio.write_crs("EPSG:32617"))
    with pytest.raises(InvalidParameterError, match="fill"):
        xl.plot_segments(make_rgb(), quadrant_segments(), fill="median")


def test_plot_rgb_warns_once_of_undeclared_fill():
    """The Landsat 8 scene declares no nodata; 16 % of it is 0 in every band: one warning with
    the fix, none once the fill is declared."""
    from conftest import L8_78

    scene = L8_78 / "LC08_L1TP_224078_20200518_20200518_01_RT.TIF"
    with pytest.warns(UserWarning, match=r"cube declares no nodata, but 1\d% .*"
                                         r"cube\.rio\.write_nodata\(0\)") as record:
        xl.plot_rgb(xl.open_image(scene), bands=(0, 1, 2), max_pixels=300)
    assert len([w for w in record if "declares no nodata" in str(w.message)]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        xl.plot_rgb(xl.open_image(scene, nodata=0), bands=(0, 1, 2), max_pixels=300)
    plt.close("all")
