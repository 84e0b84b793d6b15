/* The matrix products of training and prediction, row-major:

       C (+)= op(A) @ op(B),   C of shape (m, n), the sum over k terms,

   written for this project instead of calling BLAS, for two reasons.

   * The same result on every machine. Each element of C is one chain of
     fused multiply-adds over k = 0, 1, ..., k - 1 in that order, started
     from 0 (or from C itself when accumulating). Neither the vector width,
     nor the tile sizes, nor the blocking of k, nor the number of threads
     changes that chain: a block of k stores C and the next block loads it
     back, which rounds nothing. So the AVX2 and AVX-512 builds, on any
     x86-64 CPU, give bitwise the same products, where BLAS gives whatever
     its kernel for the CPU sums. The baseline build has no fused
     multiply-add (SSE2): its chains round the product and the sum apart,
     and its last bits differ from the wider builds', consistently.
   * Rows gathered on the fly. The rows of A (or, transposed, the rows of
     B's partner) may be given by an index array: a minibatch of shuffled
     samples is read where it lies, without a copy.

   Layout of the work (as in BLIS): k is cut into blocks of GEMM_KC; for
   each block, each panel of GEMM_NR columns of op(B) is read where it lies
   (a row-major B whose rows start on cache lines, or any B when one tile
   of rows reads the panel) or else copied into a contiguous, zero-padded
   buffer (GEMM_KC x GEMM_NR, in L1/L2 while all row tiles use it); a
   micro-kernel computes a tile of up to GEMM_MR rows x GEMM_NR columns,
   holding it in registers: GEMM_NV vectors a row, each step of k a
   broadcast of one A element times the panel's row. A vector lane never
   mixes columns, so no sum crosses lanes. Every shape of tile (1 to
   GEMM_MR rows, one or two vectors) is compiled on its own.

   The last columns, when one vector holds them, take tiles one vector
   wide; columns beyond n are computed from the zero padding into a scratch
   tile, of which only the valid columns are copied. A product of one or
   two rows (predicting one sample) takes tiles of GEMM_WIDE_NV vectors, so
   that enough chains are in flight. A.T @ B with few columns (the output
   layer's weight gradient) is computed as its transpose, whose rows are
   long. Where A @ B has columns that do not fill a vector, in float64
   from AVX2 up, those last columns hold rows of C, not columns, in their
   vectors, through blocks of A transposed in registers: a layer of 1 or 5
   outputs fills every lane, where a tile would fill 1 or 5 of 8. Not when
   the last panel of tiles is more than half full (10 outputs: 10 of 16
   columns): its tiles then do more multiply-adds a cycle than a narrow
   tile of 8 columns and the rows in vectors together (measured on AMD
   Zen 5, a 200 x 100 layer of 10 outputs: 5.6 against 6.8 us).

   An epilogue may finish each tile of C once its chains are complete,
   while the tile is still in L1 (a layer's bias and activation, the hidden
   delta's derivative): the product calls it on every finished tile, or,
   on the paths without tiles, once on the whole of C. The commonest
   finishes (bias and ReLU, ReLU's derivative) are done in registers
   instead, on the tiles that fill their vectors, before the tile is first
   stored. Either way it reads and writes C's finished values only, so it
   changes no sum, and both ways round alike. */

#ifndef TWOLAYER_GEMM_H
#define TWOLAYER_GEMM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#define GEMM_VBYTES 64
#define GEMM_MR 12
#elif defined(__AVX__)
#define GEMM_VBYTES 32
#define GEMM_MR 6
#else
#define GEMM_VBYTES 16
#define GEMM_MR 6
#endif
/* Vectors per row of a tile: MR x NV accumulators, NV panel loads and a
   broadcast fit the 32 (AVX-512) or 16 registers. */
#define GEMM_NV 2
/* Vectors per row of a tile of a product of one or two rows. */
#define GEMM_WIDE_NV 4
/* Steps of k per block: a panel row holds at most 128 bytes (256 for the
   tiles of one or two rows), so a panel takes at most 32 KiB (64 KiB).
   Blocking does not change any sum (see above). */
#define GEMM_KC 256

/* Steps of k between asking memory for a gathered row of A transposed
   and reading it: long enough for a line to come from main memory while
   the steps between run (some hundred cycles). */
#define GEMM_AHEAD 16

/* acc + a * b for vectors of the build's width: one fused multiply-add
   where the build has it, called explicitly so that the result does not
   hang on the compiler contracting (which it does only from -O2 on). */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif
