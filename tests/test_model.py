"""Classifier methods, LandcoverModel (repr, definition) and its safe save/load."""

from __future__ import annotations

import dataclasses
import pickle
import warnings
import zipfile

import numpy as np
import pytest
import skops.io as sio
from helpers import quiet_train
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, cohen_kappa_score
from sklearn.neighbors import KNeighborsClassifier

import xr_landcover
from xr_landcover import datasets
from xr_landcover.classification.model import FORMAT_VERSION, TRUSTED_TYPES, LandcoverModel
from xr_landcover.classification.samples import extract_samples
from xr_landcover.errors import InvalidParameterError, ModelFileError, OutputExistsError


@pytest.fixture(scope="module")
def cube():
    return datasets.nc_landsat7(chunks=128)


@pytest.fixture(scope="module")
def models(cube, polygons):
    return {
        m: quiet_train(cube, polygons, "id", "label", method=m, max_samples_per_class=60,
                       random_state=0)
        for m in ("svm", "random_trees", "max_likelihood", "knn")
    }


@pytest.fixture(scope="module")
def window(cube):
    return cube.isel(y=slice(150, 230), x=slice(200, 300))


def test_each_method_learns_the_training_pixels(models, cube, polygons):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        s = extract_samples(cube, polygons, "id", "label", max_samples_per_class=60,
                            random_state=0)
    for method, model in models.items():
        assert model.method == method
        assert model.class_values == [1, 3, 4, 5, 6, 7]
        assert model.bands == ("blue", "green", "red", "nir", "swir1", "swir2")
        assert model.training["used"] == {1: 60, 3: 60, 4: 60, 5: 60, 6: 60, 7: 57}
        assert model.training["available"][5] == 749
        assert model.training["dropped"] == ["agriculture"]
        assert model.resolution == (28.5, -28.5)
        train_accuracy = (model.estimator.predict(s.X) == s.y).mean()
        assert train_accuracy > 0.7, method


def test_method_estimators_and_parameters(cube, polygons):
    svm = quiet_train(cube, polygons, "id", max_samples_per_class=30, random_state=0, C=7.0)
    svc = svm.estimator.named_steps["svm"].estimator
    assert type(svc).__name__ == "SVC" and svc.C == 7.0 and svc.kernel == "rbf"
    assert type(svm.estimator.named_steps["scale"]).__name__ == "StandardScaler"
    rf = quiet_train(cube, polygons, "id", method="random_trees", max_samples_per_class=30,
                     random_state=0, max_num_trees=12)
    assert rf.estimator.n_estimators == 12 and rf.estimator.max_depth == 30
    assert rf.estimator.n_jobs == 1
    ml = quiet_train(cube, polygons, "id", method="max_likelihood", max_samples_per_class=30)
    np.testing.assert_allclose(ml.estimator.priors, np.full(6, 1 / 6))
    with pytest.raises(InvalidParameterError, match="method must be one of"):
        quiet_train(cube, polygons, "id", method="neural")
    with pytest.raises(InvalidParameterError, match="either method"):
        quiet_train(cube, polygons, "id", method="svm", estimator=LogisticRegression())
    with pytest.raises(InvalidParameterError, match="bad parameter"):
        quiet_train(cube, polygons, "id", method="knn", max_samples_per_class=20, bogus=1)


def test_any_estimator(cube, polygons, window):
    proto = ExtraTreesClassifier(n_estimators=10, random_state=0)
    model = quiet_train(cube, polygons, "id", "label", estimator=proto, max_samples_per_class=40,
                        random_state=0)
    assert model.method == "estimator"
    assert not hasattr(proto, "classes_")  # the given estimator is cloned, not fitted
    assert list(model.estimator.classes_) == [1, 3, 4, 5, 6, 7]
    classes = xr_landcover.classify(window, model).values
    assert set(np.unique(classes)) <= {0, 1, 3, 4, 5, 6, 7}
    with pytest.raises(TypeError, match="fit and predict"):
        quiet_train(cube, polygons, "id", estimator=object())


