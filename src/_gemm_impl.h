/* The products of _gemm.h for one element type: included once with
   GEMM_T = double and once with GEMM_T = float, GEMM_NAME adding the
   type's suffix to each name. */

#define GEMM_LANES ((Py_ssize_t) (GEMM_VBYTES / sizeof(GEMM_T)))
#define GEMM_NR (GEMM_NV * GEMM_LANES)
/* Columns of the wider tiles of a product of one or two rows. */
#define GEMM_WIDE_NR (GEMM_WIDE_NV * GEMM_LANES)
#define GEMM_VEC GEMM_NAME(gemm_vector)
#define GEMM_MASK GEMM_NAME(gemm_mask)

/* A vector of the build's width that may sit at any element's address. */
typedef GEMM_T GEMM_VEC
    __attribute__((vector_size(GEMM_VBYTES), aligned(sizeof(GEMM_T)),
                   may_alias));
/* What comparing two such vectors gives: a lane of all ones where true. */
typedef __typeof__((GEMM_VEC) {0} > (GEMM_VEC) {0}) GEMM_MASK;

/* Lanes of x where keep holds, +0 elsewhere: an AND with the comparison's
   all-ones or all-zeros lanes, in every build. */
#define GEMM_KEEP(x, keep) ((GEMM_VEC) ((GEMM_MASK) (x) & (keep)))

/* The steps of ``fused`` (gemm_epilogue_t) on a tile's accumulators. */
GEMM_INLINE void GEMM_NAME(gemm_finish_in_registers)(
    const int mr, const int nv, GEMM_VEC acc[GEMM_WIDE_NV][GEMM_MR],
    const gemm_epilogue_t *fused, Py_ssize_t row0, Py_ssize_t col0)
{
    const GEMM_VEC zero = {0};
    const GEMM_T *bias = (const GEMM_T *) fused->bias;
    const GEMM_T *gate = (const GEMM_T *) fused->gate;
    GEMM_VEC add, g;
    int i, v;
    if (bias != NULL)
#pragma GCC unroll 4
        for (v = 0; v < nv; v++) {
            add = *(const GEMM_VEC *) (bias + col0 + v * GEMM_LANES);
#pragma GCC unroll 16
            for (i = 0; i < mr; i++)
                acc[v][i] = acc[v][i] + add;
        }
    if (fused->relu)
#pragma GCC unroll 16
        for (i = 0; i < mr; i++)
#pragma GCC unroll 4
            for (v = 0; v < nv; v++)
                acc[v][i] = GEMM_KEEP(acc[v][i], acc[v][i] > zero);
    if (gate != NULL)
#pragma GCC unroll 16
        for (i = 0; i < mr; i++)
#pragma GCC unroll 4
            for (v = 0; v < nv; v++) {
                g = *(const GEMM_VEC *) (gate + (row0 + i) * fused->ld_gate
                                         + col0 + v * GEMM_LANES);
                acc[v][i] = GEMM_KEEP(acc[v][i], g > zero);
            }
}

/* One tile of mr rows x nv vectors of columns over kc steps of k. Element
   (i, p) of op(A) is a_n[i][p] when A is not transposed (a_n: the rows of
   the tile), and a_row(p)[i] when it is (trans), where a_row(p) is row
   first + p (or rows[first + p]) of the stored A, offset to the tile's
   first column. The panel row p is panel[p * ldp ...]. With load_c the
   tile continues the chains already in c; otherwise they start from 0.
   mr, nv and trans are constants where it is called (see GEMM_DISPATCH),
   so the loops unroll and the accumulators stay in registers. With
   ``fused`` (NULL: none), the tile, whose first element is (row0, col0)
   of C, is finished in registers as it says (gemm_epilogue_t). With
   ``trans`` and gathered rows, each step asks memory for the tile's part
   of the row GEMM_AHEAD steps of k further on: the next row read lies
   anywhere, where the hardware cannot guess it, and each step reads only
   MR elements of it. */
