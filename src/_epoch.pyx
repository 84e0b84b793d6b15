"""The compiled training loop: one call runs a whole epoch.

A batch is processed in chunks of at most CHUNK_ROWS rows, each in two
parallel phases:

1. rows: per block of rows, gather the (shuffled) samples, forward both
   layers, output delta and loss, hidden delta — all while the block is in
   cache;
2. units: per block of weight rows (or bias entries), reduce the chunk's
   contribution to the gradient over all its rows; after the batch's last
   chunk, finish the gradient (L2 term, 1/batch size) and apply the
   optimizer to that block of parameters right away.

Work is split at fixed boundaries and every reduction runs in a fixed
order, so results are bitwise the same for any number of threads. Memory
beyond the parameters is O(CHUNK_ROWS x n_hidden), whatever the batch size.
"""

from cython cimport floating
from cython.parallel cimport prange
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport pow, sqrt
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

from _activations cimport derivative_needs_input
from _blocks cimport UNIT_BLOCK, n_blocks
from _layers cimport (
    bias_gradient_columns, finish_gradient, forward_rows, hidden_delta_rows,
    output_delta_rows, weight_gradient_units,
)
from _sparse cimport (
    check_csr, sample_of, sparse_forward_rows, sparse_weight_gradient_units,
)
from _updates cimport adam_step, sgd_step


cdef enum:
    # Rows processed together.
    CHUNK_ROWS = 512
    # BLAS packs the operand a block shares with the other blocks (W, or the
    # chunk's deltas) once per block, so blocks are made large: at least
    # ROW_TASK_ROWS rows per row task, at most MAX_WEIGHT_TASKS weight tasks
    # per layer.
    ROW_TASK_ROWS = 128
    MAX_WEIGHT_TASKS = 8


cdef enum Solver:
    SGD = 0
    ADAM = 1


SOLVERS = {"sgd": SGD, "adam": ADAM}


cdef struct Settings:
    int activation
    int out_activation
    int loss
    int solver
    double alpha
    double learning_rate
    double momentum
    bint nesterov
    double beta_1
    double beta_2
    double epsilon


cdef struct Shape:
    Py_ssize_t n_features
    Py_ssize_t n_hidden
    Py_ssize_t n_outputs
    # Offsets of W1, b1, W2, b2 in the flat parameter vector.
    Py_ssize_t w1
    Py_ssize_t b1
    Py_ssize_t w2
    Py_ssize_t b2
    # Unit-phase tasks: W1 row blocks, then W2 row blocks, b1 blocks, b2
    # blocks.
    Py_ssize_t w1_tasks
    Py_ssize_t w2_tasks
    # Rows of W1 and of W2 per weight task.
    Py_ssize_t w1_block
    Py_ssize_t w2_block
    Py_ssize_t b1_tasks
    Py_ssize_t b2_tasks


cdef struct Csr:
    # A sparse X: values (of the data's dtype), column indices, row pointers.
    const void* data
    const Py_ssize_t* indices
    const Py_ssize_t* indptr


cdef struct Buffers:
    void* X_chunk
    void* Y_chunk
    void* hidden
    void* output
    void* delta_output
    void* delta_hidden
    # g'(Z1) of the chunk, written by the forward pass: only for hidden
    # activations whose derivative cannot be read off A1 (else NULL).
    void* derivative
    void* weight_chunk
    # Per-block partial sums, combined in block order.
    double* partial
    Shape shape
    Settings settings


