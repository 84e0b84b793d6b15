"""Progress reports and warnings of a running fit."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier
from sklearn_twolayer._progress import listening


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_listener_receives_each_iteration_as_data_and_nothing_is_printed(
    solver, capsys
):
    X, y = load_iris(return_X_y=True)
    received = []
    clf = TwoLayerClassifier(n_hidden=8, solver=solver, max_iter=15, verbose=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with listening(received.append):
            clf.fit(X, y)
    iterations = [p for p in received if p.message is None]
    assert [p.n_iter for p in iterations] == list(range(1, len(clf.loss_curve_) + 1))
    np.testing.assert_array_equal([p.loss for p in iterations], clf.loss_curve_)
    assert capsys.readouterr().out == ""


def test_verbose_prints_each_iteration_as_mlpclassifier(capsys):
    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = TwoLayerClassifier(n_hidden=8, max_iter=3, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"Iteration {i}, loss = {loss:.8f}"
        for i, loss in enumerate(clf.loss_curve_, start=1)
    ]


@pytest.mark.parametrize("in_pipeline", [False, True])
def test_warnings_of_a_fit_point_at_the_callers_line(in_pipeline):
    X, y = load_iris(return_X_y=True)
    model = TwoLayerClassifier(n_hidden=8, max_iter=2, batch_size=1000)
    if in_pipeline:
        model = make_pipeline(StandardScaler(), model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(X, y)
    ours = [
        w
        for w in caught
        if "Maximum iterations" in str(w.message) or "batch_size" in str(w.message)
    ]
    assert len(ours) == 2
    # Inside a Pipeline the first frame outside this package and
    # scikit-learn's fit wrapper is the pipeline's own code.
    expected = "pipeline.py" if in_pipeline else __file__
    assert all(w.filename.endswith(expected) for w in ours), [
        w.filename for w in ours
    ]