GEMM_INLINE void GEMM_NAME(gemm_tile)(
    const int mr, const int nv, const int trans, Py_ssize_t kc,
    const GEMM_T *const *a_n, const GEMM_T *a, Py_ssize_t lda,
    const Py_ssize_t *rows, Py_ssize_t first, const GEMM_T *panel,
    Py_ssize_t ldp, GEMM_T *c, Py_ssize_t ldc, int load_c,
    const gemm_epilogue_t *fused, Py_ssize_t row0, Py_ssize_t col0)
{
    GEMM_VEC acc[GEMM_WIDE_NV][GEMM_MR], b[GEMM_WIDE_NV];
    GEMM_VEC zero = {0};
    const GEMM_T *x = NULL;
    Py_ssize_t p;
    int i, v;
#pragma GCC unroll 16
    for (i = 0; i < mr; i++)
#pragma GCC unroll 4
        for (v = 0; v < nv; v++)
            acc[v][i] = load_c ? *(const GEMM_VEC *) (c + i * ldc + v * GEMM_LANES)
                               : zero;
    for (p = 0; p < kc; p++) {
        if (trans) {
            x = a + (rows != NULL ? rows[first + p] : first + p) * lda;
            if (rows != NULL && p + GEMM_AHEAD < kc) {
                const GEMM_T *later = a + rows[first + p + GEMM_AHEAD] * lda;
                GEMM_PREFETCH(later);
                GEMM_PREFETCH(later + mr - 1);
            }
        }
#pragma GCC unroll 4
        for (v = 0; v < nv; v++)
            b[v] = *(const GEMM_VEC *) (panel + p * ldp + v * GEMM_LANES);
#pragma GCC unroll 16
        for (i = 0; i < mr; i++) {
            const GEMM_VEC ai = GEMM_NAME(GEMM_SPLAT)(trans ? x[i] : a_n[i][p]);
#pragma GCC unroll 4
            for (v = 0; v < nv; v++)
                acc[v][i] = GEMM_NAME(GEMM_FMA)(acc[v][i], ai, b[v]);
        }
    }
    if (fused != NULL)
        GEMM_NAME(gemm_finish_in_registers)(mr, nv, acc, fused, row0, col0);
#pragma GCC unroll 16
    for (i = 0; i < mr; i++)
#pragma GCC unroll 4
        for (v = 0; v < nv; v++)
            *(GEMM_VEC *) (c + i * ldc + v * GEMM_LANES) = acc[v][i];
}

/* to[0 .. n) = from[0 .. n), a vector at a time and then the last
   elements one by one: the rows copied here (a panel's, a tile's) are
   short, and the compiler would turn a plain loop, or a memcpy of a size
   it cannot see, into a string move whose start costs more than such a
   row. */
GEMM_INLINE void GEMM_NAME(gemm_copy_row)(GEMM_T *to, const GEMM_T *from,
                                          Py_ssize_t n)
{
    Py_ssize_t j = 0;
    for (; j + GEMM_LANES <= n; j += GEMM_LANES) {
        *(GEMM_VEC *) (to + j) = *(const GEMM_VEC *) (from + j);
        GEMM_OPAQUE(j);
    }
    for (; j < n; j++) {
        to[j] = from[j];
        GEMM_OPAQUE(j);
    }
}

/* Copies rows p0 .. p0 + kc of columns j0 .. j0 + nr of op(B) into the
   panel, width values a row, zero beyond nr. */
static inline void GEMM_NAME(gemm_pack_panel)(
    int trans_b, const GEMM_T *b, Py_ssize_t ldb, Py_ssize_t p0,
    Py_ssize_t kc, Py_ssize_t j0, Py_ssize_t nr, Py_ssize_t width,
    GEMM_T *panel)
{
    Py_ssize_t p, j;
    for (p = 0; p < kc; p++) {
        GEMM_T *row = panel + p * width;
        if (trans_b) {
            for (j = 0; j < nr; j++)
                row[j] = b[(j0 + j) * ldb + p0 + p];
        } else {
            GEMM_NAME(gemm_copy_row)(row, b + (p0 + p) * ldb + j0, nr);
        }
        for (j = nr; j < width; j++)
            row[j] = 0;
    }
}

static void GEMM_NAME(gemm)(
    int trans_a, int trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
    const GEMM_T *a, Py_ssize_t lda, const Py_ssize_t *a_rows,
    const GEMM_T *b, Py_ssize_t ldb, GEMM_T *c, Py_ssize_t ldc,
    int accumulate, const gemm_epilogue_t *epilogue);

/* C (+)= A.T @ B for a C of at most GEMM_MR columns (the output layer's
   weight gradient), computed as its transpose C.T (+)= B.T @ A, whose
   rows are long: one tile of n rows then fills its vectors. fma(a, b, s) is fma(b, a, s), so every
   element's chain is the same as the direct product's. */
