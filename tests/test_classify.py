"""Lazy block-wise classification: laziness, bands by name, nodata, chunking, time, confidence."""

from __future__ import annotations

import warnings

import cloudpickle
import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr
from conftest import L8_78, CountingScheduler
from helpers import quiet_train
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.svm import LinearSVC

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classmap import ClassMap, class_areas
from xr_landcover.errors import BandMismatchError, DimensionError, InvalidParameterError


@pytest.fixture(scope="module")
def cube():
    return datasets.nc_landsat7(chunks=96)


@pytest.fixture(scope="module")
def svm(cube, polygons):
    return quiet_train(cube, polygons, "id", "label", max_samples_per_class=80, random_state=0)


@pytest.fixture(scope="module")
def forest(cube, polygons):
    return quiet_train(cube, polygons, "id", "label", method="random_trees",
                       max_samples_per_class=80, random_state=0)


@pytest.fixture(scope="module")
def reference(cube, forest):
    """Labels of the whole scene, predicted in memory with the bare estimator."""
    values = cube.values
    valid = np.isfinite(values).all(axis=0)
    labels = np.zeros(valid.shape, dtype=np.uint8)
    labels[valid] = forest.estimator.predict(values[:, valid].T)
    return labels


def test_lazy_output_and_metadata(cube, forest, reference, no_compute):
    classes = cube.landcover.classify(forest)
    assert no_compute.calls == 0
    assert isinstance(classes.data, dsa.Array)
    assert classes.name == "landcover" and classes.dims == ("y", "x")
    assert classes.dtype == np.uint8 and classes.chunks == ((96, 96, 96, 96, 59),
                                                            (96, 96, 96, 96, 96, 9))
    assert classes.attrs["_FillValue"] == 0 and classes.rio.nodata == 0
    assert classes.attrs["flag_values"].tolist() == [1, 3, 4, 5, 6, 7]
    assert classes.attrs["flag_values"].dtype == np.uint8
    assert classes.attrs["flag_meanings"] == "developed herbaceous shrubland forest water sediment"
    assert classes.attrs["class_names"][4] == "water"
    assert ClassMap.from_dataarray(classes).colormap[6] == (70, 107, 159)
    assert classes.rio.crs == cube.rio.crs
    assert classes.rio.transform() == cube.rio.transform()
    np.testing.assert_array_equal(classes.x, cube.x)


def test_labels_equal_bare_predict_and_nodata_is_fill(cube, forest, reference):
    labels = cube.landcover.classify(forest).values
    np.testing.assert_array_equal(labels, reference)
    nodata = ~np.isfinite(cube.values).all(axis=0)
    assert nodata.mean() > 0.15
    assert (labels[nodata] == 0).all() and (labels[~nodata] > 0).all()


def test_an_in_memory_cube_gives_the_map_of_the_same_cube_in_dask(cube, forest, reference):
    """A numpy-backed cube (``.compute()``d, or built by hand) is classified as one block:
    the same labels as bare predict on the dask cube."""
    in_memory = cube.compute()
    assert isinstance(in_memory.data, np.ndarray)
    classes = xr_landcover.classify(in_memory, forest)
    assert isinstance(classes.data, dsa.Array)
    np.testing.assert_array_equal(classes.values, reference)


def test_the_feature_recipe_is_compared_by_value(cube, forest, reference):
    """A model's ``feature`` read from a file is a string made at run time: it classifies like
    the literal; an unknown recipe is refused, whatever its place in the alphabet."""
    import dataclasses

    made = dataclasses.replace(forest, feature="".join(["pix", "els"]))
    np.testing.assert_array_equal(xr_landcover.classify(cube, made).values, reference)
    for unknown in ("objects", "zones"):  # before and after "pixels"
        with pytest.raises(InvalidParameterError, match=f"classifies '{unknown}' features"):
            xr_landcover.classify(cube, dataclasses.replace(forest, feature=unknown))


