"""ONNX export of the regressor: the converted graph, run by onnxruntime,
against the estimator's predict and against a numpy forward pass."""


import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_regression
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerRegressor
from sklearn_twolayer._registry import HIDDEN_ACTIVATIONS, REGRESSOR_LOSSES

skl2onnx = pytest.importorskip("skl2onnx")
onnxruntime = pytest.importorskip("onnxruntime")

# The models are fitted for a few epochs on purpose.
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)

from onnx import TensorProto  # noqa: E402
from skl2onnx.common.data_types import Int64TensorType  # noqa: E402

import sklearn_twolayer.onnx  # noqa: E402, F401


def make_data(loss="squared_error", n_outputs=1, dtype=np.float64):
    """Small standardised data; Poisson targets are counts."""
    X, y = make_regression(
        n_samples=150, n_features=6, n_targets=n_outputs, noise=2.0, random_state=0
    )
    X = StandardScaler().fit_transform(X)
    y = y / np.abs(y).max()
    if loss == "poisson":
        y = np.random.default_rng(0).poisson(np.exp(y + 0.5)).astype(float)
    return X.astype(dtype), y


def fitted(X, y, **params):
    """A small TwoLayerRegressor fitted on X, y (``params`` override the defaults)."""
    defaults = dict(n_hidden=12, max_iter=30, learning_rate_init=0.01)
    return TwoLayerRegressor(**{**defaults, "random_state": 0, **params}).fit(X, y)


def as_columns(prediction):
    """``predict``'s result as the graph's (n_samples, n_outputs)."""
    return prediction.reshape(prediction.shape[0], -1)


def assert_close(got, expected, dtype, activation=None):
    """Equal to round-off: relative 1e-5 in float32, 1e-10 in float64, with
    the same bound, relative to the largest value, near zero. onnxruntime's
    Erf, of which the graph builds gelu, is accurate to about 1e-7 only."""
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    if activation == "gelu":
        rtol = max(rtol, 1e-6)
    scale = np.abs(expected).max()
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("loss", REGRESSOR_LOSSES)
def test_onnx_equals_predict_for_each_loss(onnx_outputs, loss, n_outputs, dtype):
    X, y = make_data(loss, n_outputs, dtype)
    reg = fitted(X, y, loss=loss)

    onx = skl2onnx.to_onnx(reg, X[:1])
    outputs = onnx_outputs(onx, X)

    expected_type = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    assert onx.graph.input[0].type.tensor_type.elem_type == expected_type
    assert [output.name for output in onx.graph.output] == ["variable"]
    prediction = reg.predict(X)
    assert prediction.ndim == (1 if n_outputs == 1 else 2)
    assert outputs["variable"].dtype == dtype
    assert outputs["variable"].shape == (X.shape[0], n_outputs)
    assert_close(outputs["variable"], as_columns(prediction), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_onnx_equals_predict_for_each_hidden_activation(
    onnx_outputs, activation, dtype
):
    X, y = make_data(n_outputs=2, dtype=dtype)
    reg = fitted(X, y, activation=activation)

    outputs = onnx_outputs(skl2onnx.to_onnx(reg, X[:1]), X)

    assert_close(outputs["variable"], reg.predict(X), dtype, activation)


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_onnx_equals_a_numpy_forward_pass(numpy_output, onnx_outputs, activation, loss):
    X, y = make_data(loss)
    reg = fitted(X, y, activation=activation, loss=loss)

    outputs = onnx_outputs(skl2onnx.to_onnx(reg, X[:1]), X)

    assert_close(outputs["variable"], numpy_output(reg, X), np.float64, activation)


def test_float32_graph_of_float64_model(onnx_outputs):
    X, y = make_data(n_outputs=2)
    reg = fitted(X, y)
    X32 = X.astype(np.float32)

    outputs = onnx_outputs(skl2onnx.to_onnx(reg, X32[:1]), X32)

    assert outputs["variable"].dtype == np.float32
    assert_close(outputs["variable"], reg.predict(X), np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_model_fitted_on_sparse_input_converts(onnx_outputs, dtype):
    X, y = make_data(dtype=dtype)
    X[np.abs(X) < 0.5] = 0
    reg = fitted(sp.csr_matrix(X), y, loss="huber")

    onx = skl2onnx.to_onnx(reg, X[:1])
    outputs = onnx_outputs(onx, X)

    assert onx.graph.input[0].type.HasField("tensor_type")
    assert_close(outputs["variable"], as_columns(reg.predict(sp.csr_matrix(X))), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pipeline_converts(onnx_outputs, dtype):
    X, y = make_regression(n_samples=150, n_features=5, noise=1.0, random_state=1)
    X = (X * 10 + 3).astype(dtype)
    pipe = make_pipeline(
        StandardScaler(),
        TwoLayerRegressor(n_hidden=8, max_iter=20, random_state=0),
    ).fit(X, y / 100)

    outputs = onnx_outputs(skl2onnx.to_onnx(pipe, X[:1]), X)

    assert outputs["variable"].dtype == dtype
    assert_close(outputs["variable"], as_columns(pipe.predict(X)), dtype)


def test_unfitted_model_raises_not_fitted_error():
    X, _ = make_data(dtype=np.float32)
    with pytest.raises(NotFittedError):
        skl2onnx.to_onnx(TwoLayerRegressor(), X[:1])


def test_integer_input_raises_clear_error():
    X, y = make_data()
    reg = fitted(X, y)
    with pytest.raises(TypeError, match="TwoLayerRegressor.*float32 or float64"):
        skl2onnx.convert_sklearn(
            reg, initial_types=[("X", Int64TensorType([None, X.shape[1]]))]
        )
