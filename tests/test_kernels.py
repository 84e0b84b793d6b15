"""The Cython/OpenMP kernels against plain-numpy versions of their equations.

Every kernel is checked for float32 and float64, on one and two threads, on
shapes that span several fixed blocks (ROW_BLOCK=64 rows, UNIT_BLOCK=32
units, FLAT_BLOCK=4096 elements) with a ragged last block, and on one row.
The references are computed in float64 from the very inputs the kernel got.
The kernels also promise results that are bitwise the same for any thread
count, since their blocks depend on the shapes only.
"""

import numpy as np
import pytest
from scipy.special import expit, ndtr
from threadpoolctl import threadpool_limits

from sklearn_twolayer._registry import (
    ACTIVATION_CODES,
    CLASSIFIER_LOSSES,
    HIDDEN_ACTIVATIONS,
    LOSS_CODES,
)

# Built for the tests only (see test_installed_distribution.py).
probes = pytest.importorskip("sklearn_twolayer._kernel_probes")
forward_layer = probes.forward_layer
output_activation = probes.output_activation
output_delta = probes.output_delta
hidden_delta = probes.hidden_delta
layer_gradients = probes.layer_gradients
sgd_update = probes.sgd_update
adam_update = probes.adam_update

DTYPES = [np.float32, np.float64]
THREADS = [1, 2]
# (n_rows, n_in, n_out): 150 rows = 64 + 64 + 22 and 200 = 3 * 64 + 8 row
# blocks; 70 units = 32 + 32 + 6 and 45 = 32 + 13 unit blocks.
SHAPES = [(150, 70, 45), (200, 70, 45), (1, 70, 45)]
SHAPE_IDS = ["150x70x45", "200x70x45", "1x70x45"]
# 10000 = 2 * 4096 + 1808 flat elements.
FLAT_SIZES = [10000, 1]
# Hidden activations whose g'(Z) is no function of g(Z): backpropagation
# takes the derivative the forward pass wrote.
NEEDS_DERIVATIVE = {"gelu", "silu"}
OUTPUT_ACTIVATIONS = ["softmax", "logistic"]
# Losses of softmax and logistic outputs (CLASSIFIER_LOSSES); the
# regression losses are tested in test_regression_losses.py.
RTOL = {np.float32: 1e-5, np.float64: 1e-12}


@pytest.fixture(autouse=True)
def single_threaded_blas():
    # The kernels call BLAS from their OpenMP threads; as in the estimator,
    # BLAS itself runs on one thread meanwhile.
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# ----------------------------------------------------------------------------
# Helpers: data and numpy references (all references work in float64)
# ----------------------------------------------------------------------------


def assert_matches(actual, expected, dtype, scale=1.0):
    """|actual - expected| <= rtol * (|expected| + scale), elementwise.

    ``scale`` is the typical magnitude of the terms the kernel summed (about
    one for the data built here), the slack that entries cancelling to near
    zero need: rtol * scale is 1e-12 in float64.
    """
    rtol = RTOL[dtype]
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale)


def in_precision(value, dtype):
    """A hyperparameter as the kernels use it: rounded to the data's dtype.

    (In float32, 1 - 0.999 becomes 1 - 0.99900001, off by 1.3e-5 relative.)
    """
    return float(dtype(value))


def f64(array):
    return np.asarray(array, dtype=np.float64)


def layer_data(shape, dtype, seed=0):
    """X, W, b with X @ W + b of order one."""
    n_rows, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_in)).astype(dtype)
    W = (rng.standard_normal((n_in, n_out)) / np.sqrt(n_in)).astype(dtype)
    b = (0.5 * rng.standard_normal(n_out)).astype(dtype)
    return X, W, b


def np_softmax(Z):
    shifted = Z - Z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def np_activation(Z, name):
    Z = f64(Z)
    if name == "identity":
        return Z
    if name == "relu":
        return np.maximum(Z, 0)
    if name == "logistic":
        with np.errstate(over="ignore"):
            return 1 / (1 + np.exp(-Z))
    if name == "tanh":
        return np.tanh(Z)
    if name == "leaky_relu":
        return np.where(Z > 0, Z, 0.01 * Z)
    if name == "gelu":
        return Z * ndtr(Z)
    if name == "silu":
        return Z * expit(Z)
    if name == "softmax":
        return np_softmax(Z)
    if name == "exp":
        return np.exp(Z)
    raise ValueError(name)


def np_derivative(Z, name):
    """g'(Z), from Z."""
    Z = f64(Z)
    if name == "identity":
        return np.ones_like(Z)
    if name == "relu":
        return (Z > 0).astype(np.float64)
    if name == "leaky_relu":
        return np.where(Z > 0, 1.0, 0.01)
    if name == "logistic":
        return expit(Z) * expit(-Z)
    if name == "tanh":
        return 1 / np.cosh(Z) ** 2
    if name == "gelu":
        return ndtr(Z) + Z * np.exp(-(Z**2) / 2) / np.sqrt(2 * np.pi)
    if name == "silu":
        return expit(Z) * (1 + Z * expit(-Z))
    raise ValueError(name)


