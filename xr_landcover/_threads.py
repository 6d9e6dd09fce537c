"""Keeping the caller's warning filters intact while dask worker threads run library code.

``warnings.catch_warnings`` is not thread-safe: it saves the process-wide filter list on entry
and puts that list back on exit. rasterio's ``rasterize`` enters one in every worker thread, so
two overlapping tasks can leave one task's temporary ``ignore`` filter behind, and the caller's
own warnings (a dropped class, a user's ``pytest.warns``) are silently swallowed afterwards.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

__all__ = ["keep_warning_filters"]


@contextlib.contextmanager
def keep_warning_filters() -> Iterator[None]:
    """Run the block (typically a ``dask.compute`` whose tasks call rasterio) and put the
    calling thread's warning filters back as they were before it, whatever the worker threads
    left behind.

    Examples
    --------
    >>> import warnings
    >>> before = list(warnings.filters)
    >>> with keep_warning_filters():
    ...     warnings.filters.insert(0, ("ignore", None, Warning, None, 0))  # what a race leaves
    >>> warnings.filters == before
    True
    """
    saved = list(warnings.filters)
    try:
        yield
    finally:
        if warnings.filters != saved:
            warnings.filters[:] = saved
            warnings._filters_mutated()  # noqa: SLF001 (the registries' cache key; no public API)
