# Fixed work partition shared by every kernel.
#
# Work is split into blocks whose boundaries depend on the data shape only,
# never on the number of threads, and partial results are combined in block
# order: the output is then bitwise the same for any thread count.

cdef enum:
    # Rows of samples handled by one task of a row-parallel kernel.
    ROW_BLOCK = 64
    # Rows of a weight-gradient matrix handled by one task.
    UNIT_BLOCK = 32
    # Elements of a flat parameter vector handled by one optimizer task.
    FLAT_BLOCK = 4096
    # Least work (floating-point operations) a thread is given between two
    # barriers: the thread policy's work cap (sklearn_twolayer._threads),
    # and so the least work of a batch worth splitting for two threads.
    MIN_FLOPS_PER_THREAD = 4000000


cdef inline Py_ssize_t n_blocks(Py_ssize_t n, Py_ssize_t block) noexcept nogil:
    return (n + block - 1) // block
