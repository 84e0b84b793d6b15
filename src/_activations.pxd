# Activation functions applied in place to a block of rows, and their
# derivatives. For identity, relu, leaky_relu, logistic and tanh, g'(Z) can
# be read off A = g(Z), so nothing more is kept. For gelu and silu it
# cannot: their derivative is written while Z is at hand, in the forward
# pass, into a buffer the caller provides only for them.

from cython cimport floating
from libc.math cimport INFINITY, fabs, fabsf

from _fastmath cimport (
    NORMAL_TAIL_END, NORMAL_TAIL_END_F, exp_normal_range, fast_exp,
    fast_tanh, half_square_exp, logistic, tail_ratio,
)


# The codes by which sklearn_twolayer/_registry.py names these functions.
cdef enum Activation:
    IDENTITY = 0
    RELU = 1
    LOGISTIC = 2
    TANH = 3
    SOFTMAX = 4
    LEAKY_RELU = 5
    GELU = 6
    SILU = 7
    # An output activation only (the log link of the Poisson loss), whose
    # derivative the output delta folds in.
    EXP = 8


cdef extern from *:
    """
    #define TWOLAYER_LEAKY_SLOPE 0.01
    #define TWOLAYER_INV_SQRT_2PI 0.39894228040143267794
    """
    # Slope of leaky_relu for negative inputs.
    const double LEAKY_SLOPE "TWOLAYER_LEAKY_SLOPE"
    # 1 / sqrt(2 pi), for the normal density in gelu.
    const double INV_SQRT_2PI "TWOLAYER_INV_SQRT_2PI"


cdef inline bint derivative_needs_input(int activation) noexcept nogil:
    """Whether g'(Z) cannot be read off A = g(Z), so that backpropagation
    needs the derivative written by the forward pass."""
    return activation == GELU or activation == SILU


cdef inline void leaky_relu_block(floating* z, Py_ssize_t n) noexcept nogil:
    """z = z if z > 0 else 0.01 * z, in place."""
    cdef Py_ssize_t j
    for j in range(n):
        z[j] = z[j] if z[j] > 0 else (<floating> LEAKY_SLOPE) * z[j]


cdef inline void gelu_block(floating* z, floating* derivative,
                            Py_ssize_t n) noexcept nogil:
    """z = z * Phi(z) in place (exact gelu); with ``derivative`` (NULL: not
    wanted), also derivative = Phi(z) + z * phi(z).

    Phi is computed through its tail Q(a) = 1 - Phi(a) = exp(-a^2 / 2) *
    tail_ratio(a), a = |z|, to about one unit of the last place of 1, as
    0.5 * (1 + erf(z / sqrt 2)) would be. Beyond NORMAL_TAIL_END both Q and
    exp(-z^2 / 2) are taken as 0.
    """
    cdef Py_ssize_t j
    cdef floating x, floored, clamped, a, tail, cdf, gaussian, end
    # Typed as the data: a bare 1 would turn float arithmetic into double.
    cdef floating one = 1
    if floating is float:
        end = NORMAL_TAIL_END_F
    else:
        end = NORMAL_TAIL_END
    for j in range(n):
        x = z[j]
        # z clamped to [-end, end]: a stays in the range of exp and of the
        # rational function; the clamped z only multiplies factors that
        # are exactly 0 or 1 beyond, so that gelu(-inf) = 0 and gelu'(+-inf)
        # = 1 or 0, not NaN. The comparisons are written so that NaN passes
        # through both. The clamps are shared, and a taken with fabs, so
        # that the compiler does not split the loop by the sign of z (which
        # made it half as fast).
        floored = -end if x < -end else x
        clamped = end if floored > end else floored
        if floating is float:
            a = fabsf(clamped)
        else:
            a = fabs(clamped)
        gaussian = half_square_exp(a)
        gaussian = 0 if a >= end else gaussian
        tail = gaussian * tail_ratio(a)
        cdf = tail if x < 0 else one - tail
        if derivative != NULL:
            derivative[j] = cdf + clamped * ((<floating> INV_SQRT_2PI) * gaussian)
        z[j] = floored * cdf