cdef class Workspace:
    """Buffers for the training loop, allocated once per fit.

    Parameters
    ----------
    n_features, n_hidden, n_outputs : int
    batch_size : int
        Largest batch that will be run; buffers hold
        ``min(batch_size, CHUNK_ROWS)`` rows.
    dtype : numpy dtype
        float32 or float64.
    settings : dict
        ``activation``, ``out_activation``, ``loss``, ``solver`` (codes) and
        ``alpha``, ``learning_rate``, ``momentum``, ``nesterov``, ``beta_1``,
        ``beta_2``, ``epsilon``.
    """

    cdef Buffers buffers
    cdef Py_ssize_t rows
    cdef readonly object dtype

    def __cinit__(self, Py_ssize_t n_features, Py_ssize_t n_hidden,
                  Py_ssize_t n_outputs, Py_ssize_t batch_size, dtype,
                  Settings settings):
        cdef Py_ssize_t itemsize = dtype.itemsize
        cdef Buffers* b = &self.buffers
        cdef Shape* s = &self.buffers.shape
        s.n_features, s.n_hidden, s.n_outputs = n_features, n_hidden, n_outputs
        s.w1 = 0
        s.b1 = n_features * n_hidden
        s.w2 = s.b1 + n_hidden
        s.b2 = s.w2 + n_hidden * n_outputs
        s.w1_block = max(UNIT_BLOCK, n_blocks(n_features, MAX_WEIGHT_TASKS))
        s.w2_block = max(UNIT_BLOCK, n_blocks(n_hidden, MAX_WEIGHT_TASKS))
        s.w1_tasks = n_blocks(n_features, s.w1_block)
        s.w2_tasks = n_blocks(n_hidden, s.w2_block)
        s.b1_tasks = n_blocks(n_hidden, UNIT_BLOCK)
        s.b2_tasks = n_blocks(n_outputs, UNIT_BLOCK)
        b.settings = settings
        self.rows = max(1, min(batch_size, CHUNK_ROWS))
        self.dtype = dtype
        b.X_chunk = malloc(self.rows * n_features * itemsize)
        b.Y_chunk = malloc(self.rows * n_outputs * itemsize)
        b.hidden = malloc(self.rows * n_hidden * itemsize)
        b.output = malloc(self.rows * n_outputs * itemsize)
        b.delta_output = malloc(self.rows * n_outputs * itemsize)
        b.delta_hidden = malloc(self.rows * n_hidden * itemsize)
        b.weight_chunk = malloc(self.rows * itemsize)
        b.derivative = NULL
        if derivative_needs_input(settings.activation):
            b.derivative = malloc(self.rows * n_hidden * itemsize)
            if b.derivative == NULL:
                raise MemoryError("cannot allocate the training buffers")
        b.partial = <double*> malloc(
            max(n_blocks(CHUNK_ROWS, ROW_TASK_ROWS),
                s.w1_tasks + s.w2_tasks + s.b1_tasks + s.b2_tasks)
            * sizeof(double))
        if (b.X_chunk == NULL or b.Y_chunk == NULL or b.hidden == NULL
                or b.output == NULL or b.delta_output == NULL
                or b.delta_hidden == NULL or b.weight_chunk == NULL
                or b.partial == NULL):
            raise MemoryError("cannot allocate the training buffers")

    def __dealloc__(self):
        free(self.buffers.X_chunk)
        free(self.buffers.Y_chunk)
        free(self.buffers.hidden)
        free(self.buffers.output)
        free(self.buffers.delta_output)
        free(self.buffers.delta_hidden)
        free(self.buffers.weight_chunk)
        free(self.buffers.derivative)
        free(self.buffers.partial)

    @property
    def n_params(self):
        return self.buffers.shape.b2 + self.buffers.shape.n_outputs

    @property
    def learning_rate(self):
        """Step size of the sgd and adam updates; schedules change it
        between epochs."""
        return self.buffers.settings.learning_rate

    @learning_rate.setter
    def learning_rate(self, double value):
        self.buffers.settings.learning_rate = value


cdef void _update_range(
    floating* params,
    const floating* grads,
    floating* state_1,
    floating* state_2,
    Py_ssize_t start,
    Py_ssize_t stop,
    const Settings* settings,
    double step_size,
) noexcept nogil:
    if settings.solver == ADAM:
        adam_step(params, grads, state_1, state_2, start, stop,
                  <floating> step_size, <floating> settings.beta_1,
                  <floating> settings.beta_2, <floating> settings.epsilon)
    else:
        sgd_step(params, grads, state_1, start, stop,
                 <floating> settings.learning_rate,
                 <floating> settings.momentum, settings.nesterov)


