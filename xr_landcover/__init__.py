"""xr_landcover: land-cover classification and mean-shift segmentation on xarray band cubes.

Importing the package registers the ``.landcover`` accessor on :class:`xarray.DataArray`.
"""

from __future__ import annotations

from . import datasets
from .accessor import LandcoverAccessor
from .accuracy import AccuracyReport, accuracy, accuracy_points
from .change import change_map, change_table
from .classification import class_areas, classify
from .errors import (
    BandMismatchError,
    DimensionError,
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
from .io import load_stac, open_image, open_zarr, stac_item_from_rasters, to_geotiff, to_zarr
from .model import LandcoverModel, train
from .plot import (
    compare,
    explore_classes,
    explore_rgb,
    plot_classes,
    plot_rgb,
    plot_segments,
)
from .segment import segment_attributes, segment_mean, segments_to_polygons

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "datasets",
    "open_image",
    "load_stac",
    "stac_item_from_rasters",
    "LandcoverAccessor",
    "accuracy",
    "accuracy_points",
    "AccuracyReport",
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
    "plot_classes",
    "plot_rgb",
    "plot_segments",
    "compare",
    "explore_classes",
    "explore_rgb",
    "LandcoverModel",
    "train",
    "classify",
    "class_areas",
    "to_geotiff",
    "to_zarr",
    "open_zarr",
    "segment_mean",
    "segment_attributes",
    "segments_to_polygons",
    "change_table",
    "change_map",
]
