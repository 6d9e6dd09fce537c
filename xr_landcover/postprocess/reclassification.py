"""Reclassify: give classes new values, merge classes, rename and recolour them.

:func:`reclassify` takes a class map (``(..., "y", "x")`` integers) or a probability cube
(``(..., "class", "y", "x")``) and a mapping in one of two forms:

``{old_value: new_value, ...}``
    Each listed class takes the new value; several classes given one value are merged.
    Classes not listed keep their value.
``{new_name: [old values or names], ...}``
    Each group of classes becomes one class of that name, whose value is the smallest value
    of the group. Classes not listed keep their value and name.

A merged class is named by ``names``, else after the class whose value it keeps, else its
classes' names joined by ``+``; its colour is ``colors``', else that class's, else the first
class's. The class map's ``flag_values``, ``flag_meanings``, ``class_names``, ``flag_colors``,
dtype and fill are rebuilt (:func:`~xr_landcover.classification._common.class_map_dtype`);
nodata stays nodata. On probabilities the probabilities of merged classes are summed (in
float64, in class order), so their classes still sum to 1. One block at a time: no chunking
changes the result.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

import dask.array as dsa
import numpy as np
import xarray as xr

from .._validate import require_dataarray
from ..classification._common import class_map_dtype, wrap_like
from ..classification.probabilities import (
    probabilities_like,
    probability_classes,
    require_probabilities,
)
from ..classmap import ClassMap, class_map_attrs
from ..errors import DimensionError, InvalidInputTypeError, InvalidParameterError

__all__ = ["reclassify", "reclass_table"]


def _is_int(v) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _resolve(item, old: ClassMap, group: str) -> int:
    """An old class value from a value or a name (of the group ``group``)."""
    if _is_int(item):
        if int(item) not in old.values:
            raise InvalidParameterError(
                f"mapping: {item!r} (in {group!r}) is not a class of the map; its classes are "
                f"{dict(zip(old.values, old.names))}")
        return int(item)
    if isinstance(item, str):
        hits = [v for v, n in zip(old.values, old.names) if n == item]
        if len(hits) != 1:
            raise InvalidParameterError(
                f"mapping: {item!r} (in {group!r}) names {'no' if not hits else 'several'} "
                f"class(es) of the map; its classes are {dict(zip(old.values, old.names))}")
        return hits[0]
    raise InvalidInputTypeError(
        f"mapping: the classes of {group!r} must be class values (int) or names (str); got "
        f"{item!r}")


def reclass_table(old: ClassMap, mapping: Mapping, names: Mapping | None = None,
                  colors: Mapping | None = None) -> tuple[dict[int, int], ClassMap]:
    """The new value of each old class and the new classes (numpy-free bookkeeping).

    Examples
    --------
    >>> old = ClassMap((1, 3, 4), ("developed", "herbaceous", "shrubland"), (None,) * 3, 0)
    >>> target, new = reclass_table(old, {"vegetation": ["herbaceous", 4]})
    >>> target, new.values, new.names
    ({1: 1, 3: 3, 4: 3}, (1, 3), ('developed', 'vegetation'))
    """
    if not isinstance(mapping, Mapping) or not mapping:
        raise InvalidInputTypeError(
            "mapping must be a non-empty dict: {old_value: new_value, ...} or "
            f"{{new_name: [old values or names], ...}}; got {mapping!r}")
    keys = list(mapping)
    target = {v: v for v in old.values}
    given_names: dict[int, str] = {}
    if all(isinstance(k, str) for k in keys):
        seen: dict[int, str] = {}
        for new_name, members in mapping.items():
            if isinstance(members, str | int | np.integer):
                members = [members]
            members = [_resolve(m, old, new_name) for m in members]
            if not members:
                raise InvalidParameterError(f"mapping: {new_name!r} lists no class")
            for m in members:
                if m in seen:
                    raise InvalidParameterError(
                        f"mapping: class {m} is in both {seen[m]!r} and {new_name!r}")
                seen[m] = new_name
            for m in members:
                target[m] = min(members)
            given_names[min(members)] = new_name
    elif all(_is_int(k) for k in keys):
        for k, v in mapping.items():
            _resolve(k, old, str(k))
            if not _is_int(v) or not 0 <= int(v) < 65535:
                raise InvalidParameterError(
                    f"mapping: the new value of class {k} must be an integer in [0, 65535); "
                    f"got {v!r}")
            target[int(k)] = int(v)
    else:
        raise InvalidParameterError(
            "mapping keys must be all old class values (ints: {old: new}) or all new class "
            f"names (str: {{name: [old classes]}}); got {keys!r}")
    new_values = sorted(set(target.values()))
    names, colors = dict(names or {}), dict(colors or {})
    unknown = [k for k in names if k not in new_values]
    if unknown:
        raise InvalidParameterError(
            f"names: {unknown} are not new class values (they are {new_values})")
    out_names, out_colors = [], []
    for v in new_values:
        members = [o for o in old.values if target[o] == v]
        kept = v if v in members else members[0]
        if v in names:
            name = str(names[v])
        elif v in given_names:
            name = given_names[v]
        elif v in members or len(members) == 1:
            name = old.names[old.values.index(kept)]
        else:
            name = "+".join(old.names[old.values.index(m)] for m in members)
        color = colors.get(v, colors.get(name, old.colors[old.values.index(kept)]))
        out_names.append(name)
        out_colors.append(None if color is None else tuple(int(c) for c in tuple(color)[:3]))
    twice = sorted({n for n in out_names if out_names.count(n) > 1})
    if twice:
        raise InvalidParameterError(
            f"reclassify would give several classes the name(s) {twice}; merge them or pass "
            "names={value: name}")
    unknown = [k for k in colors if k not in new_values and k not in out_names]
    if unknown:
        raise InvalidParameterError(
            f"colors: {unknown} are not new classes (values {new_values}, names {out_names})")
    return target, ClassMap(tuple(new_values), tuple(out_names), tuple(out_colors), None)


def _remap_block(block, old_values, new_of_old, old_fill, new_fill, dtype):
    out = np.full(block.shape, new_fill, dtype=dtype)
    pos = np.minimum(np.searchsorted(old_values, block), len(old_values) - 1)
    hit = old_values[pos] == block
    out[hit] = new_of_old[pos[hit]]
    stray = ~hit if old_fill is None else ~hit & (block != old_fill)
    if stray.any():
        raise InvalidParameterError(
            f"reclassify: the class map holds value {block[stray][0]}, which is neither one of "
            f"its classes {old_values.tolist()} (flag_values) nor its fill {old_fill}; declare "
            "it in flag_values first")
    return out


def _sum_block(block, groups, n_old):
    class_axis = block.ndim - 3
    p = np.moveaxis(block, class_axis, 0).astype(np.float64)
    out = np.empty((len(groups),) + p.shape[1:], np.float32)
    for i, members in enumerate(groups):
        total = p[members[0]].copy()
        for m in members[1:]:  # in class order: the same sum whatever the chunks
            total += p[m]
        out[i] = total
    return np.moveaxis(out, 0, class_axis)


def reclassify(classes: xr.DataArray, mapping: Mapping, names: Mapping | None = None,
               colors: Mapping | None = None) -> xr.DataArray:
    """Give classes new values, merge, rename and recolour them, lazily.

    Parameters
    ----------
    classes : xarray.DataArray
        A class map ``(..., "y", "x")`` (from :func:`~xr_landcover.classify`,
        :func:`~xr_landcover.open_classmap`...) or a probability cube
        ``(..., "class", "y", "x")`` (from :func:`~xr_landcover.predict_proba`).
    mapping : dict
        ``{old_value: new_value}`` or ``{new_name: [old values or names]}`` (see
        :mod:`~xr_landcover.postprocess.reclassification`).
    names : dict, optional
        ``{new_value: name}`` for the new classes.
    colors : dict, optional
        ``{new_value or new name: (r, g, b)}``.

    Returns
    -------
    xarray.DataArray
        The same kind of array as ``classes`` with the new classes: a class map with
        rebuilt CF flags, names, colours, dtype and fill (nodata stays nodata), or a
        probability cube whose merged classes' probabilities are summed.

    Raises
    ------
    InvalidParameterError
        A class in ``mapping`` that the map does not have, a class in two groups, mixed key
        kinds, a new value out of range, duplicate names; on compute, a pixel value that is
        neither a declared class nor the fill.
    InvalidInputTypeError
        ``mapping`` is not a dict; ``classes`` is not an integer map or a probability cube.
    DimensionError
        ``classes`` is a band cube.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> import xr_landcover
    >>> m = xr.DataArray(np.array([[1, 3, 4, 0]], "uint8"), dims=("y", "x"),
    ...                  attrs={"flag_values": [1, 3, 4], "_FillValue": 0,
    ...                         "class_names": ["developed", "herbaceous", "shrubland"]})
    >>> merged = m.landcover.reclassify({"vegetation": ["herbaceous", "shrubland"]})
    >>> merged.values.tolist(), merged.attrs["flag_meanings"]
    ([[1, 3, 3, 0]], 'developed vegetation')
    """
    classes = require_dataarray(classes, "classes")
    if "band" in classes.dims:
        raise DimensionError(
            f"classes must be a class map or a probability cube; got a band cube "
            f"{classes.dims}: classify it first")
    if "class" in classes.dims:
        p = require_probabilities(classes, "classes")
        target, new = reclass_table(probability_classes(p), mapping, names, colors)
        old_values = [int(v) for v in p["class"].values]
        groups = [[old_values.index(o) for o in sorted(old_values) if target[o] == v]
                  for v in new.values]
        data = p.data
        if not isinstance(data, dsa.Array):
            data = dsa.from_array(np.asarray(data), chunks=-1)
        axis = data.ndim - 3
        data = data.rechunk({axis: -1})
        chunks = (*data.chunks[:axis], (len(groups),), *data.chunks[axis + 1:])
        summed = dsa.map_blocks(_sum_block, data, groups, len(old_values), chunks=chunks,
                                dtype=np.float32,
                                name=f"landcover-reclassify-{uuid.uuid4().hex}")
        return probabilities_like(summed, p.isel({"class": 0}, drop=True), new.values,
                                  new.names, new.colors)
    if not {"y", "x"} <= set(classes.dims) or not np.issubdtype(classes.dtype, np.integer):
        raise InvalidInputTypeError(
            f"classes must be an integer class map (..., 'y', 'x') or a probability cube; "
            f"got dims {classes.dims}, dtype {classes.dtype}")
    old = ClassMap.from_dataarray(classes)
    if not old.values:
        raise InvalidParameterError(
            "classes declares no classes (no flag_values, colormap or CLASS_ tags): set "
            "classes.attrs['flag_values'] = [...] first")
    target, new = reclass_table(old, mapping, names, colors)
    new = new.complete_colors()
    dtype, fill = class_map_dtype(new.values)
    old_values = np.asarray(old.values, dtype=np.int64)
    new_of_old = np.asarray([target[v] for v in old.values], dtype=dtype)
    data = classes.data
    if not isinstance(data, dsa.Array):
        data = dsa.from_array(np.asarray(data), chunks=-1)
    old_fill = None if old.nodata is None else int(old.nodata)
    remapped = dsa.map_blocks(_remap_block, data, old_values, new_of_old, old_fill, fill,
                              dtype, dtype=dtype,
                              name=f"landcover-reclassify-{uuid.uuid4().hex}")
    out = wrap_like(remapped, classes, classes.name or "landcover")
    out.attrs.update(class_map_attrs(new.values, new.names, new.colors, dtype))
    return out.rio.write_nodata(fill, encoded=False)