static void GEMM_NAME(gemm_narrow_tn)(
    Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const GEMM_T *a,
    Py_ssize_t lda, const GEMM_T *b, Py_ssize_t ldb, GEMM_T *c,
    Py_ssize_t ldc, int accumulate)
{
    enum { BLOCK = 256 };
    GEMM_T transposed[GEMM_MR * BLOCK] __attribute__((aligned(64)));
    Py_ssize_t i0, mb, i, j;
    for (i0 = 0; i0 < m; i0 += BLOCK) {
        mb = m - i0 < BLOCK ? m - i0 : BLOCK;
        if (accumulate)
            for (i = 0; i < mb; i++)
                for (j = 0; j < n; j++)
                    transposed[j * mb + i] = c[(i0 + i) * ldc + j];
        GEMM_NAME(gemm)(1, 0, n, mb, k, b, ldb, NULL, a + i0, lda,
                        transposed, mb, accumulate, NULL);
        for (i = 0; i < mb; i++)
            for (j = 0; j < n; j++)
                c[(i0 + i) * ldc + j] = transposed[j * mb + i];
    }
}

/* C (+)= A @ B for a C smaller than one vector (the output layer of one
   sample): the chains element by element, without copying B into a
   panel, which would cost more than the product. */
static void GEMM_NAME(gemm_few)(
    Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const GEMM_T *a,
    Py_ssize_t lda, const Py_ssize_t *a_rows, const GEMM_T *b,
    Py_ssize_t ldb, GEMM_T *c, Py_ssize_t ldc, int accumulate)
{
    GEMM_T acc[GEMM_LANES];
    const GEMM_T *row, *b_row;
    Py_ssize_t i, j, p;
    for (i = 0; i < m; i++) {
        row = a + (a_rows != NULL ? a_rows[i] : i) * lda;
        for (j = 0; j < n; j++)
            acc[j] = accumulate ? c[i * ldc + j] : 0;
        for (p = 0; p < k; p++) {
            b_row = b + p * ldb;
            for (j = 0; j < n; j++)
                acc[j] = GEMM_NAME(GEMM_FMA_ONE)(acc[j], row[p], b_row[j]);
        }
        for (j = 0; j < n; j++)
            c[i * ldc + j] = acc[j];
    }
}

#if GEMM_NAME(GEMM_NARROW)
#define GEMM_NARROW_VEC GEMM_NAME(gemm_narrow_vector)
#define GEMM_NARROW_LANES GEMM_NAME(GEMM_NARROW_LANES)
/* Rows of C = A @ B, from the rows of A at row[0 .. nb GEMM_NARROW_LANES),
   in nb blocks of GEMM_NARROW_LANES rows, of which the last keeps its
   first ``rows``: acc[g][j] holds column j of block g, a lane a row. Each
   block of GEMM_NARROW_LANES steps of k is transposed, so that a vector
   holds one column of it, and each step multiplies that vector by one
   element of B. The chains are the tiles' (fma(a, b, s) is
   fma(b, a, s)); several blocks run together so that enough chains are in
   flight. n (< GEMM_LANES) and nb are constants where it is called, so
   that acc stays in registers. */