def test_repr_and_classifier_definition(models):
    text = repr(models["svm"])
    lines = text.splitlines()
    assert lines[0].startswith("LandcoverModel: svm (StandardScaler → CalibratedClassifierCV(SVC))")
    assert "ClassValue  ClassName" in text
    assert any(line.split()[:2] == ["6", "water"] and line.split()[2:5] == ["70", "107", "159"]
               for line in lines)
    assert lines[-1] == "dropped (no valid pixel): agriculture"
    assert "indices added by classify" not in text  # none (test_indices: a model with two)
    water = next(line for line in lines if line.split()[1:2] == ["water"])
    assert water.startswith(" " * 9 + "6  water")  # values right-aligned, names left
    head = next(line for line in lines if line.startswith("ClassValue"))
    assert len(water) == len(head)  # the last column right-aligned too
    wide = dataclasses.replace(models["svm"], resolution=(30.0, -20.0))
    assert "pixel 30 x 20" in repr(wide)
    import pyproj

    named = dataclasses.replace(models["svm"], crs=pyproj.CRS.from_epsg(32119).to_wkt())
    assert "trained on: NAD83 / North Carolina, pixel 28.5 x 28.5; " in repr(named)
    assert "trained on: unknown CRS, " in repr(dataclasses.replace(models["svm"], crs=None))
    assert models["svm"].colormap[6] == (70, 107, 159)  # a property
    html = models["svm"]._repr_html_()
    assert html.count("<tr>") == 7 and "rgb(70,107,159)" in html
    definition = models["knn"].classifier_definition
    assert definition[-1] == {"ClassValue": 7, "ClassName": "sediment", "Red": 179,
                              "Green": 172, "Blue": 159}
    assert [d["ClassName"] for d in definition] == ["developed", "herbaceous", "shrubland",
                                                    "forest", "water", "sediment"]


def test_describe_estimator_names_wrapped_estimators_and_pipeline_steps():
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from xr_landcover.classification.model import describe_estimator

    class Voting(KNeighborsClassifier):  # a parameter named estimator that is not one
        def __init__(self, estimator="auto"):
            super().__init__()
            self.estimator = estimator

    assert describe_estimator(Voting()) == "Voting"
    assert describe_estimator(KNeighborsClassifier()) == "KNeighborsClassifier"
    assert describe_estimator(CalibratedClassifierCV()) == "CalibratedClassifierCV"  # None
    assert describe_estimator(make_pipeline(StandardScaler(), CalibratedClassifierCV(
        LogisticRegression()))) == (
        "StandardScaler → CalibratedClassifierCV(LogisticRegression)")


@pytest.mark.parametrize("method", ["svm", "random_trees", "max_likelihood", "knn"])
def test_save_load_round_trip(models, method, window, tmp_path):
    model = models[method]
    path = model.save(tmp_path / "model.skops")
    loaded = LandcoverModel.load(path)
    assert loaded.classes == model.classes and loaded.bands == model.bands
    assert loaded.crs == model.crs and loaded.resolution == model.resolution
    assert loaded.training == model.training and loaded.format_version == FORMAT_VERSION
    assert loaded.nodata == model.nodata and loaded.band_stats == model.band_stats
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(xr_landcover.classify(window, loaded).values,
                                  xr_landcover.classify(window, model).values)
    with pytest.raises(OutputExistsError, match="exists; pass overwrite=True to replace it"):
        model.save(path)
    model.save(path, overwrite=True)


def test_load_refuses_pickles_without_running_them(tmp_path):
    victim = tmp_path / "pwned.txt"

    class Payload:
        def __reduce__(self):
            return (open, (str(victim), "w"))

    path = tmp_path / "model.skops"
    path.write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ModelFileError, match="Pickle and joblib files are refused"):
        LandcoverModel.load(path)
    assert not victim.exists()
    # the same pickle hidden inside a zip archive is not a skops file either
    with zipfile.ZipFile(tmp_path / "zipped.skops", "w") as z:
        z.writestr("schema.json", "{}")
        z.writestr("payload.pkl", pickle.dumps(Payload()))
    with pytest.raises(ModelFileError, match="zipped.skops' as a model file"):
        LandcoverModel.load(tmp_path / "zipped.skops")
    assert not victim.exists()


class Unknown:  # a type nobody has vetted
    def __init__(self):
        self.answer = 42


