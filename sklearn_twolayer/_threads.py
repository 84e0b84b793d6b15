"""Thread pools around the kernels.

The kernels call BLAS from inside their OpenMP threads, so BLAS itself must
run single-threaded meanwhile (as scikit-learn's KMeans does); otherwise each
OpenMP thread would start a BLAS pool of its own and oversubscribe the cores.

Inside a Dask worker the worker's own thread count is the budget: a task gets
the worker's threads shared among the tasks it is running at that moment.
"""

import sys
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

from ._openmp_helpers import effective_n_threads as openmp_n_threads

__all__ = ["effective_n_threads", "single_threaded_blas"]

_controller = None


def _get_controller():
    # Created on first use, when the BLAS behind scipy's cython_blas (loaded
    # by the kernel modules) is already in the process.
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


@contextmanager
def single_threaded_blas():
    """Limit every BLAS library of the process to one thread meanwhile."""
    with _get_controller().limit(limits=1, user_api="blas"):
        yield


def effective_n_threads():
    """OpenMP threads the kernels started now should use.

    Inside a Dask worker: the worker's thread count divided among the tasks it
    is executing (at least 1). Elsewhere: what OpenMP allows, following
    ``OMP_NUM_THREADS`` and ``threadpoolctl.threadpool_limits``.
    """
    share = dask_worker_share()
    return openmp_n_threads() if share is None else share


def dask_worker_share():
    """Threads of the Dask worker running this task, per executing task.

    None outside a Dask worker. Dask's nanny starts worker processes with
    ``OMP_NUM_THREADS=1`` whatever the worker's size, so OpenMP's own default
    says nothing about the worker; its ``nthreads`` does.
    """
    # Only a process that already imported distributed can be a worker.
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:
        return None
    state = worker.state
    return max(state.nthreads // max(state.executing_count, 1), 1)
