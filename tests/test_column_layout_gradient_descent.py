"""Batch gradient descent written in the textbook column layout, in numpy.

The algorithm page derives the network with samples as rows; textbooks
often write it with samples as columns (``Z1 = W1 A0 + b1`` with ``W1`` of
shape (hidden, features)). With ``solver="sgd", momentum=0,
batch_size="full", alpha=0, shuffle=False``, TwoLayerClassifier must
reproduce that transcription (relu/softmax and logistic/logistic networks)
step for step, and MLPClassifier in that setting.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier

N_STEPS = 20


def relu(z):
    return np.maximum(z, 0)


def relu_prime(z):
    return (z > 0).astype(z.dtype)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def softmax_columns(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def column_layout_gradient_descent(
    X, Y, W1, b1, W2, b2, g, g_prime, sigma, lr, n_steps
):
    """Batch gradient descent with samples as columns: ``W1`` is (N1, N0),
    ``b1`` is (N1, 1), ``Y`` is (N2, M). Comments give the equations of the
    algorithm page (written there with samples as rows)."""
    A0 = X.T
    M = A0.shape[1]
    for _ in range(n_steps):
        Z1 = W1 @ A0 + b1  # eq. (1)
        A1 = g(Z1)  # eq. (2)
        Z2 = W2 @ A1 + b2  # eq. (3)
        A2 = sigma(Z2)  # eqs. (4), (5)
        dZ2 = A2 - Y  # eq. (11)
        dW2 = dZ2 @ A1.T / M  # eq. (14)
        db2 = dZ2.sum(axis=1, keepdims=True) / M  # eq. (15)
        pd_Z1 = (W2.T @ dZ2) * g_prime(Z1)  # eq. (16)
        dW1 = pd_Z1 @ A0.T / M  # eq. (18)
        db1 = pd_Z1.sum(axis=1, keepdims=True) / M  # eq. (19)
        W1, b1 = W1 - lr * dW1, b1 - lr * db1  # eq. (20)
        W2, b2 = W2 - lr * dW2, b2 - lr * db2
    return W1, b1, W2, b2


def warm_started(estimator, X, y, coefs, intercepts, n_steps):
    """Fit ``estimator`` for ``n_steps`` epochs starting from given weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        estimator.set_params(max_iter=1, warm_start=False).fit(X, y)
        estimator.coefs_ = [c.copy() for c in coefs]
        estimator.intercepts_ = [b.copy() for b in intercepts]
        estimator.set_params(max_iter=n_steps, warm_start=True).fit(X, y)
    assert estimator.n_iter_ == n_steps
    return estimator


def digits_case():
    X, y = load_digits(return_X_y=True)
    Y = np.eye(10)[y].T
    return X / 16, y, Y, "relu", relu, relu_prime, softmax_columns, 32, 0.1


def breast_cancer_case():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    Y = y[np.newaxis, :].astype(float)
    return X, y, Y, "logistic", sigmoid, sigmoid_prime, sigmoid, 16, 0.5


@pytest.mark.parametrize(
    "case", [digits_case, breast_cancer_case], ids=["relu-softmax", "logistic-logistic"]
)
def test_full_batch_sgd_reproduces_column_layout_and_mlpclassifier(case):
    X, y, Y, activation, g, g_prime, sigma, n_hidden, lr = case()
    n_outputs = Y.shape[0]
    rng = np.random.RandomState(0)
    # Uniform initialisation in [-0.5, 0.5), eq. (26).
    W1 = rng.rand(n_hidden, X.shape[1]) - 0.5
    b1 = rng.rand(n_hidden, 1) - 0.5
    W2 = rng.rand(n_outputs, n_hidden) - 0.5
    b2 = rng.rand(n_outputs, 1) - 0.5

    expected = column_layout_gradient_descent(
        X, Y, W1, b1, W2, b2, g, g_prime, sigma, lr, N_STEPS
    )
    coefs = [W1.T, W2.T]
    intercepts = [b1.ravel(), b2.ravel()]
    common = dict(
        activation=activation,
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        shuffle=False,
        learning_rate_init=lr,
        tol=0.0,
        n_iter_no_change=1000,
    )
    ours = warm_started(
        TwoLayerClassifier(n_hidden=n_hidden, batch_size="full", **common),
        X,
        y,
        coefs,
        intercepts,
        N_STEPS,
    )
    theirs = warm_started(
        MLPClassifier(
            hidden_layer_sizes=(n_hidden,),
            batch_size=X.shape[0],
            learning_rate="constant",
            **common,
        ),
        X,
        y,
        coefs,
        intercepts,
        N_STEPS,
    )

    W1_n, b1_n, W2_n, b2_n = expected
    for fitted in (ours, theirs):
        got = [
            fitted.coefs_[0].T,
            fitted.intercepts_[0],
            fitted.coefs_[1].T,
            fitted.intercepts_[1],
        ]
        for value, reference in zip(got, [W1_n, b1_n.ravel(), W2_n, b2_n.ravel()]):
            scale = np.abs(reference).max()
            np.testing.assert_allclose(value, reference, rtol=1e-10, atol=1e-10 * scale)
    # The weights really moved: the comparison is not of the starting point.
    assert np.abs(ours.coefs_[0] - W1.T).max() > 1e-3
    np.testing.assert_allclose(
        ours.loss_curve_[-N_STEPS:], theirs.loss_curve_[-N_STEPS:], rtol=1e-10
    )