cdef void _row_block(
    const floating* X,
    const Csr* csr,
    const floating* Y,
    const floating* weights,
    const Py_ssize_t* rows,
    Py_ssize_t first,
    Py_ssize_t n_rows,
    const floating* params,
    Buffers* ws,
    const floating* X_chunk,
    const floating* Y_chunk,
    const floating* weight_chunk,
    Py_ssize_t block_start,
    Py_ssize_t block,
    double eps,
) noexcept nogil:
    """Rows phase for rows [block_start, block_start + n_rows) of a chunk
    whose first sample is ``first`` (in ``rows`` order when given).
    ``weights`` (NULL: none) are per-sample weights of all of X, and
    ``weight_chunk`` those of the chunk's rows. With ``csr`` (sparse X),
    rows are read where they are, not gathered."""
    cdef const Shape* s = &ws.shape
    cdef const Settings* settings = &ws.settings
    cdef Py_ssize_t F = s.n_features, H = s.n_hidden, K = s.n_outputs
    cdef Py_ssize_t i
    cdef floating* hidden = <floating*> ws.hidden + block_start * H
    cdef floating* output = <floating*> ws.output + block_start * K
    cdef floating* delta_output = <floating*> ws.delta_output + block_start * K
    cdef floating* delta_hidden = <floating*> ws.delta_hidden + block_start * H
    cdef floating* derivative = NULL
    if ws.derivative != NULL:
        derivative = <floating*> ws.derivative + block_start * H
    if rows != NULL:
        for i in range(block_start, block_start + n_rows):
            if csr == NULL:
                memcpy(<floating*> X_chunk + i * F, X + rows[first + i] * F,
                       F * sizeof(floating))
            memcpy(<floating*> Y_chunk + i * K, Y + rows[first + i] * K,
                   K * sizeof(floating))
            if weights != NULL:
                (<floating*> weight_chunk)[i] = weights[rows[first + i]]
    if csr == NULL:
        forward_rows(X_chunk + block_start * F, params + s.w1, params + s.b1,
                     hidden, n_rows, F, H, settings.activation, derivative)
    else:
        sparse_forward_rows(<const floating*> csr.data, csr.indices,
                            csr.indptr, rows, first + block_start, n_rows,
                            params + s.w1, params + s.b1, hidden, H,
                            settings.activation, derivative)
    forward_rows(<const floating*> hidden, params + s.w2, params + s.b2,
                 output, n_rows, H, K, settings.out_activation, NULL)
    ws.partial[block] = output_delta_rows(
        <const floating*> output, Y_chunk + block_start * K,
        NULL if weights == NULL else weight_chunk + block_start, delta_output,
        n_rows, K, settings.out_activation, settings.loss, eps)
    hidden_delta_rows(<const floating*> delta_output, params + s.w2,
                      <const floating*> hidden, delta_hidden, n_rows, H, K,
                      settings.activation, derivative)


