"""The compiled trainer: training state, whole epochs, loss and gradient.

A :class:`Trainer` owns everything training needs besides the data: the
shapes, the settings, its buffers, the gradient, the optimizer state (sgd's
velocity; adam's two moments), the step count and the learning rate. It
updates the flat parameter vector it is given in place. ``run_epoch`` runs
every minibatch of an epoch (forward, backward, update) in one parallel
region, without the GIL and without allocating; ``loss_and_gradient`` gives
the loss of a whole data set and its gradient (L-BFGS, validation loss).

Parallel decomposition
----------------------
A batch is cut into chunks of at most ``CHUNK_ROWS`` rows, and a chunk
into tasks whose boundaries depend on the shapes only, never on the number
of threads; every sum runs in a fixed order. The results are therefore
bitwise the same for any number of threads. The team of threads is made
once per call; its phases are separated by barriers, and each thread takes
a run of consecutive tasks of a phase (``_first_task``): tasks next to each
other share their inputs (the two W1 tiles of a block of features read the
same columns of X), which then stay in the thread's cache.

* Small batches of a large network (a partial gradient of more than
  ``SLOT_BYTES``) and batches of less work than two threads' share
  (``MIN_FLOPS_PER_THREAD``, the thread policy's work cap: one thread
  runs them on any machine) are split in two dimensions, with two
  barriers per chunk:

  1. rows: one run of ``LOSS_ROWS``-row blocks per thread, run both layers
     on the samples where they lie, the output delta with the loss and the
     hidden delta while the block is in cache;
  2. units: per tile of W1 (a block of features x a block of hidden units,
     the first tile of a hidden block also doing those b1 entries), with a
     share of the W2 rows of its hidden block (the first also doing b2),
     add the chunk's contribution to the gradient; after the batch's last
     chunk, finish the task's gradient (L2 term, division by the batch's
     size or weight) and apply the optimizer step to it right away. The
     tiles are of equal size, so that a team whose threads take one tile
     each is not held up by a larger one, nor by a task of W2 alone.

* Other batches run whole chunks in parallel, each accumulating into a
  partial gradient of its own (a slot):

  - large batches (full batch, L-BFGS, validation loss; at least ``SLOTS``
    chunks of ``LARGE_CHUNK_ROWS`` rows) have ``SLOTS`` slots, and chunk c
    goes to slot ``c * SLOTS // n_chunks``;
  - a small batch of a small network is cut into chunks of about
    ``SLOT_ROWS`` rows (at least two, at most ``SLOTS``), one per slot.

  Each slot is handled by one thread, which runs its chunks in order,
  accumulating their gradients in the slot. After one barrier, the slots
  are summed in slot order, block by block of the flat parameter vector,
  and each block is finished and updated; a second barrier ends the batch.
  For small layers this is faster than the two-dimensional split: a
  thread's rows and products stay in its own cache (there, every thread
  reads the row blocks the others wrote), and a batch of several chunks
  meets twice, not twice per chunk. For large layers the slots' sum would
  cost more than the split saves, and their memory grows with the network.
  The slots take ``SLOTS x n_params`` values of memory (with 16 slots, 13 MB
  for a 784-128-10 network in float64, at most 4 MB when only small
  batches use them) and cap the parallelism of a batch at its number of
  slots.

Which of the two a batch takes follows from its number of rows, the shapes
of the network and the dtype, never from the number of threads.

Threads beyond a phase's number of tasks would only wait at its barriers:
the trainer never starts more threads than the larger of its phases has
tasks. How many threads a call may use at most is the caller's decision
(``sklearn_twolayer._threads``: cores available, the work of a batch).

Task timing
-----------
``record_tasks`` runs an epoch on one thread and times each task, in the
order they run, for the scaling model (``asv_bench/scaling_model.py``);
each phase ends at a barrier, and the barriers met before a task number
its phase. Unless it records, the state's ``recording`` is NULL and a task
costs one more test of it.

Activations and dropout
-----------------------
* Hidden activations whose derivative cannot be read off A1 (gelu, silu):
  the rows phase writes g'(Z1) while Z1 is at hand, into a chunk buffer
  ``derivative`` of CHUNK_ROWS x n_hidden allocated only for them, and the
  hidden delta reads it.
* Dropout on the hidden layer (``_dropout.pxd``): the mask of sample s
  (``sample_of(order, first, i)``), unit j at optimizer step t follows from
  a counter-based hash of (seed, t, s, j); the rows phase applies it right
  after the activation and again to the hidden delta, so it is never
  stored and does not depend on which thread runs the rows.
"""

from cython cimport floating
from cython.parallel cimport parallel
from libc.float cimport DBL_EPSILON, FLT_EPSILON
from libc.math cimport pow, sqrt
from libc.stdlib cimport calloc, free, realloc
from libc.string cimport memcpy, memset

import numpy as np
import scipy.sparse as sp

from _activations cimport derivative_needs_input
from _gemm cimport gemm
from _blocks cimport FLAT_BLOCK, MIN_FLOPS_PER_THREAD, n_blocks
from _dropout cimport (
    dropout_derivative, drop_units, rate_threshold, row_key, uint64,
)
from _layers cimport (
    bias_gradient_columns, exact_reciprocal, finish_gradient, forward_rows,
    hidden_delta_rows, output_delta_rows, weight_gradient_units,
)
from _openmp cimport (
    Barrier, barrier, barrier_init, omp_get_num_threads, omp_get_thread_num,
    slept_seconds, thread_cpu, wtime,
)
from _sparse cimport (
    check_csr, sample_of, sparse_forward_rows, sparse_weight_gradient_units,
)
from _updates cimport adam_step, sgd_step

from sklearn_twolayer._registry import ACTIVATION_CODES, LOSS_CODES


cdef extern from "<stdlib.h>" nogil:
    # C11; libc.stdlib does not declare it.
    void* aligned_alloc(size_t alignment, size_t size)


cdef enum:
    # Rows of a small batch processed together: the chunk buffers hold this
    # many rows.
    CHUNK_ROWS = 512
    # Rows per chunk of a large batch: 256 rows of 784 float64 features
    # stay in a core's L2 cache between the forward pass and the gradient.
    LARGE_CHUNK_ROWS = 256
    # Partial gradients of a batch split over slots, and so its largest
    # useful team.
    SLOTS = 16
    # A small batch is split over slots, in chunks of about SLOT_ROWS rows,
    # when one partial gradient takes at most SLOT_BYTES: then the slots'
    # sum stays in cache. Measured on two threads: on a 784-256-10 network
    # (800 kB in float32) slots made batches of 512 rows slower than the
    # rows x units split; on 100-128-5 (108 kB, batches of 256) and
    # 64-100-10 (60 kB, batches of 1000) faster, and on one thread no
    # slower. Chunks of 128 rows rather than 64 fill the products' row
    # tiles better (64 rows end in a tile of 4) and leave half as many
    # slots to sum: 5% faster on one thread for both, 2% on two. The
    # price: a batch of 1000 such rows, which the work cap gives 7
    # threads, has 8 slots instead of 16 and takes two rounds of 125 rows
    # where it took three of 63.
    SLOT_ROWS = 128
    SLOT_BYTES = 262144
    # Elements of the slots' sum added up together (4 kB of float64).
    SUM_ELEMENTS = 512
    # The rows phase of a chunk sums its loss over blocks of LOSS_ROWS rows,
    # in block order. Its tasks are runs of whole blocks, as many as the team
    # has threads (one chunk of CHUNK_ROWS rows: 16 tasks for 16 threads);
    # no result depends on how the blocks are grouped, since each row's
    # forward and backward pass is its own. One thread takes a whole chunk,
    # reading W1 once where smaller tasks would read it once each.
    LOSS_ROWS = 32
    # The units phase has one task per W1 tile, each with about
    # TILE_WEIGHTS weights of W1 and W2, at most MAX_TILES of them: 16
    # threads have work in the units phase of a 784-256 layer. A layer of
    # at least SPLIT_WEIGHTS weights gets two tiles in any case, so that
    # two threads share the phase. Tiles are about square (each task reads
    # fewer rows of X and of the hidden delta), their hidden blocks a
    # multiple of TILE_UNITS units: whole vectors of the product's tiles
    # in every build, where a feature block's last rows cost little.
    TILE_WEIGHTS = 12288
    TILE_UNITS = 16
    # A task's share of W2 rows is a multiple of W2_SHARE_UNITS rows: its
    # product (computed as its transpose, the rows as columns) then fills
    # whole tiles in every build; smaller shares made a 784-256-10 epoch
    # 1-3% slower on one thread. A share then goes to every other task of
    # that layer, adding under 3% to its tile.
    W2_SHARE_UNITS = 32
    SPLIT_WEIGHTS = 8192
    MAX_TILES = 16


