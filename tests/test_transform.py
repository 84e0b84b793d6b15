"""transform: the hidden layer's activations as features, against a numpy
forward pass of the fitted weights; feature names, pandas output, and the
estimators as steps of pipelines."""

import runpy
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import is_classifier, is_regressor
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor
from sklearn_twolayer._network import forward_flops
from sklearn_twolayer._registry import ACTIVATION_CODES, HIDDEN_ACTIVATIONS
from sklearn_twolayer._threads import threads_for_work

ESTIMATORS = {"classifier": TwoLayerClassifier, "regressor": TwoLayerRegressor}
# The tolerances: float64 to 1e-12, float32 to 1e-6.
TOLERANCE = {np.float64: 1e-12, np.float32: 1e-6}


def dense(X):
    """X as a float64 ndarray."""
    return (X.toarray() if sp.issparse(X) else X).astype(np.float64)


def training_data(kind, dtype, n_samples=400, n_features=24):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=min(10, n_features),
        n_redundant=0,
        n_classes=3,
        random_state=0,
    )
    X = StandardScaler().fit_transform(X).astype(dtype)
    if kind == "regressor":
        y = X[:, :2] @ np.array([1.0, -2.0]) + 0.1 * y
    return X, y


def many_rows(dtype, n_features=24, n_rows=6000):
    """More rows than the fit saw, with a few zeros: several row blocks of
    the compiled pass, and enough work for two threads."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((n_rows, n_features))
    X[np.abs(X) < 0.3] = 0
    return X.astype(dtype)


_FITTED = {}


def fitted(kind, activation, dtype, dropout):
    """A small fitted model, fitted once per configuration."""
    key = kind, activation, dtype, dropout
    if key not in _FITTED:
        X, y = training_data(kind, dtype)
        model = ESTIMATORS[kind](
            n_hidden=40,
            activation=activation,
            dropout=dropout,
            max_iter=3,
            learning_rate_init=0.01,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            _FITTED[key] = model.fit(X, y)
    return _FITTED[key]


@pytest.mark.parametrize("layout", ["dense", "csr", "csc"])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_transform_matches_a_numpy_forward_pass_at_one_and_two_threads(
    numpy_transform, kind, activation, dtype, dropout, layout
):
    model = fitted(kind, activation, dtype, dropout)
    X = many_rows(dtype)
    given = {"dense": X, "csr": sp.csr_matrix(X), "csc": sp.csc_matrix(X)}[layout]

    # Enough work for the thread policy to give the pass a second thread.
    assert threads_for_work(2, forward_flops(X.shape[0], model.coefs_[:1])) == 2
    results = []
    for n_threads in (1, 2):
        with threadpool_limits(n_threads, user_api="openmp"):
            results.append(model.transform(given))

    one, two = results
    assert one.shape == (X.shape[0], 40)
    assert one.dtype == dtype
    # Dropout acts only while training: nothing is dropped nor rescaled.
    tolerance = TOLERANCE[dtype]
    np.testing.assert_allclose(
        one, numpy_transform(model, X), rtol=tolerance, atol=tolerance
    )
    assert np.array_equal(one, two)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_kernel_is_bitwise_equal_for_any_thread_count(
    numpy_hidden, compiled_forward, activation, dtype
):
    # 1000 rows span four row blocks, the last one partial.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 30)).astype(dtype)
    W1 = (0.3 * rng.standard_normal((30, 17))).astype(dtype)
    b1 = rng.standard_normal(17).astype(dtype)
    X_csr = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0, X))

    def run(n_threads, sparse):
        out = np.full((1000, 17), np.nan, dtype=dtype)
        arrays = {}
        if sparse:
            arrays = dict(
                X_data=X_csr.data,
                X_indices=X_csr.indices.astype(np.intp),
                X_indptr=X_csr.indptr.astype(np.intp),
            )
        finite = compiled_forward.transform_rows(
            np.empty((0, 30), dtype) if sparse else X,
            W1,
            b1,
            out,
            ACTIVATION_CODES[activation],
            n_threads,
            check_finite=not sparse,
            **arrays,
        )
        assert finite
        return out

    for sparse, data in ((False, X), (True, X_csr)):
        outs = [run(n_threads, sparse) for n_threads in (1, 2, 3)]
        np.testing.assert_allclose(
            outs[0],
            numpy_hidden[activation](dense(data) @ W1 + b1),
            rtol=TOLERANCE[dtype],
            atol=TOLERANCE[dtype],
        )
        for other in outs[1:]:
            assert np.array_equal(other, outs[0])


def test_kernel_reports_a_value_that_is_not_finite(compiled_forward):
    X = np.ones((600, 4))
    X[590, 2] = np.nan
    out = np.empty((600, 3))
    finite = compiled_forward.transform_rows(
        X,
        np.ones((4, 3)),
        np.zeros(3),
        out,
        ACTIVATION_CODES["relu"],
        2,
        check_finite=True,
    )
    assert finite is False


def test_kernel_refuses_softmax(compiled_forward):
    with pytest.raises(ValueError, match="softmax"):
        compiled_forward.transform_rows(
            np.ones((2, 4)),
            np.ones((4, 3)),
            np.zeros(3),
            np.empty((2, 3)),
            ACTIVATION_CODES["softmax"],
            1,
        )


def test_transform_uses_the_fitted_activation_not_the_parameter(
    fit_quietly, numpy_hidden
):
    X, y = training_data("classifier", np.float64)
    clf = fit_quietly(TwoLayerClassifier(n_hidden=12, max_iter=3, random_state=0), X, y)
    clf.set_params(activation="tanh")

    hidden = clf.transform(X)

    expected = numpy_hidden["relu"](X @ clf.coefs_[0] + clf.intercepts_[0])
    np.testing.assert_allclose(hidden, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_fit_transform_gives_the_hidden_activations_of_the_fitted_model(
    numpy_transform, kind
):
    X, y = training_data(kind, np.float64)
    model = ESTIMATORS[kind](n_hidden=7, max_iter=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        hidden = model.fit_transform(X, y)

    assert hidden.shape == (X.shape[0], 7)
    np.testing.assert_allclose(
        hidden, numpy_transform(model, X), rtol=1e-12, atol=1e-12
    )


def test_short_path_and_full_validation_agree_and_reject_bad_input(
    numpy_transform, fit_quietly
):
    X, y = training_data("classifier", np.float64)
    clf = fit_quietly(TwoLayerClassifier(n_hidden=5, max_iter=3, random_state=0), X, y)
    expected = numpy_transform(clf, X[:100])

    # A list and a Fortran-ordered array take the full validation.
    for given in (X[:100], X[:100].tolist(), np.asfortranarray(X[:100])):
        np.testing.assert_allclose(
            clf.transform(given), expected, rtol=1e-12, atol=1e-12
        )
    bad = X[:100].copy()
    bad[70, 3] = np.inf
    with pytest.raises(ValueError, match="Input X contains"):
        clf.transform(bad)
    with pytest.raises(ValueError, match="features"):
        clf.transform(np.ascontiguousarray(X[:10, :5]))


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_unfitted_model_raises_not_fitted(kind):
    model = ESTIMATORS[kind]()
    with pytest.raises(NotFittedError):
        model.transform(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        model.get_feature_names_out()


def test_estimators_keep_their_kind_in_tags():
    clf, reg = TwoLayerClassifier(), TwoLayerRegressor()
    assert is_classifier(clf) and not is_regressor(clf)
    assert is_regressor(reg) and not is_classifier(reg)
    for model in (clf, reg):
        tags = model.__sklearn_tags__()
        assert tags.transformer_tags is not None
        assert set(tags.transformer_tags.preserves_dtype) == {"float64", "float32"}


@pytest.mark.parametrize(
    "kind, prefix",
    [("classifier", "twolayerclassifier"), ("regressor", "twolayerregressor")],
)
def test_feature_names_are_the_class_name_and_an_index(fit_quietly, kind, prefix):
    X, y = training_data(kind, np.float64)
    model = fit_quietly(ESTIMATORS[kind](n_hidden=4, max_iter=2, random_state=0), X, y)

    names = model.get_feature_names_out()

    assert list(names) == [f"{prefix}0", f"{prefix}1", f"{prefix}2", f"{prefix}3"]
    assert names.dtype == object


def test_pandas_output_has_the_feature_names_and_the_index(numpy_transform):
    pd = pytest.importorskip("pandas")
    X, y = training_data("classifier", np.float64, n_features=5)
    frame = pd.DataFrame(
        X, columns=[f"x{i}" for i in range(5)], index=np.arange(X.shape[0]) + 100
    )
    clf = TwoLayerClassifier(n_hidden=3, max_iter=2, random_state=0)
    clf.set_output(transform="pandas")

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted_frame = clf.fit_transform(frame, y)
    hidden = clf.transform(frame)

    for result in (fitted_frame, hidden):
        assert isinstance(result, pd.DataFrame)
        assert list(result.columns) == [
            "twolayerclassifier0",
            "twolayerclassifier1",
            "twolayerclassifier2",
        ]
        np.testing.assert_array_equal(result.index, frame.index)
        np.testing.assert_allclose(
            result.to_numpy(), numpy_transform(clf, X), rtol=1e-12, atol=1e-12
        )


@pytest.fixture(scope="module")
def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def test_pipeline_with_a_linear_model_on_the_hidden_features(
    numpy_transform, fit_quietly, digits_split
):
    X_train, X_test, y_train, y_test = digits_split
    pipe = make_pipeline(
        StandardScaler(),
        TwoLayerClassifier(n_hidden=32, max_iter=60, random_state=0),
        LogisticRegression(max_iter=500),
    )
    fit_quietly(pipe, X_train, y_train)

    predicted = pipe.predict(X_test)

    scaler, net, linear = pipe.named_steps.values()
    assert linear.n_features_in_ == 32
    features = numpy_transform(net, scaler.transform(X_test))
    np.testing.assert_array_equal(predicted, linear.predict(features))
    assert np.mean(predicted == y_test) > 0.9


def test_column_transformer_with_the_network_on_some_columns(
    numpy_transform, fit_quietly
):
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)
    columns = ColumnTransformer(
        [
            (
                "net",
                TwoLayerClassifier(n_hidden=3, max_iter=5, random_state=0),
                [0, 1, 2, 3],
            ),
            ("rest", "passthrough", [4, 5]),
        ]
    )
    fit_quietly(columns, X, y)

    out = columns.transform(X)

    net = columns.named_transformers_["net"]
    np.testing.assert_allclose(out[:, :3], numpy_transform(net, X[:, :4]), rtol=1e-12)
    np.testing.assert_array_equal(out[:, 3:], X[:, 4:])
    assert list(columns.get_feature_names_out()) == [
        "net__twolayerclassifier0",
        "net__twolayerclassifier1",
        "net__twolayerclassifier2",
        "rest__x4",
        "rest__x5",
    ]


def test_feature_union_of_the_network_and_pca_feeds_a_regressor(
    numpy_transform, fit_quietly
):
    X, y = make_regression(n_samples=300, n_features=8, noise=1.0, random_state=0)
    y = y / y.std()
    union = FeatureUnion(
        [
            ("net", TwoLayerRegressor(n_hidden=4, max_iter=20, random_state=0)),
            ("pca", PCA(n_components=2)),
        ]
    )
    pipe = make_pipeline(StandardScaler(), union, Ridge())
    fit_quietly(pipe, X, y)

    predicted = pipe.predict(X)

    scaled = pipe[0].transform(X)
    net, pca = union.transformer_list[0][1], union.transformer_list[1][1]
    features = np.hstack([numpy_transform(net, scaled), pca.transform(scaled)])
    np.testing.assert_allclose(predicted, pipe[-1].predict(features), rtol=1e-10)
    assert list(union.get_feature_names_out()) == [
        "net__twolayerregressor0",
        "net__twolayerregressor1",
        "net__twolayerregressor2",
        "net__twolayerregressor3",
        "pca__pca0",
        "pca__pca1",
    ]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_autoencoder_codes_are_its_hidden_layer(numpy_transform, fit_quietly, dtype):
    # Fitted on (X, X), a regressor reconstructs its input through n_hidden
    # units: transform gives the codes, and the output layer decodes them.
    X = StandardScaler().fit_transform(load_digits().data).astype(dtype)
    autoencoder = fit_quietly(
        TwoLayerRegressor(n_hidden=8, activation="tanh", max_iter=20, random_state=0),
        X,
        X,
    )

    codes = autoencoder.transform(X)

    assert codes.shape == (X.shape[0], 8) and codes.dtype == dtype
    np.testing.assert_allclose(
        codes,
        numpy_transform(autoencoder, X),
        rtol=TOLERANCE[dtype],
        atol=TOLERANCE[dtype],
    )
    W2, b2 = autoencoder.coefs_[1], autoencoder.intercepts_[1]
    decoded = codes.astype(np.float64) @ W2 + b2
    np.testing.assert_allclose(
        autoencoder.predict(X), decoded, rtol=0, atol=10 * TOLERANCE[dtype]
    )


# scikit-learn's checks of set_output and get_feature_names_out, which its
# check_estimator leaves to scikit-learn's own estimators.
OUTPUT_CHECKS = [
    "check_set_output_transform",
    "check_set_output_transform_pandas",
    "check_global_output_transform_pandas",
    "check_transformer_get_feature_names_out",
    "check_transformer_get_feature_names_out_pandas",
    "check_get_feature_names_out_error",
]


@pytest.mark.parametrize("check", OUTPUT_CHECKS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_scikit_learn_output_checks(kind, check):
    pytest.importorskip("pandas")
    from sklearn.utils import estimator_checks

    model = ESTIMATORS[kind](n_hidden=5, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        getattr(estimator_checks, check)(type(model).__name__, model)


EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def test_autoencoder_example_runs_and_its_codes_are_the_hidden_layer(numpy_transform):
    matplotlib = pytest.importorskip("matplotlib")
    example = EXAMPLES / "plot_autoencoder.py"
    if not example.exists():
        pytest.skip("the documentation's examples are not in this tree")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            namespace = runpy.run_path(str(example))
    finally:
        plt.close("all")

    X, codes, autoencoder = (namespace[k] for k in ("X", "codes", "autoencoder"))
    assert codes.shape == (X.shape[0], 2)
    np.testing.assert_allclose(
        codes, numpy_transform(autoencoder, X), rtol=1e-12, atol=1e-12
    )
    # Fitted on (X, X): it rebuilds its input, no worse than the mean image.
    baseline = np.mean((X - X.mean(axis=0)) ** 2)
    assert namespace["error"] < baseline
