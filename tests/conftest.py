"""Fixtures shared by the test modules."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.special import expit, ndtr, xlogy
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer._dispatch import BUILDS, modules_of, runnable_builds
from sklearn_twolayer._registry import ACTIVATION_CODES


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's digits, scaled to [0, 1]: (X, y)."""
    X, y = load_digits(return_X_y=True)
    return X / 16, y


@pytest.fixture(scope="session")
def digits_split(digits):
    """digits split 75/25, stratified, with random_state=0."""
    X, y = digits
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def _fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


@pytest.fixture(scope="session")
def fit_quietly():
    """``fit_quietly(estimator, *args, **kwargs)``: ``estimator.fit`` without
    ConvergenceWarning (tests run few epochs on purpose)."""
    return _fit_quietly


def _regression_loss(prediction, y, loss, parameter=None):
    """Elementwise regression loss of predictions (the output activations)
    against targets, as the documentation defines them."""
    residual = prediction - y
    if loss == "squared_error":
        return 0.5 * residual**2
    if loss == "poisson":
        return xlogy(y, y / prediction) - y + prediction
    if loss == "absolute_error":
        return np.abs(residual)
    if loss == "huber":
        size = np.abs(residual)
        return np.where(
            size <= parameter, 0.5 * residual**2, parameter * (size - 0.5 * parameter)
        )
    if loss == "quantile":
        return np.where(residual > 0, (1 - parameter) * residual, -parameter * residual)
    raise ValueError(loss)


@pytest.fixture(scope="session")
def regression_loss():
    """``regression_loss(prediction, y, loss, parameter)``: the elementwise
    loss in numpy."""
    return _regression_loss


@pytest.fixture(scope="session", params=runnable_builds())
def compiled_forward(request):
    """The forward-pass module of each compiled build this CPU runs
    (baseline, AVX2, AVX-512), for kernel tests that must hold in all."""
    return modules_of(request.param)[0]


def _kernel_probes(build):
    """The test-only kernel entry points of a build; the test is skipped
    where they were not built (see test_installed_distribution.py)."""
    return pytest.importorskip(f"sklearn_twolayer._kernel_probes{BUILDS[build][0]}")


@pytest.fixture(scope="session")
def probes_of():
    """``probes_of(build)``: the kernel probes of the named build."""
    return _kernel_probes


@pytest.fixture(scope="session", params=runnable_builds())
def compiled_probes(request):
    """The kernel probes of each compiled build this CPU runs."""
    return _kernel_probes(request.param)


@pytest.fixture(scope="session")
def baseline_probes():
    """The kernel probes of the baseline build."""
    return _kernel_probes("baseline")


def _identity_layer(probes, z, name, width=64, n_threads=2, derivative=True):
    """g(z) and g'(z) from the layer kernel of the build ``probes`` (a
    ``_kernel_probes`` module), with W = I and b = 0 so that the pre-activations
    are exactly z, laid out in rows of ``width`` (1 for infinities and NaN,
    which the product with I spreads along a row). Without ``derivative``,
    g'(z) is None (for output activations such as exp)."""
    Z = np.zeros(-(-z.shape[0] // width) * width, dtype=z.dtype)
    Z[: z.shape[0]] = z
    Z = Z.reshape(-1, width)
    W = np.eye(width, dtype=z.dtype)
    b = np.zeros(width, dtype=z.dtype)
    out = np.empty_like(Z)
    slopes = np.empty_like(Z) if derivative else None
    probes.forward_layer(Z, W, b, out, ACTIVATION_CODES[name], n_threads, slopes)
    if slopes is None:
        return out.ravel()[: z.shape[0]], None
    return out.ravel()[: z.shape[0]], slopes.ravel()[: z.shape[0]]


@pytest.fixture(scope="session")
def identity_layer():
    """``identity_layer(probes, z, name, width=64, n_threads=2)``: g(z) and
    g'(z) from a hidden layer with W = I and b = 0."""
    return _identity_layer


@pytest.fixture(scope="session")
def regression_data():
    """A small regression problem: standardised X (300 x 8) and y scaled
    to unit variance."""
    X, y = make_regression(n_samples=300, n_features=8, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), y / y.std()


#: The hidden activations in float64 numpy, as the documentation defines
#: them (gelu through the normal CDF ndtr, accurate in both tails).
NUMPY_HIDDEN = {
    "identity": lambda z: z,
    "relu": lambda z: np.maximum(z, 0),
    "logistic": expit,
    "tanh": np.tanh,
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "gelu": lambda z: z * ndtr(z),
    "silu": lambda z: z * expit(z),
}


@pytest.fixture(scope="session")
def numpy_hidden():
    """``numpy_hidden[name](z)``: a hidden activation g(z) in numpy."""
    return NUMPY_HIDDEN


def _softmax(z):
    exp = np.exp(z - z.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


_NUMPY_OUTPUT = {
    "softmax": _softmax,
    "logistic": expit,
    "identity": lambda z: z,
    "exp": np.exp,
}


def _numpy_transform(model, X):
    """The hidden activations of a fitted model on X (dense or sparse),
    computed in float64 numpy from its weights and fitted activation."""
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    W1, b1 = model.coefs_[0], model.intercepts_[0]
    z = X.astype(np.float64) @ W1.astype(np.float64) + b1.astype(np.float64)
    return NUMPY_HIDDEN[model.hidden_activation_](z)


@pytest.fixture(scope="session")
def numpy_transform():
    """``numpy_transform(model, X)``: a fitted model's hidden activations
    on X in float64 numpy."""
    return _numpy_transform


def _numpy_output(model, X):
    """The output activations of a fitted model on X, computed in float64
    numpy from its weights and fitted activations."""
    W2, b2 = model.coefs_[1], model.intercepts_[1]
    return _NUMPY_OUTPUT[model.out_activation_](_numpy_transform(model, X) @ W2 + b2)


@pytest.fixture(scope="session")
def numpy_output():
    """``numpy_output(model, X)``: a fitted model's output activations on X
    (probabilities, or predicted values) in float64 numpy."""
    return _numpy_output


def _assert_same_weights(ours, theirs, rtol=0.0, atol=0.0):
    pairs = zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_)
    for a, b in pairs:
        if rtol == atol == 0:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.fixture(scope="session")
def assert_same_weights():
    """``assert_same_weights(ours, theirs, rtol=0, atol=0)``: the two
    models' weights and biases agree (bitwise, by default)."""
    return _assert_same_weights


def _onnx_outputs(onx, X):
    import onnxruntime

    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    names = [output.name for output in session.get_outputs()]
    values = session.run(None, {session.get_inputs()[0].name: X})
    return dict(zip(names, values))


@pytest.fixture(scope="session")
def onnx_outputs():
    """``onnx_outputs(onx, X)``: an ONNX graph's outputs for X, by output
    name, from onnxruntime."""
    return _onnx_outputs
