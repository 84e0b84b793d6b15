# exp and the normal distribution's tail, written so that a loop calling
# them over a row compiles to SIMD code at the SSE2 baseline: every step is
# an arithmetic operation, a select or a bit shift, with no call into libm
# (which GCC does not vectorise) and no branch. Accuracy (against scipy, in
# tests/test_fast_math.py): exp within 1 ulp; the normal tail within a few
# ulp of its value down to the smallest normal number.
#
# exp(x): x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2 (ln2 in
# two parts, so that n * ln2_hi and x - n * ln2_hi are exact); exp(r) by a
# polynomial 1 + r + r^2 q(r), q fitted on |r| <= 0.35 (Chebyshev nodes,
# 50 digits); 2^n built from its exponent bits. 2^n is applied as two
# factors 2^n1 * 2^n2 (n1 + n2 = n, both representable), so results near
# overflow become inf and results near underflow round once, to a
# subnormal number or 0, as they should.
#
# Upper tail of the standard normal distribution Q(a) = 1 - Phi(a), a >= 0:
# Q(a) = exp(-a^2 / 2) * P(a) / D(a), P / D a rational function fitted to
# Q(a) exp(a^2 / 2) for minimal relative error (on 0 <= a <= 38.5 in
# double, 0 <= a <= 14 in float). a^2 / 2 is split into an exact head and a
# small tail, because rounding a^2 would cost up to a^2 / 2 ulp of Q.

from cython cimport floating
from libc.stdint cimport uint32_t, uint64_t
from libc.math cimport fma, fmaf
from libc.string cimport memcpy


cdef extern from *:
    """
    /* Whether this build has fused multiply-add instructions (then fma()
       is one instruction, and the compiler also fuses a * b + c). */
    #ifdef __FMA__
    #define TWOLAYER_HAS_FMA 1
    #else
    #define TWOLAYER_HAS_FMA 0
    #endif
    /* Where the normal tail Q(a) ends in the normal range: exp(-a^2 / 2)
       is a normal number up to there, and below 1e-305 (1e-37 in float)
       beyond, as is Q(a). */
    #define TWOLAYER_NORMAL_TAIL_END 37.5
    #define TWOLAYER_NORMAL_TAIL_END_F 13.19f
    /* Adding 1.5 * 2^52 (2^23 in float) rounds to an integer and leaves it,
       plus the exponent bias, in the low bits of the sum. */
    #define TWOLAYER_ROUND_SHIFT 6755399441055744.0
    #define TWOLAYER_ROUND_SHIFT_F 12582912.0f
    #define TWOLAYER_EXP_BIAS_SHIFT (6755399441055744.0 + 1023.0)
    #define TWOLAYER_EXP_BIAS_SHIFT_F (12582912.0f + 127.0f)
    """
    const bint HAS_FMA "TWOLAYER_HAS_FMA"
    const double NORMAL_TAIL_END "TWOLAYER_NORMAL_TAIL_END"
    const float NORMAL_TAIL_END_F "TWOLAYER_NORMAL_TAIL_END_F"
    const double ROUND_SHIFT "TWOLAYER_ROUND_SHIFT"
    const float ROUND_SHIFT_F "TWOLAYER_ROUND_SHIFT_F"
    const double EXP_BIAS_SHIFT "TWOLAYER_EXP_BIAS_SHIFT"
    const float EXP_BIAS_SHIFT_F "TWOLAYER_EXP_BIAS_SHIFT_F"


cdef inline double _power_of_two(double k) noexcept nogil:
    """2^k for an integer-valued k in [-1022, 1023]."""
    cdef double t = k + EXP_BIAS_SHIFT
    cdef uint64_t bits
    memcpy(&bits, &t, 8)
    # The low 11 bits of t hold k + 1023: move them into the exponent field.
    bits = bits << 52
    memcpy(&t, &bits, 8)
    return t


cdef inline float _power_of_two_f(float k) noexcept nogil:
    """2^k for an integer-valued k in [-126, 127]."""
    cdef float t = k + EXP_BIAS_SHIFT_F
    cdef uint32_t bits
    memcpy(&bits, &t, 4)
    bits = bits << 23
    memcpy(&t, &bits, 4)
    return t


