# Block-level steps of the forward and backward passes, shared by the
# kernels exposed to Python (_forward, _backward) and the compiled trainer
# (_trainer). Each works on one block of rows or of units and touches no
# shared state, so blocks can run on any thread.

from cython cimport floating
from libc.math cimport fabs, frexp, log

from _activations cimport (
    LOGISTIC, RELU, SOFTMAX, add_bias_activate, bias_activate_block,
    multiply_by_slope,
)
from _fastmath cimport log_of_normal
from _gemm cimport Epilogue, gemm


# The codes by which sklearn_twolayer/_registry.py names these losses.
cdef enum Loss:
    LOG_LOSS = 0
    SQUARED_ERROR = 1
    # Regression losses, on an identity output (POISSON: on an EXP output).
    POISSON = 2
    ABSOLUTE_ERROR = 3
    HUBER = 4
    QUANTILE = 5


cdef enum FinishKind:
    FINISH_LAYER = 0
    FINISH_DELTA = 1


cdef struct TileFinish:
    # The epilogue of a product (_gemm.h), on each finished tile:
    # FINISH_LAYER adds ``bias`` (NULL: none), applies ``activation`` and
    # writes g' of the biased input to ``derivative`` (NULL: not wanted);
    # FINISH_DELTA multiplies by g'(Z1), as the forward pass wrote it in
    # ``derivative``, or (NULL) read off ``activated`` = g(Z1). Both
    # arrays have rows of ``ld`` values, as C does.
    int kind
    int activation
    const void* bias
    const void* activated
    void* derivative
    Py_ssize_t ld


cdef inline void finish_tile(
    const TileFinish* finish,
    floating* tile,
    Py_ssize_t ldc,
    Py_ssize_t row0,
    Py_ssize_t col0,
    Py_ssize_t rows,
    Py_ssize_t cols,
) noexcept nogil:
    """Finish the tile of rows row0.., columns col0.. (see TileFinish);
    elementwise activations only."""
    cdef const floating* bias = <const floating*> finish.bias
    cdef floating* derivative = <floating*> finish.derivative
    cdef const floating* activated = <const floating*> finish.activated
    cdef Py_ssize_t i, at = row0 * finish.ld + col0
    if derivative != NULL:
        derivative += at
    if finish.kind == FINISH_LAYER:
        bias_activate_block(
            tile, rows, cols, ldc, NULL if bias == NULL else bias + col0,
            finish.activation, derivative, finish.ld)
        return
    if activated != NULL:
        activated += at
    for i in range(rows):
        multiply_by_slope(
            tile + i * ldc,
            NULL if derivative == NULL else derivative + i * finish.ld,
            NULL if activated == NULL else activated + i * finish.ld,
            cols, finish.activation)


cdef inline void finish_tile_d(
    void* context, void* tile, Py_ssize_t ldc, Py_ssize_t row0,
    Py_ssize_t col0, Py_ssize_t rows, Py_ssize_t cols,
) noexcept nogil:
    finish_tile(<const TileFinish*> context, <double*> tile, ldc, row0, col0,
                rows, cols)


cdef inline void finish_tile_f(
    void* context, void* tile, Py_ssize_t ldc, Py_ssize_t row0,
    Py_ssize_t col0, Py_ssize_t rows, Py_ssize_t cols,
) noexcept nogil:
    finish_tile(<const TileFinish*> context, <float*> tile, ldc, row0, col0,
                rows, cols)


cdef inline void gemm_then_finish(
    bint trans_b,
    Py_ssize_t m,
    Py_ssize_t n,
    Py_ssize_t k,
    const floating* a,
    const Py_ssize_t* a_rows,
    const floating* b,
    floating* c,
    Py_ssize_t ldc,
    TileFinish* finish,
) noexcept nogil:
    """C = A[a_rows] @ op(B), A and B contiguous, C of shape (m, n) in rows
    of ``ldc`` values, each tile finished as ``finish`` says as soon as
    its sums are complete."""
    cdef Epilogue epilogue
    epilogue.context = finish
    if floating is float:
        epilogue.apply = finish_tile_f
    else:
        epilogue.apply = finish_tile_d
    # ReLU's finishes, done in registers where a tile allows (the same
    # operations as finish_tile's): bias and max(Z, 0); the delta kept
    # where A1 > 0. Its derivative is never stored (read off A1).
    epilogue.in_registers = (finish.activation == RELU
                             and finish.derivative == NULL)
    epilogue.bias = finish.bias if finish.kind == FINISH_LAYER else NULL
    epilogue.relu = finish.kind == FINISH_LAYER
    epilogue.gate = finish.activated if finish.kind == FINISH_DELTA else NULL
    epilogue.ld_gate = finish.ld
    gemm(False, trans_b, m, n, k, a, k, a_rows, b, k if trans_b else n, c, ldc,
         False, &epilogue)


