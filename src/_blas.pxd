# Row-major matrix products on top of scipy's Fortran BLAS.
#
# Fortran BLAS is column-major: a row-major (m, n) matrix is, in the same
# memory, its (n, m) transpose in column-major order. So the row-major
# C = op(A) @ op(B) is computed as the column-major C.T = op(B).T @ op(A).T,
# i.e. the same call with the operands swapped.

from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm


cdef inline void gemm(
    bint trans_a,
    bint trans_b,
    int m,
    int n,
    int k,
    floating alpha,
    const floating* a,
    int lda,
    const floating* b,
    int ldb,
    floating beta,
    floating* c,
    int ldc,
) noexcept nogil:
    """C = alpha * op(A) @ op(B) + beta * C, all row-major, C of shape (m, n)."""
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if m <= 0 or n <= 0:
        return
    # BLAS rejects leading dimensions below one, even for empty operands.
    lda = max(lda, 1)
    ldb = max(ldb, 1)
    ldc = max(ldc, 1)
    if floating is float:
        sgemm(&tb, &ta, &n, &m, &k, &alpha, <float*> b, &ldb,
              <float*> a, &lda, &beta, c, &ldc)
    else:
        dgemm(&tb, &ta, &n, &m, &k, &alpha, <double*> b, &ldb,
              <double*> a, &lda, &beta, c, &ldc)
