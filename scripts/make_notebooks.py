"""Write the tutorial notebooks in ``notebooks/`` from the cells below, and run them.

The notebooks are the source the docs site (mkdocs-jupyter) and ``make test`` (nbmake) use;
edit the cells here and re-run::

    .venv/bin/python scripts/make_notebooks.py            # write and execute, store outputs
    .venv/bin/python scripts/make_notebooks.py --no-execute 04_after_classification
    .venv/bin/python scripts/make_notebooks.py --markdown-only   # prose edits, outputs kept

The notebooks are stored *with* their outputs (maps visible on GitHub and in the docs), executed
with nbclient in ``notebooks/`` with this checkout first on ``PYTHONPATH``. Every step is seeded,
so the stored outputs are what a fresh run gives; figures are PNG at 72 dpi to keep the files
small.
"""

import argparse
import os
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "notebooks"


class Md(str):
    """A markdown cell (every other cell is code)."""


SETUP = (
    "%matplotlib inline\n"
    "import warnings\n\n"
    "import matplotlib.pyplot as plt\n"
    "import pandas as pd\n\n"
    "import xr_landcover\n"
    "from xr_landcover import datasets\n\n"
    "plt.rcParams['figure.dpi'] = 60     # small PNGs: the notebook is stored with its outputs\n"
)

