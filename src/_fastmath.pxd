# exp, tanh and the normal distribution's tail, written so that a loop
# calling them over a row compiles to SIMD code at the SSE2 baseline: every
# step is an arithmetic operation, a select or a bit shift, with no call
# into libm (which GCC does not vectorise) and no branch. Accuracy (against
# numpy's long double and scipy, in tests/test_fast_math.py): exp within 1
# ulp; tanh within 3; the normal tail, and so the normal distribution Phi,
# within about one unit of the last place of 1.
#
# exp(x): x = n ln2 + r with n = round(x / ln2) and |r| <= ln2 / 2 (ln2 in
# two parts, so that n * ln2_hi and x - n * ln2_hi are exact); exp(r) by a
# polynomial 1 + r + r^2 q(r), q fitted on |r| <= 0.35 (Chebyshev nodes,
# 50 digits); 2^n built from its exponent bits. 2^n is applied as two
# factors 2^n1 * 2^n2 (n1 + n2 = n, both representable), so results near
# overflow become inf and results near underflow round once, to a
# subnormal number or 0, as they should.
#
# log(x) of a positive normal number (the log loss's clipped
# probabilities): x = 2^k z with z in [sqrt(1/2), sqrt(2)), read off the
# bits; f = z - 1 is exact, and log(z) = 2 atanh(s) with s = f / (2 + f),
# |s| <= 0.172: 2s + s R(s^2), R the series 2 s^2 / 3 + 2 s^4 / 5 + ...
# cut after ten terms (the rest is below 1e-18 of the result). Written
# f - (f^2 / 2 - s (f^2 / 2 + R)), whose last operation adds a small
# correction to f, and k ln2 in two parts, it is within 1 ulp.
#
# Upper tail of the standard normal distribution Q(a) = 1 - Phi(a), a >= 0:
# Q(a) = exp(-a^2 / 2) * P(a) / D(a), P / D a rational function fitted to
# Q(a) exp(a^2 / 2) on 0 <= a <= NORMAL_TAIL_END for the smallest absolute
# error of Q (Lawson's reweighted least squares, 40 digits): 2.2e-17 in
# double (degrees 6 and 7), 2.6e-10 in float (3 and 4). Phi is so within
# about one unit of the last place of 1, as 0.5 * (1 + erf(z / sqrt 2)) is,
# but not within a few units of its own last place far in the left tail,
# where it is tiny: that is all a network needs, and it takes half the
# degrees of a relative fit, and a^2 rounded instead of split exactly (the
# rounding costs a relative a^2 / 2 ulp of Q: at most a tenth of an ulp of
# 1).

from cython cimport floating
from libc.stdint cimport int64_t, uint32_t, uint64_t
from libc.math cimport copysign, copysignf, fabs, fabsf
from libc.string cimport memcpy


cdef extern from *:
    """
    /* Where the normal tail Q(a) is taken as 0: beyond, Q(a) and the
       density term a exp(-a^2 / 2) / sqrt(2 pi) of gelu's derivative are
       below a tenth of the last place of 1 (1e-17 in double, 2e-9 in
       float). */
    #define TWOLAYER_NORMAL_TAIL_END 9.0
    #define TWOLAYER_NORMAL_TAIL_END_F 6.5f
    /* Where tanh rounds to 1: 1 - tanh(a) < 2 exp(-2a) is below half an
       ulp of 1 beyond. */
    #define TWOLAYER_TANH_END 20.0
    #define TWOLAYER_TANH_END_F 9.1f
    /* Adding 1.5 * 2^52 (2^23 in float) rounds to an integer and leaves it,
       plus the exponent bias, in the low bits of the sum. */
    #define TWOLAYER_ROUND_SHIFT 6755399441055744.0
    #define TWOLAYER_ROUND_SHIFT_F 12582912.0f
    #define TWOLAYER_EXP_BIAS_SHIFT (6755399441055744.0 + 1023.0)
    /* The bits of sqrt(1/2) rounded: a number with bits b >= these, up
       to the next power of two times sqrt(1/2), has the exponent
       (b - these) >> 52 after log's reduction. */
    #define TWOLAYER_LOG_REDUCTION 0x3fe6a09e667f3bcdULL
    #define TWOLAYER_EXP_BIAS_SHIFT_F (12582912.0f + 127.0f)
    """
    const double NORMAL_TAIL_END "TWOLAYER_NORMAL_TAIL_END"
    const float NORMAL_TAIL_END_F "TWOLAYER_NORMAL_TAIL_END_F"
    const double TANH_END "TWOLAYER_TANH_END"
    const float TANH_END_F "TWOLAYER_TANH_END_F"
    const double ROUND_SHIFT "TWOLAYER_ROUND_SHIFT"
    const float ROUND_SHIFT_F "TWOLAYER_ROUND_SHIFT_F"
    const double EXP_BIAS_SHIFT "TWOLAYER_EXP_BIAS_SHIFT"
    const float EXP_BIAS_SHIFT_F "TWOLAYER_EXP_BIAS_SHIFT_F"
    const uint64_t LOG_REDUCTION "TWOLAYER_LOG_REDUCTION"


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


