# Products with a CSR matrix X (values, column indices, row pointers), for
# sparse input: X's rows times a dense W, and X.T times dense deltas. X is
# never densified; only its stored entries are visited.

from cython cimport floating

from _activations cimport add_bias_activate


cdef inline int check_csr(
    const Py_ssize_t[::1] indices,
    const Py_ssize_t[::1] indptr,
    Py_ssize_t n_data,
    Py_ssize_t n_rows,
    Py_ssize_t n_columns,
) except -1:
    """Raise ValueError unless ``indices`` and ``indptr`` describe a CSR
    matrix of ``n_rows`` rows, ``n_columns`` columns and ``n_data`` stored
    values: the kernels below read it without bounds checks."""
    cdef Py_ssize_t i
    if (indptr.shape[0] != n_rows + 1 or indptr[0] != 0
            or indptr[n_rows] != n_data or indices.shape[0] != n_data):
        raise ValueError("data, indices and indptr are not a CSR matrix of "
                         "the expected rows")
    for i in range(n_rows):
        if indptr[i + 1] < indptr[i]:
            raise ValueError("CSR indptr must not decrease")
    for i in range(n_data):
        if indices[i] < 0 or indices[i] >= n_columns:
            raise ValueError("CSR indices must index the expected columns")
    return 0


cdef inline Py_ssize_t sample_of(
    const Py_ssize_t* rows, Py_ssize_t first, Py_ssize_t i
) noexcept nogil:
    """Row of X that holds the i-th sample of a batch starting at ``first``
    (``rows``: the visiting order, or NULL for data order)."""
    return first + i if rows == NULL else rows[first + i]


cdef inline void sparse_forward_rows(
    const floating* data,
    const Py_ssize_t* indices,
    const Py_ssize_t* indptr,
    const Py_ssize_t* rows,
    Py_ssize_t first,
    Py_ssize_t n_rows,
    const floating* W,
    const floating* b,
    floating* out,
    Py_ssize_t n_out,
    int activation,
    floating* derivative,
) noexcept nogil:
    """out[i] = g(X[sample i] @ W + b) for a block of samples; with
    ``derivative`` (NULL: not wanted), g' at the same input is written
    there."""
    cdef Py_ssize_t i, j, p, r
    cdef floating value
    cdef floating* row
    cdef const floating* w_row
    for i in range(n_rows):
        row = out + i * n_out
        for j in range(n_out):
            row[j] = 0
        r = sample_of(rows, first, i)
        for p in range(indptr[r], indptr[r + 1]):
            value = data[p]
            w_row = W + indices[p] * n_out
            for j in range(n_out):
                row[j] += value * w_row[j]
    add_bias_activate(out, n_rows, n_out, b, activation, derivative)


cdef inline void sparse_weight_gradient_units(
    const floating* data,
    const Py_ssize_t* indices,
    const Py_ssize_t* indptr,
    const Py_ssize_t* rows,
    Py_ssize_t first,
    Py_ssize_t n_rows,
    const floating* delta,
    floating* grad_W,
    Py_ssize_t first_unit,
    Py_ssize_t n_units,
    Py_ssize_t first_col,
    Py_ssize_t n_cols,
    Py_ssize_t n_out,
    Py_ssize_t ld_delta,
    bint accumulate,
) noexcept nogil:
    """grad_W[u, c] (+)= X[samples][:, u].T @ delta[:, c] for the input units
    u in [first_unit, first_unit + n_units) and the columns c in
    [first_col, first_col + n_cols), over a block of samples (``grad_W`` has
    rows of ``n_out`` entries, ``delta`` of ``ld_delta``)."""
    cdef Py_ssize_t i, j, p, r, k
    cdef floating value
    cdef floating* g_row
    cdef const floating* d_row
    if not accumulate:
        for k in range(first_unit, first_unit + n_units):
            for j in range(first_col, first_col + n_cols):
                grad_W[k * n_out + j] = 0
    for i in range(n_rows):
        r = sample_of(rows, first, i)
        d_row = delta + i * ld_delta + first_col
        for p in range(indptr[r], indptr[r + 1]):
            k = indices[p]
            if k < first_unit or k >= first_unit + n_units:
                continue
            value = data[p]
            g_row = grad_W + k * n_out + first_col
            for j in range(n_cols):
                g_row[j] += value * d_row[j]
