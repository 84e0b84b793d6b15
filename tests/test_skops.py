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
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

from sklearn_twolayer import TwoLayerClassifier  # noqa: E402

OUR_CLASS = "sklearn_twolayer._classifier.TwoLayerClassifier"


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


CASES = {
    "binary": (_binary, {}),
    "multiclass-sgd-momentum": (_multiclass, {"solver": "sgd"}),
    "multilabel": (_multilabel, {"activation": "tanh"}),
    "string-labels-lbfgs": (_string_labels, {"solver": "lbfgs"}),
    "early-stopping": (_multiclass, {"early_stopping": True}),
    "float32-sparse": (_float32_sparse, {"activation": "logistic"}),
    "class-weight": (_binary, {"class_weight": {0: 2.0, 1: 0.5}}),
}


def _fitted(case):
    make_data, params = CASES[case]
    X, y = make_data()
    clf = TwoLayerClassifier(n_hidden=8, max_iter=15, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return clf, X, y


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
    path = tmp_path / "model.skops"
    sio.dump(clf, path)

    assert sio.get_untrusted_types(file=path) == [OUR_CLASS]
    with pytest.raises(sio.exceptions.UntrustedTypesFoundException):
        sio.load(path)
    loaded = sio.load(path, trusted=[OUR_CLASS])

    assert type(loaded) is TwoLayerClassifier
    assert loaded.get_params() == clf.get_params()
    _assert_same_state(loaded, clf)
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("case", ["binary", "multiclass-sgd-momentum", "multilabel"])
def test_training_continues_from_a_loaded_model(case):
    clf, X, y = _fitted(case)
    loaded = sio.loads(sio.dumps(clf), trusted=[OUR_CLASS])
    # The optimizer's moments and step count travel with the model: one more
    # epoch from the loaded model equals one more epoch from the original.
    for model in (clf, loaded):
        model.partial_fit(X, y)
    for ours, theirs in zip(
        loaded.coefs_ + loaded.intercepts_, clf.coefs_ + clf.intercepts_
    ):
        np.testing.assert_array_equal(ours, theirs)
    assert loaded.loss_curve_ == clf.loss_curve_


def test_unfitted_model_round_trips():
    clf = TwoLayerClassifier(n_hidden=5, activation="tanh", alpha=0.1)
    loaded = sio.loads(sio.dumps(clf), trusted=[OUR_CLASS])
    assert loaded.get_params() == clf.get_params()
    assert not hasattr(loaded, "coefs_")
