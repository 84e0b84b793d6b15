"""The scenarios of ``asv_bench/compare.py`` as asv benchmarks, at reduced size.

Each training scenario fits ``TwoLayerClassifier`` and the equivalent
``MLPClassifier`` with the same network, solver, batch size and number of
epochs, ``alpha=0``, ``tol=0`` and ``n_iter_no_change=epochs + 1`` (so that
every epoch runs) and ``random_state=0``.  The data are split into a
stratified 75% training and 25% test set with ``random_state=0``; the
standardized sets are scaled with statistics of the training split only.

To keep asv fast, "medium" uses 5000 samples instead of 20000, and
"large32" and "fullbatch" 6000 samples instead of 60000 (still with 784
features); all hyperparameters are those of ``compare.py``.
"""

from functools import cache

import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor
from sklearn_twolayer._registry import HIDDEN_ACTIVATIONS

from .common import ESTIMATORS, REGRESSORS, Benchmark, fit_quietly
from .datasets import load_data, split

#: Samples of the reduced data sets (``compare.py``: 20000 and 60000).
MEDIUM_SAMPLES = 5000
LARGE_SAMPLES = 6000

#: Rows of the predict_proba throughput benchmark (as in ``compare.py``).
PREDICT_ROWS = 20000

#: The training runs, shared with ``compare.py`` and ``peak_memory.py``:
#: name -> (data name, keyword arguments of :func:`make_scenario_estimator`).
SCENARIOS = {
    "digits": (
        "digits",
        dict(
            n_hidden=100,
            solver="adam",
            learning_rate_init=1e-3,
            momentum=0.0,
            batch_size=200,
            epochs=50,
        ),
    ),
    "medium": (
        "medium",
        dict(
            n_hidden=128,
            solver="adam",
            learning_rate_init=1e-3,
            momentum=0.0,
            batch_size=256,
            epochs=10,
        ),
    ),
    "large32": (
        "large32",
        dict(
            n_hidden=256,
            solver="sgd",
            learning_rate_init=0.01,
            momentum=0.9,
            batch_size=512,
            epochs=3,
        ),
    ),
    "fullbatch": (
        "large64",
        dict(
            n_hidden=128,
            solver="sgd",
            learning_rate_init=0.1,
            momentum=0.0,
            batch_size="full",
            epochs=10,
        ),
    ),
    "regression": (
        "regression",
        dict(
            n_hidden=128,
            solver="adam",
            learning_rate_init=1e-3,
            momentum=0.0,
            batch_size=256,
            epochs=10,
        ),
    ),
}

#: Scenario data with continuous targets: the regressors are compared there.
REGRESSION_DATA = ("regression",)


def estimators_for(data):
    """The pair of estimators a scenario's data is compared on."""
    return REGRESSORS if data in REGRESSION_DATA else ESTIMATORS


@cache
def load_scenario_data(name):
    """Return ``(X_train, X_test, y_train, y_test)`` of a scenario's data.

    Parameters
    ----------
    name : {"digits", "medium", "large32", "large64", "regression"}
        ``"digits"``: scikit-learn's digits divided by 16, float64;
        ``"medium"``: standardized ``make_classification`` with 5000 samples,
        100 features (60 informative) and 5 classes, float64;
        ``"large32"`` / ``"large64"``: standardized ``make_classification``
        with 6000 samples, 784 features (200 informative) and 10 classes,
        as float32 / float64; ``"regression"``: standardized
        ``make_regression`` with 5000 samples, 100 features (60
        informative), noise 10, and standardized targets.

    Returns
    -------
    tuple of ndarray
        The train and test splits; cached, so treat them as read-only.
    """
    if name == "digits":
        return load_data("digits")
    if name == "medium":
        X, y = make_classification(
            n_samples=MEDIUM_SAMPLES,
            n_features=100,
            n_informative=60,
            n_classes=5,
            random_state=0,
        )
        return split(X, y, scale=True)
    if name == "large64":
        X, y = make_classification(
            n_samples=LARGE_SAMPLES,
            n_features=784,
            n_informative=200,
            n_classes=10,
            random_state=0,
        )
        return split(X, y, scale=True)
    if name == "regression":
        X, y = make_regression(
            n_samples=MEDIUM_SAMPLES,
            n_features=100,
            n_informative=60,
            noise=10.0,
            random_state=0,
        )
        return split(X, (y - y.mean()) / y.std(), scale=True, stratify=False)
    if name == "large32":
        X_train, X_test, y_train, y_test = load_scenario_data("large64")
        return X_train.astype(np.float32), X_test.astype(np.float32), y_train, y_test
    raise ValueError(f"unknown scenario data {name!r}")