CLASSIFICATION = [
    Md("""# Land-cover classification of a Landsat 7 scene

The ArcGIS *Train Classifier* → *Classify* walk-through, the xarray way, on the Raleigh NC
sample shipped with the package — and *why* each step is done as it is: how the training
polygons are chosen, how to read the confusion matrix, and what the area table does and does
not tell you."""),
    SETUP + """
cube = datasets.nc_landsat7()            # lazy (band, y, x), NaN = nodata
polygons = datasets.nc_training_polygons()
print(cube.landcover.summary())
polygons.head()""",
    Md("""## Choosing training polygons

The classifier learns only what the polygons show it: they decide the map more than the
choice of method does. Good training polygons are

- **inside homogeneous patches**, a pixel or two away from their edges: a 28.5 m pixel on a
  field edge is a mix of two classes and teaches the classifier a blend;
- **several per class, spread over the scene**, rather than one big one: the pixels of one
  polygon are near copies of each other, so seven small polygons teach more than one large one
  of the same area — and only then can some be held out to check the map (below);
- **covering each class's variety**: deep and shallow water, dense and sparse development;
- **on valid data**: a polygon over nodata adds nothing.

The shipped set has 34 polygons for 7 classes (areas in hectares, the polygons' CRS is in
metres):"""),
    """polygons.groupby('label').agg(polygons=('id', 'size'),
                              hectares=('geometry', lambda g: round(g.area.sum() / 1e4, 1)))""",
    Md("""The polygons are in EPSG:3358, the raster in its own Lambert Conformal Conic CRS:
everything is reprojected to the raster's CRS object. In the false-colour composite (near
infrared shown as red) vegetation is red, water dark, bare ground and buildings cyan-grey. The
classes that look alike here — herbaceous, shrubland and forest are all shades of red — are the
ones the classifier will confuse: they need the most care and the most polygons."""),
    """ax = cube.landcover.plot_rgb(bands=['nir', 'red', 'green'], title='false colour (NIR, red, green)',
                             figsize=(7, 6))
polygons.to_crs(cube.rio.crs).boundary.plot(ax=ax, color='yellow', linewidth=1);""",
    Md("## Train an SVM (ArcGIS's default, at most 500 pixels per class)"),
    """model = cube.landcover.train(polygons, class_field='id', name_field='label',
                             method='svm', max_samples_per_class=500, random_state=0)
model""",
    Md("""The warning says what happened to `agriculture`: its only polygon lies on nodata,
so the class was dropped. The fix is a polygon where the image has data. The classifier
definition, as ArcGIS writes it:"""),
    "model.classifier_definition",
    Md("""## Which polygons does the model disagree with?

`inspect_samples` (ArcGIS's *Inspect Training Samples*) classifies every training pixel with the
model and ranks the polygons by the share of their pixels given their own class, worst first.
A polygon well below the others deserves a second look: mislabelled, drawn over a mix of
classes, or a class that needs more examples."""),
    """inspection = xr_landcover.inspect_samples(cube, polygons, model, class_field='id')
inspection.samples[['label', 'pixels', 'accuracy', 'predicted_name']].head(8)""",
    Md("""Two polygons stand out: shrubland polygon 9 (20 pixels, none given shrubland) and
water polygon 23 (55 pixels, most given forest). Before anything else, look at them on the
image: a polygon half over trees teaches the classifier that its class looks like forest. We
keep them here, and meet polygon 23 again in the held-out test below."""),
    Md("## Classify, lazily"),
    "classes = cube.landcover.classify(model)\nclasses",
    "fig = xr_landcover.compare(cube, classes, samples=polygons, bands=('red', 'green', 'blue'),\n"
    "                           figsize=(11, 4.8))",
    Md("""## The area table

`class_areas` counts the map's pixels of each class (one pass over the map, block by block)."""),
    "xr_landcover.class_areas(classes)",
    Md("""These are **mapped** areas. Every misclassified pixel moves area from one class to
another, so they are biased by the map's errors, and they carry no uncertainty. To report areas,
label a probability sample of points (`accuracy_points`) and use the report's
`area_estimates()`, which corrects the mapped areas with the confusion matrix and gives
confidence intervals (notebook `05_validation`)."""),
    Md("""## Accuracy on held-out polygons

A map is judged on samples the classifier never saw. Pixels of one polygon are near copies, so
holding out random *pixels* would put neighbours on both sides and overstate the accuracy:
hold out whole polygons. `cross_validate` draws such folds, stratified so that each class is on
both sides where it has polygons enough; its `assignment` gives the fold of each polygon, and
one fold is a ready hold-out set. `training=` turns on the leakage guard, which would warn if a
held-out pixel lay inside or next to a training polygon."""),
    """with warnings.catch_warnings():
    warnings.simplefilter('ignore')          # agriculture: its only polygon lies on nodata
    cv = xr_landcover.cross_validate(cube, polygons, 'id', 'label', method='svm',
                                     folds=3, random_state=0)
    held_out = (cv.assignment == 0).to_numpy(dtype=bool, na_value=False)
    test_polys, train_polys = polygons[held_out], polygons[~held_out]
    half = cube.landcover.train(train_polys, class_field='id', name_field='label',
                                method='svm', random_state=0)
print(len(train_polys), 'polygons for training,', len(test_polys), 'held out')
report = xr_landcover.accuracy(cube.landcover.classify(half), test_polys, class_field='id',
                               training=train_polys)
report.confusion_matrix""",
    Md("""## Reading the confusion matrix

Rows are the **map** classes, columns the **reference** (the held-out polygons' classes), cells
count pixels. The diagonal is agreement. Reading along a *column*: where the reference pixels
of a class went on the map — off-diagonal cells are **omission** errors, and the diagonal over
the column total is the **producer's accuracy** (the mapmaker's view: how much of the real
forest is mapped as forest). Reading along a *row*: what a map class really is — off-diagonal
cells are **commission** errors, and the diagonal over the row total is the **user's accuracy**
(the map user's view: when the map says forest, how often it is forest).

Here:

- the **water column** holds the 55 pixels of the one held-out water polygon, and 52 of them
  are mapped as forest: water's producer's accuracy is 0. That polygon is number 23, the one
  `inspect_samples` flagged above; a classifier that never saw it calls it forest. Either the
  polygon is not open water at 28.5 m (a pond under tree canopy, a wetland) or the water class
  lacks examples of such water: fix the polygon or add such examples — the score alone does
  not say which;
- the **shrubland column**: of its 63 reference pixels, 19 are mapped developed and 10
  herbaceous (producer's accuracy 0.46) — the confusion among vegetation classes the
  false-colour image announced;
- the **forest row**: of 284 pixels mapped forest, 52 are that water and 7 herbaceous (user's
  accuracy 0.77).

The per-class figures:"""),
    """pd.DataFrame({'producers': report.producers_accuracy, 'users': report.users_accuracy,
              'f1': report.f1}).round(2)""",
    "print(f'overall accuracy {report.overall_accuracy:.3f}, kappa {report.kappa:.3f}, '\n"
    "      f'{report.n_samples} pixels of {len(test_polys)} polygons')",
    Md("""Held-out polygons are few (a handful per class), so these figures move by several
points with another split: `cv.summary()` gives all three folds, and `cv.overall` pools them.
They judge the classifier on the analyst's polygons, not the map: the polygons are not a
probability sample of the scene, so they say nothing of its areas. Notebook `05_validation`
goes through a map's validation."""),
    "cv.summary().round(3)",
    Md("## Save the map and the model"),
    """import pathlib
import tempfile

out = pathlib.Path(tempfile.mkdtemp())
classes.landcover.to_geotiff(out / 'landcover.tif')
model.save(out / 'model.skops')
reloaded = xr_landcover.LandcoverModel.load(out / 'model.skops')
sorted(p.name for p in out.iterdir())""",
]

