# OpenMP queries and a barrier that compile with or without OpenMP.
#
# Cython has no barrier primitive: a team that runs a whole epoch in one
# parallel region synchronises its phases through an orphaned
# ``#pragma omp barrier`` (legal in a function called from a parallel
# region; a no-op for a team of one).

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define TWOLAYER_OPENMP_ENABLED 1
    static inline void twolayer_barrier(void) {
        #pragma omp barrier
    }
    #else
    #define TWOLAYER_OPENMP_ENABLED 0
    static int omp_get_max_threads(void) { return 1; }
    static int omp_get_thread_num(void) { return 0; }
    static int omp_get_num_threads(void) { return 1; }
    static inline void twolayer_barrier(void) {}
    #endif
    """
    bint TWOLAYER_OPENMP_ENABLED
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_threads() noexcept nogil
    void barrier "twolayer_barrier"() noexcept nogil