cdef enum Solver:
    SGD = 0
    ADAM = 1


SOLVERS = {"sgd": SGD, "adam": ADAM}


cdef struct Settings:
    int activation
    int out_activation
    int loss
    # Huber threshold, or quantile, of the regression losses that take one.
    double loss_parameter
    int solver
    double alpha
    double learning_rate
    double momentum
    bint nesterov
    double beta_1
    double beta_2
    double epsilon
    # Dropout on the hidden layer: the rate (0: none) and the mask's seed.
    double dropout
    unsigned long long dropout_seed


cdef struct Layout:
    Py_ssize_t n_features
    Py_ssize_t n_hidden
    Py_ssize_t n_outputs
    Py_ssize_t n_params
    # Offsets of W1, b1, W2, b2 in the flat parameter vector.
    Py_ssize_t w1
    Py_ssize_t b1
    Py_ssize_t w2
    Py_ssize_t b2
    # Units phase: one task per W1 tile (feature blocks x hidden blocks),
    # task f * hidden_blocks + h for tile (f, h), which may also do a share
    # (w2_share rows) of hidden block h's W2 rows (``_unit_task``).
    Py_ssize_t feature_block
    Py_ssize_t feature_blocks
    Py_ssize_t hidden_block
    Py_ssize_t hidden_blocks
    Py_ssize_t w2_share
    Py_ssize_t unit_tasks
    # Values a row of a chunk's hidden delta: n_hidden rounded up to whole
    # cache lines, so that its rows start on lines and the W1 gradient
    # reads its panels where they lie instead of copying them (a 64-100-10
    # network's takes 0.86x the time so).
    Py_ssize_t delta_ld


cdef struct UnitTask:
    # A units task's W1 tile (features f0 .. f0 + fs, hidden units h0 .. h0
    # + hs) and W2 rows (u0 .. u0 + us).
    Py_ssize_t f0
    Py_ssize_t fs
    Py_ssize_t h0
    Py_ssize_t hs
    Py_ssize_t u0
    Py_ssize_t us


cdef struct Chunk:
    # Room for CHUNK_ROWS rows: gathered targets and weights, hidden
    # activations, outputs, deltas. (Samples are read where they lie.)
    void* Y
    void* weights
    void* hidden
    void* output
    void* delta_output
    void* delta_hidden
    # g'(Z1), written by the forward pass, for hidden activations whose
    # derivative cannot be read off A1 (gelu, silu); else NULL.
    void* derivative


cdef struct Data:
    # Dense X (NULL for a sparse X, given by its CSR arrays).
    const void* X
    const void* csr_data
    const Py_ssize_t* csr_indices
    const Py_ssize_t* csr_indptr
    const void* Y
    # Per-sample weights of all rows of X (NULL: none).
    const void* weights
    # Rows visited, in order (NULL: all rows in data order).
    const Py_ssize_t* order
    Py_ssize_t n_rows


cdef struct Pass:
    # What one call does, shared by the team.
    Py_ssize_t batch_size
    bint update
    bint gradient
    # Out: mean loss over the visited rows; adam steps after the call; the
    # number of threads that ran it.
    double loss
    long steps
    int team


cdef struct Divisor:
    # What a batch's gradient is divided by: its size, or its total sample
    # weight; and that value's exact reciprocal, or 0 (exact_reciprocal).
    double value
    double reciprocal


cdef struct Split:
    # How a batch is cut: ``n_slots`` partial gradients (0: the rows x units
    # split), chunks of ``chunk_rows`` rows.
    Py_ssize_t n_slots
    Py_ssize_t chunk_rows


# Task timing (``record_tasks``), apart from the work itself.


cdef enum TaskKind:
    # The phases' tasks, and a whole batch.
    KIND_ROWS = 0
    KIND_UNITS = 1
    KIND_SLOTS = 2
    KIND_REDUCE = 3
    KIND_BATCH = 4


#: Names of the ``kind`` codes of ``record_tasks``' records.
TASK_KINDS = ("rows", "units", "slots", "reduce", "batch")


cdef struct TaskRecord:
    # Laid out as ``_RECORD_DTYPE``.
    Py_ssize_t batch
    Py_ssize_t kind
    Py_ssize_t phase
    Py_ssize_t task
    double seconds


cdef struct Recording:
    TaskRecord* records
    Py_ssize_t n_records
    Py_ssize_t capacity
    Py_ssize_t batch
    # Barriers met so far: the index of the running phase.
    Py_ssize_t barriers
    bint failed
    # The team whose tasks are recorded (the rows phase has one per
    # thread), run by one thread.
    int split_team


_RECORD_DTYPE = np.dtype([("batch", np.intp), ("kind", np.intp),
                          ("phase", np.intp), ("task", np.intp),
                          ("seconds", np.float64)])


cdef struct State:
    Layout layout
    Settings settings
    void* params
    void* grads
    # Velocity (sgd), or first and second moments (adam); separate arrays.
    void* state_1
    void* state_2
    long steps
    # chunks[0] serves the rows x units split; chunks[t], thread t of a
    # batch split over slots.
    Chunk* chunks
    Py_ssize_t n_chunk_sets
    # SLOTS partial gradients (NULL until a batch split over them is run).
    void* slot_grads
    # Partial sums, combined in block or task order: the loss of each block
    # of LOSS_ROWS rows of a chunk, the squares of each units task, ...
    double* row_loss
    double* unit_squares
    double* slot_loss
    double* block_squares
    Py_ssize_t n_flat_blocks
    # Where the team meets between phases.
    Barrier meeting
    # Task times being recorded, or NULL.
    Recording* recording
    # Per thread, a cache line apart (thread t's at t x THREAD_STRIDE):
    # the seconds it waited at barriers (at WAITED, when time_waits) and
    # the seconds it had its core in the pass (at HELD); or NULL.
    double* thread_times
    bint time_waits


# ---------------------------------------------------------------------------
# Task timing: the recording's clock, appends and barrier count.


cdef inline double _clock(const State* st) noexcept nogil:
    return wtime() if st.recording != NULL else 0


cdef void _append(Recording* rec, int kind, Py_ssize_t task,
                  double started) noexcept nogil:
    cdef double now = wtime()
    cdef TaskRecord* grown
    if rec.n_records == rec.capacity:
        grown = <TaskRecord*> realloc(rec.records, 2 * rec.capacity
                                      * sizeof(TaskRecord))
        if grown == NULL:
            rec.failed = True
            return
        rec.records = grown
        rec.capacity *= 2
    rec.records[rec.n_records] = TaskRecord(
        rec.batch, kind, rec.barriers, task, now - started)
    rec.n_records += 1


cdef inline void _record(State* st, int kind, Py_ssize_t task,
                         double started) noexcept nogil:
    """Append a task that began at ``started``, when recording."""
    if st.recording != NULL:
        _append(st.recording, kind, task, started)


cdef enum:
    # Doubles between two threads' times: a cache line.
    THREAD_STRIDE = 8
    # Where in a thread's line its times are.
    WAITED = 0
    HELD = 1


cdef inline void _meet(State* st, int team) noexcept nogil:
    """The team's barrier, counted when recording, timed when asked."""
    cdef double start
    if st.recording != NULL:
        st.recording.barriers += 1
    if not st.time_waits:
        barrier(&st.meeting, team)
    else:
        start = wtime()
        barrier(&st.meeting, team)
        st.thread_times[omp_get_thread_num() * THREAD_STRIDE + WAITED] += (
            wtime() - start)


cdef inline Py_ssize_t _equal_blocks(Py_ssize_t n, Py_ssize_t target,
                                     Py_ssize_t at_least,
                                     Py_ssize_t at_most) noexcept nogil:
    """Size of the blocks that cut n (at least 1) into ceil(n / target)
    (at least ``at_least`` >= 1, at most ``at_most``) blocks of nearly
    equal size."""
    cdef Py_ssize_t count = min(max(n_blocks(n, target), at_least), at_most)
    return max(n_blocks(n, count), 1)