SEGMENTATION = [
    Md("""# Mean-shift segmentation

ArcGIS's *Segment Mean Shift* on the 8-bit Landsat 8 crop shipped with the package, what its
three parameters do, and how to pick them for a task."""),
    SETUP + """
rgb = datasets.l8_rgb_uint8()
print(rgb.landcover.summary())""",
    Md("## ArcGIS's defaults: spectral detail 15.5, spatial detail 15, minimum segment size 20"),
    """segments = rgb.landcover.segment(spectral_detail=15.5, spatial_detail=15, min_segment_size=20)
segments""",
    """segments = segments.compute()
print(len(set(segments.values.ravel().tolist()) - {0}), 'segments, ids unique over the image')""",
    """fig, axes = plt.subplots(1, 2, figsize=(11, 5.2))
rgb.landcover.plot_rgb(ax=axes[0], title='image')
xr_landcover.segment_mean(rgb, segments).round().astype('uint8').landcover.plot_rgb(
    ax=axes[1], stretch=None, title='segment mean colour (what ArcGIS shows)');""",
    Md("""## Parameter effects

Higher spectral detail separates similar colours (more segments); higher spatial detail
separates nearby features; a larger minimum size merges small segments into their most
similar neighbour. On a 192 x 192 px crop:"""),
    """crop = rgb.isel(y=slice(0, 192), x=slice(0, 192))
settings = [(15.5, 15, 20), (8, 15, 20), (19, 15, 20), (15.5, 5, 20), (15.5, 15, 100)]
rows = []
fig, axes = plt.subplots(1, len(settings), figsize=(17, 4))
for ax, (spectral, spatial, size) in zip(axes, settings):
    seg = crop.landcover.segment(spectral_detail=spectral, spatial_detail=spatial,
                                 min_segment_size=size).compute()
    sizes = pd.Series(seg.values.ravel()).value_counts()
    rows.append({'spectral_detail': spectral, 'spatial_detail': spatial,
                 'min_segment_size': size, 'segments': len(sizes),
                 'median_pixels': int(sizes.median()), 'largest_pixels': int(sizes.max())})
    seg.landcover.plot_segments(crop, ax=ax, title=f'{spectral} / {spatial} / {size}: {len(sizes)}')
pd.DataFrame(rows)""",
    Md("""On this crop, halving the spectral detail (15.5 → 8) leaves fewer than half the
segments (341 → 133) and doubles their median size; 19 gives 536. Spatial detail 5 instead of
15 changes little here (317): the crop has few narrow features. A minimum of 100 pixels leaves
114 segments with a median of 216 pixels."""),
    Md("""## Picking the parameters

Segments are the units an object-based classifier labels, so they should be *smaller* than the
objects you map and *larger* than the noise:

- **minimum segment size** first, from the map's minimum mapping unit: at 30 m a pixel is
  0.09 ha, so a 0.5 ha unit is about 6 pixels and ArcGIS's 20 pixels is 1.8 ha. Much
  larger minimums swallow small fields and ponds.
- **spectral detail** from the classes: if two classes you need apart look alike (herbaceous
  and shrubland), raise it until they fall in different segments — at the price of more,
  smaller segments in textured areas (forest canopy, towns). Lower it when one class breaks
  into many segments for no reason.
- **spatial detail** from the objects' shapes: raise it for narrow, close features (roads,
  rivers, field rows), lower it for compact, smooth regions.

Undersegmentation (one segment over two classes) cannot be fixed by the classifier: every
pixel of the segment gets one class. Oversegmentation only costs time and a little accuracy, so
when in doubt err on the side of more segments. Try settings on a small crop, as above, then
run the whole image (chunked or not, the segments are the same)."""),
    Md("## Vector segments"),
    "segment_polygons = xr_landcover.segments_to_polygons(segments)\nsegment_polygons.head()",
]

