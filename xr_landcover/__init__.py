"""xr_landcover: land-cover classification and mean-shift segmentation on xarray band cubes.

Importing the package registers the ``.landcover`` accessor on :class:`xarray.DataArray`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .accessor import LandcoverAccessor
from .assessment import AccuracyReport, accuracy, accuracy_points
from .assessment.sample_sizing import SampleSize, sample_size
from .change import change_map, change_table
from .classification import LandcoverModel, classify, cluster, train
from .classmap import ClassMap, class_areas, open_classmap
from .errors import (
    BandMismatchError,
    DimensionError,
    DiskFullError,
    GridMismatchError,
    InvalidInputTypeError,
    InvalidParameterError,
    LandcoverError,
    MissingCRSError,
    ModelFileError,
    ModelFileNotFoundError,
    NoSamplesError,
    OutputExistsError,
    OutputNotWritableError,
    RasterFileNotFoundError,
    RasterReadError,
    SamplesError,
    STACError,
)
from .indices import with_indices
from .io import (
    load_stac,
    open_image,
    open_zarr,
    stac_item,
    stac_item_from_rasters,
    to_geotiff,
    to_zarr,
)

# Imported on first use (PEP 562): geopandas, numba and matplotlib load only for the work that
# needs them, so classifying a cube does not pay for segmentation or plotting. (No lazy name
# may equal a submodule's: importing the submodule would replace the attribute.)
_LAZY = {
    "datasets": (".datasets", None),
    "cross_validate": (".assessment.cross_validation", "cross_validate"),
    "inspect_samples": (".assessment.inspection", "inspect_samples"),
    "hoover_scores": (".assessment.segmentation_quality", "hoover_scores"),
    "boundary_scores": (".assessment.segmentation_quality", "boundary_scores"),
    "compare": (".plot", "compare"),
    "explore_classes": (".plot", "explore_classes"),
    "explore_rgb": (".plot", "explore_rgb"),
    "plot_classes": (".plot", "plot_classes"),
    "plot_rgb": (".plot", "plot_rgb"),
    "plot_segments": (".plot", "plot_segments"),
    "segment_attributes": (".segment", "segment_attributes"),
    "segment_mean": (".segment", "segment_mean"),
    "segments_to_polygons": (".segment", "segments_to_polygons"),
    "predict_proba": (".classification.probabilities", "predict_proba"),
    "label": (".postprocess", "label"),
    "combine": (".postprocess", "combine"),
}

if TYPE_CHECKING:  # for type checkers and IDEs
    from . import datasets
    from .assessment.cross_validation import cross_validate
    from .assessment.inspection import inspect_samples
    from .assessment.segmentation_quality import boundary_scores, hoover_scores
    from .classification.probabilities import predict_proba
    from .plot import (
        compare,
        explore_classes,
        explore_rgb,
        plot_classes,
        plot_rgb,
        plot_segments,
    )
    from .postprocess import combine, label
    from .segment import segment_attributes, segment_mean, segments_to_polygons


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'xr_landcover' has no attribute {name!r}")
    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name, __name__)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "__version__",
    "datasets",
    "open_image",
    "load_stac",
    "stac_item",
    "stac_item_from_rasters",
    "LandcoverAccessor",
    "accuracy",
    "accuracy_points",
    "AccuracyReport",
    "sample_size",
    "cross_validate",
    "inspect_samples",
    "hoover_scores",
    "boundary_scores",
    "SampleSize",
    "LandcoverError",
    "InvalidParameterError",
    "InvalidInputTypeError",
    "RasterFileNotFoundError",
    "RasterReadError",
    "GridMismatchError",
    "MissingCRSError",
    "DimensionError",
    "BandMismatchError",
    "SamplesError",
    "NoSamplesError",
    "ModelFileError",
    "ModelFileNotFoundError",
    "OutputExistsError",
    "STACError",
    "OutputNotWritableError",
    "DiskFullError",
    "plot_classes",
    "plot_rgb",
    "plot_segments",
    "compare",
    "explore_classes",
    "explore_rgb",
    "LandcoverModel",
    "train",
    "classify",
    "predict_proba",
    "label",
    "combine",
    "class_areas",
    "ClassMap",
    "open_classmap",
    "to_geotiff",
    "to_zarr",
    "open_zarr",
    "segment_mean",
    "segment_attributes",
    "segments_to_polygons",
    "change_table",
    "change_map",
    "with_indices",
    "cluster",
]
