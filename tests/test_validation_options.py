"""Early stopping on the user's terms: the metric it follows (``scoring``) and
a validation set given to ``fit`` (``X_val``, ``y_val``,
``sample_weight_val``), for both estimators."""

import numpy as np
import pytest
import sklearn
from sklearn.datasets import make_regression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    log_loss,
    mean_absolute_error,
    r2_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor

EARLY = dict(
    n_hidden=16,
    early_stopping=True,
    max_iter=25,
    n_iter_no_change=25,
    random_state=0,
    learning_rate_init=0.01,
)


@pytest.fixture(scope="module")
def digits_parts(digits):
    X, y = digits
    return X[:1200], y[:1200], X[1200:], y[1200:]


@pytest.fixture(scope="module")
def regression_parts():
    X, y = make_regression(n_samples=900, n_features=6, noise=10, random_state=0)
    X = StandardScaler().fit_transform(X)
    y = y / 100
    return X[:700], y[:700], X[700:], y[700:]


def test_a_given_validation_set_replaces_the_split(digits_parts, fit_quietly):
    X, y, X_val, y_val = digits_parts
    clf = fit_quietly(TwoLayerClassifier(**EARLY), X, y, X_val=X_val, y_val=y_val)
    # Every training row is trained on: nothing is held out of X.
    assert clf.t_ == clf.n_iter_ * X.shape[0]
    # The best epoch's weights are kept, and the recorded score is theirs.
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_validation_score_ == accuracy_score(y_val, clf.predict(X_val))


def test_validation_sample_weights_weight_the_score(digits_parts, fit_quietly):
    X, y, X_val, y_val = digits_parts
    weights = np.where(y_val == 3, 5.0, 1.0)
    clf = fit_quietly(
        TwoLayerClassifier(**EARLY),
        X,
        y,
        X_val=X_val,
        y_val=y_val,
        sample_weight_val=weights,
    )
    assert clf.best_validation_score_ == pytest.approx(
        accuracy_score(y_val, clf.predict(X_val), sample_weight=weights), abs=1e-12
    )


def test_scoring_loss_follows_the_validation_loss(digits_parts, fit_quietly):
    X, y, X_val, y_val = digits_parts
    clf = fit_quietly(
        TwoLayerClassifier(scoring="loss", alpha=0.0, **EARLY),
        X,
        y,
        X_val=X_val,
        y_val=y_val,
    )
    np.testing.assert_array_equal(
        clf.validation_scores_, -np.asarray(clf.validation_loss_curve_)
    )
    # The kept weights are those of the lowest validation loss: the
    # cross-entropy of the final model's probabilities, by scikit-learn.
    assert min(clf.validation_loss_curve_) == pytest.approx(
        log_loss(y_val, clf.predict_proba(X_val)), rel=1e-9
    )


@pytest.mark.parametrize(
    ("scoring", "metric"),
    [
        ("neg_log_loss", lambda est, X, y: -log_loss(y, est.predict_proba(X))),
        (
            "balanced_accuracy",
            lambda est, X, y: balanced_accuracy_score(y, est.predict(X)),
        ),
        (
            lambda est, X, y: -np.mean(est.predict(X) != y),
            lambda est, X, y: -np.mean(est.predict(X) != y),
        ),
    ],
    ids=["neg_log_loss", "balanced_accuracy", "callable"],
)
def test_scoring_names_and_callables(digits_parts, fit_quietly, scoring, metric):
    X, y, X_val, y_val = digits_parts
    clf = fit_quietly(
        TwoLayerClassifier(scoring=scoring, **EARLY), X, y, X_val=X_val, y_val=y_val
    )
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_validation_score_ == pytest.approx(
        metric(clf, X_val, y_val), rel=1e-9
    )


def test_scoring_with_the_split_of_validation_fraction(digits, fit_quietly):
    X, y = digits
    default = fit_quietly(TwoLayerClassifier(**EARLY), X, y)
    named = fit_quietly(TwoLayerClassifier(scoring="accuracy", **EARLY), X, y)
    # The scorer "accuracy" and the built-in default score alike.
    np.testing.assert_allclose(named.validation_scores_, default.validation_scores_)
    for a, b in zip(named.coefs_, default.coefs_):
        np.testing.assert_array_equal(a, b)


def test_regressor_validation_set_and_scoring(regression_parts, fit_quietly):
    X, y, X_val, y_val = regression_parts
    r2 = fit_quietly(TwoLayerRegressor(**EARLY), X, y, X_val=X_val, y_val=y_val)
    assert r2.best_validation_score_ == pytest.approx(
        r2_score(y_val, r2.predict(X_val)), rel=1e-9
    )
    mae = fit_quietly(
        TwoLayerRegressor(scoring="neg_mean_absolute_error", **EARLY),
        X,
        y,
        X_val=X_val,
        y_val=y_val,
    )
    assert mae.best_validation_score_ == pytest.approx(
        -mean_absolute_error(y_val, mae.predict(X_val)), rel=1e-9
    )


@pytest.mark.parametrize(
    ("params", "fit_params", "message"),
    [
        ({}, {"X_val": "X", "y_val": "y"}, "early_stopping=False"),
        ({"early_stopping": True}, {"X_val": "X"}, "y_val was not provided"),
        ({"early_stopping": True}, {"y_val": "y"}, "X_val was not provided"),
        (
            {"early_stopping": True, "solver": "lbfgs"},
            {"X_val": "X", "y_val": "y"},
            "lbfgs",
        ),
        ({"early_stopping": True}, {"X_val": "narrow", "y_val": "y"}, "features"),
        ({"early_stopping": True}, {"X_val": "X", "y_val": "unknown"}, "not in y"),
        ({"early_stopping": True}, {"X_val": "X", "y_val": "short"}, "inconsistent"),
    ],
)
def test_bad_validation_sets_are_refused(digits_parts, params, fit_params, message):
    X, y, X_val, y_val = digits_parts
    values = {
        "X": X_val,
        "y": y_val,
        "narrow": X_val[:, :10],
        "unknown": np.where(y_val == 0, 11, y_val),
        "short": y_val[:-1],
    }
    clf = TwoLayerClassifier(n_hidden=4, max_iter=2, **params)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y, **{name: values[key] for name, key in fit_params.items()})


def test_regressor_refuses_a_validation_set_of_other_width(regression_parts):
    X, y, X_val, y_val = regression_parts
    with pytest.raises(ValueError, match="y_val has 2 output"):
        TwoLayerRegressor(early_stopping=True).fit(
            X, y, X_val=X_val, y_val=np.column_stack([y_val, y_val])
        )


def test_validation_set_routed_through_a_pipeline(digits_parts, fit_quietly):
    # Metadata routing passes X_val/y_val to the step that requests them;
    # transform_input has the scaler transform X_val like X.
    X, y, X_val, y_val = digits_parts
    with sklearn.config_context(enable_metadata_routing=True):
        clf = TwoLayerClassifier(**EARLY).set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline(
            [("scale", StandardScaler()), ("clf", clf)], transform_input=["X_val"]
        )
        fit_quietly(pipe, X, y, X_val=X_val, y_val=y_val)
        scaled = pipe.named_steps["scale"].transform(X_val)
        alone = fit_quietly(
            TwoLayerClassifier(**EARLY),
            pipe.named_steps["scale"].transform(X),
            y,
            X_val=scaled,
            y_val=y_val,
        )
    fitted = pipe.named_steps["clf"]
    assert fitted.validation_scores_ == alone.validation_scores_
    assert fitted.best_validation_score_ == accuracy_score(
        y_val, fitted.predict(scaled)
    )
