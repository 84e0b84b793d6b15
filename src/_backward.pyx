"""Backpropagation: output delta with the loss, hidden delta, gradients."""

from cython cimport floating
from cython.parallel cimport prange
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.stdlib cimport free, malloc

from _activations cimport derivative_needs_input
from _blocks cimport ROW_BLOCK, UNIT_BLOCK, n_blocks
from _layers cimport (
    ABSOLUTE_ERROR, HUBER, LOG_LOSS, POISSON, QUANTILE, SQUARED_ERROR,
    bias_gradient_columns, finish_gradient, hidden_delta_rows,
    output_delta_rows, weight_gradient_units,
)


LOSSES = {
    "log_loss": LOG_LOSS,
    "squared_error": SQUARED_ERROR,
    "poisson": POISSON,
    "absolute_error": ABSOLUTE_ERROR,
    "huber": HUBER,
    "quantile": QUANTILE,
}


def output_delta(
    const floating[:, ::1] A,
    const floating[:, ::1] Y,
    floating[:, ::1] delta,
    int out_activation,
    int loss,
    int n_threads,
    double loss_parameter=0.0,
):
    """Output-layer delta dL/dZ2 and the summed (not averaged) loss.

    Parameters
    ----------
    A : ndarray of shape (n_rows, n_outputs)
        Output activations: softmax or logistic (classification), identity
        or exp (regression).
    Y : ndarray of shape (n_rows, n_outputs)
        Targets: one-hot (softmax), 0/1 indicators (logistic), or values.
    delta : ndarray of shape (n_rows, n_outputs)
        Written in place.
    out_activation : int
        A value of ``ACTIVATIONS``: "softmax", "logistic", "identity" or
        "exp".
    loss : int
        A value of ``LOSSES``: "log_loss" or "squared_error" for softmax and
        logistic outputs; "squared_error", "absolute_error", "huber",
        "quantile" for an identity output, "poisson" for an exp output.
    n_threads : int
    loss_parameter : float, default=0.0
        The threshold of "huber", the quantile of "quantile".

    Returns
    -------
    loss_sum : float
        Sum over rows of each row's loss: cross-entropy, or
        ``0.5 * ||A - Y||^2`` for the squared error (eq. (8) of the algorithm page), the
        summed elementwise loss for the regression losses.
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
            partial[block] = output_delta_rows(
                &A[start, 0], &Y[start, 0], NULL, &delta[start, 0],
                min(ROW_BLOCK, n_rows - start), n_cols, out_activation, loss,
                loss_parameter, eps)
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
    const floating[:, ::1] derivative=None,
):
    """delta_hidden = (delta_out @ W_out.T) * g'(Z1), eqs. (16)-(17) of the
    algorithm page.

    ``g'(Z1)`` is ``derivative`` when given (as ``forward_layer`` writes
    it), otherwise computed from the hidden activations ``A_hidden =
    g(Z1)``; gelu and silu need ``derivative``, as their g' is no function
    of g.
    """
    cdef Py_ssize_t n_rows = delta_out.shape[0]
    cdef Py_ssize_t n_out = delta_out.shape[1]
    cdef Py_ssize_t n_hidden = W_out.shape[0]
    cdef Py_ssize_t block, start
    cdef const floating* slopes = NULL
    if (W_out.shape[1] != n_out or A_hidden.shape[0] != n_rows
            or A_hidden.shape[1] != n_hidden
            or delta_hidden.shape[0] != n_rows
            or delta_hidden.shape[1] != n_hidden):
        raise ValueError("hidden_delta: shapes do not match")
    if n_out == 0 or n_hidden == 0:
        raise ValueError("hidden_delta: a layer needs at least one unit")
    if derivative is None:
        if derivative_needs_input(activation):
            raise ValueError(
                "hidden_delta: this activation needs the derivative written "
                "by the forward pass")
    elif derivative.shape[0] != n_rows or derivative.shape[1] != n_hidden:
        raise ValueError("hidden_delta: derivative must have the shape of "
                         "A_hidden")
    if n_rows == 0:
        return
    if derivative is not None:
        slopes = &derivative[0, 0]
    with nogil:
        for block in prange(n_blocks(n_rows, ROW_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            start = block * ROW_BLOCK
            hidden_delta_rows(&delta_out[start, 0], &W_out[0, 0],
                              &A_hidden[start, 0], &delta_hidden[start, 0],
                              min(ROW_BLOCK, n_rows - start), n_hidden, n_out,
                              activation,
                              NULL if slopes == NULL else
                              slopes + start * n_hidden)


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
    """Gradients of one layer, eqs. (14), (15), (18), (19) of the algorithm
    page, with the L2 penalty.

    ``grad_W = (A_in.T @ delta + alpha * W) / divisor`` and
    ``grad_b = delta.sum(axis=0) / divisor``, where ``divisor`` is the number
    of samples (or their total weight) in the batch.

    Returns
    -------
    squared_norm : float
        ``sum(W ** 2)``, for the L2 term of the loss; 0 when ``alpha`` is 0.
    """
    cdef Py_ssize_t n_rows = A_in.shape[0]
    cdef Py_ssize_t n_in = A_in.shape[1]
    cdef Py_ssize_t n_out = delta.shape[1]
    cdef Py_ssize_t n_weight_tasks = n_blocks(n_in, UNIT_BLOCK)
    cdef Py_ssize_t n_tasks = n_weight_tasks + n_blocks(n_out, UNIT_BLOCK)
    cdef Py_ssize_t task, first, size, j
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
                size = min(UNIT_BLOCK, n_in - first)
                weight_gradient_units(&A_in[0, 0], &delta[0, 0], &grad_W[0, 0],
                                      first, size, n_rows, n_in, n_out, False)
                partial[task] = finish_gradient(
                    &grad_W[first, 0], &W[first, 0], size * n_out,
                    <floating> alpha, <floating> divisor)
            else:
                first = (task - n_weight_tasks) * UNIT_BLOCK
                size = min(UNIT_BLOCK, n_out - first)
                bias_gradient_columns(&delta[0, 0], &grad_b[0], first, size,
                                      n_rows, n_out, False)
                for j in range(first, first + size):
                    grad_b[j] /= <floating> divisor
        for task in range(n_weight_tasks):
            squares += partial[task]
    free(partial)
    return squares