def test_estimator_enters_the_graph_once(cube, forest):
    classes = xr_landcover.classify(cube, forest)
    graph = dict(classes.__dask_graph__())
    # the estimator classify predicts with: the forest's accelerated (packed) copy
    holders = [k for k in graph if str(k).startswith("landcover-estimator-")]
    assert len(holders) == 1
    held = getattr(graph[holders[0]], "value", graph[holders[0]])
    assert type(held).__name__ == "FittedPackedForest"
    size = len(cloudpickle.dumps(held))
    block_tasks = [k for k in graph if isinstance(k, tuple) and "classify" in k[0]]
    assert len(block_tasks) == 30
    for key in block_tasks:
        assert len(cloudpickle.dumps(graph[key])) < size / 20


def test_bands_matched_by_name(cube, forest, no_compute):
    shuffled = cube.isel(band=[5, 2, 0, 4, 1, 3])
    a = xr_landcover.classify(shuffled, forest)
    with pytest.raises(BandMismatchError, match=r"missing: \['swir2'\]"):
        xr_landcover.classify(cube.isel(band=slice(0, 5)), forest)
    extra = xr.concat([cube, cube.isel(band=[0]).assign_coords(band=["thermal"])], "band")
    with pytest.raises(BandMismatchError, match=r"not in the model: \['thermal'\]"):
        xr_landcover.classify(extra, forest)
    renamed = cube.assign_coords(band=["b1", "b2", "b3", "b4", "b5", "b7"])
    with pytest.raises(BandMismatchError):
        renamed.landcover.classify(forest)
    assert no_compute.calls == 0
    with dask.config.set(scheduler="threads"):
        np.testing.assert_array_equal(a.values, xr_landcover.classify(cube, forest).values)


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ychunk=st.integers(17, 443), xchunk=st.integers(17, 489))
def test_identical_labels_under_any_chunking(cube, svm, ychunk, xchunk):
    window = cube.isel(y=slice(100, 260), x=slice(150, 330))
    expected = _svm_reference(window, svm)
    got = xr_landcover.classify(window.chunk({"y": ychunk, "x": xchunk}), svm).values
    np.testing.assert_array_equal(got, expected)


_SVM_CACHE: dict = {}


def _svm_reference(window, svm):
    if "ref" not in _SVM_CACHE:
        _SVM_CACHE["ref"] = xr_landcover.classify(window.chunk(-1), svm).values
    return _SVM_CACHE["ref"]


def test_time_dimension_is_broadcast(cube, forest):
    window = cube.isel(y=slice(0, 150), x=slice(100, 260))
    later = (window * 1.1).rio.write_nodata(np.nan)  # a second date, a little brighter
    stack = xr.concat([window, later], dim="time").assign_coords(time=["2000", "2001"])
    stack = stack.transpose("time", "band", "y", "x").chunk({"time": 1, "y": 64, "x": 64})
    stack = stack.rio.write_crs(cube.rio.crs)
    classes = stack.landcover.classify(forest)
    assert classes.dims == ("time", "y", "x") and classes.sizes["time"] == 2
    assert list(classes.time.values) == ["2000", "2001"]
    np.testing.assert_array_equal(classes.isel(time=0).values,
                                  xr_landcover.classify(window, forest).values)
    np.testing.assert_array_equal(classes.isel(time=1).values,
                                  xr_landcover.classify(later.rio.write_crs(cube.rio.crs),
                                                        forest).values)
    assert not np.array_equal(classes.isel(time=0).values, classes.isel(time=1).values)


