"""ONNX export: the converted graph, run by onnxruntime, against the
estimator's predict and predict_proba and against a numpy forward pass."""

import importlib
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import (
    load_iris,
    make_classification,
    make_multilabel_classification,
)
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_twolayer import TwoLayerClassifier
from sklearn_twolayer._registry import HIDDEN_ACTIVATIONS

skl2onnx = pytest.importorskip("skl2onnx")
onnxruntime = pytest.importorskip("onnxruntime")

# The models are fitted for a few epochs on purpose.
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)

from onnx import TensorProto  # noqa: E402
from skl2onnx.common.data_types import Int64TensorType  # noqa: E402

from sklearn_twolayer.onnx import register_converter  # noqa: E402

TARGETS = ["binary", "multiclass", "multilabel-indicator"]


def make_data(target, dtype=np.float64):
    """Small standardised data with the given kind of target."""
    if target == "binary":
        X, y = make_classification(
            n_samples=120, n_features=6, n_informative=4, random_state=0
        )
    elif target == "multiclass":
        X, y = load_iris(return_X_y=True)
    else:
        X, y = make_multilabel_classification(
            n_samples=120, n_features=6, n_classes=3, random_state=0
        )
    X = StandardScaler().fit_transform(X)
    return X.astype(dtype), y


def fitted(X, y, **params):
    """A small TwoLayerClassifier fitted on X, y (``params`` override the defaults)."""
    defaults = dict(n_hidden=12, max_iter=20, learning_rate_init=0.01)
    return TwoLayerClassifier(**{**defaults, "random_state": 0, **params}).fit(X, y)


def convert(model, X, **options):
    return skl2onnx.to_onnx(model, X[:1], options=options or None)