cdef inline void silu_block(floating* z, floating* derivative,
                            Py_ssize_t n) noexcept nogil:
    """z = z * logistic(z) in place; with ``derivative`` (NULL: not wanted),
    also derivative = s * (1 + z * (1 - s)), s = logistic(z)."""
    cdef Py_ssize_t j
    cdef floating x, e, s, complement
    # z is clamped where s or 1 - s is exactly 0 (beyond 1000): silu(-inf)
    # = 0, silu'(+-inf) = 1 or 0, not NaN.
    cdef floating bound = 1000
    # Typed as the data: Cython writes a bare 1 as the double 1.0, which
    # would turn float arithmetic into double.
    cdef floating one = 1
    if derivative == NULL:
        for j in range(n):
            x = z[j]
            z[j] = (x if x > -bound else -bound) * logistic(x)
        return
    for j in range(n):
        x = z[j]
        e = exp_normal_range(-x)
        s = one / (one + e)
        # 1 - s = e * s: computed so, it keeps its relative accuracy for
        # large z, where 1 - s would cancel.
        complement = e * s if x > 0 else one - s
        derivative[j] = s * (one + (bound if x > bound else (
            x if x > -bound else -bound)) * complement)
        z[j] = (x if x > -bound else -bound) * s


cdef inline floating row_maximum(const floating* row,
                                 Py_ssize_t n_cols) noexcept nogil:
    """The largest of a row's values, the first kept among equals (the
    softmax's shift)."""
    cdef Py_ssize_t j
    cdef floating row_max = row[0]
    for j in range(1, n_cols):
        if row[j] > row_max:
            row_max = row[j]
    return row_max


cdef inline floating row_total(const floating* row,
                               Py_ssize_t n_cols) noexcept nogil:
    """The sum of a row's values, first to last."""
    cdef Py_ssize_t j
    cdef floating total = 0
    for j in range(n_cols):
        total += row[j]
    return total


cdef inline void softmax_row(floating* row, Py_ssize_t n_cols) noexcept nogil:
    """Numerically stable softmax: shift by the row maximum first."""
    cdef Py_ssize_t j
    cdef floating row_max = row_maximum(row, n_cols)
    cdef floating total
    if row_max == INFINITY:
        # exp(inf - inf) is NaN: the largest logits share the probability.
        for j in range(n_cols):
            row[j] = 1 if row[j] == row_max else 0
    else:
        # Apart from the sum: this loop vectorises, the sum keeps its order.
        for j in range(n_cols):
            row[j] = fast_exp(row[j] - row_max)
    total = row_total(row, n_cols)
    for j in range(n_cols):
        row[j] /= total


cdef enum:
    # Values of a group of short softmax rows computed together.
    SOFTMAX_GROUP = 256


cdef inline void softmax_rows(floating* rows, Py_ssize_t n_rows,
                              Py_ssize_t n_cols, Py_ssize_t ld) noexcept nogil:
    """softmax_row on each row of a block (rows ``ld`` values apart),
    bitwise.

    Short contiguous rows (an output layer of 10 classes) would leave most
    of a vector empty and compute their last values one at a time: the
    exponentials and divisions of a group of them run over their values as
    one array instead, each value with its row's maximum, then its total,
    spread beside it. A group with an infinite logit goes row by row."""
    cdef Py_ssize_t group = SOFTMAX_GROUP // n_cols if n_cols > 0 else 0
    cdef Py_ssize_t i0, i, j, n, rows_in_group
    cdef floating* row
    cdef floating row_max, total
    cdef floating spread[SOFTMAX_GROUP]
    cdef bint finite
    if n_cols == 0:
        return
    if group < 2 or ld != n_cols:
        for i in range(n_rows):
            softmax_row(rows + i * ld, n_cols)
        return
    i0 = 0
    while i0 < n_rows:
        rows_in_group = min(group, n_rows - i0)
        row = rows + i0 * n_cols
        n = rows_in_group * n_cols
        i0 += rows_in_group
        finite = True
        for i in range(rows_in_group):
            row_max = row_maximum(row + i * n_cols, n_cols)
            if row_max == INFINITY:
                finite = False
                break
            for j in range(i * n_cols, (i + 1) * n_cols):
                spread[j] = row_max
        if not finite:
            for i in range(rows_in_group):
                softmax_row(row + i * n_cols, n_cols)
            continue
        for j in range(n):
            row[j] = fast_exp(row[j] - spread[j])
        for i in range(rows_in_group):
            total = row_total(row + i * n_cols, n_cols)
            for j in range(i * n_cols, (i + 1) * n_cols):
                spread[j] = total
        for j in range(n):
            row[j] /= spread[j]


