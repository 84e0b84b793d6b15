"""Conversion of a fitted :class:`TwoLayerClassifier` or
:class:`TwoLayerRegressor` to ONNX with skl2onnx.

Importing this module registers the converters, after which
``skl2onnx.to_onnx`` converts both estimators, alone or inside a
``Pipeline``::

    import sklearn_twolayer.onnx  # noqa: F401
    from skl2onnx import to_onnx

    onx = to_onnx(clf, X[:1])

The graph computes in the dtype of its input (float32 or float64).

A classifier's graph has the usual skl2onnx classifier outputs: the labels of
``predict`` and the probabilities of ``predict_proba``. It supports
skl2onnx's classifier options ``zipmap`` (True, False or "columns"), ``nocl``
and ``output_class_labels``. ONNX's ZipMap operator takes float32
probabilities only, so a float64 graph needs ``options={"zipmap": False}``.

A regressor's graph has one output, ``variable``, of shape
``(n_samples, n_outputs)`` as skl2onnx's MLPRegressor graph: the predictions
of ``predict`` (a single column also for one-dimensional targets).

With the option ``transform=True`` (both estimators), the graph computes
``transform`` instead: one output, ``variable``, the hidden activations of
shape ``(n_samples, n_hidden)``. That is how a network converts as a step
whose hidden features feed the next one (in a ``Pipeline``, a
``FeatureUnion`` or a ``ColumnTransformer``)::

    onx = to_onnx(pipe, X[:1], options={id(pipe[1]): {"transform": True}})
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted

try:
    from onnx import TensorProto
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
        guess_tensor_type,
    )
except ImportError as exc:
    raise ImportError(
        "Converting a TwoLayerClassifier or TwoLayerRegressor to ONNX needs "
        "the optional dependencies skl2onnx and onnx; install them with "
        "`pip install skl2onnx onnx onnxruntime` (onnxruntime runs the graph), "
        'or with the package, `pip install ".[onnx]"` in its clone.'
    ) from exc

try:
    # The parser update_registered_converter installs for classifiers; it is
    # wrapped only to report an unfitted model, or float64 input with ZipMap,
    # before it fails less clearly.
    from skl2onnx._parse import _parse_sklearn_classifier
except ImportError:
    _parse_sklearn_classifier = None

from ._classifier import TwoLayerClassifier
from ._messages import shown
from ._network import LEAKY_RELU_SLOPE
from ._registry import ACTIVATIONS
from ._regressor import TwoLayerRegressor

__all__ = ["register_converter"]

_ALIAS = "SklearnTwoLayerClassifier"
_REGRESSOR_ALIAS = "SklearnTwoLayerRegressor"

_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [False, True],
    "output_class_labels": [False, True],
    "transform": [False, True],
}
_REGRESSOR_OPTIONS = {"transform": [False, True]}

# The first opset with a Gelu operator; earlier graphs write it with Erf.
_GELU_OPSET = 20

_INPUT_TYPES = {FloatTensorType: np.float32, DoubleTensorType: np.float64}

_PROTO_TYPES = {
    np.dtype(np.float32): TensorProto.FLOAT,
    np.dtype(np.float64): TensorProto.DOUBLE,
    np.dtype(np.int64): TensorProto.INT64,
}


def register_converter():
    """Register the ONNX converters of the estimators with skl2onnx.

    Importing :mod:`sklearn_twolayer.onnx` already calls this function; call it
    again to restore the registration if something else replaced it. Calling
    it more than once is harmless.

    Once registered, ``skl2onnx.to_onnx(model, X[:1])`` (or
    ``skl2onnx.convert_sklearn``) converts a fitted ``TwoLayerClassifier``,
    with the classifier options ``zipmap``, ``nocl`` and
    ``output_class_labels``, or a fitted ``TwoLayerRegressor``; the option
    ``transform=True`` of either converts ``transform`` (the hidden
    activations) instead of the predictions.

    Returns
    -------
    None

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from skl2onnx import to_onnx
    >>> from sklearn_twolayer import TwoLayerClassifier
    >>> from sklearn_twolayer.onnx import register_converter
    >>> register_converter()
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = TwoLayerClassifier(n_hidden=8, solver="lbfgs", random_state=0)
    >>> onx = to_onnx(clf.fit(X, y), X[:1].astype("float32"))
    """
    update_registered_converter(
        TwoLayerClassifier,
        _ALIAS,
        _calculate_output_shapes,
        _convert,
        parser=None if _parse_sklearn_classifier is None else _parse,
        options=_OPTIONS,
    )
    update_registered_converter(
        TwoLayerRegressor,
        _REGRESSOR_ALIAS,
        _calculate_regressor_output_shapes,
        _convert_regressor,
        options=_REGRESSOR_OPTIONS,
    )


def _transforms(scope_or_container, model):
    """Whether the graph is to compute ``transform`` (option ``transform``)."""
    options = scope_or_container.get_options(model, dict(transform=False))
    return bool(options["transform"])


def _parse(scope, model, inputs, custom_parsers=None):
    """skl2onnx's classifier parser, after checking that the model is fitted
    and that a ZipMap (float32 only) gets float32 probabilities; with
    ``transform=True``, one output of hidden activations instead."""
    check_is_fitted(model)
    if _transforms(scope, model):
        operator = scope.declare_local_operator(_ALIAS, model)
        operator.inputs = inputs
        variable = scope.declare_local_variable(
            "variable", guess_tensor_type(inputs[0].type)
        )
        operator.outputs.append(variable)
        return operator.outputs
    zipmap = scope.get_options(model, dict(zipmap=True))["zipmap"]
    if zipmap and isinstance(inputs[0].type, DoubleTensorType):
        raise ValueError(
            "ONNX's ZipMap operator takes float32 probabilities only; convert a "
            "TwoLayerClassifier with float64 input with options={'zipmap': False}, "
            "or with float32 input."
        )
    return _parse_sklearn_classifier(
        scope, model, inputs, custom_parsers=custom_parsers
    )


def _input_dtype(operator):
    """The numpy dtype of the operator's input, float32 or float64."""
    input_type = type(operator.inputs[0].type)
    if input_type not in _INPUT_TYPES:
        raise TypeError(
            f"A {type(operator.raw_operator).__name__} converts to ONNX for "
            f"float32 or float64 input only, got {input_type.__name__}; cast "
            "the input first."
        )
    return _INPUT_TYPES[input_type]