def test_confidence(cube, svm):
    both = cube.landcover.classify(svm, confidence=True)
    assert isinstance(both, xr.Dataset) and set(both.data_vars) == {"landcover", "confidence"}
    assert both.confidence.dtype == np.float32
    both = both.compute()
    conf = both.confidence.values
    nodata = ~np.isfinite(cube.values).all(axis=0)
    assert np.isnan(conf[nodata]).all() and np.isfinite(conf[~nodata]).all()
    assert conf[~nodata].min() > 0 and conf[~nodata].max() <= 1
    # winning-class probability: at least 1 / n_classes, and the labels are those of predict
    assert conf[~nodata].min() >= 1 / 6 - 1e-6
    np.testing.assert_array_equal(both["landcover"].values, cube.landcover.classify(svm).values)
    assert both["landcover"].attrs["flag_meanings"].startswith("developed")
    assert both.confidence.rio.crs == cube.rio.crs


def test_confidence_needs_predict_proba(cube, polygons):
    model = quiet_train(cube, polygons, "id", estimator=LinearSVC(), max_samples_per_class=30)
    with pytest.raises(InvalidParameterError, match="predict_proba"):
        cube.landcover.classify(model, confidence=True)


def test_dtype_and_fill_follow_class_values(cube, polygons):
    big = polygons.assign(code=polygons["id"] * 100)
    model = quiet_train(cube, big, "code", "label", method="knn", max_samples_per_class=20)
    classes = xr_landcover.classify(cube, model)
    assert classes.dtype == np.uint16 and classes.attrs["_FillValue"] == 0
    assert set(np.unique(classes.values)) <= {0, 100, 300, 400, 500, 600, 700}
    zero = polygons.assign(code=polygons["id"] - 1)
    model = quiet_train(cube, zero, "code", "label", method="knn", max_samples_per_class=20)
    classes = xr_landcover.classify(cube, model)
    assert classes.dtype == np.uint8 and classes.attrs["_FillValue"] == 255
    nodata = ~np.isfinite(cube.values).all(axis=0)
    assert (classes.values[nodata] == 255).all() and (classes.values[~nodata] < 7).all()


def test_class_areas(cube, forest, reference):
    areas = class_areas(cube.landcover.classify(forest))
    assert areas.index.tolist() == [1, 3, 4, 5, 6, 7]
    assert areas["pixels"].tolist() == [int((reference == v).sum()) for v in areas.index]
    np.testing.assert_allclose(areas["hectares"], areas["pixels"] * 28.5**2 / 1e4)
    assert abs(areas["percent"].sum() - 100) < 1e-9


def test_distributed_cluster_gives_the_same_labels(cube, forest, reference):
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster, Client(cluster):
        labels = cube.landcover.classify(forest).compute().values
    np.testing.assert_array_equal(labels, reference)