def np_derivative_from_output(A, name):
    """g'(Z) written with A = g(Z)."""
    A = f64(A)
    if name == "identity":
        return np.ones_like(A)
    if name == "relu":
        return (A > 0).astype(np.float64)
    if name == "logistic":
        return A * (1 - A)
    if name == "tanh":
        return 1 - A**2
    if name == "leaky_relu":
        return np.where(A > 0, 1.0, 0.01)
    raise ValueError(name)


def np_forward(X, W, b, name):
    return np_activation(f64(X) @ f64(W) + f64(b), name)


def np_output_delta(A, Y, out_activation, loss, eps):
    A, Y = f64(A), f64(Y)
    if loss == "log_loss":
        delta = A - Y
        P = np.clip(A, eps, 1 - eps)
        if out_activation == "softmax":
            loss_sum = -np.sum(Y * np.log(P))
        else:
            loss_sum = -np.sum(Y * np.log(P) + (1 - Y) * np.log(1 - P))
    else:
        loss_sum = 0.5 * np.sum((A - Y) ** 2)
        if out_activation == "softmax":
            # Eq. (12): the softmax Jacobian applied to dL/dA = A - Y.
            AD = A * (A - Y)
            delta = AD - A * AD.sum(axis=1, keepdims=True)
        else:
            delta = (A - Y) * A * (1 - A)
    return delta, loss_sum


def np_hidden_delta(delta_out, W_out, A_hidden, name, derivative=None):
    """(delta_out @ W_out.T) * g'(Z1), g'(Z1) given, or read off A_hidden."""
    if derivative is None:
        derivative = np_derivative_from_output(A_hidden, name)
    return (f64(delta_out) @ f64(W_out).T) * f64(derivative)


def np_layer_gradients(A_in, delta, W, alpha, divisor):
    A_in, delta, W = f64(A_in), f64(delta), f64(W)
    grad_W = (A_in.T @ delta + alpha * W) / divisor
    grad_b = delta.sum(axis=0) / divisor
    # The squared norm only feeds the L2 term, so it is 0 when alpha is.
    return grad_W, grad_b, np.sum(W**2) if alpha else 0.0


def np_sgd(params, grads, velocity, lr, momentum, nesterov):
    params, grads, velocity = f64(params), f64(grads), f64(velocity)
    velocity = momentum * velocity - lr * grads
    if nesterov:
        params = params + momentum * velocity - lr * grads
    else:
        params = params + velocity
    return params, velocity


def np_adam(params, grads, m, v, lr_t, beta_1, beta_2, eps):
    params, grads, m, v = f64(params), f64(grads), f64(m), f64(v)
    m = beta_1 * m + (1 - beta_1) * grads
    v = beta_2 * v + (1 - beta_2) * grads**2
    params = params - lr_t * m / (np.sqrt(v) + eps)
    return params, m, v


def output_data(n_rows, n_out, out_activation, dtype, seed=0):
    """Valid output activations A and matching targets Y."""
    rng = np.random.default_rng(seed)
    logits = 2 * rng.standard_normal((n_rows, n_out))
    if out_activation == "softmax":
        A = np_softmax(logits)
        Y = np.eye(n_out)[rng.integers(n_out, size=n_rows)]
    else:
        A = 1 / (1 + np.exp(-logits))
        Y = rng.integers(2, size=(n_rows, n_out)).astype(np.float64)
    return A.astype(dtype), Y.astype(dtype)


def hidden_data(shape, activation, dtype, seed=0):
    """delta_out, W_out of shape (n_hidden, n_out), A_hidden = g(Z1) and,
    for the activations that need it, the derivative g'(Z1) (else None)."""
    n_rows, n_hidden, n_out = shape
    rng = np.random.default_rng(seed)
    delta_out = rng.standard_normal((n_rows, n_out)).astype(dtype)
    W_out = (rng.standard_normal((n_hidden, n_out)) / np.sqrt(n_out)).astype(dtype)
    Z = 2 * rng.standard_normal((n_rows, n_hidden))
    A_hidden = np_activation(Z, activation).astype(dtype)
    derivative = None
    if activation in NEEDS_DERIVATIVE:
        derivative = np_derivative(Z, activation).astype(dtype)
    return delta_out, W_out, A_hidden, derivative


def gradient_data(shape, dtype, seed=0):
    """A_in, delta and W with entries of order one."""
    n_rows, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    A_in = rng.standard_normal((n_rows, n_in)).astype(dtype)
    delta = rng.standard_normal((n_rows, n_out)).astype(dtype)
    W = rng.standard_normal((n_in, n_out)).astype(dtype)
    return A_in, delta, W


def flat_data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    params, grads, velocity = rng.standard_normal((3, n)).astype(dtype)
    return params, grads, velocity


# ----------------------------------------------------------------------------
# Runners: call a kernel on fresh output buffers and return what it produced
# ----------------------------------------------------------------------------


