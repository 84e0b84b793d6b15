"""scikit-learn's estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_twolayer import TwoLayerClassifier


@parametrize_with_checks(
    [
        TwoLayerClassifier(),
        TwoLayerClassifier(solver="sgd", batch_size="full", activation="logistic"),
        TwoLayerClassifier(solver="lbfgs"),
        TwoLayerClassifier(activation="leaky_relu"),
        TwoLayerClassifier(activation="gelu"),
        TwoLayerClassifier(solver="lbfgs", activation="silu"),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
