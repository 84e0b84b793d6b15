"""Thread pools around the kernels.

The kernels call BLAS from inside their OpenMP threads, so BLAS itself must
run single-threaded meanwhile (as scikit-learn's KMeans does); otherwise each
OpenMP thread would start a BLAS pool of its own and oversubscribe the cores.
"""

from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

from ._openmp_helpers import effective_n_threads

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
