"""solver="lbfgs": scipy's L-BFGS-B on the compiled full-data loss."""

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sklearn_twolayer import TwoLayerClassifier


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_lbfgs_reaches_mlpclassifier_loss_from_the_same_start(
    fit_quietly, digits, activation
):
    X, y = digits
    # The same random_state gives both estimators the same Glorot start.
    params = dict(solver="lbfgs", random_state=0, max_iter=30, activation=activation)
    ours = fit_quietly(TwoLayerClassifier(n_hidden=40, **params), X, y)
    theirs = fit_quietly(MLPClassifier(hidden_layer_sizes=(40,), **params), X, y)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=0.01)
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.score(X, y) > 0.95


def test_lbfgs_keeps_float32(fit_quietly, digits):
    X, y = digits
    clf = fit_quietly(
        TwoLayerClassifier(n_hidden=20, solver="lbfgs", max_iter=20, random_state=0),
        X.astype(np.float32),
        y,
    )
    assert all(a.dtype == np.float32 for a in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X[:3].astype(np.float32)).dtype == np.float32


def test_lbfgs_records_one_loss_per_iteration(fit_quietly, digits):
    X, y = digits
    clf = fit_quietly(
        TwoLayerClassifier(n_hidden=20, solver="lbfgs", max_iter=15, random_state=0),
        X,
        y,
    )
    assert len(clf.loss_curve_) == clf.n_iter_ == 15
    assert clf.loss_curve_[-1] == pytest.approx(clf.loss_)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_lbfgs_warns_when_it_stops_at_max_iter(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        TwoLayerClassifier(n_hidden=10, solver="lbfgs", max_iter=3).fit(X, y)