GEMM_INLINE void GEMM_NAME(gemm_narrow_block)(
    const int n, const int nb, Py_ssize_t k, const GEMM_T *const *row,
    int rows, const GEMM_T *b, Py_ssize_t ldb, GEMM_T *c, Py_ssize_t ldc,
    int accumulate)
{
    GEMM_NARROW_VEC acc[GEMM_NARROW_MAX_BLOCKS][GEMM_LANES - 1];
    GEMM_NARROW_VEC block[GEMM_NARROW_MAX_BLOCKS][GEMM_NARROW_LANES];
    GEMM_NARROW_VEC splat;
    Py_ssize_t p0 = 0, p;
    int g, q, j, r, kept;
#pragma GCC unroll 4
    for (g = 0; g < nb; g++) {
        kept = g < nb - 1 ? GEMM_NARROW_LANES : rows;
#pragma GCC unroll 16
        for (j = 0; j < n; j++)
#pragma GCC unroll 16
            for (r = 0; r < GEMM_NARROW_LANES; r++)
                acc[g][j][r] = accumulate && r < kept
                                   ? c[(g * GEMM_NARROW_LANES + r) * ldc + j]
                                   : 0;
    }
    for (; p0 + GEMM_NARROW_LANES <= k; p0 += GEMM_NARROW_LANES) {
#pragma GCC unroll 4
        for (g = 0; g < nb; g++) {
#pragma GCC unroll 16
            for (r = 0; r < GEMM_NARROW_LANES; r++)
                block[g][r] = *(const GEMM_NARROW_VEC *) (
                    row[g * GEMM_NARROW_LANES + r] + p0);
            GEMM_NAME(gemm_narrow_transpose)(block[g]);
        }
        /* Each element of B is broadcast once for all the blocks. */
#pragma GCC unroll 16
        for (q = 0; q < GEMM_NARROW_LANES; q++)
#pragma GCC unroll 16
            for (j = 0; j < n; j++) {
                splat = GEMM_NAME(GEMM_NARROW_SPLAT)(b[(p0 + q) * ldb + j]);
#pragma GCC unroll 4
                for (g = 0; g < nb; g++)
                    acc[g][j] = GEMM_NAME(GEMM_NARROW_FMA)(acc[g][j],
                                                           block[g][q], splat);
            }
    }
    for (p = p0; p < k; p++) {
#pragma GCC unroll 4
        for (g = 0; g < nb; g++)
#pragma GCC unroll 16
            for (r = 0; r < GEMM_NARROW_LANES; r++)
                block[g][0][r] = row[g * GEMM_NARROW_LANES + r][p];
#pragma GCC unroll 16
        for (j = 0; j < n; j++) {
            splat = GEMM_NAME(GEMM_NARROW_SPLAT)(b[p * ldb + j]);
#pragma GCC unroll 4
            for (g = 0; g < nb; g++)
                acc[g][j] = GEMM_NAME(GEMM_NARROW_FMA)(acc[g][j], block[g][0],
                                                       splat);
        }
    }
#pragma GCC unroll 4
    for (g = 0; g < nb; g++) {
        kept = g < nb - 1 ? GEMM_NARROW_LANES : rows;
#pragma GCC unroll 16
        for (j = 0; j < n; j++)
            for (r = 0; r < kept; r++)
                c[(g * GEMM_NARROW_LANES + r) * ldc + j] = acc[g][j][r];
    }
}

/* C (+)= A @ B for a C of fewer columns than a vector of the tiles, a
   vector of C holding a column of GEMM_NARROW_LANES rows instead: every
   lane does work, where a tile would fill n of its lanes. Blocks of rows
   run GEMM_NARROW_BLOCKS(n) at a time, then one at a time; a block cut
   short reads its last row again and keeps the lanes it has. */
static void GEMM_NAME(gemm_narrow_nn)(
    Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, const GEMM_T *a,
    Py_ssize_t lda, const Py_ssize_t *a_rows, const GEMM_T *b,
    Py_ssize_t ldb, GEMM_T *c, Py_ssize_t ldc, int accumulate)
{
    const GEMM_T *row[GEMM_NARROW_MAX_BLOCKS * GEMM_NARROW_LANES];
    const int together = GEMM_NARROW_BLOCKS(n);
    Py_ssize_t i0, i, step;
    int r, nb, rows;
    for (i0 = 0; i0 < m; i0 += step) {
        nb = m - i0 >= together * GEMM_NARROW_LANES ? together : 1;
        step = nb * GEMM_NARROW_LANES;
        rows = (int) (m - i0 < step ? m - i0 : GEMM_NARROW_LANES);
        for (r = 0; r < nb * GEMM_NARROW_LANES; r++) {
            i = i0 + (i0 + r < m ? r : m - 1 - i0);
            row[r] = a + (a_rows != NULL ? a_rows[i] : i) * lda;
        }
#define GEMM_NARROW_CASE(w) \
        case w: \
            if (nb > 1) \
                GEMM_NAME(gemm_narrow_block)(w, GEMM_NARROW_BLOCKS(w), k, row, \
                                             GEMM_NARROW_LANES, b, ldb, \
                                             c + i0 * ldc, ldc, accumulate); \
            else \
                GEMM_NAME(gemm_narrow_block)(w, 1, k, row, rows, b, ldb, \
                                             c + i0 * ldc, ldc, accumulate); \
            break;
        switch (n) {
        GEMM_NARROW_CASE(1) GEMM_NARROW_CASE(2) GEMM_NARROW_CASE(3)
#if GEMM_VBYTES > 32  /* more than 4 doubles a vector: up to 7 columns left */
        GEMM_NARROW_CASE(4) GEMM_NARROW_CASE(5) GEMM_NARROW_CASE(6)
        GEMM_NARROW_CASE(7)
#endif
        }
#undef GEMM_NARROW_CASE
    }
}
#undef GEMM_NARROW_VEC
#undef GEMM_NARROW_LANES
#endif