STAC = [
    Md("# From a STAC catalog to a land-cover map\n\n"
       "Build a local static STAC catalog (no network), load it as a cube with odc-stac, "
       "train and classify, and look at the result on an interactive map."),
    "%matplotlib inline\nimport pathlib\nimport tempfile\n\nimport matplotlib.pyplot as plt\nimport pystac\n\n"
    "import xr_landcover\nfrom xr_landcover import datasets\n\n"
    "plt.rcParams['figure.dpi'] = 60     # small PNGs: the notebook is stored with its outputs\n"
    "root = pathlib.Path(tempfile.mkdtemp())\n"
    "item = xr_landcover.stac_item_from_rasters(\n"
    "    'LE07_raleigh_2000', {'etm': datasets.nc_landsat7_path()}, '2000-05-24',\n"
    "    band_names={'etm': ['blue', 'green', 'red', 'nir', 'swir1', 'swir2']})\n"
    "catalog = pystac.Catalog(id='demo', description='the shipped Landsat 7 scene')\n"
    "catalog.add_item(item)\ncatalog.normalize_hrefs(str(root))\n"
    "catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)\n"
    "sorted(str(p.relative_to(root)) for p in root.rglob('*.json'))",
    Md("## Load the catalog as a cube"),
    "cube = xr_landcover.load_stac(root / 'catalog.json', bands=['blue', 'green', 'red', 'nir', 'swir1', 'swir2'])\n"
    "print(cube.landcover.summary())",
    Md("## Train and classify"),
    "model = cube.landcover.train(datasets.nc_training_polygons(), class_field='id',\n"
    "                             name_field='label', method='random_trees', random_state=0)\n"
    "classes = cube.landcover.classify(model)\nclasses.landcover.plot(title='random trees');",
    Md("## Interactive map\n\nNo basemap by default (this runs offline); pass `tiles='OpenStreetMap'` online."),
    "classes.landcover.explore(samples=datasets.nc_training_polygons())",
]