def make_scenario_estimator(
    name,
    n_samples,
    *,
    n_hidden,
    solver,
    learning_rate_init,
    momentum,
    batch_size,
    epochs,
    activation="relu",
):
    """Return unfitted estimator `name` configured for a scenario (with
    hidden ``activation``).

    ``batch_size="full"`` becomes ``batch_size=n_samples`` (and no
    shuffling) for ``MLPClassifier``; full-batch training never shuffles.
    """
    full = batch_size == "full"
    common = dict(
        activation=activation,
        solver=solver,
        alpha=0.0,
        learning_rate_init=learning_rate_init,
        momentum=momentum,
        max_iter=epochs,
        shuffle=not full,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    if name == "TwoLayerClassifier":
        return TwoLayerClassifier(n_hidden=n_hidden, batch_size=batch_size, **common)
    if name == "MLPClassifier":
        return MLPClassifier(
            hidden_layer_sizes=(n_hidden,),
            batch_size=n_samples if full else batch_size,
            **common,
        )
    if name == "TwoLayerRegressor":
        return TwoLayerRegressor(n_hidden=n_hidden, batch_size=batch_size, **common)
    if name == "MLPRegressor":
        return MLPRegressor(
            hidden_layer_sizes=(n_hidden,),
            batch_size=n_samples if full else batch_size,
            **common,
        )
    raise ValueError(
        f"unknown estimator {name!r}; expected one of {ESTIMATORS + REGRESSORS}"
    )


class _TrainingScenario(Benchmark):
    """Fit time, fit peak memory and test accuracy of one scenario.

    Subclasses set ``data`` and ``settings`` from :data:`SCENARIOS`, and
    define ``setup_cache`` as ``return self._fit_all()``: asv keys the cache
    by the source file and line of ``setup_cache``, so an inherited one would
    be shared by all subclasses.
    """

    param_names = ["estimator"]
    params = [list(ESTIMATORS)]

    data = None
    settings = None

    def _estimator(self, name, n_samples):
        return make_scenario_estimator(name, n_samples, **self.settings)

    def _fit_all(self):
        """Fit each estimator once on the training split."""
        X_train, _, y_train, _ = load_scenario_data(self.data)
        return {
            name: fit_quietly(self._estimator(name, X_train.shape[0]), X_train, y_train)
            for name in self.params[0]
        }

    def setup(self, fitted, estimator):
        """Load the data, an unfitted and a fitted estimator."""
        self.X_train, self.X_test, self.y_train, self.y_test = load_scenario_data(
            self.data
        )
        self.estimator = self._estimator(estimator, self.X_train.shape[0])
        self.fitted = fitted[estimator]

    def time_fit(self, fitted, estimator):
        """Wall time of ``fit`` on the training split."""
        fit_quietly(self.estimator, self.X_train, self.y_train)

    def peakmem_fit(self, fitted, estimator):
        """Peak resident memory of the process during ``fit``."""
        fit_quietly(self.estimator, self.X_train, self.y_train)

    def track_test_score(self, fitted, estimator):
        """Accuracy (classifiers) or R² (regressors) on the held-out 25% test
        split."""
        return float(self.fitted.score(self.X_test, self.y_test))

    track_test_score.unit = "score"


class DigitsScenario(_TrainingScenario):
    """Digits (/16, float64): H=100, ReLU, Adam, lr 1e-3, batch 200, 50 epochs."""

    data, settings = SCENARIOS["digits"]

    def setup_cache(self):
        """Fit each estimator once on the training split."""
        return self._fit_all()


class MediumScenario(_TrainingScenario):
    """Medium: H=128, ReLU, Adam, lr 1e-3, batch 256, 10 epochs.

    Standardized float64 ``make_classification`` data with 100 features
    (60 informative) and 5 classes; 5000 samples instead of compare.py's
    20000.
    """

    data, settings = SCENARIOS["medium"]

    def setup_cache(self):
        """Fit each estimator once on the training split."""
        return self._fit_all()


class Large32Scenario(_TrainingScenario):
    """Large32: H=256, ReLU, SGD momentum 0.9, lr 0.01, batch 512, 3 epochs.

    Standardized float32 ``make_classification`` data with 784 features
    (200 informative) and 10 classes; 6000 samples instead of compare.py's
    60000.  Nesterov momentum, the default of both estimators.
    """

    data, settings = SCENARIOS["large32"]

    def setup_cache(self):
        """Fit each estimator once on the training split."""
        return self._fit_all()


class FullBatchScenario(_TrainingScenario):
    """Full-batch gradient descent: H=128, ReLU, SGD lr 0.1, 10 iterations.

    The data of :class:`Large32Scenario` as float64 (6000 samples instead of
    60000); ``batch_size="full"`` (``MLPClassifier``: the number of training
    samples), momentum 0 and ``shuffle=False``.
    """

    data, settings = SCENARIOS["fullbatch"]

    def setup_cache(self):
        """Fit each estimator once on the training split."""
        return self._fit_all()


class RegressionScenario(_TrainingScenario):
    """Regression: H=128, ReLU, Adam, lr 1e-3, batch 256, 10 epochs.

    TwoLayerRegressor beside MLPRegressor (squared error) on standardized
    ``make_regression`` data with 100 features (60 informative); 5000
    samples instead of compare.py's 20000.
    """

    data, settings = SCENARIOS["regression"]
    params = [list(REGRESSORS)]

    def setup_cache(self):
        """Fit each estimator once on the training split."""
        return self._fit_all()


class PredictScenario(Benchmark):
    """``predict_proba`` latency and throughput of the medium-scenario model.

    The models are fitted as in :class:`MediumScenario` (5000-sample data).
    Throughput is measured on ``PREDICT_ROWS`` = 20000 rows: all 5000 rows
    of the medium data tiled 4 times.
    """

    param_names = ["estimator"]
    params = [list(ESTIMATORS)]

    # Prediction takes microseconds to milliseconds: let asv choose the
    # number of calls per sample.
    number = 0

    def setup_cache(self):
        """Fit each estimator once on the medium training split."""
        return MediumScenario()._fit_all()

    def setup(self, fitted, estimator):
        """Load the fitted model, one row and ``PREDICT_ROWS`` rows."""
        X_train, self.X_test, _, self.y_test = load_scenario_data("medium")
        self.fitted = fitted[estimator]
        self.one_row = np.ascontiguousarray(self.X_test[:1])
        rows = np.concatenate([X_train, self.X_test])
        reps = -(-PREDICT_ROWS // rows.shape[0])
        self.many_rows = np.ascontiguousarray(np.tile(rows, (reps, 1))[:PREDICT_ROWS])

    def time_predict_proba_one_row(self, fitted, estimator):
        """Latency of ``predict_proba`` on a single row."""
        self.fitted.predict_proba(self.one_row)

    def time_predict_proba_many_rows(self, fitted, estimator):
        """Wall time of ``predict_proba`` on 20000 rows (5000 tiled 4 times)."""
        self.fitted.predict_proba(self.many_rows)

    def peakmem_predict_proba_many_rows(self, fitted, estimator):
        """Peak resident memory of the process during the 20000-row call."""
        self.fitted.predict_proba(self.many_rows)

    def track_test_accuracy(self, fitted, estimator):
        """Accuracy of the predicted model on the held-out 25% test split."""
        return float(self.fitted.score(self.X_test, self.y_test))

    track_test_accuracy.unit = "accuracy"


class TransformScenario(Benchmark):
    """``transform`` (the hidden activations) of the medium-scenario model
    beside its ``predict_proba``, on the same ``PREDICT_ROWS`` = 20000 rows
    as :class:`PredictScenario` (``compare.py --scenarios transform`` times
    both on the full data). MLPClassifier has no ``transform``: only
    ``TwoLayerClassifier`` runs."""

    param_names = ["method"]
    params = [["transform", "predict_proba"]]

    # Milliseconds per call: let asv choose the number of calls per sample.
    number = 0

    def setup_cache(self):
        """Fit TwoLayerClassifier once on the medium training split."""
        X_train, _, y_train, _ = load_scenario_data("medium")
        estimator = make_scenario_estimator(
            "TwoLayerClassifier", X_train.shape[0], **SCENARIOS["medium"][1]
        )
        return fit_quietly(estimator, X_train, y_train)

    def setup(self, fitted, method):
        """Load the fitted model's method and ``PREDICT_ROWS`` rows."""
        X_train, X_test, _, _ = load_scenario_data("medium")
        self.method = getattr(fitted, method)
        rows = np.concatenate([X_train, X_test])
        reps = -(-PREDICT_ROWS // rows.shape[0])
        self.many_rows = np.ascontiguousarray(np.tile(rows, (reps, 1))[:PREDICT_ROWS])

    def time_many_rows(self, fitted, method):
        """Wall time of the method on 20000 rows (5000 tiled 4 times)."""
        self.method(self.many_rows)

    def peakmem_many_rows(self, fitted, method):
        """Peak resident memory of the process during the 20000-row call."""
        self.method(self.many_rows)


class HiddenActivations(Benchmark):
    """Fit time of ``TwoLayerClassifier`` on the medium scenario (5000
    samples) with each hidden activation, as ``compare.py --activations``
    times it on the full data: the activations beyond MLPClassifier's are
    meant to cost at most 15% more per epoch than relu."""

    param_names = ["activation"]
    params = [list(HIDDEN_ACTIVATIONS)]

    data, settings = SCENARIOS["medium"]

    def setup(self, activation):
        """Load the data and an unfitted estimator."""
        self.X_train, _, self.y_train, _ = load_scenario_data(self.data)
        self.estimator = make_scenario_estimator(
            "TwoLayerClassifier",
            self.X_train.shape[0],
            activation=activation,
            **self.settings,
        )

    def time_fit(self, activation):
        """Wall time of ``fit`` on the training split."""
        fit_quietly(self.estimator, self.X_train, self.y_train)
