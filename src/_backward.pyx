"""Backpropagation: output delta with the loss, hidden delta, gradients."""

from cython cimport floating
from cython.parallel cimport prange
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport log
from libc.stdlib cimport free, malloc

from _activations cimport LOGISTIC, SOFTMAX, multiply_by_derivative
from _blas cimport gemm
from _blocks cimport ROW_BLOCK, UNIT_BLOCK, n_blocks


cdef enum Loss:
    LOG_LOSS = 0
    SQUARED_ERROR = 1


LOSSES = {"log_loss": LOG_LOSS, "squared_error": SQUARED_ERROR}


cdef inline double _clipped_log(double p, double eps) noexcept nogil:
    # Probabilities are clipped to [eps, 1 - eps] as MLPClassifier's losses do.
    if p < eps:
        p = eps
    elif p > 1 - eps:
        p = 1 - eps
    return log(p)


cdef double _output_delta_rows(
    const floating* A,
    const floating* Y,
    floating* delta,
    Py_ssize_t n_rows,
    Py_ssize_t n_cols,
    int out_activation,
    int loss,
    double eps,
) noexcept nogil:
    """Write dL/dZ2 for a block of rows and return the block's summed loss."""
    cdef Py_ssize_t i, j, k
    cdef double total = 0
    cdef floating spread
    for i in range(n_rows):
        k = i * n_cols
        if loss == LOG_LOSS:
            # dZ2 = A2 - Y: seed 000 eq. 16 and seed 001, the exact gradient
            # of the cross-entropy for a softmax or logistic output.
            for j in range(k, k + n_cols):
                delta[j] = A[j] - Y[j]
                if Y[j] != 0:
                    total -= Y[j] * _clipped_log(A[j], eps)
                if out_activation == LOGISTIC and Y[j] != 1:
                    total -= (1 - Y[j]) * _clipped_log(1 - A[j], eps)
        else:
            for j in range(k, k + n_cols):
                total += 0.5 * (A[j] - Y[j]) * (A[j] - Y[j])
            if out_activation == SOFTMAX:
                # Seed 000 eq. 14, the full softmax Jacobian product:
                # A * (A - Y) - A * sum(A * (A - Y)).
                spread = 0
                for j in range(k, k + n_cols):
                    spread = spread + A[j] * (A[j] - Y[j])
                for j in range(k, k + n_cols):
                    delta[j] = A[j] * (A[j] - Y[j]) - A[j] * spread
            elif out_activation == LOGISTIC:
                for j in range(k, k + n_cols):
                    delta[j] = (A[j] - Y[j]) * A[j] * (1 - A[j])
            else:
                for j in range(k, k + n_cols):
                    delta[j] = A[j] - Y[j]
    return total


def output_delta(
    const floating[:, ::1] A,
    const floating[:, ::1] Y,
    floating[:, ::1] delta,
    int out_activation,
    int loss,
    int n_threads,
):
    """Output-layer delta dL/dZ2 and the summed (not averaged) loss.

    Parameters
    ----------
    A : ndarray of shape (n_rows, n_outputs)
        Output activations (softmax or logistic).
    Y : ndarray of shape (n_rows, n_outputs)
        Targets, one-hot (softmax) or 0/1 indicators (logistic).
    delta : ndarray of shape (n_rows, n_outputs)
        Written in place.
    out_activation : int
        ``ACTIVATIONS["softmax"]`` or ``ACTIVATIONS["logistic"]``.
    loss : int
        A value of ``LOSSES``.
    n_threads : int

    Returns
    -------
    loss_sum : float
        Sum over rows of each row's loss: cross-entropy, or
        ``0.5 * ||A - Y||^2`` for the squared error (seed 000 eq. 11).
    """
    cdef Py_ssize_t n_rows = A.shape[0]
    cdef Py_ssize_t n_cols = A.shape[1]
    cdef Py_ssize_t n_tasks = n_blocks(n_rows, ROW_BLOCK)
    cdef Py_ssize_t block, start
    # Machine epsilon of the data's type, as numpy.finfo(dtype).eps.
    cdef double eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef double total = 0
    cdef double* partial
    if (Y.shape[0] != n_rows or Y.shape[1] != n_cols
            or delta.shape[0] != n_rows or delta.shape[1] != n_cols):
        raise ValueError("output_delta: A, Y and delta must have one shape")
    if n_rows == 0 or n_cols == 0:
        return 0.0
    partial = <double*> malloc(n_tasks * sizeof(double))
    if partial == NULL:
        raise MemoryError()
    with nogil:
        for block in prange(n_tasks, schedule="static",
                            num_threads=max(n_threads, 1)):
            start = block * ROW_BLOCK
            partial[block] = _output_delta_rows(
                &A[start, 0], &Y[start, 0], &delta[start, 0],
                min(ROW_BLOCK, n_rows - start), n_cols, out_activation, loss,
                eps)
        # Block order, not thread order: the same sum for any thread count.
        for block in range(n_tasks):
            total += partial[block]
    free(partial)
    return total