def test_load_refuses_untrusted_types(models, tmp_path):
    payload = models["knn"]._payload()
    payload["estimator"] = Unknown()
    path = tmp_path / "evil.skops"
    sio.dump(payload, path)
    with pytest.raises(ModelFileError, match=r"not trusted: \['(tests\.)?test_model\.Unknown'\]"):
        LandcoverModel.load(path)


def test_own_estimator_needs_explicit_trust(cube, polygons, window, tmp_path):
    # (HistGradientBoostingClassifier, once the example here, is trusted: method
    # "gradient_boosting"; a Manhattan-distance ball tree is not)
    model = quiet_train(cube, polygons, "id", estimator=KNeighborsClassifier(
        algorithm="ball_tree", metric="manhattan"), max_samples_per_class=30)
    path = model.save(tmp_path / "knn.skops")
    with pytest.raises(ModelFileError, match="trusted=") as info:
        LandcoverModel.load(path)
    extra = [t for t in sio.get_untrusted_types(file=path) if t not in TRUSTED_TYPES]
    assert extra and all(t in str(info.value) for t in extra)
    loaded = LandcoverModel.load(path, trusted=extra)
    np.testing.assert_array_equal(xr_landcover.classify(window, loaded).values,
                                  xr_landcover.classify(window, model).values)


def test_load_garbage_truncated_foreign_newer_and_other_formats(models, tmp_path):
    good = models["random_trees"].save(tmp_path / "good.skops")
    garbage = tmp_path / "garbage.skops"
    garbage.write_bytes(b"\x00\x01not a model at all" * 50)
    truncated = tmp_path / "truncated.skops"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    foreign = tmp_path / "foreign.skops"
    sio.dump(LogisticRegression(), foreign)
    newer = tmp_path / "newer.skops"
    payload = models["random_trees"]._payload()
    payload["format_version"] = FORMAT_VERSION + 1
    sio.dump(payload, newer)
    # another format's name (sorting after ours), and none
    other_format, no_format = tmp_path / "other-format.skops", tmp_path / "no-format.skops"
    sio.dump({**payload, "format": "xr_landcover.LandcoverModel2"}, other_format)
    sio.dump({k: v for k, v in payload.items() if k != "format"}, no_format)
    for path, message in [
        (other_format, "is a skops file but not an xr_landcover model"),
        (no_format, "is a skops file but not an xr_landcover model"),
        (garbage, "not an xr_landcover model file"),
        (truncated, "model file"),
        (foreign, "not an xr_landcover model"),
        (newer, "newer than this"),
        (tmp_path / "missing.skops", "not found"),
    ]:
        with pytest.raises(ModelFileError, match=message):
            LandcoverModel.load(path)


def test_model_remembers_training_nodata_and_band_statistics(models, cube, tmp_path):
    """The NC scene declares nodata -32768 (masked to NaN): the model keeps it, and the
    1/50/99 % of each band of its training pixels (recomputed here from the same draw)."""
    model = models["random_trees"]
    assert np.isnan(cube.rio.nodata) and cube.rio.encoded_nodata == -32768
    assert model.nodata == -32768.0
    with pytest.warns(UserWarning, match="agriculture"):
        samples = extract_samples(cube, datasets.nc_training_polygons(), "id", "label",
                                  max_samples_per_class=60, random_state=0)
    expected = np.percentile(samples.X, [1, 50, 99], axis=0)
    for row, key in zip(expected, ("low", "median", "high")):
        np.testing.assert_allclose(model.band_stats[key], row)
    loaded = LandcoverModel.load(model.save(tmp_path / "m.skops"))
    assert loaded.nodata == -32768.0 and loaded.band_stats == model.band_stats


def test_model_file_without_nodata_and_statistics_still_loads(models, window, tmp_path):
    """Files written before the fields existed load, with nothing to apply or compare."""
    payload = models["random_trees"]._payload()
    del payload["nodata"], payload["band_stats"]
    path = tmp_path / "old.skops"
    sio.dump(payload, path)
    old = LandcoverModel.load(path)
    assert old.nodata is None and old.band_stats is None
    np.testing.assert_array_equal(xr_landcover.classify(window, old).values,
                                  xr_landcover.classify(window, models["random_trees"]).values)


def _with_classes(estimator, classes):
    estimator.classes_ = classes
    return estimator


