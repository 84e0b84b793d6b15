"""Shared benchmark settings and estimator factories."""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from sklearn_twolayer import TwoLayerClassifier

N_HIDDEN = 100
MAX_ITER = 20

ESTIMATORS = ("TwoLayerClassifier", "MLPClassifier")
#: The regression scenario's pair.
REGRESSORS = ("TwoLayerRegressor", "MLPRegressor")


def make_estimator(name):
    """Return an unfitted estimator `name` with the benchmark's settings.

    Both estimators get the same network (one hidden layer of ``N_HIDDEN``
    ReLU units, Adam, default batch size and tolerance), ``MAX_ITER`` epochs
    and ``random_state=0``.
    """
    if name == "TwoLayerClassifier":
        return TwoLayerClassifier(n_hidden=N_HIDDEN, random_state=0, max_iter=MAX_ITER)
    if name == "MLPClassifier":
        return MLPClassifier(
            hidden_layer_sizes=(N_HIDDEN,), random_state=0, max_iter=MAX_ITER
        )
    raise ValueError(f"unknown estimator {name!r}; expected one of {ESTIMATORS}")


def fit_quietly(estimator, X, y):
    """Fit `estimator` on ``(X, y)``, silencing ConvergenceWarning.

    ``MAX_ITER`` epochs are deliberately too few to converge.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        return estimator.fit(X, y)


class Benchmark:
    """Base class: wall-clock timing settings for multi-second fits."""

    # Each sample is one call: a fit takes from 0.1 s to several seconds.
    number = 1
    repeat = (3, 10, 30.0)
    warmup_time = 0.5
    timeout = 300.0
