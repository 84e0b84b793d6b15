# Activation functions applied in place to a block of rows, and their
# derivatives expressed through the activation's output (all of g' for
# relu, logistic, tanh and identity can be read off A = g(Z), so Z is never
# stored). EXP is an output activation only (the log link of the Poisson
# loss), whose derivative the output delta folds in.

from cython cimport floating
from libc.math cimport INFINITY, exp, expf, tanh, tanhf


cdef enum Activation:
    IDENTITY = 0
    RELU = 1
    LOGISTIC = 2
    TANH = 3
    SOFTMAX = 4
    EXP = 5


cdef inline floating exponential(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating logistic(floating x) noexcept nogil:
    return 1 / (1 + exponential(-x))


cdef inline void softmax_row(floating* row, Py_ssize_t n_cols) noexcept nogil:
    """Numerically stable softmax: shift by the row maximum first."""
    cdef Py_ssize_t j
    cdef floating row_max = row[0]
    cdef floating total = 0
    for j in range(1, n_cols):
        if row[j] > row_max:
            row_max = row[j]
    if row_max == INFINITY:
        # exp(inf - inf) is NaN: the largest logits share the probability.
        for j in range(n_cols):
            row[j] = 1 if row[j] == row_max else 0
            total += row[j]
        for j in range(n_cols):
            row[j] /= total
        return
    for j in range(n_cols):
        row[j] = exponential(row[j] - row_max)
        total += row[j]
    for j in range(n_cols):
        row[j] /= total


cdef inline void add_bias_activate(
    floating* rows,
    Py_ssize_t n_rows,
    Py_ssize_t n_cols,
    const floating* bias,
    int activation,
) noexcept nogil:
    """rows[i, :] = g(rows[i, :] + bias) for a C-contiguous block of rows."""
    cdef Py_ssize_t i, j
    cdef floating* row
    for i in range(n_rows):
        row = rows + i * n_cols
        if bias != NULL:
            for j in range(n_cols):
                row[j] += bias[j]
        if activation == RELU:
            # A select rather than a branch: signs are random, and the
            # select compiles to a (vectorised) max.
            for j in range(n_cols):
                row[j] = row[j] if row[j] > 0 else 0
        elif activation == LOGISTIC:
            for j in range(n_cols):
                row[j] = logistic(row[j])
        elif activation == TANH:
            for j in range(n_cols):
                if floating is float:
                    row[j] = tanhf(row[j])
                else:
                    row[j] = tanh(row[j])
        elif activation == SOFTMAX:
            if n_cols > 0:
                softmax_row(row, n_cols)
        elif activation == EXP:
            for j in range(n_cols):
                row[j] = exponential(row[j])


cdef inline void multiply_by_derivative(
    floating* delta,
    const floating* activated,
    Py_ssize_t n,
    int activation,
) noexcept nogil:
    """delta *= g'(Z), with g'(Z) computed from A = g(Z)."""
    cdef Py_ssize_t i
    if activation == RELU:
        for i in range(n):
            delta[i] = delta[i] if activated[i] > 0 else 0
    elif activation == LOGISTIC:
        for i in range(n):
            delta[i] = delta[i] * activated[i] * (1 - activated[i])
    elif activation == TANH:
        for i in range(n):
            delta[i] *= 1 - activated[i] * activated[i]