/* The tiled product of gemm (below), for k > 0. */
static void GEMM_NAME(gemm_tiles)(
    int trans_a, int trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
    const GEMM_T *a, Py_ssize_t lda, const Py_ssize_t *a_rows,
    const GEMM_T *b, Py_ssize_t ldb, GEMM_T *c, Py_ssize_t ldc,
    int accumulate, const gemm_epilogue_t *epilogue)
{
    GEMM_T panel[GEMM_KC * GEMM_WIDE_NR] __attribute__((aligned(64)));
    GEMM_T scratch[GEMM_MR * GEMM_WIDE_NR] __attribute__((aligned(64)));
    /* One or two rows take tiles of up to GEMM_WIDE_NV vectors: more
       chains in flight, where GEMM_NV would leave the multiply-adds
       waiting on each other. */
    const Py_ssize_t step = m <= 2 ? GEMM_WIDE_NR : GEMM_NR;
    const GEMM_T *a_n[GEMM_MR];
    Py_ssize_t p0, kc, j0, nr, i0, i, ldt, ldp, width;
    const GEMM_T *bp;
    int mr, nv, load_c;
    GEMM_T *tile;
    /* The epilogue done in registers, on the tiles that may take it. */
    const gemm_epilogue_t *fused;

    for (p0 = 0; p0 < k; p0 += GEMM_KC) {
        kc = k - p0 < GEMM_KC ? k - p0 : GEMM_KC;
        load_c = accumulate || p0 > 0;
        for (j0 = 0; j0 < n; j0 += step) {
            nr = n - j0 < step ? n - j0 : step;
            /* The last columns, if one vector holds them, take tiles one
               vector wide. */
            nv = nr <= GEMM_LANES ? 1 : nr <= 2 * GEMM_LANES ? 2 : GEMM_WIDE_NV;
            width = nv * GEMM_LANES;
            /* A full panel of a row-major B whose rows start on cache
               lines is read where it lies, and so is any that one tile of
               rows reads; others are copied (a panel row across three lines
               costs more than the copy, if tiles share it). */
            if (!trans_b && nr == width
                && (m <= GEMM_MR
                    || ((ldb * sizeof(GEMM_T)) % 64 == 0
                        && (uintptr_t) (b + p0 * ldb + j0) % 64 == 0))) {
                bp = b + p0 * ldb + j0;
                ldp = ldb;
            } else {
                GEMM_NAME(gemm_pack_panel)(trans_b, b, ldb, p0, kc, j0, nr,
                                           width, panel);
                bp = panel;
                ldp = width;
            }
            fused = epilogue != NULL && epilogue->in_registers
                    && p0 + kc == k && nr == width ? epilogue : NULL;
            for (i0 = 0; i0 < m; i0 += GEMM_MR) {
                mr = (int) (m - i0 < GEMM_MR ? m - i0 : GEMM_MR);
                /* A tile cut short by the last columns runs in scratch. */
                tile = c + i0 * ldc + j0;
                ldt = ldc;
                if (nr < width) {
                    tile = scratch;
                    ldt = GEMM_WIDE_NR;
                    /* The padding is zeroed only when the tile reads it. */
                    if (load_c)
                        for (i = 0; i < mr; i++) {
                            GEMM_NAME(gemm_copy_row)(scratch + i * GEMM_WIDE_NR,
                                                     c + (i0 + i) * ldc + j0, nr);
                            memset(scratch + i * GEMM_WIDE_NR + nr, 0,
                                   (width - nr) * sizeof(GEMM_T));
                        }
                }
                if (!trans_a)
                    for (i = 0; i < mr; i++)
                        a_n[i] = a + (a_rows != NULL ? a_rows[i0 + i] : i0 + i) * lda + p0;
#define GEMM_TILE(r, v) \
    do { \
        if (trans_a) \
            GEMM_NAME(gemm_tile)(r, v, 1, kc, NULL, a + i0, lda, a_rows, p0, \
                                 bp, ldp, tile, ldt, load_c, fused, i0, j0); \
        else \
            GEMM_NAME(gemm_tile)(r, v, 0, kc, a_n, NULL, 0, NULL, 0, bp, ldp, \
                                 tile, ldt, load_c, fused, i0, j0); \
    } while (0)
                GEMM_DISPATCH(mr, nv)
#undef GEMM_TILE
                if (nr < width)
                    for (i = 0; i < mr; i++)
                        GEMM_NAME(gemm_copy_row)(c + (i0 + i) * ldc + j0,
                                                 scratch + i * GEMM_WIDE_NR, nr);
                if (epilogue != NULL && p0 + kc == k && fused == NULL)
                    epilogue->apply(epilogue->context, c + i0 * ldc + j0, ldc,
                                    i0, j0, mr, nr);
            }
        }
    }
}

