"""scikit-learn's estimator checks.

Every configuration passes every check, except one family with dropout:
dropout draws an independent mask for each sample, so a sample repeated
twice is trained on with two masks and is not the same as one sample of
weight two.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor

DROPOUT_AND_WEIGHTS = (
    "dropout draws one mask per sample: repeating a sample is not weighting it"
)


def expected_failed_checks(estimator):
    if estimator.dropout == 0:
        return {}
    return {
        "check_sample_weight_equivalence_on_dense_data": DROPOUT_AND_WEIGHTS,
        "check_sample_weight_equivalence_on_sparse_data": DROPOUT_AND_WEIGHTS,
    }


@parametrize_with_checks(
    [
        TwoLayerClassifier(),
        TwoLayerClassifier(solver="sgd", batch_size="full", activation="logistic"),
        TwoLayerClassifier(solver="lbfgs"),
        TwoLayerClassifier(dropout=0.2),
        TwoLayerClassifier(activation="leaky_relu"),
        TwoLayerClassifier(activation="gelu"),
        TwoLayerClassifier(solver="lbfgs", activation="silu"),
        TwoLayerRegressor(),
        TwoLayerRegressor(solver="sgd", batch_size="full", activation="tanh"),
        TwoLayerRegressor(activation="silu"),
        TwoLayerRegressor(solver="lbfgs", activation="gelu"),
        TwoLayerRegressor(loss="quantile", quantile=0.3, solver="sgd"),
        TwoLayerRegressor(activation="leaky_relu", dropout=0.1),
    ],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
