"""Analytic gradients against central finite differences of the loss.

The loss is computed by an independent numpy forward pass; the gradients by
the compiled training code (the same passes an epoch runs). Covered: every
hidden activation, both losses (for squared_error this checks the full
softmax Jacobian product, eq. (12) of the algorithm page) and every output
kind, with the L2 penalty on.
"""

import numpy as np
import pytest

from sklearn_twolayer._fitting import Trainer
from sklearn_twolayer._network import Network
from sklearn_twolayer._registry import HIDDEN_ACTIVATIONS

N_SAMPLES, N_FEATURES, N_HIDDEN, N_CLASSES = 11, 4, 6, 3


def softmax_rows(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def make_targets(kind, rng):
    if kind == "multiclass":
        return np.eye(N_CLASSES)[rng.randint(N_CLASSES, size=N_SAMPLES)]
    if kind == "binary":
        return rng.randint(2, size=(N_SAMPLES, 1)).astype(float)
    return rng.randint(2, size=(N_SAMPLES, N_CLASSES)).astype(float)


def numpy_loss(network, X, Y, hidden, out_activation, loss, alpha):
    """The loss in numpy; ``hidden``: the hidden activation g."""
    W1, W2 = network.coefs
    b1, b2 = network.intercepts
    A1 = hidden(X @ W1 + b1)
    Z2 = A1 @ W2 + b2
    A2 = softmax_rows(Z2) if out_activation == "softmax" else 1 / (1 + np.exp(-Z2))
    if loss == "squared_error":
        data = 0.5 * ((A2 - Y) ** 2).sum() / X.shape[0]
    elif out_activation == "softmax":
        data = -(Y * np.log(A2)).sum() / X.shape[0]
    else:
        data = -(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)).sum() / X.shape[0]
    penalty = 0.5 * alpha * sum((W**2).sum() for W in network.coefs) / X.shape[0]
    return data + penalty


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel"])
def test_gradients_match_central_finite_differences(
    numpy_hidden, activation, loss, kind
):
    hidden = numpy_hidden[activation]
    rng = np.random.RandomState(42)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    Y = make_targets(kind, rng)
    out_activation = "softmax" if kind == "multiclass" else "logistic"
    alpha = 0.3
    network = Network(N_FEATURES, N_HIDDEN, Y.shape[1], np.float64)
    network.params[:] = rng.uniform(-1, 1, size=network.params.shape)
    trainer = Trainer(
        network.params,
        N_FEATURES,
        N_HIDDEN,
        Y.shape[1],
        activation=activation,
        out_activation=out_activation,
        loss=loss,
        alpha=alpha,
    )

    loss_value = trainer.loss_and_gradient(X, Y)
    analytic = trainer.grads.copy()
    np.testing.assert_allclose(
        loss_value,
        numpy_loss(network, X, Y, hidden, out_activation, loss, alpha),
        rtol=1e-12,
    )

    step = 1e-6
    numeric = np.empty_like(analytic)
    for i in range(network.params.shape[0]):
        saved = network.params[i]
        network.params[i] = saved + step
        up = numpy_loss(network, X, Y, hidden, out_activation, loss, alpha)
        network.params[i] = saved - step
        down = numpy_loss(network, X, Y, hidden, out_activation, loss, alpha)
        network.params[i] = saved
        numeric[i] = (up - down) / (2 * step)

    relative_error = np.linalg.norm(analytic - numeric) / max(
        np.linalg.norm(analytic), np.linalg.norm(numeric)
    )
    assert relative_error < 1e-6, relative_error
