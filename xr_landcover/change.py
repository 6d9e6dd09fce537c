"""Land-cover change between two dates of a class-map time series: from-to tables and maps.

Both functions work on a class map with a ``time`` dimension (``(time, y, x)``, as
``classify`` returns for a STAC time series) and the class-map attributes (``flag_values``,
``class_names``, ``flag_colors``, ``_FillValue``). The table is one lazy ``bincount`` per chunk,
summed: only a ``K x K`` array of counts is ever brought back.
"""

from __future__ import annotations

from typing import Any

import dask.array as dsa
import numpy as np
import pandas as pd
import xarray as xr

from .classmap import ClassMap, hex_colors
from .errors import DimensionError, InvalidParameterError

__all__ = ["change_table", "change_map"]

#: Colour of unchanged pixels in :func:`change_map`.
UNCHANGED_RGB = (220, 220, 220)


def _class_table(classes: xr.DataArray) -> tuple[np.ndarray, list[str], dict, Any]:
    """Class values, names, colours and fill value of a class map (:class:`ClassMap`)."""
    table = ClassMap.from_dataarray(classes)
    if not table.values:
        raise InvalidParameterError(
            "the class map has no 'flag_values' attribute; pass a map made by "
            "cube.landcover.classify (or set attrs flag_values / class_names yourself)"
        )
    colormap = {v: c for v, c in zip(table.values, table.colors) if c is not None}
    return np.asarray(table.values, dtype="int64"), list(table.names), colormap, table.nodata


def _select_date(classes: xr.DataArray, when: Any, name: str) -> xr.DataArray:
    if "time" not in classes.dims:
        raise DimensionError(
            f"change needs a class map with a 'time' dimension; this one has {classes.dims}"
        )
    if isinstance(when, int | np.integer):
        if not -classes.sizes["time"] <= when < classes.sizes["time"]:
            raise InvalidParameterError(
                f"{name}={when} is out of range for {classes.sizes['time']} time steps"
            )
        return classes.isel(time=int(when))
    try:
        return classes.sel(time=when, method="nearest" if not isinstance(when, str) else None)
    except KeyError:
        available = [str(t)[:10] for t in classes.time.values]
        raise InvalidParameterError(
            f"{name}={when!r} is not a time step of the class map; available: {available}"
        ) from None


def _date(one_step: xr.DataArray) -> str:
    return str(one_step.time.values)[:10]


def _index_codes(
    start: xr.DataArray, end: xr.DataArray, values: np.ndarray
) -> tuple[dsa.Array, int]:
    """Per pixel ``i_from * K + i_to`` (class positions), or ``K*K`` where either is nodata."""
    k = len(values)
    lookup = np.full(int(values.max()) + 2, k, dtype="int64")  # unknown value -> position k
    lookup[values] = np.arange(k)

    def positions(block: np.ndarray) -> np.ndarray:
        block = block.astype("int64")
        inside = (block >= 0) & (block < len(lookup) - 1)
        return np.where(inside, lookup[np.clip(block, 0, len(lookup) - 1)], k)

    a = dsa.asarray(start.data).map_blocks(positions, dtype="int64")
    b = dsa.asarray(end.data).map_blocks(positions, dtype="int64")
    codes = dsa.where((a < k) & (b < k), a * k + b, k * k)
    return codes, k


