"""TwoLayerRegressor against MLPRegressor from the same start, numpy, and the
statistics its losses estimate."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_twolayer import TwoLayerRegressor
from sklearn_twolayer._fitting import Trainer
from sklearn_twolayer._network import Network
from sklearn_twolayer._registry import HIDDEN_ACTIVATIONS

PARITY_SOLVERS = {
    "adam": dict(solver="adam", learning_rate_init=0.01),
    "sgd": dict(solver="sgd", learning_rate_init=0.01, momentum=0.9),
    "full-batch": dict(
        solver="sgd",
        batch_size=300,
        momentum=0.0,
        shuffle=False,
        learning_rate_init=0.05,
    ),
    "lbfgs": dict(solver="lbfgs"),
}


def counts_of(X, seed=0):
    """Poisson counts whose log-mean is linear in X."""
    rng = np.random.default_rng(seed)
    return rng.poisson(np.exp(X[:, 0] / 2 + 0.3 * X[:, 1])).astype(float)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("solver", sorted(PARITY_SOLVERS))
def test_fits_equal_mlpregressor_from_the_same_start(
    assert_same_weights, regression_data, fit_quietly, solver, loss, weighted
):
    X, y = regression_data
    if loss == "poisson":
        y = counts_of(X)
    sample_weight = (
        np.random.default_rng(1).uniform(0.2, 3, X.shape[0]) if weighted else None
    )
    params = dict(
        random_state=0, max_iter=25, alpha=1e-3, loss=loss, **PARITY_SOLVERS[solver]
    )
    ours = fit_quietly(
        TwoLayerRegressor(n_hidden=10, **params), X, y, sample_weight=sample_weight
    )
    theirs = fit_quietly(
        MLPRegressor(hidden_layer_sizes=(10,), **params),
        X,
        y,
        sample_weight=sample_weight,
    )
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.out_activation_ == theirs.out_activation_
    if solver == "lbfgs":
        # MLPRegressor keeps no loss curve for L-BFGS.
        assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-9)
    else:
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert_same_weights(ours, theirs, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9)


def test_early_stopping_follows_mlpregressor(
    assert_same_weights, regression_data, fit_quietly
):
    X, y = regression_data
    params = dict(
        random_state=0,
        max_iter=60,
        early_stopping=True,
        n_iter_no_change=3,
        tol=1e-3,
        learning_rate_init=0.01,
    )
    ours = fit_quietly(TwoLayerRegressor(n_hidden=10, **params), X, y)
    theirs = fit_quietly(MLPRegressor(hidden_layer_sizes=(10,), **params), X, y)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(
        ours.validation_scores_, theirs.validation_scores_, rtol=1e-9
    )
    assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_)
    assert_same_weights(ours, theirs, rtol=1e-9, atol=1e-9)
    assert len(ours.validation_loss_curve_) == ours.n_iter_


def test_partial_fit_follows_mlpregressor(assert_same_weights, regression_data):
    X, y = regression_data
    ours = TwoLayerRegressor(n_hidden=10, random_state=0, learning_rate_init=0.01)
    theirs = MLPRegressor(
        hidden_layer_sizes=(10,), random_state=0, learning_rate_init=0.01
    )
    for _ in range(3):
        ours.partial_fit(X, y)
        theirs.partial_fit(X, y)
    assert ours.t_ == theirs.t_
    assert_same_weights(ours, theirs, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize(
    ("loss", "parameter"),
    [
        ("squared_error", None),
        ("poisson", None),
        ("absolute_error", None),
        ("huber", 0.4),
        ("quantile", 0.8),
    ],
)
def test_loss_gradient_matches_finite_differences(
    activation, loss, parameter, regression_loss, numpy_hidden
):
    # The compiled loss and gradient of a small network, multi-output, with
    # the L2 penalty, against central differences of a numpy forward pass.
    rng = np.random.RandomState(3)
    n_samples, n_features, n_hidden, n_outputs = 13, 4, 6, 2
    X = rng.normal(size=(n_samples, n_features))
    Y = rng.normal(size=(n_samples, n_outputs))
    if loss == "poisson":
        Y = rng.poisson(2.0, size=Y.shape).astype(float)
    out_activation = "exp" if loss == "poisson" else "identity"
    alpha = 0.3
    network = Network(n_features, n_hidden, n_outputs, np.float64)
    network.params[:] = rng.uniform(-0.5, 0.5, size=network.params.shape)
    trainer = Trainer(
        network.params,
        n_features,
        n_hidden,
        n_outputs,
        activation=activation,
        out_activation=out_activation,
        loss=loss,
        loss_parameter=parameter or 0.0,
        alpha=alpha,
    )

    def numpy_objective():
        (W1, W2), (b1, b2) = network.coefs, network.intercepts
        Z2 = numpy_hidden[activation](X @ W1 + b1) @ W2 + b2
        prediction = np.exp(Z2) if loss == "poisson" else Z2
        data = regression_loss(prediction, Y, loss, parameter).sum() / n_samples
        return data + 0.5 * alpha * sum((W**2).sum() for W in network.coefs) / (
            n_samples
        )

    value = trainer.loss_and_gradient(X, Y)
    analytic = trainer.grads.copy()
    np.testing.assert_allclose(value, numpy_objective(), rtol=1e-12)
    step = 1e-6
    numeric = np.empty_like(analytic)
    for i in range(analytic.shape[0]):
        saved = network.params[i]
        network.params[i] = saved + step
        up = numpy_objective()
        network.params[i] = saved - step
        down = numpy_objective()
        network.params[i] = saved
        numeric[i] = (up - down) / (2 * step)
    error = np.linalg.norm(analytic - numeric) / np.linalg.norm(numeric)
    assert error < 1e-6, error


@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
def test_quantile_loss_estimates_the_quantile(fit_quietly, quantile):
    # Heteroscedastic noise: about `quantile` of the targets must lie below
    # the fitted quantile, in training and on new data.
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(3000, 1))
    y = np.sin(X[:, 0]) + (0.2 + 0.3 * np.abs(X[:, 0])) * rng.standard_normal(3000)
    reg = fit_quietly(
        TwoLayerRegressor(
            n_hidden=32,
            loss="quantile",
            quantile=quantile,
            learning_rate_init=0.01,
            max_iter=150,
            random_state=0,
        ),
        X[:2000],
        y[:2000],
    )
    for rows in (slice(0, 2000), slice(2000, None)):
        below = np.mean(y[rows] < reg.predict(X[rows]))
        assert abs(below - quantile) < 0.04, (quantile, below)


def test_robust_losses_resist_outliers(fit_quietly):
    # A line with 10% gross outliers: the squared error is pulled towards
    # them, the absolute and Huber losses stay near the line.
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(1000, 1))
    clean = 2 * X[:, 0]
    y = clean + 0.05 * rng.standard_normal(1000)
    y[::10] += 20
    errors = {}
    for loss in ("squared_error", "absolute_error", "huber"):
        reg = fit_quietly(
            TwoLayerRegressor(
                n_hidden=16,
                loss=loss,
                learning_rate_init=0.01,
                max_iter=100,
                random_state=0,
            ),
            X,
            y,
        )
        errors[loss] = np.median(np.abs(reg.predict(X) - clean))
    assert errors["absolute_error"] < 0.2
    assert errors["huber"] < 0.3
    assert errors["squared_error"] > 1.0


def test_prediction_shape_and_dtype_follow_the_training_data(
    regression_data, fit_quietly
):
    X, y = regression_data
    X32 = X.astype(np.float32)
    one = fit_quietly(TwoLayerRegressor(n_hidden=5, max_iter=5), X32, y)
    assert one.predict(X32).shape == (X.shape[0],)
    assert one.predict(X32).dtype == np.float32
    assert one.coefs_[0].dtype == np.float32
    Y = np.column_stack([y, -y, 2 * y])
    three = fit_quietly(TwoLayerRegressor(n_hidden=5, max_iter=5), X, Y)
    assert three.n_outputs_ == 3
    assert three.predict(X).shape == (X.shape[0], 3)
    column = fit_quietly(TwoLayerRegressor(n_hidden=5, max_iter=5), X, y[:, None])
    assert column.predict(X).shape == (X.shape[0], 1)


def test_multi_output_fit_equals_mlpregressor_weights(
    assert_same_weights, regression_data, fit_quietly
):
    X, y = regression_data
    Y = np.column_stack([y, np.sin(3 * y)])
    params = dict(random_state=0, max_iter=10, learning_rate_init=0.01)
    ours = fit_quietly(TwoLayerRegressor(n_hidden=7, **params), X, Y)
    theirs = fit_quietly(MLPRegressor(hidden_layer_sizes=(7,), **params), X, Y)
    assert_same_weights(ours, theirs, rtol=1e-9, atol=1e-9)


def test_poisson_refuses_negative_targets(regression_data):
    X, y = regression_data
    with pytest.raises(ValueError, match="non-negative y"):
        TwoLayerRegressor(loss="poisson").fit(X, y)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (dict(huber_delta=0), "huber_delta"),
        (dict(quantile=1.0), "quantile"),
        (dict(loss="log_loss"), "loss"),
    ],
)
def test_invalid_loss_parameters_are_refused(regression_data, params, message):
    X, y = regression_data
    with pytest.raises(ValueError, match=message):
        TwoLayerRegressor(**params).fit(X, y)


def test_a_warm_start_with_another_number_of_outputs_is_refused(
    regression_data, fit_quietly
):
    X, y = regression_data
    reg = fit_quietly(TwoLayerRegressor(n_hidden=4, max_iter=3, warm_start=True), X, y)
    with pytest.raises(ValueError, match="trained on 1"):
        reg.fit(X, np.column_stack([y, y]))


def test_sparse_fit_equals_dense_fit(assert_same_weights, regression_data, fit_quietly):
    X, y = regression_data
    X = np.where(np.abs(X) > 0.8, X, 0)
    params = dict(n_hidden=6, max_iter=8, random_state=0, loss="huber")
    dense = fit_quietly(TwoLayerRegressor(**params), X, y)
    for matrix in (sp.csr_matrix(X), sp.csc_matrix(X)):
        sparse = fit_quietly(TwoLayerRegressor(**params), matrix, y)
        assert_same_weights(sparse, dense, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss", ["squared_error", "quantile"])
def test_weights_are_bitwise_equal_for_any_thread_count(fit_quietly, loss):
    X, y = make_regression(n_samples=1500, n_features=20, random_state=1)
    params = dict(n_hidden=40, batch_size=700, max_iter=3, random_state=0, loss=loss)
    runs = []
    for n_threads in (1, 2, 3):
        with threadpool_limits(n_threads, user_api="openmp"):
            runs.append(fit_quietly(TwoLayerRegressor(**params), X, y / 100))
    for other in runs[1:]:
        for a, b in zip(
            other.coefs_ + other.intercepts_, runs[0].coefs_ + runs[0].intercepts_
        ):
            assert np.array_equal(a, b)


def test_pipeline_grid_search_and_pickle(regression_data, fit_quietly):
    X, y = regression_data
    search = fit_quietly(
        GridSearchCV(
            make_pipeline(
                StandardScaler(),
                TwoLayerRegressor(max_iter=30, learning_rate_init=0.01, random_state=0),
            ),
            {"twolayerregressor__loss": ["squared_error", "huber"]},
            cv=3,
        ),
        X,
        y,
    )
    assert search.best_score_ > 0.5
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    np.testing.assert_array_equal(restored.predict(X), search.predict(X))
