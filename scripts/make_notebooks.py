"""Write the tutorial notebooks in ``notebooks/`` (without outputs) from the cells below.

The notebooks are the source the docs and ``make test`` (nbmake) run; edit the cells here and
re-run ``.venv/bin/python scripts/make_notebooks.py``.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

OUT = Path(__file__).resolve().parents[1] / "notebooks"

CLASSIFICATION = [
    "# Land-cover classification of a Landsat 7 scene\n\n"
    "The ArcGIS *Train Classifier* → *Classify* walk-through, the xarray way, on the Raleigh NC "
    "sample shipped with the package: training polygons on a map, an SVM, the classifier "
    "definition, the classified map beside the image, and an accuracy check.",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\n\nimport xr_landcover\n"
    "from xr_landcover import datasets\n\n"
    "cube = datasets.nc_landsat7()            # lazy (band, y, x), NaN = nodata\n"
    "polygons = datasets.nc_training_polygons()\nprint(cube.landcover.summary())\npolygons.head()",
    "## The training samples on the image\n\n"
    "The polygons are in EPSG:3358, the raster in its own Lambert Conformal Conic CRS: "
    "everything is reprojected to the raster's CRS object.",
    "ax = cube.landcover.plot_rgb(bands=['nir', 'red', 'green'], title='false colour (NIR, red, green)')\n"
    "polygons.to_crs(cube.rio.crs).boundary.plot(ax=ax, color='yellow', linewidth=1);",
    "## Train an SVM (ArcGIS's default, at most 500 pixels per class)",
    "model = cube.landcover.train(polygons, class_field='id', name_field='label',\n"
    "                             method='svm', max_samples_per_class=500, random_state=0)\n"
    "model",
    "The classifier definition, as ArcGIS writes it (the `agriculture` polygon lies on nodata, "
    "so that class was dropped with a warning):",
    "model.classifier_definition",
    "## Classify, lazily",
    "classes = cube.landcover.classify(model)\nclasses",
    "fig = xr_landcover.compare(cube, classes, samples=polygons, bands=('red', 'green', 'blue'))",
    "xr_landcover.class_areas(classes)",
    "## Accuracy on held-out polygons\n\n"
    "Train on half of each class's polygons, check on the others (a workflow check; for map "
    "accuracy and areas use `accuracy_points` and field reference data).",
    "from xr_landcover.demo import split_polygons\n\n"
    "train_polys, test_polys = split_polygons(polygons, 'id')\n"
    "half = cube.landcover.train(train_polys, class_field='id', name_field='label', random_state=0)\n"
    "report = xr_landcover.accuracy(cube.landcover.classify(half), test_polys, class_field='id')\n"
    "report",
    "report.confusion_matrix",
    "## Save the map and the model",
    "import tempfile, pathlib\n\nout = pathlib.Path(tempfile.mkdtemp())\n"
    "classes.landcover.to_geotiff(out / 'landcover.tif')\nmodel.save(out / 'model.skops')\n"
    "reloaded = xr_landcover.LandcoverModel.load(out / 'model.skops')\n"
    "sorted(p.name for p in out.iterdir())",
]

SEGMENTATION = [
    "# Mean-shift segmentation\n\n"
    "ArcGIS's *Segment Mean Shift* on the 8-bit Landsat 8 crop shipped with the package, and "
    "what its three parameters do.",
    "%matplotlib inline\nimport matplotlib.pyplot as plt\n\nimport xr_landcover\n"
    "from xr_landcover import datasets\n\n"
    "rgb = datasets.l8_rgb_uint8()\nprint(rgb.landcover.summary())",
    "## ArcGIS's defaults: spectral detail 15.5, spatial detail 15, minimum segment size 20",
    "segments = rgb.landcover.segment(spectral_detail=15.5, spatial_detail=15, min_segment_size=20)\n"
    "segments",
    "segments = segments.compute()\nprint(int(segments.max() > 0), 'segment ids are unique over the image;',\n"
    "      len(set(segments.values.ravel().tolist()) - {0}), 'segments')",
    "fig, axes = plt.subplots(1, 2, figsize=(13, 6))\n"
    "rgb.landcover.plot_rgb(ax=axes[0], title='image')\n"
    "xr_landcover.segment_mean(rgb, segments).round().astype('uint8').landcover.plot_rgb(\n"
    "    ax=axes[1], stretch=None, title='segment mean colour (what ArcGIS shows)');",
    "## Parameter effects\n\n"
    "Higher spectral detail separates similar colours (more segments); higher spatial detail "
    "separates nearby features; a larger minimum size merges small segments into their most "
    "similar neighbour. On a 192 x 192 px crop:",
    "crop = rgb.isel(y=slice(0, 192), x=slice(0, 192))\n"
    "settings = [(15.5, 15, 20), (8, 15, 20), (19, 15, 20), (15.5, 15, 100)]\n"
    "fig, axes = plt.subplots(1, len(settings), figsize=(16, 4.5))\n"
    "for ax, (spectral, spatial, size) in zip(axes, settings):\n"
    "    seg = crop.landcover.segment(spectral_detail=spectral, spatial_detail=spatial,\n"
    "                                 min_segment_size=size).compute()\n"
    "    n = len(set(seg.values.ravel().tolist()) - {0})\n"
    "    seg.landcover.plot_segments(crop, ax=ax,\n"
    "                                title=f'spectral {spectral}, spatial {spatial}, min {size}: {n}')",
    "## Vector segments",
    "polygons = xr_landcover.segments_to_polygons(segments)\npolygons.head()",
]

STAC = [
    "# From a STAC catalog to a land-cover map\n\n"
    "Build a local static STAC catalog (no network), load it as a cube with odc-stac, "
    "train and classify, and look at the result on an interactive map.",
    "import pathlib, tempfile\n\nimport pystac\n\nimport xr_landcover\nfrom xr_landcover import datasets\n\n"
    "root = pathlib.Path(tempfile.mkdtemp())\n"
    "item = xr_landcover.stac_item_from_rasters(\n"
    "    'LE07_raleigh_2000', {'etm': datasets.nc_landsat7_path()}, '2000-05-24',\n"
    "    band_names={'etm': ['blue', 'green', 'red', 'nir', 'swir1', 'swir2']})\n"
    "catalog = pystac.Catalog(id='demo', description='the shipped Landsat 7 scene')\n"
    "catalog.add_item(item)\ncatalog.normalize_hrefs(str(root))\n"
    "catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)\n"
    "sorted(str(p.relative_to(root)) for p in root.rglob('*.json'))",
    "## Load the catalog as a cube",
    "cube = xr_landcover.load_stac(root / 'catalog.json', bands=['blue', 'green', 'red', 'nir', 'swir1', 'swir2'])\n"
    "print(cube.landcover.summary())",
    "## Train and classify",
    "model = cube.landcover.train(datasets.nc_training_polygons(), class_field='id',\n"
    "                             name_field='label', method='random_trees', random_state=0)\n"
    "classes = cube.landcover.classify(model)\nclasses.landcover.plot(title='random trees');",
    "## Interactive map\n\nNo basemap by default (this runs offline); pass `tiles='OpenStreetMap'` online.",
    "classes.landcover.explore(samples=datasets.nc_training_polygons())",
]


def notebook(cells: list[str]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.cells = [new_markdown_cell(c) if _is_markdown(c) else new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def _is_markdown(cell: str) -> bool:
    """Headings and the one prose cell without a heading are markdown; the rest is code."""
    return cell.startswith(("#", "The classifier definition"))


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    for name, cells in [
        ("01_classification.ipynb", CLASSIFICATION),
        ("02_segmentation.ipynb", SEGMENTATION),
        ("03_stac_to_map.ipynb", STAC),
    ]:
        nbformat.write(notebook(cells), OUT / name)
        print(OUT / name)