def _check_one_input(operator):
    """Refuse several input tensors, which the graph cannot join."""
    if len(operator.inputs) != 1:
        raise RuntimeError(
            f"A {type(operator.raw_operator).__name__} converts with one input "
            f"tensor of all the features, got {len(operator.inputs)} inputs; "
            "convert with a 2-D array (for a DataFrame, X.to_numpy()) as its "
            "example input."
        )


def _onnx_labels(model, nocl):
    """The class labels as the graph outputs them: str, or int64 as skl2onnx
    does for integer, boolean and (integral) float labels; ``nocl=True``
    replaces the labels by their indices."""
    classes = model.classes_
    if nocl or model._y_type == "multilabel-indicator":
        return np.arange(classes.shape[0], dtype=np.int64)
    if all(isinstance(label, str) for label in classes):
        return np.asarray(classes, dtype=object)
    try:
        return classes.astype(np.int64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            "ONNX class labels must be all integers or all strings, got "
            f"{shown(classes)}; convert with option nocl=True to output class "
            "indices instead."
        ) from exc


def _calculate_output_shapes(operator):
    """Set the types and shapes of the labels and probabilities outputs (of
    the hidden activations, with ``transform=True``)."""
    model = operator.raw_operator
    _check_one_input(operator)
    _input_dtype(operator)
    n_samples = operator.inputs[0].get_first_dimension()
    if _transforms(operator.scope_inst, model):
        _set_hidden_shape(operator, model, n_samples)
        return
    options = operator.scope_inst.get_options(model, dict(nocl=False))
    labels = _onnx_labels(model, options["nocl"])
    if model._y_type == "multilabel-indicator":
        label_shape = [n_samples, labels.shape[0]]
    else:
        label_shape = [n_samples]
    label_type = StringTensorType if labels.dtype == object else Int64TensorType
    operator.outputs[0].type = label_type(shape=label_shape)
    operator.outputs[1].type = type(operator.inputs[0].type)(
        shape=[n_samples, labels.shape[0]]
    )


def _calculate_regressor_output_shapes(operator):
    """Set the type and shape of the predictions, (n_samples, n_outputs) in
    the dtype of the input (of the hidden activations, with
    ``transform=True``)."""
    model = operator.raw_operator
    check_is_fitted(model)
    _check_one_input(operator)
    _input_dtype(operator)
    n_samples = operator.inputs[0].get_first_dimension()
    if _transforms(operator.scope_inst, model):
        _set_hidden_shape(operator, model, n_samples)
        return
    operator.outputs[0].type = type(operator.inputs[0].type)(
        shape=[n_samples, model.n_outputs_]
    )


def _set_hidden_shape(operator, model, n_samples):
    """The one output of ``transform``: (n_samples, n_hidden) in the dtype
    of the input."""
    operator.outputs[0].type = type(operator.inputs[0].type)(
        shape=[n_samples, model.coefs_[0].shape[1]]
    )


