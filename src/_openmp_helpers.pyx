"""How the extension was built, and how many OpenMP threads it may use."""

from cython.parallel cimport parallel
from libc.stdlib cimport free, malloc

from _blocks cimport MIN_FLOPS_PER_THREAD as _MIN_FLOPS_PER_THREAD

from _openmp cimport (
    TWOLAYER_OPENMP_ENABLED, Barrier, barrier, barrier_init,
    omp_get_max_threads, omp_get_num_threads, omp_get_thread_num, wtime,
)

cdef extern from *:
    """
    /* Thread 0 on one allowed CPU, every other thread on another, and back:
       a team larger than the machine's cores then never runs a woken
       thread on the core of the thread that woke it. Linux only; elsewhere
       nothing is pinned. */
    #if defined(__linux__) && defined(_GNU_SOURCE)
    #include <sched.h>
    typedef cpu_set_t twolayer_cpus_t;
    static int twolayer_pin_apart(int tid, twolayer_cpus_t *saved) {
        cpu_set_t pinned;
        int cpu, seen = 0, chosen = -1;
        if (sched_getaffinity(0, sizeof(cpu_set_t), saved) != 0) {
            return 0;
        }
        for (cpu = 0; cpu < CPU_SETSIZE && chosen < 0; cpu++) {
            if (CPU_ISSET(cpu, saved) && seen++ == (tid == 0 ? 0 : 1)) {
                chosen = cpu;
            }
        }
        if (chosen < 0) {
            return 0;
        }
        CPU_ZERO(&pinned);
        CPU_SET(chosen, &pinned);
        return sched_setaffinity(0, sizeof(cpu_set_t), &pinned) == 0;
    }
    static void twolayer_unpin(const twolayer_cpus_t *saved) {
        sched_setaffinity(0, sizeof(cpu_set_t), saved);
    }
    #else
    typedef int twolayer_cpus_t;
    static int twolayer_pin_apart(int tid, twolayer_cpus_t *saved) {
        (void) tid;
        (void) saved;
        return 0;
    }
    static void twolayer_unpin(const twolayer_cpus_t *saved) {
        (void) saved;
    }
    #endif
    """
    ctypedef struct Cpus "twolayer_cpus_t":
        pass
    bint pin_apart "twolayer_pin_apart"(int tid, Cpus* saved) noexcept nogil
    void unpin "twolayer_unpin"(const Cpus* saved) noexcept nogil


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


def last_arrival_seconds(int n_threads, Py_ssize_t n_barriers, double delay):
    """Median wall time of the barrier call of a thread that arrives last,
    ``delay`` seconds after the rest of its team (``_openmp.pxd``), for the
    scaling model: where the others are asleep on the futex by then, the
    call is one atomic add and the wake-up of every sleeper.

    The late thread runs on a core of its own and the others share
    another (Linux), so that even a team larger than the machine's cores
    never runs a woken thread on the waking thread's core, whose call would
    then count that thread's time too.

    Parameters
    ----------
    n_threads : int
        Threads asked for; the team may be smaller.
    n_barriers : int
    delay : float
        Seconds thread 0 spins before each barrier; to time sleepers,
        longer than the others spin and yield before they sleep (some
        milliseconds where they share a core).

    Returns
    -------
    seconds : float
        Median over the barriers, as thread 0 sees it.
    team : int
        Threads that ran.
    """
    cdef Barrier meeting
    cdef Barrier* meet = &meeting
    cdef double* calls
    cdef Cpus* saved
    cdef double start
    cdef Py_ssize_t i
    cdef int tid, team
    cdef bint pinned
    # Written by thread 0 inside the parallel block, read after it.
    cdef int ran[1]
    cdef int* ran_out = ran
    if n_threads < 1 or n_barriers < 1 or delay < 0:
        raise ValueError("n_threads and n_barriers must be positive, delay "
                         "not negative")
    calls = <double*> malloc(n_barriers * sizeof(double))
    saved = <Cpus*> malloc(n_threads * sizeof(Cpus))
    if calls == NULL or saved == NULL:
        free(calls)
        free(saved)
        raise MemoryError()
    barrier_init(meet)
    try:
        with nogil, parallel(num_threads=n_threads):
            tid = omp_get_thread_num()
            team = omp_get_num_threads()
            pinned = pin_apart(tid, &saved[tid])
            barrier(meet, team)
            for i in range(n_barriers):
                if tid == 0:
                    start = wtime()
                    while wtime() - start < delay:
                        pass
                    start = wtime()
                    barrier(meet, team)
                    calls[i] = wtime() - start
                    ran_out[0] = team
                else:
                    barrier(meet, team)
            if pinned:
                unpin(&saved[tid])
        seconds = sorted([calls[i] for i in range(n_barriers)])
    finally:
        free(calls)
        free(saved)
    return seconds[n_barriers // 2], int(ran[0])