cdef inline void multiply_by_derivative(
    floating* delta,
    const floating* activated,
    Py_ssize_t n,
    int activation,
    floating unscale=1,
) noexcept nogil:
    """delta *= g'(Z), with g'(Z) computed from A = g(Z) (given as
    ``activated = A / unscale``: dropout's kept units are scaled); for the
    activations where ``derivative_needs_input`` is False only."""
    cdef Py_ssize_t i
    cdef floating a
    # Typed as the data: a bare 1 would turn float arithmetic into double.
    cdef floating one = 1
    if activation == RELU:
        for i in range(n):
            delta[i] = delta[i] if activated[i] > 0 else 0
    elif activation == LEAKY_RELU:
        # A = 0.01 * Z keeps the sign of Z.
        for i in range(n):
            delta[i] *= 1 if activated[i] > 0 else <floating> LEAKY_SLOPE
    elif activation == LOGISTIC:
        for i in range(n):
            a = activated[i] * unscale
            delta[i] = delta[i] * a * (one - a)
    elif activation == TANH:
        for i in range(n):
            a = activated[i] * unscale
            delta[i] *= one - a * a


cdef inline void multiply_by_slope(
    floating* delta,
    const floating* derivative,
    const floating* activated,
    Py_ssize_t n,
    int activation,
    floating unscale=1,
) noexcept nogil:
    """delta *= g'(Z), as the forward pass wrote it (``derivative``), or,
    when that is NULL, read off ``activated`` (:func:`multiply_by_derivative`)."""
    cdef Py_ssize_t i
    if derivative == NULL:
        multiply_by_derivative(delta, activated, n, activation, unscale)
        return
    for i in range(n):
        delta[i] *= derivative[i]


cdef inline void bias_activate_block(
    floating* block,
    Py_ssize_t n_rows,
    Py_ssize_t n_cols,
    Py_ssize_t ld,
    const floating* bias,
    int activation,
    floating* derivative,
    Py_ssize_t ld_derivative,
) noexcept nogil:
    """block[i, :] = g(block[i, :] + bias) for n_rows rows of n_cols
    values, ld apart (softmax: whole rows). With ``derivative`` (rows
    ld_derivative apart; NULL: not wanted), also writes g' at the biased
    input there. Softmax has no elementwise derivative and ignores it.
    The activation is chosen once for the block: a tile of a product is
    finished this way as soon as it is computed."""
    cdef Py_ssize_t i, j
    cdef floating* row
    if bias != NULL:
        for i in range(n_rows):
            row = block + i * ld
            for j in range(n_cols):
                row[j] += bias[j]
    if activation == RELU:
        # A select rather than a branch: signs are random, and the select
        # compiles to a (vectorised) max.
        for i in range(n_rows):
            row = block + i * ld
            for j in range(n_cols):
                row[j] = row[j] if row[j] > 0 else 0
    elif activation == LEAKY_RELU:
        for i in range(n_rows):
            leaky_relu_block(block + i * ld, n_cols)
    elif activation == GELU:
        for i in range(n_rows):
            gelu_block(block + i * ld, NULL if derivative == NULL
                       else derivative + i * ld_derivative, n_cols)
    elif activation == SILU:
        for i in range(n_rows):
            silu_block(block + i * ld, NULL if derivative == NULL
                       else derivative + i * ld_derivative, n_cols)
    elif activation == LOGISTIC:
        for i in range(n_rows):
            row = block + i * ld
            for j in range(n_cols):
                row[j] = logistic(row[j])
    elif activation == TANH:
        for i in range(n_rows):
            row = block + i * ld
            for j in range(n_cols):
                row[j] = fast_tanh(row[j])
    elif activation == SOFTMAX:
        softmax_rows(block, n_rows, n_cols, ld)
    elif activation == EXP:
        for i in range(n_rows):
            row = block + i * ld
            for j in range(n_cols):
                row[j] = fast_exp(row[j])
    if (derivative != NULL and activation != SOFTMAX
            and not derivative_needs_input(activation)):
        for i in range(n_rows):
            row = derivative + i * ld_derivative
            for j in range(n_cols):
                row[j] = 1
            multiply_by_derivative(row, block + i * ld, n_cols, activation)


cdef inline void add_bias_activate(
    floating* rows,
    Py_ssize_t n_rows,
    Py_ssize_t n_cols,
    const floating* bias,
    int activation,
    floating* derivative,
) noexcept nogil:
    """rows[i, :] = g(rows[i, :] + bias) for a C-contiguous block of rows
    (:func:`bias_activate_block`); ``derivative``, NULL or a block of the
    same shape."""
    bias_activate_block(rows, n_rows, n_cols, n_cols, bias, activation,
                        derivative, n_cols)
