"""Learning-rate schedules, early stopping, warm starts and partial_fit, each
against MLPClassifier or MLPRegressor run from the same random_state (same
start, same shuffling), and interrupted fits."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor


@pytest.fixture(scope="module")
def breast_cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def fit_both(X, y, n_hidden=20, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = TwoLayerClassifier(n_hidden=n_hidden, random_state=0, **params).fit(X, y)
        theirs = MLPClassifier(
            hidden_layer_sizes=(n_hidden,), random_state=0, **params
        ).fit(X, y)
    return ours, theirs


@pytest.mark.parametrize(
    "params",
    [
        dict(learning_rate="invscaling", learning_rate_init=0.5, power_t=0.4),
        dict(
            learning_rate="adaptive",
            learning_rate_init=0.3,
            tol=1e-2,
            n_iter_no_change=2,
        ),
        dict(learning_rate="constant", nesterovs_momentum=False, momentum=0.5),
    ],
    ids=["invscaling", "adaptive", "plain-momentum"],
)
def test_sgd_schedules_follow_mlpclassifier(assert_same_weights, digits, params):
    X, y = digits
    ours, theirs = fit_both(X, y, solver="sgd", max_iter=40, **params)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert_same_weights(ours, theirs, rtol=1e-9, atol=1e-12)


def test_adaptive_schedule_divides_the_step_and_reports_it(digits, capsys):
    X, y = digits
    fit_both(
        X,
        y,
        solver="sgd",
        learning_rate="adaptive",
        learning_rate_init=0.3,
        tol=1e-2,
        n_iter_no_change=2,
        max_iter=40,
        verbose=True,
    )
    ours_out = capsys.readouterr().out
    assert "Setting learning rate to 0.060000" in ours_out


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_early_stopping_restores_mlpclassifiers_best_epoch(
    assert_same_weights, breast_cancer, solver
):
    # Binary targets: both estimators draw the same stratified split.
    X, y = breast_cancer
    ours, theirs = fit_both(
        X, y, solver=solver, early_stopping=True, n_iter_no_change=5, max_iter=100
    )
    assert ours.n_iter_ == theirs.n_iter_ < 100
    assert ours.validation_scores_ == theirs.validation_scores_
    assert ours.best_validation_score_ == theirs.best_validation_score_
    assert ours.best_loss_ is None
    assert_same_weights(ours, theirs, rtol=1e-9, atol=1e-12)
    # The weights kept are those of the best epoch, not of the last.
    best = int(np.argmax(ours.validation_scores_))
    assert best < ours.n_iter_ - 1


def test_validation_loss_curve_has_one_finite_loss_per_epoch(digits):
    X, y = digits
    clf = TwoLayerClassifier(
        n_hidden=20, early_stopping=True, max_iter=15, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    assert len(clf.validation_loss_curve_) == len(clf.validation_scores_) == clf.n_iter_
    assert np.all(np.isfinite(clf.validation_loss_curve_))
    assert clf.validation_loss_curve_[-1] < clf.validation_loss_curve_[0]


def test_early_stopping_needs_a_validation_set():
    X, y = load_digits(return_X_y=True)
    with pytest.raises(ValueError, match="validation set is too small"):
        TwoLayerClassifier(early_stopping=True, validation_fraction=0.01).fit(
            X[:30], y[:30] % 2
        )


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_calls_equal_fit_epochs_and_mlpclassifier(
    assert_same_weights, digits, solver
):
    X, y = digits
    params = dict(n_hidden=20, random_state=0, solver=solver, shuffle=False)
    stepped = TwoLayerClassifier(**params)
    reference = MLPClassifier(
        hidden_layer_sizes=(20,), random_state=0, solver=solver, shuffle=False
    )
    for _ in range(4):
        stepped.partial_fit(X, y, classes=np.arange(10))
        reference.partial_fit(X, y, classes=np.arange(10))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = TwoLayerClassifier(max_iter=4, tol=0.0, **params).fit(X, y)
    for a, b in zip(
        stepped.coefs_ + stepped.intercepts_, whole.coefs_ + whole.intercepts_
    ):
        np.testing.assert_array_equal(a, b)
    assert_same_weights(stepped, reference, rtol=1e-9, atol=1e-12)
    assert stepped.t_ == 4 * X.shape[0]
    assert stepped.loss_curve_ == whole.loss_curve_


def test_partial_fit_first_call_needs_classes_and_may_see_one_class(digits):
    X, y = digits
    clf = TwoLayerClassifier(n_hidden=5)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    zeros = y == 0
    clf.partial_fit(X[zeros], y[zeros], classes=np.arange(10))
    assert clf.out_activation_ == "softmax"
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    clf.partial_fit(X, y)
    assert clf.predict(X).shape == y.shape


def test_partial_fit_rejects_new_labels_and_early_stopping(digits):
    X, y = digits
    clf = TwoLayerClassifier(n_hidden=5).partial_fit(X, y % 3, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        clf.partial_fit(X, y)
    with pytest.raises(ValueError, match="early_stopping"):
        TwoLayerClassifier(early_stopping=True).partial_fit(X, y, classes=range(10))


def test_partial_fit_is_not_offered_by_lbfgs():
    assert not hasattr(TwoLayerClassifier(solver="lbfgs"), "partial_fit")
    assert hasattr(TwoLayerClassifier(solver="sgd"), "partial_fit")


@pytest.mark.parametrize(
    "estimator, data, params",
    [
        (TwoLayerClassifier, "digits", {}),
        (TwoLayerRegressor, "regression_data", {"loss": "huber"}),
    ],
)
def test_keyboard_interrupt_keeps_the_finished_epochs(
    request, fit_quietly, assert_same_weights, monkeypatch, estimator, data, params
):
    from sklearn_twolayer import _fitting
    from sklearn_twolayer._fitting import Trainer

    X, y = request.getfixturevalue(data)
    calls = []

    class InterruptedAfterTwoEpochs(Trainer):
        def run_epoch(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                raise KeyboardInterrupt
            return super().run_epoch(*args, **kwargs)

    monkeypatch.setattr(_fitting, "Trainer", InterruptedAfterTwoEpochs)
    params = dict(n_hidden=10, random_state=0, max_iter=10, **params)
    with pytest.warns(UserWarning, match="Training interrupted by user"):
        interrupted = estimator(**params).fit(X, y)
    monkeypatch.undo()
    two_epochs = fit_quietly(estimator(**{**params, "max_iter": 2}), X, y)
    assert interrupted.n_iter_ == 2
    assert interrupted.loss_curve_ == two_epochs.loss_curve_
    assert_same_weights(interrupted, two_epochs)
    np.testing.assert_array_equal(interrupted.predict(X), two_epochs.predict(X))


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam"),
        dict(solver="sgd", momentum=0.9),
        dict(solver="lbfgs"),
    ],
    ids=["adam", "sgd-momentum", "lbfgs"],
)
def test_regressor_warm_start_follows_mlpregressor(
    assert_same_weights, regression_data, fit_quietly, params
):
    X, y = regression_data
    common = dict(random_state=0, learning_rate_init=0.01, max_iter=4, **params)
    ours = TwoLayerRegressor(n_hidden=12, **common)
    theirs = MLPRegressor(hidden_layer_sizes=(12,), **common)
    for model in (ours, theirs):
        fit_quietly(model, X, y)
        fit_quietly(model.set_params(warm_start=True, max_iter=6), X, y)
    assert ours.n_iter_ == theirs.n_iter_
    assert_same_weights(ours, theirs, rtol=1e-9, atol=1e-12)
    if params["solver"] != "lbfgs":
        # MLPRegressor keeps no loss curve for L-BFGS.
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
        assert len(ours.loss_curve_) == 4 + 6
        assert ours.t_ == theirs.t_ == 10 * X.shape[0]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_regressor_partial_fit_equals_fit_epochs_and_mlpregressor(
    assert_same_weights, regression_data, fit_quietly, solver, weighted
):
    X, y = regression_data
    sample_weight = (
        np.random.default_rng(2).uniform(0.2, 3, X.shape[0]) if weighted else None
    )
    params = dict(random_state=0, solver=solver, shuffle=False, learning_rate_init=0.01)
    stepped = TwoLayerRegressor(n_hidden=12, **params)
    reference = MLPRegressor(hidden_layer_sizes=(12,), **params)
    for _ in range(4):
        stepped.partial_fit(X, y, sample_weight)
        reference.partial_fit(X, y, sample_weight)
    whole = fit_quietly(
        TwoLayerRegressor(n_hidden=12, max_iter=4, tol=0.0, **params),
        X,
        y,
        sample_weight=sample_weight,
    )
    for a, b in zip(
        stepped.coefs_ + stepped.intercepts_, whole.coefs_ + whole.intercepts_
    ):
        np.testing.assert_array_equal(a, b)
    assert stepped.loss_curve_ == whole.loss_curve_
    assert_same_weights(stepped, reference, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(stepped.loss_curve_, reference.loss_curve_, rtol=1e-9)
    assert stepped.t_ == reference.t_ == 4 * X.shape[0]