cdef inline void forward_rows(
    const floating* X,
    const Py_ssize_t* rows,
    const floating* W,
    const floating* b,
    floating* out,
    Py_ssize_t n_rows,
    Py_ssize_t n_in,
    Py_ssize_t n_out,
    int activation,
    floating* derivative,
) noexcept nogil:
    """out = g(X[rows] @ W + b) for a block of rows (``rows`` NULL: the
    first n_rows rows of X). An elementwise activation is applied to each
    tile of the product as soon as it is finished, while it is in L1;
    softmax, which needs whole rows, right after the block's product. With
    ``derivative`` (NULL: not wanted), g'(X[rows] @ W + b) is written
    there."""
    cdef TileFinish finish
    if activation == SOFTMAX:
        gemm(False, False, n_rows, n_out, n_in, X, n_in, rows, W, n_out, out,
             n_out, False)
        add_bias_activate(out, n_rows, n_out, b, activation, derivative)
        return
    finish.kind = FINISH_LAYER
    finish.activation = activation
    finish.bias = b
    finish.activated = NULL
    finish.derivative = derivative
    finish.ld = n_out
    gemm_then_finish(False, n_rows, n_out, n_in, X, rows, W, out, n_out,
                     &finish)


cdef inline double clipped_log(double p, double eps) noexcept nogil:
    # Probabilities are clipped to [eps, 1 - eps] as MLPClassifier's losses
    # do; NaN passes through.
    p = eps if p < eps else p
    p = 1 - eps if p > 1 - eps else p
    return log_of_normal(p)


cdef enum:
    # Terms of the log loss whose logarithms are taken together, a vector
    # at a time.
    LOG_TERMS = 64


cdef struct LogTerms:
    # The terms -y log(p) of a block's rows, in the order of the rows and
    # of their columns, as far as they are listed; ``row_loss`` is the sum
    # of row ``row``'s terms so far (row -1: none yet), ``total`` that of
    # the rows before it, each times its weight.
    double p[LOG_TERMS]
    double y[LOG_TERMS]
    double logs[LOG_TERMS]
    Py_ssize_t row_of[LOG_TERMS]
    Py_ssize_t n
    Py_ssize_t row
    double row_loss
    double total


cdef inline void close_row(LogTerms* terms, const floating* weights) noexcept nogil:
    """Add the finished row's loss, times its weight, to the total."""
    if terms.row < 0:
        return
    if weights != NULL:
        terms.row_loss *= weights[terms.row]
    terms.total += terms.row_loss
    terms.row_loss = 0


cdef inline void add_listed_terms(LogTerms* terms, const floating* weights,
                                  double eps) noexcept nogil:
    """Take the listed terms' logarithms (one loop, which vectorises) and
    add the terms to their rows' losses, in order."""
    cdef Py_ssize_t t
    for t in range(terms.n):
        terms.logs[t] = clipped_log(terms.p[t], eps)
    for t in range(terms.n):
        if terms.row_of[t] != terms.row:
            close_row(terms, weights)
            terms.row = terms.row_of[t]
        terms.row_loss -= terms.y[t] * terms.logs[t]
    terms.n = 0


cdef inline double log_loss_rows(
    const floating* A,
    const floating* Y,
    const floating* weights,
    floating* delta,
    Py_ssize_t n_rows,
    Py_ssize_t n_cols,
    bint logistic,
    double eps,
) noexcept nogil:
    """output_delta_rows for the log loss of a softmax or logistic output.

    dZ2 = A2 - Y, eq. (11) of the algorithm page: the exact gradient of the
    cross-entropy for a softmax or logistic output. A row's loss is
    -sum(Y log A), with -(1 - Y) log(1 - A) too for a logistic output, over
    the terms whose factor is not 0: these are listed without a branch
    (each is written, and counted only when it is a term), so that a
    one-hot target costs no mispredicted jump, and their logarithms taken
    a vector at a time."""
    cdef Py_ssize_t i, j, e
    cdef LogTerms terms
    terms.n = 0
    terms.row = -1
    terms.row_loss = 0
    terms.total = 0
    for e in range(n_rows * n_cols):
        delta[e] = A[e] - Y[e]
    if weights != NULL:
        for i in range(n_rows):
            for j in range(i * n_cols, (i + 1) * n_cols):
                delta[j] *= weights[i]
    for i in range(n_rows):
        for j in range(i * n_cols, (i + 1) * n_cols):
            terms.p[terms.n] = A[j]
            terms.y[terms.n] = Y[j]
            terms.row_of[terms.n] = i
            terms.n += Y[j] != 0
            if logistic:
                terms.p[terms.n] = <floating> (1 - A[j])
                terms.y[terms.n] = <floating> (1 - Y[j])
                terms.row_of[terms.n] = i
                terms.n += Y[j] != 1
            if terms.n > LOG_TERMS - 2:
                add_listed_terms(&terms, weights, eps)
    add_listed_terms(&terms, weights, eps)
    close_row(&terms, weights)
    return terms.total


