"""Python entry points to the kernels, for the test suite only.

The package runs its kernels inside the compiled trainer and forward
pass; the tests also call them one at a time, here, to compare each with
NumPy. This module is built only with the ``kernel_probes`` build option
(``-Csetup-args=-Dkernel_probes=true``): the wheel does not ship it.
Like the forward pass and the trainer, it is built for each CPU level
(``_kernel_probes_avx2``, ``_kernel_probes_avx512``), so that the tests
check the kernels of every build.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.stdlib cimport free, malloc

from _activations cimport SOFTMAX, add_bias_activate, derivative_needs_input
from _blocks cimport FLAT_BLOCK, ROW_BLOCK, UNIT_BLOCK, n_blocks
from _dropout cimport keeps, rate_threshold, row_key, uint64
from _fastmath cimport log_of_normal
from _gemm cimport gemm
from _layers cimport (
    bias_gradient_columns, exact_reciprocal, finish_gradient, forward_rows,
    hidden_delta_rows, output_delta_rows, weight_gradient_units,
)
from _sparse cimport check_csr, sparse_forward_rows
from _updates cimport adam_step, sgd_step

import numpy as np


# ----------------------------------------------------------------------
# Matrix products
# ----------------------------------------------------------------------


def matmul(
    const floating[:, ::1] A,
    const floating[:, ::1] B,
    floating[:, ::1] C,
    bint trans_a=False,
    bint trans_b=False,
    const Py_ssize_t[::1] rows=None,
    bint accumulate=False,
):
    """C (+)= op(A[rows]) @ op(B) by the project's own product, on one thread.

    Parameters
    ----------
    A : ndarray of shape (n_stored, m), or (n_stored, k) with ``trans_a``
        The stored A; ``rows`` picks the rows read (all, in order, if None):
        the rows of op(A), or with ``trans_a`` its columns.
    B : ndarray of shape (k, n), or (n, k) with ``trans_b``
    C : ndarray of shape (m, n)
        Written (or with ``accumulate`` added to) in place.
    """
    cdef Py_ssize_t m = C.shape[0], n = C.shape[1]
    cdef Py_ssize_t n_read = A.shape[0] if rows is None else rows.shape[0]
    cdef Py_ssize_t k = n_read if trans_a else A.shape[1]
    cdef const Py_ssize_t* picked = NULL
    cdef Py_ssize_t i
    if (A.shape[1] if trans_a else n_read) != m:
        raise ValueError("matmul: op(A) does not have C's rows")
    if (B.shape[1] if trans_b else B.shape[0]) != k:
        raise ValueError("matmul: op(B) does not have op(A)'s columns")
    if (B.shape[0] if trans_b else B.shape[1]) != n:
        raise ValueError("matmul: op(B) does not have C's columns")
    if rows is not None:
        for i in range(rows.shape[0]):
            if rows[i] < 0 or rows[i] >= A.shape[0]:
                raise ValueError("matmul: rows must index rows of A")
        if rows.shape[0] > 0:
            picked = &rows[0]
    if m == 0 or n == 0:
        return
    with nogil:
        gemm(trans_a, trans_b, m, n, k,
             &A[0, 0] if A.shape[0] * A.shape[1] > 0 else NULL, A.shape[1],
             picked, &B[0, 0] if B.shape[0] * B.shape[1] > 0 else NULL,
             B.shape[1], &C[0, 0], n, accumulate)


# ----------------------------------------------------------------------
# Forward propagation
# ----------------------------------------------------------------------


cdef floating* _derivative_buffer(
    floating[:, ::1] derivative, Py_ssize_t n_rows, Py_ssize_t n_out,
    int activation,
) except? NULL:
    """The start of ``derivative`` (NULL for None), after checking it."""
    if derivative is None:
        return NULL
    if activation == SOFTMAX:
        raise ValueError("softmax has no elementwise derivative")
    if derivative.shape[0] != n_rows or derivative.shape[1] != n_out:
        raise ValueError("derivative must have the shape of out")
    if n_rows == 0:
        return NULL
    return &derivative[0, 0]


def forward_layer(
    const floating[:, ::1] X,
    const floating[:, ::1] W,
    const floating[::1] b,
    floating[:, ::1] out,
    int activation,
    int n_threads,
    floating[:, ::1] derivative=None,
):
    """out = g(X @ W + b), in parallel over fixed blocks of rows.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_in)
    W : ndarray of shape (n_in, n_out)
    b : ndarray of shape (n_out,)
    out : ndarray of shape (n_rows, n_out)
        Written in place.
    activation : int
        A code of ``_registry.ACTIVATION_CODES``; softmax normalises each row.
    n_threads : int
        OpenMP threads to use.
    derivative : ndarray of shape (n_rows, n_out) or None
        If given, receives g'(X @ W + b) (not for softmax).
    """
    cdef Py_ssize_t n_rows = X.shape[0]
    cdef Py_ssize_t n_in = X.shape[1]
    cdef Py_ssize_t n_out = W.shape[1]
    cdef Py_ssize_t block, start
    cdef floating* slopes
    if W.shape[0] != n_in or b.shape[0] != n_out:
        raise ValueError("forward_layer: W and b do not match X's shape")
    if out.shape[0] != n_rows or out.shape[1] != n_out:
        raise ValueError("forward_layer: out has the wrong shape")
    if n_in == 0 or n_out == 0:
        raise ValueError("forward_layer: a layer needs at least one unit")
    slopes = _derivative_buffer(derivative, n_rows, n_out, activation)
    if n_rows == 0:
        return
    with nogil:
        for block in prange(n_blocks(n_rows, ROW_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            start = block * ROW_BLOCK
            forward_rows(&X[start, 0], NULL, &W[0, 0], &b[0], &out[start, 0],
                         min(ROW_BLOCK, n_rows - start), n_in, n_out,
                         activation,
                         NULL if slopes == NULL else slopes + start * n_out)


def forward_layer_sparse(
    const floating[::1] data,
    const Py_ssize_t[::1] indices,
    const Py_ssize_t[::1] indptr,
    const floating[:, ::1] W,
    const floating[::1] b,
    floating[:, ::1] out,
    int activation,
    int n_threads,
    floating[:, ::1] derivative=None,
):
    """out = g(X @ W + b) for a CSR matrix X given by its arrays, in parallel
    over fixed blocks of rows; X is never densified.

    Parameters
    ----------
    data, indices, indptr : ndarray
        X in CSR form (indices and indptr of dtype intp).
    W : ndarray of shape (n_in, n_out)
    b : ndarray of shape (n_out,)
    out : ndarray of shape (n_rows, n_out)
        Written in place.
    activation : int
        A code of ``_registry.ACTIVATION_CODES``.
    n_threads : int
    derivative : ndarray of shape (n_rows, n_out) or None
        If given, receives g'(X @ W + b) (not for softmax).
    """
    cdef Py_ssize_t n_rows = out.shape[0]
    cdef Py_ssize_t n_in = W.shape[0]
    cdef Py_ssize_t n_out = W.shape[1]
    cdef Py_ssize_t block, start
    cdef floating* slopes
    if b.shape[0] != n_out or out.shape[1] != n_out:
        raise ValueError("forward_layer_sparse: W, b and out do not match")
    if n_in == 0 or n_out == 0:
        raise ValueError("forward_layer_sparse: a layer needs at least one unit")
    check_csr(indices, indptr, data.shape[0], n_rows, n_in)
    slopes = _derivative_buffer(derivative, n_rows, n_out, activation)
    if n_rows == 0:
        return
    with nogil:
        for block in prange(n_blocks(n_rows, ROW_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            start = block * ROW_BLOCK
            sparse_forward_rows(
                NULL if data.shape[0] == 0 else &data[0],
                NULL if indices.shape[0] == 0 else &indices[0], &indptr[0],
                NULL, start, min(ROW_BLOCK, n_rows - start), &W[0, 0], &b[0],
                &out[start, 0], n_out, activation,
                NULL if slopes == NULL else slopes + start * n_out)


def output_activation(floating[:, ::1] Z, int activation, int n_threads):
    """Apply an output activation (softmax or logistic) in place, by rows."""
    cdef Py_ssize_t n_rows = Z.shape[0]
    cdef Py_ssize_t n_cols = Z.shape[1]
    cdef Py_ssize_t block, start
    if n_rows == 0 or n_cols == 0:
        return
    with nogil:
        for block in prange(n_blocks(n_rows, ROW_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            start = block * ROW_BLOCK
            add_bias_activate(&Z[start, 0], min(ROW_BLOCK, n_rows - start),
                              n_cols, <floating*> NULL, activation,
                              <floating*> NULL)


def dropout_keep_mask(unsigned long long seed, unsigned long long step,
                      const Py_ssize_t[::1] samples, Py_ssize_t n_units,
                      double rate):
    """The dropout mask of the given samples at one optimizer step.

    Returns
    -------
    mask : ndarray of shape (n_samples, n_units) of uint8
        1 where the unit is kept, as the training loop draws it.
    """
    cdef Py_ssize_t i, j
    cdef uint64 key, threshold = rate_threshold(rate)
    mask = np.zeros((samples.shape[0], n_units), dtype=np.uint8)
    cdef unsigned char[:, ::1] out = mask
    for i in range(samples.shape[0]):
        key = row_key(seed, step, samples[i])
        for j in range(n_units):
            out[i, j] = keeps(key, j, threshold)
    return mask


# ----------------------------------------------------------------------
# Backpropagation: output delta with the loss, hidden delta, gradients
# ----------------------------------------------------------------------


def log_of_normals(const double[::1] x, double[::1] out):
    """out = log(x) by the log loss's own logarithm, for positive normal
    numbers (and NaN)."""
    cdef Py_ssize_t i
    if out.shape[0] != x.shape[0]:
        raise ValueError("log_of_normals: x and out must have one length")
    with nogil:
        for i in range(x.shape[0]):
            out[i] = log_of_normal(x[i])


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
        A code of ``_registry.ACTIVATION_CODES``: "softmax", "logistic",
        "identity" or "exp".
    loss : int
        A code of ``_registry.LOSS_CODES``: "log_loss" or "squared_error"
        for softmax and logistic outputs; "squared_error", "absolute_error",
        "huber", "quantile" for an identity output, "poisson" for an exp
        output.
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
                              slopes + start * n_hidden, n_hidden)


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
                    <floating> alpha, <floating> divisor,
                    exact_reciprocal(<floating> divisor))
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


# ----------------------------------------------------------------------
# Parameter updates on the flat vector of all weights and biases
# ----------------------------------------------------------------------


def sgd_update(
    floating[::1] params,
    const floating[::1] grads,
    floating[::1] velocity,
    double learning_rate,
    double momentum,
    bint nesterov,
    int n_threads,
):
    """Gradient descent with (Nesterov) momentum, in place.

    ``velocity = momentum * velocity - learning_rate * grads`` and
    ``params += velocity`` (or, with Nesterov,
    ``params += momentum * velocity - learning_rate * grads``). With
    ``momentum=0`` this is plain gradient descent, eq. (20) of the
    documentation's algorithm page.
    """
    cdef Py_ssize_t n = params.shape[0]
    cdef Py_ssize_t block
    if grads.shape[0] != n or velocity.shape[0] != n:
        raise ValueError("sgd_update: params, grads and velocity differ in size")
    if n == 0:
        return
    with nogil:
        for block in prange(n_blocks(n, FLAT_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            sgd_step(&params[0], &grads[0], &velocity[0], block * FLAT_BLOCK,
                     min(n, (block + 1) * FLAT_BLOCK), <floating> learning_rate,
                     <floating> momentum, nesterov)


def adam_update(
    floating[::1] params,
    const floating[::1] grads,
    floating[::1] first_moment,
    floating[::1] second_moment,
    double learning_rate,
    double beta_1,
    double beta_2,
    double epsilon,
    int n_threads,
):
    """One Adam step, in place.

    ``learning_rate`` is the bias-corrected step
    ``lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``.
    """
    cdef Py_ssize_t n = params.shape[0]
    cdef Py_ssize_t block
    if (grads.shape[0] != n or first_moment.shape[0] != n
            or second_moment.shape[0] != n):
        raise ValueError("adam_update: params, grads and moments differ in size")
    if n == 0:
        return
    with nogil:
        for block in prange(n_blocks(n, FLAT_BLOCK), schedule="static",
                            num_threads=max(n_threads, 1)):
            adam_step(&params[0], &grads[0], &first_moment[0],
                      &second_moment[0], block * FLAT_BLOCK,
                      min(n, (block + 1) * FLAT_BLOCK), <floating> learning_rate,
                      <floating> beta_1, <floating> beta_2, <floating> epsilon)