cdef inline double _ln2_multiple(double x) noexcept nogil:
    """n = round(x / ln2), as a double."""
    return (x * 1.4426950408889634 + ROUND_SHIFT) - ROUND_SHIFT


cdef inline double _expm1_reduced(double x, double n) noexcept nogil:
    """exp(r) - 1 for r = x - n ln2, n = _ln2_multiple(x)."""
    cdef double r, r2, r4, q
    r = (x - n * 0.6931471805601177) - n * -1.7239444525614835e-13
    # Estrin's scheme: a shorter chain of dependent operations than
    # Horner's, which is what limits the throughput of these loops.
    r2 = r * r
    r4 = r2 * r2
    q = ((0.5000000000000001 + 0.16666666666666669 * r)
         + (0.04166666666662068 + 0.008333333333329796 * r) * r2) + (
        ((0.0013888888918918907 + 0.00019841269864364933 * r)
         + (2.4801518672268355e-05 + 2.7557266442353424e-06 * r) * r2)
        + (2.7621324269313687e-07 + 2.5101335854788522e-08 * r) * r4) * r4
    return r + r2 * q


cdef inline double _exp_double(double x, ExpRange exp_range) noexcept nogil:
    """exp(x) over the range ``exp_range`` (a constant at every call, so
    the compiler drops the other cases)."""
    cdef double n, half_n, p
    # Clamping keeps n small enough for the exponent bits. The comparisons
    # are false for NaN, which passes through to the result.
    if exp_range == EXP_WIDE:
        x = 720.0 if x > 720.0 else x
        x = -760.0 if x < -760.0 else x
    elif exp_range == EXP_NORMAL:
        # n <= 1024, whose exponent field is that of inf.
        x = 710.0 if x > 710.0 else x
        x = -708.0 if x < -708.0 else x
    n = _ln2_multiple(x)
    p = 1 + _expm1_reduced(x, n)
    if exp_range != EXP_WIDE:
        return p * _power_of_two(n)
    half_n = (n * 0.5 + ROUND_SHIFT) - ROUND_SHIFT
    return (p * _power_of_two(half_n)) * _power_of_two(n - half_n)


cdef inline float _ln2_multiple_f(float x) noexcept nogil:
    """n = round(x / ln2), as a float."""
    return (x * <float> 1.4426950216293335 + ROUND_SHIFT_F) - ROUND_SHIFT_F


cdef inline float _expm1_reduced_f(float x, float n) noexcept nogil:
    """expf(r) - 1 for r = x - n ln2, n = _ln2_multiple_f(x)."""
    cdef float r, r2, q
    r = (x - n * <float> 0.693145751953125) - n * <float> 1.428606765330187e-06
    r2 = r * r
    # Every constant is cast: Cython writes a bare 1 as the double 1.0,
    # which would turn the float arithmetic into double.
    q = ((<float> 0.5 + <float> 0.16666573286056519 * r)
         + (<float> 0.04166654869914055 + <float> 0.008363766595721245 * r) * r2
         + <float> 0.0013926918618381023 * (r2 * r2))
    return r + r2 * q


cdef inline float _exp_float(float x, ExpRange exp_range) noexcept nogil:
    """expf(x), as _exp_double."""
    cdef float n, half_n, p
    if exp_range == EXP_WIDE:
        x = <float> 100.0 if x > <float> 100.0 else x
        x = <float> -110.0 if x < <float> -110.0 else x
    elif exp_range == EXP_NORMAL:
        x = <float> 89.0 if x > <float> 89.0 else x
        x = <float> -87.0 if x < <float> -87.0 else x
    n = _ln2_multiple_f(x)
    p = <float> 1 + _expm1_reduced_f(x, n)
    if exp_range != EXP_WIDE:
        return p * _power_of_two_f(n)
    half_n = (n * <float> 0.5 + ROUND_SHIFT_F) - ROUND_SHIFT_F
    return (p * _power_of_two_f(half_n)) * _power_of_two_f(n - half_n)


cdef inline floating fast_exp(floating x) noexcept nogil:
    """exp(x), within 1 ulp; inf above the overflow bound, 0 below the
    underflow bound, NaN for NaN."""
    if floating is float:
        return _exp_float(x, EXP_WIDE)
    else:
        return _exp_double(x, EXP_WIDE)