def run_forward(X, W, b, activation, n_threads):
    out = np.full((X.shape[0], W.shape[1]), np.nan, dtype=X.dtype)
    assert forward_layer(X, W, b, out, ACTIVATION_CODES[activation], n_threads) is None
    return out


def run_forward_with_derivative(X, W, b, activation, n_threads):
    out = np.full((X.shape[0], W.shape[1]), np.nan, dtype=X.dtype)
    derivative = np.full_like(out, np.nan)
    forward_layer(X, W, b, out, ACTIVATION_CODES[activation], n_threads, derivative)
    return out, derivative


def run_output_activation(Z, activation, n_threads):
    Z = Z.copy()
    output_activation(Z, ACTIVATION_CODES[activation], n_threads)
    return Z


def run_output_delta(A, Y, out_activation, loss, n_threads):
    delta = np.full_like(A, np.nan)
    loss_sum = output_delta(
        A, Y, delta, ACTIVATION_CODES[out_activation], LOSS_CODES[loss], n_threads
    )
    return delta, loss_sum


def run_hidden_delta(delta_out, W_out, A_hidden, derivative, activation, n_threads):
    delta_hidden = np.full(A_hidden.shape, np.nan, dtype=A_hidden.dtype)
    hidden_delta(
        delta_out,
        W_out,
        A_hidden,
        delta_hidden,
        ACTIVATION_CODES[activation],
        n_threads,
        derivative,
    )
    return delta_hidden


def run_layer_gradients(A_in, delta, W, alpha, divisor, n_threads):
    grad_W = np.full_like(W, np.nan)
    grad_b = np.full(W.shape[1], np.nan, dtype=W.dtype)
    squares = layer_gradients(A_in, delta, W, grad_W, grad_b, alpha, divisor, n_threads)
    return grad_W, grad_b, squares


def run_sgd(params, grads, velocity, lr, momentum, nesterov, n_threads):
    params, velocity = params.copy(), velocity.copy()
    sgd_update(params, grads, velocity, lr, momentum, nesterov, n_threads)
    return params, velocity


def run_adam(params, grads, m, v, lr_t, beta_1, beta_2, eps, n_threads):
    params, m, v = params.copy(), m.copy(), v.copy()
    adam_update(params, grads, m, v, lr_t, beta_1, beta_2, eps, n_threads)
    return params, m, v


