"""Fixtures shared by the test modules."""

import warnings

import numpy as np
import pytest
from scipy.special import xlogy
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn_twolayer._forward import ACTIVATIONS

from sklearn_twolayer._dispatch import modules_of, runnable_builds


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


def _identity_layer(forward, z, name, width=64, n_threads=2):
    """g(z) and g'(z) from the hidden-layer kernel of the build ``forward``
    (a ``_forward`` module), with W = I and b = 0 so that the
    pre-activations are exactly z, laid out in rows of ``width`` (1 for
    infinities and NaN, which the product with I spreads along a row)."""
    Z = np.zeros(-(-z.shape[0] // width) * width, dtype=z.dtype)
    Z[: z.shape[0]] = z
    Z = Z.reshape(-1, width)
    W = np.eye(width, dtype=z.dtype)
    b = np.zeros(width, dtype=z.dtype)
    out, derivative = np.empty_like(Z), np.empty_like(Z)
    forward.forward_layer(Z, W, b, out, ACTIVATIONS[name], n_threads, derivative)
    return out.ravel()[: z.shape[0]], derivative.ravel()[: z.shape[0]]


@pytest.fixture(scope="session")
def identity_layer():
    """``identity_layer(forward, z, name, width=64, n_threads=2)``: g(z) and
    g'(z) from a hidden layer with W = I and b = 0."""
    return _identity_layer