def _add_constant(scope, container, name, value):
    """Add the array ``value`` (float32, float64, int64, or str objects) as an
    initializer; return its name."""
    unique_name = scope.get_unique_variable_name(name)
    if value.dtype == object:
        proto_type = TensorProto.STRING
        content = [label.encode("utf-8") for label in value.ravel()]
    else:
        proto_type = _PROTO_TYPES[value.dtype]
        content = value.ravel()
    container.add_initializer(unique_name, proto_type, list(value.shape), content)
    return unique_name


def _add_node(scope, container, op_type, inputs, output=None, **attributes):
    """Add a node of the default domain; return the name of its output."""
    if output is None:
        output = scope.get_unique_variable_name(op_type.lower())
    container.add_node(
        op_type,
        inputs,
        output,
        name=scope.get_unique_operator_name(op_type),
        **attributes,
    )
    return output


def _activation(scope, container, logits, activation, dtype):
    """``activation(logits)``, elementwise (softmax: along each row), in
    ``dtype``; return the name of its output."""
    if activation == "identity":
        return logits
    if activation == "leaky_relu":
        return _leaky_relu(scope, container, logits, dtype)
    if activation == "gelu":
        return _gelu(scope, container, logits, dtype)
    if activation == "silu":
        sigmoid = _add_node(scope, container, "Sigmoid", [logits])
        return _add_node(scope, container, "Mul", [logits, sigmoid])
    attributes = {"axis": 1} if activation == "softmax" else {}
    return _add_node(
        scope, container, ACTIVATIONS[activation].onnx_op, [logits], **attributes
    )


def _dense_layer(scope, container, inputs, weights, bias, activation, dtype):
    """``activation(inputs @ weights + bias)``, computed in ``dtype``."""
    weights = _add_constant(scope, container, "coefficient", weights.astype(dtype))
    bias = _add_constant(scope, container, "intercepts", bias.astype(dtype))
    product = _add_node(scope, container, "MatMul", [inputs, weights])
    logits = _add_node(scope, container, "Add", [product, bias])
    return _activation(scope, container, logits, activation, dtype)


def _hidden(scope, container, operator, dtype):
    """The hidden layer ``g(X @ W1 + b1)`` of the operator's fitted model,
    from its input (what ``transform`` computes); return its name."""
    model = operator.raw_operator
    return _dense_layer(
        scope,
        container,
        operator.inputs[0].full_name,
        model.coefs_[0],
        model.intercepts_[0],
        model.hidden_activation_,
        dtype,
    )


def _forward(scope, container, operator, dtype):
    """The forward pass of the operator's fitted model, from its input: the
    hidden layer ``g(X @ W1 + b1)``, then the output layer with the model's
    output activation; return the name of the output activations."""
    model = operator.raw_operator
    hidden = _hidden(scope, container, operator, dtype)
    return _dense_layer(
        scope,
        container,
        hidden,
        model.coefs_[1],
        model.intercepts_[1],
        model.out_activation_,
        dtype,
    )


def _convert_transform(scope, operator, container, dtype):
    """The graph of ``transform``: the hidden activations into the one
    output."""
    hidden = _hidden(scope, container, operator, dtype)
    _add_node(scope, container, "Identity", [hidden], operator.outputs[0].full_name)


def _leaky_relu(scope, container, logits, dtype):
    """``z if z > 0 else slope * z``: ONNX's LeakyRelu in float32; in float64
    ``max(z, slope * z)`` (the same for a slope below one), as LeakyRelu's
    slope is a float32 attribute, and onnxruntime has no float64 LeakyRelu."""
    if dtype == np.float32:
        return _add_node(
            scope, container, "LeakyRelu", [logits], alpha=LEAKY_RELU_SLOPE
        )
    slope = _add_constant(
        scope, container, "slope", np.array([LEAKY_RELU_SLOPE], dtype=dtype)
    )
    scaled = _add_node(scope, container, "Mul", [logits, slope])
    return _add_node(scope, container, "Max", [logits, scaled])


def _gelu(scope, container, logits, dtype):
    """The exact gelu, ``z * Phi(z)``: ONNX's Gelu where the target opset has
    it, else ``0.5 * z * (1 + erf(z / sqrt(2)))``. onnxruntime has no float64
    Erf (nor Gelu), so a float64 graph takes erf in float32, which bounds its
    relative error by about 1e-7."""
    if dtype == np.float32 and container.target_opset >= _GELU_OPSET:
        return _add_node(scope, container, "Gelu", [logits])
    root_half = _add_constant(
        scope, container, "root_half", np.array([np.sqrt(0.5)], dtype=dtype)
    )
    one = _add_constant(scope, container, "one", np.array([1], dtype=dtype))
    half = _add_constant(scope, container, "half", np.array([0.5], dtype=dtype))
    scaled = _add_node(scope, container, "Mul", [logits, root_half])
    if dtype == np.float32:
        erf = _add_node(scope, container, "Erf", [scaled])
    else:
        narrow = _add_node(scope, container, "Cast", [scaled], to=TensorProto.FLOAT)
        erf = _add_node(
            scope,
            container,
            "Cast",
            [_add_node(scope, container, "Erf", [narrow])],
            to=_PROTO_TYPES[np.dtype(dtype)],
        )
    shifted = _add_node(scope, container, "Add", [erf, one])
    halved = _add_node(scope, container, "Mul", [shifted, half])
    return _add_node(scope, container, "Mul", [logits, halved])