AFTER = [
    Md("""# Probabilities, uncertainty and clean maps

A class map keeps only the winning class. The probability of every class (sits' *probability
cube*) tells where the map is unsure, where more training data would help, and lets the
neighbourhood clean the map up. This notebook goes from the speckled map to a clean one on the
shipped NC scene, and measures — on polygons the classifier never saw — what each clean-up does
to the accuracy."""),
    SETUP + """
cube = datasets.nc_landsat7()
polygons = datasets.nc_training_polygons()

# hold out a third of the polygons (whole polygons, stratified by class): fold 0 of 3
with warnings.catch_warnings():
    warnings.simplefilter('ignore')          # agriculture: its only polygon lies on nodata
    cv = xr_landcover.cross_validate(cube, polygons, 'id', 'label', method='random_trees',
                                     folds=3, random_state=0)
    held_out = (cv.assignment == 0).to_numpy(dtype=bool, na_value=False)
    test_polys, train_polys = polygons[held_out], polygons[~held_out]
    model = cube.landcover.train(train_polys, 'id', 'label', method='random_trees',
                                 random_state=0)
print(len(train_polys), 'polygons for training,', len(test_polys), 'held out')""",
    Md("""## Probabilities

`predict_proba` gives a float32 cube `(class, y, x)`, NaN on nodata, summing to 1 over the
classes of a valid pixel. `label` turns it into the class map `classify` would give."""),
    """proba = cube.landcover.predict_proba(model).compute()
classes = xr_landcover.label(proba)
proba""",
    """names = dict(zip(proba['class'].values.tolist(), proba.attrs['class_names']))
fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
for ax, value in zip(axes, [4, 5, 6]):
    proba.sel({'class': value}).plot.imshow(ax=ax, cmap='viridis', vmin=0, vmax=1,
                                            add_colorbar=ax is axes[-1])
    ax.set_title(f'probability of {names[value]} ({value})')
    ax.set_aspect('equal')
    ax.set_axis_off()""",
    Md("""Shrubland and forest share the vegetated areas, often with intermediate
probabilities; water is certain almost everywhere. The map will hesitate between the
vegetation classes and not about water."""),
    Md("""## Uncertainty, and where to add training data

`uncertainty` measures it per pixel in [0, 1], 0 = certain: `"entropy"` over all classes,
`"least"` = 1 − the winner's probability, `"margin"` = 1 − (winner − runner-up). Margin is the
one for choosing new samples: it is high where the map hesitates between two classes, where a
labelled pixel settles the most. On the raw probabilities of a random forest many single
pixels are exact ties (the trees' votes split evenly), so here the margin is taken on the
smoothed probabilities (see below): it then marks *regions* of doubt rather than single
pixels. `uncertainty_points` picks the most uncertain pixels, at least `min_distance` pixels
apart; `exclude=` keeps them off your accuracy points (never train on those)."""),
    """smooth_proba = proba.landcover.smooth(window_size=9, neigh_fraction=0.5, smoothness=20).compute()
unsure = smooth_proba.landcover.uncertainty('margin')
suggested = unsure.landcover.uncertainty_points(n=25, min_uncertainty=0.5, min_distance=20)

fig, axes = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={'wspace': 0.45})
classes.landcover.plot(ax=axes[0], title='random trees: the speckled map')
unsure.plot.imshow(ax=axes[1], cmap='magma', vmin=0, vmax=1, cbar_kwargs={'label': 'margin'})
suggested.plot(ax=axes[1], facecolor='none', edgecolor='cyan', markersize=80, linewidth=2)
axes[1].set_title(f'margin (smoothed), {len(suggested)} suggested samples')
axes[1].set_aspect('equal');""",
    """suggested.head()""",
    Md("""The suggested points come in the training-sample schema (`Classvalue` = −1): label
them (in QGIS or ArcGIS), add them to the training polygons, train again.

## Clean maps: smoothing, majority filter, sieve

A pixel classifier decides each pixel alone, so the map is speckled: isolated pixels of
another class inside fields and forests, mostly where the probabilities are close. Three
clean-ups use the neighbourhood:

- **Bayesian smoothing** (`smooth`, sits' algorithm) works on the *probabilities*: each
  pixel's logits are pulled towards those of its most similar neighbours, more so where the
  neighbourhood agrees and the pixel is unsure. A confident pixel keeps its class, so sharp,
  confident boundaries survive.
- **Majority filter** (`majority_filter`, OTB's *ClassificationMapRegularization*) works on
  the *classes*: each pixel takes the most frequent class in a disc of `radius` pixels.
- **Sieve** (`sieve`, GDAL's): regions of fewer than `min_pixels` connected pixels take the
  class of their largest neighbour — a minimum mapping unit.

On a 150 x 150 pixel corner of the scene:"""),
    """smoothed = smooth_proba.landcover.label()
majority = classes.landcover.majority_filter(radius=2)
sieved = classes.landcover.sieve(min_pixels=9)
maps = {'raw': classes, 'smoothed (window 9, smoothness 20)': smoothed,
        'majority filter, radius 2': majority, 'sieve, 9 pixels': sieved}

window = {'y': slice(150, 300), 'x': slice(150, 300)}
fig, axes = plt.subplots(1, 4, figsize=(21, 5.5), gridspec_kw={'wspace': 0.3})
for ax, (title, m) in zip(axes, maps.items()):
    m.isel(window).landcover.plot(ax=ax, title=title, legend=ax is axes[-1])""",
    Md("""## What the clean-ups do to the accuracy

On the held-out polygons (pixels the classifier never saw), each map against the reference:"""),
    """valid = classes != classes.attrs['_FillValue']
rows = []
for title, m in maps.items():
    report = xr_landcover.accuracy(m, test_polys, class_field='id')
    changed = float(((m != classes) & valid).sum() / valid.sum())
    rows.append({'map': title, 'overall_accuracy': report.overall_accuracy,
                 'kappa': report.kappa, 'pixels_changed': changed, 'test_pixels': report.n_samples})
pd.DataFrame(rows).set_index('map').round(3)""",
    Md("""Smoothing and the majority filter change a quarter of the valid pixels, the sieve a
sixth; the speckle they remove was mostly wrong, so the held-out accuracy goes up by 4 to 6
points. Two cautions when reading these figures:

- the held-out set is 9 polygons; the pixels of a polygon are not independent, so differences
  of a point or two are within the noise. `docs/postprocess.md` repeats the measure over the
  three folds;
- polygons sit *inside* homogeneous patches (that is how they are drawn), where neighbourhood
  filters are at their best. Near boundaries and on small features (roads, ponds, narrow
  streams) smoothing can *remove* correct detail. Pick the strength for the smallest object you
  must keep: a window of 9 pixels is 256 m here, a sieve of 9 pixels is 0.7 ha.

**Picking the smoothing parameters.** `window_size` sets the neighbourhood (odd, in pixels):
larger smooths over larger speckle, and costs more time. `smoothness` is the prior's weight:
larger pulls every pixel more towards its neighbours (sits suggests 10 to 20; a number per
class protects a class that comes in small patches). `neigh_fraction` is the share of the
window used for the prior — the neighbours most likely for the class — which keeps a boundary
from blurring two classes together."""),
]

