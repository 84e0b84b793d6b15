"""ONNX export of ``transform`` (option ``transform=True``): the graph of the
hidden activations, run by onnxruntime, against a numpy forward pass and
the estimators' ``transform``; and the networks as feature steps of
converted pipelines."""


import numpy as np
import pytest
from sklearn.datasets import load_iris, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import FeatureUnion, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier, TwoLayerRegressor
from sklearn_twolayer._registry import HIDDEN_ACTIVATIONS

skl2onnx = pytest.importorskip("skl2onnx")
onnxruntime = pytest.importorskip("onnxruntime")

# The models are fitted for a few epochs on purpose.
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)

from onnx import TensorProto  # noqa: E402

import sklearn_twolayer.onnx  # noqa: E402, F401

ESTIMATORS = {"classifier": TwoLayerClassifier, "regressor": TwoLayerRegressor}


def fitted(kind, dtype=np.float64, **params):
    """A small model of ``kind`` fitted on standardised iris, and its X."""
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(dtype)
    if kind == "regressor":
        y = X[:, 0] - 0.5 * X[:, 1]
    defaults = dict(n_hidden=6, max_iter=20, learning_rate_init=0.01)
    model = ESTIMATORS[kind](**{**defaults, "random_state": 0, **params})
    return model.fit(X, y), X


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_transform_graph_matches_numpy_and_transform(
    onnx_outputs, numpy_transform, kind, activation, dtype
):
    model, X = fitted(kind, dtype, activation=activation)

    onx = skl2onnx.to_onnx(model, X[:1], options={"transform": True})
    outputs = onnx_outputs(onx, X)

    assert [output.name for output in onx.graph.output] == ["variable"]
    expected_type = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    assert onx.graph.output[0].type.tensor_type.elem_type == expected_type
    hidden = outputs["variable"]
    assert hidden.dtype == dtype and hidden.shape == (X.shape[0], 6)
    # onnxruntime has no float64 Erf: a float64 gelu graph takes erf in
    # float32.
    if dtype == np.float32:
        tolerance = 1e-5
    else:
        tolerance = 1e-6 if activation == "gelu" else 1e-10
    np.testing.assert_allclose(
        hidden, numpy_transform(model, X), rtol=tolerance, atol=tolerance
    )
    np.testing.assert_allclose(
        hidden, model.transform(X), rtol=tolerance, atol=tolerance
    )


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_without_the_option_the_graph_still_predicts(kind):
    model, X = fitted(kind, np.float32)
    options = {"zipmap": False} if kind == "classifier" else None

    onx = skl2onnx.to_onnx(model, X[:1], options=options)

    names = [output.name for output in onx.graph.output]
    assert names == (
        ["label", "probabilities"] if kind == "classifier" else ["variable"]
    )


def test_pipeline_with_hidden_features_feeding_a_linear_model_converts(onnx_outputs):
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    pipe = make_pipeline(
        StandardScaler(),
        TwoLayerClassifier(n_hidden=8, max_iter=30, random_state=0),
        LogisticRegression(),
    ).fit(X, y)

    onx = skl2onnx.to_onnx(
        pipe,
        X[:1],
        options={id(pipe[1]): {"transform": True}, id(pipe[2]): {"zipmap": False}},
    )
    outputs = onnx_outputs(onx, X)

    np.testing.assert_allclose(
        outputs["probabilities"], pipe.predict_proba(X), rtol=0, atol=1e-5
    )
    np.testing.assert_array_equal(outputs["label"], pipe.predict(X))


def test_feature_union_with_a_regressor_converts(onnx_outputs):
    X, y = make_regression(n_samples=120, n_features=5, noise=1.0, random_state=0)
    X = X.astype(np.float32)
    y = y / y.std()
    union = FeatureUnion(
        [
            ("net", TwoLayerRegressor(n_hidden=4, max_iter=20, random_state=0)),
            ("scaled", StandardScaler()),
        ]
    )
    pipe = make_pipeline(union, Ridge()).fit(X, y)

    onx = skl2onnx.to_onnx(
        pipe, X[:1], options={id(union.transformer_list[0][1]): {"transform": True}}
    )
    outputs = onnx_outputs(onx, X)

    np.testing.assert_allclose(
        outputs["variable"].ravel(), pipe.predict(X), rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_unfitted_model_raises_not_fitted_error(kind):
    X = np.zeros((2, 4), dtype=np.float32)
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(ESTIMATORS[kind](), X, options={"transform": True})