def _above_half(scope, container, output, dtype, result=None):
    """Whether each output activation exceeds 0.5, as int64 (0 or 1)."""
    half = _add_constant(scope, container, "half", np.array([0.5], dtype=dtype))
    above = _add_node(scope, container, "Greater", [output, half])
    return _add_node(scope, container, "Cast", [above], result, to=TensorProto.INT64)


def _select_labels(scope, container, indices, labels, output):
    """Labels at ``indices`` (int64 of shape (n_samples,)) into ``output``."""
    classes = _add_constant(scope, container, "classes", labels)
    _add_node(scope, container, "Gather", [classes, indices], output, axis=0)


def _binary_outputs(scope, container, output, labels, outputs, dtype):
    """One logistic unit p: probabilities [1 - p, p], label of p > 0.5."""
    one = _add_constant(scope, container, "one", np.array([1], dtype=dtype))
    negative = _add_node(scope, container, "Sub", [one, output])
    _add_node(scope, container, "Concat", [negative, output], outputs[1], axis=1)
    column = _above_half(scope, container, output, dtype)
    flat = _add_constant(scope, container, "flat", np.array([-1], dtype=np.int64))
    indices = _add_node(scope, container, "Reshape", [column, flat])
    _select_labels(scope, container, indices, labels, outputs[0])


def _multiclass_outputs(scope, container, output, labels, outputs):
    """Softmax outputs: the probabilities, and the label of the largest."""
    _add_node(scope, container, "Identity", [output], outputs[1])
    indices = _add_node(scope, container, "ArgMax", [output], axis=1, keepdims=0)
    _select_labels(scope, container, indices, labels, outputs[0])


def _multilabel_outputs(scope, container, output, outputs, dtype):
    """Logistic outputs: each label's probability, kept within [eps, 1 - eps]
    as ``predict_proba`` does, and each label's indicator, p > 0.5."""
    eps = np.finfo(dtype).eps
    low = _add_constant(scope, container, "eps", np.array([eps], dtype=dtype))
    high = _add_constant(
        scope, container, "one_minus_eps", np.array([1 - eps], dtype=dtype)
    )
    above_low = _add_node(scope, container, "Max", [output, low])
    _add_node(scope, container, "Min", [above_low, high], outputs[1])
    _above_half(scope, container, output, dtype, outputs[0])


def _convert(scope, operator, container):
    """Write the graph of a fitted TwoLayerClassifier: the forward pass of
    ``predict_output`` and the label rules of ``predict`` (or, with
    ``transform=True``, the hidden layer of ``transform``)."""
    model = operator.raw_operator
    check_is_fitted(model)
    dtype = _input_dtype(operator)
    if _transforms(container, model):
        _convert_transform(scope, operator, container, dtype)
        return
    output = _forward(scope, container, operator, dtype)
    outputs = [variable.full_name for variable in operator.outputs]
    options = container.get_options(model, dict(nocl=False))
    labels = _onnx_labels(model, options["nocl"])
    if model._y_type == "binary" and model.classes_.shape[0] == 1:
        raise ValueError(
            "A TwoLayerClassifier fitted on a single class predicts it "
            "whatever X is; it has no ONNX graph."
        )
    if model._y_type == "binary":
        _binary_outputs(scope, container, output, labels, outputs, dtype)
    elif model._y_type == "multiclass":
        _multiclass_outputs(scope, container, output, labels, outputs)
    else:
        _multilabel_outputs(scope, container, output, outputs, dtype)


def _convert_regressor(scope, operator, container):
    """Write the graph of a fitted TwoLayerRegressor: the forward pass of
    ``predict``, the identity or the exponential on the output layer (or,
    with ``transform=True``, the hidden layer of ``transform``)."""
    model = operator.raw_operator
    check_is_fitted(model)
    dtype = _input_dtype(operator)
    if _transforms(container, model):
        _convert_transform(scope, operator, container, dtype)
        return
    output = _forward(scope, container, operator, dtype)
    _add_node(scope, container, "Identity", [output], operator.outputs[0].full_name)


register_converter()
