"""sample_weight and class_weight, against repeated rows, explicit weights
and MLPClassifier's and MLPRegressor's own sample_weight."""

import numpy as np
import pytest
from sklearn import config_context
from sklearn.datasets import load_digits, make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor


def all_weights(clf):
    return clf.coefs_ + clf.intercepts_


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        n_samples=300, n_features=8, n_informative=5, n_classes=3, random_state=0
    )
    weights = np.random.RandomState(1).randint(0, 4, size=X.shape[0])
    return X, y, weights


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="sgd", batch_size="full", momentum=0.0, learning_rate_init=0.2),
        dict(solver="lbfgs"),
    ],
    ids=["full-batch-sgd", "lbfgs"],
)
def test_integer_weights_equal_repeated_rows(fit_quietly, data, params):
    X, y, weights = data
    common = dict(n_hidden=10, max_iter=25, shuffle=False, random_state=0, alpha=1e-2)
    weighted = fit_quietly(
        TwoLayerClassifier(**common, **params), X, y, sample_weight=weights
    )
    repeated = fit_quietly(
        TwoLayerClassifier(**common, **params),
        np.repeat(X, weights, axis=0),
        np.repeat(y, weights),
    )
    for a, b in zip(all_weights(weighted), all_weights(repeated)):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-10)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_weighted_minibatches_follow_mlpclassifier(fit_quietly, data, solver):
    X, y, weights = data
    params = dict(solver=solver, max_iter=5, batch_size=64, random_state=0)
    ours = fit_quietly(
        TwoLayerClassifier(n_hidden=10, **params), X, y, sample_weight=weights + 0.5
    )
    theirs = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(10,), **params),
        X,
        y,
        sample_weight=weights + 0.5,
    )
    for a, b in zip(all_weights(ours), all_weights(theirs)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize(
    "class_weight", ["balanced", {0: 0.5, 1: 2.0, 2: 1.0}], ids=["balanced", "dict"]
)
def test_class_weight_equals_the_matching_sample_weights(
    fit_quietly, data, class_weight
):
    X, y, _ = data
    params = dict(n_hidden=10, max_iter=5, batch_size=64, random_state=0)
    by_class = fit_quietly(
        TwoLayerClassifier(class_weight=class_weight, **params), X, y
    )
    by_sample = fit_quietly(
        TwoLayerClassifier(**params),
        X,
        y,
        sample_weight=compute_sample_weight(class_weight, y),
    )
    for a, b in zip(all_weights(by_class), all_weights(by_sample)):
        np.testing.assert_array_equal(a, b)


def test_class_weight_shifts_predictions_towards_the_heavier_class(fit_quietly):
    X, y = make_classification(
        n_samples=400, n_features=5, weights=[0.9, 0.1], flip_y=0.1, random_state=0
    )
    plain = fit_quietly(TwoLayerClassifier(n_hidden=8, random_state=0), X, y)
    balanced = fit_quietly(
        TwoLayerClassifier(n_hidden=8, random_state=0, class_weight="balanced"), X, y
    )
    assert (balanced.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


def test_weights_reach_fit_through_metadata_routing(fit_quietly, data):
    X, y, weights = data
    params = dict(n_hidden=10, max_iter=5, random_state=0)
    with config_context(enable_metadata_routing=True):
        search = GridSearchCV(
            TwoLayerClassifier(**params)
            .set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True),
            {"alpha": [1e-4]},
            cv=2,
        )
        fit_quietly(search, X, y, sample_weight=weights)
    direct = fit_quietly(TwoLayerClassifier(**params), X, y, sample_weight=weights)
    for a, b in zip(all_weights(search.best_estimator_), all_weights(direct)):
        np.testing.assert_array_equal(a, b)


def test_partial_fit_takes_weights_but_not_balanced_class_weight(data):
    X, y, weights = data
    clf = TwoLayerClassifier(n_hidden=5)
    clf.partial_fit(X, y, classes=[0, 1, 2], sample_weight=weights)
    with pytest.raises(ValueError, match="not supported by partial_fit"):
        TwoLayerClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])


