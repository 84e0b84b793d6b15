"""What a script written for MLPClassifier or MLPRegressor meets when only
the class name changes: hidden_layer_sizes, n_layers_, set_params, and clear
errors and warnings where the data cannot be learned from."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier, MLPRegressor

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor

ESTIMATORS = [(TwoLayerClassifier, MLPClassifier), (TwoLayerRegressor, MLPRegressor)]


def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


@pytest.mark.parametrize("Ours, Theirs", ESTIMATORS)
@pytest.mark.parametrize("sizes", [7, (7,), [7], np.int64(7)])
def test_hidden_layer_sizes_as_mlp_spells_it(Ours, Theirs, sizes):
    X, y = iris()
    ours = fit_quietly(Ours(hidden_layer_sizes=sizes, max_iter=2, random_state=0), X, y)
    theirs = fit_quietly(
        Theirs(hidden_layer_sizes=sizes, max_iter=2, random_state=0), X, y
    )
    assert ours.n_layers_ == theirs.n_layers_ == 3
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]


@pytest.mark.parametrize("Ours", [TwoLayerClassifier, TwoLayerRegressor])
@pytest.mark.parametrize("sizes", [(5, 3), [5, 3, 2], ()])
def test_more_than_one_hidden_layer_is_refused_by_name(Ours, sizes):
    X, y = iris()
    with pytest.raises(ValueError, match="has one hidden layer.*n_hidden"):
        Ours(hidden_layer_sizes=sizes).fit(X, y)


@pytest.mark.parametrize("sizes", [0, (0,), (2.5,), (True,)])
def test_a_size_that_is_no_count_of_units_is_refused(sizes):
    X, y = iris()
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        TwoLayerClassifier(hidden_layer_sizes=sizes).fit(X, y)


def test_n_hidden_and_hidden_layer_sizes_that_disagree_are_refused():
    X, y = iris()
    with pytest.raises(ValueError, match="n_hidden=4 and hidden_layer_sizes=\\(5,\\)"):
        TwoLayerClassifier(n_hidden=4, hidden_layer_sizes=(5,)).fit(X, y)
    agreeing = TwoLayerClassifier(n_hidden=5, hidden_layer_sizes=(5,), max_iter=2)
    assert fit_quietly(agreeing, X, y).coefs_[0].shape == (4, 5)


def test_default_is_100_hidden_units_as_mlp():
    X, y = iris()
    ours = fit_quietly(TwoLayerClassifier(max_iter=1), X, y)
    theirs = fit_quietly(MLPClassifier(max_iter=1), X, y)
    assert ours.coefs_[0].shape == theirs.coefs_[0].shape == (4, 100)


def test_set_params_of_one_spelling_resets_the_other():
    est = TwoLayerClassifier(hidden_layer_sizes=(5,))
    est.set_params(n_hidden=7)
    assert est.get_params()["hidden_layer_sizes"] is None
    assert est.get_params()["n_hidden"] == 7
    est.set_params(hidden_layer_sizes=(3,))
    assert est.get_params()["n_hidden"] is None
    est.set_params(n_hidden=3, hidden_layer_sizes=(3,))
    assert clone(est).get_params() == est.get_params()


@pytest.mark.parametrize(
    "start, grid",
    [
        ({"n_hidden": 20}, {"hidden_layer_sizes": [(3,), (6,)]}),
        ({"hidden_layer_sizes": (20,)}, {"n_hidden": [3, 6]}),
    ],
)
def test_grid_search_over_either_spelling(start, grid):
    X, y = iris()
    search = GridSearchCV(TwoLayerClassifier(max_iter=3, random_state=0, **start), grid)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    (name, values), = grid.items()
    best = search.best_params_[name]
    units = best[0] if isinstance(best, tuple) else best
    assert search.best_estimator_.coefs_[0].shape[1] == units
    assert units in [v[0] if isinstance(v, tuple) else v for v in values]


def test_a_set_params_call_that_raises_changes_nothing():
    X, y = iris()
    est = fit_quietly(TwoLayerClassifier(n_hidden=8, max_iter=20, random_state=0), X, y)
    params, proba = est.get_params(), est.predict_proba(X)
    with pytest.raises(ValueError, match="no_such_param.*Nothing was changed"):
        est.set_params(activation="tanh", no_such_param=1)
    assert est.get_params() == params
    np.testing.assert_array_equal(est.predict_proba(X), proba)


def test_a_single_class_is_predicted_as_mlp_predicts_it():
    X, _ = iris()
    y = np.full(X.shape[0], "only")
    ours = fit_quietly(TwoLayerClassifier(max_iter=5, random_state=0), X, y)
    theirs = fit_quietly(MLPClassifier(max_iter=5, random_state=0), X, y)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_array_equal(ours.predict_proba(X), np.ones((X.shape[0], 1)))


def test_missing_labels_in_a_pandas_string_series_are_named():
    pd = pytest.importorskip("pandas")
    X, y = iris()
    labels = pd.Series(np.array(["a", "b", "c"])[y], dtype="string")
    labels[3] = pd.NA
    with pytest.raises(ValueError, match="1 target.*missing.*position 3"):
        TwoLayerClassifier().fit(X, labels)


def test_adam_on_features_scaled_far_beyond_use_warns():
    X, y = iris()
    with pytest.warns(ConvergenceWarning, match="worse than one"):
        TwoLayerClassifier(random_state=0).fit(X * 1e150, y)
    # The same fit on the features as they are learns, without that warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", "Stochastic Optimizer", ConvergenceWarning)
        clf = TwoLayerClassifier(random_state=0).fit(X, y)
    frequencies = np.bincount(y) / y.shape[0]
    assert clf.loss_ < -(frequencies * np.log(frequencies)).sum()


def test_messages_show_values_as_written():
    X, y = iris()
    with pytest.raises(ValueError, match=r"smallest value of y is -1\.5\.$"):
        TwoLayerRegressor(loss="poisson").fit(X, np.r_[-1.5, y[1:]].astype(float))
    est = TwoLayerClassifier(solver="sgd").partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError) as error:
        est.partial_fit(X, y, classes=np.array([0, 1, 2, 3]))
    assert "np." not in str(error.value) and "[0, 1, 2, 3]" in str(error.value)


def test_a_model_saved_before_hidden_layer_sizes_loads_with_both():
    X, y = iris()
    est = fit_quietly(TwoLayerClassifier(n_hidden=6, max_iter=5, random_state=0), X, y)
    state = est.__getstate__()
    del state["hidden_layer_sizes"], state["n_layers_"]
    loaded = TwoLayerClassifier.__new__(TwoLayerClassifier)
    loaded.__setstate__(state)
    assert loaded.get_params() == est.get_params()
    assert loaded.n_layers_ == 3
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
