"""TwoLayerClassifier's behaviour as an estimator."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_twolayer import TwoLayerClassifier


def test_digits_accuracy_matches_mlpclassifier(fit_quietly, digits_split):
    X_train, X_test, y_train, y_test = digits_split
    ours = fit_quietly(TwoLayerClassifier(random_state=0), X_train, y_train)
    theirs = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(100,), random_state=0), X_train, y_train
    )
    our_accuracy = ours.score(X_test, y_test)
    assert our_accuracy >= 0.95
    assert our_accuracy >= theirs.score(X_test, y_test) - 0.01


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh"])
def test_same_random_state_follows_mlpclassifier(
    fit_quietly, digits_split, solver, activation
):
    # Same Glorot start, same shuffling, same updates: the minibatch training
    # must track MLPClassifier's to round-off.
    X_train, _, y_train, _ = digits_split
    params = dict(
        random_state=3, max_iter=5, solver=solver, activation=activation, batch_size=64
    )
    ours = fit_quietly(TwoLayerClassifier(n_hidden=40, **params), X_train, y_train)
    theirs = fit_quietly(
        MLPClassifier(hidden_layer_sizes=(40,), **params), X_train, y_train
    )
    for mine, reference in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_
    ):
        np.testing.assert_allclose(mine, reference, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(
        ours.predict_proba(X_train), theirs.predict_proba(X_train), atol=1e-10
    )


def test_binary_targets_use_one_logistic_output(fit_quietly):
    X, y = make_classification(n_samples=120, n_features=6, random_state=0)
    labels = np.array(["no", "yes"])[y]
    clf = fit_quietly(TwoLayerClassifier(n_hidden=8, random_state=0), X, labels)
    assert clf.n_outputs_ == 1
    assert clf.out_activation_ == "logistic"
    assert clf.coefs_[1].shape == (8, 1)
    proba = clf.predict_proba(X)
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(
        clf.predict(X), clf.classes_[(proba[:, 1] > 0.5).astype(int)]
    )
    assert set(clf.predict(X)) <= {"no", "yes"}


def test_multiclass_targets_use_softmax(fit_quietly):
    X, y = make_classification(
        n_samples=150, n_features=8, n_informative=5, n_classes=4, random_state=0
    )
    clf = fit_quietly(TwoLayerClassifier(n_hidden=8, random_state=0), X, y + 10)
    assert clf.out_activation_ == "softmax"
    assert clf.coefs_[1].shape == (8, 4)
    np.testing.assert_array_equal(clf.classes_, [10, 11, 12, 13])
    np.testing.assert_allclose(
        clf.predict_log_proba(X), np.log(clf.predict_proba(X)), rtol=1e-12
    )


def test_multilabel_targets_use_independent_logistic_outputs(fit_quietly):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(200, 5))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0.5]).astype(int)
    clf = fit_quietly(
        TwoLayerClassifier(n_hidden=16, learning_rate_init=0.01, random_state=0), X, Y
    )
    assert clf.out_activation_ == "logistic"
    assert clf.predict(X).shape == Y.shape
    assert (clf.predict(X) == Y).mean() > 0.9


def test_float32_is_trained_and_predicted_in_float32(fit_quietly, digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = fit_quietly(
        TwoLayerClassifier(random_state=0, max_iter=50),
        X_train.astype(np.float32),
        y_train,
    )
    assert all(c.dtype == np.float32 for c in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X_test.astype(np.float32)).dtype == np.float32
    reference = fit_quietly(
        TwoLayerClassifier(random_state=0, max_iter=50), X_train, y_train
    )
    assert abs(clf.score(X_test, y_test) - reference.score(X_test, y_test)) <= 0.01


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam", batch_size=200),
        dict(solver="sgd", batch_size="full", alpha=1e-2),
        dict(solver="sgd", batch_size=700, activation="tanh", loss="squared_error"),
    ],
    ids=["adam-minibatch", "sgd-full-batch", "sgd-multi-chunk-batch"],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fitted_weights_do_not_depend_on_thread_count(fit_quietly, params, dtype):
    # 1300 rows: a full batch spans several chunks, whose gradients are summed.
    X, y = make_classification(
        n_samples=1300, n_features=40, n_informative=10, n_classes=3, random_state=0
    )
    X = X.astype(dtype)
    fits = []
    for n_threads in (1, 2, 3):
        with threadpool_limits(n_threads, user_api="openmp"):
            fits.append(
                fit_quietly(
                    TwoLayerClassifier(
                        n_hidden=50, max_iter=3, random_state=0, **params
                    ),
                    X,
                    y,
                )
            )
    for other in fits[1:]:
        assert other.loss_curve_ == fits[0].loss_curve_
        for a, b in zip(
            fits[0].coefs_ + fits[0].intercepts_, other.coefs_ + other.intercepts_
        ):
            np.testing.assert_array_equal(a, b)


def test_warm_start_continues_from_current_weights(fit_quietly):
    X, y = make_classification(n_samples=200, n_features=10, random_state=0)
    params = dict(
        solver="sgd",
        momentum=0.0,
        shuffle=False,
        n_hidden=10,
        random_state=0,
        tol=0.0,
        n_iter_no_change=100,
    )
    straight = fit_quietly(TwoLayerClassifier(max_iter=10, **params), X, y)
    in_two = fit_quietly(TwoLayerClassifier(max_iter=4, **params), X, y)
    in_two.set_params(warm_start=True, max_iter=6)
    fit_quietly(in_two, X, y)
    for a, b in zip(
        straight.coefs_ + straight.intercepts_, in_two.coefs_ + in_two.intercepts_
    ):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert in_two.loss_curve_ == pytest.approx(straight.loss_curve_, rel=1e-12)
    assert in_two.t_ == 10 * 200


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_warm_start_can_switch_early_stopping_on_and_off(fit_quietly, solver):
    X, y = make_classification(n_samples=200, n_features=10, random_state=0)
    clf = TwoLayerClassifier(
        solver=solver, n_hidden=8, max_iter=4, warm_start=True, random_state=0
    )
    fit_quietly(clf, X, y)

    fit_quietly(clf.set_params(early_stopping=True, max_iter=6), X, y)
    assert clf.best_loss_ is None
    assert len(clf.validation_scores_) == len(clf.validation_loss_curve_)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert len(clf.loss_curve_) == 4 + clf.n_iter_

    fit_quietly(clf.set_params(early_stopping=False), X, y)
    assert clf.validation_scores_ is None
    assert clf.validation_loss_curve_ is None
    assert clf.best_validation_score_ is None
    assert clf.best_loss_ == min(clf.loss_curve_[-clf.n_iter_ :])


def test_warm_start_from_a_model_without_validation_attributes(fit_quietly):
    # As models pickled before fits without early stopping recorded None.
    X, y = make_classification(n_samples=200, n_features=10, random_state=0)
    params = dict(n_hidden=8, max_iter=3, warm_start=True, random_state=0)
    reference = fit_quietly(TwoLayerClassifier(**params), X, y)
    older = fit_quietly(TwoLayerClassifier(**params), X, y)
    for name in (
        "validation_scores_",
        "validation_loss_curve_",
        "best_validation_score_",
    ):
        delattr(older, name)
    fit_quietly(reference, X, y)
    fit_quietly(older, X, y)
    assert older.loss_curve_ == reference.loss_curve_
    fit_quietly(older.set_params(early_stopping=True), X, y)
    assert len(older.validation_scores_) == older.n_iter_


def test_warm_start_rejects_new_classes_and_a_new_n_hidden(fit_quietly):
    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    clf = fit_quietly(TwoLayerClassifier(n_hidden=4, max_iter=2, warm_start=True), X, y)
    with pytest.raises(ValueError, match="same classes"):
        clf.fit(X, y + 1)
    clf.set_params(n_hidden=5)
    with pytest.raises(ValueError, match="n_hidden=5"):
        clf.fit(X, y)


@pytest.mark.parametrize("tol", [10.0, 1e-2])
def test_training_stops_when_loss_stops_improving_as_mlpclassifier(tol):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    params = dict(tol=tol, n_iter_no_change=3, max_iter=100, random_state=0)
    clf = TwoLayerClassifier(**params).fit(X, y)
    reference = MLPClassifier(**params).fit(X, y)
    assert clf.n_iter_ == reference.n_iter_ < 100
    assert len(clf.loss_curve_) == clf.n_iter_
    assert clf.best_loss_ == pytest.approx(reference.best_loss_, rel=1e-10)


def test_max_iter_reached_warns():
    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        TwoLayerClassifier(max_iter=2).fit(X, y)


def test_verbose_prints_one_line_per_epoch(fit_quietly, capsys):
    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    fit_quietly(TwoLayerClassifier(max_iter=3, verbose=True), X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "Iteration 1",
        "Iteration 2",
        "Iteration 3",
    ]


def test_pipeline_in_grid_search_with_two_jobs(fit_quietly, digits_split):
    X_train, X_test, y_train, y_test = digits_split
    search = GridSearchCV(
        make_pipeline(
            StandardScaler(), TwoLayerClassifier(max_iter=30, random_state=0)
        ),
        {
            "twolayerclassifier__n_hidden": [16, 32],
            "twolayerclassifier__activation": ["relu", "tanh"],
        },
        cv=3,
        n_jobs=2,
    )
    fit_quietly(search, X_train, y_train)
    assert len(search.cv_results_["params"]) == 4
    assert search.score(X_test, y_test) > 0.9


def test_pickle_round_trip_keeps_predictions(fit_quietly, digits_split):
    X_train, X_test, y_train, _ = digits_split
    clf = fit_quietly(TwoLayerClassifier(max_iter=10, random_state=0), X_train, y_train)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(
        restored.predict_proba(X_test), clf.predict_proba(X_test)
    )
    np.testing.assert_array_equal(restored.predict(X_test), clf.predict(X_test))


def test_clone_gives_an_unfitted_copy_with_the_same_params(fit_quietly, digits_split):
    X_train, _, y_train, _ = digits_split
    clf = fit_quietly(TwoLayerClassifier(n_hidden=7, max_iter=2), X_train, y_train)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert not hasattr(copy, "coefs_")


def test_predict_on_more_rows_than_one_chunk_matches_row_by_row(fit_quietly):
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    clf = fit_quietly(TwoLayerClassifier(n_hidden=5, max_iter=3, random_state=0), X, y)
    # 4200 rows: many blocks of the prediction kernel, the last one partial.
    X_big = np.tile(X, (14, 1))
    proba = clf.predict_proba(X_big)
    np.testing.assert_allclose(proba[: len(X)], clf.predict_proba(X), rtol=1e-12)
    np.testing.assert_allclose(proba[-len(X) :], proba[: len(X)], rtol=1e-12)


def test_multilabel_probabilities_stay_strictly_inside_zero_one(fit_quietly):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(100, 3))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0]).astype(int)
    clf = fit_quietly(TwoLayerClassifier(n_hidden=8, random_state=0), X, Y)
    # Inputs far out saturate the logistic outputs to 0 or 1 in floating point.
    proba = clf.predict_proba(np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]]))
    assert np.all(proba > 0) and np.all(proba < 1)


def test_partial_fit_takes_mlpclassifiers_argument_order(digits_split):
    # partial_fit(X, y, sample_weight, classes), positionally, as MLPClassifier.
    X_train, _, y_train, _ = digits_split
    weights = np.random.default_rng(0).uniform(0.5, 2, X_train.shape[0])
    classes = np.unique(y_train)
    ours = TwoLayerClassifier(n_hidden=12, random_state=0)
    theirs = MLPClassifier(hidden_layer_sizes=(12,), random_state=0)
    for _ in range(2):
        ours.partial_fit(X_train, y_train, weights, classes)
        theirs.partial_fit(X_train, y_train, weights, classes)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_hyperparameters_changed_after_fit_take_effect_at_the_next_fit():
    """Prediction reads the fitted model only: changing ``activation``
    (even by a set_params call that raises) leaves predictions as they
    were, and the next fit uses it."""
    X, y = load_iris(return_X_y=True)
    clf = TwoLayerClassifier(n_hidden=8, max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    before = clf.predict_proba(X)
    with pytest.raises(ValueError, match="no_such_param"):
        clf.set_params(activation="tanh", no_such_param=1)
    clf.set_params(activation="tanh")
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.hidden_activation_ == "relu"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert clf.hidden_activation_ == "tanh"
    W1, b1 = clf.coefs_[0], clf.intercepts_[0]
    hidden = np.tanh(X @ W1 + b1)
    logits = hidden @ clf.coefs_[1] + clf.intercepts_[1]
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected /= expected.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-10, atol=1e-12)