cdef double _unit_task(
    Py_ssize_t task,
    floating* params,
    floating* grads,
    floating* state_1,
    floating* state_2,
    Buffers* ws,
    const floating* X_chunk,
    const Csr* csr,
    const Py_ssize_t* rows,
    Py_ssize_t chunk_first,
    Py_ssize_t chunk_rows,
    bint accumulate,
    bint finish,
    bint update,
    double divisor,
    double step_size,
) noexcept nogil:
    """Units phase: one block of W1 rows, W2 rows, b1 or b2 entries.
    Returns the block's sum of squared weights when ``finish``, else 0."""
    cdef const Shape* s = &ws.shape
    cdef const Settings* settings = &ws.settings
    cdef Py_ssize_t F = s.n_features, H = s.n_hidden, K = s.n_outputs
    cdef Py_ssize_t first, size, start, stop
    cdef double squares
    if task < s.w1_tasks:
        first = task * s.w1_block
        size = min(s.w1_block, F - first)
        if csr == NULL:
            weight_gradient_units(X_chunk, <const floating*> ws.delta_hidden,
                                  grads + s.w1, first, size, chunk_rows, F, H,
                                  accumulate)
        else:
            sparse_weight_gradient_units(
                <const floating*> csr.data, csr.indices, csr.indptr, rows,
                chunk_first, chunk_rows, <const floating*> ws.delta_hidden,
                grads + s.w1, first, size, H, accumulate)
        start = s.w1 + first * H
        stop = start + size * H
    elif task < s.w1_tasks + s.w2_tasks:
        first = (task - s.w1_tasks) * s.w2_block
        size = min(s.w2_block, H - first)
        weight_gradient_units(<const floating*> ws.hidden,
                              <const floating*> ws.delta_output, grads + s.w2,
                              first, size, chunk_rows, H, K, accumulate)
        start = s.w2 + first * K
        stop = start + size * K
    elif task < s.w1_tasks + s.w2_tasks + s.b1_tasks:
        first = (task - s.w1_tasks - s.w2_tasks) * UNIT_BLOCK
        size = min(UNIT_BLOCK, H - first)
        bias_gradient_columns(<const floating*> ws.delta_hidden, grads + s.b1,
                              first, size, chunk_rows, H, accumulate)
        start = s.b1 + first
        stop = start + size
    else:
        first = (task - s.w1_tasks - s.w2_tasks - s.b1_tasks) * UNIT_BLOCK
        size = min(UNIT_BLOCK, K - first)
        bias_gradient_columns(<const floating*> ws.delta_output, grads + s.b2,
                              first, size, chunk_rows, K, accumulate)
        start = s.b2 + first
        stop = start + size
    if not finish:
        return 0
    # Biases are not penalised: alpha 0, and no squares.
    squares = finish_gradient(
        grads + start, params + start, stop - start,
        <floating> (settings.alpha if task < s.w1_tasks + s.w2_tasks else 0),
        <floating> divisor)
    if update:
        _update_range(params, grads, state_1, state_2, start, stop, settings,
                      step_size)
    return squares


cdef double _run_batch(
    const floating* X,
    const Csr* csr,
    const floating* Y,
    const floating* weights,
    const Py_ssize_t* rows,
    Py_ssize_t first,
    Py_ssize_t batch_rows,
    floating* params,
    floating* grads,
    floating* state_1,
    floating* state_2,
    Buffers* ws,
    double step_size,
    bint update,
    int n_threads,
) noexcept nogil:
    """Loss and gradient of one batch, then (if ``update``) the optimizer
    step. Returns the batch's mean loss plus its L2 term."""
    cdef const Shape* s = &ws.shape
    cdef Py_ssize_t n_tasks = s.w1_tasks + s.w2_tasks + s.b1_tasks + s.b2_tasks
    cdef Py_ssize_t chunk, chunk_start, chunk_rows, n_row_blocks, block, task
    cdef Py_ssize_t block_rows
    cdef double eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef double data_loss = 0, squares = 0
    cdef double divisor = batch_rows
    cdef const floating* X_chunk
    cdef const floating* Y_chunk
    cdef const floating* weight_chunk = NULL
    cdef bint finish
    if weights != NULL:
        # The batch's total weight replaces its size (MLPClassifier's sw_sum).
        divisor = 0
        for block in range(batch_rows):
            divisor += weights[sample_of(rows, first, block)]
        if divisor <= 0:
            # All weights zero: only the penalty moves the weights.
            divisor = 1
    for chunk in range(n_blocks(batch_rows, CHUNK_ROWS)):
        chunk_start = chunk * CHUNK_ROWS
        chunk_rows = min(CHUNK_ROWS, batch_rows - chunk_start)
        finish = chunk_start + chunk_rows == batch_rows
        if rows != NULL:
            X_chunk = <const floating*> ws.X_chunk
            Y_chunk = <const floating*> ws.Y_chunk
            weight_chunk = <const floating*> ws.weight_chunk
        else:
            X_chunk = NULL if csr != NULL else (
                X + (first + chunk_start) * s.n_features)
            Y_chunk = Y + (first + chunk_start) * s.n_outputs
            if weights != NULL:
                weight_chunk = weights + first + chunk_start
        # Blocks of (nearly) equal size, set by the chunk's size only.
        n_row_blocks = n_blocks(chunk_rows, ROW_TASK_ROWS)
        block_rows = n_blocks(chunk_rows, n_row_blocks)
        for block in prange(n_row_blocks, schedule="static",
                            num_threads=min(n_threads, n_row_blocks)):
            _row_block(X, csr, Y, weights, rows, first + chunk_start,
                       min(block_rows, chunk_rows - block * block_rows),
                       params, ws, X_chunk, Y_chunk, weight_chunk,
                       block * block_rows, block, eps)
        # Block order, not thread order: the same sum for any thread count.
        for block in range(n_row_blocks):
            data_loss += ws.partial[block]
        for task in prange(n_tasks, schedule="dynamic",
                           num_threads=min(n_threads, n_tasks)):
            ws.partial[task] = _unit_task(
                task, params, grads, state_1, state_2, ws, X_chunk, csr, rows,
                first + chunk_start, chunk_rows, chunk_start > 0, finish,
                update, divisor,
                step_size)
    for task in range(n_tasks):
        squares += ws.partial[task]
    return (data_loss + 0.5 * ws.settings.alpha * squares) / divisor


