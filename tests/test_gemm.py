"""The project's own matrix product against numpy and against the exact
chain of operations it promises.

Each element of C must be one chain over k = 0, 1, ... in that order:
fused multiply-adds in the builds from AVX2 up (x86-64-v3 has FMA), a
rounded product then a rounded sum in the baseline build. The exact
references are computed with Python floats and fractions, independently of
any vector width; the loose ones with numpy in float64.
"""

import platform
from fractions import Fraction

import numpy as np
import pytest

from sklearn_twolayer._dispatch import BUILDS, runnable_builds
from sklearn_twolayer._registry import ACTIVATION_CODES

BUILD_NAMES = runnable_builds()
# The builds for an x86-64 level (v3 and up) have fused multiply-add.
FUSED = [name for name in BUILD_NAMES if BUILDS[name][1] is not None]
DTYPES = [np.float32, np.float64]
# (m, n, k): tiles cut short in rows (6 and 12 rows a tile) and columns
# (8 to 32 a tile), k beyond one block of 256 steps, and a single row.
# With A transposed, a C of at most 6 or 12 columns and at least 16 or 32
# rows is computed as its transpose: (70, 5, 300) and (40, 10, 60). One or
# two rows take wider tiles, or element by element when C is narrower
# than a vector: (2, 100, 40), (2, 3, 130). In float64 from AVX2 up, the
# columns of A @ B beyond whole vectors hold rows in their vectors, through
# transposed blocks of A, with rows and k cut short: (37, 1, 131) (blocks
# of rows four at a time), (21, 18, 77), (40, 3, 17) (two at a time); not
# when the last panel of tiles is more than half full: (21, 10, 77) in
# AVX-512 (in AVX2, rows in vectors again).
SHAPES = [
    (1, 1, 1),
    (2, 100, 40),
    (2, 3, 130),
    (13, 37, 300),
    (25, 70, 5),
    (7, 100, 600),
    (1, 256, 784),
    (70, 5, 300),
    (40, 10, 60),
    (37, 1, 131),
    (21, 10, 77),
    (21, 18, 77),
    (40, 3, 17),
]
RTOL = {np.float32: 5e-6, np.float64: 1e-14}
# The three products of training: A @ B, A.T @ B, A @ B.T.
TRANSPOSES = [(False, False), (True, False), (False, True)]


def operands(m, n, k, dtype, trans_a, trans_b, gather, seed=0):
    """A, B as stored, the rows read from A (or None), and op(A), op(B) in
    float64."""
    rng = np.random.default_rng(seed)
    n_read = k if trans_a else m
    rows = None
    stored = n_read
    if gather:
        stored = n_read + 5
        rows = rng.integers(0, stored, size=n_read).astype(np.intp)
    A = rng.standard_normal((stored, m if trans_a else k)).astype(dtype)
    B = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
    read = A if rows is None else A[rows]
    op_a = (read.T if trans_a else read).astype(np.float64)
    op_b = (B.T if trans_b else B).astype(np.float64)
    return A, B, rows, op_a, op_b


