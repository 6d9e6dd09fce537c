"""The :class:`LandcoverModel`: what carries a fitted classifier from training to classification.

It holds the classes (value, name, colour), the bands, the training CRS and resolution, the
feature recipe, the fitted estimator and the training statistics, and saves to / loads from a
skops file without running code from it. It imports nothing else of this subpackage (but
:mod:`~.importance`, inside :meth:`~LandcoverModel.feature_importance`), so every other module
can use it. The methods that make its estimator are in
:mod:`~xr_landcover.classification.estimators`, training in
:mod:`~xr_landcover.classification.training`.
"""

from __future__ import annotations

import html
import io
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._validate import check_number
from ..colors import LandcoverClass
from ..errors import (
    ModelFileError,
    ModelFileNotFoundError,
    OutputNotWritableError,
)

__all__ = ["FORMAT_VERSION", "TRUSTED_TYPES", "MAX_MODEL_BYTES", "MAX_MODEL_MEMBERS",
           "LandcoverModel", "describe_estimator"]

#: Version of the model file format written by :meth:`LandcoverModel.save`.
FORMAT_VERSION = 1
_FORMAT = "xr_landcover.LandcoverModel"
_STATS = ("low", "median", "high")

#: Types (beyond skops' defaults) that the estimators built here hold; loading trusts these
#: and nothing else unless the caller adds to them.
TRUSTED_TYPES = (
    "sklearn.tree._tree.Tree",
    "sklearn.neighbors._kd_tree.KDTree",
    "sklearn.neighbors._ball_tree.BallTree",
    "sklearn.metrics._dist_metrics.EuclideanDistance64",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)

#: Largest model file :meth:`LandcoverModel.load` reads, counted decompressed (all members of
#: the archive together); a 200-tree forest on 2,000 pixels is about 35 MB. Pass
#: ``max_bytes=`` for a larger model you trust.
MAX_MODEL_BYTES = 1 << 30
#: Most members a model archive may hold (a skops forest stores about 5 per tree).
MAX_MODEL_MEMBERS = 50_000
_READ_CHUNK = 1 << 20


def _check_archive(data: bytes, path: Path, max_bytes: int) -> None:
    """Refuse a zip archive that would inflate past ``max_bytes`` or holds too many members.

    The directory's sizes are checked first; then every member is decompressed through a
    bounded reader (1 MiB at a time, never more than ``max_bytes`` in all, nothing kept), so a
    header that understates a member's size is caught too (zipfile stops at the stated size and
    the CRC then fails) before skops reads anything.
    """
    fix = (f"if you trust this file, pass max_bytes= (default {MAX_MODEL_BYTES:,}) to "
           "LandcoverModel.load")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_MODEL_MEMBERS:
                raise ModelFileError(
                    f"'{path}' holds {len(members):,} archive members, more than a model file "
                    f"has (at most {MAX_MODEL_MEMBERS:,}); it was not read"
                )
            stated = sum(m.file_size for m in members)
            if stated > max_bytes:
                raise ModelFileError(
                    f"'{path}' would inflate to {stated:,} bytes, more than the "
                    f"{max_bytes:,} bytes a model file may hold; it was not read ({fix})"
                )
            total = 0
            for member in members:
                with archive.open(member) as stream:
                    while chunk := stream.read(_READ_CHUNK):
                        total += len(chunk)
                        if total > max_bytes:
                            raise ModelFileError(
                                f"'{path}' inflates past {max_bytes:,} bytes; it was not "
                                f"read ({fix})"
                            )
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError,
            NotImplementedError) as exc:  # bad CRC, truncated stream, unknown compression
        raise ModelFileError(f"cannot read '{path}' as a model file: {exc}") from exc


def _stored_indices(indices, bands) -> tuple[str, ...]:
    """The index recipe of a model file, checked: known index names among the model's bands
    (files from before indices existed have none)."""
    from ..indices import INDICES

    indices = [str(i) for i in indices]
    names = {str(b).rsplit("@", 1)[0] for b in bands}  # a time series' band@date too
    unknown = [i for i in indices if i not in INDICES or i not in names]
    if unknown:
        raise ValueError(f"unknown spectral indices {unknown} in the recipe")
    return tuple(indices)