@pytest.mark.parametrize("edit, message", [
    (lambda p: p.update(bands=p["bands"][:-1]), "lists 5 bands .* expects 6 features"),
    (lambda p: p.update(bands=p["bands"][:-1] + p["bands"][:1]), "same band twice"),
    (lambda p: p.update(classes=p["classes"][:-1]), r"classes \[1, 3, 4, 5, 6\] are not the "
                                                      r"estimator's classes_ \[1, 3, 4, 5, 6, 7\]"),
    (lambda p: p["classes"][-1].__setitem__(0, 9), "are not the estimator's classes_"),
    (lambda p: p.update(band_stats={k: v[:2] for k, v in p["band_stats"].items()}),
     "band statistics do not have one value per band"),
    # one too many: a band, a statistic
    (lambda p: p.update(bands=[*p["bands"], "swir3"]), "lists 7 bands .* expects 6 features"),
    (lambda p: p.update(band_stats={k: [*v, v[0]] for k, v in p["band_stats"].items()}),
     "band statistics do not have one value per band"),
    (lambda p: p.update(feature="segments", attributes=p["bands"][:-1]),
     "lists 5 attributes .* expects 6 features"),  # a segments model's features
    (lambda p: p.update(indices=["ndvi"]), r"unknown spectral indices \['ndvi'\]"),  # no band
    (lambda p: p.update(indices=[p["bands"][0]]), "unknown spectral indices"),  # not an index
    # band "ndvi@x" at a date is not the index ndvi: only the last @ parts a date off
    (lambda p: p.update(bands=[*p["bands"][:-1], "ndvi@x@2020-05-18"], indices=["ndvi"]),
     r"unknown spectral indices \['ndvi'\]"),
    (lambda p: p.update(estimator=_with_classes(  # int(None): a TypeError
        KNeighborsClassifier(n_neighbors=1).fit(np.eye(6), [1, 3, 4, 5, 6, 7]),
        np.array([None, 3, 4, 5, 6, 7], dtype=object))),
     r"predicts non-integer classes \[None, 3, 4, 5, 6, 7\]"),
    (lambda p: p.update(estimator=KNeighborsClassifier(n_neighbors=1).fit(
        np.arange(66.0).reshape(11, 6), list("abcdefghijk"))),
     r"predicts non-integer classes \[[^]]*'a'[^]]*'j'\)?\]$"),  # the first ten
    (lambda p: p.update(format_version=0), r"no valid format version \(0\)"),
    (lambda p: p.update(format_version="1"), r"no valid format version \('1'\)"),
])
def test_model_that_contradicts_its_estimator_is_refused_at_load(models, tmp_path, edit,
                                                                 message):
    payload = models["random_trees"]._payload()
    edit(payload)
    path = tmp_path / "edited.skops"
    sio.dump(payload, path)
    with pytest.raises(ModelFileError, match=r"edited\.skops.*" + message):
        LandcoverModel.load(path)


def test_a_time_series_model_file_with_an_index_loads(models, tmp_path):
    """Its bands are band@date; the recipe's index is found among them by the part before the
    last @."""
    payload = models["random_trees"]._payload()
    payload["bands"] = [f"{b}@2020-05-18" for b in payload["bands"][:-1]] + ["ndvi@2020-05-18"]
    payload.update(indices=["ndvi"], time_dim="time")
    sio.dump(payload, tmp_path / "series.skops")
    model = LandcoverModel.load(tmp_path / "series.skops")
    assert model.indices == ("ndvi",) and model.bands[-1] == "ndvi@2020-05-18"
    assert "; a time series: band@date along 'time'" in repr(model)
    assert "a time series" not in repr(models["random_trees"])


