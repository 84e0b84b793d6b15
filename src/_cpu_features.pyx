"""Which x86-64 instruction-set levels this CPU and its operating system
support, for choosing among the builds of the compiled kernels."""

cdef extern from *:
    """
    #if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* The levels as the compiler's -march names them; the check includes
       the operating system's support for the wider registers. */
    static int twolayer_supports_level(int level) {
        __builtin_cpu_init();
        if (level == 3) return __builtin_cpu_supports("x86-64-v3") != 0;
        if (level == 4) return __builtin_cpu_supports("x86-64-v4") != 0;
        return 0;
    }
    #else
    static int twolayer_supports_level(int level) { return 0; }
    #endif
    """
    int supports_level "twolayer_supports_level"(int level) noexcept nogil


def supports_x86_64_level(int level):
    """Whether the CPU runs code built for ``-march=x86-64-v<level>``.

    Parameters
    ----------
    level : {3, 4}
        3: AVX2 and FMA; 4: AVX-512 (F, BW, CD, DQ, VL) as well.

    Returns
    -------
    bool
        False for any other level, and on CPUs other than x86-64.
    """
    return bool(supports_level(level))
