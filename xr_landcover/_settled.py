"""Computing a dask collection so that, when one task fails, no other is still running.

dask's local schedulers raise the first task error at once while the other worker threads (or
processes) finish the tasks they had started; a ``distributed`` cluster does the same. For a
write into a staging folder that is fatal to the clean-up: a Zarr chunk written after the
staging folder was removed creates the folder again (Zarr makes the parent folders of every
chunk file), and the half-written stage stays behind. :func:`compute_settled` waits until every
started task has ended before it raises, so whatever the caller removes stays removed.
"""

from __future__ import annotations

import time
from concurrent import futures
from concurrent.futures import Executor
from typing import Any

__all__ = ["compute_settled"]

#: How long to wait for a cluster's workers to finish the tasks they had started (seconds).
CLUSTER_SETTLE_TIMEOUT = 600.0


class _TrackedExecutor(Executor):
    """An executor that hands every task to ``inner`` and remembers its future, so that
    :meth:`wait` can wait for all of them (dask needs ``submit`` and ``_max_workers``)."""

    def __init__(self, inner):
        self.inner = inner
        self._max_workers = inner._max_workers
        self.futures: list = []

    def submit(self, fn, /, *args, **kwargs):
        future = self.inner.submit(fn, *args, **kwargs)
        self.futures.append(future)
        return future

    def wait(self) -> None:
        futures.wait(self.futures)


def _compute_locally(collection, scheduler) -> tuple[bool, Any]:
    """Compute on dask's threaded or processes scheduler, waiting for every started task
    when one fails; ``(False, None)`` for any other scheduler."""
    import multiprocessing.pool

    import dask
    import dask.multiprocessing
    import dask.threaded
    from dask.local import MultiprocessingPoolExecutor

    if scheduler not in (dask.threaded.get, dask.multiprocessing.get):
        return False, None
    pool = dask.config.get("pool", None)
    if pool is None and scheduler is dask.multiprocessing.get:
        # dask starts a pool for this compute and shuts it down, waiting, before it raises
        return True, dask.compute(collection, scheduler=scheduler)[0]
    own = pool is None
    if own:  # instead of dask's shared pool, whose other tasks we would wait for too
        pool = futures.ThreadPoolExecutor(dask.config.get("num_workers", None) or
                                          dask.system.CPU_COUNT)
    elif isinstance(pool, multiprocessing.pool.Pool):
        pool = MultiprocessingPoolExecutor(pool)
    tracked = _TrackedExecutor(pool)
    try:
        return True, dask.compute(collection, scheduler=scheduler, pool=tracked)[0]
    finally:
        tracked.wait()
        if own:
            pool.shutdown()


def _cluster_client(scheduler):
    """The ``distributed.Client`` whose ``get`` is ``scheduler``, or None."""
    client = getattr(scheduler, "__self__", None)
    return client if type(client).__name__ == "Client" else None


def _still_running(client, names: set[str]) -> list:
    """Keys of ``names``' tasks that a worker is still executing (cancelled ones included)."""

    def running(dask_worker, names=frozenset(names)):
        return [str(key) for key, ts in dask_worker.state.tasks.items()
                if ts.state in ("executing", "long-running", "cancelled", "resumed")
                and (key[0] if isinstance(key, tuple) else key) in names]

    return [key for keys in client.run(running).values() for key in keys]


def compute_settled(collection: Any) -> Any:
    """Compute ``collection`` on the active dask scheduler; if a task raises, wait until no
    task of it is still running anywhere, then raise that error.

    On dask's threaded scheduler the tasks run in a private thread pool (or the ``pool`` set
    in dask's config) whose futures are all waited for before the error propagates; the
    processes scheduler shuts its own pool down, waiting, and a configured pool is waited for
    the same way; on a ``distributed`` cluster the workers are asked until none of them
    executes a task of this graph any more. The synchronous scheduler runs one task at a time
    and needs nothing.

    Parameters
    ----------
    collection : dask collection
        Typically the delayed write of ``to_zarr(..., compute=False)``.

    Returns
    -------
    The computed result.

    Examples
    --------
    >>> import dask
    >>> compute_settled(dask.delayed(sum)([1, 2, 3]))
    6
    """
    import dask
    from dask.base import get_scheduler

    scheduler = get_scheduler(collections=[collection])
    done, result = _compute_locally(collection, scheduler)
    if done:
        return result
    client = _cluster_client(scheduler)
    if client is None:
        return dask.compute(collection)[0]
    names = {key[0] if isinstance(key, tuple) else key
             for key in collection.__dask_graph__().keys()}
    future = client.compute(collection)
    try:
        return future.result()
    except BaseException:
        client.cancel(future)
        deadline = time.monotonic() + CLUSTER_SETTLE_TIMEOUT
        while _still_running(client, names) and time.monotonic() < deadline:
            time.sleep(0.05)
        raise
