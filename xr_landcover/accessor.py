"""The ``.landcover`` accessors on :class:`xarray.DataArray` and :class:`xarray.Dataset`.

Each method validates its input once and delegates to a module function; no algorithm lives
here (see ``docs/`` and the modules named in each method's docstring).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import xarray as xr

from ._delegate import delegates
from ._validate import (
    DEFAULT_CLUSTER_SAMPLE_SIZE,
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SAMPLES_PER_CLASS,
    DEFAULT_MIN_SEGMENT_SIZE,
    DEFAULT_SPATIAL_DETAIL,
    DEFAULT_SPECTRAL_DETAIL,
    require_cube,
)

__all__ = ["LandcoverAccessor", "LandcoverDatasetAccessor"]


@xr.register_dataarray_accessor("landcover")
class LandcoverAccessor:
    """Land-cover tools for band cubes and class maps: ``cube.landcover.<method>``.

    Examples
    --------
    >>> from xr_landcover import datasets
    >>> cube = datasets.nc_landsat7()
    >>> print(cube.landcover.summary())  # doctest: +ELLIPSIS
    band cube: 6 bands (blue, green, red, nir, swir1, swir2), 443 x 489 px, float32
    ...
    """

    def __init__(self, obj: xr.DataArray):
        self._obj = obj

    def _require_cube(self) -> xr.DataArray:
        """The object as a band cube ``(..., band, y, x)`` with a CRS."""
        return require_cube(self._obj)

    # -- description --------------------------------------------------------------------------
    def summary(self) -> str:
        """A short text description: bands, size, dtype, CRS, resolution, nodata, chunks."""
        da = self._require_cube()
        names = ", ".join(str(b) for b in da.band.values)
        res = da.rio.resolution()
        nodata = da.rio.encoded_nodata if da.rio.encoded_nodata is not None else da.rio.nodata
        chunks = "in memory" if da.chunks is None else f"chunks {tuple(c[0] for c in da.chunks)}"
        lines = [
            f"band cube: {da.sizes['band']} bands ({names}), {da.sizes['y']} x {da.sizes['x']} px, "
            f"{da.dtype}",
            f"CRS: {da.rio.crs.to_string()}, pixel {abs(res[0]):g} x {abs(res[1]):g}",
            f"bounds: {tuple(round(v, 3) for v in da.rio.bounds())}",
            f"nodata: {nodata}, "
            f"{chunks}",
        ]
        return "\n".join(lines)

    # -- spectral indices -----------------------------------------------------------------------
    @delegates("xr_landcover.indices:with_indices")
    def with_indices(self, indices: Sequence[str] | str) -> xr.DataArray:
        """This cube with spectral-index bands (``"ndvi"``, ``"nbr"``...) appended, lazily: see
        :func:`xr_landcover.with_indices`."""
        from .indices import with_indices

        return with_indices(self._require_cube(), indices)

    # -- segmentation ---------------------------------------------------------------------------
    @delegates("xr_landcover.segment:segment")
    def segment(self, bands=None, spectral_detail: float = DEFAULT_SPECTRAL_DETAIL,
                spatial_detail: float = DEFAULT_SPATIAL_DETAIL,
                min_segment_size: int = DEFAULT_MIN_SEGMENT_SIZE,
                max_segment_size: int | None = None, *, spectral_radius: float | None = None,
                spatial_radius: float | None = None, color_space: str | None = None,
                kernel: str = "product", maxiter: int = 10, threshold: float = 0.1,
                stretch: Sequence[float] | None = (2.0, 98.0),
                link_radius: float | None = None,
                fuse_radius: float | None = None) -> xr.DataArray:
        """Mean-shift segmentation, lazily: see :func:`xr_landcover.segment.segment`.

        Examples
        --------
        >>> from xr_landcover import datasets
        >>> cube = datasets.l8_rgb_uint8().isel(y=slice(0, 48), x=slice(0, 48))
        >>> seg = cube.landcover.segment(spatial_radius=3, min_segment_size=10)
        >>> seg.name, seg.dims
        ('segment_id', ('y', 'x'))
        """
        from .segment import segment

        return segment(self._require_cube(), bands=bands, spectral_detail=spectral_detail,
                       spatial_detail=spatial_detail, min_segment_size=min_segment_size,
                       max_segment_size=max_segment_size, spectral_radius=spectral_radius,
                       spatial_radius=spatial_radius, color_space=color_space, kernel=kernel,
                       maxiter=maxiter, threshold=threshold, stretch=stretch,
                       link_radius=link_radius, fuse_radius=fuse_radius)

    # -- supervised classification ------------------------------------------------------------
    @delegates("xr_landcover.classification:train")
    def train(self, samples, class_field: str | None = None, name_field: str | None = None,
              method: str | None = None,
              max_samples_per_class: int | None = DEFAULT_MAX_SAMPLES_PER_CLASS,
              random_state: int | None = None, estimator: Any = None,
              color_fields: Sequence[str] | None = ("Red", "Green", "Blue"),
              segments: xr.DataArray | None = None, **params: Any):
        """Train a pixel classifier (object-based with ``segments=``) on this cube: see
        :func:`xr_landcover.train`.

        Examples
        --------
        >>> import warnings
        >>> from xr_landcover import datasets
        >>> cube = datasets.nc_landsat7()
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")  # agriculture lies on nodata: dropped
        ...     model = cube.landcover.train(datasets.nc_training_polygons(), "id", "label",
        ...                                  method="knn", max_samples_per_class=30,
        ...                                  random_state=0)
        >>> len(model.classes)
        6
        """
        from .classification import train

        return train(self._require_cube(), samples, class_field=class_field,
                     name_field=name_field, method=method,
                     max_samples_per_class=max_samples_per_class, random_state=random_state,
                     estimator=estimator, color_fields=color_fields, segments=segments,
                     **params)

    @delegates("xr_landcover.classification:classify")
    def classify(self, model, confidence: bool = False,
                 segments: xr.DataArray | None = None) -> xr.DataArray | xr.Dataset:
        """Classify this cube (per segment with ``segments=``), lazily: see
        :func:`xr_landcover.classify`."""
        from .classification import classify

        return classify(self._require_cube(), model, confidence=confidence, segments=segments)

    @delegates("xr_landcover.classification:cluster")
    def cluster(self, n_classes: int, method: str = "kmeans", max_iterations: int = 20,
                min_samples_per_cluster: int = 20,
                sample_size: int = DEFAULT_CLUSTER_SAMPLE_SIZE,
                random_state: int | None = None, *, max_merge_distance: float = 0.5,
                max_merge_per_iteration: int = 5) -> xr.DataArray:
        """Unsupervised classes (k-means or ISODATA) of this cube, as a lazy class map: see
        :func:`xr_landcover.cluster`."""
        from .classification import cluster

        return cluster(self._require_cube(), n_classes, method=method,
                       max_iterations=max_iterations,
                       min_samples_per_cluster=min_samples_per_cluster,
                       sample_size=sample_size, random_state=random_state,
                       max_merge_distance=max_merge_distance,
                       max_merge_per_iteration=max_merge_per_iteration)

    @delegates("xr_landcover.classification.probabilities:predict_proba")
    def predict_proba(self, model, segments: xr.DataArray | None = None) -> xr.DataArray:
        """Per-class probabilities of this cube (per segment with ``segments=``), lazily: see
        :func:`xr_landcover.predict_proba`."""
        from .classification.probabilities import predict_proba

        return predict_proba(self._require_cube(), model, segments=segments)

    # -- after classification (postprocess/) --------------------------------------------------
    def _require_probabilities(self) -> xr.DataArray:
        from .classification.probabilities import require_probabilities

        return require_probabilities(self._obj)

    @delegates("xr_landcover.postprocess:label")
    def label(self, confidence: bool = False) -> xr.DataArray | xr.Dataset:
        """The class map of this probability cube: see :func:`xr_landcover.label`."""
        from .postprocess import label

        return label(self._require_probabilities(), confidence=confidence)

    @delegates("xr_landcover.postprocess:uncertainty")
    def uncertainty(self, method: str = "entropy") -> xr.DataArray:
        """How uncertain each pixel of this probability cube is: see
        :func:`xr_landcover.postprocess.uncertainties.uncertainty`."""
        from .postprocess import uncertainty

        return uncertainty(self._require_probabilities(), method=method)

    @delegates("xr_landcover.postprocess:smooth")
    def smooth(self, window_size: int = 9, neigh_fraction: float = 0.5,
               smoothness: float | Sequence[float] = 20.0) -> xr.DataArray:
        """Bayesian smoothing of this probability cube: see
        :func:`xr_landcover.postprocess.smoothing.smooth`."""
        from .postprocess import smooth

        return smooth(self._require_probabilities(), window_size=window_size,
                      neigh_fraction=neigh_fraction, smoothness=smoothness)

    @delegates("xr_landcover.postprocess:uncertainty_points")
    def uncertainty_points(self, n: int = 100, min_uncertainty: float = 0.4,
                           min_distance: float = 10, exclude=None):
        """Where to add training data on this uncertainty map: see
        :func:`xr_landcover.postprocess.sampling.uncertainty_points`."""
        from .postprocess import uncertainty_points

        return uncertainty_points(self._obj, n=n, min_uncertainty=min_uncertainty,
                                  min_distance=min_distance, exclude=exclude)

    @delegates("xr_landcover.postprocess:reclassify")
    def reclassify(self, mapping: Mapping, names: Mapping | None = None,
                   colors: Mapping | None = None) -> xr.DataArray:
        """Give this class map's (or probability cube's) classes new values, merge, rename
        and recolour them: see :func:`xr_landcover.postprocess.reclassification.reclassify`."""
        from .postprocess import reclassify

        return reclassify(self._obj, mapping, names=names, colors=colors)

    @delegates("xr_landcover.io:to_geotiff")
    def to_geotiff(self, path, overwrite: bool = False, compress: str = "deflate",
                   tile_size: int = 256, lock: Any = None, overviews: str | None = "auto"):
        """Write this array as a tiled, compressed GeoTIFF: see :func:`xr_landcover.to_geotiff`."""
        from .io import to_geotiff

        return to_geotiff(self._obj, path, overwrite=overwrite, compress=compress,
                          tile_size=tile_size, lock=lock, overviews=overviews)

    # -- maps (plot/) -------------------------------------------------------------------------
    @delegates("xr_landcover.plot:plot_classes")
    def plot(self, ax=None, *, legend: bool = True, title: str | None = None,
             max_pixels: int = DEFAULT_MAX_PIXELS, figsize: tuple[float, float] | None = None,
             legend_kwds: Mapping[str, Any] | None = None, **imshow_kwds):
        """Draw this class map with its colours and a legend: see
        :func:`xr_landcover.plot_classes`. For a band cube use :meth:`plot_rgb`."""
        from .plot import plot_classes

        return plot_classes(self._obj, ax, legend=legend, title=title, max_pixels=max_pixels,
                            figsize=figsize, legend_kwds=legend_kwds, **imshow_kwds)

    @delegates("xr_landcover.plot:plot_rgb")
    def plot_rgb(self, ax=None, *, bands: Sequence[str | int] | None = None,
                 stretch: tuple[float, float] | None = (2, 98), title: str | None = None,
                 max_pixels: int = DEFAULT_MAX_PIXELS, figsize: tuple[float, float] | None = None,
                 **imshow_kwds):
        """Draw a true/false colour composite of this cube: see :func:`xr_landcover.plot_rgb`."""
        from .plot import plot_rgb

        return plot_rgb(self._require_cube(), ax, bands=bands, stretch=stretch, title=title,
                        max_pixels=max_pixels, figsize=figsize, **imshow_kwds)

    @delegates("xr_landcover.plot:plot_segments", this="segments")
    def plot_segments(self, rgb_cube, ax=None, *, bands: Sequence[str | int] | None = None,
                      stretch: tuple[float, float] | None = (2, 98), fill: str = "image",
                      color: tuple[float, float, float] = (1.0, 1.0, 0.0), mode: str = "inner",
                      title: str | None = None, max_pixels: int = DEFAULT_MAX_PIXELS,
                      figsize: tuple[float, float] | None = None):
        """Draw this segment map's boundaries over ``rgb_cube``: see
        :func:`xr_landcover.plot_segments`."""
        from .plot import plot_segments

        return plot_segments(rgb_cube, self._obj, ax, bands=bands, stretch=stretch, fill=fill,
                             color=color, mode=mode, title=title, max_pixels=max_pixels,
                             figsize=figsize)

    def explore(self, tiles=None, **kwargs):
        """An interactive folium map of this class map (:func:`xr_landcover.explore_classes`)
        or band cube (:func:`xr_landcover.explore_rgb`, an RGB composite).

        One method for both, so its keyword options are those of the function that applies.

        Parameters
        ----------
        tiles : str, optional
            Base map tiles (folium's names or a URL template; default OpenStreetMap).
        **kwargs
            For a class map (:func:`~xr_landcover.explore_classes`): ``samples``,
            ``class_field``, ``opacity=0.8``, ``name``, ``legend=True``,
            ``legend_position="bottomright"``, ``max_pixels=1500``, ``offline=False``, ``m``
            (an existing map to add the layer to), ``layer_control=True`` and folium
            ``Map`` keywords. For a band cube (:func:`~xr_landcover.explore_rgb`): ``bands``,
            ``stretch=(2, 98)``, ``opacity=1.0``, ``name``, ``max_pixels=1500``,
            ``offline=False``, ``m`` (drawn under the map's class layers),
            ``layer_control=True`` and folium ``Map`` keywords.

        Returns
        -------
        folium.Map
        """
        from .plot import explore_classes, explore_rgb

        if "band" in self._obj.dims:
            return explore_rgb(self._require_cube(), tiles=tiles, **kwargs)
        return explore_classes(self._obj, tiles=tiles, **kwargs)

    # -- accuracy assessment --------------------------------------------------------------------
    @delegates("xr_landcover.assessment:accuracy")
    def accuracy(self, reference, class_field: str | None = None, name_field: str | None = None,
                 training=None):
        """Assess this class map against reference points, polygons or a raster: see
        :func:`xr_landcover.accuracy`."""
        from .assessment import accuracy

        return accuracy(self._obj, reference, class_field=class_field, name_field=name_field,
                        training=training)

    @delegates("xr_landcover.assessment:accuracy_points")
    def accuracy_points(self, n: int | None = None,
                        strategy: str = "stratified_random", allocation: Any = "proportional",
                        min_per_class: int = 0, random_state: Any = 0):
        """Random accuracy-assessment points on this class map: see
        :func:`xr_landcover.accuracy_points`."""
        from .assessment import accuracy_points

        return accuracy_points(self._obj, n=n, strategy=strategy, allocation=allocation,
                               min_per_class=min_per_class, random_state=random_state)

    # -- clean-up of class maps (postprocess/) -----------------------------------------------
    @delegates("xr_landcover.postprocess:majority_filter")
    def majority_filter(self, radius: int = 1, ties: str = "keep", undecided_value: int = 0,
                        only_isolated: bool = False, isolated_threshold: int = 1,
                        neighbors: str | None = None,
                        threshold: str | None = None) -> xr.DataArray:
        """Majority filter of this class map, as OTB's ClassificationMapRegularization (or with
        ArcGIS's rules: ``neighbors=``/``threshold=``), lazily: see
        :func:`xr_landcover.postprocess.majority_filter`."""
        from .postprocess import majority_filter

        return majority_filter(self._obj, radius=radius, ties=ties,
                               undecided_value=undecided_value, only_isolated=only_isolated,
                               isolated_threshold=isolated_threshold, neighbors=neighbors,
                               threshold=threshold)

    @delegates("xr_landcover.postprocess:sieve")
    def sieve(self, min_pixels: int, connectivity: int = 8) -> xr.DataArray:
        """Merge regions smaller than ``min_pixels`` into their biggest neighbour, as GDAL's
        sieve, lazily: see :func:`xr_landcover.postprocess.sieve`."""
        from .postprocess import sieve

        return sieve(self._obj, min_pixels=min_pixels, connectivity=connectivity)

    @delegates("xr_landcover.io:to_zarr")
    def to_zarr(self, store, overwrite: bool = False):
        """Write this array to a Zarr store, chunk by chunk and atomically: see
        :func:`xr_landcover.to_zarr`."""
        from .io import to_zarr

        return to_zarr(self._obj, store, overwrite=overwrite)


@xr.register_dataset_accessor("landcover")
class LandcoverDatasetAccessor:
    """Land-cover tools for Datasets: ``ds.landcover.<method>``.

    Two Datasets meet land-cover work: what ``classify(..., confidence=True)`` returns (the
    layers ``landcover`` and ``confidence``) and what odc-stac's ``load`` returns (one variable
    per band). :meth:`to_geotiff` writes every layer in one computation, :meth:`cube` stacks
    bands into the band cube the DataArray methods take. Every other ``.landcover`` method
    works on a DataArray: called here, it says which one to pick.

    On a Dataset with a variable ``landcover``, ``ds.landcover`` is this accessor, no longer
    that variable: take the class map as ``ds["landcover"]``. Attributes of the variable read
    through the accessor (``ds.landcover.values``) still give the variable's, with a warning
    that says so.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({b: (("y", "x"), np.zeros((2, 2), "float32"))
    ...                  for b in ("red", "nir")})
    >>> ds.landcover.cube().dims, list(ds.landcover.cube(["nir"]).band.values)
    (('band', 'y', 'x'), ['nir'])
    """

    def __init__(self, obj: xr.Dataset):
        self._obj = obj

    def __getattr__(self, name: str):
        """Only for names the accessor lacks: the variable ``landcover``'s attribute (code
        written when ``ds.landcover`` was that variable), with a warning; else the error."""
        if name.startswith("_"):
            raise AttributeError(name)
        ds = self._obj
        if "landcover" in ds.data_vars and hasattr(ds["landcover"], name):
            import warnings

            warnings.warn(
                f"ds.landcover is the Dataset's .landcover accessor (to_geotiff, cube), not the "
                f"variable 'landcover': ds.landcover.{name} gives the variable's {name} for now; "
                f"write ds['landcover'].{name}",
                UserWarning, stacklevel=2)
            return getattr(ds["landcover"], name)
        raise AttributeError(
            f"the Dataset's .landcover accessor has no {name!r} (its methods: to_geotiff, "
            f"cube); the variables are ds[name]: {[str(v) for v in ds.data_vars]}"
        )

    def _layers(self) -> list[str]:
        """The map variables: those with ``y`` and ``x`` dims."""
        return [str(v) for v, da in self._obj.data_vars.items() if {"y", "x"} <= set(da.dims)]

    def cube(self, bands: Sequence[str] | str | None = None) -> xr.DataArray:
        """The band cube ``(..., "band", "y", "x")`` of these variables, lazily (as
        ``ds[bands].to_dataarray("band")``), for the DataArray methods: ``classify``,
        ``train``, ``segment``...

        Parameters
        ----------
        bands : str or sequence of str, optional
            The variables to stack, in this order; default every variable with ``y`` and
            ``x`` dims. The ``band`` coordinate holds their names.

        Returns
        -------
        xarray.DataArray
            The cube, with the Dataset's CRS and transform, and the bands' nodata when they
            all declare the same one (an odc-stac ``nodata`` attr or rioxarray's).

        Raises
        ------
        InvalidParameterError
            A band that is no variable of the Dataset, or a variable without ``y``/``x``.
        """
        import numpy as np

        from .errors import InvalidParameterError

        ds = self._obj
        layers = self._layers()
        names = layers if bands is None else [bands] if isinstance(bands, str) else list(bands)
        unknown = [b for b in names if b not in layers]
        if unknown or not names:
            raise InvalidParameterError(
                f"bands must name variables of the Dataset with dims ('y', 'x'): "
                f"{unknown or 'none given'} {'is' if len(unknown) == 1 else 'are'} not among "
                f"{layers}. Pick some, e.g. ds.landcover.cube({layers[:3]})"
            )
        cube = ds[names].to_dataarray("band").transpose(..., "band", "y", "x")
        cube = cube.assign_coords(band=np.array(names, dtype=object))
        cube.attrs = {}
        cube.name = "bands"
        if ds.rio.crs is not None:
            cube = cube.rio.write_crs(ds.rio.crs)
        declared = {_nodata(ds[b]) for b in names}
        if len(declared) == 1 and None not in declared:
            cube = cube.rio.write_nodata(declared.pop(), encoded=False)
        return cube

    def to_geotiff(self, target, overwrite: bool = False, compress: str = "deflate",
                   tile_size: int = 256, lock: Any = None,
                   overviews: str | None = "auto") -> dict:
        """Write the layers of this Dataset as GeoTIFFs, in one computation: see
        :func:`xr_landcover.io.to_geotiffs` (the class map and the confidence of one
        ``classify`` call share their work).

        Parameters
        ----------
        target : str, path or mapping
            An existing folder: each layer (variable with ``y`` and ``x`` dims) goes to
            ``<folder>/<variable>.tif``. Or a mapping ``{variable: path}``: those layers only.
        overwrite, compress, tile_size, lock, overviews
            As in :func:`xr_landcover.to_geotiff`.

        Returns
        -------
        dict of str to pathlib.Path
            The path of each layer written.

        Raises
        ------
        InvalidParameterError
            ``target`` is a file path (a Dataset is several files), a folder that does not
            exist, or the mapping names a variable the Dataset does not have.
        Those of :func:`xr_landcover.to_geotiff`.
        """
        import os
        from pathlib import Path

        from .errors import InvalidInputTypeError, InvalidParameterError
        from .io import to_geotiffs

        layers = self._layers()
        if isinstance(target, Mapping):
            unknown = [str(v) for v in target if v not in layers]
            if unknown:
                raise InvalidParameterError(
                    f"target names {unknown}, which {'is' if len(unknown) == 1 else 'are'} not "
                    f"a layer of the Dataset; its layers: {layers}"
                )
            paths = {str(v): p for v, p in target.items()}
        elif isinstance(target, str | os.PathLike):
            folder = Path(target)
            if not folder.is_dir():
                example = ", ".join(f"'{v}': '{v}.tif'" for v in layers[:2])
                raise InvalidParameterError(
                    f"target must be an existing folder (one <variable>.tif per layer) or a "
                    f"mapping of layer to path: '{folder}' is "
                    f"{'a file' if folder.exists() else 'no folder'}, and this Dataset has "
                    f"{len(layers)} layers {layers}. Create the folder first, or pass e.g. "
                    f"{{{example}}}"
                )
            paths = {v: folder / f"{v}.tif" for v in layers}
        else:
            raise InvalidInputTypeError(
                f"target must be a folder or a mapping of layer to path; got "
                f"{type(target).__name__}"
            )
        ds = self._obj
        written = to_geotiffs({paths[v]: ds[v] for v in paths}, overwrite=overwrite,
                              compress=compress, tile_size=tile_size, lock=lock,
                              overviews=overviews)
        return dict(zip(paths, written))


def _nodata(da: xr.DataArray):
    """A band's declared nodata: odc-stac's ``nodata`` attr, else rioxarray's (None if none)."""
    value = da.attrs.get("nodata")
    if value is None:
        value = da.rio.nodata if da.rio.nodata is not None else da.rio.encoded_nodata
    return None if value is None else value.item() if hasattr(value, "item") else value


def _dataarray_only(name: str):
    """A Dataset accessor method ``name`` that says which DataArray to call it on."""

    def refuse(self, *args, **kwargs):
        from .errors import InvalidInputTypeError

        layers = self._layers()
        cube_first = name in _CUBE_METHODS
        if cube_first:
            fix = f"ds.landcover.cube().landcover.{name}(...) (bands: {layers})"
        else:
            layer = "landcover" if "landcover" in layers else (layers or ["<variable>"])[0]
            fix = f"ds['{layer}'].landcover.{name}(...)"
        raise InvalidInputTypeError(
            f".landcover.{name} works on a DataArray, and this is a Dataset with the layers "
            f"{layers}: call it on {'the band cube' if cube_first else 'one layer'}, "
            f"e.g. {fix}"
        )

    refuse.__name__ = name
    refuse.__doc__ = (f"DataArray only: see :meth:`LandcoverAccessor.{name}`; on a Dataset, "
                      "pick a layer (``ds['landcover']``) or stack bands (:meth:`cube`).")
    return refuse


#: DataArray methods that take a band cube: on a Dataset, the fix is :meth:`cube`.
_CUBE_METHODS = {"summary", "with_indices", "segment", "train", "classify", "cluster",
                 "predict_proba", "plot_rgb"}

for _name in dir(LandcoverAccessor):
    if not _name.startswith("_") and not hasattr(LandcoverDatasetAccessor, _name):
        setattr(LandcoverDatasetAccessor, _name, _dataarray_only(_name))
del _name
