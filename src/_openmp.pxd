# OpenMP queries that compile with or without OpenMP.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define TWOLAYER_OPENMP_ENABLED 1
    #else
    #define TWOLAYER_OPENMP_ENABLED 0
    static int omp_get_max_threads(void) { return 1; }
    static int omp_get_thread_num(void) { return 0; }
    #endif
    """
    bint TWOLAYER_OPENMP_ENABLED
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
