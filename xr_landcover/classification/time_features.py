"""Time series as features: a ``(time, band, y, x)`` cube as one ``(band, y, x)`` cube whose
bands are every date's bands, named ``band@date`` (``red@2016-01-01``...).

:func:`xr_landcover.train` stacks a cube with one extra dim this way, so the estimator sees
each pixel's whole series (the core use of sits and of multi-date classifiers); the model
remembers the dim (:attr:`~xr_landcover.LandcoverModel.time_dim`), and
:func:`xr_landcover.classify` stacks the cube it is given the same way, giving one ``(y, x)``
map. The dates must be the same: they are in the feature names, which are matched like band
names. A single-date model is unchanged (a cube with a time dim is classified date by date).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._validate import CUBE_DIMS
from ..errors import DimensionError

__all__ = ["stack_dates", "date_labels", "feature_base_names"]


def date_labels(values) -> list[str]:
    """The labels of a time coordinate: ISO dates (``2016-01-01``) when every value is at
    midnight, ISO date-times to the second otherwise; other values as ``str``.

    Examples
    --------
    >>> date_labels(np.array(["2016-01-01", "2016-04-01"], dtype="datetime64[ns]"))
    ['2016-01-01', '2016-04-01']
    >>> date_labels([2019, 2020])
    ['2019', '2020']
    """
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.datetime64):
        days = values.astype("datetime64[D]")
        unit = "D" if np.all(days == values) else "s"
        return [str(v) for v in np.datetime_as_string(values, unit=unit)]
    return [str(v.item() if isinstance(v, np.generic) else v) for v in values]


def feature_base_names(bands) -> set[str]:
    """The band names without their ``@date`` (``{"red", "ndvi"}`` from ``red@2016-01-01``,
    ``ndvi@2016-01-01``)."""
    return {str(b).rsplit("@", 1)[0] for b in bands}


def stack_dates(cube: xr.DataArray, dim: str | None = None,
                name: str = "cube") -> tuple[xr.DataArray, str | None]:
    """``cube`` ``(dim, band, y, x)`` as ``(band, y, x)`` with bands ``band@date``, date-major
    (every band of the first date, then of the next...), lazily; and the dim's name.

    Parameters
    ----------
    cube : xarray.DataArray
        A band cube ``(..., "band", "y", "x")`` (dims in that order, as
        :func:`~xr_landcover._validate.require_cube` gives them).
    dim : str, optional
        The dim to stack, required to exist (a time-series model's). None: the cube's one
        extra dim if it has one; a cube without is returned as it is, with None.
    name : str
        The argument's name, for the messages.

    Raises
    ------
    DimensionError
        ``dim`` missing from the cube, more than one extra dim, an extra dim without
        coordinate values, or repeated values.
    """
    extra = [d for d in cube.dims if d not in CUBE_DIMS]
    if dim is not None and dim not in extra:
        raise DimensionError(
            f"the model was trained on a time series (dim {dim!r}, features band@date); {name} "
            f"has dims {cube.dims}. Give it the same dates along {dim!r}"
        )
    if dim is None:
        if not extra:
            return cube, None
        if len(extra) > 1:
            raise DimensionError(
                f"a time series has one extra dim besides ('band', 'y', 'x'); {name} has "
                f"{extra}. Select one, e.g. {name}.isel({extra[1]}=0)"
            )
        dim = extra[0]
    if len(extra) > 1:
        others = [d for d in extra if d != dim]
        raise DimensionError(
            f"{name} has extra dims {others} besides {dim!r}; select one, e.g. "
            f"{name}.isel({others[0]}=0)"
        )
    if dim not in cube.coords:
        raise DimensionError(
            f"{name}'s dim {dim!r} has no coordinate values: a time series names its features "
            f"band@date. Give it dates ({name}.assign_coords({dim}=[...])), or take one image, "
            f"e.g. {name}.isel({dim}=0)"
        )
    labels = date_labels(cube[dim].values)
    if len(set(labels)) != len(labels):
        repeated = sorted({v for v in labels if labels.count(v) > 1})
        raise DimensionError(
            f"{name}'s {dim!r} coordinate repeats {repeated}: each date gives one set of "
            f"features; drop the duplicates ({name}.drop_duplicates({dim!r}))"
        )
    bands = [str(b) for b in cube.band.values]
    parts = [
        cube.isel({dim: i}, drop=True).assign_coords(band=[f"{b}@{label}" for b in bands])
        for i, label in enumerate(labels)
    ]
    stacked = xr.concat(parts, dim="band", combine_attrs="override")
    stacked.attrs = dict(cube.attrs)
    stacked.encoding = dict(cube.encoding)
    return stacked.transpose(*CUBE_DIMS), dim