cdef const floating* _input(
    Workspace ws,
    const floating[:, ::1] X,
    const floating[::1] X_data,
    const Py_ssize_t[::1] X_indices,
    const Py_ssize_t[::1] X_indptr,
    const floating[:, ::1] Y,
    floating[::1] params,
    floating[::1] grads,
    Csr* csr,
) except? NULL:
    """Check the data against the workspace; return the dense X, or, when
    X is given as CSR arrays (data, indices, indptr), NULL after filling
    ``csr``."""
    cdef Py_ssize_t n_samples = Y.shape[0]
    cdef Py_ssize_t n_features = ws.buffers.shape.n_features
    if Y.shape[1] != ws.buffers.shape.n_outputs:
        raise ValueError("Y does not fit the workspace")
    if params.shape[0] != ws.n_params or grads.shape[0] != ws.n_params:
        raise ValueError("params and grads do not fit the workspace")
    if ws.dtype.itemsize != sizeof(floating):
        raise ValueError("the workspace was made for another dtype")
    if n_samples == 0:
        raise ValueError("there are no samples")
    if X_data is None:
        if X.shape[0] != n_samples or X.shape[1] != n_features:
            raise ValueError("X does not fit Y and the workspace")
        return &X[0, 0]
    if X_indices is None or X_indptr is None:
        raise ValueError("a sparse X needs X_data, X_indices and X_indptr")
    # Checked here once, as the kernels do not check bounds.
    check_csr(X_indices, X_indptr, X_data.shape[0], n_samples, n_features)
    csr.data = NULL if X_data.shape[0] == 0 else <const void*> &X_data[0]
    csr.indices = NULL if X_indices.shape[0] == 0 else &X_indices[0]
    csr.indptr = &X_indptr[0]
    return NULL


cdef const floating* _weights(const floating[::1] sample_weight,
                              Py_ssize_t n_samples) except? NULL:
    if sample_weight is None or n_samples == 0:
        return NULL
    if sample_weight.shape[0] != n_samples:
        raise ValueError("sample_weight must have one entry per row of X")
    return &sample_weight[0]


