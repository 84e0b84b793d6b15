"""Targets as the network's outputs: class labels (the classifier) and
continuous values (the regressor), and back."""

import numpy as np
from sklearn.utils.multiclass import check_classification_targets, type_of_target

#: Classification targets the classifier takes.
SUPPORTED_TARGETS = ("binary", "multiclass", "multilabel-indicator")


def classification_target_type(y):
    """The type of a classification target, or a ValueError naming it."""
    check_classification_targets(y)
    y_type = type_of_target(y, input_name="y")
    if y_type not in SUPPORTED_TARGETS:
        raise ValueError(
            f"TwoLayerClassifier supports binary, multiclass and "
            f"multilabel-indicator targets; got a {y_type} target."
        )
    return y_type


def output_activation_of(y_type):
    """Softmax for multiclass targets, one logistic unit per label else."""
    return "softmax" if y_type == "multiclass" else "logistic"


def encode_labels(y, y_type, classes, dtype):
    """Labels as the network's outputs: one logistic unit for binary y, one-hot
    rows for multiclass y, the indicator matrix itself for multilabel y."""
    if y_type == "multilabel-indicator":
        y = y.toarray() if hasattr(y, "toarray") else y
        return np.ascontiguousarray(y, dtype=dtype)
    if y_type == "binary":
        return (y == classes[1]).astype(dtype).reshape(-1, 1)
    Y = np.zeros((y.shape[0], classes.shape[0]), dtype=dtype)
    Y[np.arange(y.shape[0]), np.searchsorted(classes, y)] = 1
    return Y


def labels_from_output(output, y_type, classes):
    """Predicted labels from the output layer's activations."""
    if y_type == "multilabel-indicator":
        return (output > 0.5).astype(int)
    if y_type == "binary":
        return classes[(output[:, 0] > 0.5).astype(int)]
    return classes[np.argmax(output, axis=1)]


def encode_values(y, loss, dtype):
    """Continuous targets as a C-contiguous (n_samples, n_outputs) array of
    ``dtype``, checked against the loss's domain."""
    Y = np.ascontiguousarray(y.reshape(y.shape[0], -1), dtype=dtype)
    if not np.isfinite(Y).all():
        raise ValueError(
            f"y holds values that do not fit the training dtype {np.dtype(dtype)}."
        )
    if loss == "poisson" and (Y < 0).any():
        raise ValueError(
            "loss='poisson' requires non-negative y; "
            f"the smallest value of y is {Y.min()!r}."
        )
    return Y
