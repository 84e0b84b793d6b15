"""The hidden activations leaky_relu, gelu and silu: kernel values and
derivatives against scipy, on extreme inputs too; gradients of the loss
through the public API against central finite differences; the prediction
path against a numpy forward pass; fits bitwise the same for any number of
threads."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import erf, expit, ndtr
from sklearn.datasets import make_classification
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

from sklearn_twolayer import TwoLayerClassifier

NEW_ACTIVATIONS = ["leaky_relu", "gelu", "silu"]
DTYPES = [np.float32, np.float64]


def reference(z, name):
    """g(z) and g'(z) in float64, written independently of the kernels:
    gelu through the normal CDF ndtr (accurate in both tails)."""
    z = np.asarray(z, dtype=np.float64)
    if name == "leaky_relu":
        return np.where(z > 0, z, 0.01 * z), np.where(z > 0, 1.0, 0.01)
    if name == "gelu":
        density = np.exp(-(z**2) / 2) / np.sqrt(2 * np.pi)
        return z * ndtr(z), ndtr(z) + z * density
    if name == "silu":
        return z * expit(z), expit(z) + z * expit(z) * expit(-z)
    raise ValueError(name)


def inputs(dtype):
    """Ordinary values, the extremes +-1e4, zeros, tiny and subnormal ones."""
    tiny = np.finfo(dtype).tiny
    special = [1e4, 1e3, 100, 40, 10, 5, 1.2785, 1, 1e-3, tiny, tiny / 1000]
    special = np.array(special + [-v for v in special] + [0.0, -0.0])
    grid = np.linspace(-12, 12, 481)
    return np.concatenate([special, grid]).astype(dtype)


# Relative tolerances of the kernels against float64 references of the same
# (rounded) input: a few ulp of the dtype.
RTOL = {np.float32: 5e-7, np.float64: 5e-15}


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_values_and_derivatives_match_scipy(
    baseline_probes, identity_layer, dtype, name
):
    z = inputs(dtype)
    value, derivative = identity_layer(baseline_probes, z, name)
    expected_value, expected_derivative = reference(z, name)
    assert value.dtype == dtype and derivative.dtype == dtype
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(derivative))
    rtol = RTOL[dtype]
    # Subnormal results carry absolute errors up to the smallest normal
    # number (expf overflows for z < -88 in float32, so silu gives 0 there
    # for values below 1e-36).
    atol = np.finfo(dtype).tiny
    scale = np.abs(expected_value)
    if name == "gelu":
        # gelu keeps Phi to a few units of the last place of 1, as the erf
        # form 0.5 * (1 + erf(z / sqrt 2)) does, not to a few units of Phi
        # in the far left tail: errors relative to |z| (and so to gelu(z)
        # for z > 0, where Phi >= 1/2).
        scale = np.abs(z.astype(np.float64))
    assert np.all(np.abs(value - expected_value) <= rtol * scale + atol)
    # The derivatives of gelu and silu cross zero (near -0.75 and -1.28),
    # where their terms cancel: errors are relative to max(|g'|, 1) there.
    assert np.all(
        np.abs(derivative - expected_derivative)
        <= 2 * rtol * np.maximum(np.abs(expected_derivative), 1) + atol
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_gelu_is_the_erf_form(baseline_probes, identity_layer, dtype):
    z = inputs(dtype)
    value, _ = identity_layer(baseline_probes, z, "gelu")
    z64 = z.astype(np.float64)
    erf_form = 0.5 * z64 * (1 + erf(z64 / np.sqrt(2)))
    # The erf form cancels to 0 in the left tail; both agree to round-off
    # of |z|.
    np.testing.assert_allclose(
        value, erf_form, rtol=0, atol=4 * np.finfo(dtype).eps * np.abs(z64).max()
    )


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_extremes_and_zero(baseline_probes, identity_layer, dtype, name):
    z = np.array([-1e4, -0.0, 0.0, 1e4], dtype=dtype)
    value, derivative = identity_layer(baseline_probes, z, name)
    slope = np.float64(dtype(0.01))
    expected = {
        "leaky_relu": ([-1e4 * slope, 0, 0, 1e4], [slope, slope, slope, 1]),
        "gelu": ([0, 0, 0, 1e4], [0, 0.5, 0.5, 1]),
        "silu": ([0, 0, 0, 1e4], [0, 0.5, 0.5, 1]),
    }[name]
    np.testing.assert_allclose(value, np.array(expected[0], dtype=dtype), rtol=1e-7)
    np.testing.assert_array_equal(derivative, np.array(expected[1], dtype=dtype))


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_derivative_is_the_slope_of_the_activation(
    baseline_probes, identity_layer, name
):
    # Central differences of the float64 kernel itself, away from the kink
    # of leaky_relu: the derivative it writes is the derivative of what it
    # computes.
    z = np.linspace(-8, 8, 321) + 0.0125
    step = 1e-6
    up, _ = identity_layer(baseline_probes, z + step, name)
    down, _ = identity_layer(baseline_probes, z - step, name)
    _, derivative = identity_layer(baseline_probes, z, name)
    np.testing.assert_allclose(derivative, (up - down) / (2 * step), rtol=0, atol=1e-8)


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_is_bitwise_equal_across_thread_counts(
    baseline_probes, identity_layer, dtype, name
):
    z = np.tile(inputs(dtype), 40)
    results = [
        identity_layer(baseline_probes, z, name, n_threads=n_threads)
        for n_threads in (1, 2, 3)
    ]
    for value, derivative in results[1:]:
        assert np.array_equal(value, results[0][0])
        assert np.array_equal(derivative, results[0][1])


# ----------------------------------------------------------------------------
# Through the estimator
# ----------------------------------------------------------------------------


def make_data(kind, n_samples=60, n_features=3, seed=0):
    n_classes = 2 if kind == "binary" else 3
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=n_features,
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    if kind == "multilabel":
        y = np.stack([y == 0, y == 1, y == 2], axis=1).astype(int)
        y[::3, 0] = 1
    return X, y


def flat(clf):
    return np.concatenate([a.ravel() for a in clf.coefs_ + clf.intercepts_])


def set_flat(clf, params):
    start = 0
    for array in clf.coefs_ + clf.intercepts_:
        array[...] = params[start : start + array.size].reshape(array.shape)
        start += array.size


def loss_and_step(clf, X, y, params):
    """``loss_`` at ``params`` and the weights after one full-batch sgd step
    with learning rate 1 and no momentum: ``params - gradient``."""
    set_flat(clf, params)
    clf.partial_fit(X, y)
    return clf.loss_, flat(clf)


def public_gradient_error(name, kind, loss):
    """Relative error between the gradient that one sgd step applies and
    central finite differences of ``loss_``, both read off the public API."""
    X, y = make_data(kind)
    clf = TwoLayerClassifier(
        n_hidden=4,
        activation=name,
        loss=loss,
        solver="sgd",
        learning_rate_init=1.0,
        momentum=0.0,
        alpha=0.1,
        batch_size=X.shape[0],
        shuffle=False,
        random_state=0,
    )
    classes = [0, 1] if kind == "binary" else [0, 1, 2]
    clf.partial_fit(X, y, **({} if kind == "multilabel" else {"classes": classes}))
    # Weights of order one, so that the hidden units see the curved part of
    # gelu and silu, and both sides of leaky_relu's kink.
    params = np.random.RandomState(1).uniform(-1, 1, flat(clf).shape)
    _, stepped = loss_and_step(clf, X, y, params)
    analytic = params - stepped
    step = 1e-6
    numeric = np.empty_like(params)
    for i in range(params.shape[0]):
        shifted = params.copy()
        shifted[i] += step
        up, _ = loss_and_step(clf, X, y, shifted)
        shifted[i] -= 2 * step
        down, _ = loss_and_step(clf, X, y, shifted)
        numeric[i] = (up - down) / (2 * step)
    return np.linalg.norm(analytic - numeric) / np.linalg.norm(numeric)


@pytest.mark.parametrize(
    "kind, loss",
    [
        ("binary", "log_loss"),
        ("multiclass", "log_loss"),
        ("multiclass", "squared_error"),
        ("multilabel", "log_loss"),
    ],
)
@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_public_gradient_matches_finite_differences_of_the_loss(name, kind, loss):
    assert public_gradient_error(name, kind, loss) < 1e-6


def numpy_proba(clf, X):
    (W1, W2), (b1, b2) = clf.coefs_, clf.intercepts_
    hidden, _ = reference(X.astype(np.float64) @ W1 + b1, clf.activation)
    logits = hidden @ W2 + b2
    if clf.out_activation_ == "softmax":
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)
    output = expit(logits)
    return np.hstack([1 - output, output]) if output.shape[1] == 1 else output


@pytest.mark.parametrize(
    "kind, sparse",
    [
        ("binary", False),
        ("multiclass", False),
        ("multilabel", False),
        ("multiclass", True),
    ],
)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_predict_proba_matches_a_numpy_forward_pass(
    fit_quietly, name, dtype, kind, sparse
):
    X, y = make_data(kind, n_samples=300, n_features=6)
    X = X.astype(dtype)
    clf = fit_quietly(
        TwoLayerClassifier(n_hidden=9, activation=name, max_iter=10, random_state=0),
        X,
        y,
    )
    assert clf.coefs_[0].dtype == dtype
    proba = clf.predict_proba(sp.csr_matrix(X) if sparse else X)
    assert proba.dtype == dtype
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(proba, numpy_proba(clf, X), rtol=0, atol=tolerance)


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", batch_size=700),
        dict(solver="sgd", batch_size="full", shuffle=False),
        dict(solver="lbfgs"),
    ],
    ids=["adam", "full-batch-sgd", "lbfgs"],
)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_fit_is_bitwise_equal_for_one_two_and_three_threads(
    fit_quietly, name, dtype, params
):
    # 1500 rows: a 700-row batch and the full batch span several chunks and
    # row blocks, whose boundaries must not depend on the thread count.
    X, y = make_data("multiclass", n_samples=1500, n_features=20)
    X = X.astype(dtype)
    fits = []
    for n_threads in (1, 2, 3):
        with threadpool_limits(n_threads, user_api="openmp"):
            clf = TwoLayerClassifier(
                n_hidden=40, activation=name, max_iter=4, random_state=0, **params
            )
            fits.append(fit_quietly(clf, X, y))
    for other in fits[1:]:
        assert np.array_equal(flat(other), flat(fits[0]))
        assert other.loss_curve_ == fits[0].loss_curve_


def test_unknown_activation_is_refused_with_the_valid_names():
    X, y = make_data("binary")
    with pytest.raises(InvalidParameterError, match="gelu"):
        TwoLayerClassifier(activation="swish").fit(X, y)