def test_blocks_are_predicted_in_batches_with_the_same_labels(cube, forest, reference,
                                                             monkeypatch):
    # An estimator's temporaries grow with the pixels of one predict call, so blocks are
    # predicted in batches; labels and confidence do not change with the batch size.
    from xr_landcover.classification import pixels

    sizes = []

    class Recording:  # the real forest, with the size of each call recorded
        def __init__(self, estimator):
            self.estimator, self.classes_ = estimator, estimator.classes_

        def predict(self, X):
            sizes.append(len(X))
            return self.estimator.predict(X)

        def predict_proba(self, X):
            sizes.append(len(X))
            return self.estimator.predict_proba(X)

    whole = cube.chunk({"y": -1, "x": -1})
    expected = xr_landcover.classify(whole, forest, confidence=True).compute()
    monkeypatch.setattr(pixels, "PREDICT_BATCH", 1000)
    model = xr_landcover.LandcoverModel(classes=forest.classes, bands=forest.bands,
                                        estimator=Recording(forest.estimator), method="estimator")
    got = xr_landcover.classify(whole, model, confidence=True).compute(scheduler="sync")
    assert max(sizes) == 1000 and len(sizes) > 2 * (np.isfinite(cube.values).all(0).sum() // 1000)
    np.testing.assert_array_equal(got["landcover"].values, reference)
    np.testing.assert_array_equal(got["landcover"].values, expected["landcover"].values)
    np.testing.assert_array_equal(got.confidence.values, expected.confidence.values)


def test_confidence_comes_from_one_pass_where_labels_follow_the_probabilities(cube, forest,
                                                                              reference):
    # A forest's predict is classes_[argmax(predict_proba)], so with confidence=True each batch
    # costs one predict_proba (not a predict, which runs predict_proba inside, plus another);
    # the labels are still exactly predict's. An estimator whose predict is its own (k-NN)
    # keeps the two calls.
    from sklearn.ensemble import RandomForestClassifier

    from xr_landcover.classification import labels_follow_probabilities

    calls = []

    class CountingForest(RandomForestClassifier):
        def predict_proba(self, X):
            calls.append(len(X))
            return super().predict_proba(X)

    counting = CountingForest()
    counting.__dict__.update(forest.estimator.__dict__)
    assert labels_follow_probabilities(counting)
    model = xr_landcover.LandcoverModel(classes=forest.classes, bands=forest.bands,
                                        estimator=counting, method="estimator")
    got = xr_landcover.classify(cube, model, confidence=True).compute(scheduler="sync")
    n_blocks_with_pixels = sum(1 for c in calls)
    valid = np.isfinite(cube.values).all(axis=0)
    assert sum(calls) == valid.sum()  # every valid pixel went through predict_proba once
    assert n_blocks_with_pixels <= cube.landcover.classify(forest).data.npartitions
    np.testing.assert_array_equal(got["landcover"].values, reference)
    proba = forest.estimator.predict_proba(cube.values[:, valid].T)
    np.testing.assert_array_equal(got.confidence.values[valid], proba.max(axis=1).astype("f4"))

    class OwnPredict(CountingForest):
        def predict(self, X):
            return super().predict(X)

    assert not labels_follow_probabilities(OwnPredict())
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    assert not labels_follow_probabilities(KNeighborsClassifier())
    assert labels_follow_probabilities(make_pipeline(StandardScaler(), RandomForestClassifier()))


def test_which_estimators_labels_follow_the_probabilities():
    # The one-pass confidence is taken exactly where predict() is, by its code,
    # classes_[argmax(predict_proba())]: a wrong True would change labels (a predict of its
    # own ignored), a wrong False costs a second pass. Each case below decides one branch.
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.decomposition import PCA
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import StandardScaler

    from xr_landcover._forest_kernel import PackedForest
    from xr_landcover.classification import labels_follow_probabilities as follows

    X = np.random.default_rng(0).normal(size=(60, 3))
    y = np.repeat([1, 2, 3], 20)
    single = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y)
    multi = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, np.c_[y, y])

    class OwnPredictForest(RandomForestClassifier):
        def predict(self, X):
            return super().predict(X)

    class OwnPredictCalibrated(CalibratedClassifierCV):
        def predict(self, X):
            return super().predict(X)

    class OwnPredictPipeline(Pipeline):
        def predict(self, X, **params):
            return super().predict(X, **params)

    class OwnProbaPipeline(Pipeline):  # predict_proba its own, predict still Pipeline's
        def predict_proba(self, X, **params):
            return super().predict_proba(X, **params)

    steps = [("scale", StandardScaler()), ("forest", RandomForestClassifier())]
    cases = {
        "forest, not fitted": (RandomForestClassifier(), True),
        "forest, one output": (single, True),
        "forest, two outputs": (multi, False),
        "extra trees": (ExtraTreesClassifier(), True),
        "forest with its own predict": (OwnPredictForest(), False),
        "packed forest": (PackedForest(single), True),
        "calibrated (svm)": (CalibratedClassifierCV(), True),
        "calibrated with its own predict": (OwnPredictCalibrated(), False),
        "pipeline ending in a forest": (make_pipeline(StandardScaler(), single), True),
        "pipeline ending in k-NN": (make_pipeline(StandardScaler(), KNeighborsClassifier()),
                                    False),
        "three steps ending in a forest": (make_pipeline(StandardScaler(), PCA(2), single), True),
        "three steps ending in k-NN": (make_pipeline(StandardScaler(), PCA(2),
                                                     KNeighborsClassifier()), False),
        "pipeline with its own predict": (OwnPredictPipeline(steps), False),
        "pipeline with its own predict_proba": (OwnProbaPipeline(steps), False),
        "k-NN": (KNeighborsClassifier(), False),
    }
    assert {name: follows(e) for name, (e, _) in cases.items()} == {
        name: expected for name, (_, expected) in cases.items()}