def hidden_delta(
    const floating[:, ::1] delta_out,
    const floating[:, ::1] W_out,
    const floating[:, ::1] A_hidden,
    floating[:, ::1] delta_hidden,
    int activation,
    int n_threads,
):
    """delta_hidden = (delta_out @ W_out.T) * g'(Z1)  (seed 000 eq. 24).

    ``g'(Z1)`` is computed from the hidden activations ``A_hidden = g(Z1)``.
    """
    cdef Py_ssize_t n_rows = delta_out.shape[0]
    cdef Py_ssize_t n_out = delta_out.shape[1]
    cdef Py_ssize_t n_hidden = W_out.shape[0]
    cdef Py_ssize_t block, start, rows
    if (W_out.shape[1] != n_out or A_hidden.shape[0] != n_rows
            or A_hidden.shape[1] != n_hidden
            or delta_hidden.shape[0] != n_rows
            or delta_hidden.shape[1] != n_hidden):
        raise ValueError("hidden_delta: shapes do not match")
    if n_out == 0 or n_hidden == 0:
        raise ValueError("hidden_delta: a layer needs at least one unit")
    if n_rows == 0:
        return
    with nogil:
        for block in prange(n_blocks(n_rows, ROW_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            start = block * ROW_BLOCK
            rows = min(ROW_BLOCK, n_rows - start)
            gemm(False, True, <int> rows, <int> n_hidden, <int> n_out,
                 <floating> 1, &delta_out[start, 0], <int> n_out,
                 &W_out[0, 0], <int> n_out,
                 <floating> 0, &delta_hidden[start, 0], <int> n_hidden)
            multiply_by_derivative(&delta_hidden[start, 0], &A_hidden[start, 0],
                                   rows * n_hidden, activation)


cdef double _weight_gradient_rows(
    const floating* A_in,
    const floating* delta,
    const floating* W,
    floating* grad_W,
    Py_ssize_t first_unit,
    Py_ssize_t n_units,
    Py_ssize_t n_rows,
    Py_ssize_t n_in,
    Py_ssize_t n_out,
    floating alpha,
    floating divisor,
) noexcept nogil:
    """grad_W[u] = (A_in[:, u].T @ delta + alpha * W[u]) / divisor for a block
    of input units u; returns sum(W[u] ** 2) for the L2 term of the loss."""
    cdef Py_ssize_t i
    cdef Py_ssize_t offset = first_unit * n_out
    cdef double squares = 0
    gemm(True, False, <int> n_units, <int> n_out, <int> n_rows,
         <floating> 1, A_in + first_unit, <int> n_in, delta, <int> n_out,
         <floating> 0, grad_W + offset, <int> n_out)
    for i in range(offset, offset + n_units * n_out):
        squares += W[i] * W[i]
        grad_W[i] = (grad_W[i] + alpha * W[i]) / divisor
    return squares


cdef void _bias_gradient_columns(
    const floating* delta,
    floating* grad_b,
    Py_ssize_t first_col,
    Py_ssize_t n_cols,
    Py_ssize_t n_rows,
    Py_ssize_t n_out,
    floating divisor,
) noexcept nogil:
    cdef Py_ssize_t i, j
    cdef const floating* row
    for j in range(first_col, first_col + n_cols):
        grad_b[j] = 0
    for i in range(n_rows):
        row = delta + i * n_out
        for j in range(first_col, first_col + n_cols):
            grad_b[j] += row[j]
    for j in range(first_col, first_col + n_cols):
        grad_b[j] /= divisor


def layer_gradients(
    const floating[:, ::1] A_in,
    const floating[:, ::1] delta,
    const floating[:, ::1] W,
    floating[:, ::1] grad_W,
    floating[::1] grad_b,
    double alpha,
    double divisor,
    int n_threads,
):
    """Gradients of one layer (seed 000 eqs. 17, 19, 22, 23) with L2 penalty.

    ``grad_W = (A_in.T @ delta + alpha * W) / divisor`` and
    ``grad_b = delta.sum(axis=0) / divisor``, where ``divisor`` is the number
    of samples (or their total weight) in the batch.

    Returns
    -------
    squared_norm : float
        ``sum(W ** 2)``, for the L2 term of the loss.
    """
    cdef Py_ssize_t n_rows = A_in.shape[0]
    cdef Py_ssize_t n_in = A_in.shape[1]
    cdef Py_ssize_t n_out = delta.shape[1]
    cdef Py_ssize_t n_weight_tasks = n_blocks(n_in, UNIT_BLOCK)
    cdef Py_ssize_t n_tasks = n_weight_tasks + n_blocks(n_out, UNIT_BLOCK)
    cdef Py_ssize_t task, first
    cdef double squares = 0
    cdef double* partial
    if (delta.shape[0] != n_rows or W.shape[0] != n_in or W.shape[1] != n_out
            or grad_W.shape[0] != n_in or grad_W.shape[1] != n_out
            or grad_b.shape[0] != n_out):
        raise ValueError("layer_gradients: shapes do not match")
    if n_in == 0 or n_out == 0:
        raise ValueError("layer_gradients: a layer needs at least one unit")
    if n_rows == 0:
        raise ValueError("layer_gradients: the batch is empty")
    if not divisor > 0:
        raise ValueError("layer_gradients: divisor must be positive")
    partial = <double*> malloc(n_weight_tasks * sizeof(double))
    if partial == NULL:
        raise MemoryError()
    with nogil:
        # Weight blocks and bias blocks share one parallel loop; each task
        # reduces over all rows itself, so no cross-thread reduction exists.
        for task in prange(n_tasks, schedule="dynamic",
                           num_threads=max(n_threads, 1)):
            if task < n_weight_tasks:
                first = task * UNIT_BLOCK
                partial[task] = _weight_gradient_rows(
                    &A_in[0, 0], &delta[0, 0], &W[0, 0], &grad_W[0, 0],
                    first, min(UNIT_BLOCK, n_in - first), n_rows, n_in, n_out,
                    <floating> alpha, <floating> divisor)
            else:
                first = (task - n_weight_tasks) * UNIT_BLOCK
                _bias_gradient_columns(
                    &delta[0, 0], &grad_b[0], first,
                    min(UNIT_BLOCK, n_out - first), n_rows, n_out,
                    <floating> divisor)
        for task in range(n_weight_tasks):
            squares += partial[task]
    free(partial)
    return squares