def test_class_weight_is_refused_for_multilabel_targets():
    X, _ = load_digits(return_X_y=True)
    Y = np.random.RandomState(0).randint(0, 2, size=(X.shape[0], 3))
    with pytest.raises(ValueError, match="multilabel"):
        TwoLayerClassifier(class_weight="balanced").fit(X, Y)


def test_negative_weights_are_rejected(data):
    X, y, weights = data
    with pytest.raises(ValueError, match="Negative values in data"):
        TwoLayerClassifier().fit(X, y, sample_weight=-weights - 1.0)


@pytest.fixture(scope="module")
def weighted_regression(regression_data):
    X, y = regression_data
    weights = np.random.RandomState(1).randint(0, 4, size=X.shape[0])
    return X, y, weights


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="sgd", batch_size="full", momentum=0.0, learning_rate_init=0.05),
        dict(solver="lbfgs"),
    ],
    ids=["full-batch-sgd", "lbfgs"],
)
@pytest.mark.parametrize("loss", ["squared_error", "huber", "quantile"])
def test_regressor_integer_weights_equal_repeated_rows(
    fit_quietly, weighted_regression, params, loss
):
    X, y, weights = weighted_regression
    common = dict(
        n_hidden=10, max_iter=25, shuffle=False, random_state=0, alpha=1e-2, loss=loss
    )
    weighted = fit_quietly(
        TwoLayerRegressor(**common, **params), X, y, sample_weight=weights
    )
    repeated = fit_quietly(
        TwoLayerRegressor(**common, **params),
        np.repeat(X, weights, axis=0),
        np.repeat(y, weights),
    )
    for a, b in zip(all_weights(weighted), all_weights(repeated)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    assert weighted.loss_ == pytest.approx(repeated.loss_, rel=1e-9)


def _weighted_search(fit_quietly, estimator, step, X, y, weights):
    """GridSearchCV over a scaled pipeline, with ``weights`` routed to the
    final step's fit and score (the scaler is fitted unweighted)."""
    pipe = Pipeline(
        [
            ("scale", StandardScaler().set_fit_request(sample_weight=False)),
            (
                step,
                estimator.set_fit_request(sample_weight=True).set_score_request(
                    sample_weight=True
                ),
            ),
        ]
    )
    search = GridSearchCV(pipe, {f"{step}__alpha": [1e-4, 1e-1]}, cv=3)
    return fit_quietly(search, X, y, sample_weight=weights)


def test_regressor_weights_are_routed_through_pipeline_and_grid_search(
    fit_quietly,
    weighted_regression,
):
    X, y, weights = weighted_regression
    weights = weights + 0.5
    params = dict(max_iter=8, batch_size=64, learning_rate_init=0.01, random_state=0)
    with config_context(enable_metadata_routing=True):
        ours = _weighted_search(
            fit_quietly, TwoLayerRegressor(n_hidden=10, **params), "net", X, y, weights
        )
        theirs = _weighted_search(
            fit_quietly,
            MLPRegressor(hidden_layer_sizes=(10,), **params),
            "net",
            X,
            y,
            weights,
        )
        unweighted = _weighted_search(
            fit_quietly, TwoLayerRegressor(n_hidden=10, **params), "net", X, y, None
        )
    # Every split's weighted fit and weighted R² as MLPRegressor's.
    for split in range(3):
        key = f"split{split}_test_score"
        np.testing.assert_allclose(
            ours.cv_results_[key], theirs.cv_results_[key], rtol=1e-9
        )
    assert ours.best_params_ == theirs.best_params_
    for a, b in zip(
        all_weights(ours.best_estimator_[-1]), all_weights(theirs.best_estimator_[-1])
    ):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    # The weights did reach the fits: without them the scores differ.
    assert not np.allclose(
        ours.cv_results_["mean_test_score"], unweighted.cv_results_["mean_test_score"]
    )
    # And the refit is the direct weighted fit on the scaled data.
    direct = fit_quietly(
        TwoLayerRegressor(n_hidden=10, alpha=ours.best_params_["net__alpha"], **params),
        StandardScaler().fit_transform(X),
        y,
        sample_weight=weights,
    )
    for a, b in zip(all_weights(ours.best_estimator_[-1]), all_weights(direct)):
        np.testing.assert_array_equal(a, b)