def numpy_probabilities(numpy_output, clf, X):
    """The probabilities of ``predict_proba``, computed in float64 numpy
    from the fitted weights."""
    output = numpy_output(clf, X)
    if clf.out_activation_ == "softmax":
        return output
    if output.shape[1] == 1 and clf.classes_.shape[0] == 2:
        return np.hstack([1 - output, output])
    eps = np.finfo(np.float64).eps
    return np.clip(output, eps, 1 - eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("target", TARGETS)
def test_onnx_matches_estimator(onnx_outputs, target, activation, dtype):
    X, y = make_data(target, dtype)
    clf = fitted(X, y, activation=activation)

    onx = convert(clf, X, zipmap=False)
    outputs = onnx_outputs(onx, X)

    expected_type = TensorProto.FLOAT if dtype == np.float32 else TensorProto.DOUBLE
    assert onx.graph.input[0].type.tensor_type.elem_type == expected_type
    assert outputs["probabilities"].dtype == dtype
    assert outputs["label"].dtype == np.int64
    np.testing.assert_allclose(
        outputs["probabilities"], clf.predict_proba(X), rtol=0, atol=1e-5
    )
    np.testing.assert_array_equal(outputs["label"], clf.predict(X))


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
@pytest.mark.parametrize("target", TARGETS)
def test_onnx_matches_numpy_forward_pass(
    numpy_output, onnx_outputs, target, activation
):
    X, y = make_data(target)
    clf = fitted(X, y, activation=activation)

    outputs = onnx_outputs(convert(clf, X, zipmap=False), X)

    # onnxruntime has no float64 Erf: a float64 gelu graph takes erf in
    # float32.
    rtol = 1e-6 if activation == "gelu" else 1e-10
    np.testing.assert_allclose(
        outputs["probabilities"],
        numpy_probabilities(numpy_output, clf, X),
        rtol=rtol,
        atol=1e-12,
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("target_opset", [18, 20])
def test_gelu_uses_onnx_gelu_from_opset_20_and_erf_before(
    onnx_outputs, target_opset, dtype
):
    X, y = make_data("multiclass", dtype)
    clf = fitted(X, y, activation="gelu")

    onx = skl2onnx.to_onnx(
        clf, X[:1], options={"zipmap": False}, target_opset=target_opset
    )
    operators = {node.op_type for node in onx.graph.node}
    outputs = onnx_outputs(onx, X)

    # Gelu in float32 from opset 20; Erf otherwise (onnxruntime runs neither
    # Gelu nor Erf in float64).
    uses_gelu = target_opset >= 20 and dtype == np.float32
    assert ("Gelu" in operators) == uses_gelu
    assert ("Erf" in operators) != uses_gelu
    np.testing.assert_allclose(
        outputs["probabilities"], clf.predict_proba(X), rtol=0, atol=1e-6
    )
    np.testing.assert_array_equal(outputs["label"], clf.predict(X))


@pytest.mark.parametrize("zipmap", [False, True])
@pytest.mark.parametrize("target", ["binary", "multiclass"])
def test_string_labels(onnx_outputs, target, zipmap):
    X, y = make_data(target, np.float32)
    names = np.array(["setosa", "versicolor", "virginica"])
    clf = fitted(X, names[y])

    outputs = onnx_outputs(convert(clf, X, zipmap=zipmap), X)

    labels = outputs["output_label" if zipmap else "label"]
    assert labels.dtype == object
    np.testing.assert_array_equal(labels, clf.predict(X))
    if zipmap:
        assert set(outputs["output_probability"][0]) == set(clf.classes_)


@pytest.mark.parametrize("target", TARGETS)
def test_zipmap_default_gives_one_dict_per_sample(onnx_outputs, target):
    X, y = make_data(target, np.float32)
    clf = fitted(X, y)

    outputs = onnx_outputs(convert(clf, X), X)

    expected = clf.predict_proba(X)
    dicts = outputs["output_probability"]
    assert len(dicts) == X.shape[0]
    keys = list(range(expected.shape[1]))
    assert sorted(dicts[0]) == keys
    got = np.array([[row[key] for key in keys] for row in dicts])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(outputs["output_label"], clf.predict(X))


def test_zipmap_columns_gives_one_output_per_class(onnx_outputs):
    X, y = make_data("multiclass", np.float32)
    clf = fitted(X, y)

    outputs = onnx_outputs(convert(clf, X, zipmap="columns"), X)

    expected = clf.predict_proba(X)
    for index, label in enumerate(clf.classes_):
        np.testing.assert_allclose(
            outputs[f"i{label}"], expected[:, index], rtol=0, atol=1e-5
        )


def test_zipmap_false_gives_plain_tensors(onnx_outputs):
    X, y = make_data("multiclass", np.float32)
    clf = fitted(X, y)

    onx = convert(clf, X, zipmap=False)
    outputs = onnx_outputs(onx, X)

    assert [output.name for output in onx.graph.output] == ["label", "probabilities"]
    assert all(output.type.HasField("tensor_type") for output in onx.graph.output)
    assert isinstance(outputs["probabilities"], np.ndarray)
    assert outputs["probabilities"].shape == (X.shape[0], 3)
    assert outputs["label"].shape == (X.shape[0],)


def test_nocl_gives_class_indices(onnx_outputs):
    X, y = make_data("multiclass", np.float32)
    clf = fitted(X, np.array(["a", "b", "c"])[y])

    outputs = onnx_outputs(convert(clf, X, zipmap=False, nocl=True), X)

    assert outputs["label"].dtype == np.int64
    np.testing.assert_array_equal(clf.classes_[outputs["label"]], clf.predict(X))


def test_output_class_labels(onnx_outputs):
    X, y = make_data("multiclass", np.float32)
    clf = fitted(X, y + 10)

    outputs = onnx_outputs(convert(clf, X, zipmap=False, output_class_labels=True), X)

    np.testing.assert_array_equal(outputs["class_labels"], clf.classes_)
    np.testing.assert_array_equal(outputs["label"], clf.predict(X))


def test_integral_float_labels_become_int64(onnx_outputs):
    X, y = make_data("multiclass", np.float32)
    clf = fitted(X, y.astype(np.float64))

    outputs = onnx_outputs(convert(clf, X, zipmap=False), X)

    assert outputs["label"].dtype == np.int64
    np.testing.assert_array_equal(outputs["label"], clf.predict(X))


def test_object_labels_of_mixed_types_need_nocl(onnx_outputs):
    X, y = make_data("binary", np.float32)
    clf = fitted(X, y)
    clf.classes_ = np.array([0, "one"], dtype=object)

    with pytest.raises(ValueError, match="nocl=True"):
        convert(clf, X, zipmap=False)
    outputs = onnx_outputs(convert(clf, X, zipmap=False, nocl=True), X)
    np.testing.assert_array_equal(clf.classes_[outputs["label"]], clf.predict(X))


def test_model_fitted_on_sparse_input_converts(onnx_outputs):
    X, y = make_data("multiclass", np.float32)
    X[np.abs(X) < 0.5] = 0
    clf = fitted(sp.csr_matrix(X), y)

    onx = convert(clf, X, zipmap=False)
    outputs = onnx_outputs(onx, X)

    assert onx.graph.input[0].type.HasField("tensor_type")
    np.testing.assert_allclose(
        outputs["probabilities"], clf.predict_proba(X), rtol=0, atol=1e-5
    )
    np.testing.assert_array_equal(outputs["label"], clf.predict(X))


def test_float32_graph_of_float64_model(onnx_outputs):
    X, y = make_data("multiclass")
    clf = fitted(X, y)

    outputs = onnx_outputs(
        convert(clf, X.astype(np.float32), zipmap=False), X.astype("f4")
    )

    assert outputs["probabilities"].dtype == np.float32
    np.testing.assert_allclose(
        outputs["probabilities"], clf.predict_proba(X), rtol=0, atol=1e-5
    )


def test_pipeline_converts(onnx_outputs):
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    pipe = make_pipeline(
        StandardScaler(),
        TwoLayerClassifier(n_hidden=8, max_iter=20, random_state=0),
    ).fit(X, y)

    outputs = onnx_outputs(convert(pipe, X, zipmap=False), X)

    np.testing.assert_allclose(
        outputs["probabilities"], pipe.predict_proba(X), rtol=0, atol=1e-5
    )
    np.testing.assert_array_equal(outputs["label"], pipe.predict(X))


@pytest.mark.parametrize("zipmap", [True, False])
def test_unfitted_model_raises_not_fitted_error(zipmap):
    X, _ = make_data("multiclass", np.float32)
    with pytest.raises(NotFittedError):
        convert(TwoLayerClassifier(), X, zipmap=zipmap)


def test_float64_input_with_zipmap_raises_clear_error():
    X, y = make_data("multiclass")
    clf = fitted(X, y)
    with pytest.raises(ValueError, match="zipmap"):
        convert(clf, X)


def test_integer_input_raises_clear_error():
    X, y = make_data("multiclass")
    clf = fitted(X, y)
    with pytest.raises(TypeError, match="float32 or float64"):
        skl2onnx.convert_sklearn(
            clf,
            initial_types=[("X", Int64TensorType([None, X.shape[1]]))],
            options={"zipmap": False},
        )


def test_registering_again_is_harmless(onnx_outputs):
    X, y = make_data("binary", np.float32)
    clf = fitted(X, y)

    register_converter()
    register_converter()
    importlib.import_module("sklearn_twolayer.onnx")
    importlib.reload(sys.modules["sklearn_twolayer.onnx"])
    outputs = onnx_outputs(convert(clf, X, zipmap=False), X)

    np.testing.assert_array_equal(outputs["label"], clf.predict(X))


def test_missing_skl2onnx_gives_install_hint(monkeypatch):
    monkeypatch.delitem(sys.modules, "sklearn_twolayer.onnx")
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    with pytest.raises(ImportError, match=r"pip install skl2onnx onnx onnxruntime"):
        importlib.import_module("sklearn_twolayer.onnx")