#if defined(__AVX512F__)
#define GEMM_FMA_d(acc, a, b) \
    ((gemm_vector_d) _mm512_fmadd_pd((__m512d) (a), (__m512d) (b), (__m512d) (acc)))
#define GEMM_FMA_f(acc, a, b) \
    ((gemm_vector_f) _mm512_fmadd_ps((__m512) (a), (__m512) (b), (__m512) (acc)))
#elif defined(__FMA__)
#define GEMM_FMA_d(acc, a, b) \
    ((gemm_vector_d) _mm256_fmadd_pd((__m256d) (a), (__m256d) (b), (__m256d) (acc)))
#define GEMM_FMA_f(acc, a, b) \
    ((gemm_vector_f) _mm256_fmadd_ps((__m256) (a), (__m256) (b), (__m256) (acc)))
#else
/* No fused multiply-add: the product and the sum round apart. */
#define GEMM_FMA_d(acc, a, b) ((acc) + (a) * (b))
#define GEMM_FMA_f(acc, a, b) ((acc) + (a) * (b))
#endif

/* The same for one element. */
#if defined(__AVX512F__) || defined(__FMA__)
#define GEMM_FMA_ONE_d(acc, a, b) __builtin_fma((a), (b), (acc))
#define GEMM_FMA_ONE_f(acc, a, b) __builtin_fmaf((a), (b), (acc))
#else
#define GEMM_FMA_ONE_d(acc, a, b) ((acc) + (a) * (b))
#define GEMM_FMA_ONE_f(acc, a, b) ((acc) + (a) * (b))
#endif

/* A vector with every lane x. (0 + x would not do: it is an addition,
   since 0 + -0 is +0, and it stands in the way of the loads.) */
#if defined(__AVX512F__)
#define GEMM_SPLAT_d(x) ((gemm_vector_d) _mm512_set1_pd(x))
#define GEMM_SPLAT_f(x) ((gemm_vector_f) _mm512_set1_ps(x))
#elif defined(__AVX__)
#define GEMM_SPLAT_d(x) ((gemm_vector_d) _mm256_set1_pd(x))
#define GEMM_SPLAT_f(x) ((gemm_vector_f) _mm256_set1_ps(x))
#elif defined(__x86_64__) || defined(_M_X64)
#define GEMM_SPLAT_d(x) ((gemm_vector_d) _mm_set1_pd(x))
#define GEMM_SPLAT_f(x) ((gemm_vector_f) _mm_set1_ps(x))
#else
#define GEMM_SPLAT_d(x) ((gemm_vector_d) {0} + (x))
#define GEMM_SPLAT_f(x) ((gemm_vector_f) {0} + (x))
#endif

#if defined(__GNUC__)
#define GEMM_INLINE static inline __attribute__((always_inline))
/* Hides the value of an index from the optimiser, so that it cannot see
   its loop as a copy and replace it with a call or a string move. */
#define GEMM_OPAQUE(index) __asm__("" : "+r"(index))
/* Asks for the cache line of an address that will be read soon; it reads
   nothing itself and cannot fault. */
#define GEMM_PREFETCH(address) __builtin_prefetch(address)
#else
#define GEMM_INLINE static inline
#define GEMM_OPAQUE(index) ((void) 0)
#define GEMM_PREFETCH(address) ((void) 0)
#endif

/* Calls GEMM_TILE(r, v) with the constants r = mr and v = nv, so that
   each shape of tile is compiled on its own. */
#define GEMM_CASE(r) \
    case r: \
        if (nv == 1) \
            GEMM_TILE(r, 1); \
        else if (nv == 2 || r > 2) \
            GEMM_TILE(r, 2); \
        else \
            GEMM_TILE(r, GEMM_WIDE_NV); \
        break;
#if GEMM_MR > 6
#define GEMM_WIDE_CASES \
    GEMM_CASE(7) GEMM_CASE(8) GEMM_CASE(9) GEMM_CASE(10) GEMM_CASE(11) \
    GEMM_CASE(12)
#else
#define GEMM_WIDE_CASES
#endif
#define GEMM_DISPATCH(mr, nv) \
    switch (mr) { \
        GEMM_CASE(1) GEMM_CASE(2) GEMM_CASE(3) GEMM_CASE(4) GEMM_CASE(5) \
        GEMM_CASE(6) GEMM_WIDE_CASES \
    }