def adam_data(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    params, grads, m = rng.standard_normal((3, n))
    v = rng.standard_normal(n) ** 2
    # Some fresh moments, as at the first step.
    m[::7] = 0
    v[::7] = 0
    return (a.astype(dtype) for a in (params, grads, m, v))


ADAM_HYPER = dict(lr_t=1e-3, beta_1=0.9, beta_2=0.999, eps=1e-8)


# ----------------------------------------------------------------------------
# 1. forward_layer
# ----------------------------------------------------------------------------


def test_activation_table_lists_every_activation():
    assert set(ACTIVATION_CODES) == set(HIDDEN_ACTIVATIONS) | {"softmax", "exp"}
    assert len(set(ACTIVATION_CODES.values())) == len(ACTIVATION_CODES)


@pytest.mark.parametrize("activation", sorted(ACTIVATION_CODES))
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_layer_matches_numpy(dtype, n_threads, shape, activation):
    X, W, b = layer_data(shape, dtype)
    out = run_forward(X, W, b, activation, n_threads)
    assert out.dtype == dtype
    assert_matches(out, np_forward(X, W, b, activation), dtype)
    if activation == "softmax":
        assert_matches(out.sum(axis=1), np.ones(shape[0]), dtype)


def large_logits(n_rows, n_out, dtype, seed=0):
    """Logits of order 1e4 with ties, a constant row and +-1e4 extremes."""
    rng = np.random.default_rng(seed)
    Z = rng.uniform(-1e4, 1e4, size=(n_rows, n_out))
    Z[0] = 1e4
    Z[1, :] = -1e4
    Z[1, 0] = 1e4
    Z[2, :2] = Z[2].max() + 50  # two tied maxima, well above the rest
    Z[3] = -1e4
    return Z.astype(dtype)


@pytest.mark.parametrize("activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_layer_large_logits_stay_finite(dtype, n_threads, activation):
    # W = I and b = 0, so the kernel's logits are exactly the given ones.
    Z = large_logits(150, 45, dtype)
    W = np.eye(45, dtype=dtype)
    b = np.zeros(45, dtype=dtype)
    out = run_forward(Z, W, b, activation, n_threads)
    assert np.all(np.isfinite(out))
    assert np.all((out >= 0) & (out <= 1))
    assert_matches(out, np_activation(Z, activation), dtype)
    if activation == "softmax":
        assert_matches(out.sum(axis=1), np.ones(150), dtype)
        assert np.all(out[0] == out[0, 0])  # a constant row is uniform
        assert out[1, 0] == 1
        assert_matches(out[2, :2], [0.5, 0.5], dtype)
    else:
        assert np.all(out[0] == 1)
        assert np.all(out[3] == 0)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_layer_writes_the_derivative_of_its_activation(
    dtype, n_threads, shape, activation
):
    X, W, b = layer_data(shape, dtype)
    out, derivative = run_forward_with_derivative(X, W, b, activation, n_threads)
    # The activations are the same as without the derivative, bit for bit.
    assert np.array_equal(out, run_forward(X, W, b, activation, n_threads))
    assert_matches(
        derivative, np_derivative(f64(X) @ f64(W) + f64(b), activation), dtype
    )


def test_forward_layer_refuses_a_softmax_derivative():
    X, W, b = layer_data((5, 4, 3), np.float64)
    out = np.empty((5, 3))
    with pytest.raises(ValueError, match="softmax"):
        forward_layer(X, W, b, out, ACTIVATION_CODES["softmax"], 1, np.empty((5, 3)))
    with pytest.raises(ValueError, match="shape"):
        forward_layer(X, W, b, out, ACTIVATION_CODES["gelu"], 1, np.empty((4, 3)))


def test_forward_layer_leaves_an_empty_batch_alone():
    X, W, b = layer_data((0, 70, 45), np.float64)
    out = np.empty((0, 45))
    forward_layer(X, W, b, out, ACTIVATION_CODES["tanh"], 2)


# ----------------------------------------------------------------------------
# 2. output_activation
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_output_activation_in_place_matches_numpy(dtype, n_threads, shape, activation):
    n_rows, _, n_out = shape
    Z = (3 * np.random.default_rng(1).standard_normal((n_rows, n_out))).astype(dtype)
    expected = np_activation(Z, activation)
    out = Z.copy()
    assert output_activation(out, ACTIVATION_CODES[activation], n_threads) is None
    assert_matches(out, expected, dtype)


@pytest.mark.parametrize("activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_output_activation_large_logits_stay_finite(dtype, n_threads, activation):
    Z = large_logits(150, 45, dtype)
    out = run_output_activation(Z, activation, n_threads)
    assert np.all(np.isfinite(out))
    assert_matches(out, np_activation(Z, activation), dtype)
    if activation == "softmax":
        assert_matches(out.sum(axis=1), np.ones(150), dtype)


@pytest.mark.parametrize("n_out", [1, 3, 10, 129, 200])
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_short_rows_row_by_row(dtype, n_out):
    # Short rows are computed in groups, as one array: each row is still
    # what it is alone, bitwise, and a row with an infinite logit (here in
    # the middle of a group) shares its probability among those logits.
    Z = (3 * np.random.default_rng(2).standard_normal((203, n_out))).astype(dtype)
    Z[30, 0] = np.inf
    Z[31, -1] = np.inf
    Z[31, 0] = np.inf
    Z[40] = np.nan
    out = run_output_activation(Z, "softmax", 1)
    alone = np.vstack([run_output_activation(z[None], "softmax", 1) for z in Z])
    np.testing.assert_array_equal(out, alone)
    with np.errstate(invalid="ignore"):
        expected = np_activation(Z, "softmax")
    for i in (30, 31):
        expected[i] = np.isinf(Z[i]) / np.isinf(Z[i]).sum()
    finite = np.ones(len(Z), bool)
    finite[40] = False
    assert_matches(out[finite], expected[finite], dtype)
    assert np.all(np.isnan(out[40]))


# ----------------------------------------------------------------------------
# 3. output_delta
# ----------------------------------------------------------------------------


def test_loss_table_lists_every_loss():
    assert set(LOSS_CODES) == {
        *CLASSIFIER_LOSSES,
        "poisson",
        "absolute_error",
        "huber",
        "quantile",
    }
    assert len(set(LOSS_CODES.values())) == len(LOSS_CODES)


@pytest.mark.parametrize("loss", CLASSIFIER_LOSSES)
@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_output_delta_matches_numpy(dtype, n_threads, shape, out_activation, loss):
    n_rows, _, n_out = shape
    A, Y = output_data(n_rows, n_out, out_activation, dtype)
    delta, loss_sum = run_output_delta(A, Y, out_activation, loss, n_threads)
    eps = np.finfo(dtype).eps
    expected_delta, expected_loss = np_output_delta(A, Y, out_activation, loss, eps)
    assert isinstance(loss_sum, float)
    assert_matches(delta, expected_delta, dtype)
    assert_matches(loss_sum, expected_loss, dtype, scale=0)


@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_output_delta_log_loss_clips_certain_wrong_predictions(dtype, out_activation):
    # Probabilities of exactly 0 and 1, right and wrong: the loss is clipped
    # to [eps, 1 - eps] instead of becoming infinite.
    eps = np.finfo(dtype).eps
    if out_activation == "softmax":
        A = np.array([[1, 0, 0], [0, 1, 0], [0.5, 0.5, 0]], dtype=dtype)
        Y = np.array([[1, 0, 0], [1, 0, 0], [0, 0, 1]], dtype=dtype)
        expected_loss = -np.log1p(-eps) - 2 * np.log(eps)
    else:
        A = np.array([[1, 0, 0, 1]], dtype=dtype)
        Y = np.array([[1, 0, 1, 0]], dtype=dtype)
        expected_loss = -2 * np.log1p(-eps) - 2 * np.log(eps)
    delta, loss_sum = run_output_delta(A, Y, out_activation, "log_loss", 2)
    assert np.isfinite(loss_sum)
    assert_matches(loss_sum, expected_loss, dtype, scale=0)
    assert_matches(
        loss_sum,
        np_output_delta(A, Y, out_activation, "log_loss", eps)[1],
        dtype,
        scale=0,
    )
    assert np.array_equal(delta, A - Y)


@pytest.mark.parametrize("loss", sorted(LOSS_CODES))
def test_output_delta_of_an_empty_batch_is_zero(loss):
    A = np.empty((0, 3))
    softmax = ACTIVATION_CODES["softmax"]
    assert output_delta(A, A, A.copy(), softmax, LOSS_CODES[loss], 2) == 0


# ----------------------------------------------------------------------------
# 4. hidden_delta
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_hidden_delta_matches_numpy(dtype, n_threads, shape, activation):
    delta_out, W_out, A_hidden, derivative = hidden_data(shape, activation, dtype)
    delta_hidden = run_hidden_delta(
        delta_out, W_out, A_hidden, derivative, activation, n_threads
    )
    expected = np_hidden_delta(delta_out, W_out, A_hidden, activation, derivative)
    assert_matches(delta_hidden, expected, dtype)
    if activation == "relu":
        assert np.all(delta_hidden[A_hidden == 0] == 0)


@pytest.mark.parametrize("activation", ["relu", "tanh", "leaky_relu"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_hidden_delta_takes_a_given_derivative_for_any_activation(dtype, activation):
    delta_out, W_out, A_hidden, _ = hidden_data(SHAPE_200, activation, dtype)
    derivative = np.random.default_rng(1).uniform(size=A_hidden.shape).astype(dtype)
    delta_hidden = run_hidden_delta(
        delta_out, W_out, A_hidden, derivative, activation, 2
    )
    expected = np_hidden_delta(delta_out, W_out, A_hidden, activation, derivative)
    assert_matches(delta_hidden, expected, dtype)


@pytest.mark.parametrize("activation", sorted(NEEDS_DERIVATIVE))
def test_hidden_delta_needs_the_derivative_of_gelu_and_silu(activation):
    delta_out, W_out, A_hidden, derivative = hidden_data(
        SHAPE_200, activation, np.float64
    )
    with pytest.raises(ValueError, match="derivative"):
        run_hidden_delta(delta_out, W_out, A_hidden, None, activation, 2)
    with pytest.raises(ValueError, match="derivative"):
        run_hidden_delta(delta_out, W_out, A_hidden, derivative[1:], activation, 2)


# ----------------------------------------------------------------------------
# 5. layer_gradients
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("shape", SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_gradients_match_numpy(dtype, n_threads, shape, alpha):
    A_in, delta, W = gradient_data(shape, dtype)
    # A sample-weight total, not only a row count, can be the divisor.
    divisor = shape[0] * 1.25
    grad_W, grad_b, squares = run_layer_gradients(
        A_in, delta, W, alpha, divisor, n_threads
    )
    expected_W, expected_b, expected_squares = np_layer_gradients(
        A_in, delta, W, alpha, divisor
    )
    # The entries of A_in.T @ delta are sums of n_rows terms of order one.
    scale = np.sqrt(shape[0]) / divisor
    assert_matches(grad_W, expected_W, dtype, scale=scale)
    assert_matches(grad_b, expected_b, dtype, scale=scale)
    assert isinstance(squares, float)
    assert_matches(squares, expected_squares, dtype, scale=0)


@pytest.mark.parametrize("divisor", [256.0, 200.0, 2.0**-140, 2.0**-60])
@pytest.mark.parametrize("dtype", DTYPES)
def test_the_gradient_is_divided_to_the_last_bit(dtype, divisor):
    # A power-of-two divisor is applied as its exact reciprocal, unless
    # that overflows (2**140 in float32): the same bits as a division.
    A_in, delta, W = gradient_data((150, 40, 45), dtype)
    grad_W, grad_b, _ = run_layer_gradients(A_in, delta, W, 0.0, divisor, 1)
    summed = np.empty_like(W)
    probes.matmul(A_in, delta, summed, trans_a=True)
    with np.errstate(over="ignore", under="ignore"):
        np.testing.assert_array_equal(grad_W, summed / dtype(divisor))


@pytest.mark.parametrize("n_rows", [1, 2, 150])
@pytest.mark.parametrize("n_out", [1, 5, 10, 31, 32, 45, 100])
@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_gradient_adds_the_rows_in_order(dtype, n_out, n_rows):
    # Blocks of columns are summed in registers, the last few reading on
    # into the next row: either way each column is one chain over the
    # rows, first to last.
    A_in, delta, W = gradient_data((n_rows, 3, n_out), dtype)
    _, grad_b, _ = run_layer_gradients(A_in, delta, W, 0.0, 1.25, 1)
    expected = np.zeros(n_out, dtype)
    for row in delta:
        expected = expected + row
    np.testing.assert_array_equal(grad_b, expected / dtype(1.25))


# ----------------------------------------------------------------------------
# 6. sgd_update, 7. adam_update
# ----------------------------------------------------------------------------


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("n", FLAT_SIZES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_update_matches_numpy(dtype, n_threads, n, momentum, nesterov):
    params, grads, velocity = flat_data(n, dtype)
    new_params, new_velocity = run_sgd(
        params, grads, velocity, 0.1, momentum, nesterov, n_threads
    )
    expected_params, expected_velocity = np_sgd(
        params,
        grads,
        velocity,
        in_precision(0.1, dtype),
        in_precision(momentum, dtype),
        nesterov,
    )
    assert_matches(new_velocity, expected_velocity, dtype)
    assert_matches(new_params, expected_params, dtype)


@pytest.mark.parametrize("n", FLAT_SIZES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_update_without_momentum_is_plain_gradient_descent(dtype, n_threads, n):
    params, grads, velocity = flat_data(n, dtype)
    new_params, _ = run_sgd(params, grads, velocity, 0.1, 0.0, False, n_threads)
    assert_matches(new_params, f64(params) - 0.1 * f64(grads), dtype)


@pytest.mark.parametrize("n", FLAT_SIZES)
@pytest.mark.parametrize("n_threads", THREADS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_update_matches_numpy(dtype, n_threads, n):
    params, grads, m, v = adam_data(n, dtype)
    new = run_adam(params, grads, m, v, **ADAM_HYPER, n_threads=n_threads)
    hyper = {name: in_precision(value, dtype) for name, value in ADAM_HYPER.items()}
    expected = np_adam(params, grads, m, v, **hyper)
    # In order: params, first moment, second moment.
    for got, want in zip(new, expected, strict=True):
        assert_matches(got, want, dtype)


# ----------------------------------------------------------------------------
# Same bits for any thread count
# ----------------------------------------------------------------------------


def runs_per_thread_count(run, *args, **kwargs):
    """The kernel's outputs, as a tuple, for 1, 2 and 3 threads."""
    results = []
    for n_threads in (1, 2, 3):
        result = run(*args, **kwargs, n_threads=n_threads)
        results.append(result if isinstance(result, tuple) else (result,))
    return results


def assert_bitwise_equal(results):
    first, *others = results
    for other in others:
        for a, b in zip(first, other, strict=True):
            assert np.array_equal(a, b), "outputs differ between thread counts"


SHAPE_200 = (200, 70, 45)


@pytest.mark.parametrize("activation", sorted(ACTIVATION_CODES))
@pytest.mark.parametrize("dtype", DTYPES)
def test_forward_layer_is_bitwise_equal_across_thread_counts(dtype, activation):
    X, W, b = layer_data(SHAPE_200, dtype)
    assert_bitwise_equal(runs_per_thread_count(run_forward, X, W, b, activation))


@pytest.mark.parametrize("activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_output_activation_is_bitwise_equal_across_thread_counts(dtype, activation):
    Z = (3 * np.random.default_rng(1).standard_normal((200, 45))).astype(dtype)
    results = runs_per_thread_count(run_output_activation, Z, activation)
    assert_bitwise_equal(results)


@pytest.mark.parametrize("loss", CLASSIFIER_LOSSES)
@pytest.mark.parametrize("out_activation", OUTPUT_ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_output_delta_is_bitwise_equal_across_thread_counts(
    dtype, out_activation, loss
):
    # 1000 rows = 16 blocks: the loss is summed over many partial sums.
    A, Y = output_data(1000, 45, out_activation, dtype)
    results = runs_per_thread_count(run_output_delta, A, Y, out_activation, loss)
    assert_bitwise_equal(results)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_hidden_delta_is_bitwise_equal_across_thread_counts(dtype, activation):
    delta_out, W_out, A_hidden, derivative = hidden_data(SHAPE_200, activation, dtype)
    results = runs_per_thread_count(
        run_hidden_delta, delta_out, W_out, A_hidden, derivative, activation
    )
    assert_bitwise_equal(results)


@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_gradients_are_bitwise_equal_across_thread_counts(dtype, alpha):
    # 150 input units = 5 weight blocks, 45 outputs = 2 bias blocks.
    A_in, delta, W = gradient_data((200, 150, 45), dtype)
    results = runs_per_thread_count(run_layer_gradients, A_in, delta, W, alpha, 200.0)
    assert_bitwise_equal(results)


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_update_is_bitwise_equal_across_thread_counts(dtype, nesterov):
    params, grads, velocity = flat_data(10000, dtype)
    results = runs_per_thread_count(
        run_sgd, params, grads, velocity, 0.1, 0.9, nesterov
    )
    assert_bitwise_equal(results)


@pytest.mark.parametrize("dtype", DTYPES)
def test_adam_update_is_bitwise_equal_across_thread_counts(dtype):
    params, grads, m, v = adam_data(10000, dtype)
    results = runs_per_thread_count(run_adam, params, grads, m, v, **ADAM_HYPER)
    assert_bitwise_equal(results)


# ----------------------------------------------------------------------------
# Argument checks and read-only inputs
# ----------------------------------------------------------------------------


def _forward_call(n_rows=20, n_in=7, n_out=5, W_shape=None, b_len=None, out_shape=None):
    X = np.ones((n_rows, n_in))
    W = np.ones(W_shape or (n_in, n_out))
    b = np.ones(b_len if b_len is not None else n_out)
    out = np.empty(out_shape or (n_rows, n_out))
    forward_layer(X, W, b, out, ACTIVATION_CODES["relu"], 2)


def _output_delta_call(Y_shape=(20, 5), delta_shape=(20, 5)):
    A = np.full((20, 5), 0.2)
    output_delta(
        A,
        np.zeros(Y_shape),
        np.empty(delta_shape),
        ACTIVATION_CODES["softmax"],
        LOSS_CODES["log_loss"],
        2,
    )


def _hidden_delta_call(W_shape=(7, 5), A_shape=(20, 7), out_shape=(20, 7)):
    hidden_delta(
        np.ones((20, 5)),
        np.ones(W_shape),
        np.ones(A_shape),
        np.empty(out_shape),
        ACTIVATION_CODES["tanh"],
        2,
    )


def _gradients_call(
    n_rows=20,
    delta_rows=20,
    W_shape=(7, 5),
    grad_W_shape=(7, 5),
    b_len=5,
    divisor=20.0,
):
    layer_gradients(
        np.ones((n_rows, 7)),
        np.ones((delta_rows, 5)),
        np.ones(W_shape),
        np.empty(grad_W_shape),
        np.empty(b_len),
        0.1,
        divisor,
        2,
    )


def _sgd_call(grads_len=10, velocity_len=10):
    sgd_update(
        np.ones(10), np.ones(grads_len), np.ones(velocity_len), 0.1, 0.9, False, 2
    )


def _adam_call(grads_len=10, m_len=10, v_len=10):
    adam_update(
        np.ones(10),
        np.ones(grads_len),
        np.ones(m_len),
        np.ones(v_len),
        1e-3,
        0.9,
        0.999,
        1e-8,
        2,
    )


BAD_CALLS = {
    "forward W rows": lambda: _forward_call(W_shape=(8, 5)),
    "forward b length": lambda: _forward_call(b_len=4),
    "forward out rows": lambda: _forward_call(out_shape=(19, 5)),
    "forward out cols": lambda: _forward_call(out_shape=(20, 6)),
    "forward no input": lambda: _forward_call(n_in=0),
    "forward no output": lambda: _forward_call(n_out=0),
    "output_delta Y": lambda: _output_delta_call(Y_shape=(20, 4)),
    "output_delta delta": lambda: _output_delta_call(delta_shape=(21, 5)),
    "hidden_delta W cols": lambda: _hidden_delta_call(W_shape=(7, 4)),
    "hidden_delta A rows": lambda: _hidden_delta_call(A_shape=(19, 7)),
    "hidden_delta A cols": lambda: _hidden_delta_call(A_shape=(20, 6)),
    "hidden_delta out": lambda: _hidden_delta_call(out_shape=(20, 8)),
    "gradients delta rows": lambda: _gradients_call(delta_rows=19),
    "gradients W": lambda: _gradients_call(W_shape=(7, 4)),
    "gradients grad_W": lambda: _gradients_call(grad_W_shape=(6, 5)),
    "gradients grad_b": lambda: _gradients_call(b_len=6),
    "gradients empty batch": lambda: _gradients_call(n_rows=0, delta_rows=0),
    "gradients zero divisor": lambda: _gradients_call(divisor=0.0),
    "gradients nan divisor": lambda: _gradients_call(divisor=float("nan")),
    "sgd grads": lambda: _sgd_call(grads_len=9),
    "sgd velocity": lambda: _sgd_call(velocity_len=11),
    "adam grads": lambda: _adam_call(grads_len=9),
    "adam first moment": lambda: _adam_call(m_len=11),
    "adam second moment": lambda: _adam_call(v_len=9),
}


@pytest.mark.parametrize("call", list(BAD_CALLS.values()), ids=list(BAD_CALLS))
def test_mismatched_shapes_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_non_contiguous_input_is_rejected():
    X, W, b = layer_data((20, 7, 5), np.float64)
    out = np.empty((20, 5))
    with pytest.raises(ValueError, match="contiguous"):
        forward_layer(np.asfortranarray(X), W, b, out, ACTIVATION_CODES["relu"], 1)


def read_only(*arrays):
    copies = []
    for array in arrays:
        array = array.copy()
        array.flags.writeable = False
        copies.append(array)
    return copies


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernels_accept_read_only_inputs(dtype):
    X, W, b = layer_data(SHAPE_200, dtype)
    assert np.array_equal(
        run_forward(*read_only(X, W, b), "tanh", 2), run_forward(X, W, b, "tanh", 2)
    )

    A, Y = output_data(200, 45, "softmax", dtype)
    for got, want in zip(
        run_output_delta(*read_only(A, Y), "softmax", "log_loss", 2),
        run_output_delta(A, Y, "softmax", "log_loss", 2),
        strict=True,
    ):
        assert np.array_equal(got, want)

    delta_out, W_out, A_hidden, derivative = hidden_data(SHAPE_200, "gelu", dtype)
    assert np.array_equal(
        run_hidden_delta(*read_only(delta_out, W_out, A_hidden, derivative), "gelu", 2),
        run_hidden_delta(delta_out, W_out, A_hidden, derivative, "gelu", 2),
    )

    A_in, delta, W = gradient_data(SHAPE_200, dtype)
    for got, want in zip(
        run_layer_gradients(*read_only(A_in, delta, W), 0.3, 200.0, 2),
        run_layer_gradients(A_in, delta, W, 0.3, 200.0, 2),
        strict=True,
    ):
        assert np.array_equal(got, want)

    params, grads, velocity = flat_data(10000, dtype)
    (grads_ro,) = read_only(grads)
    for got, want in zip(
        run_sgd(params, grads_ro, velocity, 0.1, 0.9, True, 2),
        run_sgd(params, grads, velocity, 0.1, 0.9, True, 2),
        strict=True,
    ):
        assert np.array_equal(got, want)

    params, grads, m, v = adam_data(10000, dtype)
    (grads_ro,) = read_only(grads)
    for got, want in zip(
        run_adam(params, grads_ro, m, v, **ADAM_HYPER, n_threads=2),
        run_adam(params, grads, m, v, **ADAM_HYPER, n_threads=2),
        strict=True,
    ):
        assert np.array_equal(got, want)


def guarded(shape, dtype, extra=3):
    """A NaN-filled C-contiguous buffer with ``extra`` guard rows after it."""
    shape = tuple(np.atleast_1d(shape))
    buffer = np.full((shape[0] + extra,) + shape[1:], np.nan, dtype=dtype)
    return buffer[: shape[0]], buffer[shape[0] :]


@pytest.mark.parametrize("dtype", DTYPES)
def test_kernels_write_nothing_past_their_outputs(dtype):
    # 150 rows end in a ragged block of 22, 70 units in one of 6, 10000
    # elements in one of 1808: the rows right after each output stay as
    # they were.
    shape = (150, 70, 45)
    X, W, b = layer_data(shape, dtype)
    out, guard = guarded((150, 45), dtype)
    forward_layer(X, W, b, out, ACTIVATION_CODES["softmax"], 2)
    assert not np.isnan(out).any() and np.isnan(guard).all()
    output_activation(out, ACTIVATION_CODES["logistic"], 2)
    assert np.isnan(guard).all()

    A, Y = output_data(150, 45, "softmax", dtype)
    delta, guard = guarded((150, 45), dtype)
    softmax, squared_error = ACTIVATION_CODES["softmax"], LOSS_CODES["squared_error"]
    output_delta(A, Y, delta, softmax, squared_error, 2)
    assert not np.isnan(delta).any() and np.isnan(guard).all()

    delta_out, W_out, A_hidden, _ = hidden_data(shape, "tanh", dtype)
    delta_hidden, guard = guarded((150, 70), dtype)
    hidden_delta(delta_out, W_out, A_hidden, delta_hidden, ACTIVATION_CODES["tanh"], 2)
    assert not np.isnan(delta_hidden).any() and np.isnan(guard).all()

    A_in, delta, W = gradient_data(shape, dtype)
    grad_W, guard_W = guarded((70, 45), dtype)
    grad_b, guard_b = guarded(45, dtype)
    layer_gradients(A_in, delta, W, grad_W, grad_b, 0.3, 150.0, 2)
    assert not np.isnan(grad_W).any() and np.isnan(guard_W).all()
    assert not np.isnan(grad_b).any() and np.isnan(guard_b).all()

    params, grads, velocity = flat_data(10000, dtype)
    for name in ("sgd", "adam"):
        guarded_params, guard = guarded(10000, dtype)
        guarded_params[:] = params
        if name == "sgd":
            sgd_update(guarded_params, grads, velocity.copy(), 0.1, 0.9, True, 2)
        else:
            adam_update(
                guarded_params,
                grads,
                np.zeros_like(grads),
                np.zeros_like(grads),
                1e-3,
                0.9,
                0.999,
                1e-8,
                2,
            )
        assert not np.isnan(guarded_params).any() and np.isnan(guard).all()
