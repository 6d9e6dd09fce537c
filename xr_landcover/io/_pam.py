"""GDAL's PAM sidecar of a class-map GeoTIFF: category names and a raster attribute table.

A GeoTIFF has no place for a raster attribute table (RAT) or category names: GDAL keeps them
in its PAM sidecar ``<file>.aux.xml`` beside the file (GDAL's GTiff driver stores its RAT only
there), where ``gdalinfo``, QGIS (3.30+) and other GDAL-based tools find them and show
"forest" rather than 5. :func:`pam_xml` writes that sidecar for a class map: the category
names and a thematic RAT with the columns ``Value``, ``ClassName``, ``Red``, ``Green``,
``Blue`` and ``Count`` (the pixels of each class, counted while the blocks are written:
:func:`count_classes_per_block`).

The sidecar is a second file, replaced with the GeoTIFF (:func:`replacing_sidecar`): the old
one is moved aside before the GeoTIFF is renamed into place, the new one renamed after it, so
that a GeoTIFF is never paired with another file's sidecar; an error puts the old one back.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..classmap import ClassMap
from ..errors import OutputExistsError
from ._atomic import OLD_SUFFIX, new_token, remove_stale_stages, staging_name
from ._paths import PathLike

__all__ = ["PAM_SUFFIX", "Sidecar", "class_counts", "count_classes_per_block", "pam_xml",
           "replacing_sidecar", "sidecar_path"]

#: GDAL's PAM sidecar is ``<file><PAM_SUFFIX>``.
PAM_SUFFIX = ".aux.xml"

# GDAL's enums (gdal.h): GDALRATFieldType and GDALRATFieldUsage
_INTEGER, _STRING = 0, 2
_PIXEL_COUNT, _NAME, _MIN_MAX, _RED, _GREEN, _BLUE = 1, 2, 5, 6, 7, 8
#: Category names are a list indexed by value: written for values 0 .. this at most.
MAX_CATEGORY = 65535


def sidecar_path(path: PathLike) -> Path:
    """GDAL's PAM sidecar of ``path``: ``<path>.aux.xml``.

    Examples
    --------
    >>> sidecar_path("out/classes.tif").as_posix()
    'out/classes.tif.aux.xml'
    """
    path = Path(path)
    return path.with_name(path.name + PAM_SUFFIX)


def class_counts(block: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Pixels of ``block`` equal to each of ``values`` (sorted), as int64."""
    block = np.asarray(block).ravel()
    values = np.asarray(values, dtype=np.int64)
    if block.dtype.kind == "u" and block.dtype.itemsize <= 2:  # small range: one bincount
        counts = np.bincount(block, minlength=1 << (8 * block.dtype.itemsize))
        inside = (values >= 0) & (values < counts.size)
        return np.where(inside, counts[np.clip(values, 0, counts.size - 1)], 0).astype(np.int64)
    present, counts = np.unique(block, return_counts=True)
    out = np.zeros(values.size, np.int64)
    if present.size:
        pos = np.clip(np.searchsorted(present, values), 0, present.size - 1)
        hit = present[pos] == values
        out[hit] = counts[pos[hit]]
    return out


def _block_counts(block: np.ndarray, values: np.ndarray) -> np.ndarray:
    return class_counts(block, values).reshape((1,) * block.ndim + (-1,))


def count_classes_per_block(data, values) -> object:
    """The pixels of each class of ``values`` in the dask array ``data``: a lazy ``(k,)``
    int64 array, one small count per block (computed with the blocks that are written, so
    that the count costs no second pass over the data)."""
    values = np.asarray(values, dtype=np.int64)
    ndim = data.ndim
    per_block = data.map_blocks(
        _block_counts, values, dtype=np.int64, new_axis=ndim,
        chunks=tuple((1,) * len(c) for c in data.chunks) + ((values.size,),))
    return per_block.sum(axis=tuple(range(ndim)))


