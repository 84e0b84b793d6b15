"""skops persistence: a fitted model round-trips through skops.io, and what
it stores is plain numpy arrays and Python types, so that the only type a
user must trust is the estimator's own class."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

sio = pytest.importorskip("skops.io")

from sklearn.datasets import (  # noqa: E402
    load_digits,
    make_classification,
    make_multilabel_classification,
    make_regression,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor  # noqa: E402

OUR_CLASSES = {
    TwoLayerClassifier: "sklearn_twolayer._classifier.TwoLayerClassifier",
    TwoLayerRegressor: "sklearn_twolayer._regressor.TwoLayerRegressor",
}


def _binary():
    return make_classification(n_samples=120, n_features=6, random_state=0)


def _multiclass():
    X, y = load_digits(n_class=4, return_X_y=True)
    return X / 16.0, y


def _multilabel():
    return make_multilabel_classification(
        n_samples=100, n_features=8, n_classes=3, random_state=0
    )


def _string_labels():
    X, y = _multiclass()
    return X, np.array(["ant", "bee", "cat", "dog"], dtype=object)[y]


def _float32_sparse():
    X, y = _binary()
    X[X < 0.5] = 0.0
    return sp.csr_matrix(X.astype(np.float32)), y


def _regression(n_outputs=1):
    X, y = make_regression(
        n_samples=120, n_features=6, n_targets=n_outputs, random_state=0
    )
    return X, y / np.abs(y).max()


def _two_outputs():
    return _regression(n_outputs=2)


def _counts():
    X, y = _regression()
    return X, np.random.default_rng(0).poisson(np.exp(y)).astype(float)


def _regression_float32_sparse():
    X, y = _regression()
    X[np.abs(X) < 0.5] = 0.0
    return sp.csr_matrix(X.astype(np.float32)), y


CASES = {
    "binary": (TwoLayerClassifier, _binary, {}),
    "multiclass-sgd-momentum": (TwoLayerClassifier, _multiclass, {"solver": "sgd"}),
    "multilabel": (TwoLayerClassifier, _multilabel, {"activation": "tanh"}),
    "string-labels-lbfgs": (TwoLayerClassifier, _string_labels, {"solver": "lbfgs"}),
    "early-stopping": (TwoLayerClassifier, _multiclass, {"early_stopping": True}),
    "float32-sparse": (
        TwoLayerClassifier,
        _float32_sparse,
        {"activation": "logistic"},
    ),
    "class-weight": (
        TwoLayerClassifier,
        _binary,
        {"class_weight": {0: 2.0, 1: 0.5}},
    ),
    "regression": (TwoLayerRegressor, _regression, {}),
    "regression-two-outputs-sgd": (
        TwoLayerRegressor,
        _two_outputs,
        {"solver": "sgd", "loss": "huber", "huber_delta": 0.3},
    ),
    "regression-poisson": (TwoLayerRegressor, _counts, {"loss": "poisson"}),
    "regression-quantile-lbfgs": (
        TwoLayerRegressor,
        _regression,
        {"solver": "lbfgs", "loss": "quantile", "quantile": 0.8},
    ),
    "regression-early-stopping": (
        TwoLayerRegressor,
        _regression,
        {"early_stopping": True},
    ),
    "regression-float32-sparse": (
        TwoLayerRegressor,
        _regression_float32_sparse,
        {"activation": "tanh", "loss": "absolute_error"},
    ),
}


def _fitted(case):
    estimator_class, make_data, params = CASES[case]
    X, y = make_data()
    model = estimator_class(n_hidden=8, max_iter=15, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, X, y


def _plain(value):
    """Whether ``value`` is built from numpy arrays of plain dtypes, numpy
    scalars and Python's own types only."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype != object or all(_plain(v) for v in value.ravel())
    if isinstance(value, np.generic):
        return True
    if isinstance(value, (list, tuple)):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def _assert_same_state(loaded, original):
    _assert_same_items(vars(loaded), vars(original))


def _assert_same_items(loaded_state, original_state):
    assert loaded_state.keys() == original_state.keys()
    for name, value in original_state.items():
        restored = loaded_state[name]
        if isinstance(value, dict):
            # The optimizer's state: arrays and counts by name.
            assert type(restored) is dict, name
            _assert_same_items(restored, value)
        elif isinstance(value, (list, tuple)) and value and not np.isscalar(value[0]):
            assert type(restored) is type(value), name
            for part, restored_part in zip(value, restored, strict=True):
                np.testing.assert_array_equal(restored_part, part, err_msg=name)
                assert np.asarray(restored_part).dtype == np.asarray(part).dtype
        else:
            np.testing.assert_array_equal(restored, value, err_msg=name)


@pytest.mark.parametrize("case", CASES)
def test_model_stores_only_plain_types(case):
    clf, _, _ = _fitted(case)
    offenders = {
        name: type(value).__name__
        for name, value in vars(clf).items()
        if not _plain(value)
    }
    assert offenders == {}


@pytest.mark.parametrize("case", CASES)
def test_skops_round_trip_trusts_only_our_class(case, tmp_path):
    clf, X, _ = _fitted(case)
    our_class = OUR_CLASSES[type(clf)]
    path = tmp_path / "model.skops"
    sio.dump(clf, path)

    assert sio.get_untrusted_types(file=path) == [our_class]
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)
    loaded = sio.load(path, trusted=[our_class])

    assert type(loaded) is type(clf)
    assert loaded.get_params() == clf.get_params()
    _assert_same_state(loaded, clf)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.predict(X).dtype == clf.predict(X).dtype
    if hasattr(clf, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(
    "case",
    [
        "binary",
        "multiclass-sgd-momentum",
        "multilabel",
        "regression",
        "regression-two-outputs-sgd",
        "regression-poisson",
        "regression-float32-sparse",
    ],
)
def test_training_continues_from_a_loaded_model(case):
    clf, X, y = _fitted(case)
    loaded = sio.loads(sio.dumps(clf), trusted=[OUR_CLASSES[type(clf)]])
    # The optimizer's moments and step count travel with the model: one more
    # epoch from the loaded model equals one more epoch from the original.
    for model in (clf, loaded):
        model.partial_fit(X, y)
    for ours, theirs in zip(
        loaded.coefs_ + loaded.intercepts_, clf.coefs_ + clf.intercepts_
    ):
        np.testing.assert_array_equal(ours, theirs)
    assert loaded.loss_curve_ == clf.loss_curve_


@pytest.mark.parametrize(
    "unfitted",
    [
        TwoLayerClassifier(n_hidden=5, activation="tanh", alpha=0.1),
        TwoLayerRegressor(n_hidden=5, loss="quantile", quantile=0.3),
    ],
    ids=["classifier", "regressor"],
)
def test_unfitted_model_round_trips(unfitted):
    loaded = sio.loads(sio.dumps(unfitted), trusted=[OUR_CLASSES[type(unfitted)]])
    assert type(loaded) is type(unfitted)
    assert loaded.get_params() == unfitted.get_params()
    assert not hasattr(loaded, "coefs_")