VALIDATION = [
    Md("""# Validating a map

How good is the map, and how much of each class is there really? This notebook goes through
the two questions on the shipped NC scene: first the *classifier*, judged on training polygons
held out from it (cross-validation, and the leak that random pixels hide); then the *map*,
judged on a probability sample of points, which alone gives accuracies and areas with
confidence intervals (Olofsson et al. 2014)."""),
    SETUP + """
cube = datasets.nc_landsat7()
polygons = datasets.nc_training_polygons()""",
    Md("""## Cross-validation: hold out polygons, not pixels

`cross_validate` trains on all folds but one and predicts the one left out, for each fold in
turn. What a fold holds matters: the pixels of a polygon are near copies of each other, so
folds of random pixels test the classifier on neighbours of its training pixels — that
measures memory, not how it does on a new field. Folds of whole polygons (`groups='polygon'`),
or of whole spatial blocks (`groups='block'`, `block_size` in metres, which also keeps nearby
polygons together) do not leak:"""),
    """rows, runs = [], {}
with warnings.catch_warnings():
    warnings.simplefilter('ignore')          # agriculture: its only polygon lies on nodata
    for groups, size in ((None, None), ('polygon', None), ('block', 2000)):
        cv = runs[groups] = xr_landcover.cross_validate(cube, polygons, 'id', 'label', method='random_trees',
                                         folds=5, groups=groups, block_size=size,
                                         random_state=0)
        rows.append({'folds of': {None: 'random pixels', 'polygon': 'whole polygons',
                                  'block': '2 km blocks'}[groups],
                     'overall_accuracy': cv.overall.overall_accuracy,
                     'kappa': cv.overall.kappa})
pd.DataFrame(rows).set_index('folds of').round(3)""",
    Md("""Random-pixel folds report about ten points more than polygon folds: that is the leak.
The polygon and block figures are what to expect on fields the analyst did not draw. Each
run's pooled report (`cv.overall`) is an `AccuracyReport`, and `cv.summary()` shows how much
the folds differ — with a handful of polygons per class, a lot:"""),
    "cv = runs['polygon']\ncv.summary().round(3)",
    Md("""## The leakage guard

A reference sample that lies inside or next to a training polygon checks the classifier on
pixels it has seen (or their near-copies). `accuracy(..., training=)` counts such samples and
warns. Take fold 0 of the polygon cross-validation as a hold-out set, train on the rest,
and check the map on its own training polygons, then on the held-out ones:"""),
    """with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    held_out = (cv.assignment == 0).to_numpy(dtype=bool, na_value=False)
    test_polys, train_polys = polygons[held_out], polygons[~held_out]
    model = cube.landcover.train(train_polys, 'id', 'label', method='random_trees',
                                 random_state=0)
classes = cube.landcover.classify(model).compute()

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    on_training = xr_landcover.accuracy(classes, train_polys, class_field='id',
                                        training=train_polys)
print('on the training polygons:', round(on_training.overall_accuracy, 3))
print(*(str(w.message) for w in caught if 'training' in str(w.message)), sep='\\n')
held = xr_landcover.accuracy(classes, test_polys, class_field='id', training=train_polys)
print('on the held-out polygons:', round(held.overall_accuracy, 3), '(no warning)')""",
    Md("""## Validating the map: a probability sample

Held-out polygons judge the classifier on the analyst's choice of places — homogeneous
patches, away from edges — not the map: they over-represent easy pixels, and their class
shares are not the map's. Accuracies and areas **of the map** need a probability sample:
points drawn at random within each map class (stratified random sampling), labelled by
someone looking at better data (field visits, aerial photos), without seeing the map.

### How many points?

`sample_size` uses eq. 13 of Olofsson et al. (2014): the number of points for the overall
accuracy to have a given standard error, from each class's mapped share `W_i` and its expected
user's accuracy `U_i` (guess low for the classes you distrust). Their advice on allocation is
built in: proportional, but every class gets at least `rare_class_minimum` points, because a
class with few points gets a useless user's accuracy."""),
    """size = xr_landcover.sample_size(
    classes, expected_user_accuracy={'developed': 0.7, 'herbaceous': 0.6, 'shrubland': 0.6,
                                     'forest': 0.8, 'water': 0.95, 'sediment': 0.7},
    target_standard_error=0.02, rare_class_minimum=30)
print(size.n, 'points; expected SE of the overall accuracy', round(size.overall_accuracy_se, 4))
size.table.round(3)""",
    "size.compare_allocations((0, 30, 50)).round(3)",
    Md("""The table shows the trade-off of Olofsson's Table 5: the minimum for rare classes
narrows their user's accuracy a lot and widens the overall accuracy's standard error a little.

### Drawing the points

`accuracy_points` draws them (seeded, at pixel centres, never on nodata), with a `GrndTruth`
column (−1) for the interpreter to fill:"""),
    """points = xr_landcover.accuracy_points(classes, allocation=size.allocation, random_state=0)
ax = classes.landcover.plot(title=f'{len(points)} stratified random accuracy points')
points.plot(ax=ax, color='black', markersize=8);""",
    "points.head()",
    Md("""### Labelling (here, a stand-in)

In a real assessment you now write the points to a file (`points.to_file('points.gpkg')`),
label `GrndTruth` in QGIS or ArcGIS from better data, and read them back. This scene comes with
no such data, so to show the computation the points are labelled from a **stand-in**: the map
of another classifier (random trees trained on *all* the polygons, majority-filtered). The
figures below therefore measure the agreement of two maps, not the accuracy of either; with
your labels the same lines give the real thing."""),
    """with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    other = cube.landcover.train(polygons, 'id', 'label', method='random_trees', random_state=1)
stand_in = cube.landcover.classify(other).landcover.majority_filter(radius=2).compute()
points['GrndTruth'] = stand_in.sel(x=points.geometry.x.to_xarray(), y=points.geometry.y.to_xarray(),
                                   method='nearest').values.astype(int)
report = xr_landcover.accuracy(classes, points)     # GrndTruth is found on its own
report.confusion_matrix""",
    Md("""### Areas with confidence intervals

`area_estimates` applies the stratified estimators of Olofsson et al. (2014): each map class
is a stratum, and the confusion matrix, weighted by the mapped shares, gives the area of each
*reference* class with its standard error."""),
    """est = report.area_estimates()
est[['map_area', 'area', 'area_ci', 'area_lower', 'area_upper',
     'users_accuracy', 'users_accuracy_ci', 'producers_accuracy', 'producers_accuracy_ci']].round(2)""",
    """print(f"overall accuracy {est.attrs['overall_accuracy']:.3f} "
      f"± {est.attrs['overall_accuracy_ci']:.3f} (95 %), areas in {est.attrs['unit']}")""",
    Md("""**Reading the area table.** `map_area` is what the map counts (the `class_areas`
figure); `area` is the estimate from the sample, `area_ci` the half-width of its 95 % interval
(`area_lower` to `area_upper`). Where the map *over*-states a class (commission: user's accuracy
low) the estimate is below the mapped area; where it *under*-states it (omission: producer's
accuracy low) above — here (against the stand-in) shrubland shrinks and forest grows. Report
the estimate with its interval, not the mapped area. Intervals are not clipped: sediment's reaches below zero,
the sign that its 30 points, of which the stand-in confirms 3, say little about its area. A wide
interval says the sample is too small for that class: `sample_size` with a smaller target, or
a larger minimum for that class, tells how many more points it needs.

Keep the accuracy points out of training (`uncertainty_points(..., exclude=points)`, notebook
`04_after_classification`): a point the classifier has trained on no longer belongs to a
probability sample, and the estimates lose their meaning."""),
]