cdef enum ExpRange:
    # Right results over the whole range: inf above it, the subnormal
    # number or 0 below.
    EXP_WIDE = 0
    # Right only in the range of normal numbers: inf above, about the
    # smallest normal number below (one scaling cheaper).
    EXP_NORMAL = 1
    # The caller keeps x within the range of normal results: no clamping.
    EXP_UNCHECKED = 2


cdef inline double _exp_double(double x, double tail,
                               ExpRange exp_range) noexcept nogil:
    """exp(x + tail) for |tail| much below 1 ulp of ln 2, over the range
    ``exp_range`` (a constant at every call, so the compiler drops the other
    cases)."""
    cdef double n, half_n, r, r2, r4, q, p
    # Clamping keeps n small enough for the exponent bits. The comparisons
    # are false for NaN, which passes through to the result.
    if exp_range == EXP_WIDE:
        x = 720.0 if x > 720.0 else x
        x = -760.0 if x < -760.0 else x
    elif exp_range == EXP_NORMAL:
        # n <= 1024, whose exponent field is that of inf.
        x = 710.0 if x > 710.0 else x
        x = -708.0 if x < -708.0 else x
    n = (x * 1.4426950408889634 + ROUND_SHIFT) - ROUND_SHIFT
    r = (x - n * 0.6931471805601177) + (tail - n * -1.7239444525614835e-13)
    # Estrin's scheme: a shorter chain of dependent operations than
    # Horner's, which is what limits the throughput of these loops.
    r2 = r * r
    r4 = r2 * r2
    q = ((0.5000000000000001 + 0.16666666666666669 * r)
         + (0.04166666666662068 + 0.008333333333329796 * r) * r2) + (
        ((0.0013888888918918907 + 0.00019841269864364933 * r)
         + (2.4801518672268355e-05 + 2.7557266442353424e-06 * r) * r2)
        + (2.7621324269313687e-07 + 2.5101335854788522e-08 * r) * r4) * r4
    p = 1 + (r + r2 * q)
    if exp_range != EXP_WIDE:
        return p * _power_of_two(n)
    half_n = (n * 0.5 + ROUND_SHIFT) - ROUND_SHIFT
    return (p * _power_of_two(half_n)) * _power_of_two(n - half_n)


cdef inline float _exp_float(float x, float tail,
                             ExpRange exp_range) noexcept nogil:
    """expf(x + tail), as _exp_double."""
    cdef float n, half_n, r, r2, q, p
    if exp_range == EXP_WIDE:
        x = <float> 100.0 if x > <float> 100.0 else x
        x = <float> -110.0 if x < <float> -110.0 else x
    elif exp_range == EXP_NORMAL:
        x = <float> 89.0 if x > <float> 89.0 else x
        x = <float> -87.0 if x < <float> -87.0 else x
    n = (x * <float> 1.4426950216293335 + ROUND_SHIFT_F) - ROUND_SHIFT_F
    r = ((x - n * <float> 0.693145751953125)
         + (tail - n * <float> 1.428606765330187e-06))
    r2 = r * r
    # Every constant is cast: Cython writes a bare 1 as the double 1.0,
    # which would turn the float arithmetic into double.
    q = ((<float> 0.5 + <float> 0.16666573286056519 * r)
         + (<float> 0.04166654869914055 + <float> 0.008363766595721245 * r) * r2
         + <float> 0.0013926918618381023 * (r2 * r2))
    p = <float> 1 + (r + r2 * q)
    if exp_range != EXP_WIDE:
        return p * _power_of_two_f(n)
    half_n = (n * <float> 0.5 + ROUND_SHIFT_F) - ROUND_SHIFT_F
    return (p * _power_of_two_f(half_n)) * _power_of_two_f(n - half_n)


cdef inline floating fast_exp(floating x) noexcept nogil:
    """exp(x), within 1 ulp; inf above the overflow bound, 0 below the
    underflow bound, NaN for NaN."""
    if floating is float:
        return _exp_float(x, 0, EXP_WIDE)
    else:
        return _exp_double(x, 0, EXP_WIDE)