# -- numeric nodata, undeclared fill, another scale (issues 14 and 19) --------------------------

L8_SCENE = L8_78 / "LC08_L1TP_224078_20200518_20200518_01_RT.TIF"
L8_POLYGONS = L8_78 / "LC08_L1TP_224078_20200518_20200518_01_RT_polygons.gpkg"


def l8_edge(**open_kwargs):
    """A 256 x 256 crop of the Landsat 8 scene on its footprint edge (37 % undeclared 0 fill)."""
    cube = xr_landcover.open_image(L8_SCENE, chunks=128, **open_kwargs)
    return cube.isel(y=slice(100, 356), x=slice(420, 676))


@pytest.fixture(scope="module")
def l8_models():
    """Random forests trained on the Landsat 8 scene with its fill declared (--nodata 0) and
    without (the polygons lie inside the footprint: the same pixels either way)."""
    kwargs = dict(class_field="name", method="random_trees", random_state=0, n_estimators=10)
    declared = quiet_train(xr_landcover.open_image(L8_SCENE, nodata=0), L8_POLYGONS, **kwargs)
    bare = quiet_train(xr_landcover.open_image(L8_SCENE), L8_POLYGONS, **kwargs)
    return declared, bare


def test_numeric_nodata_is_not_classified(cube, forest):
    """The NC scene opened with masked=False (int16, nodata -32768): the 81,535 pixels with
    nodata in any band get the fill, and the map equals the NaN-masked one pixel for pixel."""
    raw = xr_landcover.open_image(datasets.nc_landsat7_path(), chunks=96, masked=False)
    assert raw.dtype == np.int16 and raw.rio.nodata == -32768
    numeric = xr_landcover.classify(raw, forest).values
    masked = xr_landcover.classify(cube, forest).values
    assert int((numeric != masked).sum()) == 0
    assert int((numeric == 0).sum()) == 81535


def test_an_estimator_gets_a_float32_cubes_pixels_in_float32_and_an_integer_cubes_in_float64(
        cube, polygons):
    """Any estimator's input: float32 stays float32 (what scikit-learn's trees convert to
    anyway: no float64 copy of every block), integers become float64."""
    from sklearn.neighbors import KNeighborsClassifier

    seen = []

    class Recording(KNeighborsClassifier):
        def predict(self, X):
            seen.append(X.dtype)
            return super().predict(X)

    model = quiet_train(cube, polygons, "id", estimator=Recording(), max_samples_per_class=20)
    raw = xr_landcover.open_image(datasets.nc_landsat7_path(), chunks=96, masked=False)
    assert cube.dtype == np.float32 and raw.dtype == np.int16
    for image, dtype in ((cube, np.float32), (raw, np.float64)):
        seen.clear()
        xr_landcover.classify(image, model).compute(scheduler="sync")
        assert seen and set(seen) == {np.dtype(dtype)}


def test_model_applies_its_training_nodata_to_a_cube_that_declares_none(l8_models, no_compute):
    declared, bare = l8_models
    assert declared.nodata == 0 and bare.nodata is None
    with pytest.warns(UserWarning, match="declares no nodata; the model was trained on a cube "
                                         "whose nodata was 0") as record:
        classes = xr_landcover.classify(l8_edge(), declared)
    assert not [w for w in record if "far outside" in str(w.message)]
    assert no_compute.calls == 0 and classes.rio.nodata == 0
    with dask.config.set(scheduler="threads"):
        applied = classes.values
        expected = xr_landcover.classify(l8_edge(nodata=0), declared).values
        fill = (l8_edge().values == 0).all(axis=0)
    assert fill.mean() > 0.3
    np.testing.assert_array_equal(applied, expected)
    assert (applied[fill] == 0).all() and (applied[~fill] > 0).all()


