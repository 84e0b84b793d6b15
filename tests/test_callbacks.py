"""scikit-learn's callback API: one task per epoch, seen by ProgressBar,
ScoringMonitor and custom callbacks, also through Pipeline and GridSearchCV."""

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor

callback = pytest.importorskip("sklearn.callback")


@pytest.fixture(scope="module")
def digits(digits):
    # The first 600 digits: enough for these checks, and quick.
    X, y = digits
    return X[:600], y[:600]


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=600, n_features=10, noise=5.0, random_state=0)
    return StandardScaler().fit_transform(X), y / y.std()


#: Each estimator with its data and the scoring its ``score`` computes.
ESTIMATORS = {
    "classifier": (TwoLayerClassifier, "digits", "accuracy"),
    "regressor": (TwoLayerRegressor, "regression", "r2"),
}


@pytest.fixture(params=sorted(ESTIMATORS))
def estimator_case(request):
    """(estimator class, X, y, scoring name) of each estimator."""
    estimator_class, data, scoring = ESTIMATORS[request.param]
    X, y = request.getfixturevalue(data)
    return estimator_class, X, y, scoring


def epoch_rows(monitor):
    """The monitor's rows of epoch tasks (from its single run's log)."""
    return [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]


class StopAfter:
    """A callback asking fit to stop after a given number of epochs, and
    keeping the accuracy of the model it is handed at each epoch's end."""

    def __init__(self, n_epochs):
        self.n_epochs = n_epochs
        self.scores = []

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context, **kwargs):
        pass

    def on_fit_task_end(
        self, estimator, context, *, X=None, y=None, fitted_estimator=None, **kwargs
    ):
        if context.task_name != "epoch":
            return False
        self.scores.append(fitted_estimator.score(X, y))
        return len(self.scores) >= self.n_epochs


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_scoring_monitor_sees_every_epoch(fit_quietly, estimator_case, solver):
    estimator_class, X, y, scoring = estimator_case
    monitor = callback.ScoringMonitor(scoring=scoring)
    clf = estimator_class(n_hidden=10, max_iter=6, solver=solver, random_state=0)
    fit_quietly(clf.set_callbacks(monitor), X, y)
    rows = epoch_rows(monitor)
    assert len(rows) == clf.n_iter_ == 6
    # The last epoch's model is the fitted one.
    assert rows[-1][scoring] == pytest.approx(clf.score(X, y))


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_callback_can_stop_fit_and_sees_each_epochs_model(
    fit_quietly, estimator_case, solver
):
    estimator_class, X, y, _ = estimator_case
    stopper = StopAfter(3)
    clf = estimator_class(n_hidden=10, max_iter=50, solver=solver, random_state=0)
    fit_quietly(clf.set_callbacks(stopper), X, y)
    assert clf.n_iter_ == 3
    assert stopper.scores[-1] == pytest.approx(clf.score(X, y))
    # Each epoch's model was a different one.
    assert len(set(stopper.scores)) > 1


def test_epochs_are_reported_through_pipeline_and_grid_search(
    fit_quietly, estimator_case
):
    estimator_class, X, y, scoring = estimator_case
    monitor = callback.ScoringMonitor(scoring=scoring)
    pipe = make_pipeline(
        StandardScaler(),
        estimator_class(n_hidden=8, max_iter=3, random_state=0).set_callbacks(monitor),
    )
    step = pipe.steps[-1][0]
    search = GridSearchCV(pipe, {f"{step}__alpha": [1e-4, 1e-2]}, cv=2)
    fit_quietly(search, X, y)
    # (2 candidates x 2 splits + the refit) x 3 epochs.
    assert len(epoch_rows(monitor)) == 15


def test_progress_bar_renders_the_epochs(fit_quietly, estimator_case, capsys):
    pytest.importorskip("rich")
    estimator_class, X, y, _ = estimator_case
    clf = estimator_class(n_hidden=8, max_iter=4, random_state=0)
    fit_quietly(clf.set_callbacks(callback.ProgressBar()), X, y)
    out = capsys.readouterr().out
    assert f"{estimator_class.__name__} - fit" in out
    assert "100%" in out


def test_fitting_without_callbacks_is_unchanged(fit_quietly, estimator_case):
    estimator_class, X, y, scoring = estimator_case
    plain = fit_quietly(estimator_class(n_hidden=8, max_iter=4, random_state=0), X, y)
    watched = fit_quietly(
        estimator_class(n_hidden=8, max_iter=4, random_state=0).set_callbacks(
            callback.ScoringMonitor(scoring=scoring)
        ),
        X,
        y,
    )
    for a, b in zip(
        plain.coefs_ + plain.intercepts_, watched.coefs_ + watched.intercepts_
    ):
        np.testing.assert_array_equal(a, b)


def test_stand_ins_work_without_the_callback_api(monkeypatch):
    # As on scikit-learn before 1.9, where `sklearn.callback` cannot be
    # imported: load the compatibility module with that import failing.
    import builtins
    import importlib.util

    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name == "sklearn.callback":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", failing_import)
    spec = importlib.util.find_spec("sklearn_twolayer._callbacks")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.undo()

    assert module.CallbackSupportMixin is not callback.CallbackSupportMixin
    assert not hasattr(module.CallbackSupportMixin, "set_callbacks")

    class PlainEstimator(module.CallbackSupportMixin):
        pass

    reporter = module.EpochReporter(PlainEstimator(), None, None, None, 3)
    for _ in range(3):
        reporter.epoch_begins()
        assert reporter.epoch_ends(lambda: {}) is False
    reporter.fit_ends()