def describe_estimator(est) -> str:
    """The estimator's type, with the steps of a pipeline and the estimator a wrapper holds."""
    from sklearn.pipeline import Pipeline

    if isinstance(est, Pipeline):
        return " → ".join(describe_estimator(step) for _, step in est.steps)
    inner = getattr(est, "estimator", None)
    if inner is not None and hasattr(inner, "fit"):
        return f"{type(est).__name__}({describe_estimator(inner)})"
    return type(est).__name__


@dataclass
class LandcoverModel:
    """A trained land-cover classifier: classes, bands, grid, estimator and training statistics.

    Build one with :func:`train` (or ``cube.landcover.train``); use it with
    :func:`xr_landcover.classify`; share it with :meth:`save` / :meth:`load`.

    Attributes
    ----------
    classes : tuple of LandcoverClass
        Value, name and ``(r, g, b)`` colour of each class, sorted by value.
    bands : tuple of str
        The band names the estimator expects, in order.
    estimator : scikit-learn estimator
        Fitted; predicts class values.
    method : str
        ``"svm"``, ``"random_trees"``, ``"max_likelihood"``, ``"knn"`` or ``"estimator"``.
    crs : str or None
        WKT of the training cube's CRS.
    resolution : (float, float) or None
        Pixel size of the training cube, in CRS units.
    training : dict
        ``available`` and ``used`` pixels per class value, ``max_samples_per_class``,
        ``random_state``, ``dropped`` classes (names).
    feature : str
        The feature recipe: ``"pixels"`` (band values of single pixels) or ``"segments"``
        (attributes of segments: an object-based model, see
        :mod:`~xr_landcover.classification.segments`).
    attributes : tuple of str
        For ``feature="segments"``: the columns of :func:`xr_landcover.segment_attributes`
        the estimator expects, in order (empty for pixel models).
    indices : tuple of str
        Spectral indices (:func:`xr_landcover.with_indices`) among :attr:`bands`: classify
        adds them to a cube that lacks them. Empty for models saved before indices existed.
    time_dim : str or None
        For a model trained on a time series ``(time, band, y, x)``: the dim whose dates make
        the features ``band@date`` (:mod:`~xr_landcover.classification.time_features`);
        classify stacks a cube's dates the same way. None for single-date models (and files
        saved before time series existed).
    nodata : float or None
        The nodata value declared by the training cube (None: none, or NaN). :func:`classify`
        applies it, with a warning, to a cube that declares none.
    band_stats : dict or None
        Per band of the training pixels (pixel models): ``{"low": [...], "median": [...],
        "high": [...]}``, their 1st percentile, median and 99th percentile. :func:`classify`
        compares a sample of the cube with them (None in files written before they existed).
    format_version : int
        Version of the saved-file format.
    """

    classes: tuple[LandcoverClass, ...]
    bands: tuple[str, ...]
    estimator: Any
    method: str
    crs: str | None = None
    resolution: tuple[float, float] | None = None
    training: dict = field(default_factory=dict)
    feature: str = "pixels"
    format_version: int = FORMAT_VERSION
    attributes: tuple[str, ...] = ()
    indices: tuple[str, ...] = ()
    time_dim: str | None = None
    nodata: float | None = None
    band_stats: dict | None = None

    # -- views --------------------------------------------------------------------------------
    @property
    def class_values(self) -> list[int]:
        """Class values, sorted."""
        return [c.value for c in self.classes]

    @property
    def class_names(self) -> list[str]:
        """Class names, in the order of :attr:`class_values`."""
        return [c.name for c in self.classes]

    @property
    def colormap(self) -> dict[int, tuple[int, int, int]]:
        """``{value: (r, g, b)}``."""
        return {c.value: tuple(c.color) for c in self.classes}

    @property
    def classifier_definition(self) -> list[dict]:
        """The classes as ArcGIS writes them: ``ClassValue, ClassName, Red, Green, Blue``."""
        return [
            {"ClassValue": c.value, "ClassName": c.name, "Red": c.color[0],
             "Green": c.color[1], "Blue": c.color[2]}
            for c in self.classes
        ]

    def _rows(self) -> list[tuple]:
        available = self.training.get("available", {})
        used = self.training.get("used", {})
        return [
            (c.value, c.name, *c.color, available.get(c.value, ""), used.get(c.value, ""))
            for c in self.classes
        ]

    def _header(self) -> list[str]:
        cap = self.training.get("max_samples_per_class")
        seed = self.training.get("random_state")
        res = (
            f"pixel {abs(self.resolution[0]):g} x {abs(self.resolution[1]):g}"
            if self.resolution else "pixel size unknown"
        )
        crs_name = "unknown CRS"
        if self.crs:
            import pyproj

            crs_name = pyproj.CRS.from_wkt(self.crs).name
        return [
            f"LandcoverModel: {self.method} ({describe_estimator(self.estimator)}), "
            f"features: {self.feature}"
            + (f" ({', '.join(self.attributes)})" if self.attributes else ""),
            f"bands: {', '.join(self.bands)}"
            + (f" (indices added by classify: {', '.join(self.indices)})" if self.indices
               else "")
            + (f"; a time series: band@date along {self.time_dim!r}" if self.time_dim
               else ""),
            f"trained on: {crs_name}, {res}; "
            f"max {cap if cap else 'all'} {'segments' if self.feature == 'segments' else 'pixels'}"
            f" per class, seed {seed}",
        ]

    def __repr__(self) -> str:
        unit = "Segments" if self.feature == "segments" else "Pixels"
        head = ("ClassValue", "ClassName", "Red", "Green", "Blue", unit, "Used")
        rows = [tuple(str(v) for v in r) for r in self._rows()]
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]

        def line(cells):
            return "  ".join(
                c.ljust(w) if i == 1 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        lines = self._header() + [line(head)] + [line(r) for r in rows]
        dropped = self.training.get("dropped") or []
        if dropped:
            lines.append(f"dropped (no valid pixel): {', '.join(dropped)}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        esc = html.escape
        unit = "Segments" if self.feature == "segments" else "Pixels"
        head = "".join(
            f"<th>{h}</th>"
            for h in ("", "ClassValue", "ClassName", "Red", "Green", "Blue", unit, "Used")
        )
        body = ""
        for value, name, r, g, b, avail, used in self._rows():
            swatch = (f'<span style="display:inline-block;width:1em;height:1em;'
                      f'background:rgb({r},{g},{b})"></span>')
            body += (f"<tr><td>{swatch}</td><td>{value}</td><td>{esc(name)}</td><td>{r}</td>"
                     f"<td>{g}</td><td>{b}</td><td>{avail}</td><td>{used}</td></tr>")
        notes = "<br>".join(esc(h) for h in self._header())
        return f"<div><p>{notes}</p><table><tr>{head}</tr>{body}</table></div>"

    # -- feature importance -------------------------------------------------------------------
    def feature_importance(self, cube=None, samples=None, class_field: str | None = None,
                           n_repeats: int = 5, max_samples_per_class: int | None = 500,
                           random_state: Any = 0):
        """Importance of each band (or segment attribute), most important first.

        Without arguments: the estimator's impurity importances (``random_trees``). With
        ``cube`` and ``samples``: permutation importance on those samples' pixels, for any
        method (the mean drop in accuracy when a band is shuffled, over ``n_repeats``). See
        :mod:`~xr_landcover.classification.importance`.

        Parameters
        ----------
        cube : xarray.DataArray, optional
            Band cube with the model's bands.
        samples : GeoDataFrame or path, optional
            Labelled polygons or points (class values of the model), best not the training
            samples.
        class_field : str, optional
            As for :func:`xr_landcover.train`.
        n_repeats : int, default 5
            Shuffles per band.
        max_samples_per_class : int or None, default 500
            Pixels per class drawn from the samples.
        random_state : int, default 0
            Seed of the draw and of the shuffles.

        Returns
        -------
        pandas.DataFrame
            Index ``feature`` (band names); column ``importance`` (and ``std`` for
            permutation importance); ``attrs["kind"]`` is ``"impurity"`` or ``"permutation"``.

        Raises
        ------
        InvalidParameterError
            No impurity importances for this estimator and no samples, or only one of
            ``cube`` and ``samples``.
        """
        from .importance import feature_importance  # the one import of this subpackage

        return feature_importance(self, cube, samples, class_field=class_field,
                                  n_repeats=n_repeats,
                                  max_samples_per_class=max_samples_per_class,
                                  random_state=random_state)

    # -- files --------------------------------------------------------------------------------
    def _payload(self) -> dict:
        training = dict(self.training)
        seed = training.get("random_state")
        return {
            "format": _FORMAT,
            "format_version": FORMAT_VERSION,
            "classes": [[c.value, c.name, list(c.color)] for c in self.classes],
            "bands": list(self.bands),
            "method": self.method,
            "feature": self.feature,
            "attributes": list(self.attributes),
            "indices": list(self.indices),
            "time_dim": self.time_dim,
            "crs": self.crs,
            "resolution": list(self.resolution) if self.resolution else None,
            "available": [[int(k), int(v)] for k, v in training.get("available", {}).items()],
            "used": [[int(k), int(v)] for k, v in training.get("used", {}).items()],
            "max_samples_per_class": training.get("max_samples_per_class"),
            "random_state": seed if isinstance(seed, int) else None,
            "dropped": list(training.get("dropped", [])),
            "nodata": None if self.nodata is None else float(self.nodata),
            "band_stats": ({k: [float(v) for v in self.band_stats[k]] for k in _STATS}
                           if self.band_stats else None),
            "estimator": self.estimator,
        }

    def save(self, path: str | os.PathLike, overwrite: bool = False) -> Path:
        """Save to a skops file (no pickle: loading it never runs code from the file).

        Parameters
        ----------
        path : str or path
            Output file, conventionally ``*.skops``.
        overwrite : bool, default False
            Replace an existing file.

        Returns
        -------
        pathlib.Path

        Raises
        ------
        OutputExistsError
            The file exists and ``overwrite`` is False.
        RasterFileNotFoundError
            The folder does not exist.
        OutputNotWritableError
            The folder is a file, or cannot be written.
        """
        import skops.io as sio

        from ..io._atomic import atomic_file

        try:
            with atomic_file(path, overwrite) as staging:
                sio.dump(self._payload(), staging)
        except PermissionError as exc:
            raise OutputNotWritableError(
                f"cannot write '{path}': {exc.strerror or exc}; is the folder writable?"
            ) from None
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, trusted: Sequence[str] = (),
             max_bytes: int = MAX_MODEL_BYTES) -> LandcoverModel:
        """Load a model saved by :meth:`save`, trusting only known scikit-learn/NumPy types.

        Parameters
        ----------
        path : str or path
        trusted : sequence of str
            Extra types to trust (e.g. those of your own ``estimator=``), as listed by the
            error raised when they are found. Never trust types you do not know.
        max_bytes : int, default :data:`MAX_MODEL_BYTES` (1 GiB)
            Refuse, unread, a file that is (or inflates to) more than this many bytes.

        Raises
        ------
        ModelFileError
            Missing file, not a skops file (pickles are refused unread), truncated or corrupt,
            larger than ``max_bytes`` once decompressed or with too many archive members, not
            an xr_landcover model, untrusted types inside, a newer format version, or band and
            class lists that contradict the estimator.
        """
        import skops.io as sio

        check_number("max_bytes", max_bytes, 1, integer=True)
        path = Path(path)
        if not path.exists():
            raise ModelFileNotFoundError(f"model file not found: '{path}'")
        if not path.is_file():
            raise ModelFileError(f"'{path}' is a folder, not a model file")
        size = path.stat().st_size
        if size > max_bytes:
            raise ModelFileError(
                f"'{path}' is {size:,} bytes, more than the {max_bytes:,} bytes a model file "
                "may hold; it was not read (if you trust it, pass max_bytes= to "
                "LandcoverModel.load)"
            )
        data = path.read_bytes()
        if not zipfile.is_zipfile(io.BytesIO(data)):
            raise ModelFileError(
                f"'{path}' is not an xr_landcover model file (a skops zip archive). Pickle and "
                "joblib files are refused: loading them could run code."
            )
        _check_archive(data, path, max_bytes)
        allowed = set(TRUSTED_TYPES) | {str(t) for t in trusted}
        try:
            found = set(sio.get_untrusted_types(data=data))
            untrusted = sorted(found - allowed)
            if untrusted:
                raise ModelFileError(
                    f"'{path}' holds types that are not trusted: {untrusted}. They were not "
                    "loaded. If you know and trust them (e.g. your own estimator), pass "
                    "trusted=[...] with these names."
                )
            payload = sio.loads(data, trusted=sorted(found))
        except ModelFileError:
            raise
        except Exception as exc:  # skops raises many types on corrupt archives
            raise ModelFileError(f"cannot read '{path}' as a model file: {exc}") from None
        return cls._from_payload(payload, path)

    @classmethod
    def _from_payload(cls, payload: Any, path: Path) -> LandcoverModel:
        if not isinstance(payload, Mapping) or payload.get("format") != _FORMAT:
            raise ModelFileError(f"'{path}' is a skops file but not an xr_landcover model")
        version = payload.get("format_version")
        if not isinstance(version, int) or version < 1:
            raise ModelFileError(f"'{path}' has no valid format version ({version!r})")
        if version > FORMAT_VERSION:
            raise ModelFileError(
                f"'{path}' was written in model format {version}, newer than this "
                f"xr_landcover reads ({FORMAT_VERSION}); upgrade xr_landcover"
            )
        try:
            classes = tuple(
                LandcoverClass(int(v), str(n), tuple(int(c) for c in rgb))
                for v, n, rgb in payload["classes"]
            )
            estimator = payload["estimator"]
            if not hasattr(estimator, "predict"):
                raise TypeError("the stored estimator has no predict method")
            nodata = payload.get("nodata")
            stats = payload.get("band_stats")
            model = cls(
                classes=classes,
                bands=tuple(str(b) for b in payload["bands"]),
                estimator=estimator,
                method=str(payload["method"]),
                crs=payload.get("crs"),
                resolution=tuple(payload["resolution"]) if payload.get("resolution") else None,
                training={
                    "available": {int(k): int(v) for k, v in payload.get("available", [])},
                    "used": {int(k): int(v) for k, v in payload.get("used", [])},
                    "max_samples_per_class": payload.get("max_samples_per_class"),
                    "random_state": payload.get("random_state"),
                    "dropped": list(payload.get("dropped", [])),
                },
                feature=str(payload.get("feature", "pixels")),
                format_version=version,
                attributes=tuple(str(a) for a in payload.get("attributes", [])),
                indices=_stored_indices(payload.get("indices", []), payload["bands"]),
                time_dim=(None if payload.get("time_dim") is None
                          else str(payload["time_dim"])),
                nodata=None if nodata is None else float(nodata),
                band_stats=({k: tuple(float(v) for v in stats[k]) for k in _STATS}
                            if stats else None),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"'{path}' is an incomplete model file: {exc}") from None
        model._check_consistent(path)
        return model

    def _check_consistent(self, path: Path) -> None:
        """:class:`ModelFileError` when the band (or attribute) list, the class list or the
        band statistics contradict the estimator or each other."""
        import numpy as np

        features = self.attributes if self.feature == "segments" else self.bands
        what = "attributes" if self.feature == "segments" else "bands"
        n_in = getattr(self.estimator, "n_features_in_", None)
        if n_in is not None and int(n_in) != len(features):
            raise ModelFileError(
                f"'{path}' contradicts itself: it lists {len(features)} {what} "
                f"{list(features)} but its estimator expects {int(n_in)} features; the file "
                "was edited or damaged: train the model again"
            )
        if len(set(features)) != len(features):
            raise ModelFileError(f"'{path}' lists the same {what[:-1]} twice: {list(features)}")
        known = getattr(self.estimator, "classes_", None)
        if known is not None:
            try:
                known = sorted(int(v) for v in np.asarray(known).ravel())
            except (TypeError, ValueError):
                raise ModelFileError(
                    f"'{path}': its estimator predicts non-integer classes "
                    f"{list(np.asarray(known).ravel()[:10])}"
                ) from None
            if known != sorted(self.class_values) or len(set(known)) != len(known):
                raise ModelFileError(
                    f"'{path}' contradicts itself: its classes {self.class_values} are not the "
                    f"estimator's classes_ {known}; the file was edited or damaged: train the "
                    "model again"
                )
        if self.band_stats and any(len(self.band_stats[k]) != len(self.bands) for k in _STATS):
            raise ModelFileError(
                f"'{path}' contradicts itself: its band statistics do not have one value per "
                f"band {list(self.bands)}"
            )