def test_undeclared_fill_warns_once_from_a_cheap_sample(l8_models):
    """A model without nodata on a cube without nodata: one warning naming the share of
    zeros and the fix; the sample reads a few windows (counted), not the cube."""
    _, bare = l8_models
    edge = l8_edge()
    read = []

    def count(block):
        if block.size:
            read.append(block.shape)
        return block

    edge = edge.copy(data=edge.data.rechunk(32).map_blocks(count, dtype=edge.dtype))
    with dask.config.set(scheduler=CountingScheduler(forbid=True)):
        with pytest.warns(UserWarning) as record:
            xr_landcover.classify(edge, bare)
    fill = [str(w.message) for w in record if "declares no nodata" in str(w.message)]
    assert len(fill) == 1, [str(w.message) for w in record]
    assert "0 in every band" in fill[0] and "write_nodata(0)" in fill[0]
    assert "--nodata 0" in fill[0]
    assert 0 < len(read) <= 9 < edge.data.npartitions  # 9 windows of 64 px: 64 blocks exist


@pytest.mark.parametrize("scale", [10.0, 1 / 10000])
def test_cube_on_another_scale_is_warned_about(l8_models, scale, no_compute):
    """The same cube x 10, or as 'reflectance' (/ 10000), against a model trained on digital
    numbers: one warning naming the bands and the training range. The cube as trained on:
    none."""
    declared, _ = l8_models
    edge = l8_edge(nodata=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        xr_landcover.classify(edge, declared)  # control: on the model's scale, no warning
    scaled = (edge * scale).rio.write_nodata(np.nan).rio.write_crs(edge.rio.crs)
    with pytest.warns(UserWarning, match=r"far outside the range the model was trained on "
                                         r"\(1: median [\d.e+-]+, trained on [\d.]+\.\.") as rec:
        xr_landcover.classify(scaled, declared)
    rec = [w for w in rec if issubclass(w.category, UserWarning)]
    assert len(rec) == 1 and "reflectance 0-1" in str(rec[0].message)
    assert no_compute.calls == 0


# -- band identity ------------------------------------------------------------------------------


def test_duplicate_band_names_are_refused(cube, forest, no_compute):
    twice = cube.assign_coords(band=["blue", "green", "red", "nir", "swir1", "red"])
    with pytest.raises(DimensionError, match=r"band coordinate names \['red'\] more than "
                                             r"once.*assign_coords"):
        xr_landcover.classify(twice, forest)
    with pytest.raises(DimensionError, match=r"band coordinate names \['red'\] more than once"):
        quiet_train(twice, datasets.nc_training_polygons(), "id", "label")


def test_integer_band_labels_select_by_label_not_position(cube, polygons, no_compute):
    """rioxarray's integer labels 1..6: a model trained on them, and a cube whose band
    coordinate is reordered, select by label (a raw xarray KeyError before)."""
    window = cube.isel(y=slice(150, 230), x=slice(200, 300))
    labelled = window.assign_coords(band=[1, 2, 3, 4, 5, 6])
    with dask.config.set(scheduler="sync"):
        model = quiet_train(labelled, polygons, "id", "label", method="random_trees",
                            max_samples_per_class=40, random_state=0, n_estimators=5)
    assert model.bands == ("1", "2", "3", "4", "5", "6")
    reordered = labelled.isel(band=[2, 0, 1, 5, 3, 4])  # labels 3, 1, 2, 6, 4, 5
    out = xr_landcover.classify(reordered, model)
    with dask.config.set(scheduler="sync"):
        np.testing.assert_array_equal(out.values, xr_landcover.classify(labelled, model).values)