/* apply(context, tile, ldc, row0, col0, rows, cols): finish the block of
   C of rows row0 .. row0 + rows and columns col0 .. col0 + cols, whose
   first element is at tile (a GEMM_T pointer), rows ldc apart. */
typedef void (*gemm_epilogue_fn)(void *context, void *tile, Py_ssize_t ldc,
                                 Py_ssize_t row0, Py_ssize_t col0,
                                 Py_ssize_t rows, Py_ssize_t cols);
/* The epilogue of a product. Where ``in_registers`` is set, a tile that
   fills its vectors is finished in registers before it is stored, by the
   steps below that are given (in this order), which must be exactly what
   ``apply`` does (it still finishes the other tiles):

     bias   C += bias (GEMM_T values, one per column of C; NULL: none);
     relu   C = C if C > 0 else +0;
     gate   C = C if gate > 0 else +0 (GEMM_T values, as C is laid out,
            rows ld_gate apart; NULL: none). */
typedef struct {
    gemm_epilogue_fn apply;
    void *context;
    int in_registers;
    const void *bias;
    int relu;
    const void *gate;
    Py_ssize_t ld_gate;
} gemm_epilogue_t;

/* The product of few columns (gemm_narrow_nn) holds rows of C in vectors
   of 4 doubles, through blocks of 4 rows x 4 steps of k of A transposed in
   registers: 8 shuffles of 256 bits a block. Measured on AMD Zen 4, whose
   512-bit shuffles take a pipe twice as long, 4 x 4 blocks transposed
   faster than 8 x 8 ones in 512 bits (24 shuffles), with the same
   multiply-adds a cycle. The double products of the AVX2 and AVX-512
   builds have it; float products, and the baseline build, take the
   tiles. */
#if defined(__AVX2__) && defined(__FMA__)
#define GEMM_NARROW_d 1
#define GEMM_NARROW_LANES_d 4
typedef double gemm_narrow_vector_d
    __attribute__((vector_size(32), aligned(sizeof(double)), may_alias));
#define GEMM_NARROW_FMA_d(acc, a, b) \
    ((gemm_narrow_vector_d) _mm256_fmadd_pd((__m256d) (a), (__m256d) (b), \
                                            (__m256d) (acc)))
#define GEMM_NARROW_SPLAT_d(x) ((gemm_narrow_vector_d) _mm256_set1_pd(x))
/* Rows become columns; it moves values and rounds nothing. The first
   stage swaps the off-diagonal 2 x 2 blocks, the second the off-diagonal
   elements of each 2 x 2 block. */
GEMM_INLINE void gemm_narrow_transpose_d(gemm_narrow_vector_d row[4])
{
    __m256d x, y;
    int r;
    for (r = 0; r < 2; r++) {
        x = (__m256d) row[r];
        y = (__m256d) row[r + 2];
        row[r] = (gemm_narrow_vector_d) _mm256_permute2f128_pd(x, y, 0x20);
        row[r + 2] = (gemm_narrow_vector_d) _mm256_permute2f128_pd(x, y, 0x31);
    }
    for (r = 0; r < 4; r += 2) {
        x = (__m256d) row[r];
        y = (__m256d) row[r + 1];
        row[r] = (gemm_narrow_vector_d) _mm256_unpacklo_pd(x, y);
        row[r + 1] = (gemm_narrow_vector_d) _mm256_unpackhi_pd(x, y);
    }
}
#else
#define GEMM_NARROW_d 0
#endif
#define GEMM_NARROW_f 0
/* Blocks of rows of a product of few columns run together, so that
   enough chains are in flight (each waits for the last multiply-add of its
   own, 4 cycles on recent cores, which start 2 a cycle) and each element
   of B is broadcast once for all: 2 blocks, or with 32 registers 4 for
   one or two columns. */
#if defined(__AVX512F__)
#define GEMM_NARROW_BLOCKS(n) ((n) <= 2 ? 4 : 2)
#define GEMM_NARROW_MAX_BLOCKS 4
#else
#define GEMM_NARROW_BLOCKS(n) 2
#define GEMM_NARROW_MAX_BLOCKS 2
#endif

#define GEMM_T double
#define GEMM_NAME(name) name##_d
#include "_gemm_impl.h"
#undef GEMM_T
#undef GEMM_NAME

#define GEMM_T float
#define GEMM_NAME(name) name##_f
#include "_gemm_impl.h"
#undef GEMM_T
#undef GEMM_NAME

#endif