@pytest.mark.parametrize("build", BUILD_NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a", [False, True])
@pytest.mark.parametrize("trans_b", [False, True])
@pytest.mark.parametrize("gather", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_product_matches_numpy(
    probes_of, build, dtype, trans_a, trans_b, gather, shape
):
    m, n, k = shape
    A, B, rows, op_a, op_b = operands(m, n, k, dtype, trans_a, trans_b, gather)
    # The round-off of a k-term sum is bounded by k eps sum |a b|.
    bound = k * RTOL[dtype] * (np.abs(op_a) @ np.abs(op_b)) + 1e-30
    C = np.full((m, n), np.nan, dtype=dtype)
    probes_of(build).matmul(A, B, C, trans_a, trans_b, rows)
    assert np.all(np.abs(C - op_a @ op_b) <= bound)
    # Accumulating adds the product to what C holds.
    start = np.random.default_rng(1).standard_normal((m, n)).astype(dtype)
    C = start.copy()
    probes_of(build).matmul(A, B, C, trans_a, trans_b, rows, accumulate=True)
    bound += (k + 1) * RTOL[dtype] * np.abs(start)
    assert np.all(np.abs(C - (start + op_a @ op_b)) <= bound)


def _fused_chain(a, b):
    # Each step rounds once: the exact a * b + s, rounded to a float.
    s = 0.0
    for x, y in zip(a, b):
        s = float(Fraction(x) * Fraction(y) + Fraction(s))
    return s


def _unfused_chain(a, b):
    # Python floats round the product and then the sum.
    s = 0.0
    for x, y in zip(a, b):
        s = s + x * y
    return s


@pytest.mark.parametrize("build", BUILD_NAMES)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
@pytest.mark.parametrize(
    "shape,gather",
    [
        ((13, 19, 300), True),
        ((40, 5, 60), False),
        ((2, 3, 130), True),
        ((37, 1, 131), True),
        ((21, 10, 77), False),
        ((40, 3, 17), True),
    ],
    ids=str,
)
def test_each_element_is_one_chain_in_the_order_of_k(
    probes_of, build, trans_a, trans_b, shape, gather
):
    if build not in FUSED and platform.machine() not in ("x86_64", "AMD64"):
        pytest.skip("the baseline build of other architectures may fuse")
    chain = _fused_chain if build in FUSED else _unfused_chain
    m, n, k = shape
    A, B, rows, op_a, op_b = operands(m, n, k, np.float64, trans_a, trans_b, gather)
    C = np.empty((m, n))
    probes_of(build).matmul(A, B, C, trans_a, trans_b, rows)
    expected = np.array(
        [[chain(op_a[i], op_b[:, j]) for j in range(n)] for i in range(m)]
    )
    np.testing.assert_array_equal(C, expected)


@pytest.mark.parametrize("build", BUILD_NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("split", [1, 256, 300])
def test_a_product_continued_over_more_terms_is_the_whole_product(
    probes_of, build, dtype, split
):
    # Accumulating continues each element's chain: the product over the
    # first terms, then the rest added, is bitwise the product at once.
    m, n, k = 9, 40, 600
    A, B, _, _, _ = operands(m, n, k, dtype, False, False, False)
    whole = np.empty((m, n), dtype=dtype)
    probes_of(build).matmul(A, B, whole)
    parts = np.empty((m, n), dtype=dtype)
    probes_of(build).matmul(np.ascontiguousarray(A[:, :split]), B[:split], parts)
    probes_of(build).matmul(
        np.ascontiguousarray(A[:, split:]), B[split:], parts, accumulate=True
    )
    np.testing.assert_array_equal(parts, whole)


@pytest.mark.skipif(len(FUSED) < 2, reason="needs two builds with fused multiply-add")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trans_a,trans_b", TRANSPOSES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_every_build_with_fused_multiply_add_gives_the_same_bits(
    probes_of, dtype, trans_a, trans_b, shape
):
    m, n, k = shape
    A, B, rows, _, _ = operands(m, n, k, dtype, trans_a, trans_b, True)
    results = []
    for build in FUSED:
        C = np.empty((m, n), dtype=dtype)
        probes_of(build).matmul(A, B, C, trans_a, trans_b, rows)
        results.append(C)
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


@pytest.mark.parametrize("build", BUILD_NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("activation", sorted(ACTIVATION_CODES))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_a_layer_finished_tile_by_tile_is_the_product_then_its_activation(
    probes_of, build, dtype, activation, shape
):
    # The layer's bias and activation run on each tile of the product as it
    # is finished: bit for bit what a pass over the whole product gives.
    m, n, k = shape
    X, W, _, _, _ = operands(m, n, k, dtype, False, False, False)
    b = np.random.default_rng(1).standard_normal(n).astype(dtype)
    probes = probes_of(build)
    code = ACTIVATION_CODES[activation]
    fused = np.empty((m, n), dtype=dtype)
    probes.forward_layer(X, W, b, fused, code, 1)
    expected = np.empty((m, n), dtype=dtype)
    probes.matmul(X, W, expected)
    expected += b
    probes.output_activation(expected, code, 1)
    np.testing.assert_array_equal(fused, expected)


@pytest.mark.parametrize("build", BUILD_NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_a_relu_delta_finished_tile_by_tile_is_the_product_kept_where_active(
    probes_of, build, dtype, shape
):
    # The hidden delta of ReLU is kept where A1 > 0 and zeroed elsewhere on
    # each tile as it is finished (in registers where the tile fills its
    # vectors): bit for bit the product, then that selection.
    m, n, k = shape
    rng = np.random.default_rng(2)
    delta_out = rng.standard_normal((m, k)).astype(dtype)
    W_out = rng.standard_normal((n, k)).astype(dtype)
    A_hidden = np.maximum(rng.standard_normal((m, n)), 0).astype(dtype)
    probes = probes_of(build)
    fused = np.empty((m, n), dtype=dtype)
    probes.hidden_delta(delta_out, W_out, A_hidden, fused, ACTIVATION_CODES["relu"], 1)
    product = np.empty((m, n), dtype=dtype)
    probes.matmul(delta_out, W_out, product, trans_b=True)
    np.testing.assert_array_equal(fused, np.where(A_hidden > 0, product, 0))


@pytest.mark.parametrize("build", BUILD_NAMES)
def test_an_empty_sum_is_zero_and_adds_nothing(probes_of, build):
    A = np.empty((4, 0))
    B = np.empty((0, 3))
    C = np.full((4, 3), 7.0)
    probes_of(build).matmul(A, B, C, accumulate=True)
    np.testing.assert_array_equal(C, 7.0)
    probes_of(build).matmul(A, B, C)
    np.testing.assert_array_equal(C, 0.0)


@pytest.mark.parametrize("build", BUILD_NAMES)
def test_bad_shapes_and_rows_are_refused(probes_of, build):
    matmul = probes_of(build).matmul
    A, B, C = np.ones((3, 4)), np.ones((4, 5)), np.empty((3, 5))
    with pytest.raises(ValueError, match="C's rows"):
        matmul(A, B, np.empty((2, 5)))
    with pytest.raises(ValueError, match="op\\(A\\)'s columns"):
        matmul(A, np.ones((3, 5)), C)
    with pytest.raises(ValueError, match="C's columns"):
        matmul(A, B, np.empty((3, 6)))
    with pytest.raises(ValueError, match="index rows"):
        matmul(A, B, C, rows=np.array([0, 1, 3], dtype=np.intp))
