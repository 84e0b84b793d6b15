# The project's own matrix products (_gemm.h): every element of C one
# chain of fused multiply-adds in the order of k, so that every build from
# AVX2 up gives the same bits on any CPU; rows of A may be gathered where
# they lie through an index array, and an epilogue may finish each tile of
# C while it is in L1.

from cython cimport floating


cdef extern from "_gemm.h" nogil:
    ctypedef void (*gemm_epilogue_fn)(
        void* context, void* tile, Py_ssize_t ldc, Py_ssize_t row0,
        Py_ssize_t col0, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil
    ctypedef struct Epilogue "gemm_epilogue_t":
        gemm_epilogue_fn apply
        void* context
        # The same finish in registers (see _gemm.h): C += bias, then
        # C = max(C, 0) with relu, then C = 0 where gate <= 0.
        bint in_registers
        const void* bias
        bint relu
        const void* gate
        Py_ssize_t ld_gate
    void gemm_d(int trans_a, int trans_b, Py_ssize_t m, Py_ssize_t n,
                Py_ssize_t k, const double* a, Py_ssize_t lda,
                const Py_ssize_t* a_rows, const double* b, Py_ssize_t ldb,
                double* c, Py_ssize_t ldc, int accumulate,
                const Epilogue* epilogue)
    void gemm_f(int trans_a, int trans_b, Py_ssize_t m, Py_ssize_t n,
                Py_ssize_t k, const float* a, Py_ssize_t lda,
                const Py_ssize_t* a_rows, const float* b, Py_ssize_t ldb,
                float* c, Py_ssize_t ldc, int accumulate,
                const Epilogue* epilogue)


cdef inline void gemm(
    bint trans_a,
    bint trans_b,
    Py_ssize_t m,
    Py_ssize_t n,
    Py_ssize_t k,
    const floating* a,
    Py_ssize_t lda,
    const Py_ssize_t* a_rows,
    const floating* b,
    Py_ssize_t ldb,
    floating* c,
    Py_ssize_t ldc,
    bint accumulate,
    const Epilogue* epilogue=NULL,
) noexcept nogil:
    """C (+)= op(A) @ op(B), all row-major, C of shape (m, n), each tile of
    C then finished by ``epilogue`` (NULL: none) while it is in cache.

    ``a_rows`` (NULL: 0, 1, 2, ...) gives the stored rows of A that are
    read: the rows of op(A) when A is not transposed, its columns when it
    is. ``accumulate`` adds to C instead of overwriting it.
    """
    if floating is float:
        gemm_f(trans_a, trans_b, m, n, k, a, lda, a_rows, b, ldb, c, ldc,
               accumulate, epilogue)
    else:
        gemm_d(trans_a, trans_b, m, n, k, a, lda, a_rows, b, ldb, c, ldc,
               accumulate, epilogue)
