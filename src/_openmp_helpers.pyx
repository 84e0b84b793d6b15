"""How the extension was built, and how many OpenMP threads it may use."""

from _openmp cimport TWOLAYER_OPENMP_ENABLED, omp_get_max_threads


def openmp_enabled():
    """True when the extension was compiled with OpenMP support."""
    return bool(TWOLAYER_OPENMP_ENABLED)


def effective_n_threads():
    """OpenMP threads a kernel launched now would use.

    Follows ``OMP_NUM_THREADS`` and
    ``threadpoolctl.threadpool_limits(..., user_api="openmp")``; 1 without
    OpenMP.
    """
    return max(omp_get_max_threads(), 1)
