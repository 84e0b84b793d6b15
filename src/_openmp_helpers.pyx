"""How the extension was built, and how many OpenMP threads it may use."""

from cython.parallel cimport parallel

from _blocks cimport MIN_FLOPS_PER_THREAD as _MIN_FLOPS_PER_THREAD

from _openmp cimport (
    TWOLAYER_OPENMP_ENABLED, Barrier, barrier, barrier_init,
    omp_get_max_threads, omp_get_num_threads, omp_get_thread_num, wtime,
)

#: Least work (floating-point operations) per thread between two barriers;
#: the trainer splits no batch of less than twice this.
MIN_FLOPS_PER_THREAD = _MIN_FLOPS_PER_THREAD


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


def barrier_seconds(int n_threads, Py_ssize_t n_barriers, double delay=0):
    """Wall time of ``n_barriers`` meetings of a team of ``n_threads`` at
    the trainer's barrier (``_openmp.pxd``), for the scaling model.

    Parameters
    ----------
    n_threads : int
        Threads asked for; the team may be smaller.
    n_barriers : int
    delay : float, default=0
        Seconds one thread spins before each barrier (thread ``i % team``
        before the i-th), so that the others arrive first and wait
        (spinning, then asleep) as at the end of an unbalanced phase, and
        the next to spin is one that waited: its wake-up is counted, the
        delays are not.

    Returns
    -------
    seconds : float
        Per barrier, as thread 0 sees it.
    team : int
        Threads that ran.
    """
    cdef Barrier meeting
    cdef Barrier* meet = &meeting
    cdef double result[2]
    cdef double* out = result
    cdef double start, t
    cdef Py_ssize_t i
    cdef int tid, team
    if n_threads < 1 or n_barriers < 1 or delay < 0:
        raise ValueError("n_threads and n_barriers must be positive, delay "
                         "not negative")
    barrier_init(meet)
    with nogil, parallel(num_threads=n_threads):
        tid = omp_get_thread_num()
        team = omp_get_num_threads()
        barrier(meet, team)
        start = wtime()
        for i in range(n_barriers):
            if delay > 0 and tid == i % team:
                t = wtime()
                while wtime() - t < delay:
                    pass
            barrier(meet, team)
        if tid == 0:
            out[0] = (wtime() - start) / n_barriers - delay
            out[1] = team
    return result[0], int(result[1])
