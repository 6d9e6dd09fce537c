"""Warnings that point at the user's line, with long lists cut.

Every warning the package issues goes through :func:`warn`: it walks up the call stack past
the package's own frames (the accessor, the module function, its helpers) to the first frame
outside ``xr_landcover`` and gives :func:`warnings.warn` that ``stacklevel``, as pandas'
``find_stack_level`` does. The warning then names the notebook cell or script line that made
the call, whichever path led there, instead of ``accessor.py:111``.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterable

__all__ = ["find_stack_level", "short_list", "warn"]

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
LIST_LIMIT = 10


def find_stack_level() -> int:
    """The ``stacklevel`` that makes a warning issued here point at the first frame outside
    the package (1 = the caller of :func:`warnings.warn`)."""
    frame = sys._getframe(1)  # the caller of find_stack_level
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
        PACKAGE_DIR
    ):
        frame = frame.f_back
        level += 1
    return level


def warn(message: str, category: type[Warning] = UserWarning) -> None:
    """Issue ``message`` as ``category``, attributed to the caller outside the package.

    Parameters
    ----------
    message : str
        What was found and how to fix it.
    category : type of Warning, default UserWarning

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warn("something to fix")
    >>> caught[0].filename.endswith("_warnings.py")
    False
    """
    warnings.warn(message, category, stacklevel=find_stack_level())


def short_list(items: Iterable, limit: int = LIST_LIMIT) -> str:
    """``items`` joined by commas, cut after ``limit`` with ``... and N more``.

    Examples
    --------
    >>> short_list(range(3))
    '0, 1, 2'
    >>> short_list(range(2829), limit=3)
    '0, 1, 2, ... and 2,826 more'
    """
    items = [str(item) for item in items]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... and {len(items) - limit:,} more"
