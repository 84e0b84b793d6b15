"""Forward propagation: the whole network's output (prediction) and its
hidden layer alone (transform), block by block of rows."""

from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport fabs
from libc.stdlib cimport free, malloc

import numpy as np

from _activations cimport LEAKY_SLOPE, SOFTMAX
from _blocks cimport n_blocks
from _layers cimport forward_rows
from _openmp cimport wtime
from _sparse cimport check_csr, sparse_forward_rows


cdef enum:
    # Rows per task of a prediction: both layers of a block run while its
    # hidden activations (PREDICT_ROWS x n_hidden) are in cache.
    PREDICT_ROWS = 256
    # Rows per task of largest_row_sum.
    ROW_SUM_ROWS = 1024
    # Partial sums of a row of largest_row_sum (one vector of float64).
    ROW_SUM_LANES = 8
    # A dense block of rows of at most this size is read once (the finite
    # check's pass) before its product even when no check is asked for:
    # the pass fetches its lines many at a time into L2, where the product,
    # reading several rows at once, would wait for them. Half the L2 of
    # most cores with AVX2 (a quarter of this Zen 4's); a wider block would
    # leave L2 before the product reads it.
    READ_FIRST_BYTES = 256 * 1024


#: Slope of "leaky_relu" for negative inputs.
LEAKY_RELU_SLOPE = LEAKY_SLOPE

#: Rows per task of ``predict_rows`` and ``transform_rows`` (the last task
#: takes what is left).
BLOCK_ROWS = PREDICT_ROWS


cdef inline bint _all_finite(const floating* values,
                             Py_ssize_t n) noexcept nogil:
    """Whether no value is NaN or infinite: x - x is 0 for every finite x
    and NaN otherwise (an or over comparisons, which vectorises)."""
    cdef Py_ssize_t i
    cdef bint not_finite = False
    for i in range(n):
        not_finite |= values[i] - values[i] != 0
    return not not_finite


cdef inline bint _reads_blocks_first(bint sparse, bint check_finite,
                                     Py_ssize_t n_features,
                                     size_t itemsize) noexcept nogil:
    """Whether a forward pass reads each block of rows once before its
    product: a dense block, always when the finite check is asked for,
    else when it takes at most READ_FIRST_BYTES."""
    return not sparse and (
        check_finite or PREDICT_ROWS * n_features * itemsize <= READ_FIRST_BYTES)