cdef inline double log_of_normal(double x) noexcept nogil:
    """log(x) within 1 ulp for a positive normal number x (not 0, a
    subnormal number or inf); NaN for NaN."""
    cdef uint64_t bits, shifted
    cdef int64_t k
    cdef double z, f, s, w, w2, w4, half_square, series
    memcpy(&bits, &x, 8)
    # k = floor(log2(x / sqrt(1/2))); z = x / 2^k, by the exponent bits.
    shifted = bits - LOG_REDUCTION
    k = (<int64_t> shifted) >> 52
    bits = bits - (shifted & 0xfff0000000000000ULL)
    memcpy(&z, &bits, 8)
    f = z - 1
    s = f / (2 + f)
    w = s * s
    w2 = w * w
    w4 = w2 * w2
    # R(w) = sum 2 w^i / (2i + 1), i = 1 .. 10, by Estrin's scheme.
    series = w * (((2 / 3.0 + 2 / 5.0 * w) + (2 / 7.0 + 2 / 9.0 * w) * w2)
                  + ((2 / 11.0 + 2 / 13.0 * w) + (2 / 15.0 + 2 / 17.0 * w) * w2)
                  * w4
                  + (2 / 19.0 + 2 / 21.0 * w) * (w4 * w4))
    half_square = 0.5 * f * f
    w = <double> k
    w = w * 0.6931471805601177 - (
        (half_square - (s * (half_square + series)
                        + w * -1.7239444525614835e-13)) - f)
    return x if x != x else w


cdef inline floating exp_normal_range(floating x) noexcept nogil:
    """exp(x) within 1 ulp where it is a normal number; inf above, and
    about the smallest normal number below (one scaling cheaper)."""
    if floating is float:
        return _exp_float(x, EXP_NORMAL)
    else:
        return _exp_double(x, EXP_NORMAL)


cdef inline floating logistic(floating x) noexcept nogil:
    """1 / (1 + exp(-x)), within a few ulp; 0 where exp(-x) would
    overflow (the true value is below the smallest normal number)."""
    cdef floating one = 1
    return one / (one + exp_normal_range(-x))


cdef inline floating _expm1_of_nonnegative(floating y) noexcept nogil:
    """e^y - 1 for y >= 0 in exp's range (or NaN), without cancellation:
    2^n e^r - 1 = (2^n - 1) + 2^n (e^r - 1), both terms exact or nearly
    so."""
    cdef floating n, scale
    cdef floating one = 1
    if floating is float:
        n = _ln2_multiple_f(y)
        scale = _power_of_two_f(n)
        return (scale - one) + scale * _expm1_reduced_f(y, n)
    else:
        n = _ln2_multiple(y)
        scale = _power_of_two(n)
        return (scale - one) + scale * _expm1_reduced(y, n)


cdef inline floating fast_tanh(floating x) noexcept nogil:
    """tanh(x) within a few ulp, as (e^2a - 1) / (e^2a + 1) with a = |x|.
    Beyond TANH_END (20, 9.1 in float) tanh is 1 to the last bit, and a is
    clamped there."""
    cdef floating a, expm1, end
    # Typed as the data: a bare 2 would turn float arithmetic into double.
    cdef floating two = 2
    if floating is float:
        a = fabsf(x)
        end = TANH_END_F
    else:
        a = fabs(x)
        end = TANH_END
    a = end if a > end else a
    expm1 = _expm1_of_nonnegative(a + a)
    if floating is float:
        return copysignf(expm1 / (expm1 + two), x)
    return copysign(expm1 / (expm1 + two), x)


cdef inline floating half_square_exp(floating a) noexcept nogil:
    """exp(-a^2 / 2) for 0 <= a <= NORMAL_TAIL_END (or NaN), to the
    accuracy of exp and of a^2 rounded. Nothing checks the range: beyond it,
    the result is wrong."""
    # Typed as the data: Cython writes constants as doubles, which would
    # turn float arithmetic into double.
    cdef floating half = 0.5
    if floating is float:
        return _exp_float(-half * (a * a), EXP_UNCHECKED)
    else:
        return _exp_double(-half * (a * a), EXP_UNCHECKED)


cdef inline floating tail_ratio(floating a) noexcept nogil:
    """Q(a) exp(a^2 / 2) for 0 <= a <= NORMAL_TAIL_END, as a rational
    function (1/2 at 0, then falling like 1 / (a sqrt(2 pi))). All
    coefficients are positive: no cancellation, whatever the order of
    evaluation (Estrin's)."""
    cdef floating a2 = a * a
    cdef floating a4 = a2 * a2
    cdef floating p, d
    if floating is float:
        p = ((<float> 0.5 + <float> 0.29777660965919495 * a)
             + (<float> 0.08646205812692642 + <float> 0.009935623034834862 * a) * a2)
        d = ((<float> 1 + <float> 1.3934377431869507 * a)
             + (<float> 0.7847275733947754 + <float> 0.21522961556911469 * a) * a2
             + <float> 0.02498624101281166 * a4)
    else:
        p = (((0.5 + 0.5022762935468106 * a)
              + (0.2544777541491886 + 0.07699841514740394 * a) * a2)
             + ((0.014471676570518737 + 0.0015901408270529308 * a)
                + 8.005738143951437e-05 * a2) * a4)
        d = (((1 + 1.802437147896497 * a)
              + (1.4470922804221273 + 0.6733523652263977 * a) * a2)
             + ((0.19703359311453833 + 0.03647268462793206 * a)
                + (0.003986044526971683 + 0.00020067040845153438 * a) * a2) * a4)
    return p / d