def run_epoch(
    const floating[:, ::1] X,
    const floating[:, ::1] Y,
    const Py_ssize_t[::1] order,
    floating[::1] params,
    floating[::1] grads,
    floating[::1] state_1,
    floating[::1] state_2,
    Workspace workspace,
    Py_ssize_t batch_size,
    long adam_steps,
    int n_threads,
    const floating[::1] sample_weight=None,
    const floating[::1] X_data=None,
    const Py_ssize_t[::1] X_indices=None,
    const Py_ssize_t[::1] X_indptr=None,
):
    """Run one epoch of minibatch training, in place.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense data. When X is given as CSR arrays instead (``X_data``,
        ``X_indices``, ``X_indptr``, indices of dtype intp), any array of
        the data's dtype (it selects the compiled variant), e.g. empty.
    Y : ndarray of shape (n_samples, n_outputs)
        Encoded targets.
    order : ndarray of shape (n_rows,) of intp, or None
        The rows of X to visit, in this order (a permutation of all or of a
        subset of the rows, each in ``[0, n_samples)``); None is all rows in
        data order (no copy of X is made then).
    params, grads : ndarray of shape (n_params,)
        Flat weights and biases (W1, b1, W2, b2, each row-major), and room for
        their gradients.
    state_1, state_2 : ndarray of shape (n_params,)
        Optimizer state: velocity (sgd; state_2 unused), or first and second
        moments (adam).
    workspace : Workspace
    batch_size : int
    adam_steps : int
        Adam steps taken so far (for its bias correction).
    n_threads : int
    sample_weight : ndarray of shape (n_samples,) or None
        Per-sample weights (of all rows of X): each batch's loss and gradient
        are weighted sums divided by the batch's total weight.
    X_data, X_indices, X_indptr : ndarray or None
        A sparse X in CSR form, instead of ``X``.

    Returns
    -------
    loss : float
        Mean over samples of the batch losses (MLPClassifier's definition).
    adam_steps : int
        Updated step count.
    """
    cdef Py_ssize_t n_samples = Y.shape[0]
    cdef Py_ssize_t batch, start, rows_in_batch, i
    cdef const Py_ssize_t* rows = NULL
    cdef double total = 0, step_size = 0
    cdef Settings* settings = &workspace.buffers.settings
    cdef Csr csr
    cdef const floating* dense = _input(workspace, X, X_data, X_indices,
                                        X_indptr, Y, params, grads, &csr)
    cdef const floating* weights = _weights(sample_weight, n_samples)
    if state_1.shape[0] != params.shape[0] or state_2.shape[0] != params.shape[0]:
        raise ValueError("optimizer state does not fit params")
    if order is not None:
        for i in range(order.shape[0]):
            if order[i] < 0 or order[i] >= n_samples:
                raise ValueError("order must index rows of X")
        n_samples = order.shape[0]
        if n_samples > 0:
            rows = &order[0]
    if n_samples == 0 or batch_size < 1:
        raise ValueError("an epoch needs samples and a positive batch_size")
    if min(batch_size, CHUNK_ROWS) > workspace.rows:
        raise ValueError("batch_size is larger than the workspace")
    n_threads = max(n_threads, 1)
    with nogil:
        for batch in range(n_blocks(n_samples, batch_size)):
            start = batch * batch_size
            rows_in_batch = min(batch_size, n_samples - start)
            if settings.solver == ADAM:
                adam_steps += 1
                step_size = (settings.learning_rate
                             * sqrt(1 - pow(settings.beta_2, adam_steps))
                             / (1 - pow(settings.beta_1, adam_steps)))
            total += rows_in_batch * _run_batch(
                dense, NULL if dense != NULL else &csr, &Y[0, 0], weights,
                rows, start, rows_in_batch,
                &params[0],
                &grads[0], &state_1[0], &state_2[0], &workspace.buffers,
                step_size, True, n_threads)
    return total / n_samples, adam_steps


def loss_and_gradient(
    const floating[:, ::1] X,
    const floating[:, ::1] Y,
    floating[::1] params,
    floating[::1] grads,
    Workspace workspace,
    int n_threads,
    const floating[::1] sample_weight=None,
    const floating[::1] X_data=None,
    const Py_ssize_t[::1] X_indices=None,
    const Py_ssize_t[::1] X_indptr=None,
):
    """Mean loss (plus L2 term) of all rows of X, and its gradient in
    ``grads``, computed in chunks without updating ``params``; weighted by
    ``sample_weight`` when given. X is dense, or given as CSR arrays, as
    for ``run_epoch``."""
    cdef double loss
    cdef Csr csr
    cdef const floating* dense = _input(workspace, X, X_data, X_indices,
                                        X_indptr, Y, params, grads, &csr)
    cdef const floating* weights = _weights(sample_weight, Y.shape[0])
    with nogil:
        loss = _run_batch(dense, NULL if dense != NULL else &csr, &Y[0, 0],
                          weights, NULL, 0, Y.shape[0],
                          &params[0], &grads[0], NULL, NULL, &workspace.buffers,
                          0, False, max(n_threads, 1))
    return loss