cdef inline double _abs_sum(const floating* x, Py_ssize_t n) noexcept nogil:
    """sum |x[j]| in float64: ROW_SUM_LANES partial sums (element j in sum
    j % ROW_SUM_LANES, which vectorise), then the last elements and the
    partial sums in order; the order depends on n alone."""
    cdef double partial[ROW_SUM_LANES]
    cdef double total = 0
    cdef Py_ssize_t whole = n - n % ROW_SUM_LANES
    cdef Py_ssize_t j
    cdef int lane
    for lane in range(ROW_SUM_LANES):
        partial[lane] = 0
    for j in range(whole // ROW_SUM_LANES):
        for lane in range(ROW_SUM_LANES):
            partial[lane] += fabs(<double> x[j * ROW_SUM_LANES + lane])
    for j in range(whole, n):
        total += fabs(<double> x[j])
    for lane in range(ROW_SUM_LANES):
        total += partial[lane]
    return total


cdef inline double _larger(double largest, double row_sum) noexcept nogil:
    """The larger of the two, or NaN once either is: a row with a NaN is
    not lost by the comparison."""
    if row_sum > largest or row_sum != row_sum:
        return row_sum
    return largest


def largest_row_sum(const floating[:, ::1] X, int n_threads):
    """max over the rows of X of sum_j |X[i, j]| (0 without rows or columns),
    in one parallel pass over X without a copy: NaN if X holds a NaN, inf
    if it holds an infinity (or, in float64, if a row's sum overflows).
    The pass is also the fit's check that X is finite.

    Each row is summed by one thread in an order set by the number of
    columns (``_abs_sum``) and the maximum is exact, so the result does
    not depend on ``n_threads``.
    """
    cdef Py_ssize_t n_rows = X.shape[0], n_cols = X.shape[1]
    cdef Py_ssize_t n_tasks = n_blocks(n_rows, ROW_SUM_ROWS)
    cdef Py_ssize_t task, i, start, stop
    cdef double largest = 0, task_largest
    cdef double[::1] task_max
    if n_rows == 0 or n_cols == 0:
        return 0.0
    task_max = np.zeros(n_tasks)
    n_threads = max(1, min(n_threads, n_tasks))
    with nogil:
        for task in prange(n_tasks, schedule="static", num_threads=n_threads):
            start = task * ROW_SUM_ROWS
            stop = min(start + ROW_SUM_ROWS, n_rows)
            task_largest = 0
            for i in range(start, stop):
                task_largest = _larger(task_largest, _abs_sum(&X[i, 0], n_cols))
            task_max[task] = task_largest
    for task in range(n_tasks):
        largest = _larger(largest, task_max[task])
    return largest


def predict_rows(
    const floating[:, ::1] X,
    const floating[:, ::1] W1,
    const floating[::1] b1,
    const floating[:, ::1] W2,
    const floating[::1] b2,
    floating[:, ::1] out,
    int activation,
    int out_activation,
    int n_threads,
    const floating[::1] X_data=None,
    const Py_ssize_t[::1] X_indices=None,
    const Py_ssize_t[::1] X_indptr=None,
    bint check_finite=False,
    double[::1] block_seconds=None,
):
    """out = A(g(X @ W1 + b1) @ W2 + b2) for all rows of X, in one parallel
    loop over fixed blocks of rows; each thread keeps the hidden activations
    of one block only (memory PREDICT_ROWS x n_hidden per thread).

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Dense data; for a CSR X given by ``X_data``, ``X_indices`` and
        ``X_indptr`` (indices of dtype intp), any array of its dtype.
    W1, b1, W2, b2 : ndarray
        The layers, W1 of shape (n_features, n_hidden), W2 of shape
        (n_hidden, n_outputs).
    out : ndarray of shape (n_rows, n_outputs)
        Written in place.
    activation, out_activation : int
        Codes of ``_registry.ACTIVATION_CODES``.
    n_threads : int
    check_finite : bool, default=False
        Check a dense X for NaN and infinity, each block while it is in
        cache (no pass over X of its own).
    block_seconds : ndarray of shape (n_blocks,), default=None
        If given, each block's seconds are written there: one call times
        its blocks as they run, where a call per block would add the
        call's own setup to each.

    Returns
    -------
    finite : bool
        False when ``check_finite`` found a value of X that is not finite;
        ``out`` is then unspecified.
    """
    cdef Py_ssize_t n_rows = out.shape[0]
    cdef Py_ssize_t n_features = W1.shape[0]
    cdef Py_ssize_t n_hidden = W1.shape[1]
    cdef Py_ssize_t n_outputs = W2.shape[1]
    cdef Py_ssize_t block, start, rows
    cdef bint sparse = X_data is not None
    cdef const floating* data = NULL
    cdef const Py_ssize_t* indices = NULL
    cdef floating* hidden
    cdef int failure = 0
    cdef int* failed = &failure
    # Set, through a pointer, by any thread that meets a non-finite value.
    cdef int not_finite = 0
    cdef int* seen_not_finite = &not_finite
    cdef bint read_first
    cdef double* timings = NULL
    cdef double started
    if (b1.shape[0] != n_hidden or W2.shape[0] != n_hidden
            or b2.shape[0] != n_outputs or out.shape[1] != n_outputs):
        raise ValueError("predict_rows: the layers and out do not match")
    if n_features == 0 or n_hidden == 0 or n_outputs == 0:
        raise ValueError("predict_rows: a layer needs at least one unit")
    if sparse:
        if X_indices is None or X_indptr is None:
            raise ValueError("predict_rows: a sparse X needs its three arrays")
        check_csr(X_indices, X_indptr, X_data.shape[0], n_rows, n_features)
        if X_data.shape[0] > 0:
            data = &X_data[0]
            indices = &X_indices[0]
    elif X.shape[0] != n_rows or X.shape[1] != n_features:
        raise ValueError("predict_rows: X does not match W1 and out")
    check_finite = check_finite and not sparse
    read_first = _reads_blocks_first(sparse, check_finite, n_features,
                                     sizeof(floating))
    if block_seconds is not None:
        if block_seconds.shape[0] != n_blocks(n_rows, PREDICT_ROWS):
            raise ValueError("predict_rows: block_seconds needs one entry "
                             "per block of rows")
        if block_seconds.shape[0] > 0:
            timings = &block_seconds[0]
    if n_rows == 0:
        return True
    n_threads = max(1, min(n_threads, n_blocks(n_rows, PREDICT_ROWS)))
    with nogil, parallel(num_threads=n_threads):
        hidden = <floating*> malloc(PREDICT_ROWS * n_hidden * sizeof(floating))
        for block in prange(n_blocks(n_rows, PREDICT_ROWS), schedule="static"):
            if timings != NULL:
                started = wtime()
            if hidden == NULL:
                # Written through a pointer: shared by the team.
                failed[0] = 1
                continue
            start = block * PREDICT_ROWS
            rows = min(PREDICT_ROWS, n_rows - start)
            if read_first and not _all_finite(&X[start, 0],
                                              rows * n_features):
                seen_not_finite[0] = 1
                if check_finite:
                    continue
            if sparse:
                sparse_forward_rows(data, indices, &X_indptr[0], NULL, start,
                                    rows, &W1[0, 0], &b1[0], hidden, n_hidden,
                                    activation, NULL)
            else:
                forward_rows(&X[start, 0], NULL, &W1[0, 0], &b1[0], hidden, rows,
                             n_features, n_hidden, activation, NULL)
            forward_rows(<const floating*> hidden, NULL, &W2[0, 0], &b2[0],
                         &out[start, 0], rows, n_hidden, n_outputs,
                         out_activation, NULL)
            if timings != NULL:
                timings[block] = wtime() - started
        free(hidden)
    if failure:
        raise MemoryError("predict_rows: cannot allocate the hidden buffers")
    return not (check_finite and not_finite)


def transform_rows(
    const floating[:, ::1] X,
    const floating[:, ::1] W1,
    const floating[::1] b1,
    floating[:, ::1] out,
    int activation,
    int n_threads,
    const floating[::1] X_data=None,
    const Py_ssize_t[::1] X_indices=None,
    const Py_ssize_t[::1] X_indptr=None,
    bint check_finite=False,
):
    """out = g(X @ W1 + b1), the hidden activations of all rows of X, in one
    parallel loop over the fixed blocks of rows of ``predict_rows`` (the
    same products, written straight into ``out``; never any dropout).

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
        Dense data; for a CSR X given by ``X_data``, ``X_indices`` and
        ``X_indptr`` (indices of dtype intp), any array of its dtype.
    W1 : ndarray of shape (n_features, n_hidden)
    b1 : ndarray of shape (n_hidden,)
    out : ndarray of shape (n_rows, n_hidden)
        Written in place.
    activation : int
        A code of ``_registry.ACTIVATION_CODES`` (not softmax).
    n_threads : int
    check_finite : bool, default=False
        Check a dense X for NaN and infinity, each block while it is in
        cache (no pass over X of its own).

    Returns
    -------
    finite : bool
        False when ``check_finite`` found a value of X that is not finite;
        ``out`` is then unspecified.
    """
    cdef Py_ssize_t n_rows = out.shape[0]
    cdef Py_ssize_t n_features = W1.shape[0]
    cdef Py_ssize_t n_hidden = W1.shape[1]
    cdef Py_ssize_t block, start, rows
    cdef bint sparse = X_data is not None
    cdef const floating* data = NULL
    cdef const Py_ssize_t* indices = NULL
    # Set, through a pointer, by any thread that meets a non-finite value.
    cdef int not_finite = 0
    cdef int* seen_not_finite = &not_finite
    cdef bint read_first
    if b1.shape[0] != n_hidden or out.shape[1] != n_hidden:
        raise ValueError("transform_rows: W1, b1 and out do not match")
    if n_features == 0 or n_hidden == 0:
        raise ValueError("transform_rows: a layer needs at least one unit")
    if activation == SOFTMAX:
        raise ValueError("transform_rows: softmax is not a hidden activation")
    if sparse:
        if X_indices is None or X_indptr is None:
            raise ValueError("transform_rows: a sparse X needs its three arrays")
        check_csr(X_indices, X_indptr, X_data.shape[0], n_rows, n_features)
        if X_data.shape[0] > 0:
            data = &X_data[0]
            indices = &X_indices[0]
    elif X.shape[0] != n_rows or X.shape[1] != n_features:
        raise ValueError("transform_rows: X does not match W1 and out")
    check_finite = check_finite and not sparse
    read_first = _reads_blocks_first(sparse, check_finite, n_features,
                                     sizeof(floating))
    if n_rows == 0:
        return True
    n_threads = max(1, min(n_threads, n_blocks(n_rows, PREDICT_ROWS)))
    with nogil:
        for block in prange(n_blocks(n_rows, PREDICT_ROWS), schedule="static",
                            num_threads=n_threads):
            start = block * PREDICT_ROWS
            rows = min(PREDICT_ROWS, n_rows - start)
            if read_first and not _all_finite(&X[start, 0],
                                              rows * n_features):
                seen_not_finite[0] = 1
                if check_finite:
                    continue
            if sparse:
                sparse_forward_rows(data, indices, &X_indptr[0], NULL, start,
                                    rows, &W1[0, 0], &b1[0], &out[start, 0],
                                    n_hidden, activation, NULL)
            else:
                forward_rows(&X[start, 0], NULL, &W1[0, 0], &b1[0], &out[start, 0],
                             rows, n_features, n_hidden, activation, NULL)
    return not (check_finite and not_finite)