cdef Layout _layout(Py_ssize_t F, Py_ssize_t H, Py_ssize_t K,
                    Py_ssize_t itemsize) noexcept:
    cdef Layout s
    cdef Py_ssize_t n_tiles, hidden_blocks, feature_blocks
    s.n_features, s.n_hidden, s.n_outputs = F, H, K
    s.delta_ld = n_blocks(H * itemsize, 64) * 64 // itemsize
    s.w1 = 0
    s.b1 = F * H
    s.w2 = s.b1 + H
    s.b2 = s.w2 + H * K
    s.n_params = s.b2 + K
    n_tiles = min((F + K) * H // TILE_WEIGHTS, MAX_TILES)
    if F * H >= SPLIT_WEIGHTS:
        n_tiles = max(n_tiles, 2)
    n_tiles = max(n_tiles, 1)
    # About square tiles: hidden blocks of about sqrt(F H / n_tiles) units.
    hidden_blocks = <Py_ssize_t> (H / sqrt(<double> F * H / n_tiles) + 0.5)
    hidden_blocks = max(min(hidden_blocks, n_tiles, n_blocks(H, TILE_UNITS)), 1)
    feature_blocks = max(min(n_tiles // hidden_blocks, F), 1)
    s.hidden_block = min(H, n_blocks(n_blocks(H, hidden_blocks), TILE_UNITS)
                         * TILE_UNITS)
    s.hidden_blocks = n_blocks(H, s.hidden_block)
    s.feature_block = n_blocks(F, feature_blocks)
    s.feature_blocks = n_blocks(F, s.feature_block)
    s.w2_share = n_blocks(n_blocks(s.hidden_block, s.feature_blocks),
                          W2_SHARE_UNITS) * W2_SHARE_UNITS
    s.unit_tasks = s.feature_blocks * s.hidden_blocks
    return s


cdef UnitTask _unit_task(const Layout* s, Py_ssize_t task) noexcept nogil:
    """The weights of units task ``task`` (``Layout``)."""
    cdef UnitTask t
    cdef Py_ssize_t block = task // s.hidden_blocks
    cdef Py_ssize_t n_shares, share
    t.f0 = block * s.feature_block
    t.fs = min(s.feature_block, s.n_features - t.f0)
    t.h0 = (task % s.hidden_blocks) * s.hidden_block
    t.hs = min(s.hidden_block, s.n_hidden - t.h0)
    # The hidden block's W2 rows come in shares of w2_share rows, share j
    # done by feature block j * feature_blocks // n_shares: spread over the
    # feature blocks, so that each thread's run of tasks has its part.
    n_shares = n_blocks(t.hs, s.w2_share)
    share = n_blocks(block * n_shares, s.feature_blocks)
    t.u0, t.us = t.h0, 0
    if share < n_shares and share * s.feature_blocks // n_shares == block:
        t.u0 = t.h0 + share * s.w2_share
        t.us = min(s.w2_share, t.h0 + t.hs - t.u0)
    return t


cdef inline Py_ssize_t _flops_per_row(const Layout* s) noexcept nogil:
    """Floating-point operations of the products of one dense sample's
    forward and backward pass: 2FH + 2HK forward, 2HK + 2HK + 2FH
    backward."""
    return 4 * s.n_features * s.n_hidden + 6 * s.n_hidden * s.n_outputs


cdef Split _split(const Layout* s, Py_ssize_t itemsize,
                  Py_ssize_t n_rows) noexcept nogil:
    """How a batch of ``n_rows`` rows is cut (module docstring): from the
    shapes and the dtype only."""
    cdef Split split
    if n_blocks(n_rows, LARGE_CHUNK_ROWS) >= SLOTS:
        split.n_slots = SLOTS
        split.chunk_rows = LARGE_CHUNK_ROWS
        return split
    # Fewer than SLOTS x LARGE_CHUNK_ROWS rows: one chunk per slot, and at
    # least two slots for two threads (those of the work cap, below).
    split.chunk_rows = _equal_blocks(n_rows, SLOT_ROWS, 2, SLOTS)
    split.n_slots = n_blocks(n_rows, split.chunk_rows)
    # A batch that the work cap gives one thread has nothing to gain from
    # slots but their sum: a 200-row batch of 64-100-10 takes 10% less time
    # as one chunk.
    if (split.n_slots < 2 or s.n_params * itemsize > SLOT_BYTES
            or n_rows * _flops_per_row(s) < 2 * MIN_FLOPS_PER_THREAD):
        split.n_slots = 0
        split.chunk_rows = CHUNK_ROWS
    return split


cdef Py_ssize_t _phase_tasks(const State* st, Py_ssize_t itemsize,
                             Py_ssize_t batch_size, bint first) noexcept nogil:
    """Tasks of the first or second phase of a batch of ``batch_size``
    rows, at most: slots and flat blocks of a batch split over slots; loss
    blocks of a chunk (the rows phase has a run of them per thread) and
    units tasks of a batch split into rows x units."""
    cdef Split split = _split(&st.layout, itemsize, batch_size)
    if split.n_slots:
        return split.n_slots if first else st.n_flat_blocks
    if first:
        return n_blocks(min(batch_size, CHUNK_ROWS), LOSS_ROWS)
    return st.layout.unit_tasks


cdef Py_ssize_t _team_limit(const State* st, Py_ssize_t itemsize,
                            Py_ssize_t batch_size) noexcept nogil:
    """Threads beyond the larger phase's number of tasks of a batch of
    ``batch_size`` rows would only wait at its barriers."""
    return max(_phase_tasks(st, itemsize, batch_size, True),
               _phase_tasks(st, itemsize, batch_size, False))


cdef inline Py_ssize_t _fewest(Py_ssize_t tasks,
                               Py_ssize_t team) noexcept nogil:
    """The fewest threads that run ``tasks`` tasks in as few rounds as
    ``team`` threads do."""
    return n_blocks(tasks, n_blocks(tasks, min(team, tasks)))


cdef int _team(const State* st, Py_ssize_t itemsize,
               Py_ssize_t batch_size, int n_threads) noexcept nogil:
    """The team of a pass allowed ``n_threads`` threads: no more than the
    larger phase has tasks, and no more than take each phase's tasks in as
    few rounds (3 threads take 4 tasks in two rounds, as 2 do, and meet in
    more)."""
    cdef Py_ssize_t team = max(1, min(n_threads,
                                      _team_limit(st, itemsize, batch_size)))
    return <int> max(
        _fewest(_phase_tasks(st, itemsize, batch_size, True), team),
        _fewest(_phase_tasks(st, itemsize, batch_size, False), team))


# ---------------------------------------------------------------------------
# Tasks: each touches only its own rows or its own parameters.


cdef void _update_range(State* st, Py_ssize_t start, Py_ssize_t stop,
                        floating step_size) noexcept nogil:
    cdef const Settings* settings = &st.settings
    if settings.solver == ADAM:
        adam_step(<floating*> st.params, <const floating*> st.grads,
                  <floating*> st.state_1, <floating*> st.state_2, start, stop,
                  step_size, <floating> settings.beta_1,
                  <floating> settings.beta_2, <floating> settings.epsilon)
    else:
        sgd_step(<floating*> st.params, <const floating*> st.grads,
                 <floating*> st.state_1, start, stop,
                 <floating> settings.learning_rate,
                 <floating> settings.momentum, settings.nesterov)


cdef double _finish_range(State* st, Py_ssize_t start, Py_ssize_t stop,
                          bint is_weight, Divisor divisor, bint update,
                          floating step_size) noexcept nogil:
    """Finish the gradient of params[start:stop) (weights get the L2 term,
    biases not), then step; returns its sum of squared weights."""
    cdef double squares = finish_gradient(
        <floating*> st.grads + start, <const floating*> st.params + start,
        stop - start, <floating> (st.settings.alpha if is_weight else 0),
        <floating> divisor.value, <floating> divisor.reciprocal)
    if update:
        _update_range(st, start, stop, step_size)
    return squares


cdef double _rows_task(State* st, const Data* d, Chunk* c,
                       const floating* params, Py_ssize_t first,
                       Py_ssize_t r0, Py_ssize_t n_rows,
                       const Pass* p, long step,
                       double* block_losses) noexcept nogil:
    """Rows [r0, r0 + n_rows) of the chunk whose first sample is ``first``
    (in visiting order): forward, output delta, and with ``p.gradient`` the
    hidden delta. Returns the rows' summed (weighted) loss; with
    ``block_losses`` (NULL: not wanted), the losses of their blocks of
    LOSS_ROWS rows are written there too, and the total is their sum in
    order. With dropout, a training pass (``p.update``) drops hidden units
    by the masks of optimizer step ``step``."""
    cdef const Layout* s = &st.layout
    cdef const Settings* settings = &st.settings
    cdef Py_ssize_t F = s.n_features, H = s.n_hidden, K = s.n_outputs
    cdef Py_ssize_t i, j, r, b, b0, nb
    cdef floating* hidden = <floating*> c.hidden + r0 * H
    cdef floating* output = <floating*> c.output + r0 * K
    cdef floating* delta_output = <floating*> c.delta_output + r0 * K
    cdef floating* derivative = NULL
    # Dense rows are read where they lie, through the visiting order.
    cdef const floating* X_rows = <const floating*> d.X
    cdef const Py_ssize_t* X_order = NULL
    cdef const floating* Y_rows
    cdef const floating* w_rows = NULL
    cdef double eps = FLT_EPSILON if floating is float else DBL_EPSILON
    cdef double loss
    cdef bint dropping = p.update and settings.dropout > 0
    cdef uint64 threshold = rate_threshold(settings.dropout)
    cdef floating scale = <floating> (1 / (1 - settings.dropout))
    if c.derivative != NULL:
        derivative = <floating*> c.derivative + r0 * H
    if d.order != NULL:
        for i in range(r0, r0 + n_rows):
            r = d.order[first + i]
            # An element loop: a row of targets is short, a call per row
            # costs more than the copy.
            for j in range(K):
                (<floating*> c.Y)[i * K + j] = (<const floating*> d.Y)[r * K + j]
            if d.weights != NULL:
                (<floating*> c.weights)[i] = (<const floating*> d.weights)[r]
        X_order = d.order + first + r0
        Y_rows = <const floating*> c.Y + r0 * K
        if d.weights != NULL:
            w_rows = <const floating*> c.weights + r0
    else:
        if d.X != NULL:
            X_rows += (first + r0) * F
        Y_rows = <const floating*> d.Y + (first + r0) * K
        if d.weights != NULL:
            w_rows = <const floating*> d.weights + first + r0
    if d.X != NULL:
        forward_rows(X_rows, X_order, params + s.w1, params + s.b1, hidden,
                     n_rows, F, H, settings.activation, derivative)
    else:
        sparse_forward_rows(<const floating*> d.csr_data, d.csr_indices,
                            d.csr_indptr, d.order, first + r0, n_rows,
                            params + s.w1, params + s.b1, hidden, H,
                            settings.activation, derivative)
    if dropping:
        for i in range(n_rows):
            drop_units(hidden + i * H, H,
                       row_key(settings.dropout_seed, step,
                               sample_of(d.order, first, r0 + i)),
                       threshold, scale)
    forward_rows(<const floating*> hidden, NULL, params + s.w2,
                 params + s.b2, output, n_rows, H, K, settings.out_activation,
                 NULL)
    if block_losses == NULL:
        loss = output_delta_rows(<const floating*> output, Y_rows, w_rows,
                                 delta_output, n_rows, K,
                                 settings.out_activation, settings.loss,
                                 settings.loss_parameter, eps)
    else:
        loss = 0
        for b in range(n_blocks(n_rows, LOSS_ROWS)):
            b0 = b * LOSS_ROWS
            nb = min(LOSS_ROWS, n_rows - b0)
            block_losses[b] = output_delta_rows(
                <const floating*> output + b0 * K, Y_rows + b0 * K,
                NULL if w_rows == NULL else w_rows + b0,
                delta_output + b0 * K, nb, K, settings.out_activation,
                settings.loss, settings.loss_parameter, eps)
            loss += block_losses[b]
    if dropping:
        # The hidden delta through the same masks, recomputed.
        gemm(False, True, n_rows, H, K, <const floating*> delta_output, K,
             NULL, params + s.w2, K,
             <floating*> c.delta_hidden + r0 * s.delta_ld, s.delta_ld, False)
        for i in range(n_rows):
            dropout_derivative(
                <floating*> c.delta_hidden + (r0 + i) * s.delta_ld,
                hidden + i * H,
                NULL if derivative == NULL else derivative + i * H, H,
                settings.activation,
                row_key(settings.dropout_seed, step,
                        sample_of(d.order, first, r0 + i)),
                threshold, scale)
    elif p.gradient:
        hidden_delta_rows(<const floating*> delta_output, params + s.w2,
                          <const floating*> hidden,
                          <floating*> c.delta_hidden + r0 * s.delta_ld, n_rows,
                          H, K, settings.activation, derivative, s.delta_ld)
    return loss


cdef void _w1_tile(State* st, const Data* d, const Chunk* c, Py_ssize_t first,
                   Py_ssize_t n_rows, floating* grads, Py_ssize_t f0,
                   Py_ssize_t fs, Py_ssize_t h0, Py_ssize_t hs,
                   bint accumulate) noexcept nogil:
    """grads[W1][f0:f0+fs, h0:h0+hs] (+)= X_chunk[:, f].T @ delta_hidden[:, h]."""
    cdef Py_ssize_t F = st.layout.n_features, H = st.layout.n_hidden
    cdef Py_ssize_t ld = st.layout.delta_ld
    cdef const floating* X_rows = <const floating*> d.X
    cdef const Py_ssize_t* X_order = NULL
    if d.X == NULL:
        sparse_weight_gradient_units(
            <const floating*> d.csr_data, d.csr_indices, d.csr_indptr, d.order,
            first, n_rows, <const floating*> c.delta_hidden,
            grads + st.layout.w1, f0, fs, h0, hs, H, ld, accumulate)
        return
    if d.order == NULL:
        X_rows += first * F
    else:
        X_order = d.order + first
    gemm(True, False, fs, hs, n_rows, X_rows + f0, F, X_order,
         <const floating*> c.delta_hidden + h0, ld,
         grads + st.layout.w1 + f0 * H + h0, H, accumulate)


cdef double _units_task(State* st, const Data* d, const Chunk* c,
                        Py_ssize_t task, Py_ssize_t first, Py_ssize_t n_rows,
                        bint accumulate, bint finish, bint update,
                        Divisor divisor, floating step_size) noexcept nogil:
    """One W1 tile (with its b1 entries when it is the first of its hidden
    block) and its share of its hidden block's W2 rows (with b2 when the
    first), over a chunk; finished and stepped after the batch's last
    chunk. Returns the task's sum of squared weights when ``finish``, else
    0."""
    cdef const Layout* s = &st.layout
    cdef Py_ssize_t H = s.n_hidden, K = s.n_outputs
    cdef UnitTask t = _unit_task(s, task)
    cdef Py_ssize_t f, start
    cdef double squares = 0
    cdef floating* grads = <floating*> st.grads
    _w1_tile(st, d, c, first, n_rows, grads, t.f0, t.fs, t.h0, t.hs,
             accumulate)
    if t.f0 == 0:
        bias_gradient_columns(<const floating*> c.delta_hidden,
                              grads + s.b1, t.h0, t.hs, n_rows, s.delta_ld,
                              accumulate)
    if t.us > 0:
        weight_gradient_units(<const floating*> c.hidden,
                              <const floating*> c.delta_output, grads + s.w2,
                              t.u0, t.us, n_rows, H, K, accumulate)
    if task == 0:
        bias_gradient_columns(<const floating*> c.delta_output, grads + s.b2,
                              0, K, n_rows, K, accumulate)
    if not finish:
        return 0
    for f in range(t.f0, t.f0 + t.fs):
        start = s.w1 + f * H + t.h0
        squares += _finish_range(st, start, start + t.hs, True, divisor,
                                 update, step_size)
    if t.f0 == 0:
        _finish_range(st, s.b1 + t.h0, s.b1 + t.h0 + t.hs, False, divisor,
                      update, step_size)
    if t.us > 0:
        start = s.w2 + t.u0 * K
        squares += _finish_range(st, start, start + t.us * K, True, divisor,
                                 update, step_size)
    if task == 0:
        _finish_range(st, s.b2, s.b2 + K, False, divisor, update, step_size)
    return squares


cdef void _chunk_gradient(State* st, const Data* d, const Chunk* c,
                          Py_ssize_t first, Py_ssize_t n_rows, floating* grads,
                          bint accumulate) noexcept nogil:
    """A whole chunk's contribution to the gradient ``grads`` (a slot)."""
    cdef const Layout* s = &st.layout
    _w1_tile(st, d, c, first, n_rows, grads, 0, s.n_features, 0, s.n_hidden,
             accumulate)
    bias_gradient_columns(<const floating*> c.delta_hidden, grads + s.b1, 0,
                          s.n_hidden, n_rows, s.delta_ld, accumulate)
    weight_gradient_units(<const floating*> c.hidden,
                          <const floating*> c.delta_output, grads + s.w2, 0,
                          s.n_hidden, n_rows, s.n_hidden, s.n_outputs,
                          accumulate)
    bias_gradient_columns(<const floating*> c.delta_output, grads + s.b2, 0,
                          s.n_outputs, n_rows, s.n_outputs, accumulate)


cdef double _reduce_block(State* st, Py_ssize_t start, Py_ssize_t stop,
                          Py_ssize_t n_slots, Divisor divisor, bint update,
                          floating step_size) noexcept nogil:
    """grads[start:stop) = the slots' partial gradients summed in slot
    order, then finished and stepped; returns the sum of squared weights."""
    cdef const Layout* s = &st.layout
    cdef floating* grads = <floating*> st.grads
    cdef const floating* slot
    cdef Py_ssize_t i, k, a, b, i0, i1
    cdef double squares = 0
    # The four regions, W1, b1, W2, b2, with and without the L2 term.
    cdef Py_ssize_t bounds[5]
    # SUM_ELEMENTS at a time, which stay in L1 while every slot is added
    # to them; the whole block would go back and forth to L2 once a slot.
    i0 = start
    while i0 < stop:
        i1 = min(stop, i0 + SUM_ELEMENTS)
        slot = <const floating*> st.slot_grads
        for i in range(i0, i1):
            grads[i] = slot[i]
        for k in range(1, n_slots):
            slot = <const floating*> st.slot_grads + k * s.n_params
            for i in range(i0, i1):
                grads[i] += slot[i]
        i0 = i1
    bounds[0], bounds[1], bounds[2], bounds[3], bounds[4] = (
        s.w1, s.b1, s.w2, s.b2, s.n_params)
    for k in range(4):
        a = max(start, bounds[k])
        b = min(stop, bounds[k + 1])
        if a < b:
            squares += _finish_range(st, a, b, k % 2 == 0, divisor, update,
                                     step_size)
    return squares


# ---------------------------------------------------------------------------
# Batches, run by every thread of the team.


cdef inline Py_ssize_t _first_task(Py_ssize_t n_tasks, int tid,
                                   int team) noexcept nogil:
    """The first of thread ``tid``'s run of consecutive tasks of a phase
    of ``n_tasks`` (the first ``n_tasks % team`` runs one task longer); its
    run ends where thread ``tid + 1``'s begins."""
    return tid * (n_tasks // team) + min(tid, n_tasks % team)


cdef Divisor _batch_divisor(const Data* d, const floating* weights,
                            Py_ssize_t start, Py_ssize_t n_rows) noexcept nogil:
    """The batch's size, or with sample weights its total weight
    (MLPClassifier's sw_sum); 1 when all its weights are 0 (then only the
    penalty moves the weights)."""
    cdef Py_ssize_t i
    cdef double total = 0
    cdef Divisor divisor
    if weights == NULL:
        total = n_rows
    else:
        for i in range(n_rows):
            total += weights[sample_of(d.order, start, i)]
        if not total > 0:
            total = 1
    divisor.value = total
    divisor.reciprocal = exact_reciprocal(<floating> total)
    return divisor


cdef double _weight_squares(const State* st,
                            const floating* params) noexcept nogil:
    """Sum of squared weights (W1 and W2), for the L2 term of a loss
    computed without its gradient; each thread sums in the same order."""
    cdef const Layout* s = &st.layout
    cdef Py_ssize_t i
    cdef double squares = 0
    for i in range(s.w1, s.b1):
        squares += params[i] * params[i]
    for i in range(s.w2, s.b2):
        squares += params[i] * params[i]
    return squares


cdef double _tiled_batch(State* st, const Data* d, const Pass* p,
                         Py_ssize_t start, Py_ssize_t n_rows,
                         floating step_size, long step, int tid,
                         int team) noexcept nogil:
    cdef const Layout* s = &st.layout
    cdef Chunk* c = &st.chunks[0]
    cdef Py_ssize_t chunk, first, rows, n_row_tasks, task_blocks, task, r0, k
    cdef Py_ssize_t n_loss_blocks
    cdef Divisor divisor = _batch_divisor(d, <const floating*> d.weights, start,
                                          n_rows)
    cdef double data_loss = 0, squares = 0, started
    cdef bint finish
    for chunk in range(n_blocks(n_rows, CHUNK_ROWS)):
        first = start + chunk * CHUNK_ROWS
        rows = min(CHUNK_ROWS, start + n_rows - first)
        finish = first + rows == start + n_rows
        # As many runs of whole loss blocks as the team has threads (a
        # recording: as the recorded team has).
        n_loss_blocks = n_blocks(rows, LOSS_ROWS)
        task_blocks = n_blocks(n_loss_blocks, min(
            team if st.recording == NULL else st.recording.split_team,
            n_loss_blocks))
        n_row_tasks = n_blocks(n_loss_blocks, task_blocks)
        for task in range(_first_task(n_row_tasks, tid, team),
                          _first_task(n_row_tasks, tid + 1, team)):
            r0 = task * task_blocks * LOSS_ROWS
            started = _clock(st)
            _rows_task(st, d, c, <const floating*> st.params, first, r0,
                       min(task_blocks * LOSS_ROWS, rows - r0), p, step,
                       st.row_loss + task * task_blocks)
            _record(st, KIND_ROWS, task, started)
        _meet(st, team)
        # Block order, not thread order: the same sum for any team.
        for k in range(n_loss_blocks):
            data_loss += st.row_loss[k]
        if p.gradient:
            for task in range(_first_task(s.unit_tasks, tid, team),
                              _first_task(s.unit_tasks, tid + 1, team)):
                started = _clock(st)
                st.unit_squares[task] = _units_task(
                    st, d, c, task, first, rows, chunk > 0, finish, p.update,
                    divisor, step_size)
                _record(st, KIND_UNITS, task, started)
        # Chunk buffers, partial sums and (after an update) the parameters
        # are read by all before anyone writes them again.
        _meet(st, team)
    if st.settings.alpha != 0:
        if p.gradient:
            for task in range(s.unit_tasks):
                squares += st.unit_squares[task]
        else:
            squares = _weight_squares(st, <const floating*> st.params)
    return (data_loss + 0.5 * st.settings.alpha * squares) / divisor.value


cdef double _slot_batch(State* st, const Data* d, const Pass* p,
                        Py_ssize_t start, Py_ssize_t n_rows, Split split,
                        floating step_size, long step, int tid,
                        int team) noexcept nogil:
    cdef const Layout* s = &st.layout
    cdef Chunk* c = &st.chunks[tid]
    cdef Py_ssize_t n_chunks = n_blocks(n_rows, split.chunk_rows)
    cdef Py_ssize_t n_slots = split.n_slots
    cdef Py_ssize_t slot, chunk, slot_start, first, rows, block
    cdef Divisor divisor = _batch_divisor(d, <const floating*> d.weights, start,
                                          n_rows)
    cdef double data_loss = 0, squares = 0, loss, started
    for slot in range(_first_task(n_slots, tid, team),
                      _first_task(n_slots, tid + 1, team)):
        started = _clock(st)
        # Chunks [slot_start, next slot's start) accumulate into the slot.
        slot_start = n_blocks(slot * n_chunks, n_slots)
        loss = 0
        for chunk in range(slot_start,
                           n_blocks((slot + 1) * n_chunks, n_slots)):
            first = start + chunk * split.chunk_rows
            rows = min(split.chunk_rows, start + n_rows - first)
            loss += _rows_task(st, d, c, <const floating*> st.params, first,
                               0, rows, p, step, NULL)
            if p.gradient:
                _chunk_gradient(
                    st, d, c, first, rows,
                    <floating*> st.slot_grads + slot * s.n_params,
                    chunk > slot_start)
        st.slot_loss[slot] = loss
        _record(st, KIND_SLOTS, slot, started)
    _meet(st, team)
    for slot in range(n_slots):
        data_loss += st.slot_loss[slot]
    if p.gradient:
        for block in range(_first_task(st.n_flat_blocks, tid, team),
                           _first_task(st.n_flat_blocks, tid + 1, team)):
            started = _clock(st)
            st.block_squares[block] = _reduce_block(
                st, block * FLAT_BLOCK,
                min(s.n_params, (block + 1) * FLAT_BLOCK), n_slots, divisor,
                p.update, step_size)
            _record(st, KIND_REDUCE, block, started)
    _meet(st, team)
    if st.settings.alpha != 0:
        if p.gradient:
            for block in range(st.n_flat_blocks):
                squares += st.block_squares[block]
        else:
            squares = _weight_squares(st, <const floating*> st.params)
    return (data_loss + 0.5 * st.settings.alpha * squares) / divisor.value


cdef void _team_pass(State* st, const Data* d, Pass* p, floating* params,
                     int tid, int team) noexcept nogil:
    """Every batch of one pass over the data; run by each thread of the
    team, which all take the same decisions."""
    cdef const Settings* settings = &st.settings
    cdef Py_ssize_t batch, start, rows
    cdef long steps = st.steps
    cdef double total = 0, step_size = 0, started
    cdef Split split
    for batch in range(n_blocks(d.n_rows, p.batch_size)):
        started = _clock(st)
        if st.recording != NULL:
            st.recording.batch = batch
        start = batch * p.batch_size
        rows = min(p.batch_size, d.n_rows - start)
        if p.update:
            # Every solver counts its steps: adam's bias correction and the
            # dropout masks follow them.
            steps += 1
            if settings.solver == ADAM:
                step_size = (settings.learning_rate
                             * sqrt(1 - pow(settings.beta_2, steps))
                             / (1 - pow(settings.beta_1, steps)))
        split = _split(&st.layout, sizeof(floating), rows)
        if split.n_slots:
            total += rows * _slot_batch(st, d, p, start, rows, split,
                                        <floating> step_size, steps, tid,
                                        team)
        else:
            total += rows * _tiled_batch(st, d, p, start, rows,
                                         <floating> step_size, steps, tid,
                                         team)
        _record(st, KIND_BATCH, -1, started)
    if tid == 0:
        p.loss = total / d.n_rows
        p.steps = steps
        p.team = team


cdef void _run_pass(State* st, const Data* d, Pass* p, floating* params,
                    int n_threads) noexcept nogil:
    """One team for the whole pass: its phases meet at barriers."""
    cdef int tid, team
    cdef double ran, slept
    barrier_init(&st.meeting)
    with parallel(num_threads=n_threads):
        tid = omp_get_thread_num()
        team = omp_get_num_threads()
        if st.thread_times != NULL:
            ran = thread_cpu()
            slept = slept_seconds()
        _team_pass(st, d, p, params, tid, team)
        if st.thread_times != NULL:
            # A thread has its core while it runs, and while it sleeps at
            # a barrier waiting for a team-mate.
            st.thread_times[tid * THREAD_STRIDE + HELD] = (
                thread_cpu() - ran + slept_seconds() - slept if ran >= 0
                else -1)


# ---------------------------------------------------------------------------
# The Python-facing object.


cdef void* _alloc(Py_ssize_t n_items, Py_ssize_t itemsize) except NULL:
    # On a cache line, in whole lines: the matrix products read a buffer's
    # rows where they lie when their length allows.
    cdef size_t size = (max(n_items, 1) * itemsize + 63) // 64 * 64
    cdef void* memory = aligned_alloc(64, size)
    if memory == NULL:
        raise MemoryError("cannot allocate the training buffers")
    return memory


cdef inline const void* _address(array):
    """Address of an ndarray's first element (it must stay alive)."""
    return <const void*> <size_t> array.__array_interface__["data"][0]


_STATE_NAMES = {"sgd": ("velocity",), "adam": ("first_moment", "second_moment")}


cdef class Trainer:
    """The training state of a two-layer network, and its compiled passes.

    Parameters
    ----------
    params : ndarray of shape (n_params,), float32 or float64
        Flat weights and biases (W1, b1, W2, b2, each row-major, W1 of shape
        (n_features, n_hidden)); updated in place. Its dtype is the
        trainer's: data passed to the methods must have it.
    n_features, n_hidden, n_outputs : int
    activation : str
        The hidden layer's: a name of ``_registry.ACTIVATIONS``.
    out_activation : {"softmax", "logistic", "identity", "exp"}
    loss : str
        A name of ``_registry.LOSSES``.
    loss_parameter : float, default=0
        The threshold of the "huber" loss, the quantile of "quantile".
    solver : {"sgd", "adam"}, default="sgd"
        The step ``run_epoch`` takes after each batch.
    alpha : float, default=0
        L2 penalty.
    learning_rate : float, default=0
        Step size; settable between epochs.
    momentum : float, default=0
    nesterov : bool, default=False
    beta_1, beta_2, epsilon : float
        Adam's constants.
    dropout : float, default=0
        Rate of inverted dropout on the hidden layer during ``run_epoch``
        (``loss_and_gradient`` never drops units), in [0, 1).
    dropout_seed : int, default=0
        Seed of the dropout masks, in [0, 2**64).
    state : dict or None, default=None
        An ``optimizer_state()`` of an earlier trainer (the same solver and
        number of parameters) to continue: its arrays are copied, its step
        count and learning rate taken over. None starts afresh.
    """

    cdef State st
    cdef readonly object params
    cdef readonly object grads
    cdef readonly object dtype
    cdef readonly str solver
    cdef object _moments
    # The CSR arrays (indices as intp) of the last sparse X, and X itself.
    cdef object _sparse_source
    cdef object _sparse_arrays
    cdef readonly int last_team

    def __cinit__(self):
        self.st.chunks = NULL
        self.st.n_chunk_sets = 0
        self.st.slot_grads = NULL
        self.st.row_loss = NULL
        self.st.unit_squares = NULL
        self.st.slot_loss = NULL
        self.st.block_squares = NULL
        self.st.recording = NULL
        self.st.thread_times = NULL
        self.st.time_waits = False

    def __init__(self, params, Py_ssize_t n_features, Py_ssize_t n_hidden,
                 Py_ssize_t n_outputs, *, activation, out_activation, loss,
                 double loss_parameter=0, solver="sgd", double alpha=0,
                 double learning_rate=0, double momentum=0,
                 bint nesterov=False, double beta_1=0.9,
                 double beta_2=0.999, double epsilon=1e-8, double dropout=0,
                 unsigned long long dropout_seed=0, state=None):
        cdef Settings* settings = &self.st.settings
        if not (isinstance(params, np.ndarray) and params.ndim == 1
                and params.dtype in (np.float32, np.float64)
                and params.flags.c_contiguous and params.flags.writeable):
            raise ValueError("params must be a writable 1-d float32 or float64 "
                             "C-contiguous array")
        if n_features < 1 or n_hidden < 1 or n_outputs < 1:
            raise ValueError("every layer needs at least one unit")
        if solver not in SOLVERS:
            raise ValueError(f"solver must be one of {sorted(SOLVERS)}")
        self.st.layout = _layout(n_features, n_hidden, n_outputs,
                                 params.dtype.itemsize)
        if params.shape[0] != self.st.layout.n_params:
            raise ValueError(
                f"params has {params.shape[0]} entries; the network needs "
                f"{self.st.layout.n_params}")
        settings.activation = ACTIVATION_CODES[activation]
        settings.out_activation = ACTIVATION_CODES[out_activation]
        settings.loss = LOSS_CODES[loss]
        settings.loss_parameter = loss_parameter
        settings.solver = SOLVERS[solver]
        settings.alpha = alpha
        settings.learning_rate = learning_rate
        settings.momentum = momentum
        settings.nesterov = nesterov
        settings.beta_1 = beta_1
        settings.beta_2 = beta_2
        settings.epsilon = epsilon
        if not 0 <= dropout < 1:
            raise ValueError("dropout must be in [0, 1)")
        settings.dropout = dropout
        settings.dropout_seed = dropout_seed
        self.solver = solver
        self.dtype = params.dtype
        self.params = params
        self.grads = np.zeros_like(params)
        self._moments = tuple(np.zeros_like(params) for _ in _STATE_NAMES[solver])
        self.st.steps = 0
        if state is not None:
            self._restore(state)
        self.st.params = <void*> _address(self.params)
        self.st.grads = <void*> _address(self.grads)
        self.st.state_1 = <void*> _address(self._moments[0])
        self.st.state_2 = (<void*> _address(self._moments[1])
                           if len(self._moments) > 1 else NULL)
        self.st.n_flat_blocks = n_blocks(self.st.layout.n_params, FLAT_BLOCK)
        self.st.row_loss = <double*> _alloc(n_blocks(CHUNK_ROWS, LOSS_ROWS),
                                            sizeof(double))
        self.st.unit_squares = <double*> _alloc(self.st.layout.unit_tasks,
                                                sizeof(double))
        self.st.slot_loss = <double*> _alloc(SLOTS, sizeof(double))
        self.st.block_squares = <double*> _alloc(self.st.n_flat_blocks,
                                                 sizeof(double))

    def __dealloc__(self):
        self._free_chunks()
        free(self.st.slot_grads)
        free(self.st.row_loss)
        free(self.st.unit_squares)
        free(self.st.slot_loss)
        free(self.st.block_squares)

    cdef void _free_chunks(self) noexcept:
        cdef Py_ssize_t t
        if self.st.chunks == NULL:
            return
        for t in range(self.st.n_chunk_sets):
            free(self.st.chunks[t].Y)
            free(self.st.chunks[t].weights)
            free(self.st.chunks[t].hidden)
            free(self.st.chunks[t].output)
            free(self.st.chunks[t].delta_output)
            free(self.st.chunks[t].delta_hidden)
            free(self.st.chunks[t].derivative)
        free(self.st.chunks)
        self.st.chunks = NULL
        self.st.n_chunk_sets = 0

    cdef int _reserve(self, Py_ssize_t n_sets, bint slots) except -1:
        """Make sure there are ``n_sets`` chunk buffers and, for ``slots``,
        the partial gradients: allocated once, before any pass needs
        them."""
        cdef const Layout* s = &self.st.layout
        cdef Py_ssize_t t, item = self.dtype.itemsize
        cdef Chunk* c
        if slots and self.st.slot_grads == NULL:
            self.st.slot_grads = _alloc(SLOTS * s.n_params, item)
        if self.st.n_chunk_sets >= n_sets:
            return 0
        n_sets = max(n_sets, self.st.n_chunk_sets)
        self._free_chunks()
        self.st.chunks = <Chunk*> _alloc(n_sets, sizeof(Chunk))
        for t in range(n_sets):
            c = &self.st.chunks[t]
            c.Y = c.weights = c.hidden = c.output = NULL
            c.delta_output = c.delta_hidden = c.derivative = NULL
        self.st.n_chunk_sets = n_sets
        for t in range(n_sets):
            c = &self.st.chunks[t]
            c.Y = _alloc(CHUNK_ROWS * s.n_outputs, item)
            c.weights = _alloc(CHUNK_ROWS, item)
            c.hidden = _alloc(CHUNK_ROWS * s.n_hidden, item)
            c.output = _alloc(CHUNK_ROWS * s.n_outputs, item)
            c.delta_output = _alloc(CHUNK_ROWS * s.n_outputs, item)
            c.delta_hidden = _alloc(CHUNK_ROWS * s.delta_ld, item)
            # The padding of each row is never written; zeroed, the bias
            # gradient's reads beyond a row's last columns see numbers.
            memset(c.delta_hidden, 0, CHUNK_ROWS * s.delta_ld * item)
            if derivative_needs_input(self.st.settings.activation):
                c.derivative = _alloc(CHUNK_ROWS * s.n_hidden, item)
        return 0

    # -- state ---------------------------------------------------------------

    @property
    def learning_rate(self):
        """Step size of the sgd and adam updates; schedules change it
        between epochs."""
        return self.st.settings.learning_rate

    @learning_rate.setter
    def learning_rate(self, double value):
        self.st.settings.learning_rate = value

    @property
    def flops_per_row(self):
        """Floating-point operations of the forward and backward pass of
        one dense sample (the products only), the measure of work of the
        thread policy."""
        return _flops_per_row(&self.st.layout)

    @property
    def buffer_nbytes(self):
        """Bytes of the buffers allocated so far (chunk buffers and partial
        gradients): O(CHUNK_ROWS x (n_hidden + n_outputs)) per chunk set;
        no copy of X, whose rows are read where they lie."""
        cdef const Layout* s = &self.st.layout
        cdef Py_ssize_t per_set = CHUNK_ROWS * (2 * s.n_hidden + 3 * s.n_outputs
                                                + 1)
        return self.dtype.itemsize * (
            self.st.n_chunk_sets * per_set
            + (SLOTS * s.n_params if self.st.slot_grads != NULL else 0))

    def unit_tasks(self):
        """The units phase's tasks of a batch split into rows x units, in
        task order: an array of rows (f0, fs, h0, hs, u0, us), the task's
        W1 tile (features f0 .. f0 + fs x hidden units h0 .. h0 + hs) and
        W2 rows u0 .. u0 + us. They follow from the shapes only."""
        cdef Py_ssize_t task
        cdef UnitTask t
        extents = np.empty((self.st.layout.unit_tasks, 6), dtype=np.intp)
        for task in range(self.st.layout.unit_tasks):
            t = _unit_task(&self.st.layout, task)
            extents[task] = (t.f0, t.fs, t.h0, t.hs, t.u0, t.us)
        return extents

    def batch_slots(self, Py_ssize_t n_rows):
        """Partial gradients a batch of ``n_rows`` rows is split over; 0
        when it is split into rows x units instead. It follows from the
        shapes and the dtype only."""
        if n_rows < 1:
            raise ValueError("a batch has at least one row")
        return _split(&self.st.layout, self.dtype.itemsize, n_rows).n_slots

    @property
    def steps(self):
        """Optimizer steps (batches) taken so far, for Adam's bias
        correction."""
        return self.st.steps

    def optimizer_state(self):
        """Copies of the optimizer's state, to continue it later.

        Returns
        -------
        state : dict
            ``solver``, ``steps``, ``learning_rate`` and the solver's arrays:
            ``velocity`` (sgd), or ``first_moment`` and ``second_moment``
            (adam), each of shape (n_params,).
        """
        state = {"solver": self.solver, "steps": int(self.st.steps),
                 "learning_rate": float(self.st.settings.learning_rate)}
        for name, moment in zip(_STATE_NAMES[self.solver], self._moments):
            state[name] = moment.copy()
        return state

    def _restore(self, state):
        if not isinstance(state, dict) or state.get("solver") != self.solver:
            raise ValueError(f"the optimizer state is not one of solver "
                             f"{self.solver!r}")
        for name, moment in zip(_STATE_NAMES[self.solver], self._moments):
            given = np.asarray(state.get(name))
            if (given.shape != moment.shape
                    or given.dtype not in (np.float32, np.float64)
                    or not np.isfinite(given).all()):
                raise ValueError(f"the optimizer state's {name!r} does not fit "
                                 f"the network's {moment.shape[0]} parameters "
                                 f"or is not finite")
            moment[...] = given
        steps = state.get("steps")
        if not isinstance(steps, (int, np.integer)) or steps < 0:
            raise ValueError("the optimizer state's 'steps' must be a "
                             "non-negative integer")
        learning_rate = float(state["learning_rate"])
        if not 0 < learning_rate < np.inf:
            raise ValueError("the optimizer state's 'learning_rate' must be "
                             "positive and finite")
        self.st.steps = steps
        self.st.settings.learning_rate = learning_rate

    # -- passes --------------------------------------------------------------

    cdef object _bind(self, X, Y, sample_weight, order, Data* d):
        """Check the data and point ``d`` at it; returns what must stay
        alive meanwhile."""
        cdef const Layout* s = &self.st.layout
        cdef Py_ssize_t n_samples
        cdef const Py_ssize_t[::1] rows
        cdef Py_ssize_t i
        keep = [X, Y, sample_weight, order]
        if sp.issparse(X):
            if X.format != "csr":
                raise ValueError("a sparse X must be in CSR format")
            if self._sparse_source is not X:
                indices = np.ascontiguousarray(X.indices, dtype=np.intp)
                indptr = np.ascontiguousarray(X.indptr, dtype=np.intp)
                check_csr(indices, indptr, X.data.shape[0], X.shape[0],
                          X.shape[1])
                self._sparse_source = X
                self._sparse_arrays = (np.ascontiguousarray(X.data), indices,
                                       indptr)
            data, indices, indptr = self._sparse_arrays
            if data.dtype != self.dtype:
                raise ValueError(f"X must be of dtype {self.dtype}")
            d.X = NULL
            d.csr_data = _address(data)
            d.csr_indices = <const Py_ssize_t*> _address(indices)
            d.csr_indptr = <const Py_ssize_t*> _address(indptr)
            keep.append(self._sparse_arrays)
        else:
            if not (isinstance(X, np.ndarray) and X.ndim == 2
                    and X.dtype == self.dtype and X.flags.c_contiguous):
                raise ValueError(f"X must be a C-contiguous 2-d array of dtype "
                                 f"{self.dtype}, or a CSR matrix")
            d.X = _address(X)
        n_samples = X.shape[0]
        if X.shape[1] != s.n_features:
            raise ValueError(f"X has {X.shape[1]} features; the network "
                             f"{s.n_features}")
        if not (isinstance(Y, np.ndarray) and Y.dtype == self.dtype
                and Y.flags.c_contiguous
                and Y.shape == (n_samples, s.n_outputs)):
            raise ValueError(f"Y must be a C-contiguous array of shape "
                             f"({n_samples}, {s.n_outputs}) and dtype "
                             f"{self.dtype}")
        d.Y = _address(Y)
        d.weights = NULL
        if sample_weight is not None:
            if not (isinstance(sample_weight, np.ndarray)
                    and sample_weight.dtype == self.dtype
                    and sample_weight.shape == (n_samples,)
                    and sample_weight.flags.c_contiguous):
                raise ValueError("sample_weight must be a C-contiguous array of "
                                 "one entry per row of X, of X's dtype")
            d.weights = _address(sample_weight)
        d.order = NULL
        d.n_rows = n_samples
        if order is not None:
            rows = order
            for i in range(rows.shape[0]):
                if rows[i] < 0 or rows[i] >= n_samples:
                    raise ValueError("order must index rows of X")
            d.n_rows = rows.shape[0]
            if d.n_rows > 0:
                d.order = &rows[0]
        if d.n_rows == 0:
            raise ValueError("there are no samples")
        return keep

    cdef double _pass(self, X, Y, sample_weight, order, Py_ssize_t batch_size,
                      bint update, bint gradient, int n_threads) except? -1:
        cdef Data d
        cdef Pass p
        cdef Split split
        cdef bint single
        keep = self._bind(X, Y, sample_weight, order, &d)
        p.batch_size = min(max(batch_size, 1), d.n_rows)
        p.update = update
        p.gradient = gradient
        p.steps = self.st.steps
        # The last batch may be smaller: it splits over fewer slots, or is
        # tiled; its needs are covered by those of a full batch.
        split = _split(&self.st.layout, self.dtype.itemsize, p.batch_size)
        n_threads = _team(&self.st, self.dtype.itemsize, p.batch_size,
                          n_threads)
        self._reserve(n_threads if split.n_slots else 1,
                      split.n_slots and gradient)
        single = self.dtype == np.float32
        with nogil:
            if single:
                _run_pass(&self.st, &d, &p, <float*> self.st.params, n_threads)
            else:
                _run_pass(&self.st, &d, &p, <double*> self.st.params, n_threads)
        del keep
        self.last_team = p.team
        if update:
            self.st.steps = p.steps
        return p.loss

    def run_epoch(self, X, Y, *, Py_ssize_t batch_size, int n_threads=1,
                  sample_weight=None, order=None, waits=None,
                  core_seconds=None):
        """One epoch of minibatch training: forward, backward and the
        optimizer step for each batch; ``params`` change in place.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_features), or CSR matrix
            In the trainer's dtype; a dense X must be C-contiguous.
        Y : ndarray of shape (n_samples, n_outputs)
            Encoded targets, C-contiguous, in the trainer's dtype.
        batch_size : int
        n_threads : int, default=1
            The most threads to use.
        sample_weight : ndarray of shape (n_samples,) or None
            Each batch's loss and gradient are weighted sums divided by the
            batch's total weight.
        order : ndarray of intp or None
            The rows of X to visit, in this order (all or some of them);
            None visits all rows in data order without gathering them.
        waits : ndarray of shape (n_threads,), float64, or None
            Where to write the seconds each thread of the team waited at
            the barriers between phases (the scaling model's measure of a
            team run).
        core_seconds : ndarray of shape (n_threads,), float64, or None
            Where to write the seconds each thread of the team had its core
            in the epoch: the CPU time it ran, and the time it slept at a
            barrier waiting for a team-mate (-1 where the platform does not
            tell). Less than the epoch's wall time for a thread that other
            work kept off its core.

        In ``waits`` and ``core_seconds``, entries past the team's size are
        set to 0.

        Returns
        -------
        loss : float
            Mean over the visited samples of their batch's loss plus L2
            term (MLPClassifier's epoch loss).
        """
        return self._timed_pass(X, Y, sample_weight, order, batch_size, True,
                                True, n_threads, waits, core_seconds)

    cdef double _timed_pass(self, X, Y, sample_weight, order,
                            Py_ssize_t batch_size, bint update,
                            bint gradient, int n_threads, waits,
                            core_seconds) except? -1:
        """``_pass``, writing each thread's ``waits`` and ``core_seconds``
        (see :meth:`run_epoch`) where they are given."""
        cdef Py_ssize_t t
        cdef Py_ssize_t n_entries = max(n_threads, 1)
        cdef double loss
        timed = [(name, column, out) for name, column, out in (
                     ("waits", WAITED, waits),
                     ("core_seconds", HELD, core_seconds)) if out is not None]
        if not timed:
            return self._pass(X, Y, sample_weight, order, batch_size, update,
                              gradient, n_threads)
        for name, _, out in timed:
            if not (isinstance(out, np.ndarray) and out.dtype == np.float64
                    and out.shape == (n_entries,)):
                raise ValueError(f"{name} must be a float64 array of one "
                                 f"entry per thread asked for")
        self.st.thread_times = <double*> calloc(
            n_entries * THREAD_STRIDE, sizeof(double))
        if self.st.thread_times == NULL:
            raise MemoryError("cannot allocate the thread times")
        self.st.time_waits = waits is not None
        try:
            loss = self._pass(X, Y, sample_weight, order, batch_size, update,
                              gradient, n_threads)
            for _, column, out in timed:
                for t in range(n_entries):
                    out[t] = self.st.thread_times[t * THREAD_STRIDE + column]
        finally:
            free(self.st.thread_times)
            self.st.thread_times = NULL
            self.st.time_waits = False
        return loss

    def loss_and_gradient(self, X, Y, *, int n_threads=1, sample_weight=None,
                          bint gradient=True, core_seconds=None):
        """Mean loss plus L2 term of all rows of X under the current
        ``params``; with ``gradient``, its gradient goes to ``grads``.

        The rows are processed in chunks (memory independent of the number
        of rows), as one batch; ``params`` do not change.

        Parameters
        ----------
        X, Y, sample_weight
            As for :meth:`run_epoch`.
        n_threads : int, default=1
        gradient : bool, default=True
            False computes the loss only.
        core_seconds : ndarray of shape (n_threads,), float64, or None
            As for :meth:`run_epoch`: the seconds each thread had its core.

        Returns
        -------
        loss : float
        """
        return self._timed_pass(X, Y, sample_weight, None, X.shape[0], False,
                                gradient, n_threads, None, core_seconds)

    def team_limit(self, Py_ssize_t batch_size):
        """The most threads a pass with batches of ``batch_size`` rows
        starts: the larger of a batch's phases has that many tasks. It
        follows from the shapes and the dtype only."""
        if batch_size < 1:
            raise ValueError("a batch has at least one row")
        return _team_limit(&self.st, self.dtype.itemsize, batch_size)

    def team_size(self, Py_ssize_t batch_size, int n_threads):
        """The threads a pass with batches of ``batch_size`` rows runs when
        it may use ``n_threads``: at most :meth:`team_limit`, and no more
        than take as many rounds of the larger phase's tasks."""
        if batch_size < 1:
            raise ValueError("a batch has at least one row")
        return _team(&self.st, self.dtype.itemsize, batch_size, n_threads)

    def record_tasks(self, X, Y, *, Py_ssize_t batch_size, sample_weight=None,
                     order=None, int team=1):
        """One epoch of :meth:`run_epoch` on one thread, timing each task.

        The weights and the optimizer's state change exactly as
        ``run_epoch`` changes them; only the time each task and each batch
        took is written down as well.

        Parameters
        ----------
        X, Y, batch_size, sample_weight, order
            As for :meth:`run_epoch`.
        team : int, default=1
            The tasks recorded are those of a team of ``team`` threads: the
            rows phase of a batch split into rows x units has one task per
            thread (the other phases' tasks follow from the shapes alone).

        Returns
        -------
        records : structured ndarray
            One entry per task in the order they ran, and one per batch
            after its tasks: ``batch`` (its index in the epoch), ``kind``
            (a code of ``TASK_KINDS``: "rows" and "units" of a batch split
            into rows x units, "slots" and "reduce" of a batch split over
            slots, "batch" for the whole batch), ``phase`` (the barriers
            met before the task ran; for a batch, at its end), ``task``
            (the task's index in its phase: a team of ``n`` threads gives
            each a run of consecutive tasks, the first ``n_tasks % n``
            runs one task longer; -1 for a batch) and
            ``seconds``.
        n_barriers : int
            Barriers the team meets in the epoch.
        loss : float
            As returned by ``run_epoch``.
        """
        cdef Recording rec
        rec.capacity = 1024
        rec.n_records = 0
        rec.batch = 0
        rec.barriers = 0
        rec.failed = False
        rec.split_team = max(team, 1)
        rec.records = <TaskRecord*> _alloc(rec.capacity, sizeof(TaskRecord))
        self.st.recording = &rec
        try:
            loss = self._pass(X, Y, sample_weight, order, batch_size, True,
                              True, 1)
            if rec.failed:
                raise MemoryError("cannot allocate the task records")
            records = np.empty(rec.n_records, dtype=_RECORD_DTYPE)
            if rec.n_records:
                memcpy(<void*> <size_t> records.ctypes.data, rec.records,
                       rec.n_records * sizeof(TaskRecord))
        finally:
            self.st.recording = NULL
            free(rec.records)
        return records, rec.barriers, loss

    def __reduce__(self):
        raise TypeError("a Trainer is not picklable; pickle its "
                        "optimizer_state() instead")