cdef inline floating exp_normal_range(floating x) noexcept nogil:
    """exp(x) within 1 ulp where it is a normal number; inf above, and
    about the smallest normal number below (one scaling cheaper)."""
    if floating is float:
        return _exp_float(x, 0, EXP_NORMAL)
    else:
        return _exp_double(x, 0, EXP_NORMAL)


cdef inline floating logistic(floating x) noexcept nogil:
    """1 / (1 + exp(-x)), within a few ulp; 0 where exp(-x) would
    overflow (the true value is below the smallest normal number)."""
    cdef floating one = 1
    return one / (one + exp_normal_range(-x))


cdef inline floating _exp_in_range(floating x, floating tail) noexcept nogil:
    """exp(x + tail) for x whose result is a normal number and |tail| much
    below 1 ulp of ln 2; unchecked."""
    if floating is float:
        return _exp_float(x, tail, EXP_UNCHECKED)
    else:
        return _exp_double(x, tail, EXP_UNCHECKED)


cdef inline floating half_square_exp(floating a) noexcept nogil:
    """exp(-a^2 / 2) for 0 <= a <= NORMAL_TAIL_END (or NaN), to the
    accuracy of exp. Nothing checks the range: beyond it, the result is
    wrong."""
    cdef floating square, error, split, head, low
    # Typed as the data: Cython writes constants as doubles, which would
    # turn float arithmetic into double.
    cdef floating half = 0.5
    # a^2 / 2 rounded costs up to a^2 / 2 ulp of the result (hundreds in
    # the far tail): its rounding error goes into exp as a tail.
    if HAS_FMA:
        # One fused multiply-add gives the error exactly.
        square = a * a
        if floating is float:
            error = fmaf(a, a, -square)
        else:
            error = fma(a, a, -square)
        return _exp_in_range(-half * square, -half * error)
    # Without it, split a = head + low with head of half the mantissa, so
    # that head^2 / 2 is exact and only the tiny rest is rounded (an exact
    # split only where products and sums round separately, as they do
    # without FMA).
    if floating is float:
        split = a * <float> 4097.0
    else:
        split = a * 134217729.0
    head = split - (split - a)
    low = a - head
    return _exp_in_range(-half * head * head,
                         -(head * low + half * low * low))


cdef inline floating tail_ratio(floating a) noexcept nogil:
    """Q(a) exp(a^2 / 2) for 0 <= a (as a rational function: exact 1/2 at
    0, asymptotically 1 / (a sqrt(2 pi))). All coefficients are positive:
    no cancellation, whatever the order of evaluation (Estrin's)."""
    cdef floating a2 = a * a
    cdef floating a4 = a2 * a2
    cdef floating p, d
    if floating is float:
        p = ((<float> 0.5 + <float> 0.4365609288215637 * a)
             + (<float> 0.18192602694034576 + <float> 0.040184762328863144 * a)
             * a2 + <float> 0.004047596827149391 * a4)
        d = ((<float> 1 + <float> 1.671006679534912 * a)
             + (<float> 1.1971187591552734 + <float> 0.46600818634033203 * a)
             * a2 + (<float> 0.10073520988225937
                     + <float> 0.01014568842947483 * a) * a4)
    else:
        p = (((0.5 + 0.7742996548421041 * a)
              + (0.5932077301446866 + 0.2887294133565802 * a) * a2)
             + ((0.09742661151928775 + 0.023538435102393878 * a)
                + (0.0040713140908242105 + 0.00048778714526622786 * a) * a2)
             * a4
             + (3.7012218339849636e-05 + 1.3747417919420968e-06 * a)
             * (a4 * a4))
        d = (((1 + 2.346483870487067 * a)
              + (2.558638712724206 + 1.711676737289023 * a) * a2)
             + ((0.7803287259461423 + 0.25423200634231247 * a)
                + (0.06021791652540208 + 0.010298046876323083 * a) * a2)
             * a4
             + ((0.0012261470171804542 + 9.27758729952337e-05 * a)
                + 3.445966646009892e-06 * a2) * (a4 * a4))
    return p / d