cdef inline double regression_delta(
    floating prediction,
    floating target,
    int loss,
    double loss_parameter,
    floating* delta,
) noexcept nogil:
    """Write dL/dZ2 of one output of a regression loss, return its loss.

    ``loss_parameter`` is the Huber threshold (HUBER) or the quantile
    (QUANTILE). Subgradients at the kinks are 0 (absolute and quantile
    losses at a zero residual).
    """
    cdef floating residual = prediction - target
    cdef double size
    if loss == SQUARED_ERROR:
        delta[0] = residual
        return 0.5 * residual * residual
    if loss == POISSON:
        # Half the Poisson deviance of a log-link output A = exp(Z2): its
        # gradient with respect to Z2 is A - Y, as for the canonical links
        # of the classification losses.
        delta[0] = residual
        if target > 0:
            return target * log(target / <double> prediction) + residual
        return prediction
    size = fabs(residual)
    if loss == ABSOLUTE_ERROR:
        delta[0] = (residual > 0) - (residual < 0)
        return size
    if loss == HUBER:
        if size <= loss_parameter:
            delta[0] = residual
            return 0.5 * size * size
        delta[0] = <floating> (loss_parameter if residual > 0 else -loss_parameter)
        return loss_parameter * (size - 0.5 * loss_parameter)
    # QUANTILE: the pinball loss of the loss_parameter-quantile.
    if residual > 0:
        delta[0] = <floating> (1 - loss_parameter)
        return (1 - loss_parameter) * residual
    if residual < 0:
        delta[0] = <floating> -loss_parameter
        return -loss_parameter * residual
    delta[0] = 0
    return 0


cdef inline double output_delta_rows(
    const floating* A,
    const floating* Y,
    const floating* weights,
    floating* delta,
    Py_ssize_t n_rows,
    Py_ssize_t n_cols,
    int out_activation,
    int loss,
    double loss_parameter,
    double eps,
) noexcept nogil:
    """Write dL/dZ2 for a block of rows and return the block's summed loss.

    Softmax and logistic outputs take LOG_LOSS or SQUARED_ERROR; identity
    and exp outputs take the regression losses, elementwise
    (``regression_delta``). With ``weights`` (NULL: all ones), row i's delta
    and loss are scaled by weights[i], as for a sample weight.
    """
    cdef Py_ssize_t i, j, k
    cdef double total = 0, row_loss
    cdef floating spread
    if loss == LOG_LOSS and (out_activation == SOFTMAX
                             or out_activation == LOGISTIC):
        return log_loss_rows(A, Y, weights, delta, n_rows, n_cols,
                             out_activation == LOGISTIC, eps)
    for i in range(n_rows):
        k = i * n_cols
        row_loss = 0
        if out_activation != SOFTMAX and out_activation != LOGISTIC:
            for j in range(k, k + n_cols):
                row_loss += regression_delta(A[j], Y[j], loss, loss_parameter,
                                             &delta[j])
        else:
            for j in range(k, k + n_cols):
                row_loss += 0.5 * (A[j] - Y[j]) * (A[j] - Y[j])
            if out_activation == SOFTMAX:
                # Eq. (12) of the algorithm page, the full softmax Jacobian product:
                # A * (A - Y) - A * sum(A * (A - Y)).
                spread = 0
                for j in range(k, k + n_cols):
                    spread = spread + A[j] * (A[j] - Y[j])
                for j in range(k, k + n_cols):
                    delta[j] = A[j] * (A[j] - Y[j]) - A[j] * spread
            else:
                for j in range(k, k + n_cols):
                    delta[j] = (A[j] - Y[j]) * A[j] * (1 - A[j])
        if weights != NULL:
            row_loss *= weights[i]
            for j in range(k, k + n_cols):
                delta[j] *= weights[i]
        total += row_loss
    return total


cdef inline void hidden_delta_rows(
    const floating* delta_out,
    const floating* W_out,
    const floating* A_hidden,
    floating* delta_hidden,
    Py_ssize_t n_rows,
    Py_ssize_t n_hidden,
    Py_ssize_t n_out,
    int activation,
    const floating* derivative,
    Py_ssize_t ld_delta,
) noexcept nogil:
    """delta_hidden = (delta_out @ W_out.T) * g'(Z1) for a block of rows
    (eq. (16) of the algorithm page): g'(Z1) is ``derivative`` as the
    forward pass wrote it, or, when that is NULL, read off A_hidden =
    g(Z1); each tile of the product is multiplied as soon as it is
    finished. delta_hidden has rows of ``ld_delta`` values, A_hidden and
    ``derivative`` rows of n_hidden."""
    cdef TileFinish finish
    finish.kind = FINISH_DELTA
    finish.activation = activation
    finish.bias = NULL
    finish.activated = A_hidden
    # Read only.
    finish.derivative = <void*> derivative
    finish.ld = n_hidden
    gemm_then_finish(True, n_rows, n_hidden, n_out, delta_out, NULL, W_out,
                     delta_hidden, ld_delta, &finish)