NOTEBOOKS = {
    "01_classification": CLASSIFICATION,
    "02_segmentation": SEGMENTATION,
    "03_stac_to_map": STAC,
    "04_after_classification": AFTER,
    "05_validation": VALIDATION,
}


def notebook(cells: list[str]) -> nbformat.NotebookNode:
    """A notebook of the cells (``Md`` ones markdown, the others code), Python 3 kernel."""
    nb = new_notebook()
    nb.cells = [new_markdown_cell(str(c)) if isinstance(c, Md) else new_code_cell(c)
                for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> None:
    """Run the notebook in ``notebooks/`` with this checkout first on ``PYTHONPATH``."""
    from nbclient import NotebookClient

    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(OUT)}}).execute()
    # execution counts and timings are noise in a diff; outputs stay
    for cell in nb.cells:
        cell.get("metadata", {}).pop("execution", None)


def with_stored_outputs(nb: nbformat.NotebookNode, stored: nbformat.NotebookNode,
                        name: str) -> nbformat.NotebookNode:
    """``nb`` with the code cells (and outputs) of ``stored``: for a change of prose only."""
    code = [c for c in stored.cells if c.cell_type == "code"]
    wanted = [c for c in nb.cells if c.cell_type == "code"]
    if [c.source for c in code] != [c.source for c in wanted]:
        raise SystemExit(f"{name}: the code cells changed; run it again (without --markdown-only)")
    outputs = iter(code)
    nb.cells = [c if c.cell_type == "markdown" else next(outputs) for c in nb.cells]
    nb.metadata = stored.metadata
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"notebooks to write (default: all of "
                        f"{', '.join(NOTEBOOKS)})")
    parser.add_argument("--no-execute", action="store_true",
                        help="write the cells without running them (no outputs)")
    parser.add_argument("--markdown-only", action="store_true",
                        help="rewrite the prose of the stored notebooks, keeping their code "
                             "cells and outputs (refused when a code cell changed)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(NOTEBOOKS))
    if unknown:
        parser.error(f"unknown notebook(s) {unknown}; choose from {list(NOTEBOOKS)}")
    OUT.mkdir(exist_ok=True)
    for name in args.names or NOTEBOOKS:
        nb = notebook(NOTEBOOKS[name])
        if args.markdown_only:
            nb = with_stored_outputs(nb, nbformat.read(OUT / f"{name}.ipynb", as_version=4), name)
        elif not args.no_execute:
            execute(nb)
        nbformat.write(nb, OUT / f"{name}.ipynb")
        print(OUT / f"{name}.ipynb", f"{(OUT / f'{name}.ipynb').stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
