# OpenMP queries and a team barrier that compile with or without OpenMP.
#
# A team that runs a whole pass in one parallel region meets at a barrier
# between its phases (Cython has no barrier primitive). OpenMP's own barrier
# spins for up to hundreds of microseconds before sleeping; on a machine
# whose cores are shared with other processes, a spinning thread takes the
# time slice its descheduled team-mate needs to reach the barrier, and a
# pass with thousands of barriers slows down tenfold. On Linux the barrier
# below spins briefly, then keeps checking while yielding its core to any
# other thread that can run (a descheduled team-mate gets it), and only
# then sleeps on a futex, so that contended cores cost little more than one
# thread would; elsewhere it is OpenMP's. It does not sleep at once: a
# sleeper's wake-up takes tens of microseconds on a virtual machine, more
# than its team-mate then waits, which would sleep in turn, and the team
# would wake each other at every barrier (medium's epoch at 2 threads took
# 26 ms that way instead of 14).

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define TWOLAYER_OPENMP_ENABLED 1
    #else
    #define TWOLAYER_OPENMP_ENABLED 0
    static int omp_get_max_threads(void) { return 1; }
    static int omp_get_thread_num(void) { return 0; }
    static int omp_get_num_threads(void) { return 1; }
    #endif

    /* Threads that arrived, and how many times the team has met; each on a
       cache line of its own, apart from whatever surrounds the barrier. */
    typedef struct {
        char before[64];
        int arrived;
        char between[64];
        int generation;
        char after[64];
    } twolayer_barrier_t;

    #if defined(_OPENMP) && defined(__linux__) && defined(__GNUC__)
    #include <limits.h>
    #include <sched.h>
    #include <linux/futex.h>
    #include <sys/syscall.h>
    #include <unistd.h>
    #if defined(__x86_64__) || defined(__i386__)
    #include <immintrin.h>
    #define TWOLAYER_RELAX() _mm_pause()
    #elif defined(__aarch64__)
    #define TWOLAYER_RELAX() __asm__ __volatile__("yield")
    #else
    #define TWOLAYER_RELAX() ((void) 0)
    #endif
    /* Spins before yielding: some microseconds, about what the phases of
       a batch differ by between threads. */
    #define TWOLAYER_SPINS 1000
    /* Checks, each after yielding the core, before sleeping: on a core of
       its own a yield returns at once, and these take a few hundred
       microseconds, several wake-ups' worth. */
    #define TWOLAYER_YIELDS 1000

    static inline void twolayer_barrier_init(twolayer_barrier_t *b) {
        b->arrived = 0;
        b->generation = 0;
    }

    /* Seconds the calling thread has slept at barriers, in all: asleep,
       it waits for a team-mate, and its core is free, not taken. */
    static __thread double twolayer_slept = 0;
    static inline double twolayer_slept_seconds(void) { return twolayer_slept; }

    static inline void twolayer_barrier(twolayer_barrier_t *b, int team) {
        int generation, i;
        double asleep;
        if (team <= 1) {
            return;
        }
        generation = __atomic_load_n(&b->generation, __ATOMIC_ACQUIRE);
        if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == team) {
            /* The last to arrive releases the others: the count is reset
               before the generation moves, so a thread that hurries on to
               the next barrier counts afresh. */
            __atomic_store_n(&b->arrived, 0, __ATOMIC_RELAXED);
            __atomic_add_fetch(&b->generation, 1, __ATOMIC_RELEASE);
            syscall(SYS_futex, &b->generation, FUTEX_WAKE_PRIVATE, INT_MAX,
                    NULL, NULL, 0);
            return;
        }
        for (i = 0; i < TWOLAYER_SPINS; i++) {
            if (__atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) != generation) {
                return;
            }
            TWOLAYER_RELAX();
        }
        for (i = 0; i < TWOLAYER_YIELDS; i++) {
            sched_yield();
            if (__atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) != generation) {
                return;
            }
        }
        /* Sleeps only while the generation is still the old one: a wake
           that came first is never lost. */
        asleep = omp_get_wtime();
        while (__atomic_load_n(&b->generation, __ATOMIC_ACQUIRE) == generation) {
            syscall(SYS_futex, &b->generation, FUTEX_WAIT_PRIVATE, generation,
                    NULL, NULL, 0);
        }
        twolayer_slept += omp_get_wtime() - asleep;
    }
    #else
    static inline void twolayer_barrier_init(twolayer_barrier_t *b) {
        b->arrived = 0;
        b->generation = 0;
    }

    static inline double twolayer_slept_seconds(void) { return 0; }

    static inline void twolayer_barrier(twolayer_barrier_t *b, int team) {
        (void) b;
        (void) team;
        #ifdef _OPENMP
        #pragma omp barrier
        #endif
    }
    #endif

    /* Wall-clock seconds, for timing tasks (the scaling model). */
    #ifdef _OPENMP
    static inline double twolayer_wtime(void) { return omp_get_wtime(); }
    #else
    #include <time.h>
    static inline double twolayer_wtime(void) {
        struct timespec t;
        timespec_get(&t, TIME_UTC);
        return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
    }
    #endif

    /* CPU seconds the calling thread has run, or -1 where the platform
       does not say: a thread whose core is shared with other work runs
       for less than the wall time. */
    #if defined(__linux__) || defined(__APPLE__)
    #include <time.h>
    static inline double twolayer_thread_cpu(void) {
        struct timespec t;
        if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t) != 0) {
            return -1;
        }
        return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
    }
    #else
    static inline double twolayer_thread_cpu(void) { return -1; }
    #endif
    """
    bint TWOLAYER_OPENMP_ENABLED
    double wtime "twolayer_wtime"() noexcept nogil
    double thread_cpu "twolayer_thread_cpu"() noexcept nogil
    double slept_seconds "twolayer_slept_seconds"() noexcept nogil
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_threads() noexcept nogil

    ctypedef struct Barrier "twolayer_barrier_t":
        pass
    void barrier_init "twolayer_barrier_init"(Barrier* b) noexcept nogil
    void barrier "twolayer_barrier"(Barrier* b, int team) noexcept nogil
