"""Dropout on the hidden layer: one training step against numpy with the same
masks (and finite differences of the masked loss), determinism, and the
estimators' contract."""

import numpy as np
import pytest
from sklearn.datasets import make_regression
from threadpoolctl import threadpool_limits

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor
from sklearn_twolayer._fitting import Trainer
from sklearn_twolayer._network import Network
from sklearn_twolayer._registry import HIDDEN_ACTIVATIONS

OUTPUTS = {
    "softmax": lambda z: (
        np.exp(z - z.max(1, keepdims=True))
        / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)
    ),
    "logistic": lambda z: 1 / (1 + np.exp(-z)),
    "identity": lambda z: z,
}
RATE, SEED = 0.3, 987654321


def targets(out_activation, rng, n_samples):
    if out_activation == "softmax":
        return np.eye(3)[rng.randint(3, size=n_samples)]
    if out_activation == "logistic":
        return rng.randint(2, size=(n_samples, 1)).astype(float)
    return rng.normal(size=(n_samples, 2))


def masked_loss(params, network, X, Y, hidden, out_activation, mask, weights):
    """The loss under ``mask`` in numpy; ``hidden``: the hidden activation g."""
    """The weighted mean loss (no penalty) of the network whose hidden units
    are multiplied by ``mask`` (zeros, or 1 / (1 - rate))."""
    (W1, W2), (b1, b2) = network.unpack(params)
    A2 = OUTPUTS[out_activation]((hidden(X @ W1 + b1) * mask) @ W2 + b2)
    if out_activation == "softmax":
        per_row = -(Y * np.log(A2)).sum(1)
    elif out_activation == "logistic":
        per_row = -(Y * np.log(A2) + (1 - Y) * np.log(1 - A2)).sum(1)
    else:
        per_row = 0.5 * ((A2 - Y) ** 2).sum(1)
    return (weights * per_row).sum() / weights.sum()


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("out_activation", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_one_step_follows_the_gradient_of_the_masked_loss(
    numpy_hidden, activation, out_activation, weighted
):
    # One full-batch sgd step with dropout equals params - lr * gradient of
    # the loss under the mask the kernel draws at step 1; that gradient is
    # checked against central differences.
    rng = np.random.RandomState(0)
    n_samples, n_features, n_hidden = 40, 5, 12
    X = rng.normal(size=(n_samples, n_features))
    Y = targets(out_activation, rng, n_samples)
    weights = rng.uniform(0.5, 2, n_samples) if weighted else np.ones(n_samples)
    network = Network(n_features, n_hidden, Y.shape[1], np.float64)
    network.params[:] = rng.uniform(-0.7, 0.7, network.params.shape)
    start = network.params.copy()
    learning_rate = 0.1
    trainer = Trainer(
        network.params,
        n_features,
        n_hidden,
        Y.shape[1],
        activation=activation,
        out_activation=out_activation,
        loss="squared_error" if out_activation == "identity" else "log_loss",
        solver="sgd",
        learning_rate=learning_rate,
        dropout=RATE,
        dropout_seed=SEED,
    )
    trainer.run_epoch(
        X,
        Y,
        batch_size=n_samples,
        sample_weight=weights if weighted else None,
    )
    # The masks as the kernels draw them, from the test-only entry point
    # (see test_installed_distribution.py).
    probes = pytest.importorskip("sklearn_twolayer._kernel_probes")
    keep = probes.dropout_keep_mask(SEED, 1, np.arange(n_samples), n_hidden, RATE)
    mask = keep / (1 - RATE)
    args = (network, X, Y, numpy_hidden[activation], out_activation, mask, weights)
    step = 1e-6
    numeric = np.empty_like(start)
    for i in range(start.shape[0]):
        up, down = start.copy(), start.copy()
        up[i] += step
        down[i] -= step
        numeric[i] = (masked_loss(up, *args) - masked_loss(down, *args)) / (2 * step)
    analytic = (start - network.params) / learning_rate
    error = np.linalg.norm(analytic - numeric) / np.linalg.norm(numeric)
    assert error < 1e-6, error


def test_masks_differ_between_steps_and_sgd_counts_its_steps():
    rng = np.random.RandomState(0)
    X, Y = rng.normal(size=(30, 4)), rng.normal(size=(30, 1))
    network = Network(4, 8, 1, np.float64)
    network.params[:] = rng.uniform(-0.5, 0.5, network.params.shape)
    trainer = Trainer(
        network.params,
        4,
        8,
        1,
        activation="relu",
        out_activation="identity",
        loss="squared_error",
        solver="sgd",
        learning_rate=0.01,
        dropout=0.5,
        dropout_seed=1,
    )
    trainer.run_epoch(X, Y, batch_size=10)
    assert trainer.steps == 3


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_fits_with_dropout_are_bitwise_equal_for_any_thread_count(
    digits, fit_quietly, solver
):
    X, y = digits
    params = dict(n_hidden=48, dropout=0.4, batch_size=600, max_iter=3, random_state=0)
    runs = []
    for n_threads in (1, 2, 3):
        with threadpool_limits(n_threads, user_api="openmp"):
            runs.append(fit_quietly(TwoLayerClassifier(solver=solver, **params), X, y))
    for other in runs[1:]:
        for a, b in zip(
            other.coefs_ + other.intercepts_, runs[0].coefs_ + runs[0].intercepts_
        ):
            assert np.array_equal(a, b)


def test_dropout_changes_training_but_not_prediction(digits, fit_quietly):
    X, y = digits
    plain = fit_quietly(
        TwoLayerClassifier(n_hidden=32, max_iter=5, random_state=0), X, y
    )
    dropped = fit_quietly(
        TwoLayerClassifier(n_hidden=32, max_iter=5, random_state=0, dropout=0.5), X, y
    )
    assert not np.array_equal(plain.coefs_[0], dropped.coefs_[0])
    # Prediction drops nothing: the plain forward pass of the weights.
    (W1, W2), (b1, b2) = dropped.coefs_, dropped.intercepts_
    logits = np.maximum(X @ W1 + b1, 0) @ W2 + b2
    expected = np.exp(logits - logits.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(dropped.predict_proba(X), expected, rtol=1e-10)
    # The same random_state gives the same fit.
    again = fit_quietly(
        TwoLayerClassifier(n_hidden=32, max_iter=5, random_state=0, dropout=0.5), X, y
    )
    np.testing.assert_array_equal(again.coefs_[0], dropped.coefs_[0])


def test_dropout_works_with_partial_fit_and_sample_weights(fit_quietly):
    X, y = make_regression(n_samples=400, n_features=6, random_state=0)
    weights = np.random.default_rng(0).uniform(0.1, 2, 400)
    reg = TwoLayerRegressor(n_hidden=16, dropout=0.2, random_state=0)
    first = reg.partial_fit(X, y / 100, sample_weight=weights).coefs_[0].copy()
    reg.partial_fit(X, y / 100, sample_weight=weights)
    assert not np.array_equal(first, reg.coefs_[0])
    assert np.isfinite(reg.predict(X)).all()


@pytest.mark.parametrize("Estimator", [TwoLayerClassifier, TwoLayerRegressor])
def test_lbfgs_refuses_dropout(digits, Estimator):
    X, y = digits
    with pytest.raises(ValueError, match="dropout is not supported by solver='lbfgs'"):
        Estimator(solver="lbfgs", dropout=0.1).fit(X, y)


@pytest.mark.parametrize("dropout", [-0.1, 1.0])
def test_dropout_outside_its_range_is_refused(digits, dropout):
    X, y = digits
    with pytest.raises(ValueError, match="dropout"):
        TwoLayerClassifier(dropout=dropout).fit(X, y)