cdef inline void weight_gradient_units(
    const floating* A_in,
    const floating* delta,
    floating* grad_W,
    Py_ssize_t first_unit,
    Py_ssize_t n_units,
    Py_ssize_t n_rows,
    Py_ssize_t n_in,
    Py_ssize_t n_out,
    bint accumulate,
) noexcept nogil:
    """grad_W[u] (+)= A_in[:, u].T @ delta for a block of input units u."""
    gemm(True, False, n_units, n_out, n_rows, A_in + first_unit, n_in, NULL,
         delta, n_out, grad_W + first_unit * n_out, n_out, accumulate)


cdef enum:
    # Columns of a bias gradient summed at once, their sums held in
    # registers over all rows (four AVX-512 vectors of float64): summed in
    # place, each row would store the sums and the next load them back.
    BIAS_BLOCK = 32


cdef inline void bias_gradient_columns(
    const floating* delta,
    floating* grad_b,
    Py_ssize_t first_col,
    Py_ssize_t n_cols,
    Py_ssize_t n_rows,
    Py_ssize_t n_out,
    bint accumulate,
) noexcept nogil:
    """grad_b[j] (+)= sum_i delta[i, j] for a block of columns j, the rows
    added in order (rows of ``delta`` are ``n_out`` values apart)."""
    cdef Py_ssize_t i, j, j0 = first_col, width, whole_rows
    cdef Py_ssize_t stop = first_col + n_cols
    cdef const floating* row
    cdef floating sums[BIAS_BLOCK]
    cdef floating last[BIAS_BLOCK]
    while j0 < stop:
        width = min(BIAS_BLOCK, stop - j0)
        for j in range(BIAS_BLOCK):
            sums[j] = grad_b[j0 + j] if accumulate and j < width else 0
        # A row's BIAS_BLOCK values from column j0 on, when fewer columns
        # are left, run on into the next row: they are summed all the same
        # (the extra lanes are dropped), so the sums stay in registers; only
        # the last rows, whose values would run past the block, are summed
        # column by column.
        whole_rows = 0
        if n_rows * n_out >= j0 + BIAS_BLOCK:
            whole_rows = min(n_rows,
                             (n_rows * n_out - j0 - BIAS_BLOCK) // n_out + 1)
        for i in range(whole_rows):
            row = delta + i * n_out + j0
            for j in range(BIAS_BLOCK):
                sums[j] += row[j]
        # Apart, so that ``sums`` is never indexed by a variable (which
        # would keep it in memory).
        for j in range(BIAS_BLOCK):
            last[j] = sums[j]
        for i in range(whole_rows, n_rows):
            row = delta + i * n_out + j0
            for j in range(width):
                last[j] += row[j]
        for j in range(width):
            grad_b[j0 + j] = last[j]
        j0 += width


cdef inline floating exact_reciprocal(floating divisor) noexcept nogil:
    """1 / divisor where multiplying by it gives the bits of dividing by
    divisor, else 0: for a power of two (a batch of 256 rows) whose
    reciprocal is finite, x * 2**-e rounds the same quotient as x / 2**e,
    once, where a division takes several times as long."""
    cdef int exponent
    cdef floating reciprocal = 1 / divisor
    if frexp(divisor, &exponent) == 0.5 and reciprocal * divisor == 1:
        return reciprocal
    return 0


cdef inline double finish_gradient(
    floating* grad,
    const floating* param,
    Py_ssize_t n,
    floating alpha,
    floating divisor,
    floating reciprocal,
) noexcept nogil:
    """grad = (grad + alpha * param) / divisor (MLPClassifier's order of
    operations), as a product with ``reciprocal`` unless that is 0 (it is
    ``exact_reciprocal(divisor)``, worked out once for a batch); returns
    sum(param ** 2) for the L2 term of the loss (0 when alpha is 0)."""
    cdef Py_ssize_t i
    cdef double squares = 0
    if reciprocal != 0:
        for i in range(n):
            grad[i] = (grad[i] + alpha * param[i]) * reciprocal
    else:
        for i in range(n):
            grad[i] = (grad[i] + alpha * param[i]) / divisor
    if alpha != 0:
        # Only the penalty needs it: skipped, the loop above vectorises.
        for i in range(n):
            squares += param[i] * param[i]
    return squares
