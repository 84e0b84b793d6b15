"""scikit-learn's estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor


@parametrize_with_checks(
    [
        TwoLayerClassifier(),
        TwoLayerClassifier(solver="sgd", batch_size="full", activation="logistic"),
        TwoLayerClassifier(solver="lbfgs"),
        TwoLayerRegressor(),
        TwoLayerRegressor(solver="sgd", batch_size="full", activation="tanh"),
        TwoLayerRegressor(solver="lbfgs"),
        TwoLayerRegressor(loss="quantile", quantile=0.3, solver="sgd"),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