def pam_xml(classes: ClassMap, counts: np.ndarray | None = None) -> bytes:
    """GDAL's PAM XML for band 1 of a class map: category names and a thematic RAT.

    Parameters
    ----------
    classes : ClassMap
        The classes (values, names, colours; a class without a colour gets the one
        :meth:`ClassMap.complete_colors` gives it).
    counts : array of int, optional
        Pixels of each class, in the order of ``classes.values``; without it the RAT has no
        ``Count`` column.

    Examples
    --------
    >>> m = ClassMap(values=(1, 2), names=("water", "forest"),
    ...              colors=((70, 107, 159), (56, 133, 56)), nodata=0)
    >>> text = pam_xml(m, [10, 5]).decode()
    >>> "<Category>forest</Category>" in text, "<Name>Count</Name>" in text
    (True, True)
    """
    full = classes.complete_colors()
    dataset = ET.Element("PAMDataset")
    band = ET.SubElement(dataset, "PAMRasterBand", band="1")
    values = [int(v) for v in full.values]
    if values and min(values) >= 0 and max(values) <= MAX_CATEGORY:
        names = dict(zip(values, full.names))
        categories = ET.SubElement(band, "CategoryNames")
        for v in range(max(values) + 1):
            ET.SubElement(categories, "Category").text = names.get(v, "")
    table = ET.SubElement(band, "GDALRasterAttributeTable", tableType="thematic")
    fields = [("Value", _INTEGER, _MIN_MAX), ("ClassName", _STRING, _NAME),
              ("Red", _INTEGER, _RED), ("Green", _INTEGER, _GREEN), ("Blue", _INTEGER, _BLUE)]
    if counts is not None:
        fields.append(("Count", _INTEGER, _PIXEL_COUNT))
    for i, (name, kind, usage) in enumerate(fields):
        field = ET.SubElement(table, "FieldDefn", index=str(i))
        ET.SubElement(field, "Name").text = name
        ET.SubElement(field, "Type").text = str(kind)
        ET.SubElement(field, "Usage").text = str(usage)
    for row_index, (v, name, rgb) in enumerate(zip(values, full.names, full.colors)):
        row = ET.SubElement(table, "Row", index=str(row_index))
        cells = [v, name, *rgb] + ([int(counts[row_index])] if counts is not None else [])
        for cell in cells:
            ET.SubElement(row, "F").text = str(cell)
    ET.indent(dataset)
    return ET.tostring(dataset, encoding="utf-8") + b"\n"


class Sidecar:
    """The sidecar of one GeoTIFF write: where the new one is staged (``staging``; written
    or not) and where an old one is moved aside (:meth:`set_aside`)."""

    def __init__(self, path: PathLike):
        self.path = sidecar_path(path)
        token = new_token()
        self.staging = staging_name(self.path, token)
        self.old = staging_name(self.path, token, OLD_SUFFIX)

    def set_aside(self) -> None:
        """Move an existing sidecar aside: call it just before the GeoTIFF is renamed."""
        if os.path.lexists(self.path):
            os.replace(self.path, self.old)


@contextmanager
def replacing_sidecar(path: PathLike, overwrite: bool) -> Iterator[Sidecar]:
    """Replace the PAM sidecar of ``path`` together with ``path``.

    Enter it *before* the :func:`~xr_landcover.io._atomic.atomic_file` of ``path`` (so that
    it exits after the GeoTIFF's rename), write the new sidecar (if any) to
    ``sidecar.staging`` and call ``sidecar.set_aside()`` once everything else is done. On
    success the old sidecar (the metadata of the file just replaced) is deleted and the new
    one, if written, renamed into place; on an error or interrupt the new one is removed and
    the old one put back.

    Raises
    ------
    OutputExistsError
        A sidecar exists and ``overwrite`` is False: GDAL would read it as the new file's.
    """
    side = Sidecar(path)
    remove_stale_stages(side.path)
    if os.path.lexists(side.path) and not overwrite:
        raise OutputExistsError(
            f"'{side.path}' exists: GDAL would read it as the metadata (class names, "
            f"statistics) of the new '{Path(path).name}'; pass overwrite=True to replace it "
            "with the file, or delete it")
    try:
        yield side
    except BaseException:
        side.staging.unlink(missing_ok=True)
        if os.path.lexists(side.old) and not os.path.lexists(side.path):
            os.replace(side.old, side.path)
        raise
    side.old.unlink(missing_ok=True)
    if side.staging.exists():
        os.replace(side.staging, side.path)