def change_table(
    classes: xr.DataArray, start: Any = 0, end: Any = -1, units: str = "ha"
) -> pd.DataFrame:
    """From-to matrix of land-cover change between two dates.

    Parameters
    ----------
    classes : xarray.DataArray
        Class map ``(time, y, x)`` with the class-map attributes.
    start, end : int, str or datetime
        The two time steps: positions (``0``, ``-1``) or time labels (``"2016-01-01"``).
    units : {"ha", "km2", "m2", "pixels"}
        Units of the table's cells.

    Returns
    -------
    pandas.DataFrame
        Rows: class at ``start`` ("from"), columns: class at ``end`` ("to"), with a ``total``
        row and column. Pixels that are nodata at either date are left out.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> maps = xr.DataArray(np.array([[[1, 1], [2, 2]], [[1, 2], [2, 2]]], "uint8"),
    ...                     dims=("time", "y", "x"),
    ...                     coords={"x": [5.0, 15.0], "y": [15.0, 5.0]},
    ...                     attrs={"flag_values": [1, 2], "class_names": ["forest", "crop"],
    ...                            "_FillValue": 0})
    >>> change_table(maps.rio.write_crs("EPSG:32618"), units="pixels")
    to      forest  crop  total
    from
    forest       1     1      2
    crop         0     2      2
    total        1     3      4
    """
    factors = {"pixels": None, "m2": 1.0, "ha": 1e-4, "km2": 1e-6}
    if units not in factors:
        raise InvalidParameterError(f"units must be one of {sorted(factors)}, got {units!r}")
    values, names, _, _ = _class_table(classes)
    codes, k = _index_codes(
        _select_date(classes, start, "start"), _select_date(classes, end, "end"), values
    )
    # A small reduction: K*K+1 counts, whatever the size of the map.
    counts = dsa.bincount(codes.ravel(), minlength=k * k + 1)[: k * k].compute()
    matrix = counts.reshape(k, k).astype("float64")
    if factors[units] is not None:
        res_x, res_y = classes.rio.resolution()
        matrix *= abs(res_x * res_y) * factors[units]
    else:
        matrix = matrix.astype("int64")
    table = pd.DataFrame(
        matrix, index=pd.Index(names, name="from"), columns=pd.Index(names, name="to")
    )
    table["total"] = table.sum(axis=1)
    table.loc["total"] = table.sum(axis=0)
    return table


def change_map(classes: xr.DataArray, start: Any = 0, end: Any = -1) -> xr.DataArray:
    """Lazy map of from-to change codes between two dates, with its colours.

    The code of a pixel is ``1 + i_from * K + i_to`` where ``i_*`` are positions of the
    classes in ``flag_values`` and ``K`` their number; ``0`` is nodata at either date.
    Unchanged pixels are drawn light grey; changed pixels in the colour of their new class.

    Parameters
    ----------
    classes : xarray.DataArray
        Class map ``(time, y, x)`` with the class-map attributes.
    start, end : int, str or datetime
        The two time steps.

    Returns
    -------
    xarray.DataArray
        uint16 (uint32 past 255 classes) ``(y, x)`` named ``"change"`` with CF
        ``flag_values``/``flag_meanings`` (``forest_to_crop`` ...), ``class_names``,
        ``flag_colors`` and ``_FillValue`` 0.
    """
    values, names, colormap, _ = _class_table(classes)
    first = _select_date(classes, start, "start")
    last = _select_date(classes, end, "end")
    codes, k = _index_codes(first, last, values)
    # codes 1 .. K*K: uint16 holds them up to 255 classes (a 256th would wrap to 0, nodata)
    dtype = "uint16" if k * k <= np.iinfo("uint16").max else "uint32"
    change = dsa.where(codes < k * k, codes + 1, 0).astype(dtype)
    flag_values, meanings, colours = [], [], {}
    for i, from_name in enumerate(names):
        for j, to_name in enumerate(names):
            code = 1 + i * k + j
            flag_values.append(code)
            label = f"{from_name} to {to_name}" if i != j else f"{from_name} unchanged"
            meanings.append(label)
            colours[code] = UNCHANGED_RGB if i == j else colormap.get(int(values[j]), (0, 0, 0))
    out = xr.DataArray(
        change,
        dims=first.dims,
        coords={c: v for c, v in first.coords.items() if c != "time"},
        name="change",
        attrs={
            "flag_values": flag_values,
            "flag_meanings": " ".join(m.replace(" ", "_") for m in meanings),
            "class_names": meanings,
            "flag_colors": hex_colors([colours[c] for c in flag_values]),
            "_FillValue": 0,
            "long_name": f"land-cover change from {_date(first)} to {_date(last)}",
        },
    )
    if classes.rio.crs is not None:
        out = out.rio.write_crs(classes.rio.crs)
    return out