/* C (+)= op(A) @ op(B), row-major, C of shape (m, n), over k terms.

   op(A) is A (trans_a = 0: row i at a + r(i) * lda) or A transposed
   (trans_a = 1: column p of op(A) is the stored row r(p) at a + r(p) * lda),
   where r(i) = a_rows[i], or i when a_rows is NULL: the rows of the
   samples, gathered where they lie. op(B) is B (k x n, row stride ldb) or
   B transposed (B stored n x k). accumulate: add to C instead of
   overwriting it. epilogue (NULL: none) finishes each tile of C once its
   sums are complete, or all of C at once on the paths without tiles. */
static void GEMM_NAME(gemm)(
    int trans_a, int trans_b, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
    const GEMM_T *a, Py_ssize_t lda, const Py_ssize_t *a_rows,
    const GEMM_T *b, Py_ssize_t ldb, GEMM_T *c, Py_ssize_t ldc,
    int accumulate, const gemm_epilogue_t *epilogue)
{
    Py_ssize_t i;
    if (m <= 0 || n <= 0)
        return;
    if (trans_a && !trans_b && a_rows == NULL && n <= GEMM_MR
        && m >= 2 * GEMM_LANES && k > 0) {
        GEMM_NAME(gemm_narrow_tn)(m, n, k, a, lda, b, ldb, c, ldc, accumulate);
    } else if (!trans_a && !trans_b && m <= 2 && n < GEMM_LANES && k > 0) {
        GEMM_NAME(gemm_few)(m, n, k, a, lda, a_rows, b, ldb, c, ldc, accumulate);
#if GEMM_NAME(GEMM_NARROW)
    } else if (!trans_a && !trans_b && n % GEMM_LANES != 0
               && n % GEMM_NR < GEMM_LANES
               && m >= GEMM_NAME(GEMM_NARROW_LANES) && k > 0) {
        /* The columns that fill whole vectors take the tiles (and their
           finish), the last ones rows in vectors; unless the last panel
           is more than half full (see _gemm.h). */
        Py_ssize_t whole = n - n % GEMM_LANES;
        if (whole > 0)
            GEMM_NAME(gemm_tiles)(0, 0, m, whole, k, a, lda, a_rows, b, ldb,
                                  c, ldc, accumulate, epilogue);
        GEMM_NAME(gemm_narrow_nn)(m, n - whole, k, a, lda, a_rows, b + whole,
                                  ldb, c + whole, ldc, accumulate);
        if (epilogue != NULL)
            epilogue->apply(epilogue->context, c + whole, ldc, 0, whole, m,
                            n - whole);
        return;
#endif
    } else if (k <= 0) {
        if (!accumulate)
            for (i = 0; i < m; i++)
                memset(c + i * ldc, 0, n * sizeof(GEMM_T));
    } else {
        GEMM_NAME(gemm_tiles)(trans_a, trans_b, m, n, k, a, lda, a_rows, b,
                              ldb, c, ldc, accumulate, epilogue);
        return;
    }
    if (epilogue != NULL)
        epilogue->apply(epilogue->context, c, ldc, 0, 0, m, n);
}

#undef GEMM_LANES
#undef GEMM_NR
#undef GEMM_WIDE_NR
#undef GEMM_VEC
#undef GEMM_MASK
#undef GEMM_KEEP