def test_permutation_importance_defaults_are_the_documented_ones(models, cube, polygons):
    """500 pixels per class at most, seed 0 (the NC polygons hold more than 500 pixels of
    most classes, so the cap changes the draw)."""
    model = models["max_likelihood"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        default = model.feature_importance(cube, polygons, "id", n_repeats=1)
        explicit = model.feature_importance(cube, polygons, "id", n_repeats=1,
                                            max_samples_per_class=500, random_state=0)
        other = model.feature_importance(cube, polygons, "id", n_repeats=1,
                                         max_samples_per_class=499, random_state=0)
        five = model.feature_importance(cube, polygons, "id")
        five_explicit = model.feature_importance(cube, polygons, "id", n_repeats=5)
    assert five.equals(five_explicit) and not five.equals(default)  # 5 repeats by default
    assert default.equals(explicit) and default.attrs["pixels"] == explicit.attrs["pixels"]
    assert default.attrs["pixels"] != other.attrs["pixels"]  # the cap matters here


def test_a_model_of_300_bands_and_300_classes_round_trips(tmp_path):
    """Past the integers Python caches (an ``is`` comparison of list lengths in the load
    checks would refuse every such model: hyperspectral bands, fine legends)."""
    from xr_landcover.colors import LandcoverClass

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(600, 300)), np.repeat(np.arange(1, 301), 2)
    model = LandcoverModel(
        classes=tuple(LandcoverClass(int(v), f"class {v}", (0, 0, 0)) for v in range(1, 301)),
        bands=tuple(f"b{i}" for i in range(300)),
        estimator=KNeighborsClassifier(n_neighbors=1).fit(X, y), method="estimator",
        band_stats={k: tuple(float(i) for i in range(300)) for k in ("low", "median", "high")})
    back = LandcoverModel.load(model.save(tmp_path / "wide.skops"))
    assert back.band_stats == model.band_stats
    assert back.bands == model.bands and back.class_values == model.class_values
    np.testing.assert_array_equal(back.estimator.predict(X[:5]), y[:5])


def test_the_feature_unit_heads_the_class_table(models):
    """Pixels or segments per class, also for a recipe name made at run time (read from a
    file)."""
    import dataclasses

    pixels = models["knn"]
    segments = dataclasses.replace(pixels, feature="".join(["seg", "ments"]),
                                   attributes=pixels.bands)
    assert repr(pixels).splitlines()[0].endswith("features: pixels")
    assert repr(segments).splitlines()[0].endswith(
        "features: segments (blue, green, red, nir, swir1, swir2)")
    for model, unit in ((pixels, "Pixels"), (segments, "Segments")):
        head = next(line for line in repr(model).splitlines() if line.startswith("ClassValue"))
        assert head.split() == ["ClassValue", "ClassName", "Red", "Green", "Blue", unit, "Used"]
        assert f"max 60 {unit.lower()} per class, seed 0" in repr(model)
        assert f"<th>{unit}</th><th>Used</th>" in model._repr_html_()


def test_the_archive_check_inflates_a_mebibyte_at_a_time(tmp_path):
    """The bomb guard reads each member through a bounded buffer: a member that inflates to
    64 MB (within max_bytes) never sits in memory whole (tracemalloc: Python's allocations)."""
    import tracemalloc

    path = tmp_path / "big-member.skops"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.bin", b"\0" * (64 << 20))
    assert path.stat().st_size < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="cannot read"):  # not skops: after the check
            LandcoverModel.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak  # 1 MiB reads; reading a member whole takes 64 MiB


def test_accuracy_on_held_out_polygons(cube, polygons):
    """Train on half of each class's polygons, check the other half (measured: OA 0.76)."""
    usable = polygons[polygons["label"] != "agriculture"]
    held_out = usable.groupby("id").cumcount() % 2 == 1
    model = xr_landcover.train(cube, usable[~held_out], "id", "label", random_state=0)
    test = extract_samples(cube, usable[held_out], "id", "label", max_samples_per_class=None)
    predicted = cube.landcover.classify(model).values[test.rows, test.cols]
    assert len(test.y) == 690
    assert accuracy_score(test.y, predicted) >= 0.70
    assert cohen_kappa_score(test.y, predicted) >= 0.55


def test_save_and_load_path_errors(models, tmp_path):
    from xr_landcover.errors import (
        ModelFileNotFoundError,
        OutputNotWritableError,
        RasterFileNotFoundError,
    )

    with pytest.raises(ModelFileNotFoundError, match="not found") as info:
        LandcoverModel.load(tmp_path / "none.skops")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, ModelFileError)
    with pytest.raises(ModelFileError, match="is a folder"):
        LandcoverModel.load(tmp_path)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(OutputNotWritableError, match="file.txt' is a file, not a folder"):
        models["knn"].save(a_file / "m.skops")
    with pytest.raises(RasterFileNotFoundError, match="does not exist"):
        models["knn"].save(tmp_path / "no" / "m.skops")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]
